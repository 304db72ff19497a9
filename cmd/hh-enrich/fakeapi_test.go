package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAPI speaks the service's batch, status and admin routes over a real socket,
// with jobs that finish as they are polled: enough to test the command's logic
// fast. The test against the real service is batch_e2e_test.go.
type fakeAPI struct {
	t     *testing.T
	token string // required as the /v1 bearer token when set

	mu          sync.Mutex
	jobs        map[string]*fakeJob
	byKey       map[string]string   // idempotencyKey → job id
	batches     map[string][]string // batch id → job ids
	created     int
	failing     map[string]bool // candidate ids whose jobs fail
	unavailable int             // answer this many more POSTs with 503
	requests    []string        // "METHOD path?query" of each request
}

type fakeJob struct {
	ID, CandidateID, Status, ErrorCode string
	polls                              int
}

func newFakeAPI(t *testing.T) (*fakeAPI, string) {
	f := &fakeAPI{t: t, jobs: map[string]*fakeJob{}, byKey: map[string]string{}, batches: map[string][]string{},
		failing: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/enrich/batch", f.submit)
	mux.HandleFunc("GET /v1/enrich/batch/{id}", f.batch)
	mux.HandleFunc("GET /v1/enrich/status/{id}", f.status)
	mux.HandleFunc("GET /admin/pool", f.pool)
	mux.HandleFunc("POST /admin/pool/restart", f.pool)
	mux.HandleFunc("POST /admin/pool/processes/{id}/restart", f.pool)
	mux.HandleFunc("GET /admin/queue", f.queue)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		f.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/v1/") && !f.authorized(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeAPI) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("X-Tenant-ID") == "" {
		reply(w, http.StatusBadRequest, map[string]any{"code": "missing_tenant", "message": "Missing X-Tenant-ID header."})
		return false
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		reply(w, http.StatusUnauthorized, map[string]any{"code": "unauthorized", "message": "Missing bearer token."})
		return false
	}
	return true
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (f *fakeAPI) submit(w http.ResponseWriter, r *http.Request) {
	var body struct{ Candidates []BatchCandidate }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Candidates) == 0 || len(body.Candidates) > maxChunk {
		reply(w, http.StatusBadRequest, map[string]any{"code": "invalid_body", "message": "bad batch"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unavailable > 0 {
		f.unavailable--
		reply(w, http.StatusServiceUnavailable, map[string]any{"code": "unavailable", "message": "try later"})
		return
	}
	batchID := fmt.Sprintf("b%d", len(f.batches)+1)
	var jobs []BatchJob
	for _, c := range body.Candidates {
		id, ok := f.byKey[c.IdempotencyKey]
		if !ok || f.jobs[id].Status == "failed" { // failed jobs do not dedupe
			f.created++
			id = fmt.Sprintf("job-%d", f.created)
			f.jobs[id] = &fakeJob{ID: id, CandidateID: c.CandidateID, Status: "queued"}
			f.byKey[c.IdempotencyKey] = id
		}
		f.batches[batchID] = append(f.batches[batchID], id)
		jobs = append(jobs, f.jobs[id].view())
	}
	reply(w, http.StatusAccepted, map[string]any{"batchId": batchID, "tenantId": "t", "jobs": jobs})
}

// batch answers a batch; each read moves every queued job of it one step on:
// queued → processing → completed (or failed).
func (f *fakeAPI) batch(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids, ok := f.batches[r.PathValue("id")]
	if !ok {
		reply(w, http.StatusNotFound, map[string]any{"code": "not_found", "message": "Batch not found."})
		return
	}
	out := Batch{BatchID: r.PathValue("id"), Total: len(ids), Counts: map[string]int{}}
	for _, id := range ids {
		j := f.jobs[id]
		j.advance(f.failing[j.CandidateID])
		out.Counts[j.Status]++
		out.Jobs = append(out.Jobs, j.view())
	}
	reply(w, http.StatusOK, out)
}

func (j *fakeJob) advance(fail bool) {
	switch j.Status {
	case "queued":
		j.Status = "processing"
	case "processing":
		j.Status, j.ErrorCode = "completed", ""
		if fail {
			j.Status, j.ErrorCode = "failed", "python_timeout"
		}
	}
}

func (j *fakeJob) view() BatchJob {
	return BatchJob{JobID: j.ID, CandidateID: j.CandidateID, Status: j.Status, ErrorCode: j.ErrorCode, AttemptCount: 1}
}

func (f *fakeAPI) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[r.PathValue("id")]
	if !ok {
		reply(w, http.StatusNotFound, map[string]any{"code": "not_found", "message": "Job not found."})
		return
	}
	job := map[string]any{"jobId": j.ID, "candidateId": j.CandidateID, "status": j.Status, "attemptCount": 1}
	if j.Status == "completed" {
		job["result"] = map[string]any{"overall_score": 0.5}
	}
	if j.Status == "failed" {
		job["errorCode"], job["error"] = j.ErrorCode, "enrichment timed out"
	}
	reply(w, http.StatusOK, map[string]any{"job": job})
}

func (f *fakeAPI) pool(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer admin-secret" {
		reply(w, http.StatusUnauthorized, map[string]any{"code": "unauthorized", "message": "Missing bearer token."})
		return
	}
	reply(w, http.StatusOK, map[string]any{"size": 2, "ready": 2, "degraded": false, "circuit": "closed",
		"restarts": map[string]int{"operator": 1},
		"processes": []map[string]any{{"id": 0, "pid": 101, "state": "ready", "jobsServed": 7, "rssBytes": 31 << 20, "breaker": "closed"},
			{"id": 1, "pid": 102, "state": "ready", "breaker": "closed", "lastError": "exit status 1"}}})
}

func (f *fakeAPI) queue(w http.ResponseWriter, r *http.Request) {
	st := map[string]any{"queued": 3, "delayed": 1, "processing": 2, "totals": map[string]int{"submitted": 9, "completed": 4},
		"depthByTenant": map[string]int{"t1": 3}, "dedupeHits": map[string]int{"t1": 5}}
	if tenant := r.URL.Query().Get("tenant"); tenant != "" {
		st["tenant"] = tenant
		st["deadLetters"] = []map[string]any{{"jobId": "j-dead", "candidateId": "c-9", "status": "failed",
			"errorCode": "python_crashed", "error": "plugin died", "attemptCount": 3}}
	}
	reply(w, http.StatusOK, st)
}

// stats returns the jobs created so far and the requests seen.
func (f *fakeAPI) stats() (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created, append([]string(nil), f.requests...)
}
