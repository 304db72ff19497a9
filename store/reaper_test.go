package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

func TestReaper(t *testing.T) {
	t.Parallel()
	opts := redistest.Start(t)

	t.Run("StopBeforeStartIsSafe", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, opts, Config{})
		r := NewReaper(s, ReaperConfig{})
		r.Stop()
		r.Stop()
	})
	t.Run("StopTwiceIsSafe", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, opts, Config{})
		r := NewReaper(s, ReaperConfig{Interval: 10 * time.Millisecond})
		if err := r.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		r.Stop()
		r.Stop()
	})
	t.Run("SecondStartFails", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, opts, Config{})
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
		s, _ := setup(t, opts, Config{})
		r := NewReaper(s, ReaperConfig{Interval: -time.Second})
		if err := r.Start(t.Context()); err == nil {
			r.Stop()
			t.Error("Start = nil error, want one")
		}
	})
	t.Run("RequeuesExpiredLeasesInTheBackground", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{})
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
		s, b := setup(t, opts, Config{})
		const jobs = 2*requeueBatch + 1
		for i := range jobs {
			submitNew(t, s, request(fmt.Sprint("cand-", i)))
			b.expireLease(t, mustLease(t, s).Job.ID)
		}
		got, err := NewReaper(s, ReaperConfig{}).runOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reaped{requeued: jobs}, got, cmp.AllowUnexported(reaped{})); diff != "" {
			t.Errorf("runOnce (-want +got):\n%s", diff)
		}
	})
}
