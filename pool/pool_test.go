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

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

func TestMain(m *testing.M) {
	if os.Getenv(testHostEnv) != "" {
		os.Exit(runTestHost())
	}
	// go-resiliency flips an opened breaker to half-open from a sleeping goroutine it
	// does not let us stop; the sleep ends with the breaker's cooldown.
	// Plugins are forked from spawner threads that live as long as the process.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"),
		goleak.IgnoreAnyFunction("github.com/headhunter/hh-enrich-svc/pool.spawnerThread"))
}

// testTimeout bounds every wait in these tests; a real process starts in ~250 ms.
const testTimeout = 30 * time.Second

var nurse = []byte(`{"candidate_id":"cand-1","resume_text":"Senior Registered Nurse, St Thomas' Hospital 2019–2025\nSkills: triage, ICU","recruiter_comments":"Strong clinical judgement."}`)

func testConfig(t *testing.T, size int) Config {
	t.Helper()
	python, script := pluginPaths(t)
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the venv is missing (run `make venv`): %v", err)
	}
	return Config{
		Size:         size,
		PythonPath:   python,
		PluginScript: script,
		Env:          []string{"PATH=" + os.Getenv("PATH"), "ENRICH_TEST_FAULTS=1"},
		Logger:       hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: hclog.DefaultOutput}),
	}
}

func startPool(t *testing.T, cfg Config) *Pool {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return p
}

func enrich(ctx context.Context, p *Pool, candidate []byte) (*enrichv1.EnrichResponse, error) {
	return p.Enrich(ctx, &enrichv1.EnrichRequest{JobId: "job", CandidateJson: candidate})
}

func pidsOf(p *Pool) []int {
	var pids []int
	for _, info := range p.Processes() {
		pids = append(pids, info.PID)
	}
	return pids
}

// eventually polls cond until it holds or the test timeout passes. It is the one
// place these tests wait by polling: process replacement has no signal to wait on
// from outside the pool.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPool(t *testing.T) {
	t.Parallel()

	t.Run("ServesManyCallsOnTheSameProcesses", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 2))
		before := pidsOf(p)
		if len(before) != 2 {
			t.Fatalf("pids = %v, want 2 processes", before)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		for range 200 {
			resp, err := enrich(ctx, p, nurse)
			if err != nil {
				t.Fatal(err)
			}
			var out map[string]any
			if err := json.Unmarshal(resp.GetEnrichmentJson(), &out); err != nil || out["resume_analysis"] == nil {
				t.Fatalf("enrichment %s: %v", resp.GetEnrichmentJson(), err)
			}
		}
		if after := pidsOf(p); !slices.Equal(before, after) {
			t.Fatalf("pids changed from %v to %v", before, after)
		}
		var served int64
		for _, info := range p.Processes() {
			served += info.JobsServed
		}
		if served != 200 {
			t.Fatalf("jobs served = %d, want 200", served)
		}
	})

	t.Run("KillNineOfAProcessFailsNoCallAndReplacesIt", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 2))
		victim := pidsOf(p)[0]
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()

		const callers, callsEach = 4, 100
		var wg sync.WaitGroup
		errs := make(chan error, callers*callsEach)
		halfway := make(chan struct{})
		var once sync.Once
		for c := range callers {
			wg.Go(func() {
				for i := range callsEach {
					if c == 0 && i == callsEach/2 {
						once.Do(func() { close(halfway) })
					}
					if _, err := enrich(ctx, p, nurse); err != nil {
						errs <- err
					}
				}
			})
		}
		<-halfway
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("call failed: %v", err)
		}
		eventually(t, "the killed process is replaced", func() bool {
			pids := pidsOf(p)
			return len(pids) == 2 && !slices.Contains(pids, victim)
		})
		if got := p.Status().Restarts; got[reasonCrashed] != 1 {
			t.Fatalf("restarts = %v, want one crash", got)
		}
	})

	t.Run("InvalidCandidateIsATypedNonRetryableError", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 1))
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_, err := enrich(ctx, p, []byte(`{"candidate_id":"empty"}`))
		var perr *pyplugin.Error
		if !errors.As(err, &perr) {
			t.Fatalf("err = %v, want *pyplugin.Error", err)
		}
		if perr.Reason != pyplugin.ReasonInvalidCandidate || perr.Retryable {
			t.Fatalf("err = %+v, want invalid_candidate, not retryable", perr)
		}
	})

	t.Run("WaitingForAProcessEndsWithTheCallersContext", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 1))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := enrich(ctx, p, nurse); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})

	t.Run("StopEndsEveryProcessAndRefusesLaterCalls", func(t *testing.T) {
		t.Parallel()
		p, err := New(testConfig(t, 2))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		pids := pidsOf(p)
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Stop(ctx); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process %d still exists after Stop (kill 0: %v)", pid, err)
			}
		}
		if _, err := enrich(ctx, p, nurse); !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	})

	t.Run("StartFailsClearlyWithABrokenInterpreter", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.PythonPath = "/nonexistent/python"
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := p.Start(ctx); err == nil {
			t.Fatal("Start succeeded with a missing interpreter")
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"NegativeSize":         {Size: -1, PythonPath: "p", PluginScript: "s"},
		"NegativeMaxJobs":      {Size: 1, PythonPath: "p", PluginScript: "s", MaxJobs: -1},
		"NegativeCallTimeout":  {Size: 1, PythonPath: "p", PluginScript: "s", CallTimeout: -time.Second},
		"NoInterpreter":        {Size: 1, PluginScript: "s"},
		"NoScript":             {Size: 1, PythonPath: "p"},
		"NegativeConcurrency":  {Size: 1, PythonPath: "p", PluginScript: "s", ProcessConcurrency: -2},
		"NegativeCrashRetries": {Size: 1, PythonPath: "p", PluginScript: "s", CrashRetries: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); err == nil {
				t.Fatalf("New(%+v) succeeded", cfg)
			}
		})
	}
}
