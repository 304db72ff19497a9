package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func tableResults() *Results {
	met, missed := true, false
	r := &Results{
		Target: "local stack",
		Host:   HostInfo{CPUs: 2, LoadBefore: "1.00 1.00 1.00", LoadAfter: "2.00 2.00 2.00"},
		Modes: []*ModeResult{
			{Mode: ModeLimit, Label: "bare", Status: StatusOK, Jobs: 30000, Completed: 30000, Seconds: 5, JobsPerSecond: 6000},
			{Mode: ModeThroughput, Label: "flood", Status: StatusOK, Jobs: 100, Completed: 99, Failed: 1, Seconds: 0.05,
				JobsPerSecond: 1980, Efficiency: 0.33, LatencyMs: &LatencySummary{P50: 1.5, P95: 2.25, P99: 3}},
			{Mode: ModeBatch, Label: "batches", Status: StatusUnavailable, Note: "route missing: POST /v1/enrich/batch answers 404/405"},
		},
		PoolOverSpawn: 80.8,
		Memory:        &StackMemory{Service: &ProcMemory{RSSMB: 30, PeakRSSMB: 41.5}, Plugins: []ProcMemory{{PeakRSSMB: 38.2}, {PeakRSSMB: 39}}},
		Embedding:     EmbeddingReport{Status: "disabled", Seen: 99, SkipReasons: map[string]int{skipDisabled: 99}},
		Targets: []TargetCheck{
			{Name: "single-job path", Want: "≥ 1000 jobs/s", Got: "1980 jobs/s", Met: &met},
			{Name: "batch path ÷ limit", Want: "≥ 70% of the limit", Got: notMeasured},
			{Name: "sync p99 at half max", Want: "≤ 25 ms", Got: "31.00 ms", Met: &missed},
		},
	}
	return r
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteTable(&buf, tableResults()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"2 CPUs, load average 1.00 1.00 1.00 before, 2.00 2.00 2.00 after",
		"single-job throughput        100        99         1      0.05    1980.0      1.50      2.25      3.00       33%",
		"limit (bare enricher)      30000     30000         0      5.00    6000.0         -         -         -      100%",
		"batch route            unavailable",
		"batch route: batches — route missing",
		"pool ÷ spawn-per-job: 80.8×",
		"service 41.5 MB (now 30.0); plugins 38.2, 39.0 MB",
		"embedding: disabled",
		"[met ] single-job path",
		"[n/a ] batch path ÷ limit",
		"[MISS] sync p99 at half max",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteSeedSummary(t *testing.T) {
	t.Parallel()
	outcomes := []seedOutcome{
		{id: "a", status: "completed", latency: 10 * time.Millisecond},
		{id: "b", status: "completed", latency: 30 * time.Millisecond},
		{id: "c", status: "error", err: errors.New("submit c: status 500")},
	}
	res := newMode(ModeSeed, "")
	res.Jobs, res.Completed, res.Failed = 3, 2, 1
	res.finish(time.Second, []time.Duration{10 * time.Millisecond, 30 * time.Millisecond})
	var buf bytes.Buffer
	writeSeedSummary(&buf, outcomes, res, EmbeddingReport{Status: "enabled", Upserted: 2, Seen: 2}, true)
	want := `Job a completed in 10ms
Job b completed in 30ms
Job c error in 0ms
=== Benchmark Summary ===
Jobs attempted: 3
Jobs completed: 2
Jobs failed: 1
Embedding success rate: 2/2
Average latency: 20.00ms
p50 latency: 30.00ms
p95 latency: 30.00ms
p99 latency: 30.00ms
Errors (1):
  submit c: status 500
`
	if got := buf.String(); got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
}
