package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// ReaperIntervalDefault is the Reaper's default interval.
const ReaperIntervalDefault = time.Second

// reaperMaxBatches bounds the script calls of each kind in one run. A run
// goes on while batches come back full, so that the leases of a worker that
// died with many jobs in flight, or a burst of due retries, are all handled
// within one interval.
const reaperMaxBatches = 20

// ReaperConfig configures a Reaper. Zero values take defaults.
type ReaperConfig struct {
	// Interval is the longest time between runs; ReaperIntervalDefault if
	// zero. A job whose worker died runs again within the store's
	// LeaseDuration plus Interval.
	Interval time.Duration
	// Logger receives what each run took back, and errors; silent if nil.
	Logger hclog.Logger
}

// Reaper is a background duty with two jobs, each a script any number of
// instances may run at once: it takes back expired leases (RequeueExpired),
// and it makes due retries ready and wakes idle workers for them. It runs
// every Interval, and sooner when the next retry is due sooner, so an idle
// service retries on time without any worker polling. Each service instance
// runs one.
type Reaper struct {
	store    *RedisStore
	interval time.Duration
	logger   hclog.Logger

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	failing bool // the last run failed; only the loop goroutine touches it
}

// NewReaper returns a Reaper for s; Start starts it. A bad cfg is reported by
// Start.
func NewReaper(s *RedisStore, cfg ReaperConfig) *Reaper {
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Reaper{
		store:    s,
		interval: cmp.Or(cfg.Interval, ReaperIntervalDefault),
		logger:   logger,
	}
}

// Start starts the reaper's goroutine, which runs once at once and then on
// its schedule until ctx is done or Stop is called. It returns at once; an
// error means a nil store, a negative Interval, or a second Start.
func (r *Reaper) Start(ctx context.Context) error {
	if r.store == nil {
		return errors.New("store: reaper has no store")
	}
	if r.interval < 0 {
		return fmt.Errorf("store: ReaperConfig.Interval is %s, want > 0 (or 0 for the default)", r.interval)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("store: reaper already started")
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	r.started = true
	go r.loop(ctx, r.done)
	return nil
}

// Stop stops the reaper and waits for its goroutine to end. It is safe to
// call before Start, more than once, and from several goroutines.
func (r *Reaper) Stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (r *Reaper) loop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	timer := time.NewTimer(r.interval)
	defer timer.Stop()
	for {
		// Running before the first interval takes back the leases of an
		// instance that died just before this one started.
		result, _ := r.runOnce(ctx) // it logs its own outcome
		timer.Reset(r.nextRun(result))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// nextRun is how long to wait after a run: Interval, or less when a retry is
// due sooner.
func (r *Reaper) nextRun(result reaped) time.Duration {
	if result.nextDue >= 0 && result.nextDue < r.interval {
		// Redis's clock may run a little behind ours; a millisecond more
		// makes the retry due when we look.
		return result.nextDue + time.Millisecond
	}
	return r.interval
}

// reaped is what one run did.
type reaped struct {
	requeued, failed int           // expired leases taken back
	promoted         int           // due retries made ready
	nextDue          time.Duration // until the next retry is due; -1 if none waits
}

// runOnce takes back expired leases and promotes due retries, each until a
// batch is not full (at most reaperMaxBatches times), and logs the outcome.
func (r *Reaper) runOnce(ctx context.Context) (reaped, error) {
	total := reaped{nextDue: -1}
	err := r.requeueExpired(ctx, &total)
	if err == nil {
		err = r.promoteDue(ctx, &total)
	}
	r.logRun(ctx, total, err)
	return total, err
}

func (r *Reaper) requeueExpired(ctx context.Context, total *reaped) error {
	for range reaperMaxBatches {
		requeued, failed, err := r.store.RequeueExpired(ctx)
		total.requeued += requeued
		total.failed += failed
		if err != nil || requeued+failed < requeueBatch {
			return err
		}
	}
	return nil
}

func (r *Reaper) promoteDue(ctx context.Context, total *reaped) error {
	for range reaperMaxBatches {
		promoted, nextDue, err := r.store.promoteDue(ctx)
		total.promoted += promoted
		total.nextDue = nextDue
		if err != nil || promoted < promoteBatch {
			return err
		}
	}
	return nil
}

// logRun logs what a run did, and a failure once per streak of failed runs:
// while Redis is away every run fails, and HealthWatcher already reports
// that.
func (r *Reaper) logRun(ctx context.Context, total reaped, err error) {
	switch {
	case err != nil && ctx.Err() == nil && !r.failing:
		r.logger.Warn("reaper run failed; retrying every interval", "error", err, "interval", r.interval)
		r.failing = true
	case err == nil && r.failing:
		r.logger.Info("reaper runs again")
		r.failing = false
	}
	if total.requeued > 0 || total.failed > 0 {
		r.logger.Info("took back expired leases", "requeued", total.requeued, "failed", total.failed)
	}
	if total.promoted > 0 {
		r.logger.Debug("made due retries ready", "promoted", total.promoted)
	}
}
