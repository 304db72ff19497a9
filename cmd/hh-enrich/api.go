package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The API's shapes this command reads (router/openapi.yaml), with only the fields
// it uses; unknown fields are ignored, so a newer service stays compatible.

// BatchCandidate is one entry of POST /v1/enrich/batch.
type BatchCandidate struct {
	CandidateID    string          `json:"candidateId"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	IdempotencyKey string          `json:"idempotencyKey,omitempty"`
}

// BatchJob is a job as the batch routes list it.
type BatchJob struct {
	JobID        string `json:"jobId"`
	CandidateID  string `json:"candidateId"`
	Status       string `json:"status"`
	ErrorCode    string `json:"errorCode,omitempty"`
	AttemptCount int    `json:"attemptCount"`
}

// Batch is the answer of POST /v1/enrich/batch (jobs in request order) and of
// GET /v1/enrich/batch/:batchId (with counts).
type Batch struct {
	BatchID string         `json:"batchId"`
	Total   int            `json:"total"`
	Counts  map[string]int `json:"counts"`
	Jobs    []BatchJob     `json:"jobs"`
}

// Job is a job as GET /v1/enrich/status/:jobId answers it.
type Job struct {
	JobID        string          `json:"jobId"`
	CandidateID  string          `json:"candidateId"`
	Status       string          `json:"status"`
	AttemptCount int             `json:"attemptCount"`
	Error        string          `json:"error,omitempty"`
	ErrorCode    string          `json:"errorCode,omitempty"`
	Result       json.RawMessage `json:"result,omitempty"`
}

// terminal reports whether a job's status can no longer change: completed,
// failed, or expired (its record is gone).
func terminal(status string) bool {
	return status == "completed" || status == "failed" || status == "expired"
}

// SubmitBatch posts up to 1,000 candidates as one batch.
func (c *Client) SubmitBatch(ctx context.Context, candidates []BatchCandidate) (*Batch, error) {
	var out Batch
	body := map[string]any{"candidates": candidates}
	if err := c.call(ctx, http.MethodPost, "/v1/enrich/batch", false, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetBatch reads a batch: every job's status.
func (c *Client) GetBatch(ctx context.Context, batchID string) (*Batch, error) {
	var out Batch
	if err := c.call(ctx, http.MethodGet, "/v1/enrich/batch/"+url.PathEscape(batchID), false, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetJobRaw reads a job, as the service wrote it.
func (c *Client) GetJobRaw(ctx context.Context, jobID string) (json.RawMessage, error) {
	var out struct {
		Job json.RawMessage `json:"job"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/enrich/status/"+url.PathEscape(jobID), false, nil, &out); err != nil {
		return nil, err
	}
	return out.Job, nil
}

// GetJob reads a job.
func (c *Client) GetJob(ctx context.Context, jobID string) (*Job, error) {
	raw, err := c.GetJobRaw(ctx, jobID)
	if err != nil {
		return nil, err
	}
	var job Job
	if err := json.Unmarshal(raw, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// ProcessInfo is one plugin process in GET /admin/pool.
type ProcessInfo struct {
	ID         int       `json:"id"`
	PID        int       `json:"pid"`
	State      string    `json:"state"`
	InFlight   int       `json:"inFlight"`
	JobsServed int64     `json:"jobsServed"`
	Failures   int64     `json:"failures"`
	RSSBytes   int64     `json:"rssBytes"`
	StartedAt  time.Time `json:"startedAt"`
	Breaker    string    `json:"breaker"`
	LastError  string    `json:"lastError,omitempty"`
}

// PoolStatus is GET /admin/pool and the answer of the restart routes.
type PoolStatus struct {
	Size      int            `json:"size"`
	Ready     int            `json:"ready"`
	Degraded  bool           `json:"degraded"`
	Circuit   string         `json:"circuit"`
	Restarts  map[string]int `json:"restarts"`
	Processes []ProcessInfo  `json:"processes"`
}

// adminRestartTimeout bounds a restart request: a rolling restart waits for each
// successor to come up (the service allows itself two minutes).
const adminRestartTimeout = 150 * time.Second

// Pool reads the pool (raw as the service sent it, and decoded).
func (c *Client) Pool(ctx context.Context) (json.RawMessage, *PoolStatus, error) {
	return c.poolCall(ctx, http.MethodGet, "/admin/pool")
}

// RestartPool restarts every plugin process (rolling), or only process id when
// id is not nil, and returns the pool afterwards.
func (c *Client) RestartPool(ctx context.Context, id *int) (json.RawMessage, *PoolStatus, error) {
	path := "/admin/pool/restart"
	if id != nil {
		path = "/admin/pool/processes/" + strconv.Itoa(*id) + "/restart"
	}
	slow := *c
	slow.cfg.RequestTimeout = max(c.cfg.RequestTimeout, adminRestartTimeout)
	return slow.poolCall(ctx, http.MethodPost, path)
}

func (c *Client) poolCall(ctx context.Context, method, path string) (json.RawMessage, *PoolStatus, error) {
	var raw json.RawMessage
	if err := c.call(ctx, method, path, true, nil, &raw); err != nil {
		return nil, nil, err
	}
	var st PoolStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, nil, err
	}
	return raw, &st, nil
}

// QueueStatus is GET /admin/queue.
type QueueStatus struct {
	Queued        int64            `json:"queued"`
	Delayed       int64            `json:"delayed"`
	Processing    int64            `json:"processing"`
	Totals        map[string]int64 `json:"totals"`
	DepthByTenant map[string]int64 `json:"depthByTenant"`
	DedupeHits    map[string]int64 `json:"dedupeHits"`
	Tenant        string           `json:"tenant,omitempty"`
	DeadLetters   []Job            `json:"deadLetters,omitempty"`
}

// Queue reads the queue's counters; with tenant, also that tenant's dead letters
// (newest first, up to limit; 0 for the service's default).
func (c *Client) Queue(ctx context.Context, tenant string, limit int) (json.RawMessage, *QueueStatus, error) {
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/admin/queue"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodGet, path, true, nil, &raw); err != nil {
		return nil, nil, err
	}
	var st QueueStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, nil, err
	}
	return raw, &st, nil
}
