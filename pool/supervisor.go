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

// checkOnce runs one round of checks. A process that fails its ping is replaced
// at once; one past a recycling limit is recycled softly.
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
		switch {
		case proc.state != StateReady:
		case pingErr != nil && ctx.Err() == nil:
			p.noteFailureLocked(proc, pingErr)
			p.replaceLocked(proc, reasonUnhealthy)
		case p.cfg.MaxRSSBytes > 0 && rss > p.cfg.MaxRSSBytes:
			p.recycleLocked(proc, reasonMaxRSS)
		case p.cfg.MaxAge > 0 && p.cfg.Now().Sub(proc.started) > p.cfg.MaxAge:
			p.recycleLocked(proc, reasonMaxAge)
		}
		p.mu.Unlock()
	}
}
