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
	s.handle(r, http.MethodGet, "/admin/pool", s.requireAdmin(s.handlePoolStatus))
	s.handle(r, http.MethodPost, "/admin/pool/restart", s.requireAdmin(s.handlePoolRestart))
	s.handle(r, http.MethodPost, "/admin/pool/processes/:id/restart", s.requireAdmin(s.handleProcessRestart))
}

// requireAdmin admits requests that carry the admin bearer token, or a verified
// token with the admin scope. With neither configured the admin API is off: an
// operator surface must never be open by default.
func (s *server) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scope := s.cfg.Auth.adminScope()
		if (s.cfg.AdminToken == "" && scope == "") || s.cfg.Pool == nil {
			writeError(w, r, s.log, newError(CodeAdminDisabled,
				"The admin API is off: set ENRICH_ADMIN_TOKEN, or use an auth mode with an admin scope, to enable it.", nil))
			return
		}
		if err := s.authorizeAdmin(r, scope); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		next(w, r)
	}
}

// authorizeAdmin checks the static token first (constant time), then, when an
// admin scope is configured, the bearer token as a JWT that must carry it.
func (s *server) authorizeAdmin(r *http.Request, scope string) error {
	token, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if s.cfg.AdminToken != "" && hasBearer && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) == 1 {
		return nil
	}
	if scope == "" {
		return newError(CodeUnauthorized, "A valid admin bearer token is required.", nil).
			withHeader("WWW-Authenticate", `Bearer realm="hh-enrich-svc admin"`)
	}
	p, err := s.cfg.Auth.Authenticate(r.Context(), r.Header)
	if err != nil {
		return err
	}
	if !p.HasScope(scope) {
		return newError(CodeForbidden, "The token lacks the "+scope+" scope.", nil)
	}
	s.log.Info("admin access by token scope", "uid", p.UID, "issuer", p.Issuer, "request_id", requestID(r))
	return nil
}

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
