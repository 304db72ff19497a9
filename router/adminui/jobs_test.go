package adminui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/store"
)

const (
	jobA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // tenant-a, failed
	jobB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" // tenant-b, failed
	jobC = "cccccccccccccccccccccccccccccccc" // tenant-b, completed
)

// setupJobs adds two dead letters and a completed job; tenant-a and tenant-b
// are known to the store's counters.
func setupJobs(t *testing.T) *testBundle {
	t.Helper()
	b := setup(t)
	now := b.clock.Now()
	b.jobs.add(failedJob(jobA, "tenant-a", "candidate_not_found", "Candidate has no payload.", now.Add(-time.Minute)))
	b.jobs.add(failedJob(jobB, "tenant-b", "python_timeout", `<script>alert("x")</script>`, now))
	b.jobs.add(&store.Job{ID: jobC, TenantID: "tenant-b", CandidateID: "c-1", Status: store.StatusCompleted, Attempts: 1,
		CreatedAt: now, UpdatedAt: now, Result: []byte(`{"overall_score":80}`)})
	b.jobs.counts.QueueDepth["tenant-a"] = 3
	b.jobs.counts.DedupeHits["tenant-b"] = 2
	return b
}

func TestJobsPage(t *testing.T) {
	t.Parallel()

	t.Run("LooksUpAJobOfAnyTenantForTheOperator", func(t *testing.T) {
		t.Parallel()
		b := setupJobs(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		p := br.get("/admin/ui/jobs?id=" + jobA)
		for _, want := range []string{`data-field="errorCode">candidate_not_found</dd>`, `data-field="attempts">3</dd>`,
			`data-field="tenant">tenant-a</dd>`, "Candidate has no payload.", "Requeue this dead letter"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("lookup lacks %s", want)
			}
		}
	})

	t.Run("ATenantAdminFindsOnlyItsOwnTenantsJobs", func(t *testing.T) {
		t.Parallel()
		b := setupJobs(t)
		br := b.browser(t)
		br.signIn(tenantJWT)
		if p := br.get("/admin/ui/jobs?id=" + jobB); !strings.Contains(p.body, `id="job-not-found"`) || strings.Contains(p.body, "python_timeout") {
			t.Fatalf("another tenant's job is shown to a tenant admin:\n%s", p.body)
		}
		if p := br.get("/admin/ui/jobs?id=" + jobA); !strings.Contains(p.body, "candidate_not_found") {
			t.Fatal("the tenant admin cannot see its own job")
		}
		if p := br.get("/admin/ui/jobs?tenant=tenant-b"); strings.Contains(p.body, jobB) {
			t.Fatal("a tenant admin sees another tenant's dead letters")
		}
		p := br.post("/admin/ui/jobs/requeue", url.Values{"tenant": {"tenant-b"}, "job": {jobB}, "csrf": {br.csrf()}})
		if p.status != http.StatusNotFound {
			t.Fatalf("cross-tenant requeue: %d", p.status)
		}
	})

	t.Run("ShowsCandidateDataOnlyWhenAsked", func(t *testing.T) {
		t.Parallel()
		b := setupJobs(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		if p := br.get("/admin/ui/jobs?id=" + jobA); strings.Contains(p.body, "Ada Lovelace") || !strings.Contains(p.body, "show=personal") {
			t.Fatal("the payload is in the page before it was asked for")
		}
		if p := br.get("/admin/ui/jobs?id=" + jobA + "&show=personal"); !strings.Contains(p.body, "Ada Lovelace") {
			t.Fatal("the payload is not shown when asked for")
		}
	})

	t.Run("ListsRecentFailuresNewestFirstAndATenantsDeadLetters", func(t *testing.T) {
		t.Parallel()
		b := setupJobs(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		p := br.get("/admin/ui/jobs?tenant=tenant-a")
		recent := p.body[strings.Index(p.body, `id="recent-failures"`):]
		if i, j := strings.Index(recent, jobB), strings.Index(recent, jobA); i < 0 || j < 0 || i > j {
			t.Errorf("recent failures are not newest first (%d, %d)", i, j)
		}
		dead := p.body[strings.Index(p.body, `id="dead-letters"`):]
		if !strings.Contains(dead, jobA) || strings.Contains(dead, jobB) || !strings.Contains(dead, `aria-label="Requeue job `+jobA+`"`) {
			t.Errorf("dead letters of tenant-a:\n%s", dead)
		}
	})

	t.Run("RequeuesADeadLetter", func(t *testing.T) {
		t.Parallel()
		b := setupJobs(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		form := url.Values{"tenant": {"tenant-a"}, "job": {jobA}, "csrf": {br.csrf()}}
		p := br.post("/admin/ui/jobs/requeue", form)
		if p.status != http.StatusSeeOther || !strings.Contains(p.location, "done=requeued") {
			t.Fatalf("requeue: %d %q", p.status, p.location)
		}
		page := br.get(p.location)
		if !strings.Contains(page.body, "back on its tenant&#39;s queue") || !strings.Contains(page.body, `<span class="badge warn">queued</span>`) {
			t.Fatalf("after requeue:\n%s", page.body)
		}
		if again := br.post("/admin/ui/jobs/requeue", form); !strings.Contains(again.location, "done=requeue-missing") {
			t.Fatalf("second requeue: %q", again.location)
		}
	})

	t.Run("EscapesEverythingAJobHolds", func(t *testing.T) {
		t.Parallel()
		b := setupJobs(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		for _, path := range []string{"/admin/ui/jobs?id=" + jobB, "/admin/ui/jobs?tenant=tenant-b", `/admin/ui/jobs?id="><script>x</script>`} {
			p := br.get(path)
			if strings.Contains(p.body, "<script>") {
				t.Errorf("%s: unescaped markup in the page", path)
			}
		}
		if p := br.get("/admin/ui/jobs?id=" + jobB); !strings.Contains(p.body, "&lt;script&gt;") {
			t.Error("the message is not shown escaped")
		}
	})

	t.Run("SaysSoWhenTheStoreIsDown", func(t *testing.T) {
		t.Parallel()
		b := setupJobs(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		b.jobs.mu.Lock()
		b.jobs.down = true
		b.jobs.mu.Unlock()
		if p := br.get("/admin/ui/jobs?id=" + jobA); p.status != http.StatusOK || !strings.Contains(p.body, "The job store did not answer") {
			t.Fatalf("store down: %d", p.status)
		}
	})
}

func TestTenantsPage(t *testing.T) {
	t.Parallel()

	t.Run("ShowsSubmissionsDedupeHitsAndFailuresPerTenant", func(t *testing.T) {
		t.Parallel()
		b := setupJobs(t)
		b.metrics.JobSubmitted("tenant-a", true)
		b.metrics.JobSubmitted("tenant-a", true)
		b.metrics.JobSubmitted("tenant-a", false)
		b.metrics.JobFailed("tenant-a", "candidate_not_found", false)
		b.metrics.JobFailed("tenant-a", "python_timeout", true)
		llm, err := metrics.NewLLMMetrics(b.metrics, metrics.Prices{PromptPerMillion: 1, CompletionPerMillion: 2})
		if err != nil {
			t.Fatal(err)
		}
		llm.Used("tenant-a", 900, 400) // 0.0009 + 0.0008
		br := b.browser(t)
		br.signIn(operatorToken)
		p := br.get("/admin/ui/tenants")
		rowA := p.body[strings.Index(p.body, `data-tenant="tenant-a"`):]
		rowA = rowA[:strings.Index(rowA, "</tr>")]
		for label, want := range map[string]string{"Jobs submitted": "2", "Deduplicated here": "1", "Failed for good": "1",
			"Attempts retried": "1", "Waiting now (store)": "3", "LLM tokens": "1300", "LLM cost": "0.0017"} {
			if !strings.Contains(rowA, `data-label="`+label+`" class="num">`+want+`<`) {
				t.Errorf("tenant-a %s is not %s:\n%s", label, want, rowA)
			}
		}
		if !strings.Contains(p.body, `data-tenant="tenant-b"`) {
			t.Error("tenant-b, known from the store's dedupe hits, is missing")
		}
	})

	t.Run("ATenantAdminSeesOnlyItsOwnRow", func(t *testing.T) {
		t.Parallel()
		b := setupJobs(t)
		br := b.browser(t)
		br.signIn(tenantJWT)
		p := br.get("/admin/ui/tenants")
		if !strings.Contains(p.body, `data-tenant="tenant-a"`) || strings.Contains(p.body, "tenant-b") {
			t.Fatalf("tenant admin's tenants page:\n%s", p.body)
		}
	})
}
