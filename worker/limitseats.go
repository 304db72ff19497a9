package worker

import (
	"context"
	"sync"
)

// limitSeats bounds the jobs of one instance that are between their lease and
// their turn at the LLM's rate limit (LLMConfig.MaxAheadOfLimit). Without it,
// every worker slot (ENRICH_CONCURRENCY, 128 by default for Together) leases a
// job that then waits in the slot for the limit: a backlog shows as processing,
// holds slots other work could use, and sits on one instance. With it, jobs are
// leased about as fast as the limit lets them go, and the rest stay queued in
// Redis for whichever instance has room. A nil *limitSeats bounds nothing.
type limitSeats struct{ taken chan struct{} }

func newLimitSeats(n int) *limitSeats {
	if n <= 0 {
		return nil
	}
	return &limitSeats{taken: make(chan struct{}, n)}
}

// take waits for a free seat before a lease; false when ctx ended first.
func (s *limitSeats) take(ctx context.Context) bool {
	if s == nil {
		return true
	}
	select {
	case s.taken <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// seat is one leased job's taken seat.
func (s *limitSeats) seat() *limitSeat {
	if s == nil {
		return nil
	}
	return &limitSeat{seats: s}
}

// limitSeat is a job's place ahead of the limit. It is given back once: when the
// job's call passes the limit (or is deferred or refused by it), or when the job
// ends without calling (a cache hit, a failure before the call).
type limitSeat struct {
	seats *limitSeats
	once  sync.Once
}

func (st *limitSeat) release() {
	if st == nil {
		return
	}
	st.once.Do(func() { <-st.seats.taken })
}
