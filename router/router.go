// Package router is the service's HTTP API: routes (httprouter), authentication
// and tenant resolution, per-tenant rate limits, request validation, JSON errors,
// the access log, and the handlers for jobs and health.
//
// Routes (REFERENCE §1):
//
//	POST /v1/enrich/profile          submit a job: 202, or 200 once completed ("async": false)
//	GET  /v1/enrich/status/:jobId    read a job; only its own tenant sees it
//	POST /v1/enrich/batch            submit up to 1,000 candidates at once
//	GET  /v1/enrich/batch/:batchId   a batch's counts per status and its jobs
//	GET  /health /healthz /readyz    Redis reachability (200 or 503)
//	GET  /ready                      the process is up (always 200)
//	GET  /openapi.yaml               the OpenAPI 3 document of these routes
//	GET  /admin/pool                 plugin processes (admin bearer token)
//	POST /admin/pool/restart         rolling restart of every process
//	POST /admin/pool/processes/:id/restart   restart one process
//	GET, POST /admin/ui and below    the operator console (Config.AdminUI, HTML)
package router

import (
	"cmp"
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/julienschmidt/httprouter"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/store"
)

// Defaults for Config fields left zero.
const (
	TenantHeaderDefault    = "X-Tenant-ID"
	RequestIDHeaderDefault = "X-Request-ID"
	TraceHeaderDefault     = "X-Cloud-Trace-Context"
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

// Config configures the API handler. Store and Auth are required.
type Config struct {
	Store JobStore
	// Components are extra parts /health/detailed reports (embed breaker,
	// Firestore), by name. Optional.
	Components map[string]func(ctx context.Context) ComponentHealth
	// Queue serves the queue admin routes (counts, dead letters, requeue). Optional.
	Queue QueueAdmin
	// Batches serves the batch routes. Optional: without it they answer 404.
	Batches BatchStore
	// MaxBatchBodyBytes caps a batch request body, which is read as a stream;
	// each candidate is held to MaxBodyBytes. Default BatchBodyFactor ×
	// MaxBodyBytes (32 MiB).
	MaxBatchBodyBytes int64
	// TenantInFlightBytes bounds the request bodies one tenant may have in flight
	// at once (declared or capped sizes); past it, 429 in_flight_limit. Default
	// 2 × MaxBatchBodyBytes.
	TenantInFlightBytes int64
	// Metrics counts requests by route and status, and submissions. Optional.
	Metrics *metrics.Metrics
	// Auth verifies bearer tokens (AUTH_MODE and the issuer settings). An
	// Authenticator in AuthModeNone reads no token and trusts the tenant header.
	Auth *Authenticator
	// Tenants, when set, must know a tenant and find it active before that
	// tenant's /v1 requests are served (Firestore organizations/{id}). Optional.
	Tenants TenantDirectory
	// TenantCacheTTL is how long a tenant lookup is remembered (COMMON_CACHE_TTL);
	// "not found" at most 30 s of it. Default 300 s.
	TenantCacheTTL time.Duration
	// TenantCacheSize bounds the tenant cache (LRU). Default 1000.
	TenantCacheSize int
	// TenantRateLimit is the requests per second each tenant may sustain on /v1
	// (GATEWAY_GLOBAL_RPS). Zero: no limit. Health, admin and the document are
	// never limited.
	TenantRateLimit float64
	// TenantBurst is how many requests a tenant may send at once above the rate
	// (GATEWAY_TENANT_BURST). Default: TenantRateLimit rounded up.
	TenantBurst int
	// RateLimitTenants bounds how many tenants have a bucket; the idlest goes
	// first. Default 10,000.
	RateLimitTenants int
	// Watcher wakes sync waits ("async": false). Without one, every submission is
	// answered at once, as an async one is.
	Watcher Watcher
	// SyncWait bounds a sync wait (ENRICH_SYNC_WAIT_MS). Default 180 s.
	SyncWait time.Duration
	// Draining closes when the service begins to stop: every sync wait then
	// answers at once with the job as it stands (202 while it is not done), since
	// this instance no longer leases jobs and its HTTP drain would otherwise wait
	// out ENRICH_SYNC_WAIT_MS. Nil: never.
	Draining <-chan struct{}
	// TenantHeader carries the tenant id (ENRICH_TENANT_HEADER). Default X-Tenant-ID.
	TenantHeader string
	// RequestIDHeader is echoed on every response (REQUEST_ID_HEADER). Default X-Request-ID.
	RequestIDHeader string
	// TraceHeader is echoed when it holds a valid Cloud Trace context
	// (TRACE_HEADER). Default X-Cloud-Trace-Context.
	TraceHeader string
	// LogRequests writes one access log line per request at info
	// (ENABLE_REQUEST_LOGGING): method, route pattern, status, duration, bytes,
	// tenant and request id.
	LogRequests bool
	// CORS lets browsers on the listed origins call the API. Default: none.
	CORS CORSConfig
	// MaxBodyBytes caps a request body; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
	// HealthTimeout bounds the Redis ping behind /health. Default 2 s.
	HealthTimeout time.Duration
	// Pool is the plugin pool: its state is part of /health and the admin API
	// manages it. Optional.
	Pool PoolAdmin
	// AdminToken is a bearer token of the admin API (ENRICH_ADMIN_TOKEN). Tokens
	// with Auth's admin scope are accepted too. With neither, the admin API is off.
	AdminToken string
	// AdminUI is the operator console (router/adminui), served at /admin/ui and
	// every path below it. It authenticates on its own (a signed session cookie
	// made by signing in with AuthorizeAdmin), so no bearer token is asked here.
	// Optional: without it those paths answer 404.
	AdminUI http.Handler
	// Guard throttles wrong admin credentials per client address; share it with
	// the console so that both count against one budget. Default: a guard of
	// its own with GuardConfig's defaults.
	Guard *CredentialGuard
	// ServiceName is reported by /ready. Default hh-enrich-svc.
	ServiceName string
	// Now is the clock of rate limits and caches. Default time.Now.
	Now    func() time.Time
	Logger hclog.Logger
}

func (cfg Config) withDefaults() Config {
	cfg.TenantHeader = cmp.Or(cfg.TenantHeader, TenantHeaderDefault)
	cfg.RequestIDHeader = cmp.Or(cfg.RequestIDHeader, RequestIDHeaderDefault)
	cfg.TraceHeader = cmp.Or(cfg.TraceHeader, TraceHeaderDefault)
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, MaxBodyBytesDefault)
	cfg.MaxBatchBodyBytes = cmp.Or(cfg.MaxBatchBodyBytes, BatchBodyFactor*cfg.MaxBodyBytes)
	cfg.TenantInFlightBytes = cmp.Or(cfg.TenantInFlightBytes, 2*cfg.MaxBatchBodyBytes)
	cfg.HealthTimeout = cmp.Or(cfg.HealthTimeout, HealthTimeoutDefault)
	cfg.ServiceName = cmp.Or(cfg.ServiceName, ServiceNameDefault)
	cfg.SyncWait = cmp.Or(cfg.SyncWait, SyncWaitDefault)
	cfg.TenantCacheTTL = cmp.Or(cfg.TenantCacheTTL, TenantCacheTTLDefault)
	cfg.TenantCacheSize = cmp.Or(cfg.TenantCacheSize, TenantCacheSizeDefault)
	cfg.TenantBurst = cmp.Or(cfg.TenantBurst, int(math.Ceil(cfg.TenantRateLimit)))
	cfg.RateLimitTenants = cmp.Or(cfg.RateLimitTenants, RateLimitTenantsDefault)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.Default()
	}
	if cfg.Guard == nil {
		cfg.Guard = NewCredentialGuard(GuardConfig{Now: cfg.Now, Logger: cfg.Logger})
	}
	return cfg
}

func (cfg Config) validate() error {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("router: Config.Store is required"))
	}
	if cfg.Auth == nil {
		errs = append(errs, errors.New("router: Config.Auth is required (an Authenticator in AuthModeNone trusts the tenant header)"))
	}
	if cfg.TenantRateLimit < 0 || cfg.TenantBurst < 0 || cfg.RateLimitTenants < 0 ||
		cfg.TenantCacheTTL < 0 || cfg.TenantCacheSize < 0 || cfg.SyncWait < 0 {
		errs = append(errs, errors.New("router: rate limits, cache sizes and durations must be ≥ 0"))
	}
	return errors.Join(errs...)
}

type server struct {
	cfg        Config
	log        hclog.Logger
	limiter    *tenantLimiter // nil: no limit
	guard      *CredentialGuard
	inFlight   *inFlightBytes
	tenants    *tenantCache // nil: no tenant directory
	registered []string     // "METHOD pattern" of every route, for the OpenAPI test
}

// New returns the API's http.Handler, or the list of problems in cfg.
func New(cfg Config) (http.Handler, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	return s.middleware(s.routes()), nil
}

func newServer(cfg Config) (*server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, log: cfg.Logger.Named("http"), guard: cfg.Guard, inFlight: newInFlightBytes(cfg.TenantInFlightBytes),
		limiter: newTenantLimiter(cfg.TenantRateLimit, cfg.TenantBurst, cfg.RateLimitTenants, cfg.Now)}
	if cfg.Tenants != nil {
		s.tenants = newTenantCache(cfg.Tenants, cfg.TenantCacheTTL, cfg.TenantCacheSize, cfg.Now)
	}
	return s, nil
}

func (s *server) routes() *httprouter.Router {
	r := httprouter.New()
	s.handle(r, http.MethodPost, "/v1/enrich/profile", s.tenantRoute(s.cfg.MaxBodyBytes, s.handleSubmit))
	s.handle(r, http.MethodGet, "/v1/enrich/status/:jobId", s.tenantRoute(0, s.handleStatus))
	if s.cfg.Batches != nil {
		s.handle(r, http.MethodPost, "/v1/enrich/batch", s.tenantRoute(s.cfg.MaxBatchBodyBytes, s.handleSubmitBatch))
		s.handle(r, http.MethodGet, "/v1/enrich/batch/:batchId", s.tenantRoute(0, s.handleGetBatch))
	}
	// The probes answer HEAD too (some load balancers probe so); the server sends
	// a HEAD answer's headers without its body.
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		s.handle(r, method, "/health", s.handleHealth)
		s.handle(r, method, "/healthz", s.handleHealth)
		s.handle(r, method, "/readyz", s.handleReadyz)
		s.handle(r, method, "/ready", s.handleReady)
	}
	s.handle(r, http.MethodGet, "/health/detailed", s.handleHealthDetailed)
	s.handle(r, http.MethodGet, "/openapi.yaml", handleOpenAPI)
	s.registerAdmin(r)
	s.registerAdminUI(r)
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, req, s.log, newError(CodeNotFound, "No such route.", nil))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// httprouter always lists OPTIONS, which only a CORS preflight gets an
		// answer to (before the router): Allow names what a request may use.
		allow := slices.DeleteFunc(strings.Split(w.Header().Get("Allow"), ", "), func(m string) bool { return m == http.MethodOptions })
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, req, s.log, newError(CodeMethodNotAllowed, "Method not allowed on this route.", nil))
	})
	r.PanicHandler = nil // withRecovery handles panics for every route, unknown ones too
	// Every answer is JSON from our table: no redirects to a "fixed" path and no
	// automatic OPTIONS replies (CORS preflights are answered before the router).
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleOPTIONS = false
	return r
}

// handle registers a route under its pattern, which the access log reports.
func (s *server) handle(r *httprouter.Router, method, pattern string, h http.HandlerFunc) {
	r.HandlerFunc(method, pattern, withRoute(pattern, h))
	s.registered = append(s.registered, method+" "+pattern)
}

// middleware wraps the routes, outermost first: request id and trace context,
// the access log (so it sees every answer, a recovered panic's too), panic
// recovery, then CORS (so preflights, which carry no token, are answered before
// authentication).
func (s *server) middleware(h http.Handler) http.Handler {
	allowed := []string{"Authorization", "Content-Type", "X-Firebase-Auth", "X-Id-Token",
		s.cfg.TenantHeader, s.cfg.RequestIDHeader, s.cfg.TraceHeader}
	exposed := []string{s.cfg.RequestIDHeader, s.cfg.TraceHeader, "Retry-After"}
	h = withCORS(s.cfg.CORS, allowed, exposed, h)
	h = withSecurityHeaders(h)
	h = withRecovery(s.log, h)
	h = withMetrics(s.cfg.Metrics, s.cfg.Now, h)
	if s.cfg.LogRequests {
		h = withAccessLog(s.log, s.cfg.Now, h)
	}
	return withRequestContext(s.cfg.RequestIDHeader, s.cfg.TraceHeader, h)
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

// healthDetails reports whether the caller may see the health routes' details
// (pool counts, pids, errors, addresses): an operator's credential. Anyone
// else, probes and tenants included, gets statuses only, never an error: a
// wrong credential still counts against its address, and a blocked address
// gets statuses whatever it sends, so these routes are no faster oracle for
// guessing the admin token than the admin routes.
func (s *server) healthDetails(r *http.Request) bool {
	if bearerToken(r.Header) == "" {
		return false
	}
	a, err := s.authorizeAdminRequest(r)
	return err == nil && a.Operator
}

// poolState is the pool's status and, for an operator, its counts.
func (s *server) poolState(details bool) (*poolHealth, bool) {
	if s.cfg.Pool == nil {
		return nil, false
	}
	st := s.cfg.Pool.Status()
	degraded := st.Degraded || st.Circuit != "closed" || st.Ready == 0
	if !details {
		return nil, degraded
	}
	return &poolHealth{Ready: st.Ready, Size: st.Size, Degraded: st.Degraded, Circuit: st.Circuit}, degraded
}

// handleHealth answers 503 only when Redis is unreachable: with Redis up, jobs are
// accepted and kept even while the plugin pool heals, so the instance stays in
// rotation and says "degraded".
func (s *server) handleHealth(w http.ResponseWriter, r *http.Request) {
	details := s.healthDetails(r)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HealthTimeout)
	defer cancel()
	h := health{Status: "ok", Service: s.cfg.ServiceName, Redis: "ok"}
	var degraded bool
	if h.Pool, degraded = s.poolState(details); degraded {
		h.Status = "degraded"
	}
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Warn("health check failed", "error", err)
		h.Status, h.Redis = "unhealthy", "unreachable"
		writeJSON(w, http.StatusServiceUnavailable, h)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// handleReadyz is the readiness probe: Redis reachable and at least one plugin
// process taking calls. A liveness probe should use /healthz, which stays 200
// while the pool heals.
func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	details := s.healthDetails(r)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HealthTimeout)
	defer cancel()
	h := health{Status: "ready", Service: s.cfg.ServiceName, Redis: "ok"}
	status := http.StatusOK
	if err := s.cfg.Store.Ping(ctx); err != nil {
		h.Status, h.Redis, status = "not_ready", "unreachable", http.StatusServiceUnavailable
	}
	if s.cfg.Pool != nil {
		h.Pool, _ = s.poolState(details)
		if s.cfg.Pool.Status().Ready == 0 {
			h.Status, status = "not_ready", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, status, h)
}

// ComponentHealth is one part's state in /health/detailed.
type ComponentHealth struct {
	Status string         `json:"status"` // ok, degraded, down or off
	Detail map[string]any `json:"detail,omitempty"`
}

// handleHealthDetailed reports every part: Redis (with its ping time), the pool
// (every process), and the configured components. 503 only when Redis is down.
// Anonymous callers get each part's status only; the details (pids, memory,
// errors with internal addresses, URLs) need an operator's credential.
func (s *server) handleHealthDetailed(w http.ResponseWriter, r *http.Request) {
	details := s.healthDetails(r)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HealthTimeout)
	defer cancel()
	components := map[string]any{}
	add := func(name string, status string, full any) {
		if details {
			components[name] = full
		} else {
			components[name] = ComponentHealth{Status: status}
		}
	}
	started := s.cfg.Now()
	redisHealth := ComponentHealth{Status: "ok"}
	status, overall := http.StatusOK, "ok"
	if err := s.cfg.Store.Ping(ctx); err != nil {
		redisHealth = ComponentHealth{Status: "down", Detail: map[string]any{"error": err.Error()}}
		status, overall = http.StatusServiceUnavailable, "unhealthy"
	} else {
		redisHealth.Detail = map[string]any{"pingMs": float64(s.cfg.Now().Sub(started).Microseconds()) / 1000}
	}
	add("redis", redisHealth.Status, redisHealth)
	if s.cfg.Pool != nil {
		st := s.cfg.Pool.Status()
		poolStatus := "ok"
		if st.Degraded || st.Circuit != "closed" || st.Ready == 0 {
			poolStatus = "degraded"
			if overall == "ok" {
				overall = "degraded"
			}
		}
		add("pool", poolStatus, st.Redacted())
	}
	for name, check := range s.cfg.Components {
		c := check(ctx)
		add(name, c.Status, c)
		if (c.Status == "down" || c.Status == "degraded") && overall == "ok" {
			overall = "degraded"
		}
	}
	writeJSON(w, status, map[string]any{"status": overall, "service": s.cfg.ServiceName, "components": components})
}

func (s *server) handleReady(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "service": s.cfg.ServiceName})
}
