package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Defaults for the zero values of HealthConfig.
const (
	HealthIntervalDefault = time.Second
	HealthTimeoutDefault  = time.Second
)

// HealthConfig configures a HealthWatcher. Zero values take defaults.
type HealthConfig struct {
	// Interval is the time between pings; HealthIntervalDefault if zero.
	Interval time.Duration
	// Timeout bounds one ping; HealthTimeoutDefault if zero. A Redis that
	// takes longer to answer counts as down.
	Timeout time.Duration
	// Logger receives one line per change of health, with the fields
	// metric=health.redis and healthy=true|false (REFERENCE §7); silent if
	// nil.
	Logger hclog.Logger
	// OnChange, if set, is called with the new health after each change, in
	// the watcher's goroutine (e.g. to set a gauge). It must not block.
	OnChange func(healthy bool)
}

// HealthWatcher is a background duty that pings Redis every Interval and
// reports each change of its health, once: a log line, OnChange, and Healthy.
// go-redis reconnects by itself on the next command once Redis is back; the
// watcher only observes, so a long outage costs one ping per Interval.
type HealthWatcher struct {
	store *RedisStore
	cfg   HealthConfig

	healthy atomic.Bool
	known   bool // a ping has been judged; only the loop goroutine touches it

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewHealthWatcher returns a HealthWatcher for s; Start starts it. A bad cfg
// is reported by Start.
func NewHealthWatcher(s *RedisStore, cfg HealthConfig) *HealthWatcher {
	cfg.Interval = cmp.Or(cfg.Interval, HealthIntervalDefault)
	cfg.Timeout = cmp.Or(cfg.Timeout, HealthTimeoutDefault)
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &HealthWatcher{store: s, cfg: cfg}
}

// Healthy reports whether the last ping succeeded; false before the first.
func (h *HealthWatcher) Healthy() bool { return h.healthy.Load() }

// Start starts the watcher's goroutine, which pings at once and then every
// Interval until ctx is done or Stop is called. It returns at once; an error
// means a nil store, a negative Interval or Timeout, or a second Start.
func (h *HealthWatcher) Start(ctx context.Context) error {
	if h.store == nil {
		return errors.New("store: health watcher has no store")
	}
	if h.cfg.Interval < 0 || h.cfg.Timeout < 0 {
		return fmt.Errorf("store: HealthConfig.Interval %s and Timeout %s must be > 0 (or 0 for the defaults)",
			h.cfg.Interval, h.cfg.Timeout)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started {
		return errors.New("store: health watcher already started")
	}
	ctx, h.cancel = context.WithCancel(ctx)
	h.done = make(chan struct{})
	h.started = true
	go h.loop(ctx, h.done)
	return nil
}

// Stop stops the watcher and waits for its goroutine to end. It is safe to
// call before Start, more than once, and from several goroutines.
func (h *HealthWatcher) Stop() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (h *HealthWatcher) loop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	ticker := time.NewTicker(h.cfg.Interval)
	defer ticker.Stop()
	for {
		h.runOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// runOnce pings Redis and reports a change of health. It returns the ping's
// error. A ping cut short by ctx ending says nothing about Redis.
func (h *HealthWatcher) runOnce(ctx context.Context) error {
	pingCtx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	err := h.store.Ping(pingCtx)
	if ctx.Err() != nil {
		return err
	}
	healthy := err == nil
	if h.known && healthy == h.healthy.Load() {
		return err
	}
	h.known = true
	h.healthy.Store(healthy)
	fields := []any{"metric", "health.redis", "healthy", healthy}
	if healthy {
		h.cfg.Logger.Info("redis is reachable", fields...)
	} else {
		h.cfg.Logger.Error("redis is unreachable; retrying", append(fields, "error", err)...)
	}
	if h.cfg.OnChange != nil {
		h.cfg.OnChange(healthy)
	}
	return err
}
