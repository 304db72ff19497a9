package worker

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// withLimiter is a runner whose LLM path holds the account's limit in a real
// redis-server of its own.
func withLimiter(t *testing.T, maxWait time.Duration, outcomes ...error) (*testBundle, *store.RateLimiter) {
	t.Helper()
	limiter := store.NewRateLimiter(redis.NewClient(redistest.Start(t)), store.RateLimitConfig{})
	b := setupWith(t, Config{Logger: hclog.NewNullLogger(), LLM: LLMConfig{RateLimiter: limiter, RateLimitMaxWait: maxWait}}, outcomes...)
	return b, limiter
}

func TestRateLimitedJobs(t *testing.T) {
	t.Parallel()
	t.Run("A429PausesTheAccountAndTheJobCompletesOnItsFirstAttempt", func(t *testing.T) {
		t.Parallel()
		limited := &pyplugin.Error{Reason: pyplugin.ReasonUpstreamRateLimited, Retryable: true, RetryAfter: 50 * time.Millisecond}
		b, _ := withLimiter(t, time.Minute, limited, limited)
		id := b.submit(t, resumePayload)
		b.runAll(t)
		job := b.job(t, id)
		var result Result
		if err := json.Unmarshal(job.Result, &result); err != nil {
			t.Fatalf("job %s: %v", job.Status, err)
		}
		if job.Status != store.StatusCompleted || job.Attempts != 1 || result.RateLimited != 2 || result.PhaseDurationsMs.RateLimit <= 0 {
			t.Fatalf("job %s after %d attempts, %d 429s, %.1f ms waited; want completed on the first attempt after 2 429s and a wait",
				job.Status, job.Attempts, result.RateLimited, result.PhaseDurationsMs.RateLimit)
		}
	})
	t.Run("AWaitPastTheDeadlineFailsTheJobForGood", func(t *testing.T) {
		t.Parallel()
		b, limiter := withLimiter(t, time.Second)
		if err := limiter.Pause(context.Background(), time.Hour); err != nil { // a sustained outage
			t.Fatal(err)
		}
		id := b.submit(t, resumePayload)
		b.runAll(t)
		job := b.job(t, id)
		if job.Status != store.StatusFailed || job.ErrorCode != CodeUpstreamRateLimited || job.Attempts != 1 {
			t.Fatalf("job %s (%s) after %d attempts, want failed upstream_rate_limited at once", job.Status, job.ErrorCode, job.Attempts)
		}
		if b.enricher.calls != 0 {
			t.Fatalf("the enricher was called %d times during the outage", b.enricher.calls)
		}
	})
}

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// deferralSignal is the store, telling each deferral it took.
type deferralSignal struct {
	*store.RedisStore
	deferred chan string
}

func (s *deferralSignal) DeferForRateLimit(ctx context.Context, l *store.Lease, d store.RateLimitDeferral) error {
	err := s.RedisStore.DeferForRateLimit(ctx, l, d)
	if err == nil {
		s.deferred <- l.Job.ID
	}
	return err
}

// deferBundle is a one-slot runner on the LLM path as the service runs it for
// Together (no batches), with the account's limit and the result cache in a
// real redis-server of their own, and a clock the test moves.
type deferBundle struct {
	*testBundle
	signal  *deferralSignal
	clock   *testClock
	limiter *store.RateLimiter
	limits  *redis.Client
	metrics *metrics.Metrics
}

func withDeferrals(t *testing.T, maxWait time.Duration) *deferBundle {
	t.Helper()
	limits := redis.NewClient(redistest.Start(t))
	t.Cleanup(func() { limits.Close() })
	m := metrics.New(metrics.Config{Logger: hclog.NewNullLogger()})
	lm, err := metrics.NewLLMMetrics(m, metrics.Prices{})
	if err != nil {
		t.Fatal(err)
	}
	d := &deferBundle{clock: &testClock{now: time.Now()}, limiter: store.NewRateLimiter(limits, store.RateLimitConfig{}),
		limits: limits, metrics: m}
	cfg := Config{Concurrency: 1, BatchSize: 1, Now: d.clock.Now, Logger: hclog.NewNullLogger(), Metrics: m,
		LLM: LLMConfig{RateLimiter: d.limiter, RateLimitMaxWait: maxWait, Metrics: lm,
			Cache: store.NewResultCache(limits, time.Hour), CacheVersion: "scripted|m1|p1"}}
	d.testBundle = setupWith(t, cfg)
	d.signal = &deferralSignal{RedisStore: d.store, deferred: make(chan string, 8)}
	if d.runner, err = New(d.signal, d.enricher, cfg); err != nil {
		t.Fatal(err)
	}
	return d
}

// pause holds the account's calls for d, as a 429's Retry-After does.
func (d *deferBundle) pause(t *testing.T, pause time.Duration) {
	t.Helper()
	if err := d.limiter.Pause(t.Context(), pause); err != nil {
		t.Fatal(err)
	}
}

// endPause lifts the pause early, as if its time had passed.
func (d *deferBundle) endPause(t *testing.T) {
	t.Helper()
	if err := d.limits.Del(t.Context(), "hh:enrich:llm:default:pause").Err(); err != nil {
		t.Fatal(err)
	}
}

func (d *deferBundle) submitAs(t *testing.T, candidate, payload string) string {
	t.Helper()
	job, created, err := d.store.Submit(t.Context(), store.SubmitRequest{TenantID: "tenant-alpha", CandidateID: candidate,
		Payload: json.RawMessage(payload)})
	if err != nil || !created {
		t.Fatalf("Submit = %v, created %v", err, created)
	}
	return job.ID
}

// makeDue moves a deferred job's time in the store's delayed set to the past, as
// if its wait were over.
func (d *deferBundle) makeDue(t *testing.T, id string) {
	t.Helper()
	if n, err := d.client.ZAddXX(t.Context(), d.prefix+"delayed", redis.Z{Score: 0, Member: id}).Result(); err != nil || n != 0 {
		t.Fatalf("making %s due: %d, %v", id, n, err)
	}
	if score, err := d.client.ZScore(t.Context(), d.prefix+"delayed", id).Result(); err != nil || score != 0 {
		t.Fatalf("job %s is not in the delayed set: %v", id, err)
	}
}

// dueIn is how long until a delayed job is due, by the Redis server's clock.
func (d *deferBundle) dueIn(t *testing.T, id string) time.Duration {
	t.Helper()
	score, err := d.client.ZScore(t.Context(), d.prefix+"delayed", id).Result()
	if err != nil {
		t.Fatalf("job %s is not in the delayed set: %v", id, err)
	}
	now, err := d.client.Time(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(int64(score)).Sub(now)
}

// runOnce runs one job in the caller's goroutine.
func (d *deferBundle) runOnce(t *testing.T) {
	t.Helper()
	if ran, err := d.runner.RunOnce(t.Context()); !ran || err != nil {
		t.Fatalf("RunOnce = %v, %v; want a job run", ran, err)
	}
}

// counter sums a counter family of the runner's metrics (0 when absent).
func (d *deferBundle) counter(t *testing.T, name string) float64 {
	t.Helper()
	families, err := d.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func resultOf(t *testing.T, job *store.Job) Result {
	t.Helper()
	var result Result
	if err := json.Unmarshal(job.Result, &result); err != nil {
		t.Fatalf("job %s (%s: %s): result %v", job.Status, job.ErrorCode, job.ErrorMessage, err)
	}
	return result
}

const otherResumePayload = `{"name":"Grace","resume_text":"Compiler engineer, COBOL"}`

func TestALongWaitForTheRateLimitDefersTheJob(t *testing.T) {
	t.Parallel()
	t.Run("ItsSlotRunsOtherWorkAndItRunsUnchargedWhenDue", func(t *testing.T) {
		t.Parallel()
		d := withDeferrals(t, 10*time.Minute)
		d.submitAs(t, "cand-warm", resumePayload) // fills the cache for cand-b's content
		d.runOnce(t)
		d.pause(t, 30*time.Second)

		if err := d.runner.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		waiting := d.submitAs(t, "cand-a", otherResumePayload)
		select {
		case got := <-d.signal.deferred:
			if got != waiting {
				t.Fatalf("deferred %s, want %s", got, waiting)
			}
		case <-time.After(testTimeout):
			t.Fatal("the job waiting 30 s for the limit was never deferred")
		}
		// The one slot is free: a cache hit runs while cand-a waits for the limit.
		hit := d.submitAs(t, "cand-b", resumePayload)
		waitForStatus(t, d.testBundle, hit, store.StatusCompleted)
		if err := d.runner.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !resultOf(t, d.job(t, hit)).CacheHit {
			t.Error("cand-b did not complete from the cache")
		}
		job := d.job(t, waiting)
		if job.Status != store.StatusQueued || job.Attempts != 0 || job.RateLimitWait < 30*time.Second {
			t.Fatalf("deferred job %s after %d attempts, waited %s; want queued, uncharged, ≥ 30 s", job.Status, job.Attempts, job.RateLimitWait)
		}
		if due := d.dueIn(t, waiting); due < 25*time.Second || due > 32*time.Second {
			t.Errorf("the deferred job is due in %s, want when the 30 s pause ends (plus jitter)", due)
		}
		if d.enricher.calls != 1 {
			t.Errorf("the enricher was called %d times, want once (the warm-up) during the pause", d.enricher.calls)
		}
		if n := d.counter(t, "hh_enrich_llm_rate_limit_deferrals_total"); n != 1 {
			t.Errorf("deferrals counted %v, want 1", n)
		}
		if n := d.counter(t, "hh_enrich_jobs_failed_total"); n != 0 {
			t.Errorf("a deferral counted as %v failed jobs", n)
		}

		d.endPause(t)
		d.clock.Advance(31 * time.Second)
		d.makeDue(t, waiting)
		d.runOnce(t)
		job = d.job(t, waiting)
		result := resultOf(t, job)
		if job.Status != store.StatusCompleted || job.Attempts != 1 || result.PhaseDurationsMs.RateLimit < 30_000 {
			t.Fatalf("job %s after %d attempts, rateLimit phase %.0f ms; want completed on its first charged attempt, ≥ 30,000 ms",
				job.Status, job.Attempts, result.PhaseDurationsMs.RateLimit)
		}
		if d.enricher.calls != 2 {
			t.Errorf("the enricher was called %d times, want twice", d.enricher.calls)
		}
	})
	t.Run("AWaitShorterThanTheHoldStaysInTheSlot", func(t *testing.T) {
		t.Parallel()
		d := withDeferrals(t, 10*time.Minute)
		d.pause(t, 300*time.Millisecond)
		id := d.submitAs(t, "cand-a", resumePayload)
		d.runOnce(t)
		if job := d.job(t, id); job.Status != store.StatusCompleted || job.Attempts != 1 {
			t.Fatalf("job %s after %d attempts; want completed in the slot that waited", job.Status, job.Attempts)
		}
		if n := d.counter(t, "hh_enrich_llm_rate_limit_deferrals_total"); n != 0 {
			t.Errorf("deferrals counted %v, want none", n)
		}
	})
	t.Run("AWaitPastTheDeadlineFromTheFirstWaitFailsTheJob", func(t *testing.T) {
		t.Parallel()
		d := withDeferrals(t, time.Minute)
		d.pause(t, 30*time.Second)
		id := d.submitAs(t, "cand-a", resumePayload)
		d.runOnce(t)
		if job := d.job(t, id); job.Status != store.StatusQueued || job.Attempts != 0 {
			t.Fatalf("job %s after %d attempts; want deferred, uncharged", job.Status, job.Attempts)
		}
		// 45 s after the first wait, the pause still asks for about 30 s: a minute
		// from the first wait passes before it ends, though not from this lease.
		d.clock.Advance(45 * time.Second)
		d.makeDue(t, id)
		d.runOnce(t)
		job := d.job(t, id)
		if job.Status != store.StatusFailed || job.ErrorCode != CodeUpstreamRateLimited || job.Attempts != 1 {
			t.Fatalf("job %s (%s) after %d attempts; want failed upstream_rate_limited on its first charged attempt",
				job.Status, job.ErrorCode, job.Attempts)
		}
		// The job was refused a wait, not held through one: the message says which.
		if !strings.Contains(job.ErrorMessage, "asks this job to wait") || !strings.Contains(job.ErrorMessage, "15s of it left") {
			t.Errorf("message %q, want the wait asked and the 15 s left of the minute", job.ErrorMessage)
		}
		if d.enricher.calls != 0 {
			t.Errorf("the enricher was called %d times during the outage", d.enricher.calls)
		}
	})
}

// TestAnAnswerThatUsedUpTheLimitPausesEveryInstance: the provider's good answer
// said the account's limit is used up for a minute (provider_pause_ms); the job
// completes, and every instance sharing the Redis limit holds its calls.
func TestAnAnswerThatUsedUpTheLimitPausesEveryInstance(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	limiter := func() *store.RateLimiter {
		client := redis.NewClient(addr)
		t.Cleanup(func() { client.Close() })
		return store.NewRateLimiter(client, store.RateLimitConfig{})
	}
	b := setupWith(t, Config{Logger: hclog.NewNullLogger(), LLM: LLMConfig{RateLimiter: limiter(), RateLimitMaxWait: time.Minute}})
	answer := proto.Clone(scriptedResponse).(*enrichv1.EnrichResponse)
	answer.ProviderPauseMs = time.Minute.Milliseconds()
	b.enricher.response = answer
	id := b.submit(t, resumePayload)
	b.runAll(t)
	if job := b.job(t, id); job.Status != store.StatusCompleted || job.Attempts != 1 {
		t.Fatalf("job %s (%s) after %d attempts, want completed on its first", job.Status, job.ErrorCode, job.Attempts)
	}
	other := limiter() // another instance on the same Redis
	wait, err := other.Reserve(context.Background())
	if err != nil || wait < 55*time.Second || wait > time.Minute {
		t.Fatalf("another instance may call in %s (%v), want about a minute", wait, err)
	}
}
