package worker

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

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
