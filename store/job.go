package store

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
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

// newJobFields are the hash fields of a new job, in the order
// appendNewJobValues gives their values; submitScript has the names, so that
// a submit sends only the values. The payload, last, is absent when there is
// none.
var newJobFields = []string{
	fieldJobID, fieldTenantID, fieldCandidateID, fieldCandidateDocumentID, fieldDedupeKey, fieldStatus,
	fieldCreatedAt, fieldUpdatedAt, fieldCorrelationID, fieldPriority, fieldAttemptCount, fieldPayload,
}

// luaStringList is names as a Lua table constructor, {'a', 'b'}.
func luaStringList(names []string) string {
	return "{'" + strings.Join(names, "', '") + "'}"
}

// appendNewJobValues appends the values of a new job's hash fields, in
// newJobFields order, to args.
func appendNewJobValues(args []any, j *Job, dedupeKey string) []any {
	created := formatTime(j.CreatedAt)
	updated := created
	if !j.UpdatedAt.Equal(j.CreatedAt) {
		updated = formatTime(j.UpdatedAt)
	}
	args = append(args, j.ID, j.TenantID, j.CandidateID, j.CandidateDocumentID, dedupeKey, string(j.Status),
		created, updated, j.CorrelationID, strconv.Itoa(j.Priority), strconv.Itoa(j.Attempts))
	if j.Payload != nil {
		args = append(args, []byte(j.Payload)) // go-redis writes a []byte as it is, without a copy
	}
	return args
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

// dedupeHash is the SHA-1, in hex, of what a submit is deduplicated by: the
// idempotency key when given, else the canonical JSON of candidate and
// payload, {"candidateId":…,"payload":…} with the payload's keys sorted at
// every depth, so that the client's key order does not matter (REFERENCE
// W5). canonicalPayload is readPayload's; nil for no payload.
func dedupeHash(req SubmitRequest, canonicalPayload []byte) string {
	h := sha1.New()
	if req.IdempotencyKey != "" {
		_, _ = io.WriteString(h, "idem:"+req.IdempotencyKey)
	} else {
		head := make([]byte, 0, 64)
		head = append(head, `{"candidateId":`...)
		head = appendMarshalledString(head, req.CandidateID)
		head = append(head, `,"payload":`...)
		if canonicalPayload == nil {
			head = append(head, "null"...)
		}
		_, _ = h.Write(head) // a hash.Hash never returns an error
		_, _ = h.Write(canonicalPayload)
		_, _ = h.Write([]byte{'}'})
	}
	var sum [sha1.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}
