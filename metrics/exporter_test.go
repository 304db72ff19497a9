package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
)

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type exporterBundle struct {
	metrics *Metrics
	server  *fakeMetricService
	clock   *testClock
	logs    *bytes.Buffer
}

// setupExporter returns an Exporter on fresh Metrics, writing to a fake
// MetricService, with a test clock; it is stopped when the test ends.
func setupExporter(t *testing.T, maxTenants int) (*Exporter, *exporterBundle) {
	t.Helper()
	server, opts := startFakeMetricService(t)
	b := &exporterBundle{
		metrics: New(Config{MaxTenants: maxTenants, Logger: hclog.NewNullLogger()}),
		server:  server,
		clock:   &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		logs:    &bytes.Buffer{},
	}
	e, err := NewExporter(context.Background(), b.metrics, ExporterConfig{
		ProjectID:     "test-project",
		ServiceName:   "hh-enrich-svc",
		InstanceID:    "instance-1",
		Logger:        hclog.New(&hclog.LoggerOptions{Output: b.logs, JSONFormat: true}),
		Now:           b.clock.Now,
		ClientOptions: opts,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e, b
}

// recordEverything records at least one sample of every metric the service
// has, with collectors on fake snapshots: the embed breaker is open, tenant a
// has two jobs of 3 ms completed and three failed attempts.
func recordEverything(t *testing.T, m *Metrics) {
	t.Helper()
	m.Submitted("a", "job-1", "req-1", true, false)
	m.Submitted("a", "job-1", "req-2", false, false)
	m.Submitted("b", "job-2", "req-3", true, true)
	for range 2 {
		m.JobCompleted("a", map[string]time.Duration{"total": 3 * time.Millisecond, "python": 2 * time.Millisecond})
	}
	m.JobFailed("a", "python_timeout", true)
	m.JobFailed("a", "python_timeout", true)
	m.JobFailed("a", "candidate_not_found", false)
	for _, outcome := range [][2]string{{"upserted", ""}, {"upserted", ""}, {"upserted", ""}, {"failed", "timeout"},
		{"skipped", "embedding_disabled"}} {
		m.EmbedOutcome(outcome[0], outcome[1])
	}
	m.ObserveHTTP("/v1/enrich/profile", "POST", 202, time.Millisecond)
	llm, err := NewLLMMetrics(m, Prices{PromptPerMillion: 1, CompletionPerMillion: 2})
	if err != nil {
		t.Fatal(err)
	}
	llm.Used("a", 900, 400)
	llm.CacheLookup("hit")
	llm.RateLimited()
	llm.Waited(1.5)
	collectors := []prometheus.Collector{
		NewPoolCollector(func() PoolSnapshot {
			return PoolSnapshot{
				Processes: []ProcessSnapshot{{ID: 0, State: "ready", Breaker: "closed", RSSBytes: 1 << 20, InFlight: 1}},
				Restarts:  map[string]int{"crashed": 1}, Circuit: "closed",
			}
		}),
		m.NewQueueCollector(func(context.Context) (QueueSnapshot, error) {
			return QueueSnapshot{
				DepthByTenant: map[string]int64{"a": 5, "b": 3}, JobsByStatus: map[string]int64{"queued": 8},
				DedupeByTenant: map[string]int64{"a": 1}, DeadByTenant: map[string]int64{"a": 1},
			}, nil
		}, time.Second),
		NewEmbedBreakerCollector(func() string { return "open" }),
	}
	for _, c := range collectors {
		if err := m.Register(c); err != nil {
			t.Fatal(err)
		}
	}
}

// point is one written series, flattened for comparison.
type point struct {
	Type, Kind, ValueType string
	Labels                map[string]string
	Value                 float64
	Start, End            time.Time
}

func pointsOf(requests []*monitoringpb.CreateTimeSeriesRequest) []point {
	var out []point
	for _, req := range requests {
		for _, ts := range req.GetTimeSeries() {
			p := ts.GetPoints()[0]
			v := p.GetValue().GetDoubleValue()
			if _, ok := p.GetValue().GetValue().(*monitoringpb.TypedValue_Int64Value); ok {
				v = float64(p.GetValue().GetInt64Value())
			}
			pt := point{
				Type: strings.TrimPrefix(ts.GetMetric().GetType(), MetricTypePrefix), Kind: ts.GetMetricKind().String(),
				ValueType: ts.GetValueType().String(), Labels: ts.GetMetric().GetLabels(), Value: v,
				End: p.GetInterval().GetEndTime().AsTime(),
			}
			if p.GetInterval().GetStartTime() != nil {
				pt.Start = p.GetInterval().GetStartTime().AsTime()
			}
			out = append(out, pt)
		}
	}
	return out
}

// find returns the points of one metric type whose labels include match.
func find(points []point, typ string, match map[string]string) []point {
	var out []point
next:
	for _, p := range points {
		if p.Type != typ {
			continue
		}
		for k, v := range match {
			if p.Labels[k] != v {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

func TestExporter(t *testing.T) {
	t.Parallel()

	t.Run("WritesTheReferenceMetricsWithTheirKindsValueTypesAndLabels", func(t *testing.T) {
		t.Parallel()
		e, b := setupExporter(t, 10)
		recordEverything(t, b.metrics)
		b.clock.Advance(ExportIntervalDefault)
		if _, err := e.runOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		requests, _ := b.server.snapshot()
		type shape struct{ Kind, ValueType, Labels string }
		got := map[string]shape{}
		for _, p := range pointsOf(requests) {
			got[p.Type] = shape{p.Kind, p.ValueType, strings.Join(slices.Sorted(maps.Keys(p.Labels)), ",")}
		}
		want := map[string]shape{
			"job_latency_ms":      {"GAUGE", "DOUBLE", "instance_id,percentile,service"},
			"job_completed_count": {"CUMULATIVE", "INT64", "instance_id,service,tenant"},
			"job_failed_count":    {"CUMULATIVE", "INT64", "instance_id,service,tenant"},
			"queue_depth":         {"GAUGE", "INT64", "instance_id,service"},
			"tenant_job_count":    {"CUMULATIVE", "INT64", "instance_id,service,tenant"},
			"embed_success_ratio": {"GAUGE", "DOUBLE", "instance_id,service"},
			"embed_skipped_count": {"CUMULATIVE", "INT64", "instance_id,reason,service"},
			"embed_circuit_state": {"GAUGE", "DOUBLE", "instance_id,service"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("exported metrics (-want +got):\n%s", diff)
		}
		for _, ts := range requests[0].GetTimeSeries() {
			if r := ts.GetResource(); r.GetType() != "global" || r.GetLabels()["project_id"] != "test-project" || len(r.GetLabels()) != 1 {
				t.Fatalf("resource = %v, want global{project_id=test-project}", r)
			}
			if l := ts.GetMetric().GetLabels(); l["service"] != "hh-enrich-svc" || l["instance_id"] != "instance-1" {
				t.Fatalf("labels = %v, want service and instance_id on every series", l)
			}
		}
		if requests[0].GetName() != "projects/test-project" {
			t.Fatalf("request name = %q", requests[0].GetName())
		}
	})

	t.Run("MapsThePrometheusValues", func(t *testing.T) {
		t.Parallel()
		e, b := setupExporter(t, 10)
		recordEverything(t, b.metrics)
		b.clock.Advance(ExportIntervalDefault)
		if _, err := e.runOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		requests, _ := b.server.snapshot()
		points := pointsOf(requests)
		// Two jobs of 3 ms fall in the (2.5 ms, 5 ms] bucket; interpolated as
		// histogram_quantile does: 2.5 + 2.5·q.
		want := map[string]float64{
			"job_latency_ms percentile=p50": 3.75, "job_latency_ms percentile=p95": 4.875, "job_latency_ms percentile=p99": 4.975,
			"job_completed_count tenant=a": 2, "job_failed_count tenant=a": 3, // python_timeout ×2 + candidate_not_found
			"tenant_job_count tenant=a": 1, "tenant_job_count tenant=b": 1, // dedupe hits are not new jobs
			"queue_depth": 8, "embed_success_ratio": 0.75, "embed_skipped_count reason=embedding_disabled": 1,
			"embed_circuit_state": 1,
		}
		got := map[string]float64{}
		for _, p := range points {
			key := p.Type
			for _, k := range []string{"percentile", "tenant", "reason"} {
				if v, ok := p.Labels[k]; ok {
					key += " " + k + "=" + v
				}
			}
			got[key] = math.Round(p.Value*1e6) / 1e6
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("values (-want +got):\n%s", diff)
		}
	})

	t.Run("BatchesAtMost200SeriesPerRequest", func(t *testing.T) {
		t.Parallel()
		e, b := setupExporter(t, 500)
		for i := range 150 {
			tenant := fmt.Sprintf("tenant-%03d", i)
			b.metrics.JobSubmitted(tenant, true)
			b.metrics.JobCompleted(tenant, nil)
		}
		b.clock.Advance(ExportIntervalDefault)
		written, err := e.runOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		requests, calls := b.server.snapshot()
		var sizes []int
		for _, r := range requests {
			sizes = append(sizes, len(r.GetTimeSeries()))
		}
		if written != 300 || calls != 2 || !cmp.Equal(sizes, []int{200, 100}) {
			t.Fatalf("wrote %d series in %d calls of %v, want 300 in 2 calls of [200 100]", written, calls, sizes)
		}
	})

	t.Run("WritesNoSeriesTwiceWithinInterval", func(t *testing.T) {
		t.Parallel()
		e, b := setupExporter(t, 10)
		recordEverything(t, b.metrics)
		b.clock.Advance(ExportIntervalDefault)
		if _, err := e.runOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.metrics.JobCompleted("a", map[string]time.Duration{"total": time.Second})
		b.clock.Advance(ExportIntervalDefault - time.Millisecond)
		if n, err := e.runOnce(context.Background()); n != 0 || err != nil {
			t.Fatalf("a run %s after the last wrote %d series (err %v), want none", ExportIntervalDefault-time.Millisecond, n, err)
		}
		if _, calls := b.server.snapshot(); calls != 1 {
			t.Fatalf("%d calls, want only the first run's", calls)
		}
		b.clock.Advance(time.Millisecond)
		if n, err := e.runOnce(context.Background()); n == 0 || err != nil {
			t.Fatalf("a run a whole interval later wrote %d series (err %v)", n, err)
		}
	})

	t.Run("CountersAreCumulativeFromTheExportersStart", func(t *testing.T) {
		t.Parallel()
		e, b := setupExporter(t, 10)
		start := b.clock.Now()
		for range 3 {
			b.metrics.JobCompleted("a", nil)
			b.clock.Advance(ExportIntervalDefault)
			if _, err := e.runOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		requests, _ := b.server.snapshot()
		points := find(pointsOf(requests), "job_completed_count", map[string]string{"tenant": "a"})
		if len(points) != 3 {
			t.Fatalf("%d points, want one per run", len(points))
		}
		for i, p := range points {
			end := start.Add(time.Duration(i+1) * ExportIntervalDefault)
			if p.Value != float64(i+1) || !p.Start.Equal(start) || !p.End.Equal(end) {
				t.Fatalf("point %d = %v over [%v, %v], want %d over [%v, %v]", i, p.Value, p.Start, p.End, i+1, start, end)
			}
		}
	})

	t.Run("LatencyAndSuccessRatioCoverOnlyTheLastInterval", func(t *testing.T) {
		t.Parallel()
		e, b := setupExporter(t, 10)
		b.metrics.JobCompleted("a", map[string]time.Duration{"total": 3 * time.Millisecond})
		b.metrics.EmbedOutcome("failed", "timeout")
		var p50, ratio [][]float64 // per run
		for _, record := range []func(){
			func() {}, // nothing new happens in the second interval
			func() {
				b.metrics.JobCompleted("a", map[string]time.Duration{"total": 40 * time.Second})
				b.metrics.EmbedOutcome("upserted", "")
			},
			nil,
		} {
			b.clock.Advance(ExportIntervalDefault)
			_, before := b.server.snapshot()
			if _, err := e.runOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			requests, _ := b.server.snapshot()
			points := pointsOf(requests[min(before, len(requests)):])
			p50 = append(p50, values(find(points, "job_latency_ms", map[string]string{"percentile": "p50"})))
			ratio = append(ratio, values(find(points, "embed_success_ratio", nil)))
			if record != nil {
				record()
			}
		}
		// The first run sees one 3 ms job (in the (2.5 ms, 5 ms] bucket) and
		// one failure; the second nothing, so no point; the third only its
		// own 40 s job (in (30 s, 60 s]) and its own success.
		wantP50, wantRatio := [][]float64{{3.75}, nil, {45000}}, [][]float64{{0}, nil, {1}}
		if !cmp.Equal(p50, wantP50) || !cmp.Equal(ratio, wantRatio) {
			t.Fatalf("p50 per run = %v, ratio per run = %v; want %v and %v", p50, ratio, wantP50, wantRatio)
		}
	})

	t.Run("SkipsSeriesWithoutData", func(t *testing.T) {
		t.Parallel()
		e, b := setupExporter(t, 10)
		b.clock.Advance(ExportIntervalDefault)
		if n, err := e.runOnce(context.Background()); n != 0 || err != nil {
			t.Fatalf("wrote %d series (err %v) with nothing recorded", n, err)
		}
		if _, calls := b.server.snapshot(); calls != 0 {
			t.Fatalf("%d calls with nothing to write", calls)
		}
	})

	t.Run("LogsWriteErrorsRateLimitedAndSendsTheOtherBatches", func(t *testing.T) {
		t.Parallel()
		e, b := setupExporter(t, 500)
		for i := range 250 {
			b.metrics.JobCompleted(fmt.Sprintf("tenant-%03d", i), nil)
		}
		b.server.refuseNext(1)
		b.clock.Advance(ExportIntervalDefault)
		written, err := e.runOnce(context.Background())
		if err == nil || written != 50 {
			t.Fatalf("first batch refused: wrote %d, err %v; want the second batch's 50 written and an error", written, err)
		}
		b.server.refuseNext(2) // both batches of the next run
		b.clock.Advance(ExportIntervalDefault)
		if _, err := e.runOnce(context.Background()); err == nil {
			t.Fatal("want an error")
		}
		b.clock.Advance(ExportIntervalDefault)
		if _, err := e.runOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		logs := b.logs.String()
		if n := strings.Count(logs, "export failed"); n != 1 {
			t.Fatalf("%d failure lines within a minute, want 1:\n%s", n, logs)
		}
		if !strings.Contains(logs, `"failures_not_logged":1`) || !strings.Contains(logs, "works again") {
			t.Fatalf("want a recovery line counting the unlogged failure:\n%s", logs)
		}
	})

	t.Run("RejectsABadConfig", func(t *testing.T) {
		t.Parallel()
		m := New(Config{Logger: hclog.NewNullLogger()})
		for name, tc := range map[string]struct {
			m   *Metrics
			cfg ExporterConfig
		}{
			"NoProject":        {m, ExporterConfig{}},
			"NoMetrics":        {nil, ExporterConfig{ProjectID: "p"}},
			"IntervalTooShort": {m, ExporterConfig{ProjectID: "p", Interval: 5 * time.Second}},
			"IntervalNegative": {m, ExporterConfig{ProjectID: "p", Interval: -time.Second}},
		} {
			if _, err := NewExporter(context.Background(), tc.m, tc.cfg); !errors.Is(err, ErrExporterConfig) {
				t.Errorf("%s: err = %v, want ErrExporterConfig", name, err)
			}
		}
	})

	t.Run("StartAndStopAreSafeInAnyOrder", func(t *testing.T) {
		t.Parallel()
		e, _ := setupExporter(t, 10)
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(context.Background()); err == nil {
			t.Fatal("a second Start must fail")
		}
		e.Stop()
		e.Stop()
		if err := e.Start(context.Background()); err == nil {
			t.Fatal("Start after Stop must fail: the client is closed")
		}
		idle, _ := setupExporter(t, 10)
		idle.Stop() // before Start
	})

	t.Run("DefaultsTheServiceNameAndARandomInstanceID", func(t *testing.T) {
		t.Parallel()
		_, opts := startFakeMetricService(t)
		m := New(Config{Logger: hclog.NewNullLogger()})
		ids := map[string]bool{}
		for range 2 {
			e, err := NewExporter(context.Background(), m, ExporterConfig{ProjectID: "p", ClientOptions: opts})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(e.Stop)
			if e.cfg.ServiceName != ServiceNameDefault || e.cfg.Interval != ExportIntervalDefault || len(e.cfg.InstanceID) != 16 {
				t.Fatalf("defaults: %+v", e.cfg)
			}
			ids[e.cfg.InstanceID] = true
		}
		if len(ids) != 2 {
			t.Fatal("two exporters share an instance id")
		}
	})
}

func TestBucketQuantile(t *testing.T) {
	t.Parallel()
	// Buckets ≤1: 10, ≤2: 30, ≤4: 40; 50 samples, 10 of them above 4.
	h := bucketCounts{bounds: []float64{1, 2, 4}, cumulative: []float64{10, 30, 40}, total: 50}
	for _, tc := range []struct {
		name string
		q    float64
		want float64
	}{
		{"InterpolatesFromZeroInTheFirstBucket", 0.1, 0.5},
		{"InterpolatesInsideABucket", 0.4, 1.5},
		{"ReachesTheUpperBoundAtTheBucketsLastSample", 0.6, 2},
		{"GivesTheLargestFiniteBoundInTheInfBucket", 0.99, 4},
	} {
		if got := h.quantile(tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: quantile(%v) = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
	if got := (bucketCounts{}).quantile(0.5); !math.IsNaN(got) {
		t.Errorf("empty histogram: %v, want NaN", got)
	}
}

// values are the points' values, rounded to 1e-6 so that float noise from
// bucket interpolation does not matter.
func values(points []point) []float64 {
	var out []float64
	for _, p := range points {
		out = append(out, math.Round(p.Value*1e6)/1e6)
	}
	return out
}
