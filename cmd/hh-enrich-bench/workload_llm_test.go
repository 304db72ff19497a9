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

// The provider's limit is whichever of its requests and tokens a minute binds first
// at what a job costs: a run that fills the tokens is at its limit.
func TestLLMLimitIsWhicheverOfRequestsAndTokensBinds(t *testing.T) {
	t.Parallel()
	r := &llmRun{b: &bench{cfg: Config{LLMRPM: 600, LLMTPM: 1_200_000}}}
	for _, c := range []struct {
		tokensPerJob, want float64
	}{
		{0, 10},        // nothing measured: the requests
		{1000, 10},     // 10 jobs/s cost 10,000 tokens/s of 20,000: requests bind
		{2500, 8},      // 20,000 tokens/s / 2,500: tokens bind
		{4000, 5},      // twice as dear, half the rate
		{2000, 10},     // both at once
		{1999.9, 10.0}, // just under: still the requests
	} {
		if got := r.limitPerSecond(c.tokensPerJob); got < c.want-0.01 || got > c.want+0.01 {
			t.Errorf("limitPerSecond(%v tokens a job) = %.3f jobs/s, want %v", c.tokensPerJob, got, c.want)
		}
	}
	if got := (Config{LLMRPM: 600}).llmTPM(); got != 600*llmTokensPerRequestAllowed {
		t.Errorf("default TPM = %d, want %d", got, 600*llmTokensPerRequestAllowed)
	}
}

// The overhead counts what the service did between phases (total less the wait), and a
// job deferred for the limit, whose earlier waits lie outside total, falls back to its
// named phases instead of going negative.
func TestLeasedTimeKeepsTheServicesTimeBetweenPhases(t *testing.T) {
	t.Parallel()
	inLease := map[string]float64{"total": 1530, "rateLimit": 20, "load": 1, "python": 1500, "firestore": 1, "embed": 3}
	if got := leasedTime(inLease); got != 1510 {
		t.Errorf("a job that waited inside its lease: leased time %v ms, want 1510 (total − rateLimit)", got)
	}
	deferred := map[string]float64{"total": 1530, "rateLimit": 30000, "load": 1, "python": 1500, "firestore": 1, "embed": 3}
	if got := leasedTime(deferred); got != 1505 {
		t.Errorf("a deferred job: leased time %v ms, want 1505 (its phases)", got)
	}
}
