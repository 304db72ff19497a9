package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrRouteMissing is returned for a route the service does not have (404 or 405 on
// the route itself), so a workload can report "unavailable" instead of failing.
var ErrRouteMissing = errors.New("route missing")

// ErrNotFound is returned for a job the service does not know, or that belongs to
// another tenant: the API does not tell the two apart.
var ErrNotFound = errors.New("not found")

// Client calls the service's REST API as its clients do.
type Client struct {
	baseURL string
	http    *http.Client
}

// NewClient returns a Client for baseURL that keeps up to maxConns connections
// open, so a load loop never pays for new TCP handshakes.
func NewClient(baseURL string, maxConns int) *Client {
	transport := &http.Transport{
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), http: &http.Client{Transport: transport}}
}

// Close drops the idle connections (and the goroutines that keep them).
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Job is the part of a job record the harnesses read.
type Job struct {
	JobID        string     `json:"jobId"`
	TenantID     string     `json:"tenantId"`
	CandidateID  string     `json:"candidateId"`
	Status       string     `json:"status"`
	CreatedAt    string     `json:"createdAt"`
	UpdatedAt    string     `json:"updatedAt"`
	AttemptCount int        `json:"attemptCount"`
	ErrorCode    string     `json:"errorCode"`
	Error        string     `json:"error"`
	Retried      bool       `json:"retried"`
	Result       *JobResult `json:"result"`
}

// JobResult is the part of a completed job's result the harnesses read.
type JobResult struct {
	EmbeddingUpserted      bool   `json:"embeddingUpserted"`
	EmbeddingSkippedReason string `json:"embeddingSkippedReason"`
	EmbeddingErrorCategory string `json:"embeddingErrorCategory"`
	// CandidateSnapshot is the enriched candidate as the job wrote it, kept raw.
	CandidateSnapshot json.RawMessage `json:"candidateSnapshot"`
	// PhaseDurationsMs is where the job's time went: queue, load, python,
	// firestore, embed, rateLimit, total (lease to completion, queue excluded).
	PhaseDurationsMs map[string]float64 `json:"phaseDurationsMs"`
	// TokenUsage, CacheHit and RateLimited are the LLM path's: what the answer
	// cost, whether the result cache gave it, and the 429s the attempt met.
	TokenUsage *struct {
		PromptTokens     int64   `json:"promptTokens"`
		CompletionTokens int64   `json:"completionTokens"`
		TotalTokens      int64   `json:"totalTokens"`
		Cost             float64 `json:"cost"`
	} `json:"tokenUsage"`
	CacheHit    bool `json:"cacheHit"`
	RateLimited int  `json:"rateLimited"`
}

// Terminal reports whether the job will not change any more.
func (j *Job) Terminal() bool { return j.Status == "completed" || j.Status == "failed" }

// SubmitBody is the body of POST /v1/enrich/profile.
type SubmitBody struct {
	CandidateID    string          `json:"candidateId"`
	Async          *bool           `json:"async,omitempty"`
	IdempotencyKey string          `json:"idempotencyKey,omitempty"`
	Force          bool            `json:"force,omitempty"`
	Payload        json.RawMessage `json:"payload,omitempty"`
}

type jobEnvelope struct {
	Job Job `json:"job"`
}

// Submit posts one job and returns it with the HTTP status (202 queued, 200
// completed). Any other status is an error.
func (c *Client) Submit(ctx context.Context, tenant string, body SubmitBody) (*Job, int, error) {
	var env jobEnvelope
	status, err := c.do(ctx, http.MethodPost, "/v1/enrich/profile", tenant, body, &env)
	if err != nil {
		return nil, status, err
	}
	if status != http.StatusOK && status != http.StatusAccepted {
		return nil, status, fmt.Errorf("submit %s: status %d", body.CandidateID, status)
	}
	return &env.Job, status, nil
}

// Status reads one job.
func (c *Client) Status(ctx context.Context, tenant, jobID string) (*Job, error) {
	var env jobEnvelope
	status, err := c.do(ctx, http.MethodGet, "/v1/enrich/status/"+jobID, tenant, nil, &env)
	if err != nil {
		return nil, err
	}
	switch status {
	case http.StatusOK:
		return &env.Job, nil
	case http.StatusNotFound:
		return nil, fmt.Errorf("status of %s: %w", jobID, ErrNotFound)
	default:
		return nil, fmt.Errorf("status of %s: status %d", jobID, status)
	}
}

// do sends a JSON request and decodes a JSON answer into out (when not nil). It
// returns ErrRouteMissing for 404/405 answers that are not the API's own JSON
// errors about a resource (httprouter's "no such route").
func (c *Client) do(ctx context.Context, method, path, tenant string, in, out any) (int, error) {
	req, err := c.newRequest(ctx, method, path, tenant, in)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if routeMissing(resp.StatusCode, raw) {
		return resp.StatusCode, fmt.Errorf("%s %s: %w (status %d)", method, path, ErrRouteMissing, resp.StatusCode)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: undecodable answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) newRequest(ctx context.Context, method, path, tenant string, in any) (*http.Request, error) {
	var body io.Reader
	if in != nil {
		raw, err := encodeBody(in)
		if err != nil {
			return nil, fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tenant != "" {
		req.Header.Set("X-Tenant-ID", tenant)
	}
	return req, nil
}

// routeMissing tells "this route does not exist" from "this job does not exist":
// the service answers an unknown route 405, or 404 with a code other than the
// not_found of a missing resource.
func routeMissing(status int, body []byte) bool {
	switch status {
	case http.StatusMethodNotAllowed:
		return true
	case http.StatusNotFound:
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) != nil {
			return true
		}
		return e.Code != "not_found" || strings.Contains(strings.ToLower(e.Message), "route")
	}
	return false
}

// Metrics fetches the service's Prometheus exposition text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/metrics", "", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET /metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %w (status %d)", ErrRouteMissing, resp.StatusCode)
	}
	return string(raw), nil
}

// Health answers GET /health's status code: 200 while Redis answers, 503 when not.
func (c *Client) Health(ctx context.Context) (int, error) {
	return c.do(ctx, http.MethodGet, "/health", "", nil, nil)
}

// QueueCounts are GET /admin/queue's totals: jobs per state now, and counters
// since the Redis was new.
type QueueCounts struct {
	Queued     int64            `json:"queued"`
	Delayed    int64            `json:"delayed"`
	Processing int64            `json:"processing"`
	Totals     map[string]int64 `json:"totals"`
}

// Pending is how many jobs have not ended yet.
func (q *QueueCounts) Pending() int64 { return q.Queued + q.Delayed + q.Processing }

// QueueCounts reads GET /admin/queue with the admin bearer token.
func (c *Client) QueueCounts(ctx context.Context, adminToken string) (*QueueCounts, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/admin/queue", "", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /admin/queue: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /admin/queue: status %d", resp.StatusCode)
	}
	var q QueueCounts
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		return nil, fmt.Errorf("GET /admin/queue: %w", err)
	}
	return &q, nil
}
