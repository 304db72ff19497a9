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

// reaperMaxBatches bounds the RequeueExpired calls of one run. A run goes on
// while batches come back full, so that the leases of a worker that died with
// many jobs in flight are all taken back within one interval.
const reaperMaxBatches = 20

// ReaperConfig configures a Reaper. Zero values take defaults.
type ReaperConfig struct {
	// Interval is the time between runs; ReaperIntervalDefault if zero.
	Interval time.Duration
	// Logger receives what each run took back, and its errors; silent if nil.
	Logger hclog.Logger
}

// Reaper is a background duty that takes back expired leases: every Interval
// it calls RequeueExpired on its store. Each service instance may run one.
type Reaper struct {
	store    *RedisStore
	interval time.Duration
	logger   hclog.Logger

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
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

// Start starts the reaper's goroutine, which runs once at once and then every
// Interval until ctx is done or Stop is called. It returns at once; an error
// means a nil store, a negative Interval, or a second Start.
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
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		// Running before the first tick takes back the leases of an instance
		// that died just before this one started.
		_, _ = r.runOnce(ctx) // it logs its own outcome
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// reaped is what one run took back.
type reaped struct {
	requeued, failed int
}

// runOnce calls RequeueExpired until a batch is not full, at most
// reaperMaxBatches times, and logs the outcome.
func (r *Reaper) runOnce(ctx context.Context) (reaped, error) {
	var total reaped
	for range reaperMaxBatches {
		requeued, failed, err := r.store.RequeueExpired(ctx)
		total.requeued += requeued
		total.failed += failed
		if err != nil {
			if ctx.Err() == nil {
				r.logger.Warn("requeueing expired leases failed", "error", err)
			}
			return total, err
		}
		if requeued+failed < requeueBatch {
			break
		}
	}
	if total.requeued > 0 || total.failed > 0 {
		r.logger.Info("took back expired leases", "requeued", total.requeued, "failed", total.failed)
	}
	return total, nil
}
