package main

import (
	"context"
	"sync"
	"time"
)

// Schedule is an open-loop, fixed-rate send plan: request i is due at Start +
// i/Rate seconds whatever happened to the requests before it. A closed loop (send
// the next when the last answers) would slow down with the server and hide its
// queueing delay (coordinated omission); measuring each request from its due time
// keeps that delay in the numbers.
type Schedule struct {
	Start time.Time
	// Rate is requests per second; > 0.
	Rate float64
	// Count is how many requests the plan holds.
	Count int
}

// NewSchedule plans rate requests per second for d, starting at start.
func NewSchedule(start time.Time, rate float64, d time.Duration) Schedule {
	return Schedule{Start: start, Rate: rate, Count: int(rate * d.Seconds())}
}

// Due returns when request i is due. Computed from i, not by adding intervals, so
// rounding never accumulates into drift.
func (s Schedule) Due(i int) time.Time {
	return s.Start.Add(time.Duration(float64(i) / s.Rate * float64(time.Second)))
}

// OpenLoopResult counts what RunOpenLoop did.
type OpenLoopResult struct {
	// Sent requests were started on time or late.
	Sent int
	// Dropped requests found MaxInFlight requests still running and were not sent.
	Dropped int
}

// RunOpenLoop calls send for every request of s at its due time, each in a
// goroutine of its own so a slow answer never delays the next send. At most
// maxInFlight run at once; a request due while that many run is dropped and
// counted, which bounds the harness when the server stalls. It stops early when
// ctx ends, and returns only after every send it started has returned.
func RunOpenLoop(ctx context.Context, s Schedule, maxInFlight int, send func(ctx context.Context, i int, due time.Time)) OpenLoopResult {
	var (
		wg     sync.WaitGroup
		res    OpenLoopResult
		tokens = make(chan struct{}, maxInFlight)
		timer  = time.NewTimer(0)
	)
	defer timer.Stop()
	defer wg.Wait()
	<-timer.C
	for i := range s.Count {
		due := s.Due(i)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return res
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return res
		}
		select {
		case tokens <- struct{}{}:
		default:
			res.Dropped++
			continue
		}
		res.Sent++
		wg.Go(func() {
			defer func() { <-tokens }()
			send(ctx, i, due)
		})
	}
	return res
}
