package router

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// logBuffer collects log lines written from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines whose message is msg.
func (b *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	scanner := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for scanner.Scan() {
		var entry map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", scanner.Text(), err)
		}
		if entry["@message"] == msg {
			out = append(out, entry)
		}
	}
	return out
}

func setupLogged(t *testing.T, logRequests bool) (*testBundle, *logBuffer) {
	t.Helper()
	b, logs := setup(t), &logBuffer{}
	h, err := New(Config{Store: b.store, Auth: noAuth(t), LogRequests: logRequests,
		Logger: hclog.New(&hclog.LoggerOptions{JSONFormat: true, Output: logs, Level: hclog.Info})})
	if err != nil {
		t.Fatal(err)
	}
	b.handler = h
	return b, logs
}

func TestAccessLog(t *testing.T) {
	t.Parallel()

	t.Run("OneLinePerRequestWithTheRoutePattern", func(t *testing.T) {
		t.Parallel()
		b, logs := setupLogged(t, true)
		b.request(t, http.MethodGet, "/v1/enrich/status/0123456789abcdef", withHeader(jsonTenant, "X-Request-ID", "req-42"), "")
		b.request(t, http.MethodGet, "/nowhere/at/all", nil, "")
		lines := logs.lines(t, "request")
		if len(lines) != 2 {
			t.Fatalf("%d access log lines for 2 requests: %v", len(lines), lines)
		}
		got := lines[0]
		want := map[string]any{"method": "GET", "route": "/v1/enrich/status/:jobId", "status": 404.0,
			"tenant_id": "tenant-alpha", "request_id": "req-42", "@level": "info"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v (line %v)", k, got[k], v, got)
			}
		}
		if ms, ok := got["duration_ms"].(float64); !ok || ms < 0 {
			t.Errorf("duration_ms = %v", got["duration_ms"])
		}
		if n, ok := got["bytes"].(float64); !ok || n <= 0 {
			t.Errorf("bytes = %v", got["bytes"])
		}
		if lines[1]["route"] != "unmatched" || lines[1]["tenant_id"] != "" {
			t.Errorf("unknown route logged as %v", lines[1])
		}
	})

	t.Run("OffWhenRequestLoggingIsOff", func(t *testing.T) {
		t.Parallel()
		b, logs := setupLogged(t, false)
		b.request(t, http.MethodGet, "/ready", nil, "")
		if lines := logs.lines(t, "request"); len(lines) != 0 {
			t.Fatalf("access log lines with logging off: %v", lines)
		}
	})
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("RequestIDIsEchoedOrMade", func(t *testing.T) {
		t.Parallel()
		if got := b.request(t, http.MethodGet, "/ready", map[string]string{"X-Request-ID": "abc"}, "").header.Get("X-Request-ID"); got != "abc" {
			t.Fatalf("echoed %q", got)
		}
		if got := b.request(t, http.MethodGet, "/ready", map[string]string{"X-Request-ID": strings.Repeat("x", 128)}, "").header.Get("X-Request-ID"); got != strings.Repeat("x", 128) {
			t.Fatalf("a 128-character id was not echoed: %q", got)
		}
	})

	t.Run("AnUnusableRequestIDIsReplacedOnEveryRouteNeverRefused", func(t *testing.T) {
		t.Parallel()
		for _, bad := range []string{strings.Repeat("x", 129), "caf\u00e9", "a\x01b"} {
			for _, route := range []struct{ method, path, body string }{
				{http.MethodGet, "/ready", ""},
				{http.MethodPost, "/v1/enrich/profile", `{"candidateId":"c1"}`},
				{http.MethodGet, "/v1/enrich/status/0123456789abcdef", ""},
			} {
				resp := b.request(t, route.method, route.path, withHeader(jsonTenant, "X-Request-ID", bad), route.body)
				if got := resp.header.Get("X-Request-ID"); got == bad || len(got) != 32 || resp.status == http.StatusBadRequest {
					t.Errorf("%s %s with X-Request-ID %q: %d, echoed %q; want a new id and no 400", route.method, route.path, bad, resp.status, got)
				}
			}
		}
	})

	t.Run("TraceContextIsEchoedWhenItParses", func(t *testing.T) {
		t.Parallel()
		for value, echoed := range map[string]bool{
			"105445aa7843bc8bf206b12000100000/1;o=1": true,
			"105445aa7843bc8bf206b12000100000":       true,
			"105445aa7843bc8bf206b12000100000/x":     false,
			"not-a-trace":                            false,
		} {
			got := b.request(t, http.MethodGet, "/ready", map[string]string{TraceHeaderDefault: value}, "").header.Get(TraceHeaderDefault)
			if (got == value) != echoed {
				t.Errorf("%q: echoed %q, want echoed=%v", value, got, echoed)
			}
		}
	})
}

func TestCORS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h, err := New(Config{Store: b.store, Auth: noAuth(t), Logger: hclog.NewNullLogger(),
		CORS: CORSConfig{AllowedOrigins: []string{"https://proj.web.app"}, AllowCredentials: true}})
	if err != nil {
		t.Fatal(err)
	}
	b.handler = h

	t.Run("PreflightFromAnAllowedOrigin", func(t *testing.T) {
		t.Parallel()
		for origin, allowed := range map[string]bool{"https://proj.web.app": true, "https://evil.example": false} {
			req := httptest.NewRequest(http.MethodOptions, "/v1/enrich/profile", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", http.MethodPost)
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-tenant-id")
			// A preflight is answered by the CORS layer before any route, without a
			// body, so it is outside the OpenAPI document and not checked against it.
			rec := httptest.NewRecorder()
			b.handler.ServeHTTP(rec, req)
			got := rec.Header().Get("Access-Control-Allow-Origin")
			if allowed && (got != origin || rec.Header().Get("Access-Control-Allow-Credentials") != "true" || rec.Code >= 300) {
				t.Errorf("%s: %d %v", origin, rec.Code, rec.Header())
			}
			if !allowed && got != "" {
				t.Errorf("%s was allowed: %v", origin, rec.Header())
			}
		}
	})

	t.Run("ResponsesExposeTheRequestID", func(t *testing.T) {
		t.Parallel()
		resp := b.request(t, http.MethodGet, "/ready", map[string]string{"Origin": "https://proj.web.app"}, "")
		if resp.header.Get("Access-Control-Allow-Origin") != "https://proj.web.app" ||
			!strings.Contains(resp.header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
			t.Fatalf("headers %v", resp.header)
		}
	})
}

// TestEveryAnswerCarriesTheSecurityHeaders: the reference's helmet headers, on
// answers of every kind, and the console's own policy left in place.
func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	console := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
		w.WriteHeader(http.StatusOK)
	})
	h, err := New(Config{Store: memStore{}, Auth: noAuth(t), AdminUI: console, Logger: hclog.NewNullLogger(),
		CORS: CORSConfig{AllowedOrigins: []string{"https://proj.web.app"}}})
	if err != nil {
		t.Fatal(err)
	}
	preflight := httptest.NewRequest(http.MethodOptions, "/v1/enrich/profile", nil)
	preflight.Header.Set("Origin", "https://proj.web.app")
	preflight.Header.Set("Access-Control-Request-Method", http.MethodPost)
	for name, req := range map[string]*http.Request{
		"ok":            httptest.NewRequest(http.MethodGet, "/ready", nil),
		"no tenant":     httptest.NewRequest(http.MethodPost, "/v1/enrich/profile", strings.NewReader(`{"candidateId":"c"}`)),
		"no such route": httptest.NewRequest(http.MethodGet, "/v1/nothing", nil),
		"preflight":     preflight,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for header, want := range map[string]string{
			"X-Content-Type-Options":       "nosniff",
			"X-Frame-Options":              "DENY",
			"Content-Security-Policy":      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
			"Referrer-Policy":              "no-referrer",
			"Strict-Transport-Security":    "max-age=15552000; includeSubDomains",
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Resource-Policy": "same-origin",
		} {
			if got := rec.Header().Get(header); got != want {
				t.Errorf("%s (%d): %s = %q, want %q", name, rec.Code, header, got, want)
			}
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/ui", nil))
	if got := rec.Header().Get("Content-Security-Policy"); got != "default-src 'none'; script-src 'self'" {
		t.Errorf("the console's own policy was replaced: %q", got)
	}
}
