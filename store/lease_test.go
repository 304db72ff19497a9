package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestRedisStoreLease(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("LeasesInSubmitOrder", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			var want, got []string
			for i := range 3 {
				want = append(want, submitNew(t, s, request(fmt.Sprint("cand-", i))).ID)
			}
			for range 3 {
				got = append(got, mustLease(t, s).Job.ID)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("lease order (-want +got):\n%s", diff)
			}
		})
		t.Run("EmptyQueueReturnsNil", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			if l, err := s.Lease(t.Context()); l != nil || err != nil {
				t.Errorf("Lease = %+v, %v; want nil, nil", l, err)
			}
		})
		t.Run("MarksJobProcessingAndCountsTheAttempt", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{LeaseDuration: 30 * time.Second})
			job := submitNew(t, s, request("cand-1"))
			before := b.serverNow(t).Truncate(time.Millisecond)
			l := mustLease(t, s)

			want := *job
			want.Status, want.Attempts = StatusProcessing, 1
			diffJob(t, &want, l.Job)
			diffJob(t, &want, mustGet(t, s, job.ID))
			if l.Deadline.Before(before.Add(30*time.Second)) || l.Deadline.After(b.serverNow(t).Add(30*time.Second)) {
				t.Errorf("deadline %s, want the Redis clock's now + 30s (now was %s)", l.Deadline, before)
			}
			if score, ok := b.leaseScore(t, job.ID); !ok || score != l.Deadline.UnixMilli() {
				t.Errorf("lease set score %d (present %v), want %d", score, ok, l.Deadline.UnixMilli())
			}
			if token := b.client.HGet(t.Context(), b.keys.job(job.ID), "leaseToken").Val(); token != l.Token || len(token) != 32 {
				t.Errorf("stored lease token %q, want %q", token, l.Token)
			}
		})
		t.Run("DropsIDsWhoseJobExpired", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			gone := submitNew(t, s, request("cand-1"))
			live := submitNew(t, s, request("cand-2"))
			b.client.Del(t.Context(), b.keys.job(gone.ID))

			if l := mustLease(t, s); l.Job.ID != live.ID {
				t.Errorf("leased %s, want %s", l.Job.ID, live.ID)
			}
			if n := len(b.queue(t)); n != 0 {
				t.Errorf("queue holds %d ids, want 0", n)
			}
		})
		t.Run("DropsMoreDeadIDsThanOneScriptRunTakes", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			for i := range 2*leaseDropBatch + 1 {
				gone := submitNew(t, s, request(fmt.Sprint("gone-", i)))
				b.client.Del(t.Context(), b.keys.job(gone.ID)) // as if its TTL ran out
			}
			live := submitNew(t, s, request("cand-1"))

			if l := mustLease(t, s); l.Job.ID != live.ID {
				t.Errorf("leased %s, want %s", l.Job.ID, live.ID)
			}
			if c := mustCounts(t, s); c.Queued != 0 || c.Processing != 1 || len(c.QueueDepth) != 0 {
				t.Errorf("counts after dropping dead ids: %+v, want 0 queued, 1 processing", c)
			}
		})
		t.Run("ForcedJobsGoFirstWithinATenant", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			normal := submitNew(t, s, request("cand-1"))
			forced := request("cand-2")
			forced.Force = true
			high := submitNew(t, s, forced)
			got := []string{mustLease(t, s).Job.ID, mustLease(t, s).Job.ID}
			if diff := cmp.Diff([]string{high.ID, normal.ID}, got); diff != "" {
				t.Errorf("lease order (-want +got):\n%s", diff)
			}
		})
		t.Run("TenantsTakeTurns", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			for _, tenant := range []string{"a", "a", "a", "b", "c", "c"} {
				submitNew(t, s, requestOf(tenant, newToken()))
			}
			var got []string
			for range 6 {
				got = append(got, mustLease(t, s).Job.TenantID)
			}
			if diff := cmp.Diff([]string{"a", "b", "c", "a", "c", "a"}, got); diff != "" {
				t.Errorf("tenants in lease order (-want +got):\n%s", diff)
			}
		})
		t.Run("PromotesDueRetriesFirst", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			retry := submitNew(t, s, request("cand-1"))
			waiting := submitNew(t, s, request("cand-2"))
			if _, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "python_crashed", Retryable: true}); err != nil {
				t.Fatal(err)
			}
			b.makeDue(t, retry.ID)
			if l := mustLease(t, s); l.Job.ID != retry.ID || l.Job.Attempts != 2 {
				t.Errorf("leased %s attempt %d, want the due retry %s attempt 2", l.Job.ID, l.Job.Attempts, retry.ID)
			}
			if diff := cmp.Diff([]string{waiting.ID}, b.queue(t)); diff != "" {
				t.Errorf("queue (-want +got):\n%s", diff)
			}
		})
		t.Run("LeavesRetriesThatAreNotDueDelayed", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{RetryBaseDelay: time.Hour, RetryMaxDelay: time.Hour})
			retry := submitNew(t, s, request("cand-1"))
			if _, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "python_crashed", Retryable: true}); err != nil {
				t.Fatal(err)
			}
			if l, err := s.Lease(t.Context()); l != nil || err != nil {
				t.Errorf("Lease = %+v, %v; want nil, nil while the retry waits", l, err)
			}
			if _, ok := b.score(t, b.keys.delayed(), retry.ID); !ok {
				t.Error("the retry left the delayed set before its time")
			}
		})
	})
}

func TestRedisStoreHeartbeat(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("ExtendsTheDeadline", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{LeaseDuration: time.Minute})
			submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			// Bring the deadline close, as if most of the lease had passed.
			soon := b.serverNow(t).Add(5 * time.Second).UnixMilli()
			b.client.ZAddXX(t.Context(), b.keys.leases(), redis.Z{Score: float64(soon), Member: l.Job.ID})

			if err := s.Heartbeat(t.Context(), l); err != nil {
				t.Fatalf("Heartbeat: %v", err)
			}
			score, _ := b.leaseScore(t, l.Job.ID)
			if score < soon+50_000 || score != l.Deadline.UnixMilli() {
				t.Errorf("deadline after heartbeat %d (lease says %d), want about a minute from now, past %d",
					score, l.Deadline.UnixMilli(), soon)
			}
		})
		t.Run("AfterTheDeadlineIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			b.expireLease(t, l.Job.ID)

			if err := s.Heartbeat(t.Context(), l); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("Heartbeat = %v, want ErrLeaseLost", err)
			}
			if score, _ := b.leaseScore(t, l.Job.ID); score != 0 {
				t.Errorf("a lost heartbeat moved the deadline to %d", score)
			}
		})
		t.Run("WithAStaleTokenIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			submitNew(t, s, request("cand-1"))
			stale := *mustLease(t, s)
			stale.Token = newToken()
			if err := s.Heartbeat(t.Context(), &stale); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("Heartbeat = %v, want ErrLeaseLost", err)
			}
		})
	})
}

func TestRedisStoreRelease(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("QueuesTheJobAgainAheadOfItsTenantWithoutChargingTheAttempt", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			waiting := submitNew(t, s, request("cand-2"))
			l := mustLease(t, s)
			if err := s.Release(t.Context(), l); err != nil {
				t.Fatalf("Release: %v", err)
			}

			diffJob(t, job, mustGet(t, s, job.ID))
			if diff := cmp.Diff([]string{job.ID, waiting.ID}, b.queue(t)); diff != "" {
				t.Errorf("queue (-want +got):\n%s", diff)
			}
			if _, ok := b.leaseScore(t, job.ID); ok {
				t.Error("the lease is still in the lease set")
			}
			if again := mustLease(t, s); again.Job.ID != job.ID || again.Job.Attempts != 1 {
				t.Errorf("next lease: job %s attempt %d, want job %s attempt 1", again.Job.ID, again.Job.Attempts, job.ID)
			}
		})
		t.Run("KeepsAForcedJobHighPriority", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			req := request("cand-1")
			req.Force = true
			job := submitNew(t, s, req)
			if err := s.Release(t.Context(), mustLease(t, s)); err != nil {
				t.Fatal(err)
			}
			if got := b.client.LRange(t.Context(), b.keys.queue("tenant-a", true), 0, -1).Val(); !slices.Equal(got, []string{job.ID}) {
				t.Errorf("high-priority queue %v, want [%s]", got, job.ID)
			}
		})
		t.Run("WithAStaleTokenIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			stale := *mustLease(t, s)
			stale.Token = newToken()
			if err := s.Release(t.Context(), &stale); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("Release = %v, want ErrLeaseLost", err)
			}
			if got := mustGet(t, s, job.ID).Status; got != StatusProcessing {
				t.Errorf("status %s after a stale Release, want processing", got)
			}
		})
		t.Run("AfterTheDeadlineIsErrLeaseLost", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			b.expireLease(t, l.Job.ID)
			if err := s.Release(t.Context(), l); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("Release = %v, want ErrLeaseLost", err)
			}
		})
	})
}
