package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
)

// CodeUpstreamRateLimited fails a job that waited for the account's rate limit for
// longer than LLMConfig.RateLimitMaxWait (counted from its first wait, across
// deferrals): a sustained outage, not a passing 429.
const CodeUpstreamRateLimited = string(pyplugin.ReasonUpstreamRateLimited)

// Defaults for LLMConfig fields left zero.
const (
	RateLimitMaxWaitDefault = 10 * time.Minute
	// RateLimitHoldDefault is the longest wait for the limit a job spends in its
	// worker slot. Deferring costs two round trips and the job's load again, more
	// than a wait this short; a 60 s Retry-After held in slots would stop everything.
	RateLimitHoldDefault = 2 * time.Second
	// RateLimitPauseDefault is how long a 429 without Retry-After holds every instance.
	RateLimitPauseDefault = time.Second
)

// RateLimiter is the LLM account's limit shared by every instance (*store.RateLimiter).
type RateLimiter interface {
	// Reserve takes a call's share, or says how long to wait before asking again.
	Reserve(ctx context.Context) (time.Duration, error)
	// Pause holds every instance's calls for d.
	Pause(ctx context.Context, d time.Duration) error
	// ObserveTokens learns what calls cost from an answer.
	ObserveTokens(tokens int64)
}

// ResultCache keeps enrichments by content (*store.ResultCache).
type ResultCache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Put(ctx context.Context, key string, value []byte) error
}

// LLMConfig is the remote model's side of running a job. Its zero value turns all
// of it off, as for the local rules enricher.
type LLMConfig struct {
	// RateLimiter, when set, is asked before every call; a 429 pauses it for every
	// instance and the call waits its turn again, without failing the job.
	RateLimiter RateLimiter
	// RateLimitMaxWait bounds an attempt's waiting for the limit, counted from when
	// it first waited (kept in the job across deferrals, so they cannot extend it);
	// then the job fails upstream_rate_limited for good
	// (ENRICH_RATE_LIMIT_MAX_WAIT_MS). Default 10 min.
	RateLimitMaxWait time.Duration
	// MaxAheadOfLimit bounds the jobs of this instance between their lease and
	// their turn at the rate limit; more stay queued in Redis (limitseats.go). The
	// service sets it to RateLimitHold's worth of the account's calls, so no job
	// waits in its slot much longer than that. 0 bounds nothing.
	MaxAheadOfLimit int
	// RateLimitHold is the longest wait for the limit a job spends in its worker
	// slot (ENRICH_RATE_LIMIT_HOLD_MS). A longer wait defers the job: it goes back
	// to the store's delayed set until the wait is over, uncharged, and the slot
	// runs other work (cache hits, checkpointed jobs) meanwhile. Default 2 s.
	RateLimitHold time.Duration
	// Cache, when set, is asked before the call by the hash of what the prompt reads
	// and CacheVersion; force (priority 1) bypasses it.
	Cache ResultCache
	// CacheVersion names the enricher, model and prompt version; a change of any of
	// them makes every entry miss.
	CacheVersion string
	// Prices turn token usage into cost on the result and in metrics.
	Prices metrics.Prices
	// Metrics counts tokens, cost, cache outcomes and rate-limit waits. Optional.
	Metrics *metrics.LLMMetrics
}

// promptFields are the candidate fields the Together prompt reads
// (cloud_run_worker/together_prompt.py, build_messages; the name is not sent): the cache key hashes
// these and nothing else, so a rerun over an enriched document (whose other fields
// changed) still hits.
var promptFields = []string{"resume_text", "recruiter_comments"}

// TokenUsage is what the LLM billed for the job's enrichment.
type TokenUsage struct {
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	TotalTokens      int64   `json:"totalTokens"`
	Cost             float64 `json:"cost,omitempty"`
}

// enrichRemote is one job's enrichment: from the cache, or a call within the
// account's rate limit (stored in the cache when it succeeds).
func (r *Runner) enrichRemote(ctx context.Context, a *attempt) (*enrichv1.EnrichResponse, error) {
	llm := r.cfg.LLM
	key := ""
	if llm.Cache != nil {
		candidate, err := a.document()
		if err != nil {
			return nil, err
		}
		key = cacheKey(candidate, a.lease.Job.TenantID, llm.CacheVersion)
		if resp := r.cached(ctx, a, key); resp != nil {
			return resp, nil
		}
	}
	resp, err := r.callWithinLimit(ctx, a)
	if err != nil {
		return nil, err
	}
	r.observeUsage(resp)
	r.shareProviderPause(ctx, a, resp)
	if key != "" {
		r.storeInCache(ctx, a, key, resp)
	}
	return resp, nil
}

// cacheWriteTimeout bounds one cache write, which no job waits for.
const cacheWriteTimeout = 5 * time.Second

// storeInCache writes the enrichment under key side by side with the job's own
// downstream writes (checkpoint, Firestore, embed); the job waits for it only
// before it completes (awaitSideWrites), so a completed job's rerun always hits.
func (r *Runner) storeInCache(ctx context.Context, a *attempt, key string, resp *enrichv1.EnrichResponse) {
	raw, err := protojson.Marshal(resp)
	if err != nil {
		return
	}
	a.sideWrites.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheWriteTimeout)
		defer cancel()
		if err := r.cfg.LLM.Cache.Put(ctx, key, raw); err != nil {
			r.log.Warn("storing the enrichment in the result cache failed", "job_id", a.lease.Job.ID, "error", err)
		}
	})
}

// awaitSideWrites waits for the writes the attempt made beside its phases.
func (a *attempt) awaitSideWrites() { a.sideWrites.Wait() }

// cached returns the cache's enrichment for key, or nil. A forced job, an
// unreadable entry and Redis trouble all go to the LLM instead.
func (r *Runner) cached(ctx context.Context, a *attempt, key string) *enrichv1.EnrichResponse {
	llm := r.cfg.LLM
	if a.lease.Job.Priority == 1 { // force: the caller wants a fresh enrichment
		llm.Metrics.CacheLookup("bypass")
		return nil
	}
	raw, ok, err := llm.Cache.Get(ctx, key)
	if err != nil {
		r.log.Warn("reading the result cache failed; calling the LLM", "job_id", a.lease.Job.ID, "error", err)
	}
	var resp enrichv1.EnrichResponse
	if !ok || protojson.Unmarshal(raw, &resp) != nil {
		llm.Metrics.CacheLookup("miss")
		return nil
	}
	llm.Metrics.CacheLookup("hit")
	a.cacheHit = true
	resp.TokenUsage = nil    // this job paid nothing
	resp.ProviderPauseMs = 0 // and asked the provider nothing
	return &resp
}

// cacheKey hashes what the prompt reads, the tenant (one tenant's cache never
// answers another) and the enricher's version.
func cacheKey(candidate map[string]any, tenant, version string) string {
	inputs := make(map[string]any, len(promptFields))
	for _, f := range promptFields {
		inputs[f] = candidate[f]
	}
	raw, _ := json.Marshal([]any{tenant, version, inputs}) // maps marshal in key order
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// callWithinLimit waits for the account's rate limit, then calls. A 429 pauses
// every instance and the call waits its turn again: it never fails the job, and
// charges no attempt, until the wait passes RateLimitMaxWait from the attempt's
// first wait. A wait longer than RateLimitHold ends the lease with a deferral.
func (r *Runner) callWithinLimit(ctx context.Context, a *attempt) (*enrichv1.EnrichResponse, error) {
	llm := r.cfg.LLM
	if llm.RateLimiter == nil {
		return r.callEnricher(ctx, a)
	}
	a.waitingSince = a.lease.Job.RateLimitWaitingSince
	if a.waitingSince.IsZero() {
		a.waitingSince = r.cfg.Now()
	}
	giveUp := a.waitingSince.Add(llm.RateLimitMaxWait)
	for {
		deferFor, err := r.waitForLimit(ctx, a, giveUp)
		a.seat.release() // past the limit (or out of the slot): another job may be leased
		if err != nil {
			return nil, err
		}
		if deferFor > 0 {
			return nil, &deferral{store.RateLimitDeferral{After: deferFor, Waited: a.rateLimitWait, Since: a.waitingSince}}
		}
		resp, err := r.callEnricher(ctx, a)
		var perr *pyplugin.Error
		if !errors.As(err, &perr) || perr.Reason != pyplugin.ReasonUpstreamRateLimited {
			return resp, err
		}
		llm.Metrics.RateLimited()
		a.rateLimited++
		pause := perr.RetryAfter
		if pause <= 0 {
			pause = RateLimitPauseDefault
		}
		if err := llm.RateLimiter.Pause(ctx, pause); err != nil {
			r.log.Warn("sharing a 429's pause failed", "job_id", a.lease.Job.ID, "error", err)
		}
	}
}

func (r *Runner) callEnricher(ctx context.Context, a *attempt) (*enrichv1.EnrichResponse, error) {
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.JobTimeout)
	defer cancel()
	resp, err := r.enricher.Enrich(callCtx, a.request)
	// Every call is billed, failed ones too. The count is a side write: the job's
	// next round trip (its checkpoint) need not wait behind it.
	if u := billed(resp, err); u != nil {
		a.sideWrites.Go(func() { r.addTokenUsage(ctx, a.lease.Job, u) })
		// The tokens and cost metrics count what was billed, as the job does: a
		// failed call's tokens too (counted on success only, they under-reported).
		r.cfg.LLM.Metrics.Used(a.lease.Job.TenantID, u.GetPromptTokens(), u.GetCompletionTokens())
	}
	return resp, err
}

// waitForLimit returns once the shared limit lets a call go, or, when the limit
// asks for a wait longer than RateLimitHold, how long the job should wait out of
// its slot (jittered). Callers of one instance take turns, so one of them at a
// time asks Redis, not every waiting job. Redis trouble lets the call go: the
// provider's own 429s still hold the line.
func (r *Runner) waitForLimit(ctx context.Context, a *attempt, giveUp time.Time) (deferFor time.Duration, err error) {
	started := r.cfg.Now()
	defer func() {
		waited := r.cfg.Now().Sub(started)
		a.rateLimitWait += waited
		r.cfg.LLM.Metrics.Waited(waited.Seconds())
	}()
	select {
	case r.limitTurn <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-r.limitTurn }()
	for {
		wait, err := r.cfg.LLM.RateLimiter.Reserve(ctx)
		if err != nil {
			r.log.Warn("the shared rate limit is unreachable; calling without it", "error", err)
			return 0, nil
		}
		if wait <= 0 {
			return 0, nil
		}
		if now := r.cfg.Now(); now.Add(wait).After(giveUp) {
			// Refused before the wait, not after it: say so, with the numbers.
			return 0, &jobError{code: CodeUpstreamRateLimited, message: fmt.Sprintf(
				"the LLM's rate limit asks this job to wait %s more, past ENRICH_RATE_LIMIT_MAX_WAIT_MS (%s from its first wait; %s of it left)",
				wait.Round(100*time.Millisecond), r.cfg.LLM.RateLimitMaxWait, max(0, giveUp.Sub(now)).Round(100*time.Millisecond))}
		}
		// A little jitter, so instances that share a pause, and jobs deferred by it,
		// do not all come back at once.
		jittered := wait + rand.N(wait/20+time.Millisecond)
		if wait > r.cfg.LLM.RateLimitHold {
			return jittered, nil
		}
		timer := time.NewTimer(jittered)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return 0, ctx.Err()
		}
	}
}

// deferral ends a lease whose job must wait for the rate limit longer than it may
// hold its worker slot: record gives the job back to the store's delayed set until
// the wait is over, without charging the attempt. It is neither a failure nor a
// release.
type deferral struct{ store.RateLimitDeferral }

func (d *deferral) Error() string {
	return fmt.Sprintf("waiting %s for the LLM's rate limit out of the worker slot", d.After)
}

// deferForRateLimit records a deferral: the job leaves the store's leases for its
// delayed set, and the LLM metrics count it and the wait ahead of it.
func (r *Runner) deferForRateLimit(ctx context.Context, lease *store.Lease, d store.RateLimitDeferral) {
	err := r.store.DeferForRateLimit(ctx, lease, d)
	if err == nil {
		r.cfg.LLM.Metrics.Deferred()
		r.cfg.LLM.Metrics.Waited(d.After.Seconds())
	}
	r.logOutcome(lease.Job, "deferred", err, "for_ms", millis(d.After),
		"rate_limit_wait_ms", millis(lease.Job.RateLimitWait+d.Waited+d.After), "waiting_since", d.Since)
}

// observeUsage teaches the rate limit what a call that answers costs (the
// metrics count every billed call, in callEnricher).
func (r *Runner) observeUsage(resp *enrichv1.EnrichResponse) {
	u := resp.GetTokenUsage()
	if u == nil || r.cfg.LLM.RateLimiter == nil {
		return
	}
	r.cfg.LLM.RateLimiter.ObserveTokens(u.GetTotalTokens())
}

// shareProviderPause holds every instance's calls for as long as the provider's
// answer said the account's limit stays used up (a remaining count of 0): the
// next call before then would only buy a 429. Nothing fails; calls wait their
// turn in waitForLimit. The pause is a side write: this job need not wait for it.
func (r *Runner) shareProviderPause(ctx context.Context, a *attempt, resp *enrichv1.EnrichResponse) {
	pause := time.Duration(resp.GetProviderPauseMs()) * time.Millisecond
	if pause <= 0 || r.cfg.LLM.RateLimiter == nil {
		return
	}
	a.sideWrites.Go(func() {
		if err := r.cfg.LLM.RateLimiter.Pause(context.WithoutCancel(ctx), pause); err != nil {
			r.log.Warn("sharing the provider's pause failed", "job_id", a.lease.Job.ID, "error", err)
		}
	})
}

// usageOf is the result's token usage: nil when no LLM was paid (the rules, a
// cache hit reports zeros).
func (r *Runner) usageOf(a *attempt, resp *enrichv1.EnrichResponse) *TokenUsage {
	u := resp.GetTokenUsage()
	if u == nil && !a.cacheHit {
		return nil
	}
	usage := &TokenUsage{PromptTokens: u.GetPromptTokens(), CompletionTokens: u.GetCompletionTokens(), TotalTokens: u.GetTotalTokens()}
	usage.Cost = round(r.cfg.LLM.Prices.Cost(usage.PromptTokens, usage.CompletionTokens), 6)
	return usage
}
