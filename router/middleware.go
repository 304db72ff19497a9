package router

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/rs/cors"
)

type contextKey int

const (
	requestIDKey contextKey = iota
	requestInfoKey
)

// requestIDPattern is a caller's X-Request-ID that is kept: 1-128 printable
// ASCII characters. Anything else (longer, control or non-ASCII bytes that
// could forge log lines) is replaced by a new id, on every route, as
// openapi.yaml says; the request is never refused for it.
var requestIDPattern = regexp.MustCompile(`^[\x20-\x7e]{1,128}$`)

// tenantPattern forbids "_" (the candidate document id is tenant + "_" + candidate, so
// a tenant with "_" would make it ambiguous, REFERENCE W25) and "/" (a Firestore path).
var tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// traceContextPattern is Cloud Trace's header: TRACE_ID[/SPAN_ID][;o=0|1].
var traceContextPattern = regexp.MustCompile(`^[0-9a-fA-F]{32}(/[0-9]{1,20})?(;o=[01])?$`)

// requestInfo is filled in as the request goes through the handlers and read by
// the access log when it is done.
type requestInfo struct {
	route  string // the pattern the route was registered with, never the raw path
	tenant string // set once the tenant is verified
	trace  string
}

// withRequestContext echoes the caller's X-Request-ID (or a new one) and a valid
// X-Cloud-Trace-Context on every response, and starts the request's requestInfo.
func withRequestContext(idHeader, traceHeader string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimSpace(r.Header.Get(idHeader))
		if !requestIDPattern.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set(idHeader, id)
		info := &requestInfo{}
		if trace := strings.TrimSpace(r.Header.Get(traceHeader)); traceContextPattern.MatchString(trace) {
			w.Header().Set(traceHeader, trace)
			info.trace = trace
		}
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, requestInfoKey, info)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

func infoOf(r *http.Request) *requestInfo {
	info, _ := r.Context().Value(requestInfoKey).(*requestInfo)
	return info
}

func setLogTenant(r *http.Request, tenant string) {
	if info := infoOf(r); info != nil {
		info.tenant = tenant
	}
}

// infoRoute is the route pattern of r, for logs.
func infoRoute(r *http.Request) string {
	if info := infoOf(r); info != nil {
		return info.route
	}
	return ""
}

// withRoute records the route's pattern for the access log.
func withRoute(pattern string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if info := infoOf(r); info != nil {
			info.route = pattern
		}
		next(w, r)
	}
}

// withAccessLog writes one line per request once it is answered.
func withAccessLog(log hclog.Logger, now func() time.Time, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			info := infoOf(r)
			route := "unmatched"
			var tenant, trace string
			if info != nil {
				route, tenant, trace = cmp.Or(info.route, route), info.tenant, info.trace
			}
			args := []any{"method", r.Method, "route", route, "status", rec.statusOrOK(),
				"duration_ms", float64(now().Sub(start).Microseconds()) / 1000, "bytes", rec.bytes,
				"tenant_id", tenant, "request_id", requestID(r)}
			if trace != "" {
				args = append(args, "trace", trace)
			}
			log.Info("request", args...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// withMetrics counts each request by its route pattern (never the raw path, whose
// ids would make a series per job) and status.
func withMetrics(m *metrics.Metrics, now func() time.Time, next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			route := "unmatched"
			if info := infoOf(r); info != nil && info.route != "" {
				route = info.route
			}
			m.ObserveHTTP(route, r.Method, rec.statusOrOK(), now().Sub(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder notes the status and size of a response. Unwrap lets
// http.ResponseController reach the connection's flusher and deadlines.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusRecorder) statusOrOK() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// withRecovery turns a panic in a handler into a logged 500 instead of a dropped
// connection.
func withRecovery(log hclog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				writeError(w, r, log, fmt.Errorf("panic: %v", rec))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// CORSConfig lets browsers on other origins call the API (REFERENCE §2).
type CORSConfig struct {
	// AllowedOrigins are exact origins such as https://proj.web.app. Empty: no
	// CORS headers at all, so browsers keep to the same origin.
	AllowedOrigins []string
	// AllowCredentials lets browsers send cookies and Authorization (CORS_CREDENTIALS).
	AllowCredentials bool
}

// corsMaxAge is how long browsers may cache a preflight answer.
const corsMaxAge = 10 * time.Minute

// securityHeaders are what the reference's helmet sent on every answer, tightened
// for an API whose answers are JSON and YAML, never pages: nothing may run, frame or
// sniff them. HSTS as helmet's default (180 days); a browser ignores it over plain
// HTTP. The console sets its own policy for its pages (router/adminui). The values
// are shared, never appended to: Header.Set and Add replace or copy them.
var securityHeaders = map[string][]string{
	"Content-Security-Policy":      {"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"},
	"Cross-Origin-Opener-Policy":   {"same-origin"},
	"Cross-Origin-Resource-Policy": {"same-origin"}, // CORS fetches are not held to it
	"Referrer-Policy":              {"no-referrer"},
	"Strict-Transport-Security":    {"max-age=15552000; includeSubDomains"},
	"X-Content-Type-Options":       {"nosniff"},
	"X-Frame-Options":              {"DENY"},
}

// withSecurityHeaders puts securityHeaders on every answer, before any handler
// writes, so errors, 404s and CORS preflights carry them too.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for name, values := range securityHeaders {
			h[name] = values
		}
		next.ServeHTTP(w, r)
	})
}

// withCORS answers preflights and marks allowed origins, in front of auth so that
// a preflight (which carries no token) is never refused.
func withCORS(c CORSConfig, allowed, exposed []string, next http.Handler) http.Handler {
	if len(c.AllowedOrigins) == 0 {
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins:   c.AllowedOrigins,
		AllowCredentials: c.AllowCredentials,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   allowed,
		ExposedHeaders:   exposed,
		MaxAge:           int(corsMaxAge / time.Second),
	}).Handler(next)
}
