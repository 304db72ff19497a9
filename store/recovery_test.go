package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// completeAll works as one worker would, leasing or waiting for work and
// completing each job, until it has completed n jobs; it fails t after
// timeout. It returns the completed job ids in order.
func completeAll(t *testing.T, s *RedisStore, n int, timeout time.Duration) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var done []string
	for len(done) < n {
		l, err := s.Lease(ctx)
		if ctx.Err() != nil {
			t.Fatalf("completed %d of %d jobs within %s", len(done), n, timeout)
		}
		if err != nil {
			t.Fatalf("Lease: %v", err)
		}
		if l == nil {
			_ = s.WaitForWork(ctx, time.Second) // woken by a requeue or a submit
			continue
		}
		if err := s.Complete(ctx, l, nil); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		done = append(done, l.Job.ID)
	}
	return done
}

func TestRecoveryFromADeadInstance(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("AnotherInstanceCompletesItsJobsWithinLeasePlusReaperInterval", func(t *testing.T) {
			t.Parallel()
			const (
				jobs  = 20
				lease = time.Second
				// slack covers the worker's own round trips and a loaded
				// machine; recovery itself is bounded by lease + interval.
				slack = 1500 * time.Millisecond
			)
			survivor, _ := setup(t, bk, Config{LeaseDuration: lease})
			doomedClient := bk.connect(t, clientName(t)+"-doomed")
			doomed, err := NewRedisStore(doomedClient, survivor.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := range jobs {
				submitNew(t, survivor, request(fmt.Sprint("cand-", i)))
			}
			var held []*Lease
			for range jobs {
				held = append(held, mustLease(t, doomed))
			}
			// The instance dies: its connections close, it never heartbeats
			// or completes anything again.
			_ = doomedClient.Close()
			died := time.Now()

			r := NewReaper(survivor, ReaperConfig{Interval: ReaperIntervalDefault})
			if err := r.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			completeAll(t, survivor, jobs, 10*time.Second)
			if took, limit := time.Since(died), lease+ReaperIntervalDefault+slack; took > limit {
				t.Errorf("jobs of the dead instance completed after %s, want within %s", took, limit)
			}
			for _, l := range held {
				if got := mustGet(t, survivor, l.Job.ID); got.Status != StatusCompleted || got.Attempts != 2 {
					t.Errorf("job %s: status %s after %d attempts, want completed on attempt 2", got.ID, got.Status, got.Attempts)
				}
			}
			// Were the dead instance to come back, its leases are fenced off.
			if err := survivor.Complete(t.Context(), held[0], nil); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("Complete with the dead instance's lease = %v, want ErrLeaseLost", err)
			}
		})
	})
}
