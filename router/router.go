// Package router is the service's HTTP API: routes (httprouter), tenant resolution,
// request validation, JSON errors, and the handlers for jobs and health.
//
// Routes (REFERENCE §1):
//
//	POST /v1/enrich/profile          submit a job: 202, or 200 once completed ("async": false)
//	GET  /v1/enrich/status/:jobId    read a job; only its own tenant sees it
//	GET  /health /healthz /readyz    Redis reachability (200 or 503)
//	GET  /ready                      the process is up (always 200)
//	GET  /admin/pool                 plugin processes (admin bearer token)
//	POST /admin/pool/restart         rolling restart of every process
//	POST /admin/pool/processes/:id/restart   restart one process
package router

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/julienschmidt/httprouter"

	"github.com/headhunter/hh-enrich-svc/store"
)

// Defaults for Config fields left zero.
const (
	TenantHeaderDefault    = "X-Tenant-ID"
	RequestIDHeaderDefault = "X-Request-ID"
	MaxBodyBytesDefault    = 1 << 20
	HealthTimeoutDefault   = 2 * time.Second
	ServiceNameDefault     = "hh-enrich-svc"
	SyncWaitDefault        = 180 * time.Second
)

// JobStore is what the API needs of the job store (*store.RedisStore).
type JobStore interface {
	Submit(ctx context.Context, req store.SubmitRequest) (*store.Job, bool, error)
	Get(ctx context.Context, jobID string) (*store.Job, error)
	Ping(ctx context.Context) error
}

// Watcher tells when a job completes or fails (*store.Notifier).
type Watcher interface {
	Watch(jobID string) (<-chan struct{}, func())
}

// Config configures the API handler. Store is required.
type Config struct {
	Store JobStore
	// Watcher wakes sync waits ("async": false). Without one, every submission is
	// answered at once, as an async one is.
	Watcher Watcher
	// SyncWait bounds a sync wait (ENRICH_SYNC_WAIT_MS). Default 180 s.
	SyncWait time.Duration
	// TenantHeader carries the tenant id (ENRICH_TENANT_HEADER). Default X-Tenant-ID.
	TenantHeader string
	// RequestIDHeader is echoed on every response (REQUEST_ID_HEADER). Default X-Request-ID.
	RequestIDHeader string
	// MaxBodyBytes caps a request body; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
	// HealthTimeout bounds the Redis ping behind /health. Default 2 s.
	HealthTimeout time.Duration
	// Pool is the plugin pool: its state is part of /health and the admin API
	// manages it. Optional.
	Pool PoolAdmin
	// AdminToken is the bearer token of the admin API (ENRICH_ADMIN_TOKEN). Empty:
	// the admin API is off.
	AdminToken string
	// ServiceName is reported by /ready. Default hh-enrich-svc.
	ServiceName string
	Logger      hclog.Logger
}

type server struct {
	cfg Config
	log hclog.Logger
}

// New returns the API's http.Handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("router: Config.Store is required")
	}
	cfg.TenantHeader = cmp.Or(cfg.TenantHeader, TenantHeaderDefault)
	cfg.RequestIDHeader = cmp.Or(cfg.RequestIDHeader, RequestIDHeaderDefault)
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, MaxBodyBytesDefault)
	cfg.HealthTimeout = cmp.Or(cfg.HealthTimeout, HealthTimeoutDefault)
	cfg.ServiceName = cmp.Or(cfg.ServiceName, ServiceNameDefault)
	cfg.SyncWait = cmp.Or(cfg.SyncWait, SyncWaitDefault)
	if cfg.Logger == nil {
		cfg.Logger = hclog.Default()
	}
	s := &server{cfg: cfg, log: cfg.Logger.Named("http")}

	r := httprouter.New()
	r.HandlerFunc(http.MethodPost, "/v1/enrich/profile", s.requireTenant(s.handleSubmit))
	r.HandlerFunc(http.MethodGet, "/v1/enrich/status/:jobId", s.requireTenant(s.handleStatus))
	for _, path := range []string{"/health", "/healthz", "/readyz"} {
		r.HandlerFunc(http.MethodGet, path, s.handleHealth)
	}
	r.HandlerFunc(http.MethodGet, "/ready", s.handleReady)
	s.registerAdmin(r)
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, req, s.log, newError(CodeNotFound, "No such route.", nil))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, req, s.log, newError(CodeMethodNotAllowed, "Method not allowed on this route.", nil))
	})
	r.PanicHandler = nil // withRecovery handles panics for every route, unknown ones too
	r.RedirectTrailingSlash = false
	return withRequestID(cfg.RequestIDHeader, withRecovery(s.log, r)), nil
}

// health is the body of /health.
type health struct {
	Status  string      `json:"status"` // ok, degraded (pool in a crash loop or circuit open) or unhealthy
	Service string      `json:"service"`
	Redis   string      `json:"redis"`
	Pool    *poolHealth `json:"pool,omitempty"`
}

type poolHealth struct {
	Ready    int    `json:"ready"`
	Size     int    `json:"size"`
	Degraded bool   `json:"degraded"`
	Circuit  string `json:"circuit"`
}

// handleHealth answers 503 only when Redis is unreachable: with Redis up, jobs are
// accepted and kept even while the plugin pool heals, so the instance stays in
// rotation and says "degraded".
func (s *server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HealthTimeout)
	defer cancel()
	h := health{Status: "ok", Service: s.cfg.ServiceName, Redis: "ok"}
	if s.cfg.Pool != nil {
		st := s.cfg.Pool.Status()
		h.Pool = &poolHealth{Ready: st.Ready, Size: st.Size, Degraded: st.Degraded, Circuit: st.Circuit}
		if st.Degraded || st.Circuit != "closed" || st.Ready == 0 {
			h.Status = "degraded"
		}
	}
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Warn("health check failed", "error", err)
		h.Status, h.Redis = "unhealthy", "unreachable"
		writeJSON(w, http.StatusServiceUnavailable, h)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *server) handleReady(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "service": s.cfg.ServiceName})
}
