package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func diffCounts(t *testing.T, step string, want, got *Counts) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("counts after %s (-want +got):\n%s", step, diff)
	}
}

func TestRedisStoreCounts(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("FollowEveryMoveOfAJob", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{MaxAttempts: 2})
			var job *Job
			var l *Lease
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			depth := map[string]int64{"tenant-a": 1}
			hits := map[string]int64{"tenant-a": 1}
			steps := []struct {
				name string
				do   func()
				want Counts
			}{
				{"a submit", func() { job = submitNew(t, s, request("cand-1")) },
					Counts{Queued: 1, Submitted: 1, QueueDepth: depth}},
				{"a dedupe hit", func() { _, _, err := s.Submit(t.Context(), request("cand-1")); must(err) },
					Counts{Queued: 1, Submitted: 1, QueueDepth: depth, DedupeHits: hits}},
				{"a lease", func() { l = mustLease(t, s) },
					Counts{Processing: 1, Submitted: 1, DedupeHits: hits}},
				{"a retryable failure", func() { _, err := s.Fail(t.Context(), l, JobError{Retryable: true}); must(err) },
					Counts{Delayed: 1, Submitted: 1, Retried: 1, DedupeHits: hits}},
				{"the retry's promotion", func() { b.makeDue(t, job.ID); _, _, err := s.promoteDue(t.Context()); must(err) },
					Counts{Queued: 1, Submitted: 1, Retried: 1, QueueDepth: depth, DedupeHits: hits}},
				{"a second lease", func() { l = mustLease(t, s) },
					Counts{Processing: 1, Submitted: 1, Retried: 1, DedupeHits: hits}},
				{"a release", func() { must(s.Release(t.Context(), l)) },
					Counts{Queued: 1, Submitted: 1, Retried: 1, QueueDepth: depth, DedupeHits: hits}},
				{"an expired lease on the last attempt", func() {
					b.expireLease(t, mustLease(t, s).Job.ID)
					_, _, err := s.RequeueExpired(t.Context())
					must(err)
				}, Counts{Submitted: 1, Failed: 1, Retried: 1, Expired: 1, DedupeHits: hits}},
				{"a dead letter's requeue", func() { _, err := s.RequeueDeadLetter(t.Context(), "tenant-a", job.ID); must(err) },
					Counts{Queued: 1, Submitted: 1, Failed: 1, Retried: 1, Expired: 1, QueueDepth: depth, DedupeHits: hits}},
				{"a completion", func() { must(s.Complete(t.Context(), mustLease(t, s), nil)) },
					Counts{Submitted: 1, Completed: 1, Failed: 1, Retried: 1, Expired: 1, DedupeHits: hits}},
			}
			for _, step := range steps {
				step.do()
				diffCounts(t, step.name, &step.want, mustCounts(t, s))
			}
		})
		t.Run("MatchTheTruthAfterARandomRun", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{MaxAttempts: 3, DeadLetterMax: 4})
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			run := &randomRun{t: t, s: s, b: b, rng: rand.New(rand.NewPCG(seed, seed)), dedupeHits: map[string]int64{}}
			for range 600 {
				run.step()
			}
			run.verify()
		})
	})
}

// randomRun drives a store through a seeded random mix of what happens to
// jobs: submits with dedupe hits and forces, leases, completions, retryable
// and final failures, killed workers whose leases expire, reaping,
// promotions, releases, rate-limit deferrals, dead-letter requeues, and stale
// holders acting. It
// keeps the truths that no scan of Redis can recover: events the store keeps
// no record of.
type randomRun struct {
	t       *testing.T
	s       *RedisStore
	b       *testBundle
	rng     *rand.Rand
	held    []*Lease // leases of live workers
	zombies []*Lease // leases of killed workers

	retried, expired, deadRequeued int64
	dedupeHits                     map[string]int64
}

var randomTenants = []string{"tenant-a", "tenant-b", "tenant-c"}

func (r *randomRun) step() {
	actions := []func(){
		r.submit, r.submit, r.submit, r.lease, r.lease, r.complete, r.failRetryable, r.failForGood,
		r.kill, r.reap, r.promote, r.release, r.deferForRateLimit, r.requeueDeadLetter, r.actAsZombie,
	}
	actions[r.rng.IntN(len(actions))]()
}

func (r *randomRun) check(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *randomRun) submit() {
	req := requestOf(randomTenants[r.rng.IntN(3)], fmt.Sprint("cand-", r.rng.IntN(20)))
	switch r.rng.IntN(10) {
	case 0:
		req.Force = true
	case 1, 2:
		req.IdempotencyKey = fmt.Sprint("key-", r.rng.IntN(5))
	}
	_, created, err := r.s.Submit(r.t.Context(), req)
	r.check(err)
	if !created {
		r.dedupeHits[req.TenantID]++
	}
}

func (r *randomRun) lease() {
	l, err := r.s.Lease(r.t.Context())
	r.check(err)
	if l != nil {
		r.held = append(r.held, l)
	}
}

// takeHeld removes and returns a random live lease, or nil.
func (r *randomRun) takeHeld() *Lease {
	if len(r.held) == 0 {
		return nil
	}
	i := r.rng.IntN(len(r.held))
	l := r.held[i]
	r.held = append(r.held[:i], r.held[i+1:]...)
	return l
}

func (r *randomRun) complete() {
	if l := r.takeHeld(); l != nil {
		r.check(r.s.Complete(r.t.Context(), l, nil))
	}
}

func (r *randomRun) failRetryable() {
	if l := r.takeHeld(); l != nil {
		requeued, err := r.s.Fail(r.t.Context(), l, JobError{Code: "python_crashed", Retryable: true})
		r.check(err)
		if requeued {
			r.retried++
		}
	}
}

func (r *randomRun) failForGood() {
	if l := r.takeHeld(); l != nil {
		_, err := r.s.Fail(r.t.Context(), l, JobError{Code: "invalid_candidate"})
		r.check(err)
	}
}

// kill loses a worker: its lease's deadline passes and it never acts again,
// until actAsZombie.
func (r *randomRun) kill() {
	if l := r.takeHeld(); l != nil {
		r.b.expireLease(r.t, l.Job.ID)
		r.zombies = append(r.zombies, l)
	}
}

func (r *randomRun) reap() {
	requeued, failed, err := r.s.RequeueExpired(r.t.Context())
	r.check(err)
	r.expired += int64(requeued + failed)
}

// promote makes a random retry due, and has either the promoter or a Lease
// move it.
func (r *randomRun) promote() {
	ids := r.b.client.ZRange(r.t.Context(), r.b.keys.delayed(), 0, -1).Val()
	if len(ids) == 0 {
		return
	}
	r.b.makeDue(r.t, ids[r.rng.IntN(len(ids))])
	if r.rng.IntN(2) == 0 {
		_, _, err := r.s.promoteDue(r.t.Context())
		r.check(err)
		return
	}
	r.lease()
}

func (r *randomRun) release() {
	if l := r.takeHeld(); l != nil {
		r.check(r.s.Release(r.t.Context(), l))
	}
}

func (r *randomRun) deferForRateLimit() {
	if l := r.takeHeld(); l != nil {
		r.check(r.s.DeferForRateLimit(r.t.Context(), l, RateLimitDeferral{After: time.Minute, Since: testNow}))
	}
}

func (r *randomRun) requeueDeadLetter() {
	tenant := randomTenants[r.rng.IntN(3)]
	ids := r.b.client.LRange(r.t.Context(), r.b.keys.deadLetters(tenant), 0, -1).Val()
	if len(ids) == 0 {
		return
	}
	_, err := r.s.RequeueDeadLetter(r.t.Context(), tenant, ids[r.rng.IntN(len(ids))])
	r.check(err)
	r.deadRequeued++
}

// actAsZombie has a killed worker come back and try to finish its job: the
// store must refuse it whatever happened to the job meanwhile.
func (r *randomRun) actAsZombie() {
	if len(r.zombies) == 0 {
		return
	}
	l := r.zombies[r.rng.IntN(len(r.zombies))]
	var err error
	switch r.rng.IntN(5) {
	case 0:
		err = r.s.Complete(r.t.Context(), l, nil)
	case 4:
		err = r.s.DeferForRateLimit(r.t.Context(), l, RateLimitDeferral{After: time.Minute, Since: testNow})
	case 1:
		_, err = r.s.Fail(r.t.Context(), l, JobError{Code: "python_crashed", Retryable: true})
	case 2:
		err = r.s.Release(r.t.Context(), l)
	default:
		err = r.s.Heartbeat(r.t.Context(), l)
	}
	if !errors.Is(err, ErrLeaseLost) {
		r.t.Fatalf("a killed worker's call = %v, want ErrLeaseLost", err)
	}
}

// verify compares every counter with the truth: a scan of the job records,
// the queues and the sets, plus the events kept by the run.
func (r *randomRun) verify() {
	r.t.Helper()
	ctx := r.t.Context()
	statuses := map[Status]int64{}
	for _, key := range r.b.storeKeys(r.t, "job:*") {
		statuses[Status(r.b.client.HGet(ctx, key, fieldStatus).Val())]++
	}
	want := &Counts{
		Delayed:    r.b.client.ZCard(ctx, r.b.keys.delayed()).Val(),
		Processing: r.b.client.ZCard(ctx, r.b.keys.leases()).Val(),
		Submitted:  statuses[StatusQueued] + statuses[StatusProcessing] + statuses[StatusCompleted] + statuses[StatusFailed],
		Completed:  statuses[StatusCompleted],
		Failed:     statuses[StatusFailed] + r.deadRequeued,
		Retried:    r.retried,
		Expired:    r.expired,
		QueueDepth: map[string]int64{},
		DedupeHits: r.dedupeHits,
	}
	var ring []string
	for _, tenant := range randomTenants {
		if n := int64(len(r.b.ready(r.t, tenant))); n > 0 {
			want.QueueDepth[tenant] = n
			want.Queued += n
			ring = append(ring, tenant)
		}
	}
	diffCounts(r.t, "a random run", want, mustCounts(r.t, r.s))
	if statuses[StatusQueued] != want.Queued+want.Delayed || statuses[StatusProcessing] != want.Processing {
		r.t.Errorf("records by status %v, want %d queued or delayed and %d processing",
			statuses, want.Queued+want.Delayed, want.Processing)
	}
	gotRing := r.b.client.LRange(ctx, r.b.keys.ring(), 0, -1).Val()
	if diff := cmp.Diff(ring, gotRing, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
		r.t.Errorf("ring of tenants with work (-want +got):\n%s", diff)
	}
}
