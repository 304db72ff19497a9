package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// BatchCandidate is one entry of POST /v1/enrich/batch.
type BatchCandidate struct {
	CandidateID    string          `json:"candidateId"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	IdempotencyKey string          `json:"idempotencyKey,omitempty"`
}

// BatchBody is the body of POST /v1/enrich/batch.
type BatchBody struct {
	Candidates []BatchCandidate `json:"candidates"`
	Force      bool             `json:"force,omitempty"`
}

// Batch is what the batch routes answer: its id, its jobs and, from GET, the
// number of jobs per status.
type Batch struct {
	BatchID string         `json:"batchId"`
	Jobs    []Job          `json:"jobs"`
	Counts  map[string]int `json:"counts"`
}

// SubmitBatch posts a batch; 202 is the only success. ErrRouteMissing means the
// service has no batch route.
func (c *Client) SubmitBatch(ctx context.Context, tenant string, body BatchBody) (*Batch, error) {
	var out Batch
	status, err := c.do(ctx, http.MethodPost, "/v1/enrich/batch", tenant, body, &out)
	if err != nil {
		return nil, err
	}
	if status != http.StatusAccepted && status != http.StatusOK {
		return nil, fmt.Errorf("submit batch of %d: status %d", len(body.Candidates), status)
	}
	return &out, nil
}

// BatchStatus reads a batch.
func (c *Client) BatchStatus(ctx context.Context, tenant, batchID string) (*Batch, error) {
	var out Batch
	status, err := c.do(ctx, http.MethodGet, "/v1/enrich/batch/"+batchID, tenant, nil, &out)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("batch %s: status %d", batchID, status)
	}
	return &out, nil
}
