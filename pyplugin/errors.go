package pyplugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// ErrProcessGone means the plugin process died or its connection broke during a
// call. The call may be retried on another process; the job did not cause it.
var ErrProcessGone = errors.New("pyplugin: plugin process gone")

// Reason is the machine-readable cause of a failed enrichment. The values are the
// error codes stored on failed jobs.
type Reason string

// The reasons of enrich.proto, as stored on jobs.
const (
	ReasonInvalidCandidate    Reason = "invalid_candidate"
	ReasonUpstreamRateLimited Reason = "upstream_rate_limited"
	ReasonUpstreamUnavailable Reason = "upstream_unavailable"
	ReasonUpstreamBadOutput   Reason = "upstream_bad_output"
	ReasonTimeout             Reason = "timeout"
	ReasonInternal            Reason = "internal"
	// ReasonUpstreamRejectedInput: the LLM provider refused this one candidate's
	// request (HTTP 400, 413, 422). Not retryable, and no fault of the process or
	// of the provider, so it counts on no breaker.
	ReasonUpstreamRejectedInput Reason = "upstream_rejected_input"
)

var reasonsByProto = map[enrichv1.Reason]Reason{
	enrichv1.Reason_REASON_INVALID_CANDIDATE:       ReasonInvalidCandidate,
	enrichv1.Reason_REASON_UPSTREAM_RATE_LIMITED:   ReasonUpstreamRateLimited,
	enrichv1.Reason_REASON_UPSTREAM_UNAVAILABLE:    ReasonUpstreamUnavailable,
	enrichv1.Reason_REASON_UPSTREAM_BAD_OUTPUT:     ReasonUpstreamBadOutput,
	enrichv1.Reason_REASON_TIMEOUT:                 ReasonTimeout,
	enrichv1.Reason_REASON_INTERNAL:                ReasonInternal,
	enrichv1.Reason_REASON_UPSTREAM_REJECTED_INPUT: ReasonUpstreamRejectedInput,
}

// Error is an enrichment the plugin (or the call's deadline) failed, with whether a
// retry can help.
type Error struct {
	Reason     Reason
	Message    string
	Retryable  bool
	RetryAfter time.Duration // set by upstream_rate_limited when the provider said so
	// DeadlinePassed is set when the call's deadline expired before the plugin
	// answered (as opposed to the plugin reporting a timeout of its own upstream):
	// the process may be stuck on the call.
	DeadlinePassed bool
	// TokenUsage is what the provider billed for the failed call (nil when nothing):
	// a refused or truncated answer costs as much as a good one.
	TokenUsage *enrichv1.TokenUsage
}

func (e *Error) Error() string {
	return fmt.Sprintf("pyplugin: %s: %s", e.Reason, e.Message)
}

// ErrorFromProto converts a batch item's error outcome.
func ErrorFromProto(pe *enrichv1.EnrichError) *Error {
	reason, ok := reasonsByProto[pe.GetReason()]
	if !ok {
		reason = ReasonInternal
	}
	return &Error{
		Reason:     reason,
		Message:    pe.GetMessage(),
		Retryable:  pe.GetRetryable(),
		RetryAfter: time.Duration(pe.GetRetryAfterMs()) * time.Millisecond,
		TokenUsage: pe.GetTokenUsage(),
	}
}

// fromStatus classifies a gRPC error by its status code and EnrichError detail.
// The message text is never inspected.
func fromStatus(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return &Error{Reason: ReasonTimeout, Message: "plugin call exceeded its deadline", Retryable: true, DeadlinePassed: true}
		}
		return fmt.Errorf("pyplugin: call cancelled: %w", ctxErr)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("pyplugin: %w", err)
	}
	for _, detail := range st.Details() {
		if pe, ok := detail.(*enrichv1.EnrichError); ok {
			return ErrorFromProto(pe)
		}
	}
	switch st.Code() {
	case codes.Unavailable, codes.Canceled:
		// The transport broke: the process died or closed its socket.
		return fmt.Errorf("pyplugin: %s: %w", st.Message(), ErrProcessGone)
	case codes.DeadlineExceeded:
		// The server enforces the propagated deadline too, and grpc-timeout is
		// truncated on the wire, so its verdict can arrive a moment before ctx
		// expires here: it is the same deadline passing.
		return &Error{Reason: ReasonTimeout, Message: st.Message(), Retryable: true, DeadlinePassed: true}
	default:
		return &Error{Reason: ReasonInternal, Message: st.Code().String() + ": " + st.Message()}
	}
}
