package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/headhunter/hh-enrich-svc/store"
)

// BatchStore is what the batch routes need of the job store (*store.RedisStore).
type BatchStore interface {
	SubmitBatch(ctx context.Context, tenantID string, reqs []store.SubmitRequest) (*store.Batch, []store.SubmitResult, error)
	GetBatch(ctx context.Context, tenantID, batchID string) (*store.Batch, error)
	GetBatchJobs(ctx context.Context, b *store.Batch) ([]store.BatchJob, error)
}

// BatchBodyFactor sizes the batch body limit from the single route's: a batch
// may carry as much as this many single submissions (32 MiB with the 1 MiB
// default), and each of its candidates no more than one.
const BatchBodyFactor = 32

// batchRequest is the body of POST /v1/enrich/batch.
type batchRequest struct {
	Candidates []batchCandidate `json:"candidates"`
	Force      *bool            `json:"force"`
}

type batchCandidate struct {
	CandidateID    *string         `json:"candidateId"`
	Payload        json.RawMessage `json:"payload"`
	IdempotencyKey *string         `json:"idempotencyKey"`
}

func (s *server) handleSubmitBatch(w http.ResponseWriter, r *http.Request, tenant string) {
	req, err := s.decodeBatch(w, r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	reqs, err := batchSubmitRequests(req, tenant, requestID(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// The rate limit counts candidates: the request's own token was taken on
	// the way in, the rest are taken now.
	if err := s.limiter.allowMore(tenant, len(reqs)-1); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	batch, results, err := s.cfg.Batches.SubmitBatch(r.Context(), tenant, reqs)
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("submit batch: %w", err))
		return
	}
	views := make([]jobView, len(results))
	for i, res := range results {
		views[i] = newJobView(res.Job)
		s.cfg.Metrics.Submitted(tenant, res.Job.ID, requestID(r), res.Created, reqs[i].Force)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{
		"batchId": batch.ID, "tenantId": tenant, "createdAt": batch.CreatedAt.Format(timeLayout), "jobs": views,
	})
}

// batchSubmitRequests validates every candidate as a single submission would be,
// naming the failing item, so a batch is all accepted or all refused.
func batchSubmitRequests(req *batchRequest, tenant, requestID string) ([]store.SubmitRequest, error) {
	if len(req.Candidates) == 0 || len(req.Candidates) > store.MaxBatchSize {
		return nil, fieldError("candidates", fmt.Sprintf(`Field "candidates" must hold 1-%d candidates.`, store.MaxBatchSize))
	}
	reqs := make([]store.SubmitRequest, len(req.Candidates))
	for i, c := range req.Candidates {
		single := submitRequest{CandidateID: c.CandidateID, Payload: c.Payload, IdempotencyKey: c.IdempotencyKey}
		if err := validateSubmit(&single); err != nil {
			var apiErr *Error
			if errors.As(err, &apiErr) {
				apiErr.Details = map[string]any{"field": fmt.Sprintf("candidates[%d].%v", i, apiErr.Details["field"]), "index": i}
			}
			return nil, err
		}
		reqs[i] = store.SubmitRequest{
			TenantID: tenant, CandidateID: *c.CandidateID, CorrelationID: tenant + ":" + requestID,
			IdempotencyKey: deref(c.IdempotencyKey), Payload: c.Payload, Force: deref(req.Force),
		}
	}
	return reqs, nil
}

// batchView is GET /v1/enrich/batch/:batchId: counts per status and every job's state.
type batchView struct {
	BatchID   string         `json:"batchId"`
	TenantID  string         `json:"tenantId"`
	CreatedAt string         `json:"createdAt"`
	Total     int            `json:"total"`
	Counts    map[string]int `json:"counts"`
	Jobs      []batchJobView `json:"jobs"`
}

type batchJobView struct {
	JobID        string `json:"jobId"`
	CandidateID  string `json:"candidateId"`
	Status       string `json:"status"`
	ErrorCode    string `json:"errorCode,omitempty"`
	AttemptCount int    `json:"attemptCount"`
	UpdatedAt    string `json:"updatedAt,omitempty"`
}

// expiredStatus is the status of a batch's job whose record has expired.
const expiredStatus = "expired"

func (s *server) handleGetBatch(w http.ResponseWriter, r *http.Request, tenant string) {
	batchID := httprouter.ParamsFromContext(r.Context()).ByName("batchId")
	notFound := newError(CodeNotFound, "Batch not found.", map[string]any{"batchId": batchID})
	batch, err := s.cfg.Batches.GetBatch(r.Context(), tenant, batchID)
	if errors.Is(err, store.ErrNotFound) {
		// Another tenant's batch is answered exactly like a missing one.
		writeError(w, r, s.log, notFound)
		return
	}
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("get batch: %w", err))
		return
	}
	jobs, err := s.cfg.Batches.GetBatchJobs(r.Context(), batch)
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("get batch jobs: %w", err))
		return
	}
	view := batchView{BatchID: batch.ID, TenantID: tenant, CreatedAt: batch.CreatedAt.Format(timeLayout),
		Total: len(jobs), Counts: map[string]int{}, Jobs: make([]batchJobView, len(jobs))}
	for _, st := range []store.Status{store.StatusQueued, store.StatusProcessing, store.StatusCompleted, store.StatusFailed} {
		view.Counts[string(st)] = 0
	}
	for i, j := range jobs {
		status := string(j.Status)
		if status == "" {
			status = expiredStatus
		}
		view.Counts[status]++
		view.Jobs[i] = batchJobView{JobID: j.ID, CandidateID: j.CandidateID, Status: status,
			ErrorCode: j.ErrorCode, AttemptCount: j.Attempts, UpdatedAt: j.UpdatedAt}
	}
	writeJSON(w, http.StatusOK, view)
}
