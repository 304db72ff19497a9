package router

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
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
		// The pool is shared by every tenant: only operators manage or see it.
		s.handle(r, http.MethodGet, "/admin/pool", s.requireOperator(s.handlePoolStatus))
		s.handle(r, http.MethodPost, "/admin/pool/restart", s.requireOperator(s.handlePoolRestart))
		s.handle(r, http.MethodPost, "/admin/pool/processes/:id/restart", s.requireOperator(s.handleProcessRestart))
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

// Admin is who holds an admin credential: an operator, who runs the service
// (every tenant, the shared plugin pool), or one tenant's admin.
type Admin struct {
	// Principal is the verified token's; nil for the static token.
	Principal *Principal
	// Operator is true for the static token (ENRICH_ADMIN_TOKEN) and for tokens
	// with the operator scope (ENRICH_OPERATOR_SCOPE).
	Operator bool
	// Tenant is a tenant admin's organization; "" for an operator.
	Tenant string
}

// Subject names the admin in logs.
func (a *Admin) Subject() string {
	if a.Principal == nil {
		return "operator"
	}
	return a.Principal.UID
}

// requireAdmin admits operators and tenant admins (a verified token with the
// admin scope and an organization). With no admin credential configured the
// admin API is off: an operator surface must never be open by default.
func (s *server) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return s.admitAdmin(false, next)
}

// requireOperator admits operators only; a tenant admin gets 403.
func (s *server) requireOperator(next http.HandlerFunc) http.HandlerFunc {
	return s.admitAdmin(true, next)
}

func (s *server) admitAdmin(operatorOnly bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := s.authorizeAdminRequest(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if operatorOnly && !a.Operator {
			s.log.Warn("admin route refused to a tenant admin: operators only", "uid", a.Subject(), "tenant_id", a.Tenant,
				"route", infoRoute(r), "request_id", requestID(r))
			writeError(w, r, s.log, newError(CodeForbidden, "Only an operator may use this route.", nil))
			return
		}
		if a.Principal != nil {
			s.log.Info("admin access by token scope", "uid", a.Principal.UID, "issuer", a.Principal.Issuer,
				"operator", a.Operator, "tenant_id", a.Tenant, "request_id", requestID(r))
		}
		next(w, r.WithContext(context.WithValue(r.Context(), adminKey, a)))
	}
}

// authorizeAdminRequest checks the request's admin credential behind the
// per-address guard: an address that failed too often gets 429 before its
// credential is even looked at, and every failed credential counts.
func (s *server) authorizeAdminRequest(r *http.Request) (*Admin, error) {
	if err := s.guard.refusal(r); err != nil {
		return nil, err
	}
	a, err := authorizeAdmin(r.Context(), s.cfg.Auth, s.cfg.AdminToken, r.Header)
	if isCredentialFailure(err) && bearerToken(r.Header) != "" {
		s.guard.Fail(r, "admin credential") // a missing one is no guess
	}
	return a, err
}

// isCredentialFailure tells a wrong credential (which a guesser produces) from
// a right one without the rights, or an outage.
func isCredentialFailure(err error) bool {
	var apiErr *Error
	return errors.As(err, &apiErr) && apiErr.Code == CodeUnauthorized
}

// AuthorizeAdmin checks one admin credential as the admin routes check a bearer
// token: adminToken (ENRICH_ADMIN_TOKEN, compared in constant time) is an
// operator; else a JWT that auth verifies: with the operator scope it is an
// operator, with the admin scope and an organization that tenant's admin.
// Failures are *Error values: admin_disabled when no way is configured,
// unauthorized for a wrong or missing credential, forbidden for a token without
// either scope or with the admin scope but no organization, unavailable while
// signing keys cannot be fetched. The operator console (router/adminui) signs in
// with it. auth may be nil: only adminToken counts.
func AuthorizeAdmin(ctx context.Context, auth *Authenticator, adminToken, credential string) (*Admin, error) {
	return authorizeAdmin(ctx, auth, adminToken, http.Header{"Authorization": {"Bearer " + credential}})
}

// authorizeAdmin checks the static token first (constant time), then, when a
// scope is configured, the bearer token as a JWT that must carry one.
func authorizeAdmin(ctx context.Context, auth *Authenticator, adminToken string, h http.Header) (*Admin, error) {
	var scope, operatorScope string
	if auth != nil {
		scope, operatorScope = auth.adminScope(), auth.operatorScope()
	}
	if adminToken == "" && scope == "" && operatorScope == "" {
		return nil, newError(CodeAdminDisabled,
			"The admin API is off: set ENRICH_ADMIN_TOKEN, or use an auth mode with an admin scope, to enable it.", nil)
	}
	token, hasBearer := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if adminToken != "" && hasBearer && subtle.ConstantTimeCompare([]byte(token), []byte(adminToken)) == 1 {
		return &Admin{Operator: true}, nil
	}
	if scope == "" && operatorScope == "" {
		return nil, newError(CodeUnauthorized, "A valid admin bearer token is required.", nil).
			withHeader("WWW-Authenticate", `Bearer realm="hh-enrich-svc admin"`)
	}
	p, err := auth.Authenticate(ctx, h)
	switch {
	case err != nil:
		return nil, err
	case p.HasScope(operatorScope):
		return &Admin{Principal: p, Operator: true}, nil
	case !p.HasScope(scope):
		return nil, newError(CodeForbidden, "The token lacks the admin scope.", nil)
	case p.OrgID == "":
		// A tenant admin acts on its own tenant; a token that names none is no
		// tenant's admin, and never everyone's.
		return nil, newError(CodeForbidden, "The admin token names no organization.", nil)
	}
	return &Admin{Principal: p, Tenant: p.OrgID}, nil
}

// adminKey holds the request's *Admin in its context.
const adminKey contextKey = 1 << 10

// adminOf is the admin that requireAdmin admitted.
func adminOf(r *http.Request) *Admin {
	a, _ := r.Context().Value(adminKey).(*Admin)
	return a
}

func (s *server) handlePoolStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.cfg.Pool.Status().Redacted())
}

func (s *server) handlePoolRestart(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), adminRestartTimeout)
	defer cancel()
	s.log.Warn("operator restart of every plugin process", "request_id", requestID(r))
	if err := s.cfg.Pool.RestartAll(ctx); err != nil {
		writeError(w, r, s.log, fmt.Errorf("rolling restart: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Pool.Status().Redacted())
}

func (s *server) handleProcessRestart(w http.ResponseWriter, r *http.Request) {
	raw := httprouter.ParamsFromContext(r.Context()).ByName("id")
	id, err := strconv.Atoi(raw)
	if err != nil || id < 0 || id > math.MaxInt32 {
		writeError(w, r, s.log, newError(CodeInvalidField, "Process id must be a non-negative integer.", map[string]any{"id": raw}))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminRestartTimeout)
	defer cancel()
	// Logged once it happened: a restart of a process that does not exist is a
	// 404 in the access log, not an operator's restart.
	started := time.Now()
	err = s.cfg.Pool.RestartProcess(ctx, id)
	if errors.Is(err, pool.ErrNoProcess) {
		writeError(w, r, s.log, newError(CodeNotFound, "No ready plugin process has that id.", map[string]any{"id": id}))
		return
	}
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("restart process %d: %w", id, err))
		return
	}
	s.log.Warn("operator restart of a plugin process", "id", id, "took", time.Since(started), "request_id", requestID(r))
	writeJSON(w, http.StatusOK, s.cfg.Pool.Status().Redacted())
}
