package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ClientConfig configures a Client. Zero durations take the defaults below.
type ClientConfig struct {
	BaseURL    string // e.g. http://localhost:8080
	Tenant     string // X-Tenant-ID of /v1 calls
	Token      string // bearer token of /v1 calls; empty: none sent (AUTH_MODE=none)
	AdminToken string // bearer token of /admin calls

	// RequestTimeout bounds one HTTP request (one try).
	RequestTimeout time.Duration
	// RetryFor bounds how long a call keeps retrying transient failures (connection
	// errors, 429, 5xx) before it gives up.
	RetryFor time.Duration
	HTTP     *http.Client
}

// Defaults of ClientConfig.
const (
	RequestTimeoutDefault = 30 * time.Second
	RetryForDefault       = 2 * time.Minute
	retryBackoffFirst     = 250 * time.Millisecond
	retryBackoffMax       = 5 * time.Second
)

// Client calls the service's API. It retries what can succeed later: connection
// errors, 429 (after Retry-After), 502/503/504 and 500. Every call it retries is
// safe to repeat: reads, restarts, and batch submissions, which carry idempotency
// keys.
type Client struct {
	cfg ClientConfig
}

// NewClient returns a client for cfg.
func NewClient(cfg ClientConfig) *Client {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = RequestTimeoutDefault
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = RetryForDefault
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	return &Client{cfg: cfg}
}

// APIError is an error answer of the service: its status and `{code, message}`.
type APIError struct {
	Method, Path string
	Status       int
	Code         string
	Message      string
	RetryAfter   time.Duration
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
	if hint := errorHint(e); hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

// errorHint says what to do about the errors operators meet most.
func errorHint(e *APIError) string {
	switch {
	case e.Code == "admin_disabled":
		return "the service has no ENRICH_ADMIN_TOKEN: set it there, then pass it with --admin-token"
	case e.Status == http.StatusUnauthorized && strings.HasPrefix(e.Path, "/admin"):
		return "check --admin-token / ENRICH_ADMIN_TOKEN"
	case e.Status == http.StatusUnauthorized:
		return "the service verifies tokens (AUTH_MODE is not none): pass --token / HH_ENRICH_TOKEN"
	case e.Status == http.StatusForbidden && strings.HasPrefix(e.Path, "/v1"):
		return "the token's organization must equal --tenant"
	case e.Code == "missing_tenant":
		return "pass --tenant / HH_ENRICH_TENANT"
	case e.Status == http.StatusRequestEntityTooLarge && strings.HasPrefix(e.Message, "Candidate "):
		return "one candidate is over the service's limit of a submission: leave it out of --in"
	case e.Status == http.StatusRequestEntityTooLarge:
		return "the candidates of one request are too large: lower --chunk"
	}
	return ""
}

// retryable reports whether a later try of the same request can succeed.
func (e *APIError) retryable() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// call sends one request (retrying as the Client doc says) and decodes a 2xx body
// into out (when out is not nil). admin picks the admin token instead of the /v1
// one.
func (c *Client) call(ctx context.Context, method, path string, admin bool, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(c.cfg.RetryFor)
	for attempt := 0; ; attempt++ {
		err := c.try(ctx, method, path, admin, raw, out)
		wait, again := c.shouldRetry(ctx, err, attempt, deadline)
		if !again {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

// shouldRetry returns how long to wait before trying err's request again, and
// whether to.
func (c *Client) shouldRetry(ctx context.Context, err error, attempt int, deadline time.Time) (time.Duration, bool) {
	if err == nil || ctx.Err() != nil {
		return 0, false
	}
	var apiErr *APIError
	var transport *transportError
	switch {
	case errors.As(err, &apiErr) && apiErr.retryable():
	case errors.As(err, &transport):
	default:
		return 0, false
	}
	wait := min(retryBackoffMax, retryBackoffFirst<<min(attempt, 10))
	wait = wait/2 + rand.N(wait/2+1) // jitter, so many clients do not retry in step
	if apiErr != nil && apiErr.RetryAfter > 0 {
		wait = apiErr.RetryAfter
	}
	if time.Now().Add(wait).After(deadline) {
		return 0, false
	}
	return wait, true
}

// transportError is a failure to get any HTTP answer: refused, reset, timed out.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func (c *Client) try(ctx context.Context, method, path string, admin bool, raw []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var body io.Reader
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, body)
	if err != nil {
		return err
	}
	c.setHeaders(req, admin, raw != nil)
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return err
		}
		return &transportError{fmt.Errorf("%s %s: %w", method, path, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return &transportError{fmt.Errorf("%s %s: reading the answer: %w", method, path, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(method, path, resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: undecodable answer (%d): %w", method, path, resp.StatusCode, err)
	}
	return nil
}

func (c *Client) setHeaders(req *http.Request, admin, hasBody bool) {
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "hh-enrich-cli/1")
	if c.cfg.Tenant != "" {
		req.Header.Set("X-Tenant-ID", c.cfg.Tenant)
	}
	token := c.cfg.Token
	if admin {
		token = c.cfg.AdminToken
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
}

func newAPIError(method, path string, resp *http.Response, data []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: resp.StatusCode}
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && body.Code != "" {
		e.Code, e.Message = body.Code, body.Message
	} else {
		e.Code, e.Message = "http_error", strings.TrimSpace(string(data))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	return e
}
