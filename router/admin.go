package router

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/headhunter/hh-enrich-svc/pool"
)

// PoolAdmin is what the admin API needs of the plugin pool (*pool.Pool).
type PoolAdmin interface {
	Status() pool.Status
	RestartAll(ctx context.Context) error
	RestartProcess(ctx context.Context, id int) error
}

// adminRestartTimeout bounds one restart request: a rolling restart waits for each
// replacement to come up (~250 ms a process).
const adminRestartTimeout = 2 * time.Minute

func (s *server) registerAdmin(r *httprouter.Router) {
	if s.cfg.Pool != nil {
		s.handle(r, http.MethodGet, "/admin/pool", s.requireAdmin(s.handlePoolStatus))
		s.handle(r, http.MethodPost, "/admin/pool/restart", s.requireAdmin(s.handlePoolRestart))
		s.handle(r, http.MethodPost, "/admin/pool/processes/:id/restart", s.requireAdmin(s.handleProcessRestart))
	}
	if s.cfg.Queue != nil {
		s.handle(r, http.MethodGet, "/admin/queue", s.requireAdmin(s.handleQueueStatus))
		s.handle(r, http.MethodPost, "/admin/jobs/:jobId/requeue", s.requireAdmin(s.handleRequeue))
	}
}

// registerAdminUI mounts the operator console. Its routes stay out of
// s.registered: they serve HTML, not the JSON API that openapi.yaml describes.
func (s *server) registerAdminUI(r *httprouter.Router) {
	if s.cfg.AdminUI == nil {
		return
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		for _, pattern := range []string{"/admin/ui", "/admin/ui/*path"} {
			r.HandlerFunc(method, pattern, withRoute(pattern, s.cfg.AdminUI.ServeHTTP))
		}
	}
}

// requireAdmin admits requests that carry the admin bearer token, or a verified
// token with the admin scope. With neither configured the admin API is off: an
// operator surface must never be open by default.
func (s *server) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := authorizeAdmin(r.Context(), s.cfg.Auth, s.cfg.AdminToken, r.Header)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if p != nil {
			s.log.Info("admin access by token scope", "uid", p.UID, "issuer", p.Issuer, "request_id", requestID(r))
		}
		next(w, r.WithContext(context.WithValue(r.Context(), adminPrincipalKey, p)))
	}
}

// AuthorizeAdmin checks one admin credential as the admin routes check a bearer
// token: adminToken (ENRICH_ADMIN_TOKEN, compared in constant time), else a JWT
// that auth verifies and that carries auth's admin scope. It returns the token's
// principal, or nil for the static token (the operator: every tenant). Failures
// are *Error values: admin_disabled when neither way is configured, unauthorized
// for a wrong or missing credential, forbidden for a token without the scope,
// unavailable while signing keys cannot be fetched. The operator console
// (router/adminui) signs in with it. auth may be nil: only adminToken counts.
func AuthorizeAdmin(ctx context.Context, auth *Authenticator, adminToken, credential string) (*Principal, error) {
	return authorizeAdmin(ctx, auth, adminToken, http.Header{"Authorization": {"Bearer " + credential}})
}

// authorizeAdmin checks the static token first (constant time), then, when an
// admin scope is configured, the bearer token as a JWT that must carry it.
func authorizeAdmin(ctx context.Context, auth *Authenticator, adminToken string, h http.Header) (*Principal, error) {
	scope := ""
	if auth != nil {
		scope = auth.adminScope()
	}
	if adminToken == "" && scope == "" {
		return nil, newError(CodeAdminDisabled,
			"The admin API is off: set ENRICH_ADMIN_TOKEN, or use an auth mode with an admin scope, to enable it.", nil)
	}
	token, hasBearer := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if adminToken != "" && hasBearer && subtle.ConstantTimeCompare([]byte(token), []byte(adminToken)) == 1 {
		return nil, nil
	}
	if scope == "" {
		return nil, newError(CodeUnauthorized, "A valid admin bearer token is required.", nil).
			withHeader("WWW-Authenticate", `Bearer realm="hh-enrich-svc admin"`)
	}
	p, err := auth.Authenticate(ctx, h)
	if err != nil {
		return nil, err
	}
	if !p.HasScope(scope) {
		return nil, newError(CodeForbidden, "The token lacks the "+scope+" scope.", nil)
	}
	return p, nil
}

// adminPrincipalKey holds the admin's principal in the request context: nil for the
// operator token (every tenant), else a tenant's admin (that tenant only).
const adminPrincipalKey contextKey = 1 << 10

func (s *server) handlePoolStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.cfg.Pool.Status())
}

func (s *server) handlePoolRestart(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), adminRestartTimeout)
	defer cancel()
	s.log.Warn("operator restart of every plugin process", "request_id", requestID(r))
	if err := s.cfg.Pool.RestartAll(ctx); err != nil {
		writeError(w, r, s.log, fmt.Errorf("rolling restart: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Pool.Status())
}

func (s *server) handleProcessRestart(w http.ResponseWriter, r *http.Request) {
	raw := httprouter.ParamsFromContext(r.Context()).ByName("id")
	id, err := strconv.Atoi(raw)
	if err != nil || id < 0 {
		writeError(w, r, s.log, newError(CodeInvalidField, "Process id must be a non-negative integer.", map[string]any{"id": raw}))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminRestartTimeout)
	defer cancel()
	s.log.Warn("operator restart of a plugin process", "id", id, "request_id", requestID(r))
	err = s.cfg.Pool.RestartProcess(ctx, id)
	if errors.Is(err, pool.ErrNoProcess) {
		writeError(w, r, s.log, newError(CodeNotFound, "No ready plugin process has that id.", map[string]any{"id": id}))
		return
	}
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("restart process %d: %w", id, err))
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Pool.Status())
}
