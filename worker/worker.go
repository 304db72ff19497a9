// Package worker runs jobs: it leases a job from the store, enriches the candidate
// on the plugin pool, and completes or fails the job with a result or an error code.
//
// A job's life: lease → build the candidate from the job → pool.Enrich → complete.
// While a job runs, its lease is renewed; if the lease is lost (another instance
// reclaimed it), the job's work is cancelled and its outcome is not written.
package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
)

// Defaults for Config fields left zero.
const (
	ConcurrencyDefault       = 2
	JobTimeoutDefault        = 180 * time.Second
	HeartbeatIntervalDefault = 3 * time.Second
	IdleWaitDefault          = time.Second
	BatchSizeDefault         = 16
)

// Store is what a Runner needs of the job store (*store.RedisStore).
type Store interface {
	Lease(ctx context.Context) (*store.Lease, error)
	WaitForWork(ctx context.Context, timeout time.Duration) error
	Heartbeat(ctx context.Context, l *store.Lease) error
	Complete(ctx context.Context, l *store.Lease, result json.RawMessage) error
	Fail(ctx context.Context, l *store.Lease, jerr store.JobError) (requeued bool, err error)
	Release(ctx context.Context, l *store.Lease) error
	// DeferForRateLimit gives a job back uncharged to wait for the LLM's rate
	// limit out of its worker slot (llm.go).
	DeferForRateLimit(ctx context.Context, l *store.Lease, d store.RateLimitDeferral) error
	SaveCheckpoint(ctx context.Context, l *store.Lease, checkpoint json.RawMessage) error
	// The batch path's calls: many jobs' Redis work in one round trip each.
	LeaseBatch(ctx context.Context, n int) ([]*store.Lease, error)
	HeartbeatMany(ctx context.Context, leases []*store.Lease) (lost []*store.Lease, err error)
	EndMany(ctx context.Context, endings []store.Ending) []store.Ended
	AddTokenUsage(ctx context.Context, jobID string, u store.TokenUsage) error
}

// Enricher is what a Runner needs of the plugin pool (*pool.Pool).
type Enricher interface {
	Enrich(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error)
	EnrichBatch(ctx context.Context, req *enrichv1.EnrichBatchRequest) (*enrichv1.EnrichBatchResponse, error)
	// EnrichSplit enriches one item of a batch whose process died under it.
	EnrichSplit(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error)
}

// Config configures a Runner.
type Config struct {
	// Concurrency is how many jobs run at once in this instance (ENRICH_CONCURRENCY).
	// Default 2.
	Concurrency int
	// JobTimeout is the deadline of one enrichment call (ENRICH_JOB_TIMEOUT_MS).
	// Default 180 s.
	JobTimeout time.Duration
	// HeartbeatInterval is how often a running job's lease is renewed. It must be well
	// under the store's lease duration. Default 3 s.
	HeartbeatInterval time.Duration
	// IdleWait bounds one blocking wait for new work. Wake-ups normally come at once;
	// this only caps how long a missed wake-up could delay a job. Default 1 s.
	IdleWait time.Duration
	// BatchSize is the most jobs one EnrichBatch call carries (ENRICH_BATCH_SIZE).
	// Batches form only while every slot is busy; 1 turns batching off. Default 16.
	BatchSize int
	// SkipCheckpoint says the enricher is deterministic and cheap (the rules, a "cpu"
	// workload): running it again on a retry costs less than saving its output on
	// every job, so no checkpoint is saved. Leave it false for an LLM enricher.
	SkipCheckpoint bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives job outcomes. Default hclog's default.
	Logger hclog.Logger
	// Metrics counts job outcomes and phase durations. Optional.
	Metrics *metrics.Metrics
	// Candidates loads candidate documents and stores enrichments (Firestore).
	// Optional: without it the request's payload is the whole candidate.
	Candidates CandidateStore
	// Embedder upserts embeddings. Optional: without it every job records
	// embeddingSkippedReason "embedding_disabled".
	Embedder Embedder
	// LLM is the remote model's side (llm.go): the shared rate limit, the result
	// cache, prices. Its zero value turns all of it off.
	LLM LLMConfig
}

func (c Config) withDefaults() Config {
	c.Concurrency = cmp.Or(c.Concurrency, ConcurrencyDefault)
	c.JobTimeout = cmp.Or(c.JobTimeout, JobTimeoutDefault)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, HeartbeatIntervalDefault)
	c.IdleWait = cmp.Or(c.IdleWait, IdleWaitDefault)
	c.BatchSize = cmp.Or(c.BatchSize, BatchSizeDefault)
	c.LLM.RateLimitMaxWait = cmp.Or(c.LLM.RateLimitMaxWait, RateLimitMaxWaitDefault)
	c.LLM.RateLimitHold = cmp.Or(c.LLM.RateLimitHold, RateLimitHoldDefault)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = hclog.Default()
	}
	return c
}

func (c Config) validate() error {
	if c.Concurrency < 1 || c.JobTimeout <= 0 || c.HeartbeatInterval <= 0 || c.IdleWait <= 0 || c.BatchSize < 1 {
		return fmt.Errorf("worker: Concurrency, JobTimeout, HeartbeatInterval, IdleWait and BatchSize must be positive: %+v", c)
	}
	return nil
}

// Runner leases and runs jobs until stopped.
type Runner struct {
	cfg      Config
	store    Store
	enricher Enricher
	log      hclog.Logger

	mu      sync.Mutex
	started bool
	stopped bool
	// stopLeasing ends the fetch loop; cancelJobs ends the jobs still running when the
	// caller's Stop deadline passes.
	stopLeasing context.CancelFunc
	cancelJobs  context.CancelFunc
	fetchDone   chan struct{}
	jobs        sync.WaitGroup
	running     atomic.Int64 // jobs between their lease and their outcome
	// limitTurn lets one job at a time ask the shared rate limit (llm.go).
	limitTurn chan struct{}
	// limitSeats bounds the jobs leased ahead of the rate limit (limitseats.go).
	limitSeats *limitSeats
}

// New returns a Runner that has not started.
func New(s Store, e Enricher, cfg Config) (*Runner, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, store: s, enricher: e, log: cfg.Logger.Named("worker"), limitTurn: make(chan struct{}, 1)}
	if cfg.LLM.RateLimiter != nil {
		r.limitSeats = newLimitSeats(cfg.LLM.MaxAheadOfLimit)
	}
	return r, nil
}

// Start begins leasing jobs in the background. It returns at once. Calling it again,
// or after Stop, does nothing.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return nil
	}
	r.started = true
	// Jobs get their own context, detached from ctx's cancellation: stopping the intake
	// must not abort work in progress (Stop decides when that happens).
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	leaseCtx, stopLeasing := context.WithCancel(ctx)
	r.cancelJobs, r.stopLeasing = cancelJobs, stopLeasing
	r.fetchDone = make(chan struct{})
	go r.fetchLoop(leaseCtx, jobCtx)
	return nil
}

// Stop stops leasing new jobs, then waits for the running ones to finish. When ctx
// ends first, the running jobs are cancelled (their leases expire or are failed
// back to the queue, so none is lost) and Stop returns ctx's error. Safe to call
// before Start and more than once.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	if !r.started || r.stopped {
		r.stopped = true
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	r.mu.Unlock()

	r.stopLeasing()
	<-r.fetchDone
	done := make(chan struct{})
	go func() { r.jobs.Wait(); close(done) }()
	select {
	case <-done:
		r.cancelJobs()
		return nil
	case <-ctx.Done():
	}
	// ctx may have expired before Stop began, with every job already ended: that
	// is no cancellation to report.
	running := r.running.Load()
	r.cancelJobs()
	<-done
	if running == 0 {
		return nil
	}
	return fmt.Errorf("worker: %d jobs cancelled at stop: %w", running, ctx.Err())
}

// fetchLoop leases a job whenever a slot is free and runs it in its own goroutine.
func (r *Runner) fetchLoop(leaseCtx, jobCtx context.Context) {
	defer close(r.fetchDone)
	slots := make(chan struct{}, r.cfg.Concurrency)
	for {
		select {
		case slots <- struct{}{}:
		case <-leaseCtx.Done():
			return
		}
		if !r.limitSeats.take(leaseCtx) {
			<-slots
			return
		}
		seat := r.limitSeats.seat()
		lease, err := r.store.Lease(leaseCtx)
		if err != nil || lease == nil {
			seat.release()
			<-slots
			r.idle(leaseCtx, err)
			continue
		}
		var batch []*store.Lease
		if len(slots) == cap(slots) && r.cfg.BatchSize > 1 {
			batch = append([]*store.Lease{lease}, r.leaseMore(leaseCtx, r.cfg.BatchSize-1)...)
		}
		r.jobs.Add(1)
		leased := int64(max(1, len(batch)))
		r.running.Add(leased)
		go func() {
			defer r.jobs.Done()
			defer r.running.Add(-leased)
			defer func() { <-slots }()
			defer seat.release() // a batch does not wait for the limit
			if len(batch) > 1 {
				r.runBatch(jobCtx, batch)
			} else {
				r.runJob(jobCtx, lease, seat)
			}
		}()
	}
}

// idle waits for work after an empty queue, or backs off after a store error.
func (r *Runner) idle(ctx context.Context, leaseErr error) {
	if leaseErr == nil {
		leaseErr = r.store.WaitForWork(ctx, r.cfg.IdleWait)
	}
	if leaseErr == nil || ctx.Err() != nil {
		return
	}
	// Redis is down or failing: wait before trying again rather than spinning. The
	// store's health watcher logs the outage once (metric=health.redis); this line
	// would repeat every IdleWait, so it stays at debug.
	r.log.Debug("leasing jobs failed", "error", leaseErr, "retry_in", r.cfg.IdleWait)
	select {
	case <-time.After(r.cfg.IdleWait):
	case <-ctx.Done():
	}
}

// RunOnce leases one job and runs it to its end in the caller's goroutine. It
// reports whether there was a job. Tests and batch tools use it; the Runner itself
// uses Start.
func (r *Runner) RunOnce(ctx context.Context) (bool, error) {
	lease, err := r.store.Lease(ctx)
	if err != nil || lease == nil {
		return false, err
	}
	r.runJob(ctx, lease, nil)
	return true, nil
}

// errorFor is how a job failure is reported and stored.
func errorFor(err error) store.JobError {
	var jerr *jobError
	if errors.As(err, &jerr) {
		return store.JobError{Code: jerr.code, Message: jerr.message, Retryable: jerr.retryable}
	}
	return classify(err)
}
