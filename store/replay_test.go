package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// These tests put a redistest.Proxy between the store's client and a real
// redis-server and break single commands the way networks and failovers do:
// the reply is lost after Redis ran the command, the connection resets in the
// middle of sending it, or the reply comes after the client's read timeout.
// go-redis then sends the same command again (MaxRetries), so a script that
// already ran runs twice; each must do what one run does.

// replayReadTimeout is the faulty client's read timeout; the proxy holds a
// delayed reply three times as long, so the client always gives up on it.
const replayReadTimeout = 200 * time.Millisecond

// allScripts lists every script the store runs, to load them before a test
// breaks one: a fault should hit the EVALSHA that runs the script, not the
// first one that finds it missing.
var allScripts = []*redis.Script{
	submitScript, recordBatchScript, leaseScript, heartbeatScript, releaseScript, completeScript,
	failScript, checkpointScript, requeueExpiredScript, promoteScript, requeueDeadLetterScript,
	addTokensScript, leaseBatchScript, heartbeatManyScript, deferScript,
}

// faulty is a store whose client goes through a proxy, beside a clean store
// on the same keys for checking what Redis holds.
type faulty struct {
	*RedisStore
	clean *RedisStore
	b     *testBundle
	proxy *redistest.Proxy
}

// setupFaulty returns a store reaching the shared redis-server through a
// proxy, with retries on and a short read timeout.
func setupFaulty(t *testing.T, cfg Config) *faulty {
	t.Helper()
	clean, b := setup(t, redisBackend, cfg)
	for _, script := range allScripts {
		if err := script.Load(t.Context(), b.client).Err(); err != nil {
			t.Fatalf("SCRIPT LOAD: %v", err)
		}
	}
	proxy := redistest.StartProxy(t, shared.redisOptions(t).Addr)
	proxy.SetDelay(3 * replayReadTimeout)
	// RESP2 and no CLIENT SETINFO: a new connection sends nothing before its
	// first command, so a stall of the loaded test machine cannot fail a
	// connection's handshake, which go-redis does not retry.
	client := redis.NewClient(&redis.Options{
		Addr: proxy.Addr(), MaxRetries: 10, ReadTimeout: replayReadTimeout, Protocol: 2, DisableIdentity: true,
		MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond,
	})
	t.Cleanup(func() { _ = client.Close() })
	s, err := NewRedisStore(client, clean.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &faulty{RedisStore: s, clean: clean, b: b, proxy: proxy}
}

// runs matches the EVALSHA of script.
func runs(script *redis.Script) func(redistest.Command) bool {
	return func(c redistest.Command) bool {
		return c.Name == "EVALSHA" && len(c.Args) > 0 && c.Args[0] == script.Hash()
	}
}

// replayFaults are the faults after which the client's retry is a replay
// (Redis already ran the command), and the one after which it is not.
var replayFaults = []redistest.Fault{redistest.DropReply, redistest.DelayReply, redistest.ResetMidCommand}

// breakOnce makes the next run of script meet fault, and returns a check that
// it did.
func (f *faulty) breakOnce(t *testing.T, script *redis.Script, fault redistest.Fault) func() {
	t.Helper()
	f.proxy.SetRule(redistest.Once(runs(script), fault))
	return func() {
		t.Helper()
		if n := f.proxy.Injected(fault); n != 1 {
			t.Fatalf("the proxy injected %s %d times, want 1", fault, n)
		}
	}
}

// checkConsistent fails t unless the counters equal what a scan of Redis
// finds and no job id is in two places (two queues, a queue and a set, or
// one queue twice).
func (f *faulty) checkConsistent(t *testing.T, tenants ...string) {
	t.Helper()
	ctx := t.Context()
	c := mustCounts(t, f.clean)
	seen := map[string]string{}
	place := func(where string, ids []string) {
		for _, id := range ids {
			if other, dup := seen[id]; dup {
				t.Errorf("job %s is in %s and in %s", id, other, where)
			}
			seen[id] = where
		}
	}
	var queued int64
	depth := map[string]int64{}
	for _, tenant := range tenants {
		ids := f.b.ready(t, tenant)
		place("queues of "+tenant, ids)
		queued += int64(len(ids))
		if len(ids) > 0 {
			depth[tenant] = int64(len(ids))
		}
	}
	leased := f.b.client.ZRange(ctx, f.b.keys.leases(), 0, -1).Val()
	delayed := f.b.client.ZRange(ctx, f.b.keys.delayed(), 0, -1).Val()
	place("leases", leased)
	place("delayed", delayed)
	got := []int64{c.Queued, c.Delayed, c.Processing}
	want := []int64{queued, int64(len(delayed)), int64(len(leased))}
	if !slices.Equal(got, want) {
		t.Errorf("counters queued/delayed/processing = %v, a scan of Redis finds %v", got, want)
	}
	if diff := cmp.Diff(depth, c.QueueDepth); diff != "" {
		t.Errorf("depth per tenant (-scan +counter):\n%s", diff)
	}
}

func TestReplayedScriptsHaveOneEffect(t *testing.T) {
	t.Parallel()
	for _, fault := range replayFaults {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			t.Run("ForcedSubmitQueuesOneJob", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				injected := f.breakOnce(t, submitScript, fault)
				req := request("cand-1")
				req.Force = true
				job, created, err := f.Submit(t.Context(), req)
				if err != nil || !created {
					t.Fatalf("Submit = %v, created %v; want a new job", err, created)
				}
				injected()
				if diff := cmp.Diff([]string{job.ID}, f.b.queue(t)); diff != "" {
					t.Errorf("queue (-want +got):\n%s", diff)
				}
				if c := mustCounts(t, f.clean); c.Submitted != 1 || c.Queued != 1 {
					t.Errorf("submitted %d, queued %d; want 1 and 1", c.Submitted, c.Queued)
				}
			})
			t.Run("TokenUsageIsAddedOnce", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				job := submitNew(t, f.clean, request("cand-1"))
				injected := f.breakOnce(t, addTokensScript, fault)
				u := TokenUsage{PromptTokens: 900, CompletionTokens: 400, TotalTokens: 1300}
				if err := f.AddTokenUsage(t.Context(), job.ID, u); err != nil {
					t.Fatalf("AddTokenUsage: %v", err)
				}
				injected()
				if got := mustGet(t, f.clean, job.ID).TokenUsage; got != u {
					t.Errorf("token usage = %+v, want %+v", got, u)
				}
			})
			t.Run("DedupedSubmitCountsOneHit", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				first := submitNew(t, f.clean, request("cand-1"))
				injected := f.breakOnce(t, submitScript, fault)
				job, created, err := f.Submit(t.Context(), request("cand-1"))
				if err != nil || created || job.ID != first.ID {
					t.Fatalf("Submit = %v, created %v, job %v; want a dedupe to %s", err, created, job, first.ID)
				}
				injected()
				if c := mustCounts(t, f.clean); c.Submitted != 1 || c.DedupeHits["tenant-a"] != 1 {
					t.Errorf("submitted %d, dedupe hits %d; want 1 and 1", c.Submitted, c.DedupeHits["tenant-a"])
				}
			})
			t.Run("LeaseReturnsTheSameLease", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				first := submitNew(t, f.clean, request("cand-1"))
				second := submitNew(t, f.clean, request("cand-2"))
				injected := f.breakOnce(t, leaseScript, fault)
				l := mustLease(t, f.RedisStore)
				injected()
				if l.Job.ID != first.ID || l.Job.Attempts != 1 {
					t.Fatalf("leased job %s with %d attempts, want %s with 1", l.Job.ID, l.Job.Attempts, first.ID)
				}
				if diff := cmp.Diff([]string{second.ID}, f.b.queue(t)); diff != "" {
					t.Errorf("queue (-want +got):\n%s", diff)
				}
				if err := f.clean.Complete(t.Context(), l, json.RawMessage(`{}`)); err != nil {
					t.Errorf("Complete with the lease Lease returned: %v", err)
				}
				f.checkConsistent(t, "tenant-a")
			})
			t.Run("CompleteSucceedsOnce", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				submitNew(t, f.clean, request("cand-1"))
				l := mustLease(t, f.clean)
				injected := f.breakOnce(t, completeScript, fault)
				if err := f.Complete(t.Context(), l, json.RawMessage(`{"ok":true}`)); err != nil {
					t.Fatalf("Complete: %v", err)
				}
				injected()
				if c := mustCounts(t, f.clean); c.Completed != 1 || c.Processing != 0 {
					t.Errorf("completed %d, processing %d; want 1 and 0", c.Completed, c.Processing)
				}
			})
			t.Run("RetryableFailSchedulesOneRetry", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				submitNew(t, f.clean, request("cand-1"))
				l := mustLease(t, f.clean)
				injected := f.breakOnce(t, failScript, fault)
				requeued, err := f.Fail(t.Context(), l, JobError{Code: "python_timeout", Retryable: true})
				if err != nil || !requeued {
					t.Fatalf("Fail = %v, requeued %v; want a retry", err, requeued)
				}
				injected()
				if c := mustCounts(t, f.clean); c.Delayed != 1 || c.Retried != 1 || c.Processing != 0 {
					t.Errorf("delayed %d, retried %d, processing %d; want 1, 1, 0", c.Delayed, c.Retried, c.Processing)
				}
				f.checkConsistent(t, "tenant-a")
			})
			t.Run("FinalFailDeadLettersOnce", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{MaxAttempts: 1})
				job := submitNew(t, f.clean, request("cand-1"))
				l := mustLease(t, f.clean)
				injected := f.breakOnce(t, failScript, fault)
				requeued, err := f.Fail(t.Context(), l, JobError{Code: "invalid_candidate"})
				if err != nil || requeued {
					t.Fatalf("Fail = %v, requeued %v; want failed for good", err, requeued)
				}
				injected()
				dead := f.b.client.LRange(t.Context(), f.b.keys.deadLetters("tenant-a"), 0, -1).Val()
				if diff := cmp.Diff([]string{job.ID}, dead); diff != "" {
					t.Errorf("dead letters (-want +got):\n%s", diff)
				}
				if c := mustCounts(t, f.clean); c.Failed != 1 {
					t.Errorf("failed %d, want 1", c.Failed)
				}
			})
			t.Run("ReleaseQueuesOnce", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				job := submitNew(t, f.clean, request("cand-1"))
				l := mustLease(t, f.clean)
				injected := f.breakOnce(t, releaseScript, fault)
				if err := f.Release(t.Context(), l); err != nil {
					t.Fatalf("Release: %v", err)
				}
				injected()
				if diff := cmp.Diff([]string{job.ID}, f.b.queue(t)); diff != "" {
					t.Errorf("queue (-want +got):\n%s", diff)
				}
				if got := mustGet(t, f.clean, job.ID).Attempts; got != 0 {
					t.Errorf("attempts %d after a release, want 0", got)
				}
				f.checkConsistent(t, "tenant-a")
			})
			t.Run("DeferForRateLimitCountsTheWaitOnce", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				job := submitNew(t, f.clean, request("cand-1"))
				l := mustLease(t, f.clean)
				injected := f.breakOnce(t, deferScript, fault)
				err := f.DeferForRateLimit(t.Context(), l, RateLimitDeferral{After: time.Minute, Waited: time.Second, Since: testNow})
				if err != nil {
					t.Fatalf("DeferForRateLimit: %v", err)
				}
				injected()
				got := mustGet(t, f.clean, job.ID)
				if got.Status != StatusQueued || got.Attempts != 0 || got.RateLimitWait != 61*time.Second {
					t.Errorf("job %s after %d attempts, waited %s; want queued, 0, 61s (counted once)", got.Status, got.Attempts, got.RateLimitWait)
				}
				if c := mustCounts(t, f.clean); c.Delayed != 1 || c.Processing != 0 {
					t.Errorf("delayed %d, processing %d; want 1 and 0", c.Delayed, c.Processing)
				}
				f.checkConsistent(t, "tenant-a")
			})
			t.Run("RequeueDeadLetterQueuesOnce", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{MaxAttempts: 1})
				job := submitNew(t, f.clean, request("cand-1"))
				if _, err := f.clean.Fail(t.Context(), mustLease(t, f.clean), JobError{Code: "x"}); err != nil {
					t.Fatal(err)
				}
				injected := f.breakOnce(t, requeueDeadLetterScript, fault)
				got, err := f.RequeueDeadLetter(t.Context(), "tenant-a", job.ID)
				if err != nil || got.Status != StatusQueued {
					t.Fatalf("RequeueDeadLetter = %v, %v; want the job queued", got, err)
				}
				injected()
				if diff := cmp.Diff([]string{job.ID}, f.b.queue(t)); diff != "" {
					t.Errorf("queue (-want +got):\n%s", diff)
				}
				f.checkConsistent(t, "tenant-a")
			})
		})
	}
}

// TestAReplayedCombinedSubmitCallHasOneEffect breaks a call of submitScript
// that carries several submits at once (as submitQueue makes them): new
// candidates, a force, and a submit that dedupes to one made earlier in the
// same call. Its replay must answer each as the first run did.
func TestAReplayedCombinedSubmitCallHasOneEffect(t *testing.T) {
	t.Parallel()
	for _, fault := range replayFaults {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			f := setupFaulty(t, Config{})
			forced := request("cand-3")
			forced.Force = true
			var submits []*pendingSubmit
			for _, req := range []SubmitRequest{request("cand-1"), request("cand-2"), forced, request("cand-1")} {
				job, dedupeKey, err := f.newJob(req)
				if err != nil {
					t.Fatal(err)
				}
				submits = append(submits, &pendingSubmit{tenantID: req.TenantID, force: req.Force, job: job, dedupeKey: dedupeKey})
			}
			injected := f.breakOnce(t, submitScript, fault)
			replies, err := f.runSubmits(t.Context(), submits)
			if err != nil {
				t.Fatalf("runSubmits: %v", err)
			}
			injected()
			var ids []string
			for i, reply := range replies {
				job, created, err := submitted(submits[i].job, reply)
				if err != nil {
					t.Fatal(err)
				}
				if wantNew := i < 3; created != wantNew {
					t.Errorf("submit %d created %v, want %v", i, created, wantNew)
				}
				ids = append(ids, job.ID)
			}
			if ids[3] != ids[0] {
				t.Errorf("the second submit of cand-1 resolved to %s, want the first's job %s", ids[3], ids[0])
			}
			if diff := cmp.Diff([]string{ids[2], ids[0], ids[1]}, f.b.queue(t)); diff != "" {
				t.Errorf("queue in lease order (-want +got):\n%s", diff)
			}
			if c := mustCounts(t, f.clean); c.Submitted != 3 || c.DedupeHits["tenant-a"] != 1 {
				t.Errorf("submitted %d, dedupe hits %d; want 3 and 1", c.Submitted, c.DedupeHits["tenant-a"])
			}
			if n := f.b.client.LLen(t.Context(), f.b.keys.wakeup()).Val(); n != 3 {
				t.Errorf("%d wake tokens, want 3", n)
			}
			f.checkConsistent(t, "tenant-a")
		})
	}
}

func TestReplayedBatchPipelineRecordsWhatItResolved(t *testing.T) {
	t.Parallel()
	for _, fault := range replayFaults {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			f := setupFaulty(t, Config{})
			// Break the second submit of the pipeline: go-redis sends the
			// whole pipeline again, so the first submit runs twice.
			seen := 0
			f.proxy.SetRule(func(c redistest.Command) redistest.Fault {
				if runs(submitScript)(c) {
					if seen++; seen == 2 {
						return fault
					}
				}
				return redistest.Pass
			})
			reqs := []SubmitRequest{{CandidateID: "a", Force: true}, {CandidateID: "a", Force: true}, {CandidateID: "b"}}
			batch, results, err := f.SubmitBatch(t.Context(), "tenant-a", reqs)
			if err != nil {
				t.Fatalf("SubmitBatch: %v", err)
			}
			var ids []string
			for _, r := range results {
				ids = append(ids, r.Job.ID)
			}
			stored, err := f.clean.GetBatch(t.Context(), "tenant-a", batch.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ids, stored.JobIDs); diff != "" {
				t.Errorf("recorded batch (-resolved +recorded):\n%s", diff)
			}
			if c := mustCounts(t, f.clean); c.Submitted != 3 || c.Queued != 3 {
				t.Errorf("submitted %d, queued %d; want 3 and 3", c.Submitted, c.Queued)
			}
			f.checkConsistent(t, "tenant-a")
		})
	}
}

// TestUnderRandomFaultsNothingIsLostOrDoubled runs a workload of submits,
// batches, leases, completions, retries, releases, rate-limit deferrals and
// dead-letter requeues through a proxy that breaks one script run in ten at
// random, and checks the store's properties at the end: every call succeeded
// (a replay answered what the first run did), every job ended exactly once, no
// lease was orphaned (none expired), and the counters equal a scan of Redis.
func TestUnderRandomFaultsNothingIsLostOrDoubled(t *testing.T) {
	t.Parallel()
	f := setupFaulty(t, Config{MaxAttempts: 3, RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond,
		LeaseDuration: time.Minute})
	rng := rand.New(rand.NewPCG(15, 15))
	f.proxy.SetRule(func(c redistest.Command) redistest.Fault {
		// Only the scripts: what is under test is a replay of a state
		// change, not the client's connection handshake.
		if c.Name != "EVALSHA" || rng.IntN(10) > 0 {
			return redistest.Pass
		}
		return replayFaults[rng.IntN(len(replayFaults))]
	})
	tenants := []string{"t1", "t2", "t3"}
	const perTenant = 40
	var submitted []string
	for i := range perTenant {
		for _, tenant := range tenants {
			req := requestOf(tenant, fmt.Sprintf("c%d", i))
			req.Force = i%7 == 0
			job, _, err := f.Submit(t.Context(), req)
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			submitted = append(submitted, job.ID)
		}
	}
	for _, tenant := range tenants {
		_, results, err := f.SubmitBatch(t.Context(), tenant, []SubmitRequest{{CandidateID: "c1"}, {CandidateID: "b1", Force: true},
			{CandidateID: "b1", Force: true}})
		if err != nil {
			t.Fatalf("SubmitBatch: %v", err)
		}
		for _, r := range results {
			if r.Created {
				submitted = append(submitted, r.Job.ID)
			}
		}
	}
	f.work(t, 4)
	requeued := f.requeueDeadLetters(t, tenants)
	f.work(t, 4)

	c := mustCounts(t, f.clean)
	ended := map[Status]int64{}
	for _, id := range submitted {
		job := mustGet(t, f.clean, id)
		if job.Status != StatusCompleted && job.Status != StatusFailed {
			t.Errorf("job %s ended %s", id, job.Status)
		}
		ended[job.Status]++
	}
	// A requeued dead letter failed once before it ended again.
	if c.Submitted != int64(len(submitted)) || c.Completed != ended[StatusCompleted] ||
		c.Failed != ended[StatusFailed]+requeued || c.Expired != 0 {
		t.Errorf("counts %+v; want %d submitted, %d completed, %d+%d failed, none expired",
			c, len(submitted), ended[StatusCompleted], ended[StatusFailed], requeued)
	}
	f.checkConsistent(t, tenants...)
	t.Logf("%d jobs; faults injected: %d drop-reply, %d reset-mid-command, %d delay-reply", len(submitted), f.proxy.Injected(redistest.DropReply),
		f.proxy.Injected(redistest.ResetMidCommand), f.proxy.Injected(redistest.DelayReply))
	if f.proxy.Injected(redistest.DropReply) == 0 || f.proxy.Injected(redistest.DelayReply) == 0 {
		t.Error("the proxy injected too few faults for the test to mean anything")
	}
}

// work runs n workers through the faulty store until no job is queued,
// delayed or leased. Each job's outcome is drawn at random: complete, a
// retryable failure, a final failure, a release or a deferral for the rate limit.
func (f *faulty) work(t *testing.T, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			if err := f.workUntilIdle(t, rng); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func (f *faulty) workUntilIdle(t *testing.T, rng *rand.Rand) error {
	ctx := t.Context()
	for {
		l, err := f.Lease(ctx)
		if err != nil {
			return fmt.Errorf("Lease: %w", err)
		}
		if l == nil {
			c, err := f.clean.Counts(ctx)
			if err != nil {
				return err
			}
			// Jobs leased by other workers are theirs to end (a worker
			// that releases or retries a job leases it again itself).
			if c.Queued+c.Delayed == 0 {
				return nil
			}
			if _, _, err := f.promoteDue(ctx); err != nil {
				return fmt.Errorf("promote: %w", err)
			}
			continue
		}
		if err := f.Heartbeat(ctx, l); err != nil {
			return fmt.Errorf("Heartbeat: %w", err)
		}
		switch rng.IntN(6) {
		case 0:
			_, err = f.Fail(ctx, l, JobError{Code: "python_timeout", Retryable: true})
		case 4:
			err = f.DeferForRateLimit(ctx, l, RateLimitDeferral{After: time.Millisecond, Waited: time.Millisecond, Since: testNow})
		case 1:
			_, err = f.Fail(ctx, l, JobError{Code: "invalid_candidate"})
		case 2:
			err = f.Release(ctx, l)
		default:
			if err = f.SaveCheckpoint(ctx, l, json.RawMessage(`{"step":1}`)); err == nil {
				err = f.Complete(ctx, l, json.RawMessage(`{"ok":true}`))
			}
		}
		if err != nil {
			return fmt.Errorf("ending the lease of %s: %w", l.Job.ID, err)
		}
	}
}

// requeueDeadLetters requeues every dead letter through the faulty store and
// returns how many it requeued.
func (f *faulty) requeueDeadLetters(t *testing.T, tenants []string) int64 {
	t.Helper()
	var n int64
	for _, tenant := range tenants {
		dead, err := f.clean.DeadLetters(t.Context(), tenant, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, job := range dead {
			if _, err := f.RequeueDeadLetter(t.Context(), tenant, job.ID); err != nil {
				t.Fatalf("RequeueDeadLetter: %v", err)
			}
			n++
		}
	}
	return n
}

func TestALeaseWhoseReplyNeverCameIsGivenBackUncharged(t *testing.T) {
	t.Parallel()
	for _, fault := range []redistest.Fault{redistest.DropReply, redistest.DelayReply} {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			f := setupFaulty(t, Config{})
			// No retries: the client gives up on the lost reply, as one whose
			// retries all failed or whose context ended would.
			client := redis.NewClient(&redis.Options{Addr: f.proxy.Addr(), MaxRetries: -1, ReadTimeout: replayReadTimeout})
			t.Cleanup(func() { _ = client.Close() })
			giveUp, err := NewRedisStore(client, f.clean.cfg)
			if err != nil {
				t.Fatal(err)
			}
			job := submitNew(t, f.clean, request("cand-1"))
			injected := f.breakOnce(t, leaseScript, fault)
			if l, err := giveUp.Lease(t.Context()); err == nil {
				t.Fatalf("Lease = %v, want the lost reply's error", l)
			}
			injected()
			if got := mustGet(t, f.clean, job.ID); got.Status != StatusQueued || got.Attempts != 0 {
				t.Errorf("job %s after %d attempts, want queued with none charged", got.Status, got.Attempts)
			}
			f.checkConsistent(t, "tenant-a")
			if l := mustLease(t, f.clean); l.Job.ID != job.ID || l.Job.Attempts != 1 {
				t.Errorf("next lease %s with %d attempts, want %s with 1", l.Job.ID, l.Job.Attempts, job.ID)
			}
		})
	}
	t.Run("ALateRunOfAnAbandonedLeaseLeasesNothing", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, redisBackend, Config{})
		job := submitNew(t, s, request("cand-1"))
		token := newToken()
		s.abandonLease(t.Context(), token)
		reply, err := s.leaseOnce(t.Context(), token)
		if err != nil || len(reply) != 1 || reply[0] != "empty" {
			t.Fatalf("the abandoned call's late run = %v, %v; want empty", reply, err)
		}
		if diff := cmp.Diff([]string{job.ID}, b.queue(t)); diff != "" {
			t.Errorf("queue (-want +got):\n%s", diff)
		}
	})
}
