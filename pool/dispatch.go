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

// acquire reserves capacity on the least busy process that takes calls, waiting up
// to AcquireTimeout. Waiters are bounded by MaxWaiters.
func (p *Pool) acquire(ctx context.Context) (*process, error) {
	p.mu.Lock()
	if proc, err := p.tryAcquireLocked(); proc != nil || err != nil {
		p.mu.Unlock()
		return proc, err
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
		proc, err := p.tryAcquireLocked()
		changed := p.changed
		p.mu.Unlock()
		if proc != nil || err != nil {
			return proc, err
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
func (p *Pool) tryAcquireLocked() (*process, error) {
	if p.closing {
		return nil, ErrClosed
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
	if best != nil {
		best.inflight++
	}
	return best, nil
}

// release returns a call's capacity and acts on its outcome: counts, the process
// breaker, hard replacement of a dead or hung process, and recycling by job count.
func (p *Pool) release(proc *process, callErr error, hung bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.broadcastLocked()
	proc.inflight--
	switch {
	case callErr == nil:
		proc.served++
		proc.breaker.record(false)
	case errors.Is(callErr, pyplugin.ErrProcessGone):
		p.noteFailureLocked(proc, callErr)
		p.replaceLocked(proc, reasonCrashed)
		return
	case hung:
		p.noteFailureLocked(proc, callErr)
		p.replaceLocked(proc, reasonHung)
		return
	case countsOnProcessBreaker(callErr):
		p.noteFailureLocked(proc, callErr)
		if proc.breaker.record(true) {
			p.replaceLocked(proc, reasonBreakerOpen)
			return
		}
	}
	if p.cfg.MaxJobs > 0 && proc.served >= p.cfg.MaxJobs {
		p.recycleLocked(proc, reasonMaxJobs)
	}
	if proc.state == StateDraining && proc.inflight == 0 {
		p.retireLocked(proc)
	}
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
