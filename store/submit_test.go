package store

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRedisStoreSubmit(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("CreatesQueuedJobThatGetReturns", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			req := request("cand-1")
			req.Payload = json.RawMessage(`{ "b": [1, 2], "a": "x" }`)
			job := submitNew(t, s, req)

			want := &Job{
				ID:                  job.ID,
				TenantID:            "tenant-a",
				CandidateID:         "cand-1",
				CandidateDocumentID: "tenant-a_cand-1",
				Status:              StatusQueued,
				CreatedAt:           testNow,
				UpdatedAt:           testNow,
				CorrelationID:       "tenant-a:req-cand-1",
				Priority:            5,
				Payload:             json.RawMessage(`{"b":[1,2],"a":"x"}`),
			}
			diffJob(t, want, job)
			diffJob(t, want, mustGet(t, s, job.ID))
			if len(job.ID) != 32 {
				t.Errorf("job id %q is not 32 hex characters", job.ID)
			}
			if diff := cmp.Diff([]string{job.ID}, b.queue(t)); diff != "" {
				t.Errorf("queue (-want +got):\n%s", diff)
			}
		})
		t.Run("StoresREFERENCEFieldsAndNoTTLWhileQueued", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))

			hash, err := b.client.HGetAll(t.Context(), b.keys.job(job.ID)).Result()
			if err != nil {
				t.Fatal(err)
			}
			dedupeKey := hash[fieldDedupeKey]
			want := map[string]string{
				"jobId": job.ID, "tenantId": "tenant-a", "candidateId": "cand-1",
				"candidateDocumentId": "tenant-a_cand-1", "dedupeKey": dedupeKey, "status": "queued",
				"createdAt": "2026-03-04T05:06:07.890Z", "updatedAt": "2026-03-04T05:06:07.890Z",
				"correlationId": "tenant-a:req-cand-1", "priority": "5", "attemptCount": "0",
			}
			if diff := cmp.Diff(want, hash); diff != "" {
				t.Errorf("job hash (-want +got):\n%s", diff)
			}
			if got, _ := b.client.Get(t.Context(), dedupeKey).Result(); got != job.ID {
				t.Errorf("dedupe key %q names %q, want %q", dedupeKey, got, job.ID)
			}
			// A queued job must not expire however long the backlog: its TTL
			// starts when it ends. go-redis reports "no TTL" as -1ns.
			if ttl := b.client.PTTL(t.Context(), b.keys.job(job.ID)).Val(); ttl != -1 {
				t.Errorf("queued job's TTL %s, want none", ttl)
			}
			if ttl := b.client.PTTL(t.Context(), dedupeKey).Val(); ttl <= DedupeTTLDefault-10*time.Second || ttl > DedupeTTLDefault {
				t.Errorf("dedupe TTL %s, want about %s", ttl, DedupeTTLDefault)
			}
		})
		t.Run("SameCandidateAndPayloadReturnsTheSameJob", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			req := request("cand-1")
			req.Payload = json.RawMessage(`{"a":1}`)
			first := submitNew(t, s, req)

			again, created, err := s.Submit(t.Context(), req)
			if err != nil || created {
				t.Fatalf("second Submit: created=%v err=%v, want a dedupe", created, err)
			}
			diffJob(t, first, again)
			if n := len(b.queue(t)); n != 1 {
				t.Errorf("queue holds %d ids, want 1", n)
			}
		})
		t.Run("IdempotencyKeyDedupesWhateverThePayload", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			req := request("cand-1")
			req.IdempotencyKey = "key-1"
			req.Payload = json.RawMessage(`{"a":1}`)
			first := submitNew(t, s, req)

			req.Payload = json.RawMessage(`{"a":2}`)
			again, created, err := s.Submit(t.Context(), req)
			if err != nil || created || again.ID != first.ID {
				t.Errorf("Submit with the same key: job=%v created=%v err=%v, want job %s", again, created, err, first.ID)
			}
		})
		t.Run("ConcurrentSubmitsWithDifferentIdempotencyKeysCreateDifferentJobs", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			const submitters = 100
			var (
				wg  sync.WaitGroup
				mu  sync.Mutex
				ids = map[string]bool{}
			)
			for i := range submitters {
				wg.Go(func() {
					req := request("cand-1")
					req.IdempotencyKey = fmt.Sprint("key-", i)
					job, created, err := s.Submit(t.Context(), req)
					if err != nil || !created {
						t.Errorf("Submit = %v, created %v; want a new job", err, created)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					ids[job.ID] = true
				})
			}
			wg.Wait()
			if len(ids) != submitters {
				t.Errorf("%d submits with distinct keys made %d jobs", submitters, len(ids))
			}
		})
		t.Run("DifferentIdempotencyKeysCreateDifferentJobs", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			req := request("cand-1")
			req.IdempotencyKey = "key-1"
			first := submitNew(t, s, req)
			req.IdempotencyKey = "key-2"
			if second := submitNew(t, s, req); second.ID == first.ID {
				t.Error("two idempotency keys made one job")
			}
		})
		t.Run("PayloadKeyOrderDoesNotMatter", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			req := request("cand-1")
			req.Payload = json.RawMessage(`{"a":1,"nested":{"x":true,"y":[1,{"q":1,"p":2}]}}`)
			first := submitNew(t, s, req)

			req.Payload = json.RawMessage(`{ "nested": {"y": [1, {"p": 2, "q": 1}], "x": true}, "a": 1 }`)
			again, created, err := s.Submit(t.Context(), req)
			if err != nil || created || again.ID != first.ID {
				t.Errorf("reordered payload: job=%v created=%v err=%v, want job %s", again, created, err, first.ID)
			}
		})
		t.Run("DifferentPayloadCreatesNewJob", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			req := request("cand-1")
			req.Payload = json.RawMessage(`{"a":1}`)
			first := submitNew(t, s, req)
			req.Payload = json.RawMessage(`{"a":1.0}`)
			if second := submitNew(t, s, req); second.ID == first.ID {
				t.Error("different payloads made one job")
			}
		})
		t.Run("DedupeIsPerTenant", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			first := submitNew(t, s, request("cand-1"))
			other := request("cand-1")
			other.TenantID = "tenant-b"
			if second := submitNew(t, s, other); second.ID == first.ID || second.TenantID != "tenant-b" {
				t.Errorf("tenant-b got %+v", second)
			}
		})
		t.Run("ForceBypassesDedupeAndLaterSubmitsDedupeToIt", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			first := submitNew(t, s, request("cand-1"))
			forced := request("cand-1")
			forced.Force = true
			second := submitNew(t, s, forced)
			if second.ID == first.ID || second.Priority != 1 {
				t.Errorf("forced submit got job %s priority %d, want a new job with priority 1", second.ID, second.Priority)
			}
			again, created, err := s.Submit(t.Context(), request("cand-1"))
			if err != nil || created || again.ID != second.ID {
				t.Errorf("submit after force: job=%v created=%v err=%v, want the forced job %s", again, created, err, second.ID)
			}
			// The forced job is high priority: it goes first.
			if diff := cmp.Diff([]string{second.ID, first.ID}, b.queue(t)); diff != "" {
				t.Errorf("queue (-want +got):\n%s", diff)
			}
		})
		t.Run("FailedJobDoesNotDedupe", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			first := submitNew(t, s, request("cand-1"))
			if _, err := s.Fail(t.Context(), mustLease(t, s), JobError{Code: "invalid_candidate"}); err != nil {
				t.Fatal(err)
			}
			if second := submitNew(t, s, request("cand-1")); second.ID == first.ID {
				t.Error("resubmit returned the failed job")
			}
		})
		t.Run("ExpiredJobDoesNotDedupe", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			first := submitNew(t, s, request("cand-1"))
			b.client.Del(t.Context(), b.keys.job(first.ID)) // as if its TTL ran out
			if second := submitNew(t, s, request("cand-1")); second.ID == first.ID {
				t.Error("resubmit returned the expired job")
			}
		})
		t.Run("ConcurrentSubmitsOfOneCandidateCreateOneJob", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			const submitters = 100
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				ids     = map[string]int{}
				created int
			)
			for range submitters {
				wg.Go(func() {
					job, isNew, err := s.Submit(t.Context(), request("cand-1"))
					if err != nil {
						t.Errorf("Submit: %v", err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					ids[job.ID]++
					if isNew {
						created++
					}
				})
			}
			wg.Wait()
			if len(ids) != 1 || created != 1 {
				t.Errorf("%d submits made jobs %v with %d created, want one job created once", submitters, ids, created)
			}
			if n := len(b.queue(t)); n != 1 {
				t.Errorf("queue holds %d ids, want 1", n)
			}
			if c := mustCounts(t, s); c.Submitted != 1 || c.DedupeHits["tenant-a"] != submitters-1 {
				t.Errorf("counts %+v, want 1 submitted and %d dedupe hits", c, submitters-1)
			}
		})
		t.Run("RejectsBadRequests", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			bad := []SubmitRequest{
				{CandidateID: "cand-1"},
				{TenantID: "tenant-a"},
				{TenantID: "tenant-a", CandidateID: "cand-1", Payload: json.RawMessage(`{"a":`)},
			}
			for _, req := range bad {
				if _, _, err := s.Submit(t.Context(), req); err == nil {
					t.Errorf("Submit(%+v) = nil error, want one", req)
				}
			}
			if n := len(b.queue(t)); n != 0 {
				t.Errorf("queue holds %d ids, want 0", n)
			}
		})
		t.Run("NullPayloadIsNoPayload", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			req := request("cand-1")
			req.Payload = json.RawMessage(`null`)
			first := submitNew(t, s, req)
			if first.Payload != nil {
				t.Errorf("payload %s, want nil", first.Payload)
			}
			req.Payload = nil
			if again, created, err := s.Submit(t.Context(), req); err != nil || created || again.ID != first.ID {
				t.Errorf("absent payload: job=%v created=%v err=%v, want job %s", again, created, err, first.ID)
			}
		})
	})
}
