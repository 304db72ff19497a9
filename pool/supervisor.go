package pool

import (
	"context"
	"time"
)

// supervise is the pool's background duty: every HealthInterval it pings each
// process and checks its memory and age. It runs until Stop.
func (p *Pool) supervise() {
	ticker := time.NewTicker(p.cfg.HealthInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			p.checkOnce()
		case <-p.stopping:
			return
		}
	}
}

// checkOnce runs one round of checks. A process is replaced after UnhealthyPings
// failed pings in a row; one past a recycling limit is recycled softly, and by age
// only while no other process is being recycled, so a pool started at once is not
// recycled all at once.
func (p *Pool) checkOnce() {
	p.mu.Lock()
	procs := append([]*process(nil), p.procs...)
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	for _, proc := range procs {
		pingErr := proc.ping(ctx, p.cfg.HealthTimeout)
		rss := residentBytes(proc.pid)
		p.mu.Lock()
		if ctx.Err() == nil && proc.state == StateReady {
			p.judgeLocked(proc, pingErr, rss)
		}
		p.mu.Unlock()
	}
}

// judgeLocked acts on one process's health check.
func (p *Pool) judgeLocked(proc *process, pingErr error, rss int64) {
	if pingErr != nil {
		proc.failedPings++
		p.noteFailureLocked(proc, pingErr)
		if proc.failedPings >= p.cfg.UnhealthyPings {
			p.replaceLocked(proc, reasonUnhealthy)
		}
		return
	}
	proc.failedPings = 0
	switch {
	case p.cfg.MaxRSSBytes > 0 && rss > p.cfg.MaxRSSBytes:
		p.recycleLocked(proc, reasonMaxRSS)
	case proc.maxAge > 0 && p.cfg.Now().Sub(proc.started) > proc.maxAge && !p.recyclingLocked():
		p.recycleLocked(proc, reasonMaxAge)
	}
}

// recyclingLocked reports whether a process is being recycled or drained.
func (p *Pool) recyclingLocked() bool {
	for _, proc := range p.procs {
		if proc.state == StateRecycling || proc.state == StateDraining {
			return true
		}
	}
	return false
}
