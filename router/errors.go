package router

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/store"
)

// Error is a client-facing failure: an HTTP status, a stable machine-readable code,
// a message for people, and optional details (e.g. which field).
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
	// Header holds response headers that belong to this error (WWW-Authenticate,
	// Retry-After); writeError sends them.
	Header http.Header `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Error codes of this API, each with the one status it is sent with.
const (
	CodeInvalidBody          = "invalid_body"
	CodeInvalidField         = "invalid_field"
	CodeMissingTenant        = "missing_tenant"
	CodeInvalidTenant        = "invalid_tenant"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeRateLimited          = "rate_limited"
	CodeInFlightLimit        = "in_flight_limit"
	CodeAdminDisabled        = "admin_disabled"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"
)

var statusByCode = map[string]int{
	CodeInvalidBody:          http.StatusBadRequest,
	CodeInvalidField:         http.StatusBadRequest,
	CodeMissingTenant:        http.StatusBadRequest,
	CodeInvalidTenant:        http.StatusBadRequest,
	CodeNotFound:             http.StatusNotFound,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeUnauthorized:         http.StatusUnauthorized,
	CodeForbidden:            http.StatusForbidden,
	CodeRateLimited:          http.StatusTooManyRequests,
	CodeInFlightLimit:        http.StatusTooManyRequests,
	CodeAdminDisabled:        http.StatusForbidden,
	CodeUnavailable:          http.StatusServiceUnavailable,
	CodeInternal:             http.StatusInternalServerError,
}

// newError builds an *Error whose status comes from the code table.
func newError(code, message string, details map[string]any) *Error {
	return &Error{Status: statusByCode[code], Code: code, Message: message, Details: details}
}

// writeError is the one place errors become responses. Anything that is not an
// *Error is a bug or an outage: it is logged, and the client gets a generic 500
// that leaks nothing.
func writeError(w http.ResponseWriter, r *http.Request, log hclog.Logger, err error) {
	var apiErr *Error
	if !errors.As(err, &apiErr) && errors.Is(err, store.ErrUnavailable) {
		// Redis is down: the request may succeed in a moment; nothing is lost.
		log.Warn("request refused: redis unavailable", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r))
		apiErr = newError(CodeUnavailable, "The job store is unavailable; retry shortly.", nil).withHeader("Retry-After", "1")
	}
	if apiErr == nil && !errors.As(err, &apiErr) {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "error", err)
		apiErr = newError(CodeInternal, "An unexpected error occurred.", nil)
	}
	for name, values := range apiErr.Header {
		w.Header()[name] = values
	}
	writeJSON(w, apiErr.Status, apiErr)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body) // the client hung up: nothing left to tell it
}

// withHeader returns e with a response header added.
func (e *Error) withHeader(name, value string) *Error {
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.Header.Set(name, value)
	return e
}
