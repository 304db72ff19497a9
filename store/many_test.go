package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// submitJobs submits n jobs of tenant-a and returns their ids in submit order.
func submitJobs(t *testing.T, s *RedisStore, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = submitNew(t, s, request(fmt.Sprint("cand-", i))).ID
	}
	return ids
}

func leasedIDs(leases []*Lease) []string {
	ids := make([]string, len(leases))
	for i, l := range leases {
		ids[i] = l.Job.ID
	}
	return ids
}

func TestLeaseBatch(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("LeasesUpToNInLeaseOrderAndCountsEach", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{LeaseDuration: 30 * time.Second})
			ids := submitJobs(t, s, 5)
			leases, err := s.LeaseBatch(t.Context(), 3)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ids[:3], leasedIDs(leases)); diff != "" {
				t.Errorf("leased (-want +got):\n%s", diff)
			}
			for _, l := range leases {
				if l.Job.Status != StatusProcessing || l.Job.Attempts != 1 {
					t.Errorf("job %s %s with %d attempts, want processing with 1", l.Job.ID, l.Job.Status, l.Job.Attempts)
				}
				if score, ok := b.leaseScore(t, l.Job.ID); !ok || score != l.Deadline.UnixMilli() {
					t.Errorf("lease set score %d (present %v), want %d", score, ok, l.Deadline.UnixMilli())
				}
			}
			if c := mustCounts(t, s); c.Processing != 3 || c.Queued != 2 {
				t.Errorf("processing %d, queued %d; want 3 and 2", c.Processing, c.Queued)
			}
			rest, err := s.LeaseBatch(t.Context(), 10)
			if err != nil || len(rest) != 2 {
				t.Fatalf("second LeaseBatch = %d leases, %v; want the 2 left", len(rest), err)
			}
			none, err := s.LeaseBatch(t.Context(), 10)
			if err != nil || len(none) != 0 {
				t.Errorf("LeaseBatch of an empty queue = %d leases, %v; want none", len(none), err)
			}
		})
		t.Run("EachLeaseIsFencedOnItsOwn", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			submitJobs(t, s, 2)
			leases, err := s.LeaseBatch(t.Context(), 2)
			if err != nil || len(leases) != 2 {
				t.Fatalf("LeaseBatch = %d, %v", len(leases), err)
			}
			b.expireLease(t, leases[0].Job.ID)
			if err := s.Complete(t.Context(), leases[0], nil); err != ErrLeaseLost {
				t.Errorf("Complete of the expired lease = %v, want ErrLeaseLost", err)
			}
			if err := s.Complete(t.Context(), leases[1], nil); err != nil {
				t.Errorf("Complete of its batch-mate: %v", err)
			}
		})
		t.Run("RejectsABadSize", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			for _, n := range []int{0, MaxLeaseBatch + 1} {
				if _, err := s.LeaseBatch(t.Context(), n); err == nil {
					t.Errorf("LeaseBatch(%d) = nil error", n)
				}
			}
		})
	})
}

func TestHeartbeatMany(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		s, b := setup(t, bk, Config{LeaseDuration: time.Minute})
		submitJobs(t, s, 3)
		leases, err := s.LeaseBatch(t.Context(), 3)
		if err != nil || len(leases) != 3 {
			t.Fatalf("LeaseBatch = %d, %v", len(leases), err)
		}
		b.expireLease(t, leases[1].Job.ID)
		// Bring the kept ones near their end too, so a renewal is visible.
		soon := b.serverNow(t).Add(time.Second)
		before := []time.Time{soon, soon}
		for _, id := range []string{leases[0].Job.ID, leases[2].Job.ID} {
			if err := b.client.ZAddXX(t.Context(), b.keys.leases(), redis.Z{Score: float64(soon.UnixMilli()), Member: id}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		lost, err := s.HeartbeatMany(t.Context(), leases)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{leases[1].Job.ID}, leasedIDs(lost)); diff != "" {
			t.Errorf("lost (-want +got):\n%s", diff)
		}
		for i, l := range []*Lease{leases[0], leases[2]} {
			score, _ := b.leaseScore(t, l.Job.ID)
			if score != l.Deadline.UnixMilli() || !l.Deadline.After(before[i].Add(30*time.Second)) {
				t.Errorf("job %s: lease score %d, Deadline %s (was %s); want the renewed deadline in both",
					l.Job.ID, score, l.Deadline, before[i])
			}
		}
	})
}

func TestEndMany(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("CompletesAndFailsEachAsItsOwnCallWould", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{MaxAttempts: 2})
			ids := submitJobs(t, s, 4)
			leases, err := s.LeaseBatch(t.Context(), 4)
			if err != nil || len(leases) != 4 {
				t.Fatalf("LeaseBatch = %d, %v", len(leases), err)
			}
			b.expireLease(t, ids[3])
			ended := s.EndMany(t.Context(), []Ending{
				{Lease: leases[0], Result: json.RawMessage(`{"n":0}`)},
				{Lease: leases[1], Failure: &JobError{Code: "python_timeout", Retryable: true}},
				{Lease: leases[2], Failure: &JobError{Code: "invalid_candidate"}},
				{Lease: leases[3], Result: json.RawMessage(`{"n":3}`)},
			})
			want := []Ended{{}, {Requeued: true}, {}, {Err: ErrLeaseLost}}
			if diff := cmp.Diff(want, ended, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("ended (-want +got):\n%s", diff)
			}
			if got := mustGet(t, s, ids[0]); got.Status != StatusCompleted || string(got.Result) != `{"n":0}` {
				t.Errorf("job 0 %s with result %s", got.Status, got.Result)
			}
			if got := mustGet(t, s, ids[2]); got.Status != StatusFailed || got.ErrorCode != "invalid_candidate" {
				t.Errorf("job 2 %s %q, want failed invalid_candidate", got.Status, got.ErrorCode)
			}
			c := mustCounts(t, s)
			if c.Completed != 1 || c.Failed != 1 || c.Delayed != 1 || c.Processing != 1 {
				t.Errorf("completed %d failed %d delayed %d processing %d; want 1 1 1 1 (the lost lease still counts)",
					c.Completed, c.Failed, c.Delayed, c.Processing)
			}
		})
		t.Run("RunsWhenRedisLostItsScripts", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			ids := submitJobs(t, s, 2)
			leases, err := s.LeaseBatch(t.Context(), 2)
			if err != nil || len(leases) != 2 {
				t.Fatalf("LeaseBatch = %d, %v", len(leases), err)
			}
			if err := b.node(t).ScriptFlush(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
			for i, e := range s.EndMany(t.Context(), []Ending{{Lease: leases[0]}, {Lease: leases[1]}}) {
				if e.Err != nil {
					t.Errorf("ending %d: %v", i, e.Err)
				}
			}
			for _, id := range ids {
				if got := mustGet(t, s, id); got.Status != StatusCompleted {
					t.Errorf("job %s is %s, want completed", id, got.Status)
				}
			}
		})
	})
}

func TestReplayedBatchCallsHaveOneEffect(t *testing.T) {
	t.Parallel()
	for _, fault := range replayFaults {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			t.Run("LeaseBatchReturnsTheSameLeases", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				ids := submitJobs(t, f.clean, 3)
				injected := f.breakOnce(t, leaseBatchScript, fault)
				leases, err := f.LeaseBatch(t.Context(), 2)
				if err != nil {
					t.Fatal(err)
				}
				injected()
				if diff := cmp.Diff(ids[:2], leasedIDs(leases)); diff != "" {
					t.Fatalf("leased (-want +got):\n%s", diff)
				}
				for _, l := range leases {
					if l.Job.Attempts != 1 {
						t.Errorf("job %s leased with %d attempts, want 1", l.Job.ID, l.Job.Attempts)
					}
				}
				if diff := cmp.Diff(ids[2:], f.b.queue(t)); diff != "" {
					t.Errorf("queue (-want +got):\n%s", diff)
				}
				f.checkConsistent(t, "tenant-a")
			})
			t.Run("EndManyEndsEachOnce", func(t *testing.T) {
				t.Parallel()
				f := setupFaulty(t, Config{})
				submitJobs(t, f.clean, 3)
				leases, err := f.clean.LeaseBatch(t.Context(), 3)
				if err != nil || len(leases) != 3 {
					t.Fatalf("LeaseBatch = %d, %v", len(leases), err)
				}
				// Break the second completion: go-redis sends the whole pipeline
				// again, so the first runs twice.
				seen := 0
				f.proxy.SetRule(func(c redistest.Command) redistest.Fault {
					if runs(completeScript)(c) {
						if seen++; seen == 2 {
							return fault
						}
					}
					return redistest.Pass
				})
				endings := []Ending{{Lease: leases[0]}, {Lease: leases[1]}, {Lease: leases[2], Failure: &JobError{Code: "x", Retryable: true}}}
				for i, e := range f.EndMany(t.Context(), endings) {
					if e.Err != nil {
						t.Errorf("ending %d: %v", i, e.Err)
					}
				}
				if n := f.proxy.Injected(fault); n != 1 {
					t.Fatalf("the proxy injected %s %d times, want 1", fault, n)
				}
				if c := mustCounts(t, f.clean); c.Completed != 2 || c.Retried != 1 || c.Processing != 0 {
					t.Errorf("completed %d, retried %d, processing %d; want 2, 1, 0", c.Completed, c.Retried, c.Processing)
				}
				f.checkConsistent(t, "tenant-a")
			})
		})
	}
}

// A fault on any one command fails a pipeline, and go-redis's retries send it
// whole again: a long pipeline on a faulty link can fail every attempt. What
// its commands could not finish is sent again alone, and ends once.
func TestEndManyWhosePipelineFailsEveryRetryEndsEachJobAlone(t *testing.T) {
	t.Parallel()
	for _, fault := range replayFaults {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			f := setupFaulty(t, Config{})
			client := redis.NewClient(&redis.Options{
				Addr: f.proxy.Addr(), MaxRetries: 1, ReadTimeout: replayReadTimeout, Protocol: 2, DisableIdentity: true,
				MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond,
			})
			t.Cleanup(func() { _ = client.Close() })
			oneRetry, err := NewRedisStore(client, f.clean.cfg)
			if err != nil {
				t.Fatal(err)
			}
			submitJobs(t, f.clean, 3)
			leases, err := f.clean.LeaseBatch(t.Context(), 3)
			if err != nil || len(leases) != 3 {
				t.Fatalf("LeaseBatch = %d, %v", len(leases), err)
			}
			// The first completion of the pipeline's first send and of its one
			// retry meet the fault; nothing after.
			broken := 0
			f.proxy.SetRule(func(c redistest.Command) redistest.Fault {
				if runs(completeScript)(c) && broken < 2 {
					broken++
					return fault
				}
				return redistest.Pass
			})
			endings := []Ending{{Lease: leases[0]}, {Lease: leases[1]}, {Lease: leases[2]}}
			for i, e := range oneRetry.EndMany(t.Context(), endings) {
				if e.Err != nil {
					t.Errorf("ending %d: %v", i, e.Err)
				}
			}
			if n := f.proxy.Injected(fault); n != 2 {
				t.Fatalf("the proxy injected %s %d times, want 2 (the pipeline and its retry)", fault, n)
			}
			if c := mustCounts(t, f.clean); c.Completed != 3 || c.Processing != 0 {
				t.Errorf("completed %d, processing %d; want 3, 0", c.Completed, c.Processing)
			}
			f.checkConsistent(t, "tenant-a")
		})
	}
}

func TestALeaseBatchWhoseReplyNeverCameIsGivenBackUncharged(t *testing.T) {
	t.Parallel()
	for _, fault := range []redistest.Fault{redistest.DropReply, redistest.DelayReply} {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			f := setupFaulty(t, Config{})
			client := redis.NewClient(&redis.Options{Addr: f.proxy.Addr(), MaxRetries: -1, ReadTimeout: replayReadTimeout})
			t.Cleanup(func() { _ = client.Close() })
			giveUp, err := NewRedisStore(client, f.clean.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ids := submitJobs(t, f.clean, 3)
			injected := f.breakOnce(t, leaseBatchScript, fault)
			if leases, err := giveUp.LeaseBatch(t.Context(), 3); err == nil {
				t.Fatalf("LeaseBatch = %d leases, want the lost reply's error", len(leases))
			}
			injected()
			for _, id := range ids {
				if got := mustGet(t, f.clean, id); got.Status != StatusQueued || got.Attempts != 0 {
					t.Errorf("job %s after %d attempts, want queued with none charged", got.Status, got.Attempts)
				}
			}
			f.checkConsistent(t, "tenant-a")
			leases, err := f.clean.LeaseBatch(t.Context(), 3)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ids, leasedIDs(leases)); diff != "" {
				t.Errorf("next lease batch (-want +got):\n%s", diff)
			}
		})
	}
}

// roundTrips counts what a client sends: single commands and pipelines, less a new
// connection's handshake (HELLO, CLIENT SETINFO).
type roundTrips struct {
	mu                  sync.Mutex
	commands, pipelines int
	names               []string
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name != "hello" && name != "client" {
			r.mu.Lock()
			r.commands++
			r.names = append(r.names, cmd.Name())
			r.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if cmds[0].Name() != "client" {
			r.mu.Lock()
			r.pipelines++
			r.names = append(r.names, fmt.Sprintf("pipeline of %d: %s", len(cmds), cmds[0].Name()))
			r.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

func TestASubmitBatchOfAThousandIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	s, b := setup(t, redisBackend, Config{})
	for _, script := range []*redis.Script{submitScript, recordBatchScript} {
		if err := script.Load(t.Context(), b.client).Err(); err != nil {
			t.Fatal(err)
		}
	}
	counter := &roundTrips{}
	client := redis.NewClient(shared.redisOptions(t))
	t.Cleanup(func() { _ = client.Close() })
	client.AddHook(counter)
	counted, err := NewRedisStore(client, s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]SubmitRequest, MaxBatchSize)
	for i := range reqs {
		reqs[i] = SubmitRequest{CandidateID: fmt.Sprint("cand-", i), Payload: json.RawMessage(`{"resume_text":"Go"}`)}
	}
	_, results, err := counted.SubmitBatch(t.Context(), "tenant-a", reqs)
	if err != nil || len(results) != MaxBatchSize {
		t.Fatalf("SubmitBatch = %d results, %v", len(results), err)
	}
	if counter.pipelines != 1 || counter.commands != 0 {
		t.Errorf("%d pipelines and %d single commands (%q), want the one pipeline", counter.pipelines, counter.commands, counter.names)
	}
	if c := mustCounts(t, s); c.Submitted != MaxBatchSize {
		t.Errorf("submitted %d, want %d", c.Submitted, MaxBatchSize)
	}
}
