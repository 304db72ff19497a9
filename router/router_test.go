package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// testBundle is the API under test and the real Redis store behind it.
type testBundle struct {
	handler http.Handler
	store   *store.RedisStore
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	client := redis.NewClient(redistest.Start(t))
	t.Cleanup(func() { client.Close() })
	st, err := store.NewRedisStore(client, store.Config{Prefix: "test:" + t.Name() + ":"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Store: st, Batches: st, Queue: st, Auth: noAuth(t), Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{handler: h, store: st}
}

// noAuth is an Authenticator in mode none: the tenant header is trusted.
func noAuth(t testing.TB) *Authenticator {
	t.Helper()
	a, err := NewAuthenticator(AuthConfig{Mode: AuthModeNone, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type response struct {
	status int
	header http.Header
	body   map[string]any
}

// request sends one request through the handler. Every response is checked
// against openapi.yaml (see serve), and must be JSON.
func (b *testBundle) request(t *testing.T, method, path string, headers map[string]string, body string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := serve(t, b.handler, req)
	out := response{status: rec.Code, header: rec.Header()}
	if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body.String(), err)
	}
	return out
}

var jsonTenant = map[string]string{"Content-Type": "application/json", "X-Tenant-ID": "tenant-alpha"}

func withHeader(base map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for key, val := range base {
		out[key] = val
	}
	if v == "" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func TestSubmitRejectsBadInputWithACodeAndNever500(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		body    string
		status  int
		code    string
	}{
		{"MissingTenant", withHeader(jsonTenant, "X-Tenant-ID", ""), `{"candidateId":"c1"}`, 400, CodeMissingTenant},
		{"BlankTenant", withHeader(jsonTenant, "X-Tenant-ID", "   "), `{"candidateId":"c1"}`, 400, CodeMissingTenant},
		{"TenantWithUnderscore", withHeader(jsonTenant, "X-Tenant-ID", "a_b"), `{"candidateId":"c1"}`, 400, CodeInvalidTenant},
		{"TenantWithSlash", withHeader(jsonTenant, "X-Tenant-ID", "a/b"), `{"candidateId":"c1"}`, 400, CodeInvalidTenant},
		{"NoContentType", withHeader(jsonTenant, "Content-Type", ""), `{"candidateId":"c1"}`, 415, CodeUnsupportedMediaType},
		{"TextContentType", withHeader(jsonTenant, "Content-Type", "text/plain"), `{"candidateId":"c1"}`, 415, CodeUnsupportedMediaType},
		{"EmptyBody", jsonTenant, ``, 400, CodeInvalidBody},
		{"NotJSON", jsonTenant, `candidateId=c1`, 400, CodeInvalidBody},
		{"TruncatedJSON", jsonTenant, `{"candidateId":"c1"`, 400, CodeInvalidBody},
		{"ArrayBody", jsonTenant, `[{"candidateId":"c1"}]`, 400, CodeInvalidBody},
		{"TwoObjects", jsonTenant, `{"candidateId":"c1"} {"candidateId":"c2"}`, 400, CodeInvalidBody},
		{"UnknownField", jsonTenant, `{"candidateId":"c1","priority":1}`, 400, CodeInvalidField},
		// encoding/json alone would take these as a job for c2.
		{"FieldInAnotherCase", jsonTenant, `{"candidateId":"c1","CandidateId":"c2"}`, 400, CodeInvalidField},
		{"OnlyFieldInAnotherCase", jsonTenant, `{"CANDIDATEID":"c1"}`, 400, CodeInvalidField},
		{"FieldTwice", jsonTenant, `{"candidateId":"c1","candidateId":"c2"}`, 400, CodeInvalidField},
		{"MissingCandidateID", jsonTenant, `{"async":true}`, 400, CodeInvalidField},
		{"EmptyCandidateID", jsonTenant, `{"candidateId":""}`, 400, CodeInvalidField},
		{"CandidateIDWithSlash", jsonTenant, `{"candidateId":"a/b"}`, 400, CodeInvalidField},
		{"CandidateIDTooLong", jsonTenant, `{"candidateId":"` + strings.Repeat("c", 129) + `"}`, 400, CodeInvalidField},
		{"CandidateIDNumber", jsonTenant, `{"candidateId":42}`, 400, CodeInvalidField},
		{"AsyncAsString", jsonTenant, `{"candidateId":"c1","async":"false"}`, 400, CodeInvalidField},
		{"ForceAsNumber", jsonTenant, `{"candidateId":"c1","force":1}`, 400, CodeInvalidField},
		{"IdempotencyKeyTooShort", jsonTenant, `{"candidateId":"c1","idempotencyKey":"short"}`, 400, CodeInvalidField},
		{"IdempotencyKeyTooLong", jsonTenant, `{"candidateId":"c1","idempotencyKey":"` + strings.Repeat("k", 129) + `"}`, 400, CodeInvalidField},
		{"PayloadArray", jsonTenant, `{"candidateId":"c1","payload":[1]}`, 400, CodeInvalidField},
		{"PayloadString", jsonTenant, `{"candidateId":"c1","payload":"x"}`, 400, CodeInvalidField},
		// Python's json reads it as a str that cannot be encoded: the enricher raised.
		{"PayloadWithALoneSurrogate", jsonTenant, `{"candidateId":"c1","payload":{"resume_text":"bad \ud800 x"}}`, 400, CodeInvalidField},
		{"BodyTooLarge", jsonTenant, `{"candidateId":"c1","payload":{"resume_text":"` + strings.Repeat("x", MaxBodyBytesDefault) + `"}}`, 413, CodeBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.request(t, http.MethodPost, "/v1/enrich/profile", tc.headers, tc.body)
			if resp.status != tc.status || resp.body["code"] != tc.code {
				t.Fatalf("got %d %v, want %d %s", resp.status, resp.body, tc.status, tc.code)
			}
			if msg, _ := resp.body["message"].(string); msg == "" {
				t.Fatalf("no message in %v", resp.body)
			}
		})
	}
}

// A body too large says its limit in details whether Content-Length declared it
// or it arrived chunked and ran past the limit while being read.
func TestABodyTooLargeNamesItsLimitDeclaredOrNot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"candidateId":"c1","payload":{"resume_text":"` + strings.Repeat("x", MaxBodyBytesDefault) + `"}}`
	for name, reader := range map[string]io.Reader{
		"declared": strings.NewReader(body),
		"chunked":  io.MultiReader(strings.NewReader(body)), // no length: httptest leaves it -1
	} {
		req := httptest.NewRequest(http.MethodPost, "/v1/enrich/profile", reader)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant-ID", "tenant-alpha")
		rec := serve(t, b.handler, req)
		var got struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusRequestEntityTooLarge ||
			got.Code != CodeBodyTooLarge || got.Details["limit"] != float64(MaxBodyBytesDefault) {
			t.Errorf("%s: %d %s, want 413 with details.limit %d", name, rec.Code, rec.Body.String(), MaxBodyBytesDefault)
		}
	}
}

func TestSubmit(t *testing.T) {
	t.Parallel()

	t.Run("AcceptsAJobAndReturnsItsRecord", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp := b.request(t, http.MethodPost, "/v1/enrich/profile", withHeader(jsonTenant, "X-Request-ID", "req-1"),
			`{"candidateId":"cand-1","payload":{"resume_text":"Go developer"}}`)
		if resp.status != http.StatusAccepted {
			t.Fatalf("status %d %v", resp.status, resp.body)
		}
		job := resp.body["job"].(map[string]any)
		want := map[string]any{
			"tenantId": "tenant-alpha", "candidateId": "cand-1", "candidateDocumentId": "tenant-alpha_cand-1",
			"status": "queued", "correlationId": "tenant-alpha:req-1", "priority": 5.0, "attemptCount": 0.0,
		}
		for k, v := range want {
			if job[k] != v {
				t.Errorf("job[%s] = %v, want %v", k, job[k], v)
			}
		}
		if _, leaked := job["dedupeKey"]; leaked {
			t.Error("the response exposes the internal dedupe key")
		}
		if got := resp.header.Get("X-Request-ID"); got != "req-1" {
			t.Errorf("X-Request-ID = %q, want the caller's", got)
		}
	})

	t.Run("ReturnsTheSameJobForTheSameSubmission", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		body := `{"candidateId":"cand-1","payload":{"a":1,"b":2}}`
		first := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, body)
		second := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"cand-1","payload":{"b":2,"a":1}}`)
		if id := first.body["job"].(map[string]any)["jobId"]; second.body["job"].(map[string]any)["jobId"] != id {
			t.Fatalf("dedupe missed: %v then %v", first.body, second.body)
		}
	})
}

func TestStatus(t *testing.T) {
	t.Parallel()

	t.Run("ShowsAJobToItsTenantOnly", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		job, _, err := b.store.Submit(context.Background(), store.SubmitRequest{TenantID: "tenant-alpha", CandidateID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		own := b.request(t, http.MethodGet, "/v1/enrich/status/"+job.ID, jsonTenant, "")
		if own.status != http.StatusOK || own.body["job"].(map[string]any)["jobId"] != job.ID {
			t.Fatalf("own tenant: %d %v", own.status, own.body)
		}
		other := b.request(t, http.MethodGet, "/v1/enrich/status/"+job.ID, withHeader(jsonTenant, "X-Tenant-ID", "tenant-beta"), "")
		missing := b.request(t, http.MethodGet, "/v1/enrich/status/0123456789abcdef0123456789abcdef", jsonTenant, "")
		if other.status != http.StatusNotFound || missing.status != http.StatusNotFound {
			t.Fatalf("other tenant %d, missing job %d: want both 404", other.status, missing.status)
		}
		// Another tenant's job must be indistinguishable from a missing one, ids aside.
		delete(other.body["details"].(map[string]any), "jobId")
		delete(missing.body["details"].(map[string]any), "jobId")
		if other.body["code"] != missing.body["code"] || other.body["message"] != missing.body["message"] {
			t.Fatalf("other tenant's answer %v differs from a missing job's %v", other.body, missing.body)
		}
	})

	t.Run("MalformedJobIDIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp := b.request(t, http.MethodGet, "/v1/enrich/status/"+strings.Repeat("a", 200), jsonTenant, "")
		if resp.status != http.StatusNotFound || resp.body["code"] != CodeNotFound {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
	})
}

func TestRoutes(t *testing.T) {
	t.Parallel()

	t.Run("UnknownRouteAndWrongMethodAnswerInJSON", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		if resp := b.request(t, http.MethodGet, "/v2/nothing", nil, ""); resp.status != 404 || resp.body["code"] != CodeNotFound {
			t.Fatalf("unknown route: %d %v", resp.status, resp.body)
		}
		resp := b.request(t, http.MethodDelete, "/v1/enrich/profile", nil, "")
		if resp.status != 405 || resp.body["code"] != CodeMethodNotAllowed {
			t.Fatalf("wrong method: %d %v", resp.status, resp.body)
		}
		// Allow names what a request may use: OPTIONS alone (no preflight) is 405 too.
		if allow := resp.header.Get("Allow"); allow != "POST" {
			t.Errorf("Allow: %q, want POST", allow)
		}
		if resp := b.request(t, http.MethodOptions, "/v1/enrich/profile", nil, ""); resp.status != 405 {
			t.Errorf("OPTIONS without a preflight: %d %v", resp.status, resp.body)
		}
	})

	t.Run("TheProbesAnswerHead", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rec := serve(t, b.handler, httptest.NewRequest(http.MethodHead, "/health", nil))
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("HEAD /health: %d %v", rec.Code, rec.Header())
		}
		resp := b.request(t, http.MethodPut, "/health", nil, "")
		if allow := resp.header.Get("Allow"); allow != "GET, HEAD" {
			t.Errorf("Allow: %q, want GET, HEAD", allow)
		}
	})

	t.Run("HealthReportsRedis", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for path, want := range map[string]string{"/health": "ok", "/healthz": "ok", "/readyz": "ready", "/health/detailed": "ok"} {
			if resp := b.request(t, http.MethodGet, path, nil, ""); resp.status != 200 || resp.body["status"] != want {
				t.Fatalf("%s: %d %v", path, resp.status, resp.body)
			}
		}
	})

	t.Run("ReadyzNeedsAPluginProcessTakingCalls", func(t *testing.T) {
		t.Parallel()
		b, rp := setupAdmin(t, "")
		rp.status.Ready = 0
		resp := b.request(t, http.MethodGet, "/readyz", nil, "")
		if resp.status != http.StatusServiceUnavailable || resp.body["status"] != "not_ready" {
			t.Fatalf("readyz with no process: %d %v", resp.status, resp.body)
		}
		if resp := b.request(t, http.MethodGet, "/healthz", nil, ""); resp.status != http.StatusOK {
			t.Fatalf("healthz must stay 200 while the pool heals: %d %v", resp.status, resp.body)
		}
		detailed := b.request(t, http.MethodGet, "/health/detailed", nil, "")
		components, _ := detailed.body["components"].(map[string]any)
		if detailed.body["status"] != "degraded" || components["pool"] == nil || components["redis"] == nil {
			t.Fatalf("detailed: %d %v", detailed.status, detailed.body)
		}
	})

	t.Run("HealthIs503WhenRedisIsDown", func(t *testing.T) {
		t.Parallel()
		h, err := New(Config{Store: downStore{}, Auth: noAuth(t), Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		b := &testBundle{handler: h}
		if resp := b.request(t, http.MethodGet, "/health", nil, ""); resp.status != 503 || resp.body["status"] != "unhealthy" {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
		if resp := b.request(t, http.MethodGet, "/ready", nil, ""); resp.status != 200 {
			t.Fatalf("/ready: %d %v", resp.status, resp.body)
		}
	})

	t.Run("StoreOutageIsALogged500WithoutDetails", func(t *testing.T) {
		t.Parallel()
		h, err := New(Config{Store: downStore{}, Auth: noAuth(t), Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		b := &testBundle{handler: h}
		resp := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c1"}`)
		if resp.status != 500 || resp.body["code"] != CodeInternal || strings.Contains(resp.body["message"].(string), "refused") {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
	})
}

// downStore is a store whose Redis is unreachable.
type downStore struct{}

var errDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (downStore) Submit(context.Context, store.SubmitRequest) (*store.Job, bool, error) {
	return nil, false, errDown
}
func (downStore) Get(context.Context, string) (*store.Job, error) { return nil, errDown }
func (downStore) Ping(context.Context) error                      { return errDown }

func TestSyncSubmit(t *testing.T) {
	t.Parallel()

	setupSyncDraining := func(t *testing.T, wait time.Duration, draining <-chan struct{}) *testBundle {
		t.Helper()
		b := setup(t)
		n := b.store.NewNotifier()
		if err := n.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Stop)
		h, err := New(Config{Store: b.store, Auth: noAuth(t), Watcher: n, SyncWait: wait, Draining: draining, Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		b.handler = h
		return b
	}
	setupSync := func(t *testing.T, wait time.Duration) *testBundle {
		t.Helper()
		return setupSyncDraining(t, wait, nil)
	}

	t.Run("AnswersTwoHundredOnceTheJobCompletes", func(t *testing.T) {
		t.Parallel()
		b := setupSync(t, time.Minute)
		// A worker elsewhere: it leases the job as soon as it is queued and completes it.
		go func() {
			ctx := t.Context() // ends the worker with the test
			for ctx.Err() == nil {
				if err := b.store.WaitForWork(ctx, time.Second); err != nil {
					return
				}
				lease, err := b.store.Lease(ctx)
				if err != nil || lease == nil {
					continue
				}
				_ = b.store.Complete(ctx, lease, json.RawMessage(`{"overall_score":0.5}`))
				return
			}
		}()
		resp := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c1","async":false}`)
		job := resp.body["job"].(map[string]any)
		if resp.status != http.StatusOK || job["status"] != "completed" || job["result"] == nil {
			t.Fatalf("got %d %v, want 200 completed with its result", resp.status, resp.body)
		}
	})

	t.Run("AnswersTwoHundredTwoWhenTheWaitEnds", func(t *testing.T) {
		t.Parallel()
		b := setupSync(t, 20*time.Millisecond)
		resp := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c1","async":false}`)
		if resp.status != http.StatusAccepted || resp.body["job"].(map[string]any)["status"] != "queued" {
			t.Fatalf("got %d %v, want 202 queued", resp.status, resp.body)
		}
	})

	// A stopping instance leases nothing more: a waiter answers at once rather
	// than holding the HTTP drain for ENRICH_SYNC_WAIT_MS.
	t.Run("AnswersTwoHundredTwoAtOnceWhenTheServiceDrains", func(t *testing.T) {
		t.Parallel()
		draining := make(chan struct{})
		b := setupSyncDraining(t, time.Hour, draining)
		// The drain begins once the job is queued, that is while its request waits.
		go func() {
			ctx := t.Context()
			for ctx.Err() == nil {
				if err := b.store.WaitForWork(ctx, time.Second); err == nil {
					close(draining)
					return
				}
			}
		}()
		resp := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c1","async":false}`)
		if resp.status != http.StatusAccepted || resp.body["job"].(map[string]any)["status"] != "queued" {
			t.Fatalf("got %d %v, want 202 queued", resp.status, resp.body)
		}
	})
}

func (downStore) SubmitBatch(context.Context, string, []store.SubmitRequest) (*store.Batch, []store.SubmitResult, error) {
	return nil, nil, errDown
}

func (downStore) GetBatch(context.Context, string, string) (*store.Batch, error) { return nil, errDown }

func (downStore) GetBatchJobs(context.Context, *store.Batch) ([]store.BatchJob, error) {
	return nil, errDown
}

func (downStore) Counts(context.Context) (*store.Counts, error) { return nil, errDown }

func (downStore) DeadLetters(context.Context, string, int) ([]*store.Job, error) { return nil, errDown }

func (downStore) RequeueDeadLetter(context.Context, string, string) (*store.Job, error) {
	return nil, errDown
}

// unreachableStore is a store whose Redis connection is refused.
type unreachableStore struct{ downStore }

var errUnreachable = fmt.Errorf("store: submit: %w: dial tcp 127.0.0.1:6379: connect: connection refused", store.ErrUnavailable)

func (unreachableStore) Submit(context.Context, store.SubmitRequest) (*store.Job, bool, error) {
	return nil, false, errUnreachable
}

func TestRedisOutageIsA503WithRetryAfter(t *testing.T) {
	t.Parallel()
	h, err := New(Config{Store: unreachableStore{}, Auth: noAuth(t), Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{handler: h}
	resp := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c1"}`)
	if resp.status != http.StatusServiceUnavailable || resp.body["code"] != CodeUnavailable || resp.header.Get("Retry-After") != "1" {
		t.Fatalf("got %d %v (Retry-After %q), want 503 unavailable", resp.status, resp.body, resp.header.Get("Retry-After"))
	}
}
