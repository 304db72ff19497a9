package pool

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Why a process was replaced; each is logged and counted in Status().Restarts.
const (
	reasonCrashed     = "crashed"      // exited, or its connection broke
	reasonHung        = "hung"         // missed the call deadline
	reasonUnhealthy   = "unhealthy"    // failed a health ping
	reasonBreakerOpen = "breaker_open" // too many consecutive failures
	reasonMaxJobs     = "max_jobs"
	reasonMaxRSS      = "max_rss"
	reasonMaxAge      = "max_age"
	reasonOperator    = "operator"
)

// crash is one unplanned process death, for the crash-loop guard.
type crash struct{ at time.Time }

// ErrNoProcess is returned by RestartProcess for an id no process has.
var ErrNoProcess = errors.New("pool: no such process")

// add puts a started process into the pool and watches for its exit.
func (p *Pool) add(proc *process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		// Stop began while it was starting: nobody will use it.
		proc.state = StateRetired
		p.wg.Go(proc.kill)
		return
	}
	proc.state = StateReady
	p.procs = append(p.procs, proc)
	p.broadcastLocked()
	p.wg.Go(func() {
		select {
		case <-proc.rpc.Exited():
			p.mu.Lock()
			p.replaceLocked(proc, reasonCrashed)
			p.mu.Unlock()
		case <-p.stopping:
		}
	})
}

// replaceLocked retires proc at once (its calls fail and are retried elsewhere) and
// starts its successor. Only the first report of a process's end acts, so the exit
// watcher and a failed call can both report the same death.
func (p *Pool) replaceLocked(proc *process, reason string) {
	if proc.state == StateRetired || p.closing {
		return
	}
	successorStarted := proc.state == StateDraining || proc.state == StateRecycling
	proc.state = StateRetired
	p.removeLocked(proc)
	p.wg.Go(proc.terminate)
	if successorStarted {
		return // a recycle already started its successor
	}
	p.restarts[reason]++
	var delay time.Duration
	if p.crashLoopsLocked(proc, reason) {
		delay = p.noteCrashLocked()
	}
	p.log.Warn("replacing plugin process", "id", proc.slot, "pid", proc.pid, "reason", reason, "restart_in", delay)
	p.wg.Go(func() { p.restartSlot(proc.slot, delay, nil) })
}

// recycleLocked starts proc's successor while proc keeps serving; once the
// successor is ready, proc drains and stops. Capacity never dips.
func (p *Pool) recycleLocked(proc *process, reason string) {
	p.recycleWithDoneLocked(proc, reason, nil)
}

func (p *Pool) recycleWithDoneLocked(proc *process, reason string, done chan<- error) {
	if proc.state != StateReady || p.closing {
		if done != nil {
			done <- nil
		}
		return
	}
	proc.state = StateRecycling
	p.restarts[reason]++
	p.log.Info("recycling plugin process", "id", proc.slot, "pid", proc.pid, "reason", reason)
	p.wg.Go(func() { p.restartSlot(proc.slot, 0, func() { p.drain(proc) }, done) })
}

// drain stops proc from taking calls, and stops it once its calls have returned.
func (p *Pool) drain(proc *process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if proc.state == StateRetired {
		return
	}
	proc.state = StateDraining
	if proc.inflight == 0 {
		p.retireLocked(proc)
	}
}

// retireLocked removes proc from the pool and stops it gracefully in the background.
func (p *Pool) retireLocked(proc *process) {
	proc.state = StateRetired
	p.removeLocked(proc)
	p.wg.Go(proc.kill)
}

func (p *Pool) removeLocked(proc *process) {
	kept := p.procs[:0]
	for _, other := range p.procs {
		if other != proc {
			kept = append(kept, other)
		}
	}
	p.procs = kept
	p.broadcastLocked()
}

// crashLoopsLocked says whether proc's unplanned end counts toward the crash-loop
// guard. A crash does not when the process had been serving for a while (a plugin
// that starts and serves is not looping), or when a call in flight on it had
// already cost another process: that job is poison, and it counts once, for the
// first process it killed.
func (p *Pool) crashLoopsLocked(proc *process, reason string) bool {
	if reason != reasonCrashed {
		return true
	}
	stable := proc.served > 0 && p.cfg.Now().Sub(proc.started) >= p.cfg.CrashLoopMinUptime
	return !stable && proc.suspects == 0
}

// noteCrashLocked records an unplanned death and returns how long to wait before
// the restart: none for an isolated crash, doubling with each recent one, and at
// least DegradedBackoff while the pool is in a crash loop, so a broken plugin is
// retried slowly instead of spinning.
func (p *Pool) noteCrashLocked() time.Duration {
	now := p.cfg.Now()
	p.pruneCrashesLocked(now)
	p.crashes = append(p.crashes, crash{at: now})
	n := len(p.crashes)
	if n >= p.cfg.CrashLoopThreshold {
		if n == p.cfg.CrashLoopThreshold {
			p.log.Error("plugin crash loop: pool degraded", "crashes", n, "window", p.cfg.CrashLoopWindow)
		}
		return max(p.cfg.DegradedBackoff, p.cfg.RestartBackoffMax)
	}
	if n == 1 {
		return 0
	}
	return min(p.cfg.RestartBackoffMax, p.cfg.RestartBackoffMin<<(n-2))
}

func (p *Pool) pruneCrashesLocked(now time.Time) {
	kept := p.crashes[:0]
	for _, c := range p.crashes {
		if now.Sub(c.at) < p.cfg.CrashLoopWindow {
			kept = append(kept, c)
		}
	}
	p.crashes = kept
}

// restartSlot starts a new process for slot after delay, retrying with backoff
// until one starts or the pool stops. Once the new process takes calls, then runs
// (a recycled predecessor's drain) and done receives nil, or the stop error.
func (p *Pool) restartSlot(slot int, delay time.Duration, then func(), done ...chan<- error) {
	notify := func(err error) {
		for _, ch := range done {
			if ch != nil {
				ch <- err
			}
		}
	}
	backoff := p.cfg.RestartBackoffMin
	for {
		if !p.sleep(delay) {
			notify(ErrClosed)
			return
		}
		proc, err := startProcess(p.cfg, slot, p.cfg.Logger)
		if err == nil {
			p.add(proc)
			p.log.Info("plugin process started", "id", slot, "pid", proc.pid)
			if then != nil {
				then()
			}
			notify(nil)
			return
		}
		p.mu.Lock()
		delay = max(backoff, p.noteCrashLocked())
		p.mu.Unlock()
		// A start that failed after the plugin made its socket folder leaves it behind.
		sweepStaleSocketDirs(socketParentDir(p.cfg.Env))
		p.log.Error("plugin restart failed", "id", slot, "error", err, "retry_in", delay)
		backoff = min(2*backoff, p.cfg.RestartBackoffMax)
	}
}

// sleep waits d unless the pool stops first; it reports whether to go on.
func (p *Pool) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-p.stopping:
			return false
		default:
			return true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-p.stopping:
		return false
	}
}

// RestartProcess replaces process id softly: its successor starts first, then it
// finishes its calls and stops. It returns once the successor takes calls.
func (p *Pool) RestartProcess(ctx context.Context, id int) error {
	p.mu.Lock()
	var target *process
	for _, proc := range p.procs {
		if proc.slot == id && proc.state == StateReady {
			target = proc
		}
	}
	if target == nil {
		p.mu.Unlock()
		return fmt.Errorf("%w: %d", ErrNoProcess, id)
	}
	done := make(chan error, 1)
	p.recycleWithDoneLocked(target, reasonOperator, done)
	p.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("pool: restart of process %d still running: %w", id, ctx.Err())
	}
}

// RestartAll replaces every process, one at a time, softly (a rolling restart):
// no call fails and capacity never dips below Size.
func (p *Pool) RestartAll(ctx context.Context) error {
	for _, info := range p.Processes() {
		if info.State != StateReady {
			continue
		}
		if err := p.RestartProcess(ctx, info.ID); err != nil && !errors.Is(err, ErrNoProcess) {
			return err
		}
	}
	return nil
}

// Status is the pool as a whole, for health checks and the admin API.
type Status struct {
	Size      int            `json:"size"`
	Ready     int            `json:"ready"`
	Degraded  bool           `json:"degraded"`
	Circuit   string         `json:"circuit"`
	Restarts  map[string]int `json:"restarts"`
	Processes []ProcessInfo  `json:"processes"`
}

// Status reports the pool's health: processes taking calls, whether it is in a
// crash loop (degraded), the pool-wide breaker, and restarts by reason.
func (p *Pool) Status() Status {
	processes := p.Processes()
	p.mu.Lock()
	p.pruneCrashesLocked(p.cfg.Now())
	st := Status{
		Size:      p.cfg.Size,
		Degraded:  len(p.crashes) >= p.cfg.CrashLoopThreshold,
		Circuit:   p.circuit.state(),
		Restarts:  make(map[string]int, len(p.restarts)),
		Processes: processes,
	}
	for reason, n := range p.restarts {
		st.Restarts[reason] = n
	}
	p.mu.Unlock()
	for _, info := range processes {
		if info.State == StateReady || info.State == StateRecycling {
			st.Ready++
		}
	}
	return st
}
