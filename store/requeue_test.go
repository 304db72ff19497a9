package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

func TestRedisStoreRequeueExpired(t *testing.T) {
	t.Parallel()
	opts := redistest.Start(t)

	t.Run("RequeuesAnExpiredLeaseAndFencesOffItsHolder", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{})
		job := submitNew(t, s, request("cand-1"))
		old := mustLease(t, s)
		b.expireLease(t, job.ID)

		requeued, failed, err := s.RequeueExpired(t.Context())
		if err != nil || requeued != 1 || failed != 0 {
			t.Fatalf("RequeueExpired = %d, %d, %v; want 1, 0, nil", requeued, failed, err)
		}
		want := *job
		want.Attempts, want.ErrorCode, want.ErrorMessage, want.Retried = 1, "lease_expired", "lease expired on attempt 1", true
		diffJob(t, &want, mustGet(t, s, job.ID))

		again := mustLease(t, s)
		if again.Job.ID != job.ID || again.Job.Attempts != 2 || again.Token == old.Token {
			t.Errorf("second lease: job %s attempt %d, want job %s attempt 2 with a new token",
				again.Job.ID, again.Job.Attempts, job.ID)
		}
		if err := s.Complete(t.Context(), old, nil); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("the old holder's Complete = %v, want ErrLeaseLost", err)
		}
		if err := s.Complete(t.Context(), again, nil); err != nil {
			t.Errorf("the new holder's Complete: %v", err)
		}
	})
	t.Run("FailsAnExpiredLeaseOnTheLastAttempt", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{MaxAttempts: 1})
		sub := b.subscribe(t)
		job := submitNew(t, s, request("cand-1"))
		mustLease(t, s)
		b.expireLease(t, job.ID)

		requeued, failed, err := s.RequeueExpired(t.Context())
		if err != nil || requeued != 0 || failed != 1 {
			t.Fatalf("RequeueExpired = %d, %d, %v; want 0, 1, nil", requeued, failed, err)
		}
		want := *job
		want.Status, want.Attempts, want.ErrorCode = StatusFailed, 1, "lease_expired"
		want.ErrorMessage = "lease expired on the last attempt (1)"
		diffJob(t, &want, mustGet(t, s, job.ID))
		if got, want := nextEvent(t, sub), job.ID+" failed"; got != want {
			t.Errorf("event %q, want %q", got, want)
		}
		if got := b.queue(t); len(got) != 0 {
			t.Errorf("queue %v, want empty", got)
		}
	})
	t.Run("LeavesLiveLeasesAlone", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{})
		job := submitNew(t, s, request("cand-1"))
		l := mustLease(t, s)

		requeued, failed, err := s.RequeueExpired(t.Context())
		if err != nil || requeued != 0 || failed != 0 {
			t.Fatalf("RequeueExpired = %d, %d, %v; want 0, 0, nil", requeued, failed, err)
		}
		if score, ok := b.leaseScore(t, job.ID); !ok || score != l.Deadline.UnixMilli() {
			t.Errorf("lease score %d (present %v), want %d", score, ok, l.Deadline.UnixMilli())
		}
		if err := s.Complete(t.Context(), l, nil); err != nil {
			t.Errorf("Complete: %v", err)
		}
	})
	t.Run("HandlesABoundedBatchPerCall", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{})
		const jobs = requeueBatch + 50
		for i := range jobs {
			submitNew(t, s, request(fmt.Sprint("cand-", i)))
			b.expireLease(t, mustLease(t, s).Job.ID)
		}
		var got []int
		for range 3 {
			requeued, _, err := s.RequeueExpired(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, requeued)
		}
		if diff := cmp.Diff([]int{requeueBatch, 50, 0}, got); diff != "" {
			t.Errorf("requeued per call (-want +got):\n%s", diff)
		}
	})
	t.Run("DropsTheLeaseOfAJobThatExpired", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{})
		job := submitNew(t, s, request("cand-1"))
		mustLease(t, s)
		b.expireLease(t, job.ID)
		b.client.Del(t.Context(), b.keys.job(job.ID))

		requeued, failed, err := s.RequeueExpired(t.Context())
		if err != nil || requeued != 0 || failed != 0 {
			t.Fatalf("RequeueExpired = %d, %d, %v; want 0, 0, nil", requeued, failed, err)
		}
		if _, ok := b.leaseScore(t, job.ID); ok {
			t.Error("the lease of a vanished job is still in the lease set")
		}
		if got := b.queue(t); len(got) != 0 {
			t.Errorf("queue %v, want empty", got)
		}
	})
}
