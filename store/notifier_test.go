package store

import (
	"encoding/json"
	"testing"
	"time"
)

func TestNotifier(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		start := func(t *testing.T, s *RedisStore) *Notifier {
			t.Helper()
			n := s.NewNotifier()
			if err := n.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(n.Stop)
			return n
		}

		t.Run("WakesTheWaitersOfACompletedJob", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			n := start(t, s)
			job := submitNew(t, s, request("cand-1"))
			first, stopFirst := n.Watch(job.ID)
			defer stopFirst()
			second, stopSecond := n.Watch(job.ID)
			defer stopSecond()
			if err := s.Complete(t.Context(), mustLease(t, s), json.RawMessage(`{}`)); err != nil {
				t.Fatal(err)
			}
			for _, ch := range []<-chan struct{}{first, second} {
				select {
				case <-ch:
				case <-time.After(5 * time.Second):
					t.Fatal("waiter not woken by Complete")
				}
			}
		})

		t.Run("WakesTheWaiterOfAFailedJobOnly", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			n := start(t, s)
			failing := submitNew(t, s, request("cand-1"))
			other := submitNew(t, s, request("cand-2"))
			failed, stop := n.Watch(failing.ID)
			defer stop()
			untouched, stopOther := n.Watch(other.ID)
			defer stopOther()
			if _, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "invalid_candidate", Message: "x"}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-failed:
			case <-time.After(5 * time.Second):
				t.Fatal("waiter not woken by a final Fail")
			}
			select {
			case <-untouched:
				t.Fatal("another job's waiter was woken")
			default:
			}
		})

		t.Run("StopIsSafeBeforeStartAndTwice", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			n := s.NewNotifier()
			n.Stop()
			if err := n.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			n.Stop()
			n.Stop()
		})
	})
}
