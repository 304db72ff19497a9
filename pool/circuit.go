package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eapache/go-resiliency/breaker"
)

// ErrCircuitOpen is returned when the pool-wide breaker stayed open for as long as
// the caller was willing to wait. The job did nothing wrong: it should go back to
// the queue without being charged an attempt.
var ErrCircuitOpen = errors.New("pool: python circuit open")

// errCounted is what the breaker sees for a failure; the real error goes to the caller.
var errCounted = errors.New("pool: counted failure")

// circuit is a go-resiliency breaker with the semantics REFERENCE §4 documents and
// W16 asks to fix:
//   - it opens after threshold *consecutive* failures (go-resiliency alone counts
//     failures in a sliding window and ignores successes in between, so sporadic
//     errors among thousands of successes would open it);
//   - while half-open it lets exactly one probe call through at a time (go-resiliency
//     alone lets every caller through);
//   - callers can wait for it to close instead of failing (admit).
type circuit struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu          sync.Mutex
	b           *breaker.Breaker
	consecutive int
	openedAt    time.Time
	probe       chan struct{} // holds a token while a half-open probe runs
}

func newCircuit(threshold int, cooldown time.Duration, now func() time.Time) *circuit {
	return &circuit{
		threshold: threshold,
		cooldown:  cooldown,
		now:       now,
		b:         breaker.New(threshold, 1, cooldown),
		probe:     make(chan struct{}, 1),
	}
}

// record feeds one outcome and reports whether this failure opened the breaker.
// NoVerdict changes nothing: neither the run of failures nor a half-open state
// (the caller's release lets the next probe through).
func (c *circuit) record(v Verdict) (opened bool) {
	if v == NoVerdict {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.b.GetState()
	if v == Success {
		if before == breaker.Closed {
			if c.consecutive > 0 {
				// A success ends the run of failures; go-resiliency has no reset, so
				// start from a fresh closed breaker.
				c.consecutive = 0
				c.b = breaker.New(c.threshold, 1, c.cooldown)
			}
			return false
		}
		_ = c.b.Run(func() error { return nil }) // a half-open probe succeeded: closes it
		return false
	}
	c.consecutive++
	_ = c.b.Run(func() error { return errCounted })
	if before != breaker.Open && c.b.GetState() == breaker.Open {
		c.consecutive = 0
		c.openedAt = c.now()
		return true
	}
	return false
}

// state is the breaker's state: "closed", "open" or "half_open".
func (c *circuit) state() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return stateName(c.b.GetState())
}

func stateName(s breaker.State) string {
	switch s {
	case breaker.Open:
		return "open"
	case breaker.HalfOpen:
		return "half_open"
	default:
		return "closed"
	}
}

// openRecheck is how soon a waiter looks again when the cooldown has passed but
// go-resiliency's own timer has not flipped the state yet.
const openRecheck = 10 * time.Millisecond

// admit waits until a call may go through: at once while closed, after the
// cooldown while open, one at a time while half-open. release must be called when
// the admitted call has been recorded. It fails with ErrCircuitOpen when ctx ends
// first.
func (c *circuit) admit(ctx context.Context) (release func(), err error) {
	for {
		c.mu.Lock()
		b, reopenAt := c.b, c.openedAt.Add(c.cooldown)
		c.mu.Unlock()
		switch b.GetState() {
		case breaker.Closed:
			return func() {}, nil
		case breaker.HalfOpen:
			select {
			case c.probe <- struct{}{}:
				if b.GetState() != breaker.HalfOpen {
					<-c.probe // the probe before us already decided
					continue
				}
				return func() { <-c.probe }, nil
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %w", ErrCircuitOpen, ctx.Err())
			}
		default:
			timer := time.NewTimer(max(reopenAt.Sub(c.now()), openRecheck))
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return nil, fmt.Errorf("%w: %w", ErrCircuitOpen, ctx.Err())
			}
		}
	}
}
