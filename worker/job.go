package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/store"
)

// Error codes stored on failed jobs, beyond the plugin's own reasons
// (pyplugin.Reason values such as invalid_candidate or upstream_rate_limited).
const (
	CodeCandidateNotFound = "candidate_not_found"
	CodeTenantMismatch    = "tenant_mismatch"
	CodeInvalidCandidate  = "invalid_candidate"
	CodeFirestoreRead     = "firestore_unavailable"
	CodeFirestoreWrite    = "firestore_write_failed"
	CodePythonTimeout     = "python_timeout"
	CodeUpstreamTimeout   = "upstream_timeout"
	CodePythonCrashed     = "python_crashed"
	CodePythonError       = "python_error"
	CodeBadEnrichment     = "python_bad_output"
	CodeShutdown          = "shutdown"
	CodePoolExhausted     = "pool_exhausted"
	CodeCircuitOpen       = "python_circuit_open"
)

// Result is what a completed job stores (REFERENCE §4's result fields, plus the
// embed error category the reference never recorded, W16).
type Result struct {
	ProcessingTimeSeconds float64 `json:"processingTimeSeconds"`
	// CandidateSnapshot is the enriched candidate, written from the candidate's and
	// the plugin's JSON without decoding them (enrichedSnapshot).
	CandidateSnapshot      json.RawMessage     `json:"candidateSnapshot"`
	EmbeddingUpserted      bool                `json:"embeddingUpserted"`
	EmbeddingSkippedReason embed.SkipReason    `json:"embeddingSkippedReason,omitempty"`
	EmbeddingErrorCategory embed.ErrorCategory `json:"embeddingErrorCategory,omitempty"`
	ModelVersion           string              `json:"modelVersion"`
	PromptVersion          string              `json:"promptVersion"`
	Enricher               string              `json:"enricher"`
	PhaseDurationsMs       PhaseDurations      `json:"phaseDurationsMs"`
	Attempts               int                 `json:"attempts"`
	QueueDurationMs        float64             `json:"queueDurationMs"`
	// TokenUsage is what the LLM billed for this enrichment (zeros on a cache hit;
	// absent for the rules enricher), with its cost when prices are set.
	TokenUsage *TokenUsage `json:"tokenUsage,omitempty"`
	// CacheHit says the enrichment came from the result cache: no LLM call.
	CacheHit bool `json:"cacheHit"`
	// RateLimited counts the 429s this lease met (each waited, none failed it).
	RateLimited int `json:"rateLimited,omitempty"`
}

// PhaseDurations are milliseconds spent in each phase of the successful attempt.
// Total runs from lease to completion; Queue is not part of it.
type PhaseDurations struct {
	Queue     float64 `json:"queue"`
	Load      float64 `json:"load"`
	Python    float64 `json:"python"`
	Firestore float64 `json:"firestore"`
	Embed     float64 `json:"embed"`
	// RateLimit is the time waited for the account's shared rate limit: this
	// lease's waits in its slot (within the python phase's span, and not counted in
	// Python), plus, for a job deferred for the limit, its earlier leases' waits and
	// the deferrals themselves (before this lease, and taken out of Queue).
	RateLimit float64 `json:"rateLimit"`
	Total     float64 `json:"total"`
}

// durations are the phases as the metrics package takes them.
func (p PhaseDurations) durations() map[string]time.Duration {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	return map[string]time.Duration{"queue": ms(p.Queue), "load": ms(p.Load), "python": ms(p.Python),
		"firestore": ms(p.Firestore), "embed": ms(p.Embed), "rate_limit": ms(p.RateLimit), "total": ms(p.Total)}
}

// jobError is a failure the worker decided on itself, with its code.
type jobError struct {
	code      string
	message   string
	retryable bool
}

func (e *jobError) Error() string { return e.code + ": " + e.message }

// runJob runs one leased job to its end and records the outcome.
// seat, when not nil, is its place ahead of the rate limit, given back at the
// latest when the job ends.
func (r *Runner) runJob(ctx context.Context, lease *store.Lease, seat *limitSeat) {
	defer seat.release()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopHeartbeat := r.heartbeat(ctx, cancel, lease)
	result, err := r.process(ctx, lease, seat)
	cancel()
	stopHeartbeat()
	r.record(context.WithoutCancel(ctx), lease, result, err)
}

// heartbeat renews lease in the background until the returned stop is called. A
// lost lease calls cancelJob.
func (r *Runner) heartbeat(ctx context.Context, cancelJob context.CancelFunc, lease *store.Lease) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.keepLease(ctx, cancelJob, lease)
	}()
	return func() {
		cancel()
		<-done
	}
}

// keepLease renews the lease until ctx ends. A lost lease cancels the job: another
// worker owns it now, and this one must not write its outcome.
func (r *Runner) keepLease(ctx context.Context, cancelJob context.CancelFunc, lease *store.Lease) {
	ticker := time.NewTicker(r.cfg.HeartbeatInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		err := r.store.Heartbeat(ctx, lease)
		if errors.Is(err, store.ErrLeaseLost) {
			r.log.Warn("lease lost; abandoning job", "job_id", lease.Job.ID)
			cancelJob()
			return
		}
		if err != nil && ctx.Err() == nil {
			r.log.Warn("lease renewal failed", "job_id", lease.Job.ID, "error", err)
		}
	}
}

func (r *Runner) process(ctx context.Context, lease *store.Lease, seat *limitSeat) (*Result, error) {
	a, err := r.prepare(ctx, lease)
	if err != nil {
		return nil, err
	}
	a.seat = seat
	defer a.awaitSideWrites() // the job's outcome is recorded only once they landed
	resp, ok := a.checkpointed()
	if ok {
		return r.finish(ctx, a, resp)
	}
	if resp, err = r.enrichRemote(ctx, a); err != nil {
		return nil, err
	}
	save, err := r.prepareCheckpoint(a, resp)
	if err != nil {
		return nil, err
	}
	// The checkpoint is a side write: its round trip overlaps the downstream
	// writes instead of delaying them. A failed downstream write still finds it
	// saved before the job goes back for a retry (awaitSideWrites).
	var saveErr error
	if save != nil {
		a.sideWrites.Go(func() { saveErr = save(ctx) })
	}
	result, err := r.finish(ctx, a, resp)
	a.awaitSideWrites()
	if saveErr != nil { // the lease is lost: another worker owns the job
		return nil, saveErr
	}
	return result, err
}

// record writes the job's outcome. It runs on a context that outlives the job's
// cancellation, so a job cancelled at shutdown still goes back to the queue.
func (r *Runner) record(ctx context.Context, lease *store.Lease, result *Result, runErr error) {
	job := lease.Job
	if runErr == nil {
		raw, err := encodeResult(result)
		if err == nil {
			err = r.store.Complete(ctx, lease, raw)
		}
		r.noteCompleted(job, result, err)
		return
	}
	var d *deferral
	if errors.As(runErr, &d) {
		r.deferForRateLimit(ctx, lease, d.RateLimitDeferral)
		return
	}
	jerr := errorFor(runErr)
	if releasesWithoutCharge(jerr.Code) {
		// Shutdown, an open circuit or a full pool: the job did nothing wrong, so it
		// goes back to the front of its queue without using up an attempt (W16).
		err := r.store.Release(ctx, lease)
		r.logOutcome(job, "released", err, "code", jerr.Code)
		return
	}
	requeued, err := r.store.Fail(ctx, lease, jerr)
	r.noteFailed(job, jerr, requeued, err)
}

// encodeResult is the JSON the store keeps as the job's result. The snapshot goes
// in as it is: encoding/json would scan and compact its bytes once more on the
// way out (it checks every json.RawMessage), and they are valid JSON by
// construction (members.encode of checked members). The field order is
// Result's, as before.
func encodeResult(result *Result) ([]byte, error) {
	rest := *result
	rest.CandidateSnapshot = json.RawMessage("0")
	raw, err := json.Marshal(&rest)
	if err != nil {
		return nil, err
	}
	at := bytes.Index(raw, snapshotPlaceholder)
	if at < 0 {
		return nil, errors.New("worker: the result's snapshot placeholder is missing")
	}
	at += len(snapshotPlaceholder) - 1 // at the placeholder's 0
	snapshot := result.CandidateSnapshot
	if snapshot == nil {
		snapshot = json.RawMessage("null")
	}
	out := make([]byte, 0, len(raw)+len(snapshot))
	out = append(out, raw[:at]...)
	out = append(out, snapshot...)
	return append(out, raw[at+1:]...), nil
}

// snapshotPlaceholder is the snapshot's member as encodeResult first writes it.
var snapshotPlaceholder = []byte(`"candidateSnapshot":0`)

// noteCompleted counts and logs a completion the store took (storeErr nil) or refused.
func (r *Runner) noteCompleted(job *store.Job, result *Result, storeErr error) {
	if storeErr == nil {
		r.cfg.Metrics.JobCompleted(job.TenantID, result.PhaseDurationsMs.durations())
		r.cfg.Metrics.Log(metrics.LogJobCompleted, "job_id", job.ID, "tenant_id", job.TenantID,
			"attempts", job.Attempts, "phase_durations_ms", result.PhaseDurationsMs)
	}
	r.logOutcome(job, "completed", storeErr, "total_ms", result.PhaseDurationsMs.Total)
}

// noteFailed counts and logs a failure the store took (storeErr nil) or refused.
func (r *Runner) noteFailed(job *store.Job, jerr store.JobError, requeued bool, storeErr error) {
	outcome := "failed"
	if requeued {
		outcome = "requeued"
	}
	if storeErr == nil {
		r.cfg.Metrics.JobFailed(job.TenantID, jerr.Code, requeued)
		r.cfg.Metrics.Log(metrics.LogJobFailed, "job_id", job.ID, "tenant_id", job.TenantID,
			"code", jerr.Code, "retryable", jerr.Retryable, "requeued", requeued, "attempts", job.Attempts)
	}
	r.logOutcome(job, outcome, storeErr, "code", jerr.Code, "message", jerr.Message)
}

func (r *Runner) logOutcome(job *store.Job, outcome string, storeErr error, fields ...any) {
	fields = append([]any{"job_id", job.ID, "tenant_id", job.TenantID, "attempt", job.Attempts, "outcome", outcome}, fields...)
	switch {
	case errors.Is(storeErr, store.ErrLeaseLost):
		r.log.Warn("job outcome dropped: lease lost to another worker", fields...)
	case storeErr != nil:
		r.log.Error("recording job outcome failed; its lease will expire and it will run again",
			append(fields, "error", storeErr)...)
	case outcome == "completed":
		r.log.Debug("job completed", fields...)
	default:
		r.log.Info("job "+outcome, fields...)
	}
}

// releasesWithoutCharge lists the codes of interruptions that are no fault of the job.
func releasesWithoutCharge(code string) bool {
	return code == CodeShutdown || code == CodeCircuitOpen || code == CodePoolExhausted
}

// classify maps an enrichment error to the job's error code and retry decision.
func classify(err error) store.JobError {
	var perr *pyplugin.Error
	switch {
	case errors.As(err, &perr):
		code := string(perr.Reason)
		switch {
		case perr.Reason == pyplugin.ReasonTimeout && perr.DeadlinePassed:
			code = CodePythonTimeout // the process missed the call's deadline
		case perr.Reason == pyplugin.ReasonTimeout:
			code = CodeUpstreamTimeout // the plugin gave up on a slow LLM provider
		case perr.Reason == pyplugin.ReasonInternal:
			code = CodePythonError
		}
		return store.JobError{Code: code, Message: perr.Message, Retryable: perr.Retryable, RetryAfter: perr.RetryAfter}
	case errors.Is(err, pool.ErrPoison):
		// The job killed two processes it ran alone on: running it again would only
		// kill more. It goes to the dead letters.
		return store.JobError{Code: CodePythonCrashed, Message: err.Error(), Retryable: false}
	case errors.Is(err, pyplugin.ErrProcessGone):
		return store.JobError{Code: CodePythonCrashed, Message: err.Error(), Retryable: true}
	case errors.Is(err, pool.ErrCircuitOpen):
		// The pool-wide breaker stayed open through this attempt's wait: back to the
		// queue, never a permanent failure (REFERENCE W16).
		return store.JobError{Code: CodeCircuitOpen, Message: err.Error(), Retryable: true}
	case errors.Is(err, pool.ErrExhausted):
		return store.JobError{Code: CodePoolExhausted, Message: err.Error(), Retryable: true}
	case errors.Is(err, pool.ErrClosed), errors.Is(err, context.Canceled):
		// Shutdown or a lost lease interrupted the job; it did nothing wrong.
		return store.JobError{Code: CodeShutdown, Message: err.Error(), Retryable: true}
	case errors.Is(err, context.DeadlineExceeded):
		return store.JobError{Code: CodePythonTimeout, Message: err.Error(), Retryable: true}
	default:
		return store.JobError{Code: CodePythonError, Message: fmt.Sprint(err), Retryable: true}
	}
}

func millis(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func round(v float64, places int) float64 {
	scale := math.Pow(10, float64(places))
	return math.Round(v*scale) / scale
}
