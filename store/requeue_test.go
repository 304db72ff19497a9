package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRedisStoreRequeueExpired(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("RequeuesAnExpiredLeaseAndFencesOffItsHolder", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
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
			s, b := setup(t, bk, Config{MaxAttempts: 1})
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
			if got := b.client.LRange(t.Context(), b.keys.deadLetters("tenant-a"), 0, -1).Val(); !slices.Equal(got, []string{job.ID}) {
				t.Errorf("dead letters %v, want [%s]", got, job.ID)
			}
		})
		t.Run("LeavesLiveLeasesAlone", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
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
			s, b := setup(t, bk, Config{})
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
			s, b := setup(t, bk, Config{})
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
	})
}

func TestRedisStorePromoteDue(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		// scheduleRetry submits a job and fails it once, retryably.
		scheduleRetry := func(t *testing.T, s *RedisStore, candidate string) *Job {
			t.Helper()
			job := submitNew(t, s, request(candidate))
			if _, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "python_crashed", Retryable: true}); err != nil {
				t.Fatal(err)
			}
			return job
		}
		t.Run("MakesDueRetriesReadyAndWakesAWorkerForEach", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			first := scheduleRetry(t, s, "cand-1")
			second := scheduleRetry(t, s, "cand-2")
			b.makeDue(t, first.ID)
			b.makeDue(t, second.ID)
			b.client.Del(t.Context(), b.keys.wakeup()) // forget the submits' tokens

			promoted, nextDue, err := s.promoteDue(t.Context())
			if err != nil || promoted != 2 || nextDue != -1 {
				t.Fatalf("promoteDue = %d, %s, %v; want 2, -1ns, nil", promoted, nextDue, err)
			}
			if got := b.queue(t); len(got) != 2 {
				t.Errorf("queue %v, want both retries", got)
			}
			if n := b.client.LLen(t.Context(), b.keys.wakeup()).Val(); n != 2 {
				t.Errorf("%d wake tokens, want 2", n)
			}
		})
		t.Run("SaysWhenTheNextRetryIsDue", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := scheduleRetry(t, s, "cand-1")
			due, _ := b.score(t, b.keys.delayed(), job.ID)
			before := b.serverNow(t).UnixMilli()
			promoted, nextDue, err := s.promoteDue(t.Context())
			if err != nil || promoted != 0 {
				t.Fatalf("promoteDue = %d, %s, %v; want nothing promoted", promoted, nextDue, err)
			}
			if limit := time.Duration(due-before) * time.Millisecond; nextDue <= 0 || nextDue > limit {
				t.Errorf("next retry due in %s, want in (0, %s]", nextDue, limit)
			}
		})
		t.Run("DropsARetryWhoseJobExpired", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := scheduleRetry(t, s, "cand-1")
			b.makeDue(t, job.ID)
			b.client.Del(t.Context(), b.keys.job(job.ID))

			if promoted, _, err := s.promoteDue(t.Context()); err != nil || promoted != 0 {
				t.Fatalf("promoteDue = %d, %v; want 0, nil", promoted, err)
			}
			if c := mustCounts(t, s); c.Delayed != 0 || c.Queued != 0 {
				t.Errorf("counts %+v, want nothing delayed or queued", c)
			}
		})
	})
}
