package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/hashicorp/go-hclog"
)

type contextKey int

const (
	requestIDKey contextKey = iota
	tenantKey
)

// maxRequestIDLength keeps a client's X-Request-ID from bloating logs and job records.
const maxRequestIDLength = 128

// tenantPattern forbids "_" (the candidate document id is tenant + "_" + candidate, so
// a tenant with "_" would make it ambiguous, REFERENCE W25) and "/" (a Firestore path).
var tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// withRequestID echoes the caller's X-Request-ID, or makes one, on every response.
func withRequestID(header string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimSpace(r.Header.Get(header))
		if id == "" || len(id) > maxRequestIDLength {
			id = newRequestID()
		}
		w.Header().Set(header, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
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

// requireTenant resolves the tenant from the tenant header before the handler runs.
// Authentication (AUTH_MODE other than none) is layered on top by the API issue; the
// walking skeleton trusts the header, as the reference does with AUTH_MODE=none.
func (s *server) requireTenant(next func(http.ResponseWriter, *http.Request, string)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant := strings.TrimSpace(r.Header.Get(s.cfg.TenantHeader))
		if tenant == "" {
			writeError(w, r, s.log, newError(CodeMissingTenant, "Missing "+s.cfg.TenantHeader+" header.", nil))
			return
		}
		if !tenantPattern.MatchString(tenant) {
			writeError(w, r, s.log, newError(CodeInvalidTenant,
				"Tenant id must be 1-64 letters, digits or '-', starting with a letter or digit.",
				map[string]any{"header": s.cfg.TenantHeader}))
			return
		}
		next(w, r, tenant)
	}
}
