package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// jobTTL returns the TTL of a job's hash: -1ns when it has none, -2ns when
// the hash is gone (go-redis's reading of PTTL -1 and -2).
func (b *testBundle) jobTTL(t *testing.T, jobID string) time.Duration {
	t.Helper()
	ttl, err := b.client.PTTL(t.Context(), b.keys.job(jobID)).Result()
	if err != nil {
		t.Fatalf("PTTL: %v", err)
	}
	return ttl
}

// TestNoJobExpiresBeforeItEnds checks that a job's hash has no TTL while the
// job is queued, delayed or processing, with a JobTTL far shorter than the
// backlog takes to drain and a Retry-After far longer than JobTTL: every job
// of the backlog is still there when its turn comes, and only an ended job
// expires.
func TestNoJobExpiresBeforeItEnds(t *testing.T) {
	t.Parallel()
	const jobTTL = 20 * time.Millisecond
	s, b := setup(t, redisBackend, Config{JobTTL: jobTTL})
	const backlog = 300
	var jobs []*Job
	for i := range backlog {
		jobs = append(jobs, submitNew(t, s, request(fmt.Sprintf("cand-%d", i))))
	}
	first := jobs[0]
	if ttl := b.jobTTL(t, first.ID); ttl != -1 {
		t.Fatalf("queued job's TTL %s, want none", ttl)
	}
	// The first job waits for a retry longer than JobTTL; the rest complete.
	l := mustLease(t, s)
	if ttl := b.jobTTL(t, l.Job.ID); ttl != -1 {
		t.Fatalf("processing job's TTL %s, want none", ttl)
	}
	if requeued, err := s.Fail(t.Context(), l, JobError{Code: "llm_rate_limited", Retryable: true, RetryAfter: time.Hour}); err != nil || !requeued {
		t.Fatalf("Fail = %v, requeued %v", err, requeued)
	}
	if ttl := b.jobTTL(t, first.ID); ttl != -1 {
		t.Fatalf("delayed job's TTL %s, want none", ttl)
	}
	retryAt, _ := b.score(t, b.keys.delayed(), first.ID)
	if wait := time.UnixMilli(retryAt).Sub(b.serverNow(t)); wait > RetryAfterMax {
		t.Errorf("a Retry-After of 1h waits %s, want at most %s", wait, RetryAfterMax)
	}
	for range backlog - 1 {
		l := mustLease(t, s)
		if err := s.Complete(t.Context(), l, json.RawMessage(`{}`)); err != nil {
			t.Fatalf("Complete(%s): %v", l.Job.ID, err)
		}
	}
	b.makeDue(t, first.ID)
	l = mustLease(t, s)
	if l.Job.ID != first.ID {
		t.Fatalf("leased %s, want the delayed %s", l.Job.ID, first.ID)
	}
	if err := s.Complete(t.Context(), l, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, s); c.Completed != backlog || c.Failed != 0 {
		t.Errorf("completed %d, failed %d; want %d and 0", c.Completed, c.Failed, backlog)
	}
	if ttl := b.jobTTL(t, first.ID); ttl <= 0 || ttl > jobTTL {
		t.Errorf("completed job's TTL %s, want (0, %s]", ttl, jobTTL)
	}
	eventually(t, "the completed job to expire", func() bool { return b.jobTTL(t, first.ID) == -2 })
}

func TestFinishedJobsKeepOnlyWhatIsRead(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("CompletedDropsPayloadAndCheckpoint", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			req := request("cand-1")
			req.Payload = json.RawMessage(`{"resume":"long text"}`)
			job := submitNew(t, s, req)
			l := mustLease(t, s)
			if err := s.SaveCheckpoint(t.Context(), l, json.RawMessage(`{"enrichment":1}`)); err != nil {
				t.Fatal(err)
			}
			if err := s.Complete(t.Context(), l, json.RawMessage(`{"ok":true}`)); err != nil {
				t.Fatal(err)
			}
			got := mustGet(t, s, job.ID)
			if got.Payload != nil || got.Checkpoint != nil || string(got.Result) != `{"ok":true}` {
				t.Errorf("completed job has payload %s, checkpoint %s, result %s; want only the result",
					got.Payload, got.Checkpoint, got.Result)
			}
		})
		t.Run("FailedKeepsPayloadForARequeueButNoCheckpoint", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{MaxAttempts: 1})
			req := request("cand-1")
			req.Payload = json.RawMessage(`{"resume":"long text"}`)
			job := submitNew(t, s, req)
			l := mustLease(t, s)
			if err := s.SaveCheckpoint(t.Context(), l, json.RawMessage(`{"bad":"output"}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Fail(t.Context(), l, JobError{Code: "python_bad_output"}); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, s, job.ID); string(got.Payload) != `{"resume":"long text"}` || got.Checkpoint != nil {
				t.Errorf("failed job has payload %s, checkpoint %s; want the payload only", got.Payload, got.Checkpoint)
			}
		})
		t.Run("ARequeuedDeadLetterRunsWithoutItsCheckpoint", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{MaxAttempts: 1})
			job := submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			if err := s.SaveCheckpoint(t.Context(), l, json.RawMessage(`{"bad":"output"}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Fail(t.Context(), l, JobError{Code: "python_bad_output"}); err != nil {
				t.Fatal(err)
			}
			// Put back directly, as an older version that kept the checkpoint
			// on a failed job would have left it.
			if err := b.client.HSet(t.Context(), b.keys.job(job.ID), fieldCheckpoint, `{"bad":"output"}`).Err(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RequeueDeadLetter(t.Context(), "tenant-a", job.ID); err != nil {
				t.Fatal(err)
			}
			if again := mustLease(t, s); again.Job.ID != job.ID || again.Job.Checkpoint != nil {
				t.Errorf("requeued job leased as %s with checkpoint %s, want %s with none", again.Job.ID, again.Job.Checkpoint, job.ID)
			}
		})
		t.Run("AForcedBatchWithOneCandidateTwiceRecordsBothJobs", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			batch, results, err := s.SubmitBatch(t.Context(), "tenant-a", []SubmitRequest{
				{CandidateID: "cand-1", Force: true}, {CandidateID: "cand-1", Force: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !results[0].Created || !results[1].Created || results[0].Job.ID == results[1].Job.ID {
				t.Fatalf("results %+v, want two new jobs", results)
			}
			stored, err := s.GetBatch(t.Context(), "tenant-a", batch.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{results[0].Job.ID, results[1].Job.ID}
			if diff := cmp.Diff(want, stored.JobIDs); diff != "" {
				t.Errorf("recorded batch (-created +recorded):\n%s", diff)
			}
		})
	})
}

// redisReply is an error reply as go-redis returns it.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

func TestTransientRedisRepliesAreUnavailable(t *testing.T) {
	t.Parallel()
	for reply, want := range map[string]bool{
		"LOADING Redis is loading the dataset in memory":                    true,
		"CLUSTERDOWN The cluster is down":                                   true,
		"TRYAGAIN Multiple keys request during rehashing":                   true,
		"MASTERDOWN Link with MASTER is down":                               true,
		"READONLY You can't write against a read only replica.":             true,
		"NOREPLICAS Not enough good replicas to write.":                     true,
		"ERR wrong number of arguments":                                     false,
		"WRONGTYPE Operation against a key holding the wrong kind of value": false,
	} {
		if got := errors.Is(interpretError("op", redisReply(reply)), ErrUnavailable); got != want {
			t.Errorf("%q is ErrUnavailable: %v, want %v", reply, got, want)
		}
	}
}
