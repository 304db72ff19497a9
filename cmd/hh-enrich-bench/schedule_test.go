package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("PlansRateTimesSeconds", func(t *testing.T) {
		t.Parallel()
		if got := NewSchedule(start, 250, 4*time.Second).Count; got != 1000 {
			t.Errorf("Count = %d, want 1000", got)
		}
	})
	t.Run("DueTimesAreEvenlySpacedFromStart", func(t *testing.T) {
		t.Parallel()
		s := NewSchedule(start, 400, time.Second)
		for i, want := range map[int]time.Duration{0: 0, 1: 2500 * time.Microsecond, 399: 997500 * time.Microsecond} {
			if got := s.Due(i).Sub(start); got != want {
				t.Errorf("Due(%d) = start+%v, want start+%v", i, got, want)
			}
		}
	})
	t.Run("DoesNotDriftOverLongRuns", func(t *testing.T) {
		t.Parallel()
		s := NewSchedule(start, 3, time.Hour) // 1/3 s is not a whole number of nanoseconds
		if got := s.Due(3 * 3600).Sub(start); got != time.Hour {
			t.Errorf("Due(10800) = start+%v, want start+1h", got)
		}
	})
}

func TestRunOpenLoop(t *testing.T) {
	t.Parallel()
	t.Run("SendsEveryRequestNoEarlierThanItsDueTime", func(t *testing.T) {
		t.Parallel()
		s := NewSchedule(time.Now(), 1000, 50*time.Millisecond)
		var mu sync.Mutex
		seen := map[int]bool{}
		res := RunOpenLoop(context.Background(), s, 100, func(_ context.Context, i int, due time.Time) {
			if now := time.Now(); now.Before(due) {
				t.Errorf("request %d sent %v before it was due", i, due.Sub(now))
			}
			mu.Lock()
			seen[i] = true
			mu.Unlock()
		})
		if res.Sent != s.Count || res.Dropped != 0 || len(seen) != s.Count {
			t.Errorf("sent %d, dropped %d, seen %d; want all %d sent", res.Sent, res.Dropped, len(seen), s.Count)
		}
	})
	t.Run("SendsTheNextRequestWhileEarlierOnesStillWait", func(t *testing.T) {
		t.Parallel()
		s := NewSchedule(time.Now(), 1000, 20*time.Millisecond)
		// Every send waits until all of them are in flight: a closed loop would
		// never get there.
		var wg sync.WaitGroup
		wg.Add(s.Count)
		allInFlight := make(chan struct{})
		go func() { wg.Wait(); close(allInFlight) }()
		res := RunOpenLoop(context.Background(), s, s.Count, func(context.Context, int, time.Time) {
			wg.Done()
			select {
			case <-allInFlight:
			case <-time.After(10 * time.Second):
				t.Error("requests waited for earlier answers")
			}
		})
		if res.Sent != s.Count {
			t.Errorf("sent %d, want %d", res.Sent, s.Count)
		}
	})
	t.Run("DropsRequestsDueWhileMaxInFlightRun", func(t *testing.T) {
		t.Parallel()
		// Everything is due at once, so the loop reaches the last request while the
		// first two still hold both slots.
		s := Schedule{Start: time.Now().Add(-time.Hour), Rate: 1000, Count: 20}
		release := make(chan struct{})
		timer := time.AfterFunc(200*time.Millisecond, func() { close(release) })
		defer timer.Stop()
		res := RunOpenLoop(context.Background(), s, 2, func(context.Context, int, time.Time) { <-release })
		if res.Sent != 2 || res.Dropped != s.Count-2 {
			t.Errorf("sent %d, dropped %d; want 2 sent and %d dropped", res.Sent, res.Dropped, s.Count-2)
		}
	})
	t.Run("StopsWhenTheContextEnds", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		s := NewSchedule(time.Now(), 10, time.Hour)
		var sent atomic.Int64
		res := RunOpenLoop(ctx, s, 10, func(context.Context, int, time.Time) {
			if sent.Add(1) == 2 {
				cancel()
			}
		})
		if res.Sent != 2 {
			t.Errorf("sent %d after cancelling at the second, want 2", res.Sent)
		}
	})
}
