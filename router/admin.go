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
	r.HandlerFunc(http.MethodGet, "/admin/pool", s.requireAdmin(s.handlePoolStatus))
	r.HandlerFunc(http.MethodPost, "/admin/pool/restart", s.requireAdmin(s.handlePoolRestart))
	r.HandlerFunc(http.MethodPost, "/admin/pool/processes/:id/restart", s.requireAdmin(s.handleProcessRestart))
}

// requireAdmin admits requests that carry the admin bearer token. Without a
// configured token the admin API is off: an operator surface must never be open
// by default.
func (s *server) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken == "" || s.cfg.Pool == nil {
			writeError(w, r, s.log, newError(CodeAdminDisabled, "The admin API is off: set ENRICH_ADMIN_TOKEN to enable it.", nil))
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hh-enrich-svc admin"`)
			writeError(w, r, s.log, newError(CodeUnauthorized, "A valid admin bearer token is required.", nil))
			return
		}
		next(w, r)
	}
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
