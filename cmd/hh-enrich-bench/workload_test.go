package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// fakeService speaks the service's API over a real socket and completes every job
// the moment it is created; its /metrics counts them. It lets the workloads' own
// logic be tested without a stack (TestMainRunQuick runs them against the real one).
type fakeService struct {
	withBatch bool

	mu      sync.Mutex
	jobs    map[string]localstack.Job
	batches map[string][]localstack.Job
}

func newFakeService(t *testing.T, withBatch bool) *localstack.Client {
	t.Helper()
	f := &fakeService{withBatch: withBatch, jobs: map[string]localstack.Job{}, batches: map[string][]localstack.Job{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/enrich/profile", f.submit)
	mux.HandleFunc("GET /v1/enrich/status/{id}", f.status)
	mux.HandleFunc("POST /v1/enrich/batch", f.submitBatch)
	mux.HandleFunc("GET /v1/enrich/batch/{id}", f.batch)
	mux.HandleFunc("GET /metrics", f.metrics)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"code": "not_found", "message": "No such route."})
	})
	srv := httptest.NewServer(mux)
	c := localstack.NewClient(srv.URL, 16)
	t.Cleanup(func() { c.Close(); srv.Close() })
	return c
}

// create records a completed job and returns it as first answered (queued).
func (f *fakeService) create(tenant, candidateID string) localstack.Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("job-%d", len(f.jobs))
	now := time.Now().UTC()
	f.jobs[id] = localstack.Job{JobID: id, TenantID: tenant, Status: "completed", CreatedAt: now.Format(time.RFC3339Nano),
		UpdatedAt: now.Add(3 * time.Millisecond).Format(time.RFC3339Nano), Result: &localstack.JobResult{EmbeddingUpserted: true}}
	return localstack.Job{JobID: id, TenantID: tenant, Status: "queued"}
}

func (f *fakeService) submit(w http.ResponseWriter, r *http.Request) {
	var body localstack.SubmitBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	job := f.create(r.Header.Get("X-Tenant-ID"), body.CandidateID)
	writeJSON(w, http.StatusAccepted, map[string]any{"job": job})
}

func (f *fakeService) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	job, ok := f.jobs[r.PathValue("id")]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"code": "not_found", "message": "Job not found."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"job": job})
}

func (f *fakeService) submitBatch(w http.ResponseWriter, r *http.Request) {
	if !f.withBatch {
		writeJSON(w, http.StatusNotFound, map[string]string{"code": "not_found", "message": "No such route."})
		return
	}
	var body localstack.BatchBody
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var jobs []localstack.Job
	for _, c := range body.Candidates {
		jobs = append(jobs, f.create(r.Header.Get("X-Tenant-ID"), c.CandidateID))
	}
	f.mu.Lock()
	id := fmt.Sprintf("batch-%d", len(f.batches))
	f.batches[id] = jobs
	f.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]any{"batchId": id, "jobs": jobs})
}

func (f *fakeService) batch(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	jobs := f.batches[r.PathValue("id")]
	writeJSON(w, http.StatusOK, map[string]any{"batchId": r.PathValue("id"), "jobs": jobs,
		"counts": map[string]int{"completed": len(jobs)}})
}

func (f *fakeService) metrics(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	n := len(f.jobs)
	f.mu.Unlock()
	fmt.Fprintf(w, "%s{tenant=\"other\"} %d\n%s{code=\"x\",retried=\"false\",tenant=\"t\"} 0\n", metricCompleted, n, metricFailed)
}

func fakeBench(t *testing.T, client *localstack.Client) *bench {
	t.Helper()
	cfg, err := ParseConfig([]string{"-quick", "-repo", t.TempDir(), "-service-bin", "unused"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.ThroughputJobs, cfg.BatchJobs, cfg.BatchSize, cfg.Submitters, cfg.BatchClients = 120, 120, 25, 4, 2
	cands := []localstack.Candidate{{ID: "a", Tenant: "tenant-alpha", Doc: json.RawMessage(`{"resume_text":"Go"}`)}}
	return &bench{cfg: cfg, cands: cands, runID: "test", client: client, out: io.Discard}
}

func TestWorkloads(t *testing.T) {
	t.Parallel()
	t.Run("ThroughputCountsEveryJobThroughMetrics", func(t *testing.T) {
		t.Parallel()
		b := fakeBench(t, newFakeService(t, true))
		res := b.runThroughput(context.Background())
		if res.Status != StatusOK || res.Completed != 120 || res.Failed != 0 || res.JobsPerSecond <= 0 {
			t.Errorf("throughput: %+v", res)
		}
		if res.LatencyMs == nil || res.LatencyMs.P50 != 3 {
			t.Errorf("latency %+v, want the sample's 3 ms createdAt → updatedAt", res.LatencyMs)
		}
	})
	t.Run("BatchSubmitsWholeBatchesAndChecksTheBatchStatus", func(t *testing.T) {
		t.Parallel()
		b := fakeBench(t, newFakeService(t, true))
		b.cfg.BatchJobs = 110 // rounds up to whole batches: 5 × 25
		res := b.runBatch(context.Background())
		if res.Status != StatusOK || res.Completed != 125 || res.Note != "" {
			t.Errorf("batch: %+v", res)
		}
		if b.embeds.report(0).Status != "enabled" {
			t.Errorf("embedding %+v, want enabled from the sampled jobs", b.embeds.report(0))
		}
	})
	t.Run("BatchIsUnavailableWithoutTheRoute", func(t *testing.T) {
		t.Parallel()
		b := fakeBench(t, newFakeService(t, false))
		res := b.runBatch(context.Background())
		if res.Status != StatusUnavailable || res.Note != "route missing: POST /v1/enrich/batch answers 404/405" {
			t.Errorf("batch: %+v", res)
		}
	})
	t.Run("SyncRunsAtHalfTheGivenMaximum", func(t *testing.T) {
		t.Parallel()
		b := fakeBench(t, newFakeService(t, true))
		b.cfg.SyncSeconds = 0.2
		res := b.runSync(context.Background(), 400)
		// The fake answers 202 (never 200): every request counts as not completed.
		if res.Extra["targetRate"] != 200 || res.Jobs != 40 || res.Completed != 0 || res.Failed != 40 {
			t.Errorf("sync: %+v", res)
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
