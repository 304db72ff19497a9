package main

import "testing"

func TestEvaluateTargets(t *testing.T) {
	t.Parallel()
	r := &Results{
		Modes: []*ModeResult{
			{Mode: ModeThroughput, Status: StatusOK, JobsPerSecond: 2400, Efficiency: 0.4},
			{Mode: ModeSync, Status: StatusOK, JobsPerSecond: 1200, LatencyMs: &LatencySummary{P50: 2.1, P99: 30}},
			{Mode: ModeBatch, Status: StatusUnavailable},
		},
		PoolOverSpawn: 96,
		Memory:        &StackMemory{Service: &ProcMemory{PeakRSSMB: 45}, Plugins: []ProcMemory{{PeakRSSMB: 39}, {PeakRSSMB: 61}}},
	}
	want := map[string]string{
		"pool ÷ spawn-per-job":       "met",
		"single-job path":            "met",
		"single-job path ÷ limit":    "missed",
		"batch path ÷ limit":         "not measured",
		"sync p50 at half max":       "met",
		"sync p99 at half max":       "missed",
		"each plugin, peak resident": "missed",
		"service, peak resident":     "met",
	}
	got := EvaluateTargets(r)
	if len(got) != len(want) {
		t.Fatalf("%d targets, want %d", len(got), len(want))
	}
	for _, c := range got {
		verdict := "not measured"
		if c.Met != nil {
			verdict = map[bool]string{true: "met", false: "missed"}[*c.Met]
		}
		if verdict != want[c.Name] {
			t.Errorf("%s: %s (got %s, want %s), expected %s", c.Name, verdict, c.Got, c.Want, want[c.Name])
		}
	}
}
