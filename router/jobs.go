package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/headhunter/hh-enrich-svc/store"
)

// candidateIDPattern keeps candidate ids safe as part of a Firestore document id:
// no "/" (it would split the path, REFERENCE W25), no spaces or control characters.
var candidateIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

// Limits of REFERENCE §1.
const (
	idempotencyKeyMinLength = 8
	idempotencyKeyMaxLength = 128
)

// jobIDPattern admits the store's hex ids with room to change their length; anything
// else cannot name a job and is a 404 without a Redis round trip.
var jobIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,128}$`)

// submitRequest is the body of POST /v1/enrich/profile. Pointers tell "absent" from
// the zero value.
type submitRequest struct {
	CandidateID    *string         `json:"candidateId"`
	Async          *bool           `json:"async"`
	IdempotencyKey *string         `json:"idempotencyKey"`
	Force          *bool           `json:"force"`
	Payload        json.RawMessage `json:"payload"`
}

func (s *server) handleSubmit(w http.ResponseWriter, r *http.Request, tenant string) {
	req, err := s.decodeSubmit(w, r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	job, created, err := s.cfg.Store.Submit(r.Context(), store.SubmitRequest{
		TenantID:       tenant,
		CandidateID:    *req.CandidateID,
		CorrelationID:  tenant + ":" + requestID(r),
		IdempotencyKey: deref(req.IdempotencyKey),
		Payload:        req.Payload,
		Force:          deref(req.Force),
	})
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("submit job: %w", err))
		return
	}
	s.cfg.Metrics.Submitted(tenant, job.ID, requestID(r), created, deref(req.Force))
	if req.Async != nil && !*req.Async && s.cfg.Watcher != nil {
		job = s.waitForJob(r, job)
	}
	// A completed job answers 200 (a sync wait that finished, or a dedupe hit on a
	// completed job); anything else 202, as the reference does.
	status := http.StatusAccepted
	if job.Status == store.StatusCompleted {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"job": newJobView(job)})
}

// waitForJob waits until the job completes or fails, SyncWait passes, the client
// goes away or the service begins to drain, woken by the store's notification
// rather than by polling. It returns the job as last read; on a read error, the
// job as submitted.
func (s *server) waitForJob(r *http.Request, job *store.Job) *store.Job {
	// Watch before reading, so a completion between the read and the wait wakes us.
	done, stop := s.cfg.Watcher.Watch(job.ID)
	defer stop()
	latest := job
	if fresh, err := s.cfg.Store.Get(r.Context(), job.ID); err == nil {
		latest = fresh
	}
	if terminal(latest.Status) {
		return latest
	}
	timer := time.NewTimer(s.cfg.SyncWait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	case <-s.cfg.Draining:
	case <-r.Context().Done():
		return latest
	}
	if fresh, err := s.cfg.Store.Get(r.Context(), job.ID); err == nil {
		latest = fresh
	}
	return latest
}

func terminal(st store.Status) bool { return st == store.StatusCompleted || st == store.StatusFailed }

// decodeSubmit reads and validates the body. Unknown fields and wrong types are
// errors (the reference silently dropped and coerced them, W25).
func (s *server) decodeSubmit(w http.ResponseWriter, r *http.Request) (*submitRequest, error) {
	var req submitRequest
	if err := decodeBody(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		return nil, err
	}
	return &req, validateSubmit(&req)
}

// decodeBody reads one JSON object of at most limit bytes into dst, a pointer to
// a struct: no unknown fields, no key in another case or twice (exactkeys.go), no
// type coercion, nothing after it.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return bodyTooLarge(tooLarge.Limit)
	}
	if err != nil {
		return newError(CodeInvalidBody, "Could not read the request body.", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return newError(CodeInvalidBody, "Body must be a single JSON object.", nil)
	}
	return exactKeys(body, fieldNames(reflect.TypeOf(dst).Elem()))
}

// bodyTooLarge is the 413 of a body over limit, however its size came out:
// declared in Content-Length or met while reading a chunked one.
func bodyTooLarge(limit int64) error {
	return newError(CodeBodyTooLarge, fmt.Sprintf("Request body exceeds %d bytes.", limit), map[string]any{"limit": limit})
}

func requireJSON(r *http.Request) error {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return newError(CodeUnsupportedMediaType, "Content-Type must be application/json.", nil)
	}
	return nil
}

// bodyError explains a JSON decoding failure without echoing the body back.
func bodyError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return newError(CodeInvalidBody, "Body must be a JSON object.", nil)
		}
		return newError(CodeInvalidField, fmt.Sprintf("Field %q must be %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String())),
			map[string]any{"field": typeErr.Field})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return newError(CodeInvalidBody, "Body is not valid JSON.", nil)
	case strings.HasPrefix(err.Error(), unknownFieldPrefix):
		// encoding/json has no typed error for DisallowUnknownFields, only this
		// message (stable since Go 1.10): the one place the API reads error text.
		field := strings.Trim(strings.TrimPrefix(err.Error(), unknownFieldPrefix), `"`)
		return newError(CodeInvalidField, fmt.Sprintf("Unknown field %q.", field), map[string]any{"field": field})
	default:
		return newError(CodeInvalidBody, "Body is not a valid request.", nil)
	}
}

const unknownFieldPrefix = "json: unknown field "

func jsonKind(goKind string) string {
	switch goKind {
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	default:
		return "a " + goKind
	}
}

func validateSubmit(req *submitRequest) error {
	switch {
	case req.CandidateID == nil:
		return fieldError("candidateId", "Field \"candidateId\" is required.")
	case !candidateIDPattern.MatchString(*req.CandidateID):
		return fieldError("candidateId",
			"Field \"candidateId\" must be 1-128 characters: letters, digits and . _ : @ -, starting with a letter or digit.")
	}
	if key := req.IdempotencyKey; key != nil {
		n := utf8.RuneCountInString(*key)
		if n < idempotencyKeyMinLength || n > idempotencyKeyMaxLength {
			return fieldError("idempotencyKey", fmt.Sprintf("Field \"idempotencyKey\" must be %d-%d characters.",
				idempotencyKeyMinLength, idempotencyKeyMaxLength))
		}
	}
	if p := bytes.TrimSpace(req.Payload); len(p) > 0 && !bytes.Equal(p, []byte("null")) && p[0] != '{' {
		return fieldError("payload", "Field \"payload\" must be a JSON object.")
	}
	if hasLoneSurrogate(req.Payload) {
		return fieldError("payload", "Field \"payload\" holds a \\u escape of half a UTF-16 surrogate pair, which is no character: send text as UTF-8, or whole pairs.")
	}
	return nil
}

// hasLoneSurrogate reports whether raw, valid JSON, escapes half a UTF-16
// surrogate pair ("\ud800" alone). encoding/json reads one as U+FFFD, but the
// payload goes on as written, and Python's json reads it as a str that cannot be
// encoded: the enricher raised on it, every time, on every process it reached.
func hasLoneSurrogate(raw []byte) bool {
	if !bytes.Contains(raw, []byte(`\u`)) {
		return false
	}
	pendingHigh := false // the previous character was a high surrogate
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			if pendingHigh {
				return true
			}
			continue
		}
		if raw[i+1] != 'u' || i+6 > len(raw) {
			if pendingHigh {
				return true
			}
			i++ // an escape of one character: skip what it escapes
			continue
		}
		r, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		i += 5
		switch {
		case err != nil:
			return false // not valid JSON: the decoder's to refuse
		case r >= 0xD800 && r <= 0xDBFF:
			if pendingHigh {
				return true
			}
			pendingHigh = true
		case r >= 0xDC00 && r <= 0xDFFF:
			if !pendingHigh {
				return true
			}
			pendingHigh = false
		default:
			if pendingHigh {
				return true
			}
		}
	}
	return pendingHigh
}

func fieldError(field, message string) error {
	return newError(CodeInvalidField, message, map[string]any{"field": field})
}

func (s *server) handleStatus(w http.ResponseWriter, r *http.Request, tenant string) {
	jobID := httprouter.ParamsFromContext(r.Context()).ByName("jobId")
	notFound := newError(CodeNotFound, "Job not found.", map[string]any{"jobId": jobID})
	if !jobIDPattern.MatchString(jobID) {
		writeError(w, r, s.log, notFound)
		return
	}
	job, err := s.cfg.Store.Get(r.Context(), jobID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, r, s.log, notFound)
	case err != nil:
		writeError(w, r, s.log, fmt.Errorf("get job: %w", err))
	case job.TenantID != tenant:
		// Another tenant's job is answered exactly like a missing one, so its existence
		// does not leak (REFERENCE W8).
		writeError(w, r, s.log, notFound)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"job": newJobView(job)})
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
