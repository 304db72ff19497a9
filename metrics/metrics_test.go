package metrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestMetrics(t *testing.T, maxTenants int) (*Metrics, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	m := New(Config{MaxTenants: maxTenants, Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, JSONFormat: true})})
	return m, &logs
}

func TestMetrics(t *testing.T) {
	t.Parallel()

	t.Run("TenantLabelsAreBoundedFirstComeFirstServed", func(t *testing.T) {
		t.Parallel()
		m, _ := newTestMetrics(t, 2)
		got := []string{m.Tenant("a"), m.Tenant("b"), m.Tenant("c"), m.Tenant("a"), m.Tenant("d")}
		if strings.Join(got, ",") != "a,b,other,a,other" {
			t.Fatalf("labels = %v", got)
		}
	})

	t.Run("CountsJobsByTenantAndCode", func(t *testing.T) {
		t.Parallel()
		m, _ := newTestMetrics(t, 10)
		m.JobCompleted("a", map[string]time.Duration{"total": 3 * time.Millisecond, "python": 2 * time.Millisecond})
		m.JobFailed("a", "python_timeout", true)
		m.JobFailed("a", "python_timeout", true)
		if got := testutil.ToFloat64(m.jobsCompleted.WithLabelValues("a")); got != 1 {
			t.Errorf("completed = %v", got)
		}
		if got := testutil.ToFloat64(m.jobsFailed.WithLabelValues("a", "python_timeout", "true")); got != 2 {
			t.Errorf("failed = %v", got)
		}
		if got := testutil.CollectAndCount(m.jobDuration); got != 2 {
			t.Errorf("duration series = %d, want total and python", got)
		}
	})

	t.Run("SubmissionsWriteTheReferenceLogLines", func(t *testing.T) {
		t.Parallel()
		m, logs := newTestMetrics(t, 10)
		m.Submitted("a", "job1", "req1", true, false)
		m.Submitted("a", "job1", "req2", false, false)
		for _, want := range []string{`"metric":"job_submission"`, `"metric":"tenant.submission"`, `"metric":"tenant.dedupe"`, `"tenant_dedupe_count":1`} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("logs lack %s:\n%s", want, logs)
			}
		}
		if got := testutil.ToFloat64(m.submissions.WithLabelValues("a", "deduplicated")); got != 1 {
			t.Errorf("dedupe submissions = %v", got)
		}
	})

	t.Run("HealthIsLoggedOnlyWhenItChanges", func(t *testing.T) {
		t.Parallel()
		m, logs := newTestMetrics(t, 10)
		for _, healthy := range []bool{true, true, false, false, true} {
			m.Health(LogHealthRedis, healthy)
		}
		if n := strings.Count(logs.String(), `"metric":"health.redis"`); n != 3 {
			t.Fatalf("%d health.redis lines, want 3 (first report and two changes):\n%s", n, logs)
		}
	})

	t.Run("PoolCollectorReportsProcessesRestartsAndBreakers", func(t *testing.T) {
		t.Parallel()
		m, _ := newTestMetrics(t, 10)
		if err := m.Register(NewPoolCollector(func() PoolSnapshot {
			return PoolSnapshot{
				Processes: []ProcessSnapshot{{ID: 0, State: "ready", Breaker: "closed"}, {ID: 1, State: "draining", Breaker: "open"}},
				Restarts:  map[string]int{"crashed": 3},
				Circuit:   "half_open",
			}
		})); err != nil {
			t.Fatal(err)
		}
		want := `
# HELP hh_enrich_plugin_restarts_total Plugin process replacements, by reason.
# TYPE hh_enrich_plugin_restarts_total counter
hh_enrich_plugin_restarts_total{reason="crashed"} 3
# HELP hh_enrich_breaker_state Circuit breaker state (0 closed, 0.5 half-open, 1 open), by scope (process, pool, embed) and id.
# TYPE hh_enrich_breaker_state gauge
hh_enrich_breaker_state{id="",scope="pool"} 0.5
hh_enrich_breaker_state{id="0",scope="process"} 0
hh_enrich_breaker_state{id="1",scope="process"} 1
`
		if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
			"hh_enrich_plugin_restarts_total", "hh_enrich_breaker_state"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("QueueCollectorReadsTheStoreAtScrapeAndBoundsTenants", func(t *testing.T) {
		t.Parallel()
		m, _ := newTestMetrics(t, 1)
		fail := false
		if err := m.Register(m.NewQueueCollector(func(context.Context) (QueueSnapshot, error) {
			if fail {
				return QueueSnapshot{}, errors.New("redis down")
			}
			return QueueSnapshot{DepthByTenant: map[string]int64{"a": 5, "b": 2, "c": 1}, JobsByStatus: map[string]int64{"queued": 8}}, nil
		}, time.Second)); err != nil {
			t.Fatal(err)
		}
		m.Tenant("a") // a takes the only tenant label
		want := `
# HELP hh_enrich_queue_depth Jobs waiting to run, by tenant ("all" is the total).
# TYPE hh_enrich_queue_depth gauge
hh_enrich_queue_depth{tenant="a"} 5
hh_enrich_queue_depth{tenant="all"} 8
hh_enrich_queue_depth{tenant="other"} 3
`
		if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "hh_enrich_queue_depth"); err != nil {
			t.Fatal(err)
		}
		fail = true
		if _, err := m.Registry().Gather(); err != nil {
			t.Fatalf("a failing store must not fail the scrape: %v", err)
		}
	})

	t.Run("ExpositionPassesThePrometheusLinter", func(t *testing.T) {
		t.Parallel()
		m, _ := newTestMetrics(t, 10)
		m.JobCompleted("a", map[string]time.Duration{"total": time.Millisecond})
		m.ObserveHTTP("/v1/enrich/profile", "POST", 202, time.Millisecond)
		m.EmbedOutcome("skipped", "embedding_disabled")
		m.PluginCall(16)
		problems, err := testutil.GatherAndLint(m.Registry())
		if err != nil || len(problems) > 0 {
			t.Fatalf("lint: %v %v", err, problems)
		}
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		if !strings.Contains(string(body), `hh_enrich_http_requests_total{method="POST",route="/v1/enrich/profile",status="202"} 1`) {
			t.Fatalf("exposition lacks the request counter:\n%s", body)
		}
	})

	t.Run("PluginCallsAreCountedWithTheJobsEachCarried", func(t *testing.T) {
		t.Parallel()
		m, _ := newTestMetrics(t, 10)
		for _, jobs := range []int{1, 16, 16, 3} {
			m.PluginCall(jobs)
		}
		want := `
# HELP hh_enrich_plugin_call_items Jobs carried by each call to a plugin process: 1 for an Enrich, more for an EnrichBatch.
# TYPE hh_enrich_plugin_call_items histogram
hh_enrich_plugin_call_items_bucket{le="1"} 1
hh_enrich_plugin_call_items_bucket{le="2"} 1
hh_enrich_plugin_call_items_bucket{le="4"} 2
hh_enrich_plugin_call_items_bucket{le="8"} 2
hh_enrich_plugin_call_items_bucket{le="16"} 4
hh_enrich_plugin_call_items_bucket{le="32"} 4
hh_enrich_plugin_call_items_bucket{le="64"} 4
hh_enrich_plugin_call_items_bucket{le="128"} 4
hh_enrich_plugin_call_items_bucket{le="+Inf"} 4
hh_enrich_plugin_call_items_sum 36
hh_enrich_plugin_call_items_count 4
`
		if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "hh_enrich_plugin_call_items"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("NilMetricsRecordNothingAndDoNotPanic", func(t *testing.T) {
		t.Parallel()
		var m *Metrics
		m.JobCompleted("a", nil)
		m.JobFailed("a", "x", false)
		m.Submitted("a", "j", "r", true, false)
		m.Health(LogHealthRedis, true)
		m.EmbedOutcome("upserted", "")
		m.ObserveHTTP("/", "GET", 200, 0)
		m.PluginCall(1)
		if m.Tenant("a") != "a" {
			t.Fatal("nil Metrics must pass tenants through")
		}
	})
}
