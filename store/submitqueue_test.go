package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// submitGate holds the first submitCallsInFlight submit script calls that go
// through its client until released, so that the next submits must wait, and
// counts the calls.
type submitGate struct {
	entered, release chan struct{}
	mu               sync.Mutex
	calls            int
}

func newSubmitGate() *submitGate {
	return &submitGate{entered: make(chan struct{}, submitCallsInFlight), release: make(chan struct{})}
}

func (g *submitGate) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *submitGate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" && isSubmitScript(cmd) {
			g.mu.Lock()
			g.calls++
			held := g.calls <= submitCallsInFlight
			g.mu.Unlock()
			if held {
				g.entered <- struct{}{}
				<-g.release
			}
		}
		return next(ctx, cmd)
	}
}

// fillCalls makes submitCallsInFlight submits, each alone in a call the gate
// holds, and returns their outcomes.
func fillCalls(t *testing.T, s *RedisStore, gate *submitGate) []<-chan submitOutcome {
	t.Helper()
	var held []<-chan submitOutcome
	for i := range submitCallsInFlight {
		held = append(held, submitAsync(s, t.Context(), request(fmt.Sprint("held-", i))))
		<-gate.entered
	}
	return held
}

// checkHeld fails t unless every held submit created its job.
func checkHeld(t *testing.T, held []<-chan submitOutcome) {
	t.Helper()
	for _, out := range held {
		if o := <-out; o.err != nil || !o.created {
			t.Fatalf("held Submit = %v, created %v", o.err, o.created)
		}
	}
}

func (g *submitGate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// isSubmitScript tells a run of submitScript (loaded beforehand, so always
// an EVALSHA).
func isSubmitScript(cmd redis.Cmder) bool {
	args := cmd.Args()
	return len(args) > 1 && args[1] == submitScript.Hash()
}

func (g *submitGate) callCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// gatedStore returns a store on redisBackend whose client passes through
// gate, with submitScript loaded so that every call is one EVALSHA.
func gatedStore(t *testing.T, gate *submitGate) (*RedisStore, *testBundle) {
	t.Helper()
	s, b := setup(t, redisBackend, Config{})
	if err := submitScript.Load(t.Context(), b.client).Err(); err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(shared.redisOptions(t))
	t.Cleanup(func() { _ = client.Close() })
	client.AddHook(gate)
	gated, err := NewRedisStore(client, s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return gated, b
}

// waitForWaiting returns once n submits wait for the next call of s.
func waitForWaiting(s *RedisStore, n int) {
	for {
		s.submits.mu.Lock()
		waiting := len(s.submits.waiting)
		s.submits.mu.Unlock()
		if waiting >= n {
			return
		}
		runtime.Gosched()
	}
}

type submitOutcome struct {
	job     *Job
	created bool
	err     error
}

func submitAsync(s *RedisStore, ctx context.Context, req SubmitRequest) <-chan submitOutcome {
	out := make(chan submitOutcome, 1)
	go func() {
		job, created, err := s.Submit(ctx, req)
		out <- submitOutcome{job, created, err}
	}()
	return out
}

func TestSubmitsMadeWhileCallsAreInFlightShareTheNextCall(t *testing.T) {
	t.Parallel()
	gate := newSubmitGate()
	s, b := gatedStore(t, gate)
	held := fillCalls(t, s, gate)
	// Four new candidates, and one more submit of cand-1: it must dedupe to
	// the job the same call creates for cand-1 before it.
	reqs := []SubmitRequest{request("cand-1"), request("cand-2"), request("cand-3"), request("cand-4"), request("cand-1")}
	outcomes := make([]<-chan submitOutcome, len(reqs))
	for i, req := range reqs {
		outcomes[i] = submitAsync(s, t.Context(), req)
		waitForWaiting(s, i+1) // in this order
	}
	close(gate.release)
	checkHeld(t, held)
	results := make([]submitOutcome, len(reqs))
	for i, out := range outcomes {
		if results[i] = <-out; results[i].err != nil {
			t.Fatalf("Submit(%s): %v", reqs[i].CandidateID, results[i].err)
		}
	}
	for i := range 4 {
		if !results[i].created || results[i].job.CandidateID != reqs[i].CandidateID {
			t.Errorf("Submit(%s) = job of %s, created %v; want a new job", reqs[i].CandidateID, results[i].job.CandidateID, results[i].created)
		}
	}
	if last := results[4]; last.created || last.job.ID != results[0].job.ID {
		t.Errorf("second Submit(cand-1) = job %s, created %v; want a dedupe to %s", last.job.ID, last.created, results[0].job.ID)
	}
	if n, want := gate.callCount(), submitCallsInFlight+1; n != want {
		t.Errorf("%d submit script calls, want %d: the held ones, then one for the five that waited", n, want)
	}
	c := mustCounts(t, s)
	want := int64(submitCallsInFlight + 4)
	if c.Submitted != want || c.Queued != want || c.QueueDepth["tenant-a"] != want || c.DedupeHits["tenant-a"] != 1 {
		t.Errorf("counts %+v; want %d submitted, %d queued (and depth), 1 dedupe hit", c, want, want)
	}
	if got := len(b.queue(t)); got != int(want) {
		t.Errorf("%d jobs queued, want %d", got, want)
	}
	if n := b.client.LLen(t.Context(), b.keys.wakeup()).Val(); n != want {
		t.Errorf("%d wake tokens, want one per new job: %d", n, want)
	}
}

func TestASubmitCancelledWhileItWaitsIsNotMade(t *testing.T) {
	t.Parallel()
	gate := newSubmitGate()
	s, b := gatedStore(t, gate)
	held := fillCalls(t, s, gate)
	ctx, cancel := context.WithCancel(t.Context())
	cancelled := submitAsync(s, ctx, request("cand-1"))
	waitForWaiting(s, 1)
	cancel()
	if o := <-cancelled; !errors.Is(o.err, context.Canceled) {
		t.Errorf("cancelled Submit = %v, created %v; want context.Canceled", o.err, o.created)
	}
	close(gate.release)
	checkHeld(t, held)
	if c := mustCounts(t, s); c.Submitted != int64(submitCallsInFlight) {
		t.Errorf("submitted %d, want %d: the cancelled submit never reached Redis", c.Submitted, submitCallsInFlight)
	}
	if n := gate.callCount(); n != submitCallsInFlight {
		t.Errorf("%d submit script calls, want %d", n, submitCallsInFlight)
	}
	if got := len(b.queue(t)); got != submitCallsInFlight {
		t.Errorf("%d jobs queued, want %d", got, submitCallsInFlight)
	}
}

// TestOneCallRunsItsSubmitsInOrder runs a call of several submits, as
// submitQueue makes them, on every backend: each submit does what it would do
// alone, in order, and the counters and the ring add up.
func TestOneCallRunsItsSubmitsInOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, bk *backend) {
		s, b := setup(t, bk, Config{})
		forced := request("cand-1")
		forced.Force = true
		reqs := []SubmitRequest{request("cand-1"), requestOf("tenant-b", "cand-2"), request("cand-1"), forced}
		var submits []*pendingSubmit
		for _, req := range reqs {
			job, dedupeKey, err := s.newJob(req)
			if err != nil {
				t.Fatal(err)
			}
			submits = append(submits, &pendingSubmit{tenantID: req.TenantID, force: req.Force, job: job, dedupeKey: dedupeKey})
		}
		replies, err := s.runSubmits(t.Context(), submits)
		if err != nil {
			t.Fatalf("runSubmits: %v", err)
		}
		var ids []string
		for i, reply := range replies {
			job, created, err := submitted(submits[i].job, reply)
			if err != nil {
				t.Fatal(err)
			}
			if wantNew := i != 2; created != wantNew {
				t.Errorf("submit %d (%s) created %v, want %v", i, reqs[i].CandidateID, created, wantNew)
			}
			ids = append(ids, job.ID)
		}
		if ids[2] != ids[0] {
			t.Errorf("the second submit of cand-1 resolved to %s, want the first's job %s", ids[2], ids[0])
		}
		if got := b.ready(t, "tenant-a"); len(got) != 2 || got[0] != ids[3] || got[1] != ids[0] {
			t.Errorf("tenant-a's jobs in lease order %v, want the forced %s, then %s", got, ids[3], ids[0])
		}
		c := mustCounts(t, s)
		if c.Submitted != 3 || c.Queued != 3 || c.QueueDepth["tenant-a"] != 2 || c.QueueDepth["tenant-b"] != 1 || c.DedupeHits["tenant-a"] != 1 {
			t.Errorf("counts %+v; want 3 submitted and queued, depth 2 and 1, 1 dedupe hit", c)
		}
		// Both tenants are in the ring, once each: leasing alternates.
		var tenants []string
		for range 3 {
			l := mustLease(t, s)
			tenants = append(tenants, l.Job.TenantID)
		}
		if tenants[0] == tenants[1] {
			t.Errorf("leased tenants %v, want the two tenants in turn", tenants)
		}
	})
}
