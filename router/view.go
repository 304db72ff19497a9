package router

import (
	"encoding/json"

	"github.com/headhunter/hh-enrich-svc/store"
)

// jobView is a job as clients see it: REFERENCE §3's record fields, minus internals
// such as the dedupe key (W8), plus the error code the reference never stored (W17).
type jobView struct {
	JobID               string       `json:"jobId"`
	TenantID            string       `json:"tenantId"`
	CandidateID         string       `json:"candidateId"`
	CandidateDocumentID string       `json:"candidateDocumentId"`
	Status              store.Status `json:"status"`
	CreatedAt           string       `json:"createdAt"`
	UpdatedAt           string       `json:"updatedAt"`
	CorrelationID       string       `json:"correlationId,omitempty"`
	Priority            int          `json:"priority"`
	AttemptCount        int          `json:"attemptCount"`
	Error               string       `json:"error,omitempty"`
	ErrorCode           string       `json:"errorCode,omitempty"`
	// Retried is present once a job has an error or a retry behind it: a failed
	// job always says whether it was retried, a fresh one says nothing.
	Retried *bool `json:"retried,omitempty"`
	// TokenUsage sums every attempt's LLM tokens; absent when nothing was billed.
	TokenUsage *store.TokenUsage `json:"tokenUsage,omitempty"`
	Result     json.RawMessage   `json:"result,omitempty"`
}

// timeLayout is ISO-8601 UTC with milliseconds, as the reference's clients parse it.
const timeLayout = "2006-01-02T15:04:05.000Z"

func newJobView(j *store.Job) jobView {
	v := jobView{
		JobID:               j.ID,
		TenantID:            j.TenantID,
		CandidateID:         j.CandidateID,
		CandidateDocumentID: j.CandidateDocumentID,
		Status:              j.Status,
		CreatedAt:           j.CreatedAt.UTC().Format(timeLayout),
		UpdatedAt:           j.UpdatedAt.UTC().Format(timeLayout),
		CorrelationID:       j.CorrelationID,
		Priority:            j.Priority,
		AttemptCount:        j.Attempts,
		Error:               j.ErrorMessage,
		ErrorCode:           j.ErrorCode,
		Result:              j.Result,
	}
	if j.Retried || j.ErrorCode != "" || j.Status == store.StatusFailed {
		v.Retried = &j.Retried
	}
	if !j.TokenUsage.IsZero() {
		usage := j.TokenUsage
		v.TokenUsage = &usage
	}
	return v
}
