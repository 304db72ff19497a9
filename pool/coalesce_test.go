package pool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// holdEveryProcess takes every process's call slots as a busy pool's calls would,
// and returns what gives them back.
func holdEveryProcess(t *testing.T, p *Pool) (free func()) {
	t.Helper()
	var held []*callRef
	p.mu.Lock()
	for {
		c, err := p.tryAcquireLocked(false)
		if err != nil {
			p.mu.Unlock()
			t.Fatal(err)
		}
		if c == nil {
			break
		}
		held = append(held, c)
	}
	p.mu.Unlock()
	return func() {
		for _, c := range held {
			p.release(c, nil, false)
		}
	}
}

// pluginCalls reads the plugin-call histogram: calls, the jobs they carried, and
// the calls that carried one job.
func pluginCalls(t *testing.T, m *metrics.Metrics) (calls uint64, jobs float64, alone uint64) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "hh_enrich_plugin_call_items" {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		return h.GetSampleCount(), h.GetSampleSum(), h.GetBucket()[0].GetCumulativeCount()
	}
	t.Fatal("no hh_enrich_plugin_call_items on the registry")
	return 0, 0, 0
}

func queued(p *Pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// served is the calls the pool's processes answered (a batch is one).
func served(p *Pool) int64 {
	var n int64
	for _, info := range p.Processes() {
		n += info.JobsServed
	}
	return n
}

// candidate returns a distinct realistic candidate, or one asking for fault.
func candidate(i int, fault string) []byte {
	doc := map[string]any{
		"candidate_id": fmt.Sprint("cand-", i),
		"resume_text":  fmt.Sprintf("Senior Go engineer, %d years. Kubernetes, PostgreSQL.", i+1),
	}
	if fault != "" {
		doc["_fault"] = fault
	}
	raw, _ := json.Marshal(doc)
	return raw
}

// enrichWhileBusy holds every process, starts one Enrich per candidate, waits
// until all of them queue, frees the processes and returns each call's outcome.
func enrichWhileBusy(t *testing.T, p *Pool, candidates [][]byte) ([]*enrichv1.EnrichResponse, []error) {
	t.Helper()
	ctx := testCtx(t)
	free := holdEveryProcess(t, p)
	resps := make([]*enrichv1.EnrichResponse, len(candidates))
	errs := make([]error, len(candidates))
	var wg sync.WaitGroup
	for i, c := range candidates {
		wg.Go(func() { resps[i], errs[i] = enrich(ctx, p, c) })
	}
	eventually(t, "every call queues behind the busy processes", func() bool { return queued(p) == len(candidates) })
	free()
	wg.Wait()
	return resps, errs
}

func TestCoalescing(t *testing.T) {
	t.Parallel()

	t.Run("CallsWaitingForAProcessGoOutInOneBatchEachWithItsOwnAnswer", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 1))
		var candidates [][]byte
		for i := range 10 {
			candidates = append(candidates, candidate(i, ""))
		}
		resps, errs := enrichWhileBusy(t, p, candidates)
		if n := served(p); n != 2 {
			t.Errorf("the process answered %d calls, want 2: the held one and one batch of 10", n)
		}
		for i, c := range candidates {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			alone, err := enrich(testCtx(t), p, c)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(alone.GetEnrichmentJson(), resps[i].GetEnrichmentJson()) {
				t.Errorf("call %d got another candidate's enrichment:\n%s\nwant\n%s", i, resps[i].GetEnrichmentJson(), alone.GetEnrichmentJson())
			}
		}
	})

	t.Run("ABatchIsBoundedByCoalesceMax", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.CoalesceMax = 4
		p := startPool(t, cfg)
		var candidates [][]byte
		for i := range 10 {
			candidates = append(candidates, candidate(i, ""))
		}
		_, errs := enrichWhileBusy(t, p, candidates)
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if n := served(p); n != 1+3 {
			t.Errorf("the process answered %d calls, want 4: the held one and batches of 4, 4 and 2", n)
		}
	})

	t.Run("EachPluginCallIsCountedWithTheJobsItCarried", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.CoalesceMax = 4
		cfg.Metrics = metrics.New(metrics.Config{Logger: cfg.Logger})
		p := startPool(t, cfg)
		var candidates [][]byte
		for i := range 10 {
			candidates = append(candidates, candidate(i, ""))
		}
		if _, errs := enrichWhileBusy(t, p, candidates); errors.Join(errs...) != nil {
			t.Fatal(errors.Join(errs...))
		}
		if _, err := enrich(testCtx(t), p, nurse); err != nil {
			t.Fatal(err)
		}
		// Batches of 4, 4 and 2 (the held slot made no call), then one call alone.
		calls, jobs, alone := pluginCalls(t, cfg.Metrics)
		if calls != 4 || jobs != 11 || alone != 1 {
			t.Errorf("plugin calls %d carrying %v jobs, %d alone; want 4, 11 and 1", calls, jobs, alone)
		}
	})

	t.Run("OnAnIdlePoolACallRunsAtOnceAlone", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 1))
		if _, err := enrich(testCtx(t), p, nurse); err != nil {
			t.Fatal(err)
		}
		if n, q := served(p), queued(p); n != 1 || q != 0 {
			t.Errorf("served %d, queued %d; want 1 and 0", n, q)
		}
	})

	t.Run("ABatchThatLosesItsProcessFailsOnlyTheCandidateThatCrashesIt", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 2)
		cfg.CrashLoopThreshold = 1000 // the crashes are the test's
		p := startPool(t, cfg)
		var candidates [][]byte
		for i := range 6 {
			fault := ""
			if i == 3 {
				fault = "crash"
			}
			candidates = append(candidates, candidate(i, fault))
		}
		_, errs := enrichWhileBusy(t, p, candidates)
		for i, err := range errs {
			switch {
			case i == 3 && !errors.Is(err, ErrPoison):
				t.Errorf("the crashing call: err = %v, want ErrPoison", err)
			case i != 3 && err != nil:
				t.Errorf("call %d beside it: %v", i, err)
			}
		}
	})

	t.Run("CoalesceMaxOfOneTurnsItOff", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.CoalesceMax = 1
		p := startPool(t, cfg)
		ctx := testCtx(t)
		free := holdEveryProcess(t, p)
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				if _, err := enrich(ctx, p, candidate(i, "")); err != nil {
					t.Error(err)
				}
			})
		}
		eventually(t, "the calls wait for the process", func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.waiters == 3
		})
		free()
		wg.Wait()
		if n := served(p); n != 4 {
			t.Errorf("served %d, want 4: the held call and 3 single calls", n)
		}
	})
}

// A per-candidate error in a coalesced batch is that call's own.
func TestACoalescedCallsOwnErrorIsItsAlone(t *testing.T) {
	t.Parallel()
	p := startPool(t, testConfig(t, 1))
	candidates := [][]byte{candidate(0, ""), candidate(1, "internal"), candidate(2, "")}
	_, errs := enrichWhileBusy(t, p, candidates)
	var perr *pyplugin.Error
	if !errors.As(errs[1], &perr) || perr.Reason != pyplugin.ReasonInternal {
		t.Errorf("the failing call: err = %v, want the plugin's internal error", errs[1])
	}
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("calls beside it: %v, %v", errs[0], errs[2])
	}
}

// bulky returns candidate i with a resume of about size bytes.
func bulky(i, size int) []byte {
	raw, _ := json.Marshal(map[string]any{
		"candidate_id": fmt.Sprint("cand-", i),
		"resume_text":  "Senior Go engineer. Kubernetes, PostgreSQL. " + strings.Repeat("Led the platform team. ", size/23),
	})
	return raw
}

// Large candidates waiting together must not make a batch larger than a gRPC
// message may be: before the byte budget, 8 candidates of 900 KB went out as one
// 7 MB EnrichBatch, the plugin refused it (ResourceExhausted) and every one of
// them failed for good.
func TestACoalescedBatchKeepsToTheByteBudget(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, 1)
	cfg.Metrics = metrics.New(metrics.Config{Logger: cfg.Logger})
	p := startPool(t, cfg)
	var candidates [][]byte
	for i := range 8 {
		candidates = append(candidates, bulky(i, 900<<10))
	}
	_, errs := enrichWhileBusy(t, p, candidates)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// 4 MiB holds 4 of them: two batches of 4.
	if calls, jobs, _ := pluginCalls(t, cfg.Metrics); calls != 2 || jobs != 8 {
		t.Errorf("plugin calls %d carrying %v jobs; want 2 carrying 8", calls, jobs)
	}
}

// One candidate above gRPC's default 4 MiB still goes through: both sides accept
// messages up to pyplugin.MaxMessageBytes.
func TestACandidateAboveGRPCsDefaultLimitIsEnriched(t *testing.T) {
	t.Parallel()
	p := startPool(t, testConfig(t, 1))
	resp, err := enrich(testCtx(t), p, bulky(0, 6<<20))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetEnrichmentJson()) == 0 {
		t.Error("no enrichment")
	}
}
