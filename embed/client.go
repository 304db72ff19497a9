package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"google.golang.org/api/idtoken"
)

// upsertPath is hh-embed-svc's upsert route.
const upsertPath = "/v1/embeddings/upsert"

// metadataSource names us in the embedding's metadata.
const metadataSource = "hh-enrich-svc"

// maxDrain bounds how much of a response body is read so the connection can be
// reused; the body of a success is not needed.
const maxDrain = 64 << 10

// Client upserts candidate embeddings into hh-embed-svc. It is safe for
// concurrent use. A nil *Client behaves as a disabled one.
type Client struct {
	cfg      Config
	endpoint string
	circuit  *circuit
}

// UpsertRequest is one candidate to embed.
type UpsertRequest struct {
	// TenantID goes in the tenant header and the metadata. Required.
	TenantID string
	// CandidateID is the entityId, unprefixed, as hybrid search joins it (W15). Required.
	CandidateID string
	// Candidate is the enriched candidate document; SearchableText makes the text.
	Candidate map[string]any
	// ModelVersion and PromptVersion of the enrichment go in the metadata.
	ModelVersion, PromptVersion string
	// RequestID is sent in the request-id header when not empty.
	RequestID string
}

// Outcome is what an upsert did. The worker stores Upserted, SkipReason and, when
// it failed, ErrorCategory on the job.
type Outcome struct {
	// Upserted is true when hh-embed-svc stored the embedding.
	Upserted bool
	// SkipReason says why no call was made; "" when one was.
	SkipReason SkipReason
	// ErrorCategory says why the call failed; "" unless it did.
	ErrorCategory ErrorCategory
	// Attempts is the number of HTTP attempts made; 0 when skipped.
	Attempts int
	// Duration is the upsert's whole time, backoff included.
	Duration time.Duration
}

// New makes a Client. When cfg.Enabled is false it makes one that skips every
// upsert. With no static token and an audience (given or derived from a Cloud
// Run BaseURL), it makes a Google ID-token source, once, from the ambient
// credentials; ctx is kept by that source to fetch tokens for the client's whole
// life, without its cancellation. It fails on an invalid Config or when no
// token source can be made.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Enabled && cfg.Token == "" && cfg.Audience != "" && cfg.TokenSource == nil {
		// idtoken caches the token and refreshes it shortly before it expires.
		ts, err := idtoken.NewTokenSource(context.WithoutCancel(ctx), cfg.Audience)
		if err != nil {
			return nil, fmt.Errorf("embed: ID token source for audience %s: %w", cfg.Audience, err)
		}
		cfg.TokenSource = ts
	}
	return &Client{
		cfg:      cfg,
		endpoint: cfg.BaseURL + upsertPath,
		circuit:  newCircuit(cfg.BreakerFailures, cfg.BreakerReset, cfg.Logger),
	}, nil
}

// State is the breaker's state, StateClosed, StateOpen or StateHalfOpen, for
// health checks and metrics.
func (c *Client) State() string {
	if c == nil {
		return StateClosed
	}
	return c.circuit.state()
}

// Upsert embeds one candidate. It skips without a call when the client is
// disabled (SkipDisabled), when the candidate has no searchable text
// (SkipMissingSearchableData) or while the breaker is open
// (SkipCircuitOpen); a skip returns a nil error.
//
// Otherwise it POSTs the upsert, retrying 5xx, 429, timeouts and connection
// errors up to Config.RetryLimit times, and returns an error when the last
// attempt failed: an *HTTPError for a non-2xx answer, or the transport's error.
// The Outcome's ErrorCategory says which kind. ctx bounds the whole upsert,
// backoff included; it fails with ErrInvalidRequest without a tenant or
// candidate id.
func (c *Client) Upsert(ctx context.Context, req UpsertRequest) (Outcome, error) {
	if c == nil || !c.cfg.Enabled {
		return Outcome{SkipReason: SkipDisabled}, nil
	}
	started := c.cfg.Now()
	if req.TenantID == "" || req.CandidateID == "" {
		return Outcome{ErrorCategory: CategoryClient}, fmt.Errorf("%w: tenant and candidate ids are required", ErrInvalidRequest)
	}
	body, ok := c.body(req)
	if !ok {
		return Outcome{SkipReason: SkipMissingSearchableData}, nil
	}
	admitted, probe := c.circuit.admit()
	if !admitted {
		return Outcome{SkipReason: SkipCircuitOpen}, nil
	}
	out, err := c.send(ctx, req, body)
	c.circuit.record(breakerResult(out.ErrorCategory, err), probe)
	out.Duration = c.cfg.Now().Sub(started)
	return out, err
}

// body is the upsert's JSON; ok is false when there is no text to embed.
func (c *Client) body(req UpsertRequest) (_ []byte, ok bool) {
	text := SearchableText(req.Candidate)
	if text == "" {
		return nil, false
	}
	// Marshalling a struct of strings cannot fail.
	raw, _ := json.Marshal(upsertBody{
		EntityID: req.CandidateID,
		Text:     text,
		Metadata: upsertMetadata{
			Source: metadataSource, TenantID: req.TenantID,
			ModelVersion: req.ModelVersion, PromptVersion: req.PromptVersion,
		},
	})
	return raw, true
}

// upsertBody is hh-embed-svc's upsert request (REFERENCE §6).
type upsertBody struct {
	EntityID string         `json:"entityId"`
	Text     string         `json:"text"`
	Metadata upsertMetadata `json:"metadata"`
}

type upsertMetadata struct {
	Source        string `json:"source"`
	TenantID      string `json:"tenantId"`
	ModelVersion  string `json:"modelVersion"`
	PromptVersion string `json:"promptVersion"`
}

// send makes the attempts of one upsert.
func (c *Client) send(ctx context.Context, req UpsertRequest, body []byte) (Outcome, error) {
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, req, body)
		if err == nil {
			return Outcome{Upserted: true, Attempts: attempt}, nil
		}
		category, retryable := classify(ctx, err)
		if !retryable || attempt > c.cfg.RetryLimit {
			return Outcome{ErrorCategory: category, Attempts: attempt}, err
		}
		delay := c.backoff(attempt, err)
		c.cfg.Logger.Debug("embed upsert failed; retrying", "tenant_id", req.TenantID,
			"candidate_id", req.CandidateID, "attempt", attempt, "category", category, "delay", delay, "error", err)
		if waitErr := c.wait(ctx, delay); waitErr != nil {
			// The caller's deadline comes first: report the failure that was
			// being retried, or the cancellation when ctx has ended.
			category, _ = classify(ctx, err)
			return Outcome{ErrorCategory: category, Attempts: attempt}, errors.Join(err, waitErr)
		}
	}
}

// attempt makes one HTTP call, bounded by Config.Timeout.
func (c *Client) attempt(ctx context.Context, req UpsertRequest, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("embed: building the request: %w", err)
	}
	if err := c.setHeaders(httpReq, req); err != nil {
		return err
	}
	resp, err := c.cfg.HTTPClient.Do(httpReq)
	if err != nil {
		return fmt.Errorf("embed: POST %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &HTTPError{
		Status:     resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()),
		Body:       string(snippet),
	}
}

func (c *Client) setHeaders(httpReq *http.Request, req UpsertRequest) error {
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set(c.cfg.TenantHeader, req.TenantID)
	if req.RequestID != "" {
		httpReq.Header.Set(c.cfg.RequestIDHeader, req.RequestID)
	}
	switch {
	case c.cfg.Token != "":
		httpReq.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.TokenSource != nil:
		token, err := c.cfg.TokenSource.Token()
		if err != nil {
			return fmt.Errorf("%w for %s: %w", errToken, c.cfg.Audience, err)
		}
		token.SetAuthHeader(httpReq)
	}
	return nil
}

// backoff is the wait before retry number attempt (1 for the first retry): what
// a 429's Retry-After asks, else full jitter under an exponential ceiling; both
// at most RetryMaxDelay.
func (c *Client) backoff(attempt int, err error) time.Duration {
	var herr *HTTPError
	if errors.As(err, &herr) && herr.RetryAfter > 0 {
		return min(herr.RetryAfter, c.cfg.RetryMaxDelay)
	}
	ceiling := c.cfg.RetryBaseDelay
	for range attempt - 1 {
		if ceiling >= c.cfg.RetryMaxDelay {
			break // doubling further could overflow
		}
		ceiling *= 2
	}
	ceiling = min(ceiling, c.cfg.RetryMaxDelay)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// errNoTimeLeft says a backoff would outlast the caller's deadline.
var errNoTimeLeft = errors.New("embed: no time left for another attempt")

// wait sleeps d, or fails at once when ctx would end first.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	// Deadlines are on the wall clock, whatever Config.Now says.
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return errNoTimeLeft
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// breakerResult is what an upsert's end means for the breaker.
func breakerResult(category ErrorCategory, err error) callResult {
	switch {
	case err == nil:
		return resultSuccess
	case countsOnBreaker(category):
		return resultFailure
	default:
		return resultNeutral
	}
}
