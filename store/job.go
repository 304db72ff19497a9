package store

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Job hash field names, as in REFERENCE §3 (the Lua scripts spell the same
// names). All values are strings.
const (
	fieldJobID               = "jobId"
	fieldTenantID            = "tenantId"
	fieldCandidateID         = "candidateId"
	fieldCandidateDocumentID = "candidateDocumentId"
	fieldDedupeKey           = "dedupeKey" // internal: never leaves the store (REFERENCE W8)
	fieldStatus              = "status"
	fieldCreatedAt           = "createdAt"
	fieldUpdatedAt           = "updatedAt"
	fieldCorrelationID       = "correlationId"
	fieldPriority            = "priority"
	fieldAttemptCount        = "attemptCount"
	fieldPayload             = "payload"
	fieldErrorCode           = "errorCode"
	fieldErrorMessage        = "error" // REFERENCE's name for the message
	fieldRetried             = "retried"
	fieldResult              = "result"
	fieldCheckpoint          = "checkpoint"
	// fieldLeaseToken ("leaseToken") fences lease holders; only scripts use it.
)

// Priorities as stored by the service we replace.
const (
	priorityForce  = 1
	priorityNormal = 5
)

// timeLayout is ISO-8601 UTC with milliseconds, like JavaScript's toISOString.
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// encodeJob returns the hash fields of a new job as field/value pairs, the
// form HSET takes.
func encodeJob(j *Job, dedupeKey string) []any {
	fields := []any{
		fieldJobID, j.ID,
		fieldTenantID, j.TenantID,
		fieldCandidateID, j.CandidateID,
		fieldCandidateDocumentID, j.CandidateDocumentID,
		fieldDedupeKey, dedupeKey,
		fieldStatus, string(j.Status),
		fieldCreatedAt, formatTime(j.CreatedAt),
		fieldUpdatedAt, formatTime(j.UpdatedAt),
		fieldCorrelationID, j.CorrelationID,
		fieldPriority, strconv.Itoa(j.Priority),
		fieldAttemptCount, strconv.Itoa(j.Attempts),
	}
	if j.Payload != nil {
		fields = append(fields, fieldPayload, string(j.Payload))
	}
	return fields
}

// decodeJob reads a job hash. A field that does not parse means the hash was
// not written by this package, which is an error rather than a zero value.
func decodeJob(f map[string]string) (*Job, error) {
	j := &Job{
		ID:                  f[fieldJobID],
		TenantID:            f[fieldTenantID],
		CandidateID:         f[fieldCandidateID],
		CandidateDocumentID: f[fieldCandidateDocumentID],
		Status:              Status(f[fieldStatus]),
		CorrelationID:       f[fieldCorrelationID],
		ErrorCode:           f[fieldErrorCode],
		ErrorMessage:        f[fieldErrorMessage],
		Payload:             rawJSON(f[fieldPayload]),
		Result:              rawJSON(f[fieldResult]),
		Checkpoint:          rawJSON(f[fieldCheckpoint]),
	}
	var err error
	if j.CreatedAt, err = time.Parse(time.RFC3339Nano, f[fieldCreatedAt]); err != nil {
		return nil, malformed(j.ID, fieldCreatedAt, err)
	}
	if j.UpdatedAt, err = time.Parse(time.RFC3339Nano, f[fieldUpdatedAt]); err != nil {
		return nil, malformed(j.ID, fieldUpdatedAt, err)
	}
	if j.Priority, err = strconv.Atoi(f[fieldPriority]); err != nil {
		return nil, malformed(j.ID, fieldPriority, err)
	}
	if j.Attempts, err = strconv.Atoi(f[fieldAttemptCount]); err != nil {
		return nil, malformed(j.ID, fieldAttemptCount, err)
	}
	if j.TokenUsage, err = decodeTokenUsage(j.ID, f); err != nil {
		return nil, err
	}
	if err = decodeRateLimitWait(j, f); err != nil {
		return nil, err
	}
	if v, ok := f[fieldRetried]; ok {
		if j.Retried, err = strconv.ParseBool(v); err != nil {
			return nil, malformed(j.ID, fieldRetried, err)
		}
	}
	return j, nil
}

func malformed(jobID, field string, err error) error {
	return fmt.Errorf("store: job %q has a malformed %s: %w", jobID, field, err)
}

func rawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// pairsToMap turns a flat [field, value, ...] script reply (HGETALL inside
// Lua) into a map.
func pairsToMap(reply any) (map[string]string, error) {
	pairs, ok := reply.([]any)
	if !ok || len(pairs)%2 != 0 {
		return nil, fmt.Errorf("store: unexpected hash reply %T", reply)
	}
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, kok := pairs[i].(string)
		v, vok := pairs[i+1].(string)
		if !kok || !vok {
			return nil, fmt.Errorf("store: unexpected hash entry %T=%T", pairs[i], pairs[i+1])
		}
		m[k] = v
	}
	return m, nil
}

// compactPayload validates a request payload and returns it compacted, or
// nil when there is none (absent or JSON null).
func compactPayload(payload json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, fmt.Errorf("store: invalid payload JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// dedupeSource is what a submit is deduplicated by: the idempotency key when
// given, else the canonical JSON (sorted keys, compact) of candidate and
// payload, so that the client's key order does not matter (REFERENCE W5).
func dedupeSource(req SubmitRequest, payload json.RawMessage) (string, error) {
	if req.IdempotencyKey != "" {
		return "idem:" + req.IdempotencyKey, nil
	}
	var decoded any
	if payload != nil {
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber() // keep numbers as written: 10000000000000001 stays exact
		if err := dec.Decode(&decoded); err != nil {
			return "", fmt.Errorf("store: invalid payload JSON: %w", err)
		}
	}
	// encoding/json writes map keys sorted, at every depth.
	canonical, err := json.Marshal(map[string]any{"candidateId": req.CandidateID, "payload": decoded})
	if err != nil {
		return "", fmt.Errorf("store: canonical payload: %w", err)
	}
	return string(canonical), nil
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
