package adminui

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pool"
)

// sampler is the console's one background duty: every interval it gathers the
// service's metrics and the pool's state into a fixed-size history (the last
// hour), which the overview charts. Each instance keeps its own, so the charts
// are this instance's view (the queue numbers excepted: they are the store's).
type sampler struct {
	gatherer prometheus.Gatherer // nil: no metrics, empty charts
	pool     PoolAdmin           // nil: no pool breakers
	interval time.Duration
	now      func() time.Time
	log      hclog.Logger
	slots    *slotTracker

	mu      sync.Mutex // guards the fields below
	hist    *history
	prev    *reading
	prevAt  time.Time
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

func newSampler(g prometheus.Gatherer, p PoolAdmin, interval time.Duration, size int, now func() time.Time, log hclog.Logger) *sampler {
	return &sampler{gatherer: g, pool: p, interval: interval, now: now, log: log,
		slots: newSlotTracker(), hist: newHistory(size)}
}

// Start takes a first sample at once, then one every interval until Stop or
// until ctx ends. It fails when called twice or after Stop.
func (s *sampler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil || s.stopped {
		return errors.New("adminui: sampler started twice or after Stop")
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
	return nil
}

// Stop ends the loop and waits for it. It is safe before Start and twice.
func (s *sampler) Stop() {
	s.mu.Lock()
	s.stopped = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (s *sampler) loop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	ticker := time.NewTicker(s.interval)
	defer ticker.Stop()
	for {
		if _, err := s.runOnce(ctx); err != nil {
			s.log.Debug("console sample incomplete", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// runOnce gathers one sample and adds it to the history. A failed gather (Redis
// unreachable at scrape time) still records what it could read.
func (s *sampler) runOnce(_ context.Context) (sample, error) {
	rd, err := gather(s.gatherer)
	at := s.now()
	smp := sample{At: at, Completed: math.NaN(), Failed: math.NaN(), P50: math.NaN(), P95: math.NaN(), P99: math.NaN(),
		EmbedRatio: math.NaN(), Depth: rd.depth, EmbedBreaker: rd.embedBreaker,
		PoolBreaker: math.NaN(), ProcessBreaker: math.NaN()}
	if s.pool != nil {
		st := s.pool.Status()
		s.slots.observe(st)
		smp.PoolBreaker, smp.ProcessBreaker = breakers(st)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.prev; prev != nil {
		elapsed := at.Sub(s.prevAt)
		smp.Completed = rate(prev.completed, rd.completed, elapsed)
		smp.Failed = rate(prev.failed, rd.failed, elapsed)
		smp.P50 = quantile(.50, prev.latency, rd.latency)
		smp.P95 = quantile(.95, prev.latency, rd.latency)
		smp.P99 = quantile(.99, prev.latency, rd.latency)
		smp.EmbedRatio = ratio(rd.embedUpserted-prev.embedUpserted, rd.embedFailed-prev.embedFailed)
	}
	s.prev, s.prevAt = rd, at
	s.hist.add(smp)
	return smp, err
}

// samples returns the history, oldest first.
func (s *sampler) samples() []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hist.all()
}

// breakers reads the pool-wide breaker and the worst process breaker.
func breakers(st pool.Status) (poolState, worstProcess float64) {
	worstProcess = math.NaN()
	for _, p := range st.Processes {
		v := metrics.BreakerValue(p.Breaker)
		if math.IsNaN(worstProcess) || v > worstProcess {
			worstProcess = v
		}
	}
	return metrics.BreakerValue(st.Circuit), worstProcess
}

// slotTracker counts, per pool slot, how often this console saw its process
// replaced (a new pid). The pool counts restarts by reason only, so this is
// the console's own count, from the samples and the pages it served.
type slotTracker struct {
	mu    sync.Mutex
	slots map[int]*slotState
}

type slotState struct {
	pid          int
	started      time.Time
	replacements int
}

func newSlotTracker() *slotTracker { return &slotTracker{slots: map[int]*slotState{}} }

// observe notes the newest process of each slot.
func (t *slotTracker) observe(st pool.Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range st.Processes {
		s, ok := t.slots[p.ID]
		switch {
		case !ok:
			t.slots[p.ID] = &slotState{pid: p.PID, started: p.StartedAt}
		case p.PID != s.pid && p.StartedAt.After(s.started):
			s.pid, s.started = p.PID, p.StartedAt
			s.replacements++
		}
	}
}

// replacements is how many replacements of slot this console saw.
func (t *slotTracker) replacements(slot int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.slots[slot]; ok {
		return s.replacements
	}
	return 0
}
