package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestRedisStoreBatch(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("SubmitsEveryRequestAndRecordsTheBatchInOrder", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			var reqs []SubmitRequest
			for i := range 50 {
				reqs = append(reqs, SubmitRequest{CandidateID: fmt.Sprintf("cand-%d", i), Payload: json.RawMessage(`{"n":1}`)})
			}
			batch, results, err := s.SubmitBatch(t.Context(), "tenant-a", reqs)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i, r := range results {
				if !r.Created || r.Job.CandidateID != reqs[i].CandidateID || r.Job.TenantID != "tenant-a" {
					t.Fatalf("result %d = %+v", i, r)
				}
				ids = append(ids, r.Job.ID)
			}
			got, err := s.GetBatch(t.Context(), "tenant-a", batch.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ids, got.JobIDs); diff != "" {
				t.Fatalf("batch jobs (-want +got):\n%s", diff)
			}
			if n := len(b.queue(t)); n != 50 {
				t.Fatalf("queued %d, want 50", n)
			}
		})
		t.Run("DedupesWithinAndAcrossBatches", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			earlier := submitNew(t, s, SubmitRequest{TenantID: "tenant-a", CandidateID: "cand-1", IdempotencyKey: "key-00001"})
			batch, results, err := s.SubmitBatch(t.Context(), "tenant-a", []SubmitRequest{
				{CandidateID: "cand-1", IdempotencyKey: "key-00001"},
				{CandidateID: "cand-2"},
				{CandidateID: "cand-2"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if results[0].Created || results[0].Job.ID != earlier.ID {
				t.Errorf("item 0 = %+v, want the earlier job", results[0])
			}
			if !results[1].Created || results[2].Created || results[2].Job.ID != results[1].Job.ID {
				t.Errorf("items 1, 2 = %+v, %+v, want one job", results[1], results[2])
			}
			got, err := s.GetBatch(t.Context(), "tenant-a", batch.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{earlier.ID, results[1].Job.ID, results[1].Job.ID}
			if diff := cmp.Diff(want, got.JobIDs); diff != "" {
				t.Fatalf("batch jobs (-want +got):\n%s", diff)
			}
		})
		t.Run("ReportsEachJobsState", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			batch, _, err := s.SubmitBatch(t.Context(), "tenant-a", []SubmitRequest{{CandidateID: "cand-1"}, {CandidateID: "cand-2"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Complete(t.Context(), mustLease(t, s), json.RawMessage(`{}`)); err != nil {
				t.Fatal(err)
			}
			jobs, err := s.GetBatchJobs(t.Context(), batch)
			if err != nil {
				t.Fatal(err)
			}
			states := []Status{jobs[0].Status, jobs[1].Status}
			if diff := cmp.Diff([]Status{StatusCompleted, StatusQueued}, states); diff != "" || jobs[0].CandidateID != "cand-1" {
				t.Fatalf("states (-want +got):\n%s %+v", diff, jobs)
			}
		})
		t.Run("WorksAfterRedisForgotItsScripts", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			// What a restart without persistence of the script cache looks like.
			if err := b.client.ScriptFlush(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
			if _, results, err := s.SubmitBatch(t.Context(), "tenant-a", []SubmitRequest{{CandidateID: "cand-1"}}); err != nil || !results[0].Created {
				t.Fatalf("SubmitBatch after SCRIPT FLUSH = %+v, %v", results, err)
			}
		})
		t.Run("AnotherTenantsBatchIsNotFound", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			batch, _, err := s.SubmitBatch(t.Context(), "tenant-a", []SubmitRequest{{CandidateID: "cand-1"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, lookup := range []struct{ tenant, id string }{{"tenant-b", batch.ID}, {"tenant-a", "0123456789abcdef0123456789abcdef"}, {"tenant-a", "../x"}} {
				if _, err := s.GetBatch(t.Context(), lookup.tenant, lookup.id); !errors.Is(err, ErrNotFound) {
					t.Errorf("GetBatch(%s, %s) = %v, want ErrNotFound", lookup.tenant, lookup.id, err)
				}
			}
		})
		t.Run("RefusesAnOversizedOrInvalidBatchBeforeWritingAnything", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			if _, _, err := s.SubmitBatch(t.Context(), "tenant-a", make([]SubmitRequest, MaxBatchSize+1)); !errors.Is(err, ErrBatchTooLarge) {
				t.Fatalf("err = %v, want ErrBatchTooLarge", err)
			}
			if _, _, err := s.SubmitBatch(t.Context(), "tenant-a", []SubmitRequest{{CandidateID: "ok"}, {CandidateID: ""}}); err == nil {
				t.Fatal("a batch with an invalid item was accepted")
			}
			if n := len(b.queue(t)); n != 0 {
				t.Fatalf("queued %d jobs from refused batches", n)
			}
		})
	})
}

func TestRedisStoreCheckpoint(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("TheNextLeaseCarriesTheHoldersCheckpoint", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond})
			job := submitNew(t, s, request("cand-1"))
			first := mustLease(t, s)
			if err := s.SaveCheckpoint(t.Context(), first, json.RawMessage(`{"enrichment":1}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Fail(t.Context(), first, JobError{Code: "firestore_write_failed", Retryable: true}); err != nil {
				t.Fatal(err)
			}
			var second *Lease
			for second == nil { // the retry comes due after its backoff and jitter
				var err error
				if second, err = s.Lease(t.Context()); err != nil {
					t.Fatal(err)
				}
				if second == nil {
					if err := s.WaitForWork(t.Context(), 10*time.Millisecond); err != nil {
						t.Fatal(err)
					}
				}
			}
			if second.Job.ID != job.ID || string(second.Job.Checkpoint) != `{"enrichment":1}` {
				t.Fatalf("second lease = %s with checkpoint %s", second.Job.ID, second.Job.Checkpoint)
			}
		})
		t.Run("OnlyTheLeaseHolderMayCheckpoint", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			stale := *l
			stale.Token = "not-the-token"
			if err := s.SaveCheckpoint(t.Context(), &stale, json.RawMessage(`{}`)); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("err = %v, want ErrLeaseLost", err)
			}
		})
	})
}

func TestRedisStoreOutage(t *testing.T) {
	t.Parallel()
	t.Run("AnUnreachableRedisIsErrUnavailable", func(t *testing.T) {
		t.Parallel()
		client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
		defer client.Close()
		s, err := NewRedisStore(client, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Submit(t.Context(), request("cand-1")); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("RetryAfterSetsTheLeastWaitBeforeTheRetry", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, redisBackend, Config{RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond})
		job := submitNew(t, s, request("cand-1"))
		l := mustLease(t, s)
		before := time.Now()
		if _, err := s.Fail(t.Context(), l, JobError{Code: "upstream_rate_limited", Retryable: true, RetryAfter: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		due, err := b.client.ZScore(t.Context(), b.keys.delayed(), job.ID).Result()
		if err != nil {
			t.Fatal(err)
		}
		if wait := time.UnixMilli(int64(due)).Sub(before); wait < 29*time.Second {
			t.Fatalf("retry due in %s, want at least the 30 s Retry-After", wait)
		}
	})
}
