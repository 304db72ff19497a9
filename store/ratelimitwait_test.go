package store

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestRedisStoreDeferForRateLimit(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("GivesTheJobBackUnchargedAndDelayedUntilTheWaitIsOver", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			before := b.serverNow(t)
			since := testNow.Add(-2 * time.Second)
			err := s.DeferForRateLimit(t.Context(), l, RateLimitDeferral{After: 30 * time.Second, Waited: 2 * time.Second, Since: since})
			if err != nil {
				t.Fatalf("DeferForRateLimit: %v", err)
			}

			got := mustGet(t, s, job.ID)
			if got.Status != StatusQueued || got.Attempts != 0 || got.RateLimitWait != 32*time.Second ||
				!got.RateLimitWaitingSince.Equal(since) || got.ErrorCode != "" || got.Retried {
				t.Errorf("job %s, %d attempts, waited %s since %s, code %q, retried %v; want queued, 0, 32s since %s, none, false",
					got.Status, got.Attempts, got.RateLimitWait, got.RateLimitWaitingSince, got.ErrorCode, got.Retried, since)
			}
			due, ok := b.score(t, b.keys.delayed(), job.ID)
			if earliest, latest := before.Add(30*time.Second).UnixMilli(), b.serverNow(t).Add(30*time.Second).UnixMilli(); !ok || due < earliest || due > latest {
				t.Errorf("due at %d (delayed: %v), want the Redis clock's now + 30 s, in [%d, %d]", due, ok, earliest, latest)
			}
			if _, ok := b.leaseScore(t, job.ID); ok {
				t.Error("the lease is still in the lease set")
			}
			diffCounts(t, "a deferral", &Counts{Delayed: 1, Submitted: 1}, mustCounts(t, s))
			if l, err := s.Lease(t.Context()); l != nil || err != nil {
				t.Errorf("Lease = %+v, %v; want nil, nil while the job waits for the limit", l, err)
			}

			b.makeDue(t, job.ID)
			if promoted, _, err := s.promoteDue(t.Context()); promoted != 1 || err != nil {
				t.Fatalf("promoteDue = %d, %v; want the deferred job made ready", promoted, err)
			}
			again := mustLease(t, s)
			if again.Job.ID != job.ID || again.Job.Attempts != 1 || again.Job.RateLimitWait != 32*time.Second ||
				!again.Job.RateLimitWaitingSince.Equal(since) {
				t.Errorf("next lease: job %s attempt %d, waited %s since %s; want %s attempt 1, 32s since %s",
					again.Job.ID, again.Job.Attempts, again.Job.RateLimitWait, again.Job.RateLimitWaitingSince, job.ID, since)
			}
		})
		t.Run("AccumulatesTheWaitAndKeepsWhenItBegan", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			first := testNow.Add(-time.Second)
			for i, d := range []RateLimitDeferral{
				{After: 10 * time.Second, Waited: time.Second, Since: first},
				{After: 20 * time.Second, Waited: 500 * time.Millisecond, Since: first.Add(time.Minute)},
			} {
				if i > 0 {
					b.makeDue(t, job.ID)
				}
				if err := s.DeferForRateLimit(t.Context(), mustLease(t, s), d); err != nil {
					t.Fatalf("deferral %d: %v", i+1, err)
				}
			}
			got := mustGet(t, s, job.ID)
			if got.Attempts != 0 || got.RateLimitWait != 31500*time.Millisecond || !got.RateLimitWaitingSince.Equal(first) {
				t.Errorf("after two deferrals: %d attempts, waited %s since %s; want 0, 31.5s since %s",
					got.Attempts, got.RateLimitWait, got.RateLimitWaitingSince, first)
			}
		})
		t.Run("AChargedAttemptOrTheJobsEndForgetsTheWait", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			deferOnce := func() {
				t.Helper()
				err := s.DeferForRateLimit(t.Context(), mustLease(t, s), RateLimitDeferral{After: time.Second, Since: testNow})
				if err != nil {
					t.Fatal(err)
				}
				b.makeDue(t, job.ID)
			}
			deferOnce()
			if _, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "upstream_timeout", Retryable: true}); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, s, job.ID); got.RateLimitWait != 0 || !got.RateLimitWaitingSince.IsZero() {
				t.Errorf("a retry kept the last attempt's wait: %s since %s", got.RateLimitWait, got.RateLimitWaitingSince)
			}
			b.makeDue(t, job.ID)
			deferOnce()
			if err := s.Complete(t.Context(), mustLease(t, s), json.RawMessage(`{}`)); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, s, job.ID); got.RateLimitWait != 0 || !got.RateLimitWaitingSince.IsZero() {
				t.Errorf("a completed job kept its wait: %s since %s", got.RateLimitWait, got.RateLimitWaitingSince)
			}
		})
		t.Run("TheReaperWakesAnIdleWorkerWhenItIsDue", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			// The reaper has run and found nothing delayed: it next looks after its
			// interval, which a deferral never undercuts (ENRICH_RATE_LIMIT_HOLD_MS is
			// at least the interval), and then at the deferred job's due time.
			r := NewReaper(s, ReaperConfig{Interval: 300 * time.Millisecond})
			if err := r.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			b.client.Del(t.Context(), b.keys.wakeup()) // forget the submit's token
			start := time.Now()
			if err := s.DeferForRateLimit(t.Context(), l, RateLimitDeferral{After: 600 * time.Millisecond, Since: testNow}); err != nil {
				t.Fatal(err)
			}
			if err := s.WaitForWork(t.Context(), 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited < 550*time.Millisecond || waited > 3*time.Second {
				t.Errorf("woken after %s, want soon after the 600 ms deferral", waited)
			}
			if again := mustLease(t, s); again.Job.ID != job.ID || again.Job.Attempts != 1 {
				t.Errorf("leased %s attempt %d, want the deferred %s on its first charged attempt", again.Job.ID, again.Job.Attempts, job.ID)
			}
		})
		t.Run("WithAStaleTokenIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			stale := *mustLease(t, s)
			stale.Token = newToken()
			err := s.DeferForRateLimit(t.Context(), &stale, RateLimitDeferral{After: time.Minute, Since: testNow})
			if !errors.Is(err, ErrLeaseLost) {
				t.Errorf("DeferForRateLimit = %v, want ErrLeaseLost", err)
			}
			if got := mustGet(t, s, job.ID); got.Status != StatusProcessing || got.RateLimitWait != 0 {
				t.Errorf("job %s, waited %s after a stale deferral; want processing, nothing", got.Status, got.RateLimitWait)
			}
		})
		t.Run("AfterTheDeadlineIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			b.expireLease(t, l.Job.ID)
			err := s.DeferForRateLimit(t.Context(), l, RateLimitDeferral{After: time.Minute, Since: testNow})
			if !errors.Is(err, ErrLeaseLost) {
				t.Errorf("DeferForRateLimit = %v, want ErrLeaseLost", err)
			}
			if c := mustCounts(t, s); c.Delayed != 0 || c.Processing != 1 {
				t.Errorf("delayed %d, processing %d after a lost deferral; want 0 and 1", c.Delayed, c.Processing)
			}
		})
	})
}
