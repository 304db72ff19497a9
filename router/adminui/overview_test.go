package adminui

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestOverviewPage(t *testing.T) {
	t.Parallel()

	t.Run("DrawsTheLastHourFromTheSamples", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.jobs.counts.Queued, b.jobs.counts.QueueDepth["tenant-a"] = 7, 7
		for range 3 {
			b.metrics.JobCompleted("tenant-a", map[string]time.Duration{"total": 20 * time.Millisecond})
			if _, err := b.console.sampler.runOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			b.clock.advance(10 * time.Second)
		}
		br := b.browser(t)
		br.signIn(operatorToken)
		p := br.get("/admin/ui/overview")
		for _, want := range []string{"Jobs per second", "Job latency", "Queue depth", "Embedding success", "Breakers",
			`<polyline class="line s0"`, "completed: <strong>0.1/s</strong>", "tenant-a: <strong>7</strong>",
			"embedding: <strong>no data</strong>", `<div class="label">Embedding breaker</div><div class="value"><span class="badge muted">off</span>`, `<div class="label">Waiting</div><div class="value">7</div>`,
			`data-refresh="/admin/ui/overview?partial=1"`, "this instance", `role="img"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("overview lacks %s", want)
			}
		}
	})

	t.Run("SaysTheChartsAreStillEmpty", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		if p := br.get("/admin/ui/overview"); !strings.Contains(p.body, "No data in the last hour yet") || !strings.Contains(p.body, "The charts fill in") {
			t.Fatal("an overview without samples does not say so")
		}
	})

	t.Run("APartialRefreshIsOnlyTheLiveRegion", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		p := br.get("/admin/ui/overview?partial=1")
		if strings.Contains(p.body, "<html") || !strings.Contains(p.body, "Jobs per second") {
			t.Fatalf("partial overview:\n%s", p.body)
		}
	})

	t.Run("IsForOperatorsOnly", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.jobs.counts.QueueDepth["tenant-a"], b.jobs.counts.QueueDepth["tenant-secret"] = 1, 9
		if _, err := b.console.sampler.runOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		br := b.browser(t)
		br.signIn(tenantJWT)
		if p := br.get("/admin/ui/overview"); p.status != http.StatusForbidden || strings.Contains(p.body, "tenant-secret") {
			t.Fatalf("a tenant admin's overview: %d, want 403 without another tenant's figures", p.status)
		}
		if p := br.get("/admin/ui"); p.status != http.StatusSeeOther || p.location != "/admin/ui/jobs" {
			t.Fatalf("a tenant admin's home: %d %q, want the jobs page", p.status, p.location)
		}
	})
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	for path, ctype := range map[string]string{"/admin/ui/static/console.css": "text/css; charset=utf-8",
		"/admin/ui/static/console.js": "text/javascript; charset=utf-8"} {
		if p := br.get(path); p.status != 200 || p.header.Get("Content-Type") != ctype || len(p.body) < 100 {
			t.Errorf("%s: %d %q", path, p.status, p.header.Get("Content-Type"))
		}
	}
	if p := br.get("/admin/ui/static/secret.txt"); p.status != 404 {
		t.Errorf("unknown asset: %d", p.status)
	}
}
