// Package adminui is the operator console: HTML pages served by the service
// under /admin/ui (router.Config.AdminUI), with every asset embedded in the
// binary. Pages are rendered on the server (html/template) with SVG charts; a
// small script only refreshes parts of a page, and every page works without it.
//
// Pages: Overview (this instance's rates, latency, queue depth, embedding and
// breakers over the last hour), Pool (one row per plugin process, restart one
// or all), Jobs (look a job up by id, recent failures, dead letters and their
// requeue) and Tenants (submissions, dedupe hits, failures per tenant).
//
// Signing in takes the admin token (ENRICH_ADMIN_TOKEN) or an admin JWT,
// checked by Config.Authorize (router.AuthorizeAdmin). It sets a session
// cookie signed with HMAC-SHA256: HttpOnly, SameSite=Strict, Secure over TLS,
// ending after Config.SessionTTL. Every POST carries the session's CSRF token
// and, when the browser sends one, a same-origin Origin or Referer; without
// them it is refused with 403.
package adminui

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/store"
)

// Prefix is where the console is mounted; router serves it at this path and below.
const Prefix = "/admin/ui"

// Defaults for Config fields left zero.
const (
	SessionTTLDefault     = 8 * time.Hour
	SampleIntervalDefault = 10 * time.Second
	HistoryDefault        = time.Hour
	// SessionKeyMinBytes is the shortest session key accepted.
	SessionKeyMinBytes = 32
	// restartTimeout bounds a restart started from the console: a rolling
	// restart waits for each replacement (~250 ms a process) and its drain.
	restartTimeout = 2 * time.Minute
)

// PoolAdmin is what the console needs of the plugin pool (*pool.Pool); the
// admin API uses the same methods.
type PoolAdmin interface {
	Status() pool.Status
	RestartAll(ctx context.Context) error
	RestartProcess(ctx context.Context, id int) error
}

// JobStore is what the console needs of the job store (*store.RedisStore).
type JobStore interface {
	Get(ctx context.Context, jobID string) (*store.Job, error)
	Counts(ctx context.Context) (*store.Counts, error)
	DeadLetters(ctx context.Context, tenantID string, limit int) ([]*store.Job, error)
	RequeueDeadLetter(ctx context.Context, tenantID, jobID string) (*store.Job, error)
}

// AuthorizeFunc checks a credential typed into the sign-in form: the admin
// token or an admin JWT. Any error refuses the sign-in; it is logged, never
// shown, and must not contain the credential.
type AuthorizeFunc func(ctx context.Context, credential string) (Admin, error)

// SignInGuard throttles credential guessing per client address.
type SignInGuard interface {
	// Wait is how long r's address must wait before it may try again; 0: now.
	Wait(r *http.Request) time.Duration
	// Fail counts (and logs) one wrong credential from r's address.
	Fail(r *http.Request, what string)
}

// Config configures the Console. Jobs and Authorize are required.
type Config struct {
	Jobs JobStore
	// Pool is the plugin pool. Optional: without it the pool page says so.
	Pool PoolAdmin
	// Metrics is the service's registry (metrics.Metrics.Registry()); the
	// charts and the per-tenant numbers come from it. Optional.
	Metrics   prometheus.Gatherer
	Authorize AuthorizeFunc
	// SessionKey signs session cookies and CSRF tokens; at least
	// SessionKeyMinBytes. Instances that share it accept each other's sessions.
	// Empty: a random key per process (sessions end when it restarts).
	SessionKey []byte
	// CredentialEpoch changes whenever the admin credential does (main passes
	// ENRICH_ADMIN_TOKEN): sessions signed in under another one end. Only a MAC
	// of it goes into cookies. Empty: sessions outlive credential changes.
	CredentialEpoch string
	// Guard throttles failed sign-ins per client address (router.CredentialGuard,
	// shared with the admin API). Optional.
	Guard SignInGuard
	// SessionTTL is how long a sign-in lasts. Default 8 h.
	SessionTTL time.Duration
	// SampleInterval is how often the charts get a point. Default 10 s.
	SampleInterval time.Duration
	// History is how far back the charts go. Default 1 h.
	History time.Duration
	// RequestIDHeader is read back from the response (router sets it) to tag
	// log lines. Default X-Request-ID.
	RequestIDHeader string
	// Now is the clock of sessions and charts. Default time.Now.
	Now    func() time.Time
	Logger hclog.Logger
}

func (cfg Config) withDefaults() Config {
	cfg.SessionTTL = cmp.Or(cfg.SessionTTL, SessionTTLDefault)
	cfg.SampleInterval = cmp.Or(cfg.SampleInterval, SampleIntervalDefault)
	cfg.History = cmp.Or(cfg.History, HistoryDefault)
	cfg.RequestIDHeader = cmp.Or(cfg.RequestIDHeader, "X-Request-ID")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.Default()
	}
	return cfg
}

func (cfg Config) validate() error {
	var errs []error
	if cfg.Jobs == nil {
		errs = append(errs, errors.New("adminui: Config.Jobs is required"))
	}
	if cfg.Authorize == nil {
		errs = append(errs, errors.New("adminui: Config.Authorize is required"))
	}
	if len(cfg.SessionKey) > 0 && len(cfg.SessionKey) < SessionKeyMinBytes {
		errs = append(errs, fmt.Errorf("adminui: the session key (ENRICH_ADMIN_SESSION_KEY) must be at least %d bytes", SessionKeyMinBytes))
	}
	if cfg.SessionTTL < 0 || cfg.SampleInterval < 0 || cfg.History < cfg.SampleInterval {
		errs = append(errs, errors.New("adminui: durations must be ≥ 0, History ≥ SampleInterval"))
	}
	return errors.Join(errs...)
}

// Console is the operator console: an http.Handler for Prefix and below, and
// the sampler behind its charts (Start, Stop).
type Console struct {
	cfg       Config
	log       hclog.Logger
	codec     sessionCodec
	randomKey bool // no SessionKey given
	pages     *renderer
	sampler   *sampler
	restarts  *restarter
	revoked   *revocations
	mux       *http.ServeMux
}

// New checks cfg and returns a Console that serves at once; its charts fill
// once Start runs the sampler. The error lists every problem of cfg.
func New(cfg Config) (*Console, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pages, err := newRenderer()
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, log: cfg.Logger.Named("adminui"), pages: pages, revoked: newRevocations(),
		codec: sessionCodec{key: cfg.SessionKey, now: cfg.Now}}
	if len(c.codec.key) == 0 {
		c.codec.key, c.randomKey = make([]byte, SessionKeyMinBytes), true
		_, _ = rand.Read(c.codec.key) // crypto/rand.Read never fails on Linux
	}
	c.codec = c.codec.withEpoch(cfg.CredentialEpoch)
	size := int(cfg.History / cfg.SampleInterval)
	c.sampler = newSampler(cfg.Metrics, cfg.Pool, cfg.SampleInterval, size, cfg.Now, c.log)
	c.restarts = newRestarter(cfg.Now)
	c.mux = c.routes()
	return c, nil
}

// RandomSessionKey reports whether sessions are signed with a key made at
// start (no SessionKey): they end when the process restarts and other
// instances do not accept them.
func (c *Console) RandomSessionKey() bool { return c.randomKey }

// Start runs the sampler behind the charts until Stop or until ctx ends. It
// fails when called twice or after Stop.
func (c *Console) Start(ctx context.Context) error { return c.sampler.Start(ctx) }

// Stop stops the sampler, cancels a restart started from the console that is
// still running (the pool finishes the process it is replacing) and waits for
// it, within ctx. It is safe before Start and twice.
func (c *Console) Stop(ctx context.Context) error {
	c.sampler.Stop()
	return c.restarts.stop(ctx)
}

func (c *Console) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"/static/{file}", serveStatic)
	mux.HandleFunc("GET "+Prefix+"/signin", c.handleSignInForm)
	mux.HandleFunc("POST "+Prefix+"/signin", c.handleSignIn)
	mux.HandleFunc("POST "+Prefix+"/signout", c.action(c.handleSignOut))
	mux.HandleFunc("GET "+Prefix, c.page(c.handleHome))
	mux.HandleFunc("GET "+Prefix+"/{$}", c.page(c.handleHome))
	// Overview and Pool show the whole instance and the pool every tenant
	// shares: operators only.
	mux.HandleFunc("GET "+Prefix+"/overview", c.page(c.operatorOnly(c.handleOverview)))
	mux.HandleFunc("GET "+Prefix+"/pool", c.page(c.operatorOnly(c.handlePool)))
	mux.HandleFunc("POST "+Prefix+"/pool/restart", c.action(c.operatorOnly(c.handleRestart)))
	mux.HandleFunc("GET "+Prefix+"/jobs", c.page(c.handleJobs))
	mux.HandleFunc("POST "+Prefix+"/jobs/requeue", c.action(c.handleRequeue))
	mux.HandleFunc("GET "+Prefix+"/tenants", c.page(c.handleTenants))
	// Anything else needs a session too, so that a stranger learns nothing, not
	// even which paths exist.
	mux.HandleFunc(Prefix+"/", c.page(c.handleNotFound))
	return mux
}

// ServeHTTP serves the console's pages, with headers that keep them out of
// frames, caches and other origins' scripts.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The API's CORS layer may have allowed another origin: never for the console.
	h.Del("Access-Control-Allow-Origin")
	h.Del("Access-Control-Allow-Credentials")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) handleHome(w http.ResponseWriter, r *http.Request, s *session) {
	http.Redirect(w, r, homePage(s), http.StatusSeeOther)
}

// homePage is where a session starts: the overview for an operator, the jobs
// page (its own tenant's) for a tenant's admin.
func homePage(s *session) string {
	if s != nil && !s.Operator {
		return Prefix + "/jobs"
	}
	return Prefix + "/overview"
}

// operatorOnly refuses a tenant admin's session with 403.
func (c *Console) operatorOnly(next pageHandler) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if !s.Operator {
			c.log.Warn("console page refused to a tenant admin: operators only", "path", r.URL.Path,
				"subject", s.Subject, "tenant", s.Tenant, "session", shortID(s.ID), "request_id", c.requestID(w))
			c.renderError(w, r, s, http.StatusForbidden, "Operators only",
				"This page shows the whole service and the plugin pool every tenant shares; it is for operators.")
			return
		}
		next(w, r, s)
	}
}

func (c *Console) handleNotFound(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderError(w, r, s, http.StatusNotFound, "No such page", "The console has no page at this address.")
}
