package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

func TestRedisStoreLease(t *testing.T) {
	t.Parallel()
	opts := redistest.Start(t)

	t.Run("LeasesInSubmitOrder", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, opts, Config{})
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
		s, _ := setup(t, opts, Config{})
		if l, err := s.Lease(t.Context()); l != nil || err != nil {
			t.Errorf("Lease = %+v, %v; want nil, nil", l, err)
		}
	})
	t.Run("MarksJobProcessingAndCountsTheAttempt", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{LeaseDuration: 30 * time.Second})
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
		s, b := setup(t, opts, Config{})
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
		s, b := setup(t, opts, Config{})
		dead := make([]any, 2*leaseDropBatch+1)
		for i := range dead {
			dead[i] = newToken()
		}
		b.client.RPush(t.Context(), b.keys.queue(), dead...) // the tail: leased first
		live := submitNew(t, s, request("cand-1"))

		if l := mustLease(t, s); l.Job.ID != live.ID {
			t.Errorf("leased %s, want %s", l.Job.ID, live.ID)
		}
	})
}

func TestRedisStoreHeartbeat(t *testing.T) {
	t.Parallel()
	opts := redistest.Start(t)

	t.Run("ExtendsTheDeadline", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{LeaseDuration: time.Minute})
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
		s, b := setup(t, opts, Config{})
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
		s, _ := setup(t, opts, Config{})
		submitNew(t, s, request("cand-1"))
		stale := *mustLease(t, s)
		stale.Token = newToken()
		if err := s.Heartbeat(t.Context(), &stale); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("Heartbeat = %v, want ErrLeaseLost", err)
		}
	})
}
