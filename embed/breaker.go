package embed

import (
	"errors"
	"sync"
	"time"

	"github.com/eapache/go-resiliency/breaker"
	"github.com/hashicorp/go-hclog"
)

// Breaker states, as State reports them.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half_open"
)

// errCounted is what the go-resiliency breaker sees for a failure.
var errCounted = errors.New("embed: counted failure")

// callResult is what one upsert tells the breaker.
type callResult int

const (
	resultSuccess callResult = iota
	resultFailure            // counts towards opening
	resultNeutral            // says nothing about the service's health
)

// circuit is a go-resiliency breaker with the semantics W16 asks for (the same
// idea as the pool's breaker, without waiting):
//   - it opens after threshold *consecutive* failed upserts: go-resiliency alone
//     counts failures in a window and ignores the successes in between;
//   - while half-open it admits exactly one probe and skips every other call:
//     go-resiliency alone lets every caller through;
//   - an upsert that is skipped or refused as a bad request records nothing.
type circuit struct {
	threshold int
	reset     time.Duration
	log       hclog.Logger

	mu          sync.Mutex
	b           *breaker.Breaker
	consecutive int
	probing     bool
}

func newCircuit(threshold int, reset time.Duration, log hclog.Logger) *circuit {
	return &circuit{threshold: threshold, reset: reset, log: log, b: breaker.New(threshold, 1, reset)}
}

// admit says whether a call may go out now, and whether it is the half-open
// probe. A call that was admitted must be recorded, probe or not.
func (c *circuit) admit() (ok, probe bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.b.GetState() {
	case breaker.Closed:
		return true, false
	case breaker.HalfOpen:
		if c.probing {
			return false, false
		}
		c.probing = true
		return true, true
	default:
		return false, false
	}
}

// record feeds one admitted call's result.
func (c *circuit) record(result callResult, probe bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if probe {
		c.probing = false
	}
	before := c.b.GetState()
	switch result {
	case resultSuccess:
		c.recordSuccess(before)
	case resultFailure:
		c.consecutive++
		_ = c.b.Run(func() error { return errCounted })
		if before != breaker.Open && c.b.GetState() == breaker.Open {
			c.log.Warn("embed circuit opened", "consecutive_failures", c.consecutive, "reset", c.reset)
			c.consecutive = 0
		}
	}
}

func (c *circuit) recordSuccess(before breaker.State) {
	switch before {
	case breaker.Closed:
		if c.consecutive > 0 {
			// A success ends the run of failures; go-resiliency has no reset, so
			// start from a fresh closed breaker.
			c.consecutive = 0
			c.b = breaker.New(c.threshold, 1, c.reset)
		}
	case breaker.HalfOpen:
		_ = c.b.Run(func() error { return nil }) // the probe succeeded: closes it
		c.log.Info("embed circuit closed")
	}
}

// state is the breaker's state: StateClosed, StateOpen or StateHalfOpen.
func (c *circuit) state() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.b.GetState() {
	case breaker.Open:
		return StateOpen
	case breaker.HalfOpen:
		return StateHalfOpen
	default:
		return StateClosed
	}
}
