package adminui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/store"
)

// Test fixtures: in-memory doubles of the pool and the job store, the real
// metrics registry, a settable clock, and a small browser (cookie jar, no
// automatic redirects) talking to the console over real HTTP. The real pool and
// store behind the console are exercised end to end in cmd/hh-enrich-svc.

const (
	operatorToken = "operator-secret-token"
	tenantJWT     = "tenant-a-admin-jwt"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakePool records restarts; a restart replaces the process's pid.
type fakePool struct {
	mu        sync.Mutex
	status    pool.Status
	restarted []string
	block     chan struct{} // when set, restarts wait for it to close
}

func newFakePool(now time.Time) *fakePool {
	return &fakePool{status: pool.Status{Size: 2, Ready: 2, Circuit: "closed", Restarts: map[string]int{},
		Processes: []pool.ProcessInfo{
			{ID: 0, PID: 100, State: pool.StateReady, JobsServed: 42, RSSBytes: 30 << 20, StartedAt: now.Add(-time.Hour), Breaker: "closed"},
			{ID: 1, PID: 101, State: pool.StateReady, Failures: 3, LastError: "boom <b>", StartedAt: now.Add(-time.Minute), Breaker: "half_open"},
		}}}
}

func (p *fakePool) Status() pool.Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.status
	st.Processes = append([]pool.ProcessInfo(nil), p.status.Processes...)
	return st
}

func (p *fakePool) RestartAll(ctx context.Context) error {
	for _, info := range p.Status().Processes {
		if err := p.RestartProcess(ctx, info.ID); err != nil {
			return err
		}
	}
	return nil
}

func (p *fakePool) RestartProcess(ctx context.Context, id int) error {
	p.mu.Lock()
	block := p.block
	p.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, proc := range p.status.Processes {
		if proc.ID == id {
			p.status.Processes[i].PID += 1000
			p.status.Processes[i].StartedAt = proc.StartedAt.Add(time.Hour)
			p.restarted = append(p.restarted, fmt.Sprint(id))
			p.status.Restarts["operator"]++
			return nil
		}
	}
	return fmt.Errorf("%w: %d", pool.ErrNoProcess, id)
}

func (p *fakePool) restarts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.restarted...)
}

// fakeJobs is an in-memory job store: jobs by id, dead letters by tenant.
type fakeJobs struct {
	mu     sync.Mutex
	jobs   map[string]*store.Job
	dead   map[string][]string
	counts store.Counts
	down   bool
}

func newFakeJobs() *fakeJobs {
	return &fakeJobs{jobs: map[string]*store.Job{}, dead: map[string][]string{},
		counts: store.Counts{QueueDepth: map[string]int64{}, DedupeHits: map[string]int64{}}}
}

var errStoreDown = errors.New("redis: connection refused")

func (f *fakeJobs) add(j *store.Job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[j.ID] = j
	if j.Status == store.StatusFailed {
		f.dead[j.TenantID] = append([]string{j.ID}, f.dead[j.TenantID]...)
	}
}

func (f *fakeJobs) Get(_ context.Context, id string) (*store.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errStoreDown
	}
	j, ok := f.jobs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	copied := *j
	return &copied, nil
}

func (f *fakeJobs) Counts(context.Context) (*store.Counts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errStoreDown
	}
	c := f.counts
	return &c, nil
}

func (f *fakeJobs) DeadLetters(_ context.Context, tenant string, limit int) ([]*store.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errStoreDown
	}
	var out []*store.Job
	for _, id := range f.dead[tenant] {
		if len(out) == limit {
			break
		}
		copied := *f.jobs[id]
		out = append(out, &copied)
	}
	return out, nil
}

func (f *fakeJobs) RequeueDeadLetter(_ context.Context, tenant, id string) (*store.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := f.dead[tenant]
	for i, dead := range ids {
		if dead == id {
			f.dead[tenant] = append(ids[:i:i], ids[i+1:]...)
			j := f.jobs[id]
			j.Status, j.Attempts = store.StatusQueued, 0
			copied := *j
			return &copied, nil
		}
	}
	return nil, store.ErrNotFound
}

// failedJob is a dead letter of tenant.
func failedJob(id, tenant, code, message string, updated time.Time) *store.Job {
	return &store.Job{ID: id, TenantID: tenant, CandidateID: "cand-" + id[:4], Status: store.StatusFailed,
		ErrorCode: code, ErrorMessage: message, Attempts: 3, CreatedAt: updated.Add(-time.Minute), UpdatedAt: updated,
		Payload: []byte(`{"name":"Ada Lovelace"}`)}
}

type testBundle struct {
	console *Console
	server  *httptest.Server
	clock   *clock
	pool    *fakePool
	jobs    *fakeJobs
	metrics *metrics.Metrics
}

// setup starts a console over HTTP with a pool of two processes and an empty
// store; change tweaks its Config first.
func setup(t *testing.T, change ...func(*Config)) *testBundle {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	b := &testBundle{clock: clk, pool: newFakePool(clk.Now()), jobs: newFakeJobs(),
		metrics: metrics.New(metrics.Config{Logger: hclog.NewNullLogger()})}
	if err := b.metrics.Register(b.metrics.NewQueueCollector(b.queueSnapshot, time.Second)); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Jobs: b.jobs, Pool: b.pool, Metrics: b.metrics.Registry(), Authorize: authorize(clk),
		Now: clk.Now, Logger: hclog.NewNullLogger()}
	for _, f := range change {
		f(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.console = c
	b.server = httptest.NewServer(c)
	t.Cleanup(func() {
		b.server.Close()
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return b
}

func (b *testBundle) queueSnapshot(ctx context.Context) (metrics.QueueSnapshot, error) {
	c, err := b.jobs.Counts(ctx)
	if err != nil {
		return metrics.QueueSnapshot{}, err
	}
	return metrics.QueueSnapshot{DepthByTenant: c.QueueDepth, DedupeByTenant: c.DedupeHits}, nil
}

// authorize accepts the operator token and a tenant admin's JWT that expires
// in an hour.
func authorize(clk *clock) AuthorizeFunc {
	return func(_ context.Context, credential string) (Admin, error) {
		switch credential {
		case operatorToken:
			return Admin{Subject: "operator", Operator: true}, nil
		case tenantJWT:
			return Admin{Subject: "alice", Tenant: "tenant-a", ExpiresAt: clk.Now().Add(time.Hour)}, nil
		}
		return Admin{}, errors.New("unauthorized: A valid admin bearer token is required.")
	}
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t      *testing.T
	b      *testBundle
	client *http.Client
	jar    *cookiejar.Jar
	origin string // sent as Origin on POSTs; "" sends none
}

func (b *testBundle) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, b: b, client: client, jar: jar, origin: b.server.URL}
}

type page struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (br *browser) get(path string) page {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodGet, br.b.server.URL+path, nil)
	if err != nil {
		br.t.Fatal(err)
	}
	return br.do(req)
}

func (br *browser) post(path string, form url.Values) page {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodPost, br.b.server.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		br.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if br.origin != "" {
		req.Header.Set("Origin", br.origin)
	}
	return br.do(req)
}

func (br *browser) do(req *http.Request) page {
	br.t.Helper()
	resp, err := br.client.Do(req)
	if err != nil {
		br.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		br.t.Fatal(err)
	}
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(body)}
}

// signIn signs in with credential and fails the test unless it worked.
func (br *browser) signIn(credential string) {
	br.t.Helper()
	p := br.post("/admin/ui/signin", url.Values{"credential": {credential}, "next": {"/admin/ui/overview"}})
	if p.status != http.StatusSeeOther || p.location != "/admin/ui/overview" {
		br.t.Fatalf("sign-in: %d %q\n%s", p.status, p.location, p.body)
	}
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page of the session.
func (br *browser) csrf() string {
	br.t.Helper()
	m := csrfPattern.FindStringSubmatch(br.get("/admin/ui/overview").body)
	if m == nil {
		br.t.Fatal("no CSRF token on the overview")
	}
	return m[1]
}

// sessionCookie returns the browser's session cookie value, or "".
func (br *browser) sessionCookie() string {
	u, _ := url.Parse(br.b.server.URL + Prefix + "/")
	for _, c := range br.jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// eventually polls cond until it holds or 5 s pass: the console's restarts run
// in the background, with no signal a test could wait on from outside.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
