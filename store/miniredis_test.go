package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// TestRedisStoreOnMiniredis runs every script on miniredis, the embedded
// Redis of `make run`, so that none of them uses something it lacks.
func TestRedisStoreOnMiniredis(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	opts := &redis.Options{Addr: m.Addr()}

	t.Run("SubmitLeaseHeartbeatComplete", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{})
		sub := b.subscribe(t)
		job := submitNew(t, s, request("cand-1"))
		if again, created, err := s.Submit(t.Context(), request("cand-1")); err != nil || created || again.ID != job.ID {
			t.Fatalf("dedupe: job=%v created=%v err=%v", again, created, err)
		}
		if err := s.WaitForWork(t.Context(), time.Second); err != nil {
			t.Fatal(err)
		}
		l := mustLease(t, s)
		if l.Job.ID != job.ID || l.Job.Attempts != 1 || time.Until(l.Deadline) < 5*time.Second {
			t.Fatalf("lease %+v of job %+v", l, l.Job)
		}
		if err := s.Heartbeat(t.Context(), l); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		if err := s.Complete(t.Context(), l, json.RawMessage(`{"ok":true}`)); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if got := mustGet(t, s, job.ID); got.Status != StatusCompleted || string(got.Result) != `{"ok":true}` {
			t.Errorf("job after Complete: %+v", got)
		}
		if got := nextEvent(t, sub); got != job.ID+" completed" {
			t.Errorf("event %q", got)
		}
		if l, err := s.Lease(t.Context()); l != nil || err != nil {
			t.Errorf("Lease on an empty queue = %+v, %v", l, err)
		}
	})
	t.Run("FailRequeueExpiredAndFencing", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{MaxAttempts: 3})
		job := submitNew(t, s, request("cand-1"))
		if requeued, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "python_timeout", Retryable: true}); err != nil || !requeued {
			t.Fatalf("Fail = %v, %v", requeued, err)
		}
		old := mustLease(t, s)
		b.expireLease(t, job.ID)
		if requeued, failed, err := s.RequeueExpired(t.Context()); err != nil || requeued != 1 || failed != 0 {
			t.Fatalf("RequeueExpired = %d, %d, %v", requeued, failed, err)
		}
		if err := s.Heartbeat(t.Context(), old); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("old holder's Heartbeat = %v, want ErrLeaseLost", err)
		}
		last := mustLease(t, s)
		b.expireLease(t, job.ID)
		if requeued, failed, err := s.RequeueExpired(t.Context()); err != nil || requeued != 0 || failed != 1 {
			t.Fatalf("RequeueExpired = %d, %d, %v", requeued, failed, err)
		}
		if _, err := s.Fail(t.Context(), last, JobError{Code: "x"}); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("Fail after the lease expired = %v, want ErrLeaseLost", err)
		}
		if got := mustGet(t, s, job.ID); got.Status != StatusFailed || got.ErrorCode != "lease_expired" || got.Attempts != 3 {
			t.Errorf("job: %+v", got)
		}
		if again := submitNew(t, s, request("cand-1")); again.ID == job.ID {
			t.Error("a failed job deduped")
		}
	})
	t.Run("WaitForWorkReturnsWhenCancelled", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, opts, Config{})
		ctx, cancel := context.WithCancel(t.Context())
		done := waitInBackground(ctx, s, 30*time.Second)
		cancel()
		if r := awaitResult(t, done, 5*time.Second); !errors.Is(r.err, context.Canceled) {
			t.Errorf("WaitForWork = %v, want context.Canceled", r.err)
		}
	})
}
