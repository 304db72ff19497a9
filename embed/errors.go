package embed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrorCategory says what kind of failure ended an upsert. The worker stores it
// on the job beside embeddingUpserted=false.
type ErrorCategory string

// Error categories. Server, rate-limited, timeout and network failures are
// retried; the others are not.
const (
	// CategoryServer: hh-embed-svc answered 5xx.
	CategoryServer ErrorCategory = "server"
	// CategoryRateLimited: it answered 429.
	CategoryRateLimited ErrorCategory = "rate_limited"
	// CategoryTimeout: an attempt ran past Config.Timeout, or the service answered 408.
	CategoryTimeout ErrorCategory = "timeout"
	// CategoryNetwork: the connection failed (refused, reset, DNS, TLS).
	CategoryNetwork ErrorCategory = "network"
	// CategoryAuth: it answered 401 or 403, or no ID token could be had.
	CategoryAuth ErrorCategory = "auth"
	// CategoryClient: it refused the request itself (another 4xx). Such failures
	// say nothing about the service's health and do not count on the breaker.
	CategoryClient ErrorCategory = "client"
	// CategoryCanceled: the caller's ctx ended first. Not counted on the breaker.
	CategoryCanceled ErrorCategory = "canceled"
)

// ErrInvalidRequest is returned by Upsert for a request without a tenant or
// candidate id. Nothing is sent.
var ErrInvalidRequest = errors.New("embed: invalid upsert request")

// errToken marks a failure to get an ID token for the request.
var errToken = errors.New("embed: getting an ID token")

// maxRetryAfterSeconds bounds a parsed Retry-After; the wait itself is capped
// much lower, by Config.RetryMaxDelay.
const maxRetryAfterSeconds = 24 * 60 * 60

// maxErrorBody is how much of an error response's body HTTPError keeps.
const maxErrorBody = 512

// HTTPError is a non-2xx answer from hh-embed-svc.
type HTTPError struct {
	// Status is the HTTP status code.
	Status int
	// RetryAfter is the wait the Retry-After header asked for; 0 when absent.
	RetryAfter time.Duration
	// Body is the start of the response body, for logs.
	Body string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("embed: hh-embed-svc answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
}

// classify says what kind of failure err is and whether another attempt may
// help. ctx is the caller's: once it has ended nothing is worth retrying.
func classify(ctx context.Context, err error) (ErrorCategory, bool) {
	var herr *HTTPError
	var cverr *tls.CertificateVerificationError
	var uaerr x509.UnknownAuthorityError
	var hnerr x509.HostnameError
	var nerr net.Error
	var uerr *url.Error
	switch {
	case ctx.Err() != nil:
		return CategoryCanceled, false
	case errors.As(err, &herr):
		return statusCategory(herr.Status)
	case errors.Is(err, errToken):
		return CategoryAuth, false
	case errors.As(err, &cverr), errors.As(err, &uaerr), errors.As(err, &hnerr):
		return CategoryNetwork, false // a bad certificate stays bad
	case errors.As(err, &nerr) && nerr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return CategoryTimeout, true
	case errors.As(err, &nerr), errors.As(err, &uerr):
		return CategoryNetwork, true
	default:
		return CategoryClient, false
	}
}

func statusCategory(status int) (ErrorCategory, bool) {
	switch {
	case status >= 500:
		return CategoryServer, true
	case status == http.StatusTooManyRequests:
		return CategoryRateLimited, true
	case status == http.StatusRequestTimeout:
		return CategoryTimeout, true
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return CategoryAuth, false
	default:
		return CategoryClient, false
	}
}

// countsOnBreaker says whether a failure of this category says the service (or
// our access to it) is unwell. Refused requests and cancellations do not.
func countsOnBreaker(category ErrorCategory) bool {
	return category != CategoryClient && category != CategoryCanceled
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when the header is absent, malformed or in the past.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if seconds, err := strconv.Atoi(value); err == nil {
		// Capped before multiplying, so a huge value cannot overflow.
		return time.Duration(min(max(seconds, 0), maxRetryAfterSeconds)) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}
