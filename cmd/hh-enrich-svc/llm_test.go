package main

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/chatstandin"
	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// These tests run the service binary with TOGETHER_API_KEY set against the chat
// API stand-in on loopback: real plugins calling it over HTTP, real Redis.

func startChatStandIn(t *testing.T, cfg chatstandin.Config) *chatstandin.Server {
	t.Helper()
	root := repoRoot(t)
	content, err := chatstandin.GoodEnrichment(context.Background(), root+"/.venv/bin/python", root)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Content = content
	s, err := chatstandin.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// llmEnv runs the plugins on Together AI's protocol against standIn. No retries in
// the plugin: the host's handling of 429s is what these tests are about.
func llmEnv(standIn *chatstandin.Server, extra ...string) []string {
	return append([]string{"TOGETHER_API_KEY=test-key", "TOGETHER_AI_BASE_URL=" + standIn.BaseURL,
		"TOGETHER_AI_MAX_RETRIES=0"}, extra...)
}

// llmCandidate is a candidate the prompt has something to read in.
func llmCandidate(i int) map[string]any {
	return map[string]any{
		"name":               fmt.Sprintf("Candidate %d", i),
		"resume_text":        fmt.Sprintf("Senior Go engineer %d. Built payment systems at scale; led a team of %d.", i, 3+i%5),
		"recruiter_comments": "Strong systems thinking.",
	}
}

// runJobs submits n candidates (idempotency keys run-i) from 8 clients, waits for
// every one and returns their final job views.
func (s *service) runJobs(tenant, run string, n int, force bool) []map[string]any {
	s.t.Helper()
	jobs := make([]map[string]any, n)
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			for i := c; i < n; i += 8 {
				id := s.submit(tenant, map[string]any{"candidateId": fmt.Sprintf("llm-%04d", i),
					"payload": llmCandidate(i), "idempotencyKey": fmt.Sprintf("%s-%04d", run, i), "force": force})
				jobs[i] = s.waitForTerminal(tenant, id)
			}
		})
	}
	wg.Wait()
	return jobs
}

func resultOf(t *testing.T, job map[string]any) map[string]any {
	t.Helper()
	if job["status"] != "completed" {
		t.Fatalf("job %v is %v: %v %v", job["jobId"], job["status"], job["errorCode"], job["error"])
	}
	return job["result"].(map[string]any)
}

func tokensOf(result map[string]any) float64 {
	usage, _ := result["tokenUsage"].(map[string]any)
	total, _ := usage["totalTokens"].(float64)
	return total
}

func TestLLMResultCache(t *testing.T) {
	t.Parallel()
	standIn := startChatStandIn(t, chatstandin.Config{})
	s := startService(t, llmEnv(standIn, "ENRICH_PRICE_PROMPT_PER_MTOK=1", "ENRICH_PRICE_COMPLETION_PER_MTOK=2")...)
	const n = 12

	t.Run("AFirstRunPaysForEveryCandidateAndSaysSo", func(t *testing.T) {
		for _, job := range s.runJobs("tenant-a", "first", n, false) {
			r := resultOf(t, job)
			usage := r["tokenUsage"].(map[string]any)
			if r["enricher"] != "together" || r["cacheHit"] != false || tokensOf(r) <= 0 || usage["cost"].(float64) <= 0 {
				t.Fatalf("result = %v, want together, no cache hit, tokens and a cost", r)
			}
		}
		if got := standIn.Stats().OK; got != n {
			t.Fatalf("the provider answered %d calls, want %d", got, n)
		}
	})
	t.Run("ARerunOfUnchangedCandidatesCostsNoTokens", func(t *testing.T) {
		for _, job := range s.runJobs("tenant-a", "rerun", n, false) {
			if r := resultOf(t, job); r["cacheHit"] != true || tokensOf(r) != 0 {
				t.Fatalf("rerun result: cacheHit %v, tokens %v; want a hit costing 0", r["cacheHit"], tokensOf(r))
			}
		}
		if got := standIn.Stats().OK; got != n {
			t.Fatalf("the provider answered %d calls after the rerun, want still %d", got, n)
		}
	})
	t.Run("ForceBypassesTheCache", func(t *testing.T) {
		r := resultOf(t, s.runJobs("tenant-a", "forced", 1, true)[0])
		if r["cacheHit"] != false || tokensOf(r) <= 0 || standIn.Stats().OK != n+1 {
			t.Fatalf("forced result: cacheHit %v, tokens %v, provider calls %d", r["cacheHit"], tokensOf(r), standIn.Stats().OK)
		}
	})
	t.Run("AnotherTenantIsNeverAnsweredFromThisTenantsCache", func(t *testing.T) {
		r := resultOf(t, s.runJobs("tenant-b", "first", 1, false)[0])
		if r["cacheHit"] != false || tokensOf(r) <= 0 {
			t.Fatalf("tenant-b result: cacheHit %v, tokens %v", r["cacheHit"], tokensOf(r))
		}
	})
	t.Run("TokensAndCostArePerTenantInMetrics", func(t *testing.T) {
		families := s.scrape()
		for _, tenant := range []string{"tenant-a", "tenant-b"} {
			if v, ok := value(families, "hh_enrich_llm_tokens_total", map[string]string{"tenant": tenant, "kind": "prompt"}); !ok || v <= 0 {
				t.Errorf("prompt tokens of %s = %v (found %v)", tenant, v, ok)
			}
			if v, ok := value(families, "hh_enrich_llm_cost_total", map[string]string{"tenant": tenant}); !ok || v <= 0 {
				t.Errorf("cost of %s = %v (found %v)", tenant, v, ok)
			}
		}
		if v, _ := value(families, "hh_enrich_llm_cache_total", map[string]string{"outcome": "hit"}); v != n {
			t.Errorf("cache hits = %v, want %d", v, n)
		}
		// Two processes, 16 calls each to start with: the adaptive limit only grows from there.
		if v, _ := value(families, "hh_enrich_pool_concurrency_limit", nil); v < 32 {
			t.Errorf("pool concurrency limit = %v, want at least 32", v)
		}
	})
}

func TestLLMA429StormFailsNoJobAndChargesNoAttempt(t *testing.T) {
	t.Parallel()
	standIn := startChatStandIn(t, chatstandin.Config{})
	standIn.RejectNext(25)
	// No retries at all: a 429 that charged an attempt would fail its job.
	s := startService(t, llmEnv(standIn, "ENRICH_JOB_RETRY_LIMIT=0")...)
	jobs := s.runJobs("tenant-a", "storm", 20, false)
	limited, waited := 0.0, 0.0
	for _, job := range jobs {
		r := resultOf(t, job) // fails the test on any failed job
		if job["attemptCount"] != 1.0 {
			t.Fatalf("job %v took %v attempts, want 1", job["jobId"], job["attemptCount"])
		}
		n, _ := r["rateLimited"].(float64)
		limited += n
		waited += r["phaseDurationsMs"].(map[string]any)["rateLimit"].(float64)
	}
	if st := standIn.Stats(); st.RateLimited != 25 || limited == 0 || waited <= 0 {
		t.Fatalf("provider 429s %d, 429s on results %v, rate-limit wait %v ms: want 25, some, some", st.RateLimited, limited, waited)
	}
}

func TestLLMTwoInstancesHoldOneRateLimit(t *testing.T) {
	t.Parallel()
	// 600 a minute at the provider: without the shared limit, two instances whose
	// calls in flight grow on their own would send far more than its 5 s burst.
	standIn := startChatStandIn(t, chatstandin.Config{RPM: 600})
	redis := redistest.StartTCP(t)
	env := llmEnv(standIn, "TOGETHER_RPM=600")
	a, b := startServiceOn(t, redis, env...), startServiceOn(t, redis, env...)
	jobs := a.runJobs("tenant-a", "shared", 150, false)
	for _, job := range jobs {
		resultOf(t, job)
	}
	st := standIn.Stats()
	if float64(st.RateLimited) > 0.05*float64(st.Requests) {
		t.Fatalf("the provider answered %d of %d calls with 429, want at most 5%%", st.RateLimited, st.Requests)
	}
	ran := 0
	for _, svc := range []*service{a, b} {
		if v, ok := value(svc.scrape(), "hh_enrich_llm_tokens_total", map[string]string{"tenant": "tenant-a", "kind": "prompt"}); ok && v > 0 {
			ran++
		}
	}
	if ran != 2 {
		t.Fatalf("%d of 2 instances called the LLM, want both", ran)
	}
}
