package pool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
)

// ErrExhausted (error code pool_exhausted) means no process was free within
// AcquireTimeout, or too many calls were already waiting.
var ErrExhausted = errors.New("pool: pool_exhausted: no plugin process free")

// callRef is one call in flight on a process.
type callRef struct {
	proc *process
	// seq is the call's number on proc; alone says no other call was in flight
	// on proc when it began.
	seq   int64
	alone bool
	// suspect: the call's job already cost a process.
	suspect bool
}

// acquire reserves capacity on the least busy process that takes calls, waiting up
// to AcquireTimeout. Waiters are bounded by MaxWaiters.
func (p *Pool) acquire(ctx context.Context, suspect bool) (*callRef, error) {
	p.mu.Lock()
	if c, err := p.tryAcquireLocked(suspect); c != nil || err != nil {
		p.mu.Unlock()
		return c, err
	}
	if p.waiters >= p.cfg.MaxWaiters {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: %d calls already waiting", ErrExhausted, p.cfg.MaxWaiters)
	}
	p.waiters++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.waiters--
		p.mu.Unlock()
	}()

	timer := time.NewTimer(p.cfg.AcquireTimeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		c, err := p.tryAcquireLocked(suspect)
		changed := p.changed
		p.mu.Unlock()
		if c != nil || err != nil {
			return c, err
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, fmt.Errorf("%w within %s", ErrExhausted, p.cfg.AcquireTimeout)
		case <-ctx.Done():
			return nil, fmt.Errorf("pool: waiting for a free process: %w", ctx.Err())
		}
	}
}

// tryAcquireLocked takes a slot on the least busy process, or returns (nil, nil).
func (p *Pool) tryAcquireLocked(suspect bool) (*callRef, error) {
	if p.closing {
		return nil, ErrClosed
	}
	if suspect && p.readyLocked() < min(2, p.cfg.Size) {
		// A job that already killed a process waits until killing another would
		// still leave one taking calls: a poison job must never empty the pool.
		return nil, nil
	}
	if !p.underAdaptiveLimitLocked() {
		return nil, nil
	}
	var best *process
	perProcess := p.perProcessLocked()
	for _, proc := range p.procs {
		if proc.state != StateReady && proc.state != StateRecycling {
			continue
		}
		if proc.inflight >= perProcess || proc.exited() {
			continue
		}
		if best == nil || proc.inflight < best.inflight {
			best = proc
		}
	}
	if best == nil {
		return nil, nil
	}
	best.inflight++
	best.calls++
	best.running[best.calls] = p.cfg.Now()
	if suspect {
		best.suspects++
	}
	return &callRef{proc: best, seq: best.calls, alone: best.inflight == 1, suspect: suspect}, nil
}

// release returns a call's capacity and acts on its outcome: counts, the process
// breaker, hard replacement of a dead or hung process, and recycling by job count.
// It reports whether the call was alone on its process from start to end.
func (p *Pool) release(c *callRef, callErr error, hung bool) (alone bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.broadcastLocked()
	proc := c.proc
	alone = c.alone && proc.calls == c.seq
	// The process's end is judged (replaceLocked) while this call still counts as
	// in flight on it; only then is it forgotten.
	defer func() {
		proc.inflight--
		delete(proc.running, c.seq)
		if c.suspect {
			proc.suspects--
		}
	}()
	switch {
	case errors.Is(callErr, pyplugin.ErrProcessGone):
		p.noteFailureLocked(proc, callErr)
		p.replaceLocked(proc, reasonCrashed)
		return alone
	case hung:
		p.noteFailureLocked(proc, callErr)
		p.replaceLocked(proc, reasonHung)
		return alone
	}
	switch processVerdict(callErr) {
	case Success:
		proc.served++
		proc.breaker.record(Success)
	case Failure:
		p.noteFailureLocked(proc, callErr)
		if proc.breaker.record(Failure) {
			// The process answers, with errors: its successor starts first and its
			// other calls finish (a hard stop would fail them, often another
			// tenant's, for what may be one candidate's fault). Not a crash, so not
			// a step toward the crash-loop back-off either.
			p.recycleLocked(proc, reasonBreakerOpen)
		}
	}
	if p.cfg.MaxJobs > 0 && proc.served >= p.cfg.MaxJobs {
		p.recycleLocked(proc, reasonMaxJobs)
	}
	if proc.state == StateDraining && proc.inflight == 1 { // 1: this call, forgotten on return
		p.retireLocked(proc)
	}
	return alone
}

// readyLocked counts the processes that take calls.
func (p *Pool) readyLocked() int {
	n := 0
	for _, proc := range p.procs {
		if (proc.state == StateReady || proc.state == StateRecycling) && !proc.exited() {
			n++
		}
	}
	return n
}

// oldestCallAge is how long proc's oldest call in flight has run, or 0.
func oldestCallAge(proc *process, now time.Time) time.Duration {
	var oldest time.Duration
	for _, started := range proc.running {
		oldest = max(oldest, now.Sub(started))
	}
	return oldest
}

func (p *Pool) noteFailureLocked(proc *process, err error) {
	proc.failures++
	proc.lastError = err.Error()
}

// broadcastLocked wakes everyone waiting for capacity or membership to change.
func (p *Pool) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}
