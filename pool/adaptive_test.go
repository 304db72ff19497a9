package pool

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

var rateLimited = &pyplugin.Error{Reason: pyplugin.ReasonUpstreamRateLimited, Retryable: true}

func TestAdaptiveLimit(t *testing.T) {
	t.Parallel()
	newLimit := func(initial, maximum int) (*adaptiveLimit, *fakeClock) {
		clock := &fakeClock{now: time.Unix(1000, 0)}
		return newAdaptiveLimit(initial, maximum, clock.Now), clock
	}
	t.Run("GrowsByOneForEachGoodAnswerWhileAtLeastHalfIsInUse", func(t *testing.T) {
		a, _ := newLimit(4, 100)
		for range 10 {
			a.observe(time.Second, a.current(), nil)
		}
		if got := a.current(); got != 14 {
			t.Fatalf("limit = %d after 10 busy good answers from 4, want 14", got)
		}
	})
	t.Run("DoesNotGrowWhileMostOfItIsIdle", func(t *testing.T) {
		a, _ := newLimit(10, 100)
		for range 10 {
			a.observe(time.Second, 4, nil)
		}
		if got := a.current(); got != 10 {
			t.Fatalf("limit = %d, want 10: 4 in flight never need more", got)
		}
	})
	t.Run("ShrinksByATenthOnA429OncePerLatencyWindow", func(t *testing.T) {
		a, clock := newLimit(50, 100)
		a.observe(time.Second, 1, nil) // the long-run latency: 1 s
		for range 5 {
			a.observe(time.Second, 50, rateLimited) // one burst of 429s: one signal
		}
		if got := a.current(); got != 45 {
			t.Fatalf("limit = %d after a burst of 429s from 50, want 45", got)
		}
		clock.now = clock.now.Add(2 * time.Second)
		a.observe(time.Second, 45, rateLimited)
		if got := a.current(); got != 40 {
			t.Fatalf("limit = %d after a later 429, want 40 (45 × 0.9)", got)
		}
	})
	t.Run("ShrinksWhenLatencyRisesWithoutAnyError", func(t *testing.T) {
		a, _ := newLimit(50, 100)
		for range 100 {
			a.observe(time.Second, 10, nil) // idle enough not to grow
		}
		for range 20 {
			a.observe(5*time.Second, 10, nil)
		}
		if got := a.current(); got >= 50 {
			t.Fatalf("limit = %d after latency went from 1 s to 5 s, want below 50", got)
		}
	})
	t.Run("StaysWithinOneAndItsMaximum", func(t *testing.T) {
		a, clock := newLimit(2, 3)
		for range 10 {
			a.observe(time.Millisecond, 3, nil)
		}
		if got := a.current(); got != 3 {
			t.Fatalf("limit = %d, want the maximum 3", got)
		}
		for range 50 {
			clock.now = clock.now.Add(time.Minute)
			a.observe(time.Millisecond, 3, rateLimited)
		}
		if got := a.current(); got != 1 {
			t.Fatalf("limit = %d, want the minimum 1", got)
		}
	})
	t.Run("IgnoresFailuresThatSayNothingAboutTheProvider", func(t *testing.T) {
		a, _ := newLimit(10, 100)
		a.observe(time.Second, 10, &pyplugin.Error{Reason: pyplugin.ReasonInvalidCandidate})
		a.observe(time.Second, 10, &pyplugin.Error{Reason: pyplugin.ReasonUpstreamBadOutput})
		if got := a.current(); got != 10 {
			t.Fatalf("limit = %d, want 10", got)
		}
	})
}

// chatStandIn is Together AI's chat completions API on a loopback socket: it
// answers with a good enrichment, or with 429 while rejecting is set, and counts the
// requests it holds at once.
type chatStandIn struct {
	*httptest.Server
	rejecting      atomic.Bool
	mu             sync.Mutex
	inflight, peak int
}

func startChatStandIn(t *testing.T) *chatStandIn {
	t.Helper()
	content := goodEnrichment(t)
	s := &chatStandIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.inflight++
		s.peak = max(s.peak, s.inflight)
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inflight--
			s.mu.Unlock()
		}()
		if s.rejecting.Load() {
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":{"message":"rate limited"}}`, http.StatusTooManyRequests)
			return
		}
		// A little latency, so that calls overlap and the limit is what keeps them apart.
		time.Sleep(20 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 900, "completion_tokens": 400, "total_tokens": 1300},
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *chatStandIn) peakInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// goodEnrichment is the Python fake's good answer, so the schema has one source.
func goodEnrichment(t *testing.T) string {
	t.Helper()
	python, _ := pluginPaths(t)
	cmd := exec.Command(python, "-c", "import json, fake_together; print(json.dumps(fake_together.GOOD_ENRICHMENT))")
	cmd.Dir = filepath.Join(repoRoot(t), "cloud_run_worker")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestAnIOBoundPoolGrowsItsCallsInFlightAndBacksOffOn429s(t *testing.T) {
	t.Parallel()
	standIn := startChatStandIn(t)
	cfg := testConfig(t, 1)
	cfg.ProcessConcurrency = 32
	cfg.Env = []string{"PATH=" + os.Getenv("PATH"), "ENRICH_ENRICHER=together", "TOGETHER_API_KEY=test-key",
		"TOGETHER_AI_BASE_URL=" + standIn.URL + "/v1", "TOGETHER_AI_MAX_RETRIES=0", "ENRICH_PLUGIN_THREADS=34"}
	p := startPool(t, cfg)
	if c := p.Concurrency(); c.Workload != WorkloadIO || c.PerProcess != 32 || c.Limit != adaptiveInitialPerProcess {
		t.Fatalf("concurrency at start = %+v, want io, 32 per process, limit %d", c, adaptiveInitialPerProcess)
	}
	if p.coalesces() {
		t.Fatal("an I/O-bound pool coalesces its calls, want each call on its own")
	}

	// Callers offer more work than the limit allows, until told to stop.
	ctx, stop := context.WithCancel(context.Background())
	var callers sync.WaitGroup
	for range 40 {
		callers.Go(func() {
			for ctx.Err() == nil {
				_, _ = enrich(ctx, p, nurse)
			}
		})
	}
	defer func() { stop(); callers.Wait() }()

	eventually(t, "the limit grows to 24", func() bool { return p.Concurrency().Limit >= 24 })
	eventually(t, "the provider holds more calls at once than the initial limit", func() bool {
		return standIn.peakInFlight() > adaptiveInitialPerProcess
	})
	grown := p.Concurrency().Limit
	standIn.rejecting.Store(true)
	eventually(t, fmt.Sprintf("the limit falls below half of %d on 429s", grown), func() bool {
		return p.Concurrency().Limit < grown/2
	})
}

func TestACPUBoundPoolKeepsItsFixedConcurrency(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, 2)
	cfg.ProcessConcurrency = 3
	p := startPool(t, cfg)
	if c := p.Concurrency(); c.Workload != WorkloadCPU || c.PerProcess != 3 || c.Limit != 6 {
		t.Fatalf("concurrency = %+v, want cpu, 3 per process, 6 in all", c)
	}
	if !p.coalesces() {
		t.Fatal("a CPU-bound pool does not coalesce its waiting calls")
	}
}
