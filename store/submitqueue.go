package store

import (
	"context"
	"fmt"
	"sync"
)

// submitCallsInFlight is how many submit calls may be in flight before
// further submits wait to share the next one. Two keep both processes busy:
// Redis runs one call while the client writes the next. Measured with 16
// submitting goroutines (BenchmarkRedisStore Submit16) on 2 cores: 1 in
// flight 11.1k/s, 2 14.6k/s, 4 12.8k/s, no sharing 10.3k/s.
const submitCallsInFlight = 2

// maxSubmitsPerCall bounds how many waiting submits share one script call, so
// that one call keeps Redis busy for well under a millisecond.
const maxSubmitsPerCall = 64

// submitQueue lets submits made at the same time share one round trip and
// one run of submitScript. A submit made while fewer than
// submitCallsInFlight calls are in flight goes at once, alone: no added
// latency when the store is idle. One made otherwise waits, with the others
// that arrive meanwhile; when a call returns, the first of them is handed the
// next call, for all of them. So every goroutine runs at most one call, the one that holds its own
// submit, and no background goroutine exists.
//
// Why: a submit's Redis work is a few commands, while each round trip costs
// both processes a read and a write system call and a script start. Under
// load (a batch client, many API requests) those fixed costs, not the
// commands, were what limited submits per second.
type submitQueue struct {
	mu      sync.Mutex
	running int              // calls in flight
	waiting []*pendingSubmit // submits for the next call, in arrival order
}

// pendingSubmit is one Submit's part of a script call.
type pendingSubmit struct {
	tenantID  string
	force     bool
	job       *Job
	dedupeKey string

	// turn gets nil when the submit's call is done (reply, err set), or the
	// submits of the call it must make now, its own first.
	turn  chan []*pendingSubmit
	reply any
	err   error
}

// submit runs p, alone or with submits made at the same time, and returns its
// reply in submitScript's. A submit whose ctx ends while it waits for the
// call in flight is dropped and returns ctx's error; once its call started,
// it waits for the call (each round trip is bounded by the client's
// timeouts), since the call also carries other submits.
func (q *submitQueue) submit(ctx context.Context, s *RedisStore, p *pendingSubmit) (any, error) {
	q.mu.Lock()
	if q.running < submitCallsInFlight {
		q.running++
		q.mu.Unlock()
		return q.run(ctx, s, []*pendingSubmit{p})
	}
	p.turn = make(chan []*pendingSubmit, 1)
	q.waiting = append(q.waiting, p)
	q.mu.Unlock()

	var call []*pendingSubmit
	select {
	case call = <-p.turn:
	case <-ctx.Done():
		if q.drop(p) {
			return nil, ctx.Err()
		}
		call = <-p.turn
	}
	if call == nil {
		return p.reply, p.err
	}
	return q.run(ctx, s, call)
}

// drop takes p out of the waiting submits; false if a call took it already.
func (q *submitQueue) drop(p *pendingSubmit) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, w := range q.waiting {
		if w == p {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			return true
		}
	}
	return false
}

// run makes the call for submits (the caller's own first), tells the others
// their replies, and hands the next call to the first submit waiting, if
// any. The call does not end with the caller's context: it carries the other
// submits too.
func (q *submitQueue) run(ctx context.Context, s *RedisStore, submits []*pendingSubmit) (any, error) {
	replies, err := s.runSubmits(context.WithoutCancel(ctx), submits)
	for i, p := range submits[1:] {
		if err != nil {
			p.err = err
		} else {
			p.reply = replies[i+1]
		}
		p.turn <- nil
	}
	q.handOff()
	if err != nil {
		return nil, err
	}
	return replies[0], nil
}

// handOff gives the next call to the first waiting submit, or marks the
// queue idle.
func (q *submitQueue) handOff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		q.running--
		return
	}
	n := min(len(q.waiting), maxSubmitsPerCall)
	next := q.waiting[:n:n]
	q.waiting = append([]*pendingSubmit(nil), q.waiting[n:]...)
	next[0].turn <- next
}

// runSubmits runs submitScript once for submits and returns each one's reply,
// in order.
func (s *RedisStore) runSubmits(ctx context.Context, submits []*pendingSubmit) ([]any, error) {
	keys, args := s.submitKeysArgs(submits...)
	replies, err := submitScript.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		return nil, err
	}
	if len(replies) != len(submits) {
		return nil, fmt.Errorf("store: submit: %d replies for %d submits", len(replies), len(submits))
	}
	return replies, nil
}
