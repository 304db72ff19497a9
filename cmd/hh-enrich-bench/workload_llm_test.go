package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

func TestSteadyRateLeavesOutTheStartAndTheTail(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var jobs []*localstack.Job
	// 100 jobs ten a second, then a tail of ten that ends a minute later.
	for i := range 100 {
		jobs = append(jobs, &localstack.Job{Status: "completed",
			UpdatedAt: start.Add(time.Duration(i) * 100 * time.Millisecond).Format(time.RFC3339Nano)})
	}
	for i := range 10 {
		jobs = append(jobs, &localstack.Job{Status: "completed",
			UpdatedAt: start.Add(time.Minute + time.Duration(i)*time.Second).Format(time.RFC3339Nano)})
	}
	jobs = append(jobs, &localstack.Job{Status: "failed", UpdatedAt: start.Format(time.RFC3339Nano)})
	if got := steadyRate(jobs); got < 9.5 || got > 10.5 {
		t.Fatalf("steady rate = %.2f jobs/s, want about 10", got)
	}
}

func TestLLMTargetsReadTheLLMRows(t *testing.T) {
	t.Parallel()
	m := newMode(ModeLLM2, "x")
	m.Completed, m.Failed = 100, 1
	m.Extra["shareOfLimit"], m.Extra["calls429Share"], m.Extra["rerunTokens"] = 0.93, 0.01, 0
	m.LatencyMs = &LatencySummary{P50: 3}
	got := map[string]bool{}
	for _, c := range llmTargets(m) {
		if c.Met == nil {
			t.Fatalf("%s not measured", c.Name)
		}
		got[c.Name] = *c.Met
	}
	want := map[string]bool{"llm 2×: share of the limit": true, "llm 2×: failed jobs": false,
		"llm 2×: calls answered 429": true, "llm 2×: overhead p50": true, "llm 2×: tokens on the rerun": true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("targets = %v, want %v", got, want)
	}
	if llmTargets(nil) != nil {
		t.Fatal("a run without llm has llm targets")
	}
}
