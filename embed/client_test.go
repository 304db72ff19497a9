package embed

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

const (
	tenant    = "tenant-alpha"
	candidate = "cand-42"
	// testTimeout bounds every wait in these tests.
	testTimeout = 30 * time.Second
)

// seenRequest is what the fake service recorded of one request.
type seenRequest struct {
	at     time.Time
	method string
	path   string
	header http.Header
	body   upsertBody
}

// fakeEmbedSvc is a local hh-embed-svc: it records each request and answers the
// nth one (from 1) with respond(n), 200 when respond is nil.
type fakeEmbedSvc struct {
	*httptest.Server
	mu       sync.Mutex
	respond  func(n int, w http.ResponseWriter, r *http.Request)
	requests []seenRequest
}

func newFakeEmbedSvc(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *fakeEmbedSvc {
	t.Helper()
	f := &fakeEmbedSvc{respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeEmbedSvc) serve(w http.ResponseWriter, r *http.Request) {
	var body upsertBody
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	f.requests = append(f.requests, seenRequest{at: time.Now(), method: r.Method, path: r.URL.Path,
		header: r.Header.Clone(), body: body})
	n, respond := len(f.requests), f.respond
	f.mu.Unlock()
	if respond == nil {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"entityId":"` + body.EntityID + `","dimensions":768}`))
		return
	}
	respond(n, w, r)
}

// setRespond changes the answers from now on.
func (f *fakeEmbedSvc) setRespond(respond func(n int, w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = respond
}

func (f *fakeEmbedSvc) seen() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.requests...)
}

// failFirst answers the first n requests with status (and headers), then 200.
func failFirst(n, status int, header ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(i int, w http.ResponseWriter, _ *http.Request) {
		if i > n {
			w.WriteHeader(http.StatusOK)
			return
		}
		for k := 0; k+1 < len(header); k += 2 {
			w.Header().Set(header[k], header[k+1])
		}
		http.Error(w, `{"code":"boom"}`, status)
	}
}

func always(status int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", status) }
}

// hang answers only when the client gives up.
func hang(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

type testBundle struct {
	ctx context.Context
	svc *fakeEmbedSvc
}

// setup returns an enabled client of svc with fast retries and a static token.
func setup(t *testing.T, svc *fakeEmbedSvc, change func(*Config)) (*Client, *testBundle) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	cfg := Config{
		Enabled: true, BaseURL: svc.URL, Token: "s3cret",
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 20 * time.Millisecond,
		HTTPClient: &http.Client{Transport: transport},
	}
	if change != nil {
		change(&cfg)
	}
	c, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, &testBundle{ctx: ctx, svc: svc}
}

func upsertRequest(t *testing.T) UpsertRequest {
	return UpsertRequest{
		TenantID: tenant, CandidateID: candidate, Candidate: enrichedCandidate(t),
		ModelVersion: "local-rules-v1", PromptVersion: "rules-v1", RequestID: "req-123",
	}
}

// checkOutcome compares an outcome, Duration aside, and the requests the service saw.
func checkOutcome(t *testing.T, got, want Outcome, svc *fakeEmbedSvc, wantRequests int) {
	t.Helper()
	got.Duration = 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Outcome (-want +got):\n%s", diff)
	}
	if n := len(svc.seen()); n != wantRequests {
		t.Errorf("the service saw %d requests, want %d", n, wantRequests)
	}
}

func TestClientUpsert(t *testing.T) {
	t.Parallel()

	t.Run("SendsTheUpsertHhEmbedSvcExpects", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, nil), nil)
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		if err != nil {
			t.Fatalf("Upsert: %v", err)
		}
		checkOutcome(t, out, Outcome{Upserted: true, Attempts: 1}, b.svc, 1)
		req := b.svc.seen()[0]
		if req.method != http.MethodPost || req.path != "/v1/embeddings/upsert" {
			t.Errorf("request %s %s, want POST /v1/embeddings/upsert", req.method, req.path)
		}
		for header, want := range map[string]string{
			"Content-Type": "application/json", "X-Tenant-ID": tenant,
			"X-Request-ID": "req-123", "Authorization": "Bearer s3cret",
		} {
			if got := req.header.Get(header); got != want {
				t.Errorf("header %s = %q, want %q", header, got, want)
			}
		}
		want := upsertBody{
			EntityID: candidate, // unprefixed, as hybrid search joins it (W15)
			Text:     SearchableText(enrichedCandidate(t)),
			Metadata: upsertMetadata{Source: "hh-enrich-svc", TenantID: tenant, ModelVersion: "local-rules-v1", PromptVersion: "rules-v1"},
		}
		if diff := cmp.Diff(want, req.body); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
	})

	t.Run("CapsTheTextAtMaxTextLength", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, nil), nil)
		req := upsertRequest(t)
		req.Candidate = map[string]any{"resume_text": strings.Repeat("ß", 9000)}
		if _, err := c.Upsert(b.ctx, req); err != nil {
			t.Fatalf("Upsert: %v", err)
		}
		if n := len([]rune(b.svc.seen()[0].body.Text)); n != MaxTextLength {
			t.Errorf("text of %d characters, want %d", n, MaxTextLength)
		}
	})

	t.Run("Retries5xxThenUpserts", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, failFirst(1, http.StatusInternalServerError)), nil)
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		if err != nil {
			t.Fatalf("Upsert: %v", err)
		}
		checkOutcome(t, out, Outcome{Upserted: true, Attempts: 2}, b.svc, 2)
	})

	t.Run("GivesUpAfterRetryLimit", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, always(http.StatusServiceUnavailable)), nil)
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		var herr *HTTPError
		if !errors.As(err, &herr) || herr.Status != http.StatusServiceUnavailable {
			t.Errorf("Upsert error = %v, want an *HTTPError with status 503", err)
		}
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryServer, Attempts: 3}, b.svc, 3)
	})

	t.Run("WaitsForRetryAfterOn429", func(t *testing.T) {
		t.Parallel()
		// The backoff alone would wait at most 20 ms; Retry-After asks for 1 s.
		c, b := setup(t, newFakeEmbedSvc(t, failFirst(1, http.StatusTooManyRequests, "Retry-After", "1")),
			func(cfg *Config) { cfg.RetryMaxDelay = 5 * time.Second })
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		if err != nil {
			t.Fatalf("Upsert: %v", err)
		}
		checkOutcome(t, out, Outcome{Upserted: true, Attempts: 2}, b.svc, 2)
		seen := b.svc.seen()
		if gap := seen[1].at.Sub(seen[0].at); gap < 900*time.Millisecond {
			t.Errorf("retried %s after the 429, want about 1 s (Retry-After)", gap)
		}
	})

	t.Run("CapsRetryAfterAtRetryMaxDelay", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, failFirst(1, http.StatusTooManyRequests, "Retry-After", "3600")), nil)
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		if err != nil {
			t.Fatalf("Upsert: %v", err)
		}
		checkOutcome(t, out, Outcome{Upserted: true, Attempts: 2}, b.svc, 2)
	})

	t.Run("RateLimitedWhen429Persists", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, always(http.StatusTooManyRequests)), nil)
		out, _ := c.Upsert(b.ctx, upsertRequest(t))
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryRateLimited, Attempts: 3}, b.svc, 3)
	})

	t.Run("DoesNotRetry401", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, always(http.StatusUnauthorized)), nil)
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		var herr *HTTPError
		if !errors.As(err, &herr) || herr.Status != http.StatusUnauthorized {
			t.Errorf("Upsert error = %v, want an *HTTPError with status 401", err)
		}
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryAuth, Attempts: 1}, b.svc, 1)
	})

	t.Run("DoesNotRetryOther4xx", func(t *testing.T) {
		t.Parallel()
		// The body says "500" and "responded": the old substring rules retried this (W13).
		c, b := setup(t, newFakeEmbedSvc(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "text too long: 6500 > 6000; upstream responded 500", http.StatusBadRequest)
		}), nil)
		out, _ := c.Upsert(b.ctx, upsertRequest(t))
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryClient, Attempts: 1}, b.svc, 1)
	})

	t.Run("TimesOutASlowResponse", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, hang), func(cfg *Config) {
			cfg.Timeout = 100 * time.Millisecond
			cfg.RetryLimit = 1
		})
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		var nerr net.Error
		if !errors.As(err, &nerr) || !nerr.Timeout() {
			t.Errorf("Upsert error = %v, want a net.Error timeout", err)
		}
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryTimeout, Attempts: 2}, b.svc, 2)
	})

	t.Run("RetriesARefusedConnection", func(t *testing.T) {
		t.Parallel()
		svc := newFakeEmbedSvc(t, nil)
		svc.Close() // nothing listens on its port any more
		c, b := setup(t, svc, nil)
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		var operr *net.OpError
		if !errors.As(err, &operr) {
			t.Errorf("Upsert error = %v, want a *net.OpError", err)
		}
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryNetwork, Attempts: 3}, b.svc, 0)
	})

	t.Run("StopsWhenTheCallerCancels", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, hang), nil)
		ctx, cancel := context.WithTimeout(b.ctx, 100*time.Millisecond)
		defer cancel()
		out, err := c.Upsert(ctx, upsertRequest(t))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Upsert error = %v, want context.DeadlineExceeded", err)
		}
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryCanceled, Attempts: 1}, b.svc, 1)
	})

	t.Run("SkipsWhenDisabled", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, nil), func(cfg *Config) { cfg.Enabled = false })
		for _, client := range []*Client{c, nil} {
			out, err := client.Upsert(b.ctx, upsertRequest(t))
			if err != nil {
				t.Errorf("Upsert: %v", err)
			}
			checkOutcome(t, out, Outcome{SkipReason: SkipDisabled}, b.svc, 0)
		}
	})

	t.Run("SkipsWithoutSearchableData", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, nil), nil)
		req := upsertRequest(t)
		req.Candidate = map[string]any{"name": "Ada", "resume_text": ""}
		out, err := c.Upsert(b.ctx, req)
		if err != nil {
			t.Errorf("Upsert: %v", err)
		}
		checkOutcome(t, out, Outcome{SkipReason: SkipMissingSearchableData}, b.svc, 0)
	})

	t.Run("ErrInvalidRequestWithoutIDs", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, nil), nil)
		req := upsertRequest(t)
		req.CandidateID = ""
		out, err := c.Upsert(b.ctx, req)
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Upsert error = %v, want ErrInvalidRequest", err)
		}
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryClient}, b.svc, 0)
	})

	t.Run("SendsTheIDTokenOfItsTokenSource", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, nil), func(cfg *Config) {
			cfg.Token = ""
			cfg.Audience = "https://hh-embed-svc-abc123-uc.a.run.app"
			cfg.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "id-token", TokenType: "Bearer"})
		})
		if _, err := c.Upsert(b.ctx, upsertRequest(t)); err != nil {
			t.Fatalf("Upsert: %v", err)
		}
		if got := b.svc.seen()[0].header.Get("Authorization"); got != "Bearer id-token" {
			t.Errorf("Authorization = %q, want %q", got, "Bearer id-token")
		}
	})

	t.Run("AuthCategoryWhenNoIDTokenCanBeHad", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, nil), func(cfg *Config) {
			cfg.Token = ""
			cfg.TokenSource = failingTokenSource{}
		})
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		if err == nil {
			t.Error("Upsert succeeded without a token")
		}
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryAuth, Attempts: 1}, b.svc, 0)
	})

	t.Run("SendsNoAuthorizationWithoutTokenOrAudience", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, nil), func(cfg *Config) { cfg.Token = "" })
		if _, err := c.Upsert(b.ctx, upsertRequest(t)); err != nil {
			t.Fatalf("Upsert: %v", err)
		}
		if got := b.svc.seen()[0].header.Get("Authorization"); got != "" {
			t.Errorf("Authorization = %q, want none", got)
		}
	})
}

type failingTokenSource struct{}

func (failingTokenSource) Token() (*oauth2.Token, error) {
	return nil, errors.New("metadata server unreachable")
}
