package pool

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// withFault is the nurse candidate asking the plugin for a fault (fault_injection.py).
func withFault(fault string) []byte {
	var doc map[string]any
	if err := json.Unmarshal(nurse, &doc); err != nil {
		panic(err)
	}
	doc["_fault"] = fault
	raw, _ := json.Marshal(doc)
	return raw
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func onlyPID(t *testing.T, p *Pool) int {
	t.Helper()
	pids := pidsOf(p)
	if len(pids) != 1 {
		t.Fatalf("pids = %v, want one process", pids)
	}
	return pids[0]
}

// waitForNewProcess waits until the pool has size processes taking calls and none
// of them is old.
func waitForNewProcess(t *testing.T, p *Pool, size int, old ...int) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Logf("pool status: %+v", p.Status())
		}
	}()
	eventually(t, "the process is replaced", func() bool {
		st := p.Status()
		if st.Ready != size {
			return false
		}
		for _, info := range st.Processes {
			if slices.Contains(old, info.PID) {
				return false
			}
		}
		return true
	})
}

func TestPoolHeals(t *testing.T) {
	t.Parallel()

	t.Run("HungProcessIsKilledAtTheCallDeadlineAndReplaced", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.CallTimeout = 500 * time.Millisecond
		p := startPool(t, cfg)
		old := onlyPID(t, p)
		_, err := enrich(testCtx(t), p, withFault("hang"))
		var perr *pyplugin.Error
		if !errors.As(err, &perr) || perr.Reason != pyplugin.ReasonTimeout {
			t.Fatalf("err = %v, want a timeout", err)
		}
		waitForNewProcess(t, p, 1, old)
		if _, err := enrich(testCtx(t), p, nurse); err != nil {
			t.Fatalf("call after the replacement: %v", err)
		}
		if got := p.Status().Restarts[reasonHung]; got != 1 {
			t.Fatalf("hung restarts = %d, want 1", got)
		}
	})

	t.Run("StoppedProcessIsReplacedWithoutBlockingThePool", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.CallTimeout = 500 * time.Millisecond
		p := startPool(t, cfg)
		old := onlyPID(t, p)
		if err := syscall.Kill(old, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		// The call either misses its deadline on the stopped process or, when the
		// supervisor's pings replace the process first, is retried on the new one:
		// either way it returns, and the stopped process is gone.
		_, _ = enrich(testCtx(t), p, nurse)
		waitForNewProcess(t, p, 1, old)
		if _, err := enrich(testCtx(t), p, nurse); err != nil {
			t.Fatalf("call after the replacement: %v", err)
		}
	})

	t.Run("SupervisorReplacesAProcessThatStopsAnsweringPings", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.HealthInterval = 50 * time.Millisecond
		cfg.HealthTimeout = 200 * time.Millisecond
		p := startPool(t, cfg)
		old := onlyPID(t, p)
		if err := syscall.Kill(old, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		waitForNewProcess(t, p, 1, old)
		if got := p.Status().Restarts[reasonUnhealthy]; got != 1 {
			t.Fatalf("unhealthy restarts = %d, want 1", got)
		}
	})

	t.Run("ProcessBreakerOpensOnConsecutiveFailuresAndReplacesTheProcess", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.ProcessBreakerFailures = 3
		p := startPool(t, cfg)
		old := onlyPID(t, p)
		for range 3 {
			var perr *pyplugin.Error
			if _, err := enrich(testCtx(t), p, withFault("internal")); !errors.As(err, &perr) || perr.Reason != pyplugin.ReasonInternal {
				t.Fatalf("err = %v, want an internal plugin error", err)
			}
		}
		waitForNewProcess(t, p, 1, old)
		if got := p.Status().Restarts[reasonBreakerOpen]; got != 1 {
			t.Fatalf("breaker restarts = %d, want 1", got)
		}
	})

	// The process still answers: its successor starts first and its other calls
	// finish. A hard stop failed them (another tenant's, in the audit) for what
	// may be one candidate's fault, and counted toward the crash-loop back-off.
	t.Run("AnOpenProcessBreakerLetsTheProcesssOtherCallsFinish", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.ProcessBreakerFailures, cfg.ProcessConcurrency, cfg.CircuitFailures = 2, 3, 100
		cfg.Metrics = metrics.New(metrics.Config{Logger: cfg.Logger})
		p := startPool(t, cfg)
		old := onlyPID(t, p)
		slow := make(chan error, 1)
		go func() {
			_, err := enrich(testCtx(t), p, withFault("sleep:1500"))
			slow <- err
		}()
		eventually(t, "the slow call is in flight", func() bool { return p.inflightNow() == 1 })
		for range 2 {
			if _, err := enrich(testCtx(t), p, withFault("internal")); err == nil {
				t.Fatal("an internal fault enriched")
			}
		}
		if err := <-slow; err != nil {
			t.Errorf("the call beside the failing ones: %v", err)
		}
		// Three calls, none sent again: the slow one was answered where it started.
		if calls, _, _ := pluginCalls(t, cfg.Metrics); calls != 3 {
			t.Errorf("%d plugin calls, want 3: the slow call was killed and sent again", calls)
		}
		waitForNewProcess(t, p, 1, old)
		if st := p.Status(); st.Restarts[reasonBreakerOpen] != 1 || st.Degraded {
			t.Errorf("status = %+v, want one breaker_open restart and no crash-loop back-off", st)
		}
	})

	t.Run("InvalidCandidatesNeverOpenABreaker", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.ProcessBreakerFailures, cfg.CircuitFailures = 2, 2
		p := startPool(t, cfg)
		old := onlyPID(t, p)
		for range 5 {
			if _, err := enrich(testCtx(t), p, []byte(`{"candidate_id":"empty"}`)); err == nil {
				t.Fatal("an empty candidate enriched")
			}
		}
		if st := p.Status(); st.Circuit != "closed" || onlyPID(t, p) != old || len(st.Restarts) != 0 {
			t.Fatalf("status after bad input = %+v", st)
		}
	})

	t.Run("OpenPoolCircuitMakesCallsWaitThenLetsOneProbeThrough", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 2)
		cfg.CircuitFailures, cfg.CircuitCooldown = 2, 300*time.Millisecond
		cfg.ProcessBreakerFailures = 100
		p := startPool(t, cfg)
		for range 2 {
			if _, err := enrich(testCtx(t), p, withFault("unavailable")); err == nil {
				t.Fatal("injected outage succeeded")
			}
		}
		if got := p.Status().Circuit; got != "open" {
			t.Fatalf("circuit = %s, want open", got)
		}
		short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := enrich(short, p, nurse); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("err = %v, want ErrCircuitOpen (the call waited, it did not fail the job)", err)
		}
		if _, err := enrich(testCtx(t), p, nurse); err != nil {
			t.Fatalf("call after the cooldown: %v", err)
		}
		if got := p.Status().Circuit; got != "closed" {
			t.Fatalf("circuit = %s after a good probe, want closed", got)
		}
	})

	t.Run("CrashLoopMarksThePoolDegradedAndSlowsRestarts", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 3)
		cfg.CrashLoopThreshold, cfg.DegradedBackoff = 3, time.Hour
		p := startPool(t, cfg)
		// Three processes die before serving anything: a plugin that cannot live.
		for _, pid := range pidsOf(p) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "three crashes are noted", func() bool { return p.Status().Restarts[reasonCrashed] == 3 })
		if st := p.Status(); !st.Degraded {
			t.Fatalf("status = %+v, want degraded after 3 crashes", st)
		}
		// Two slots come back at once; the third waits out the degraded backoff.
		eventually(t, "two processes restart", func() bool { return p.Status().Ready == 2 })
		if _, err := enrich(testCtx(t), p, nurse); err != nil {
			t.Fatalf("a healthy call on the degraded pool: %v", err)
		}
		if st := p.Status(); st.Ready != 2 || st.Restarts[reasonCrashed] != 3 {
			t.Fatalf("status = %+v, want the third restart held back", st)
		}
	})

	t.Run("RecyclesAProcessAfterMaxJobsWithoutFailingCalls", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.MaxJobs = 5
		p := startPool(t, cfg)
		// The old process serves on until its successor is up (~250 ms), so keep
		// calling until two recycles have happened; every call must succeed.
		seen := map[int]bool{}
		eventually(t, "two recycles by job count", func() bool {
			if _, err := enrich(testCtx(t), p, nurse); err != nil {
				t.Fatal(err)
			}
			for _, pid := range pidsOf(p) {
				seen[pid] = true
			}
			return p.Status().Restarts[reasonMaxJobs] >= 2 && len(seen) >= 3
		})
	})

	t.Run("RecyclesAProcessThatLeaksPastMaxRSS", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.HealthInterval = 50 * time.Millisecond
		p := startPool(t, cfg)
		old := onlyPID(t, p)
		cfg.MaxRSSBytes = residentBytes(old) + 64<<20
		p.cfg.MaxRSSBytes = cfg.MaxRSSBytes // set before any leak: the supervisor reads it under p.mu
		for range 3 {
			if _, err := enrich(testCtx(t), p, withFault("leak:40")); err != nil {
				t.Fatal(err)
			}
		}
		waitForNewProcess(t, p, 1, old)
		if got := p.Status().Restarts[reasonMaxRSS]; got != 1 {
			t.Fatalf("max_rss recycles = %d, want 1", got)
		}
	})

	t.Run("RollingRestartUnderLoadFailsNoCall", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 2))
		old := pidsOf(p)
		ctx := testCtx(t)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []error
		calls := 0
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := enrich(ctx, p, nurse)
					mu.Lock()
					calls++
					if err != nil {
						failures = append(failures, err)
					}
					mu.Unlock()
				}
			})
		}
		if err := p.RestartAll(ctx); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("%d of %d calls failed during the rolling restart: %v", len(failures), calls, failures[0])
		}
		waitForNewProcess(t, p, 2, old...)
		if got := p.Status().Restarts[reasonOperator]; got != 2 {
			t.Fatalf("operator restarts = %d, want 2", got)
		}
		t.Logf("%d calls during the rolling restart, none failed", calls)
	})

	t.Run("RestartOfAnUnknownProcessIsErrNoProcess", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 1))
		if err := p.RestartProcess(testCtx(t), 7); !errors.Is(err, ErrNoProcess) {
			t.Fatalf("err = %v, want ErrNoProcess", err)
		}
	})
}

func TestPoolDispatch(t *testing.T) {
	t.Parallel()

	t.Run("BusyPoolAnswersPoolExhaustedAfterTheAcquireTimeout", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.AcquireTimeout, cfg.MaxWaiters = 100*time.Millisecond, 1
		p := startPool(t, cfg)
		busy := make(chan error, 1)
		go func() { _, err := enrich(testCtx(t), p, withFault("sleep:2000")); busy <- err }()
		eventually(t, "the slow call occupies the process", func() bool { return p.Processes()[0].InFlight == 1 })
		waiting := make(chan error, 1)
		go func() { _, err := enrich(testCtx(t), p, nurse); waiting <- err }()
		eventually(t, "a call waits", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.waiters == 1 })
		if _, err := enrich(testCtx(t), p, nurse); !errors.Is(err, ErrExhausted) {
			t.Fatalf("call beyond MaxWaiters: err = %v, want ErrExhausted at once", err)
		}
		if err := <-waiting; !errors.Is(err, ErrExhausted) {
			t.Fatalf("waiting call: err = %v, want ErrExhausted after the timeout", err)
		}
		if err := <-busy; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ProcessConcurrencyRunsCallsSideBySideOnOneProcess", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.ProcessConcurrency = 3
		p := startPool(t, cfg)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, err := enrich(testCtx(t), p, withFault("sleep:500")); err != nil {
					t.Error(err)
				}
			})
		}
		eventually(t, "three calls run at once", func() bool { return p.Processes()[0].InFlight == 3 })
		wg.Wait()
	})

	t.Run("EnrichBatchAnswersEachItem", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 1))
		resp, err := p.EnrichBatch(testCtx(t), &enrichv1.EnrichBatchRequest{Items: []*enrichv1.EnrichRequest{
			{JobId: "a", CandidateJson: nurse}, {JobId: "b", CandidateJson: []byte(`{}`)}, {JobId: "c", CandidateJson: nurse},
		}})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, r := range resp.GetResults() {
			if r.GetError() != nil {
				kinds = append(kinds, "error")
			} else {
				kinds = append(kinds, "ok")
			}
		}
		if !slices.Equal(kinds, []string{"ok", "error", "ok"}) {
			t.Fatalf("results = %v", kinds)
		}
	})
}

func TestKilledProcessLeavesNoSocketFolder(t *testing.T) {
	t.Parallel()
	p := startPool(t, testConfig(t, 1))
	p.mu.Lock()
	proc := p.procs[0]
	p.mu.Unlock()
	if proc.socketDir == "" {
		t.Fatal("the pool did not learn the plugin's socket folder")
	}
	if err := syscall.Kill(proc.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitForNewProcess(t, p, 1, proc.pid)
	eventually(t, "the dead plugin's socket folder is removed", func() bool {
		_, err := os.Stat(proc.socketDir)
		return errors.Is(err, os.ErrNotExist)
	})
}
