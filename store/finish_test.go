package store

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRedisStoreComplete(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("StoresTheResultAndEndsTheLease", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			if err := s.Complete(t.Context(), l, json.RawMessage(`{"ok":true}`)); err != nil {
				t.Fatalf("Complete: %v", err)
			}

			want := *job
			want.Status, want.Attempts, want.Result = StatusCompleted, 1, json.RawMessage(`{"ok":true}`)
			diffJob(t, &want, mustGet(t, s, job.ID))
			if _, ok := b.leaseScore(t, job.ID); ok {
				t.Error("the lease is still in the lease set")
			}
			if b.client.HExists(t.Context(), b.keys.job(job.ID), "leaseToken").Val() {
				t.Error("the lease token is still stored")
			}
		})
		t.Run("ClearsTheErrorOfAnEarlierAttempt", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			if _, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "python_timeout", Message: "slow", Retryable: true}); err != nil {
				t.Fatal(err)
			}
			b.makeDue(t, job.ID)
			if err := s.Complete(t.Context(), mustLease(t, s), json.RawMessage(`{"ok":true}`)); err != nil {
				t.Fatal(err)
			}
			got := mustGet(t, s, job.ID)
			if got.Status != StatusCompleted || got.ErrorCode != "" || got.ErrorMessage != "" || !got.Retried || got.Attempts != 2 {
				t.Errorf("job completed on its second attempt: %+v", got)
			}
			for _, field := range []string{"error", "errorCode"} {
				if b.client.HExists(t.Context(), b.keys.job(job.ID), field).Val() {
					t.Errorf("%s is still stored", field)
				}
			}
		})
		t.Run("PublishesCompleted", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			sub := b.subscribe(t)
			job := submitNew(t, s, request("cand-1"))
			if err := s.Complete(t.Context(), mustLease(t, s), nil); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if got, want := nextEvent(t, sub), job.ID+" completed"; got != want {
				t.Errorf("event %q, want %q", got, want)
			}
		})
		t.Run("WithAStaleTokenIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			stale := *mustLease(t, s)
			stale.Token = newToken()
			if err := s.Complete(t.Context(), &stale, nil); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("Complete = %v, want ErrLeaseLost", err)
			}
			if got := mustGet(t, s, job.ID).Status; got != StatusProcessing {
				t.Errorf("status %s after a stale Complete, want processing", got)
			}
		})
		t.Run("SecondCompleteIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			if err := s.Complete(t.Context(), l, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Complete(t.Context(), l, nil); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("second Complete = %v, want ErrLeaseLost", err)
			}
		})
		t.Run("RejectsAResultThatIsNotJSON", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			if err := s.Complete(t.Context(), l, json.RawMessage(`{"ok":`)); err == nil {
				t.Error("Complete accepted invalid JSON")
			}
		})
	})
}

func TestRedisStoreFail(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("RetryableSchedulesARetryAfterABackoff", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			before := b.serverNow(t).UnixMilli()
			requeued, err := s.Fail(t.Context(), l, JobError{Code: "python_timeout", Message: "slow", Retryable: true})
			if err != nil || !requeued {
				t.Fatalf("Fail = %v, %v; want requeued", requeued, err)
			}
			after := b.serverNow(t).UnixMilli()

			want := *job
			want.Attempts, want.ErrorCode, want.ErrorMessage, want.Retried = 1, "python_timeout", "slow", true
			diffJob(t, &want, mustGet(t, s, job.ID))
			// The first retry waits the base delay, 500 ms, plus up to 250 ms of jitter.
			due, ok := b.score(t, b.keys.delayed(), job.ID)
			if !ok || due < before+500 || due >= after+750 {
				t.Errorf("retry due at %d (present %v), want in [%d, %d)", due, ok, before+500, after+750)
			}
			if got := b.queue(t); len(got) != 0 {
				t.Errorf("queue %v, want empty until the retry is due", got)
			}
			if _, ok := b.leaseScore(t, job.ID); ok {
				t.Error("the lease is still in the lease set")
			}
		})
		t.Run("NonRetryableFailsWithItsCodeAndPublishes", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			sub := b.subscribe(t)
			job := submitNew(t, s, request("cand-1"))
			requeued, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "candidate_not_found", Message: "no doc"})
			if err != nil || requeued {
				t.Fatalf("Fail = %v, %v; want failed for good", requeued, err)
			}

			want := *job
			want.Status, want.Attempts, want.ErrorCode, want.ErrorMessage = StatusFailed, 1, "candidate_not_found", "no doc"
			diffJob(t, &want, mustGet(t, s, job.ID))
			if got := b.queue(t); len(got) != 0 {
				t.Errorf("queue %v, want empty", got)
			}
			if got, want := nextEvent(t, sub), job.ID+" failed"; got != want {
				t.Errorf("event %q, want %q", got, want)
			}
			if got := b.client.LRange(t.Context(), b.keys.deadLetters("tenant-a"), 0, -1).Val(); !slices.Equal(got, []string{job.ID}) {
				t.Errorf("dead letters %v, want [%s]", got, job.ID)
			}
		})
		t.Run("RetryableFailsOnTheLastAttempt", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{MaxAttempts: 2})
			job := submitNew(t, s, request("cand-1"))
			jerr := JobError{Code: "upstream_unavailable", Message: "503", Retryable: true}
			var outcomes []bool
			for range 2 {
				b.makeDue(t, job.ID) // a no-op before the first attempt
				requeued, err := s.Fail(t.Context(), mustLease(t, s), jerr)
				if err != nil {
					t.Fatal(err)
				}
				outcomes = append(outcomes, requeued)
			}
			if diff := cmp.Diff([]bool{true, false}, outcomes); diff != "" {
				t.Errorf("requeued per attempt (-want +got):\n%s", diff)
			}
			// Retried once, then failed for good: it says it was retried (it read false).
			got := mustGet(t, s, job.ID)
			if got.Status != StatusFailed || got.ErrorCode != "upstream_unavailable" || !got.Retried || got.Attempts != 2 {
				t.Errorf("job after the last attempt: %+v", got)
			}
		})
		t.Run("WithAStaleTokenIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			submitNew(t, s, request("cand-1"))
			stale := *mustLease(t, s)
			stale.Token = newToken()
			if _, err := s.Fail(t.Context(), &stale, JobError{Code: "x"}); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("Fail = %v, want ErrLeaseLost", err)
			}
		})
		t.Run("AfterCompleteIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			if err := s.Complete(t.Context(), l, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Fail(t.Context(), l, JobError{Code: "x"}); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("Fail = %v, want ErrLeaseLost", err)
			}
			if got := mustGet(t, s, job.ID).Status; got != StatusCompleted {
				t.Errorf("status %s, want completed", got)
			}
		})
	})
}

func TestConfigRetryDelay(t *testing.T) {
	t.Parallel()
	cfg := Config{}.withDefaults()
	for _, tt := range []struct {
		attempt int
		backoff time.Duration
	}{
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{3, 2 * time.Second},
		{4, 4 * time.Second},
		{5, 5 * time.Second},
		{1000, 5 * time.Second},
	} {
		for range 20 {
			got := cfg.retryDelay(tt.attempt)
			if got < tt.backoff || got >= tt.backoff+250*time.Millisecond {
				t.Errorf("retryDelay(%d) = %s, want in [%s, %s)", tt.attempt, got, tt.backoff, tt.backoff+250*time.Millisecond)
			}
		}
	}
	small := Config{RetryBaseDelay: 100 * time.Millisecond}.withDefaults()
	if got := small.retryDelay(1); got >= 200*time.Millisecond {
		t.Errorf("retryDelay with a 100ms base = %s, want its jitter capped at 100ms", got)
	}
}
