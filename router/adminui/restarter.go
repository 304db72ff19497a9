package adminui

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// restarter runs one pool restart at a time in the background, so that the
// pool page can show each process being replaced while it happens. It owns
// the goroutine and waits for it in stop.
type restarter struct {
	now func() time.Time

	mu      sync.Mutex // guards the fields below
	last    *restartRun
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
}

// restartRun is a restart started from the console, as the pool page shows it.
type restartRun struct {
	Target   string // what is restarted, as people read it
	By       string
	Started  time.Time
	Finished time.Time // zero while running
	Err      string
}

// Running reports whether the restart has not finished yet.
func (r restartRun) Running() bool { return r.Finished.IsZero() }

// StartedText is when it started, for the pool page.
func (r restartRun) StartedText() string { return r.Started.UTC().Format("15:04:05 UTC") }

// TookText is how long it took, for the pool page.
func (r restartRun) TookText() string {
	return r.Finished.Sub(r.Started).Round(100 * time.Millisecond).String()
}

func newRestarter(now func() time.Time) *restarter { return &restarter{now: now} }

// start runs restart in the background within timeout, unless one is running
// or the console stopped; it reports whether it started.
func (r *restarter) start(ctx context.Context, target, by string, timeout time.Duration, restart func(ctx context.Context) error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || (r.last != nil && r.last.Running()) {
		return false
	}
	run := &restartRun{Target: target, By: by, Started: r.now()}
	r.last = run
	ctx, cancel := context.WithTimeout(ctx, timeout)
	r.cancel = cancel
	r.wg.Go(func() {
		defer cancel()
		err := restart(ctx)
		r.mu.Lock()
		defer r.mu.Unlock()
		run.Finished = r.now()
		if err != nil {
			run.Err = err.Error()
		}
	})
	return true
}

// status returns a copy of the latest restart, or nil when there was none.
func (r *restarter) status() *restartRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return nil
	}
	run := *r.last
	return &run
}

// stop refuses new restarts, cancels a running one and waits for it within ctx.
func (r *restarter) stop(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	running := r.last != nil && r.last.Running()
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
	if !running {
		// Its goroutine is returning, if it has not: nothing to report even
		// when ctx has already expired.
		r.wg.Wait()
		return nil
	}
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("adminui: a console restart is still running: %w", ctx.Err())
	}
}
