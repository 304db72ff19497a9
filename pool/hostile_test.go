package pool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// testHostEnv makes the test binary a pool host (runTestHost) instead of running
// tests: a real host process that a test can SIGKILL.
const testHostEnv = "HH_POOL_TEST_HOST"

// runTestHost starts a pool of two plugins, puts two slow and two spinning calls
// in flight, prints the plugins' pids and waits to be killed.
func runTestHost() int {
	p, err := New(Config{
		Size: 2, ProcessConcurrency: 2,
		PythonPath: os.Getenv("HH_POOL_TEST_PYTHON"), PluginScript: os.Getenv("HH_POOL_TEST_SCRIPT"),
		Env:    []string{"PATH=" + os.Getenv("PATH"), "ENRICH_TEST_FAULTS=1"},
		Logger: hclog.NewNullLogger(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, fault := range []string{"sleep:60000", "hang", "sleep:60000", "hang"} {
		go func() { _, _ = enrich(context.Background(), p, withFault(fault)) }()
	}
	for inflight := 0; inflight < 4; {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "calls never got in flight")
			return 1
		}
		time.Sleep(10 * time.Millisecond)
		inflight = 0
		for _, info := range p.Processes() {
			inflight += info.InFlight
		}
	}
	fmt.Println(strings.Trim(fmt.Sprint(pidsOf(p)), "[]"))
	select {} // until the test kills us
}

// orphanBound is how long after its host's death a plugin may live (issue 16).
const orphanBound = 2 * time.Second

func TestNoPluginOutlivesAHostKilledWithCallsInFlight(t *testing.T) {
	t.Parallel()
	python, script := pluginPaths(t)
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), testHostEnv+"=1", "HH_POOL_TEST_PYTHON="+python, "HH_POOL_TEST_SCRIPT="+script)
	host.Stderr = os.Stderr
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = host.Process.Kill()
		_ = host.Wait()
		t.Fatalf("the host printed no pids: %v", err)
	}
	// A pidfd per plugin, opened while the host lives: it proves the plugin ran,
	// and it becomes readable when the plugin exits (no polling, no pid reuse).
	var pidfds []int
	for _, field := range strings.Fields(line) {
		pid, _ := strconv.Atoi(field)
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatalf("plugin %d not running before the host's kill: %v", pid, err)
		}
		pidfds = append(pidfds, fd)
		t.Cleanup(func() {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) // never leave one behind
			_ = unix.Close(fd)
		})
	}
	if len(pidfds) != 2 {
		t.Fatalf("host printed %q, want two pids", line)
	}
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	killed := time.Now()
	for _, fd := range pidfds {
		if exited, err := pidfdExitsWithin(fd, time.Until(killed.Add(orphanBound))); !exited {
			t.Fatalf("a plugin was still alive %s after its host was SIGKILLed (%v)", orphanBound, err)
		}
	}
	t.Logf("both plugins gone %s after the host's SIGKILL", time.Since(killed).Round(time.Millisecond))
}

// pidfdExitsWithin waits up to d for the process behind pidfd to exit, and reports
// whether it did. Signals to this process (the Go runtime's own) do not cut it short.
func pidfdExitsWithin(pidfd int, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(max(time.Until(deadline), 0).Milliseconds()))
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return false, err
		default:
			return n == 1, nil
		}
	}
}

func TestPoisonCandidates(t *testing.T) {
	t.Parallel()

	t.Run("FailsAloneAfterTwoCrashesCountsOnceAndNeverEmptiesThePool", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 2))
		var minReady atomic.Int64
		minReady.Store(2)
		sampled := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				minReady.Store(min(minReady.Load(), int64(p.Status().Ready)))
				select {
				case <-done:
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
		}()
		ctx := testCtx(t)
		var wg sync.WaitGroup
		var goodErrs atomic.Int64
		var firstErr atomic.Value
		for range 4 {
			wg.Go(func() {
				for range 50 {
					if _, err := enrich(ctx, p, nurse); err != nil {
						goodErrs.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
			})
		}
		_, poisonErr := enrich(ctx, p, withFault("crash"))
		wg.Wait()
		close(done)
		<-sampled
		if !errors.Is(poisonErr, ErrPoison) || !errors.Is(poisonErr, pyplugin.ErrProcessGone) {
			t.Fatalf("poison call: err = %v, want ErrPoison", poisonErr)
		}
		if n := goodErrs.Load(); n > 0 {
			t.Fatalf("%d good calls failed beside the poison one, first: %v", n, firstErr.Load())
		}
		st := p.Status()
		p.mu.Lock()
		counted := len(p.crashes)
		p.mu.Unlock()
		if st.Restarts[reasonCrashed] != 2 || counted > 1 || st.Degraded {
			t.Fatalf("status = %+v, crash-loop guard counted %d; want 2 crashes counted at most once", st, counted)
		}
		if minReady.Load() < 1 {
			t.Fatal("the pool had no process taking calls at some point")
		}
		if verdict := PoolVerdict(poisonErr); verdict != NoVerdict {
			t.Fatalf("poison verdict = %v, want NoVerdict on the pool-wide circuit", verdict)
		}
	})

	t.Run("ASplitBatchItemThatCrashesAloneIsPoisonAtOnce", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 2))
		_, err := p.EnrichSplit(testCtx(t), &enrichv1.EnrichRequest{JobId: "p", CandidateJson: withFault("crash")})
		if !errors.Is(err, ErrPoison) {
			t.Fatalf("err = %v, want ErrPoison after one more crash", err)
		}
		if got := p.Status().Restarts[reasonCrashed]; got != 1 {
			t.Fatalf("crashes = %d, want 1", got)
		}
	})

	t.Run("ABatchThatLosesItsProcessIsNotRetriedWhole", func(t *testing.T) {
		t.Parallel()
		p := startPool(t, testConfig(t, 2))
		_, err := p.EnrichBatch(testCtx(t), &enrichv1.EnrichBatchRequest{Items: []*enrichv1.EnrichRequest{
			{JobId: "a", CandidateJson: nurse}, {JobId: "p", CandidateJson: withFault("crash")},
		}})
		if !errors.Is(err, pyplugin.ErrProcessGone) || errors.Is(err, ErrPoison) {
			t.Fatalf("err = %v, want the process gone (not poison: nobody is to blame yet)", err)
		}
		if got := p.Status().Restarts[reasonCrashed]; got != 1 {
			t.Fatalf("crashes = %d, want 1: the batch is not retried", got)
		}
	})

	t.Run("AProcessThatServedForAWhileIsNotCrashLooping", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.CrashLoopMinUptime = time.Nanosecond
		p := startPool(t, cfg)
		if _, err := enrich(testCtx(t), p, nurse); err != nil {
			t.Fatal(err)
		}
		old := onlyPID(t, p)
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitForNewProcess(t, p, 1, old)
		p.mu.Lock()
		counted := len(p.crashes)
		p.mu.Unlock()
		if counted != 0 {
			t.Fatalf("crash-loop guard counted %d deaths of a process that had served", counted)
		}
	})
}

func TestSpinningCallIsCaughtAtTheEnrichersOwnLimit(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, 2)
	cfg.CallTimeout = time.Hour // the job deadline: far beyond this test's patience
	p := startPool(t, cfg)
	old := pidsOf(p)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := enrich(ctx, p, withFault("hang"))
	var perr *pyplugin.Error
	if !errors.As(err, &perr) || perr.Reason != pyplugin.ReasonTimeout || !perr.DeadlinePassed || ctx.Err() != nil {
		t.Fatalf("err = %v (caller's ctx: %v), want the pool's own timeout for a spinning call", err, ctx.Err())
	}
	eventually(t, "the spinning process is replaced", func() bool {
		st := p.Status()
		return st.Restarts[reasonHung] == 1 && st.Ready == 2
	})
	if _, err := enrich(testCtx(t), p, nurse); err != nil {
		t.Fatalf("call after the replacement: %v", err)
	}
	if now := pidsOf(p); len(now) != 2 || (now[0] == old[0] && now[1] == old[1]) {
		t.Fatalf("pids %v → %v, want one replaced", old, now)
	}
}

func TestSupervisor(t *testing.T) {
	t.Parallel()

	t.Run("KillsAProcessOnlyAfterConsecutiveFailedPings", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 1)
		cfg.HealthInterval = time.Hour // rounds are run by hand
		cfg.UnhealthyPings = 3
		p := startPool(t, cfg)
		p.mu.Lock()
		proc := p.procs[0]
		slow := errors.New("ping: deadline exceeded")
		p.judgeLocked(proc, slow, 0)
		p.judgeLocked(proc, slow, 0)
		p.judgeLocked(proc, nil, 0) // an answer ends the run
		p.judgeLocked(proc, slow, 0)
		p.judgeLocked(proc, slow, 0)
		survived := proc.state == StateReady
		p.judgeLocked(proc, slow, 0)
		replaced := proc.state == StateRetired
		p.mu.Unlock()
		if !survived || !replaced {
			t.Fatalf("survived two slow pings: %v; replaced after the third: %v", survived, replaced)
		}
	})

	t.Run("RecyclesByAgeOneProcessAtATime", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, 3)
		cfg.HealthInterval = time.Hour
		p := startPool(t, cfg)
		p.mu.Lock()
		for _, proc := range p.procs {
			proc.maxAge = time.Nanosecond // every process is past its age
		}
		p.mu.Unlock()
		p.checkOnce()
		recycling := 0
		for _, info := range p.Processes() {
			if info.State == StateRecycling || info.State == StateDraining {
				recycling++
			}
		}
		if recycling != 1 {
			t.Fatalf("%d processes recycled in one round, want 1", recycling)
		}
	})

	t.Run("AgeLimitsAreJitteredBelowMaxAge", func(t *testing.T) {
		t.Parallel()
		seen := map[time.Duration]bool{}
		for range 50 {
			d := jittered(time.Hour)
			if d > time.Hour || d < time.Hour-time.Duration(maxAgeJitter*float64(time.Hour)) {
				t.Fatalf("jittered(1h) = %s", d)
			}
			seen[d] = true
		}
		if len(seen) < 2 || jittered(0) != 0 {
			t.Fatal("no jitter")
		}
	})
}

func TestPluginsOutliveTheThreadThatStartedThem(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, 1).withDefaults()
	type startResult struct {
		tid  int
		proc *process
		err  error
	}
	var res startResult
	for res.tid == 0 {
		started := make(chan startResult, 1)
		hold := make(chan struct{})
		defer close(hold)
		go func() {
			// Locked and never unlocked: Go ends this thread when the goroutine
			// returns, which fires the parent-death signal of any child forked from
			// it. Except the main thread, which Go never ends: hold it and try again.
			runtime.LockOSThread()
			if unix.Gettid() == unix.Getpid() {
				started <- startResult{}
				<-hold
				runtime.UnlockOSThread()
				return
			}
			proc, err := startProcess(cfg, 0, cfg.Logger)
			started <- startResult{unix.Gettid(), proc, err}
		}()
		res = <-started
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer res.proc.kill()
	eventually(t, "the starting thread has ended", func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", res.tid))
		return errors.Is(err, os.ErrNotExist)
	})
	fd, err := unix.PidfdOpen(res.proc.pid, 0)
	if err != nil {
		t.Fatalf("the plugin died with the thread that started it: %v", err)
	}
	defer unix.Close(fd)
	// A parent-death SIGKILL would already be on its way: give it half a second.
	if exited, err := pidfdExitsWithin(fd, 500*time.Millisecond); exited || err != nil {
		t.Fatalf("the plugin died with the thread that started it (%v)", err)
	}
	if err := res.proc.ping(testCtx(t), time.Second); err != nil {
		t.Fatalf("ping: %v", err)
	}
}
