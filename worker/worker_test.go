package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/firestore/firestoretest"
	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// emulatorHost is the Firestore emulator the downstream tests share; each test
// uses its own project id.
var emulatorHost string

func TestMain(m *testing.M) {
	// go-resiliency's breakers flip to half-open from a goroutine that sleeps.
	os.Exit(firestoretest.RunWithEmulator(m, &emulatorHost,
		goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"),
		// The pool forks plugins from threads that live as long as the process.
		goleak.IgnoreAnyFunction("github.com/headhunter/hh-enrich-svc/pool.spawnerThread")))
}

const testTimeout = 30 * time.Second

var goodEnrichment = []byte(`{"resume_analysis":{"technical_skills":["Go"]},"recruiter_insights":{"sentiment":"positive"},"overall_score":0.7}`)

// scriptedEnricher answers each enrichment (single or batch item) with the next
// scripted outcome, then succeeds.
type scriptedEnricher struct {
	mu         sync.Mutex
	outcomes   []error
	response   *enrichv1.EnrichResponse // a good answer; nil: scriptedResponse
	calls      int                      // enrichments, batch items included
	batchCalls int
}

func (e *scriptedEnricher) next() error {
	e.calls++
	if len(e.outcomes) == 0 {
		return nil
	}
	err := e.outcomes[0]
	e.outcomes = e.outcomes[1:]
	return err
}

var scriptedResponse = &enrichv1.EnrichResponse{
	EnrichmentJson: goodEnrichment, ModelVersion: "m1", PromptVersion: "p1", Enricher: "scripted",
}

func (e *scriptedEnricher) Enrich(_ context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.next(); err != nil {
		return nil, err
	}
	if e.response != nil {
		return e.response, nil
	}
	return scriptedResponse, nil
}

// EnrichSplit is Enrich: the script does not tell them apart.
func (e *scriptedEnricher) EnrichSplit(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	return e.Enrich(ctx, req)
}

// EnrichBatch answers plugin errors per item, like the plugin does.
func (e *scriptedEnricher) EnrichBatch(_ context.Context, req *enrichv1.EnrichBatchRequest) (*enrichv1.EnrichBatchResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.batchCalls++
	resp := &enrichv1.EnrichBatchResponse{}
	for range req.GetItems() {
		var perr *pyplugin.Error
		switch err := e.next(); {
		case err == nil:
			resp.Results = append(resp.Results, &enrichv1.EnrichBatchResult{Outcome: &enrichv1.EnrichBatchResult_Response{Response: scriptedResponse}})
		case errors.As(err, &perr):
			resp.Results = append(resp.Results, &enrichv1.EnrichBatchResult{Outcome: &enrichv1.EnrichBatchResult_Error{
				Error: &enrichv1.EnrichError{Reason: enrichv1.Reason_REASON_INVALID_CANDIDATE, Message: perr.Message}}})
		default:
			return nil, err
		}
	}
	return resp, nil
}

type testBundle struct {
	store    *store.RedisStore
	enricher *scriptedEnricher
	runner   *Runner
	client   *redis.Client // the store's Redis, to read and set what the store keeps
	prefix   string        // the store's key prefix
}

func setup(t *testing.T, outcomes ...error) *testBundle {
	t.Helper()
	return setupWith(t, Config{Logger: hclog.NewNullLogger()}, outcomes...)
}

func setupWith(t *testing.T, cfg Config, outcomes ...error) *testBundle {
	t.Helper()
	client := redis.NewClient(redistest.Start(t))
	t.Cleanup(func() { client.Close() })
	prefix := "{test:" + t.Name() + "}:"
	// Millisecond retry backoff: retried jobs come due at once for runAll.
	st, err := store.NewRedisStore(client, store.Config{Prefix: prefix, MaxAttempts: 3,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	enricher := &scriptedEnricher{outcomes: outcomes}
	runner, err := New(st, enricher, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{store: st, enricher: enricher, runner: runner, client: client, prefix: prefix}
}

func (b *testBundle) submit(t *testing.T, payload string) string {
	t.Helper()
	req := store.SubmitRequest{TenantID: "tenant-alpha", CandidateID: "cand-1"}
	if payload != "" {
		req.Payload = json.RawMessage(payload)
	}
	job, _, err := b.store.Submit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return job.ID
}

// runAll runs jobs one at a time until none is queued or waiting for a retry.
// Lease moves due retries into the queue itself; a retry not yet due is waited for
// on the store's wake-up signal.
func (b *testBundle) runAll(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for {
		ran, err := b.runner.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ran {
			continue
		}
		counts, err := b.store.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts.Delayed == 0 {
			return
		}
		if err := b.store.WaitForWork(ctx, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
}

func (b *testBundle) job(t *testing.T, id string) *store.Job {
	t.Helper()
	job, err := b.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return job
}

const resumePayload = `{"name":"Ada","resume_text":"Backend engineer, Go"}`

func TestRunner(t *testing.T) {
	t.Parallel()

	t.Run("CompletesAJobWithEveryResultField", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.submit(t, resumePayload)
		b.runAll(t)
		job := b.job(t, id)
		if job.Status != store.StatusCompleted {
			t.Fatalf("status %s (%s: %s)", job.Status, job.ErrorCode, job.ErrorMessage)
		}
		var result Result
		if err := json.Unmarshal(job.Result, &result); err != nil {
			t.Fatal(err)
		}
		if result.ModelVersion != "m1" || result.PromptVersion != "p1" || result.Attempts != 1 ||
			result.EmbeddingUpserted || result.EmbeddingSkippedReason != "embedding_disabled" {
			t.Fatalf("result = %+v", result)
		}
		snap := snapshotOf(t, result)
		if snap["name"] != "Ada" || snap["status"] != "enriched" || snap["overall_score"] != 0.7 ||
			snap["candidate_id"] != "cand-1" || snap["org_id"] != "tenant-alpha" {
			t.Fatalf("snapshot = %v", snap)
		}
	})

	for _, tc := range []struct {
		name     string
		payload  string
		outcome  error
		code     string
		attempts int
	}{
		{"NoPayloadFailsAsCandidateNotFoundWithoutRetry", "", nil, CodeCandidateNotFound, 1},
		{"NullPayloadFailsAsCandidateNotFound", "null", nil, CodeCandidateNotFound, 1},
		{"InvalidCandidateFailsWithoutRetry", resumePayload,
			&pyplugin.Error{Reason: pyplugin.ReasonInvalidCandidate, Message: "nothing to enrich"}, "invalid_candidate", 1},
		{"PluginBugFailsAsPythonError", resumePayload,
			&pyplugin.Error{Reason: pyplugin.ReasonInternal, Message: "KeyError"}, CodePythonError, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.outcome)
			id := b.submit(t, tc.payload)
			b.runAll(t)
			job := b.job(t, id)
			if job.Status != store.StatusFailed || job.ErrorCode != tc.code || job.Attempts != tc.attempts || job.ErrorMessage == "" {
				t.Fatalf("job = %s code %q attempts %d message %q; want failed %q after %d",
					job.Status, job.ErrorCode, job.Attempts, job.ErrorMessage, tc.code, tc.attempts)
			}
		})
	}

	for _, tc := range []struct {
		name    string
		failure error
	}{
		{"RateLimitIsRetried", &pyplugin.Error{Reason: pyplugin.ReasonUpstreamRateLimited, Retryable: true}},
		{"TimeoutIsRetried", &pyplugin.Error{Reason: pyplugin.ReasonTimeout, Retryable: true, DeadlinePassed: true}},
		{"CrashedProcessIsRetried", fmt.Errorf("pool: tries lost their process: %w", pyplugin.ErrProcessGone)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.failure)
			id := b.submit(t, resumePayload)
			b.runAll(t)
			job := b.job(t, id)
			if job.Status != store.StatusCompleted || job.Attempts != 2 || b.enricher.calls != 2 {
				t.Fatalf("job %s after %d attempts, %d calls; want completed on the second", job.Status, job.Attempts, b.enricher.calls)
			}
		})
	}

	t.Run("OpenCircuitReleasesTheJobWithoutUsingAnAttempt", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fmt.Errorf("waited out the cooldown: %w", pool.ErrCircuitOpen))
		id := b.submit(t, resumePayload)
		if ran, err := b.runner.RunOnce(context.Background()); !ran || err != nil {
			t.Fatalf("RunOnce = %v, %v", ran, err)
		}
		if job := b.job(t, id); job.Status != store.StatusQueued || job.Attempts != 0 {
			t.Fatalf("job %s after %d attempts; want queued again with its attempt given back", job.Status, job.Attempts)
		}
		b.runAll(t)
		if job := b.job(t, id); job.Status != store.StatusCompleted || job.Attempts != 1 {
			t.Fatalf("job %s after %d attempts, want completed on its first charged attempt", job.Status, job.Attempts)
		}
	})

	t.Run("RetryableFailureFailsForGoodAtTheAttemptLimit", func(t *testing.T) {
		t.Parallel()
		timeout := &pyplugin.Error{Reason: pyplugin.ReasonTimeout, Message: "slow", Retryable: true, DeadlinePassed: true}
		b := setup(t, timeout, timeout, timeout)
		id := b.submit(t, resumePayload)
		b.runAll(t)
		job := b.job(t, id)
		if job.Status != store.StatusFailed || job.ErrorCode != CodePythonTimeout || job.Attempts != 3 {
			t.Fatalf("job %s code %q attempts %d; want failed python_timeout after 3", job.Status, job.ErrorCode, job.Attempts)
		}
	})

	t.Run("StartedRunnerPicksUpJobsAndStopDrains", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		if err := b.runner.Stop(ctx); err != nil {
			t.Fatalf("Stop before Start: %v", err)
		}
		b = setup(t)
		if err := b.runner.Start(ctx); err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for i := range 20 {
			job, _, err := b.store.Submit(ctx, store.SubmitRequest{
				TenantID: "tenant-alpha", CandidateID: fmt.Sprintf("c%d", i), Payload: json.RawMessage(resumePayload),
			})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, job.ID)
		}
		waitForStatus(t, b, ids[len(ids)-1], store.StatusCompleted)
		stopCtx, cancel := context.WithTimeout(ctx, testTimeout)
		defer cancel()
		if err := b.runner.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
		if err := b.runner.Stop(stopCtx); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
		for _, id := range ids {
			if job := b.job(t, id); job.Status != store.StatusCompleted {
				t.Fatalf("job %s is %s", id, job.Status)
			}
		}
	})
}

func TestRunnerBatches(t *testing.T) {
	t.Parallel()

	submitAll := func(t *testing.T, b *testBundle, n int) []string {
		t.Helper()
		var ids []string
		for i := range n {
			job, _, err := b.store.Submit(context.Background(), store.SubmitRequest{
				TenantID: "tenant-alpha", CandidateID: fmt.Sprintf("c%d", i), Payload: json.RawMessage(resumePayload),
			})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, job.ID)
		}
		return ids
	}
	run := func(t *testing.T, b *testBundle, last string) {
		t.Helper()
		if err := b.runner.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := b.runner.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		}()
		waitForTerminal(t, b, last)
	}

	t.Run("BacklogBeyondFreeSlotsGoesThroughEnrichBatch", func(t *testing.T) {
		t.Parallel()
		b := setupWith(t, Config{Concurrency: 1, BatchSize: 8, Logger: hclog.NewNullLogger()})
		ids := submitAll(t, b, 20)
		run(t, b, ids[len(ids)-1])
		for _, id := range ids {
			if job := b.job(t, id); job.Status != store.StatusCompleted {
				t.Fatalf("job %s is %s", id, job.Status)
			}
		}
		if b.enricher.batchCalls < 2 || b.enricher.calls != 20 {
			t.Fatalf("%d batch calls for %d enrichments; want the backlog batched", b.enricher.batchCalls, b.enricher.calls)
		}
	})

	t.Run("ABatchItemsFailureFailsOnlyItsJob", func(t *testing.T) {
		t.Parallel()
		bad := &pyplugin.Error{Reason: pyplugin.ReasonInvalidCandidate, Message: "nothing to enrich"}
		b := setupWith(t, Config{Concurrency: 1, BatchSize: 3, Logger: hclog.NewNullLogger()}, nil, bad, nil)
		ids := submitAll(t, b, 3)
		run(t, b, ids[2])
		waitForTerminal(t, b, ids[1])
		got := []store.Status{b.job(t, ids[0]).Status, b.job(t, ids[1]).Status, b.job(t, ids[2]).Status}
		if got[0] != store.StatusCompleted || got[1] != store.StatusFailed || got[2] != store.StatusCompleted {
			t.Fatalf("statuses = %v, want completed, failed, completed", got)
		}
		if code := b.job(t, ids[1]).ErrorCode; code != "invalid_candidate" {
			t.Fatalf("code = %q", code)
		}
	})
}

// waitForTerminal polls until the job is completed or failed.
func waitForTerminal(t *testing.T, b *testBundle, id string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for st := b.job(t, id).Status; st != store.StatusCompleted && st != store.StatusFailed; st = b.job(t, id).Status {
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForStatus polls the job; the runner has no completion signal of its own.
func waitForStatus(t *testing.T, b *testBundle, id string, want store.Status) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for b.job(t, id).Status != want {
		if time.Now().After(deadline) {
			t.Fatalf("job %s never became %s", id, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startRealPool starts a pool of size real plugin processes, with fault injection
// (fault_injection.py) when faults is set.
func startRealPool(t *testing.T, size int, faults bool) *pool.Pool {
	t.Helper()
	root, _ := filepath.Abs("..")
	env := []string{"PATH=" + os.Getenv("PATH")}
	if faults {
		env = append(env, "ENRICH_TEST_FAULTS=1")
	}
	p, err := pool.New(pool.Config{
		Size:         size,
		PythonPath:   filepath.Join(root, ".venv", "bin", "python"),
		PluginScript: filepath.Join(root, "cloud_run_worker", "plugin_server.py"),
		Env:          env,
		Logger:       hclog.NewNullLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = p.Stop(ctx)
	})
	return p
}

func TestABatchThatLosesItsProcessChargesOnlyThePoisonJob(t *testing.T) {
	t.Parallel()
	p := startRealPool(t, 2, true)
	b := setup(t)
	var err error
	b.runner, err = New(b.store, p, Config{Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	submit := func(candidate, payload string) string {
		job, _, err := b.store.Submit(ctx, store.SubmitRequest{TenantID: "tenant-alpha", CandidateID: candidate, Payload: json.RawMessage(payload)})
		if err != nil {
			t.Fatal(err)
		}
		return job.ID
	}
	var good []string
	for i := range 5 {
		good = append(good, submit(fmt.Sprintf("good-%d", i), resumePayload))
	}
	poison := submit("poison", `{"resume_text":"Nurse","_fault":"crash"}`)
	var leases []*store.Lease
	for range 6 {
		lease, err := b.store.Lease(ctx)
		if err != nil || lease == nil {
			t.Fatalf("lease: %v, %v", lease, err)
		}
		leases = append(leases, lease)
	}
	b.runner.runBatch(ctx, leases)
	for _, id := range good {
		if job := b.job(t, id); job.Status != store.StatusCompleted || job.Attempts != 1 {
			t.Fatalf("innocent job %s: %s after %d attempts (%s), want completed at its first", id, job.Status, job.Attempts, job.ErrorCode)
		}
	}
	job := b.job(t, poison)
	if job.Status != store.StatusFailed || job.ErrorCode != CodePythonCrashed {
		t.Fatalf("poison job: %s %s, want failed for good with %s", job.Status, job.ErrorCode, CodePythonCrashed)
	}
	dead, err := b.store.DeadLetters(ctx, "tenant-alpha", 10)
	if err != nil || len(dead) != 1 || dead[0].ID != poison {
		t.Fatalf("dead letters = %v (%v), want the poison job alone", dead, err)
	}
	if st := p.Status(); st.Restarts["crashed"] != 2 || st.Degraded {
		t.Fatalf("pool status %+v: want the batch's process and one more, and no crash loop", st)
	}
}

func TestRunnerOnTheRealPluginPool(t *testing.T) {
	t.Parallel()
	p := startRealPool(t, 1, false)
	b := setup(t)
	var err error
	b.runner, err = New(b.store, p, Config{Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	good := b.submit(t, `{"name":"Ada","resume_text":"Senior Go engineer at Stripe 2018 - 2024. Led a team of 5."}`)
	b.runAll(t)
	job := b.job(t, good)
	var result Result
	if err := json.Unmarshal(job.Result, &result); err != nil {
		t.Fatalf("job %s: %v", job.Status, err)
	}
	analysis, _ := snapshotOf(t, result)["resume_analysis"].(map[string]any)
	if job.Status != store.StatusCompleted || result.Enricher != "local_rules" || analysis == nil {
		t.Fatalf("job %s, result %+v", job.Status, result)
	}
}
