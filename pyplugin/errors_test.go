package pyplugin

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

func TestFromStatus(t *testing.T) {
	t.Parallel()
	live := context.Background()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()

	withDetail := func(code codes.Code, detail *enrichv1.EnrichError) error {
		st, err := status.New(code, detail.GetMessage()).WithDetails(detail)
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}

	for _, tc := range []struct {
		name      string
		ctx       context.Context
		err       error
		reason    Reason
		retryable bool
		deadline  bool
		gone      bool
	}{
		{"PluginReasonComesFromTheDetail", live,
			withDetail(codes.ResourceExhausted, &enrichv1.EnrichError{Reason: enrichv1.Reason_REASON_UPSTREAM_RATE_LIMITED, Retryable: true, RetryAfterMs: 1500}),
			ReasonUpstreamRateLimited, true, false, false},
		{"PluginTimeoutIsNotTheCallsDeadline", live,
			withDetail(codes.DeadlineExceeded, &enrichv1.EnrichError{Reason: enrichv1.Reason_REASON_TIMEOUT, Retryable: true}),
			ReasonTimeout, true, false, false},
		{"ServerSideDeadlineIsTheCallsDeadline", live, status.Error(codes.DeadlineExceeded, "Deadline Exceeded"),
			ReasonTimeout, true, true, false},
		{"ExpiredContextIsTheCallsDeadline", expired, status.Error(codes.DeadlineExceeded, "context deadline exceeded"),
			ReasonTimeout, true, true, false},
		{"UnavailableMeansTheProcessIsGone", live, status.Error(codes.Unavailable, "connection refused"), "", false, false, true},
		{"RejectedInputIsItsOwnNonRetryableReason", live,
			withDetail(codes.InvalidArgument, &enrichv1.EnrichError{Reason: enrichv1.Reason_REASON_UPSTREAM_REJECTED_INPUT}),
			ReasonUpstreamRejectedInput, false, false, false},
		{"UnknownCodeIsInternal", live, status.Error(codes.DataLoss, "boom"), ReasonInternal, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fromStatus(tc.ctx, tc.err)
			if tc.gone {
				if !errors.Is(got, ErrProcessGone) {
					t.Fatalf("got %v, want ErrProcessGone", got)
				}
				return
			}
			var perr *Error
			if !errors.As(got, &perr) || perr.Reason != tc.reason || perr.Retryable != tc.retryable || perr.DeadlinePassed != tc.deadline {
				t.Fatalf("got %+v, want reason %s retryable %v deadline %v", got, tc.reason, tc.retryable, tc.deadline)
			}
		})
	}

	t.Run("CancelledCallIsNotAPluginError", func(t *testing.T) {
		var perr *Error
		if got := fromStatus(cancelled, status.Error(codes.Canceled, "canceled")); errors.As(got, &perr) || !errors.Is(got, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", got)
		}
	})
	t.Run("TokenUsageOfTheFailedCallIsKept", func(t *testing.T) {
		got := ErrorFromProto(&enrichv1.EnrichError{Reason: enrichv1.Reason_REASON_UPSTREAM_BAD_OUTPUT,
			TokenUsage: &enrichv1.TokenUsage{PromptTokens: 1800, CompletionTokens: 800, TotalTokens: 2600}})
		if got.TokenUsage.GetTotalTokens() != 2600 || got.TokenUsage.GetPromptTokens() != 1800 {
			t.Fatalf("TokenUsage = %v", got.TokenUsage)
		}
	})
	t.Run("RetryAfterIsKept", func(t *testing.T) {
		got := ErrorFromProto(&enrichv1.EnrichError{Reason: enrichv1.Reason_REASON_UPSTREAM_RATE_LIMITED, RetryAfterMs: 1500})
		if got.RetryAfter != 1500*time.Millisecond {
			t.Fatalf("RetryAfter = %v", got.RetryAfter)
		}
	})
}
