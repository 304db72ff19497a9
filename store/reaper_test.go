package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReaper(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("StopBeforeStartIsSafe", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			r := NewReaper(s, ReaperConfig{})
			r.Stop()
			r.Stop()
		})
		t.Run("StopTwiceIsSafe", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			r := NewReaper(s, ReaperConfig{Interval: 10 * time.Millisecond})
			if err := r.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			r.Stop()
			r.Stop()
		})
		t.Run("SecondStartFails", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			r := NewReaper(s, ReaperConfig{})
			if err := r.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			if err := r.Start(t.Context()); err == nil {
				t.Error("second Start = nil error, want one")
			}
		})
		t.Run("StartRejectsANegativeInterval", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			r := NewReaper(s, ReaperConfig{Interval: -time.Second})
			if err := r.Start(t.Context()); err == nil {
				r.Stop()
				t.Error("Start = nil error, want one")
			}
		})
		t.Run("RequeuesExpiredLeasesInTheBackground", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			mustLease(t, s)
			b.expireLease(t, job.ID)
			b.client.Del(t.Context(), b.keys.wakeup()) // forget the submit's token

			r := NewReaper(s, ReaperConfig{Interval: 10 * time.Millisecond})
			if err := r.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			// The requeue pushes a wake token: waiting for work is waiting for it.
			if err := s.WaitForWork(t.Context(), 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, s, job.ID); got.Status != StatusQueued {
				t.Errorf("status %s, want queued", got.Status)
			}
		})
		t.Run("RunOnceDrainsMoreThanOneBatch", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			const jobs = 2*requeueBatch + 1
			for i := range jobs {
				submitNew(t, s, request(fmt.Sprint("cand-", i)))
				b.expireLease(t, mustLease(t, s).Job.ID)
			}
			got, err := NewReaper(s, ReaperConfig{}).runOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(reaped{requeued: jobs, nextDue: -1}, got, cmp.AllowUnexported(reaped{})); diff != "" {
				t.Errorf("runOnce (-want +got):\n%s", diff)
			}
		})
		t.Run("RunOncePromotesMoreThanOneBatchOfDueRetries", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			const jobs = promoteBatch + 1
			// Lease them all first: a Lease would promote the due ones.
			var leases []*Lease
			for i := range jobs {
				submitNew(t, s, request(fmt.Sprint("cand-", i)))
				leases = append(leases, mustLease(t, s))
			}
			for _, l := range leases {
				if _, err := s.Fail(t.Context(), l, JobError{Code: "python_crashed", Retryable: true}); err != nil {
					t.Fatal(err)
				}
				b.makeDue(t, l.Job.ID)
			}
			got, err := NewReaper(s, ReaperConfig{}).runOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(reaped{promoted: jobs, nextDue: -1}, got, cmp.AllowUnexported(reaped{})); diff != "" {
				t.Errorf("runOnce (-want +got):\n%s", diff)
			}
		})
		t.Run("WakesAnIdleWorkerWhenARetryIsDueBeforeItsInterval", func(t *testing.T) {
			t.Parallel()
			// The reaper's interval is far longer than the retry's backoff:
			// only running at the retry's time can wake the worker in time.
			s, b := setup(t, bk, Config{RetryBaseDelay: 300 * time.Millisecond, RetryMaxDelay: 300 * time.Millisecond})
			job := submitNew(t, s, request("cand-1"))
			if _, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "python_crashed", Retryable: true}); err != nil {
				t.Fatal(err)
			}
			b.client.Del(t.Context(), b.keys.wakeup()) // forget the submit's token
			r := NewReaper(s, ReaperConfig{Interval: time.Minute})
			if err := r.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer r.Stop()

			start := time.Now()
			if err := s.WaitForWork(t.Context(), 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited > 3*time.Second {
				t.Errorf("woken after %s, want soon after the 300-550ms backoff", waited)
			}
			if l := mustLease(t, s); l.Job.ID != job.ID || l.Job.Attempts != 2 {
				t.Errorf("leased %s attempt %d, want the retry %s attempt 2", l.Job.ID, l.Job.Attempts, job.ID)
			}
		})
		t.Run("LogsAFailureOncePerStreak", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			var logs logBuffer
			r := NewReaper(s, ReaperConfig{Logger: logs.logger()})
			broken, err := NewRedisStore(closedClient(t), s.cfg)
			if err != nil {
				t.Fatal(err)
			}
			r.store = broken
			for range 3 {
				if _, err := r.runOnce(t.Context()); err == nil {
					t.Fatal("runOnce on a closed client = nil error")
				}
			}
			r.store = s
			if _, err := r.runOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := logs.lines()
			if len(got) != 2 || !strings.Contains(got[0], "reaper run failed") || !strings.Contains(got[1], "reaper runs again") {
				t.Errorf("log lines %q, want one failure and one recovery", got)
			}
		})
	})
}
