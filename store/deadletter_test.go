package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// failForGood submits a job for tenant and fails it without a retry.
func failForGood(t *testing.T, s *RedisStore, tenant, candidate string) *Job {
	t.Helper()
	job := submitNew(t, s, requestOf(tenant, candidate))
	l := mustLease(t, s)
	if l.Job.ID != job.ID {
		t.Fatalf("leased %s, want %s", l.Job.ID, job.ID)
	}
	if requeued, err := s.Fail(t.Context(), l, JobError{Code: "invalid_candidate", Message: "empty"}); err != nil || requeued {
		t.Fatalf("Fail = %v, %v; want failed for good", requeued, err)
	}
	return mustGet(t, s, job.ID)
}

func jobIDs(jobs []*Job) []string {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return ids
}

func TestRedisStoreDeadLetters(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("ListsATenantsFailedJobsNewestFirst", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			first := failForGood(t, s, "tenant-a", "cand-1")
			second := failForGood(t, s, "tenant-a", "cand-2")
			failForGood(t, s, "tenant-b", "cand-1")

			got, err := s.DeadLetters(t.Context(), "tenant-a", 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]*Job{second, first}, got); diff != "" {
				t.Errorf("dead letters (-want +got):\n%s", diff)
			}
			if got, _ := s.DeadLetters(t.Context(), "tenant-a", 1); len(got) != 1 || got[0].ID != second.ID {
				t.Errorf("DeadLetters with limit 1 = %v, want [%s]", jobIDs(got), second.ID)
			}
		})
		t.Run("KeepsTheNewestDeadLetterMaxPerTenant", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{DeadLetterMax: 2})
			var ids []string
			for i := range 3 {
				ids = append(ids, failForGood(t, s, "tenant-a", fmt.Sprint("cand-", i)).ID)
			}
			got, err := s.DeadLetters(t.Context(), "tenant-a", 10)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{ids[2], ids[1]}, jobIDs(got)); diff != "" {
				t.Errorf("dead letters (-want +got):\n%s", diff)
			}
		})
		t.Run("LeavesOutJobsWhoseRecordExpired", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			gone := failForGood(t, s, "tenant-a", "cand-1")
			kept := failForGood(t, s, "tenant-a", "cand-2")
			b.client.Del(t.Context(), b.keys.job(gone.ID))
			got, err := s.DeadLetters(t.Context(), "tenant-a", 0)
			if err != nil || len(got) != 1 || got[0].ID != kept.ID {
				t.Errorf("DeadLetters = %v, %v; want [%s]", jobIDs(got), err, kept.ID)
			}
		})
		t.Run("RequeueGivesFreshAttemptsAheadOfTheTenantsQueue", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			failed := failForGood(t, s, "tenant-a", "cand-1")
			waiting := submitNew(t, s, request("cand-2"))

			requeued, err := s.RequeueDeadLetter(t.Context(), "tenant-a", failed.ID)
			if err != nil {
				t.Fatalf("RequeueDeadLetter: %v", err)
			}
			want := *failed
			want.Status, want.Attempts = StatusQueued, 0
			diffJob(t, &want, requeued)
			if diff := cmp.Diff([]string{failed.ID, waiting.ID}, b.queue(t)); diff != "" {
				t.Errorf("queue (-want +got):\n%s", diff)
			}
			if got, _ := s.DeadLetters(t.Context(), "tenant-a", 0); len(got) != 0 {
				t.Errorf("dead letters after the requeue: %v, want none", jobIDs(got))
			}
			if l := mustLease(t, s); l.Job.ID != failed.ID || l.Job.Attempts != 1 {
				t.Errorf("leased %s attempt %d, want %s attempt 1", l.Job.ID, l.Job.Attempts, failed.ID)
			}
		})
		t.Run("RequeueOfAJobNotOnTheTenantsListIsErrNotFound", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			failed := failForGood(t, s, "tenant-a", "cand-1")
			for _, tt := range []struct{ tenant, id string }{
				{"tenant-b", failed.ID},      // another tenant's
				{"tenant-a", newToken()},     // unknown
				{"tenant-a", "not-a-job-id"}, // malformed
			} {
				if _, err := s.RequeueDeadLetter(t.Context(), tt.tenant, tt.id); !errors.Is(err, ErrNotFound) {
					t.Errorf("RequeueDeadLetter(%s, %s) = %v, want ErrNotFound", tt.tenant, tt.id, err)
				}
			}
			if _, err := s.RequeueDeadLetter(t.Context(), "tenant-a", failed.ID); err != nil {
				t.Fatalf("RequeueDeadLetter: %v", err)
			}
			if _, err := s.RequeueDeadLetter(t.Context(), "tenant-a", failed.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("second RequeueDeadLetter = %v, want ErrNotFound", err)
			}
		})
	})
}
