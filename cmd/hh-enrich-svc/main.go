// Command hh-enrich-svc serves the enrichment API and runs its jobs on a pool of
// long-lived Python plugin processes. Configuration comes from the environment
// (see the README's table); with no Redis configured it runs on an embedded one.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alicebob/miniredis/v2"
	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/router"
	"github.com/headhunter/hh-enrich-svc/router/adminui"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/firestore"
	"github.com/headhunter/hh-enrich-svc/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "hh-enrich-svc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := ParseConfig(os.Getenv)
	if err == nil {
		// Every refusal at once: a deploy missing two things learns both.
		err = errors.Join(cfg.checkProfile(), chooseEnricher(&cfg))
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	m := NewMain(cfg)
	if err := m.Run(ctx); err != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		return errors.Join(err, m.Close(closeCtx))
	}
	<-ctx.Done()
	m.log.Info("signal received: draining", "timeout", cfg.ShutdownTimeout)
	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return m.Close(closeCtx)
}

// Main is the running service: every component, started by Run and stopped by Close.
type Main struct {
	Config  Config
	log     hclog.Logger
	metrics *metrics.Metrics

	embedded          *miniredis.Miniredis
	stopEmbeddedClock func()
	redis             redis.UniversalClient
	store             *store.RedisStore
	reaper            *store.Reaper
	health            *store.HealthWatcher
	notifier          *store.Notifier
	// candidates and embedder stay nil when Firestore or embedding is off: the
	// worker takes nil as "not configured".
	candidates *firestore.CandidateStore
	embedder   *embed.Client
	exporter   *metrics.Exporter
	pool       *pool.Pool
	runner     *worker.Runner
	http       *http.Server
	served     chan error
	// draining ends when Close begins: sync waits answer at once (router.Config.Draining).
	draining context.Context
	drain    context.CancelFunc
	// metricsHTTP serves /metrics on METRICS_PORT; nil when it shares PORT.
	metricsHTTP   *http.Server
	metricsServed chan error
	// pprofHTTP serves the profiles on ENRICH_PPROF_ADDR (profiling.go); nil when off.
	pprofHTTP   *http.Server
	pprofServed chan error
	auth        *router.Authenticator
	// tenants is the organizations directory (Firestore); nil: tenants are not
	// checked for existence or activity.
	tenants router.TenantDirectory
	// console is the operator console at /admin/ui (nil while the admin API is off:
	// then consoleHandler only says so).
	console        *adminui.Console
	consoleHandler http.Handler
	// guard throttles wrong admin credentials per client address, on the admin
	// API and the console's sign-in alike.
	guard *router.CredentialGuard
}

// NewMain returns a Main for cfg; nothing starts until Run.
func NewMain(cfg Config) *Main {
	log := newLogger(cfg)
	draining, drain := context.WithCancel(context.Background())
	return &Main{Config: cfg, log: log, metrics: metrics.New(metrics.Config{MaxTenants: cfg.MetricsMaxTenants, Logger: log}),
		draining: draining, drain: drain}
}

func newLogger(cfg Config) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       cfg.ServiceName,
		Level:      hclog.LevelFromString(cfg.LogLevel),
		JSONFormat: cfg.LogFormat == "json",
		Output:     os.Stderr,
	})
}

// Run starts Redis (or connects to it), the store and its reaper, the plugin pool,
// the job runner and the HTTP server, in that order, and returns once all serve.
// The HTTP listener comes last so that nothing is accepted before it can be run.
func (m *Main) Run(ctx context.Context) error {
	if err := m.openRedis(ctx); err != nil {
		return err
	}
	if err := m.openStore(ctx); err != nil {
		return err
	}
	if err := m.openDownstream(ctx); err != nil {
		return err
	}
	if err := m.startExporter(ctx); err != nil {
		return err
	}
	if err := m.inLayer(ctx, "pool", m.startPool); err != nil {
		return err
	}
	llm, err := m.llmWorkerConfig()
	if err != nil {
		return err
	}
	wcfg := worker.Config{
		Concurrency: m.Config.Concurrency,
		BatchSize:   m.Config.BatchSize,
		// The rules enricher is cheaper to run again than to checkpoint on every job.
		SkipCheckpoint: m.pool.Concurrency().Workload == pool.WorkloadCPU,
		// An attempt may wait for a free process and through one open-circuit
		// cooldown before its call's own deadline; then it goes back to the queue.
		JobTimeout:        m.Config.Plugin.AcquireTimeout + m.Config.Plugin.CircuitCooldown + m.Config.JobTimeout,
		HeartbeatInterval: m.Config.LeaseDuration / 3,
		Logger:            m.log,
		Metrics:           m.metrics,
		Candidates:        optional[worker.CandidateStore](m.candidates),
		Embedder:          optional[worker.Embedder](m.embedder),
		LLM:               llm,
	}
	jobs, enricher := m.layered(m.store, m.pool, &wcfg)
	runner, err := worker.New(jobs, enricher, wcfg)
	if err != nil {
		return err
	}
	m.runner = runner
	if err := m.inLayer(ctx, "worker", m.runner.Start); err != nil {
		return err
	}
	if err := m.startAuth(ctx); err != nil {
		return err
	}
	if err := m.startConsole(ctx); err != nil {
		return err
	}
	return m.serveHTTP()
}

// withMetrics serves GET /metrics from metrics and everything else from api.
func withMetrics(metrics, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			metrics.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

func (m *Main) openStore(ctx context.Context) error {
	s, err := store.NewRedisStore(m.redis, store.Config{
		JobTTL:         m.Config.JobTTL,
		DedupeTTL:      m.Config.DedupeTTL,
		LeaseDuration:  m.Config.LeaseDuration,
		MaxAttempts:    m.Config.RetryLimit + 1,
		RetryBaseDelay: m.Config.RetryBaseDelay,
		RetryMaxDelay:  m.Config.RetryMaxDelay,
		DeadLetterMax:  m.Config.DeadLetterMax,
	})
	if err != nil {
		return err
	}
	m.store = s
	if err := m.metrics.Register(s.NewCollector(m.metrics)); err != nil {
		return err
	}
	m.health = store.NewHealthWatcher(s, store.HealthConfig{Logger: m.log})
	if err := m.health.Start(ctx); err != nil {
		return err
	}
	m.reaper = store.NewReaper(s, store.ReaperConfig{Logger: m.log})
	if err := m.reaper.Start(ctx); err != nil {
		return err
	}
	m.notifier = s.NewNotifier()
	return m.notifier.Start(ctx)
}

func (m *Main) startPool(ctx context.Context) error {
	pc := m.Config.Plugin
	p, err := pool.New(pool.Config{
		Size:               m.Config.PoolSize,
		PythonPath:         m.Config.PythonBin,
		PluginScript:       m.Config.PluginScript,
		Env:                append(pluginEnv(os.Environ(), pc.Concurrency), "ENRICH_ENRICHER="+m.Config.LLM.Enricher),
		ProcessConcurrency: pc.Concurrency,
		AcquireTimeout:     pc.AcquireTimeout,
		CallTimeout:        m.Config.JobTimeout,
		HealthInterval:     pc.HealthInterval,
		CrashLoopThreshold: pc.CrashLoopThreshold,
		CrashLoopWindow:    pc.CrashLoopWindow,
		DegradedBackoff:    pc.CrashLoopBackoff,
		CircuitFailures:    pc.CircuitFailures,
		CircuitCooldown:    pc.CircuitCooldown,
		MaxJobs:            pc.MaxJobs,
		MaxRSSBytes:        pc.MaxRSSBytes,
		MaxAge:             pc.MaxAge,
		Logger:             m.log,
		Metrics:            m.metrics,
	})
	if err != nil {
		return err
	}
	if err := p.Start(ctx); err != nil {
		return fmt.Errorf("start plugin pool (ENRICH_PYTHON_BIN=%s, ENRICH_PLUGIN_SCRIPT=%s): %w",
			m.Config.PythonBin, m.Config.PluginScript, err)
	}
	m.pool = p
	return m.metrics.Register(p.NewCollector())
}

// optional turns a nil pointer into a nil interface, so the worker sees "not
// configured" rather than a typed nil it would call.
func optional[I any, P interface{ *T }, T any](p P) I {
	var zero I
	if p == nil {
		return zero
	}
	return any(p).(I)
}

// pluginEnv is the plugins' whole environment: what Python needs to run and what the
// enrichers read, and nothing else of the host's (secrets of other parts stay out:
// the plugins never talk to Google, so GOOGLE_* and FIRESTORE_* stay with the host).
// The proxy and CA variables (both cases, as curl and the plugin's together_http.py
// read them) let the LLM calls go out through a corporate proxy that re-signs TLS.
// The plugin's gRPC thread pool gets room for every concurrent call the pool may
// send it, plus health pings.
func pluginEnv(host []string, concurrency int) []string {
	keep := []string{"PATH=", "HOME=", "TMPDIR=", "LANG=", "LC_ALL=", "LOG_LEVEL=", "TOGETHER_",
		"HTTPS_PROXY=", "https_proxy=", "HTTP_PROXY=", "http_proxy=", "NO_PROXY=", "no_proxy=",
		"SSL_CERT_FILE=", "SSL_CERT_DIR=", "REQUESTS_CA_BUNDLE="}
	if passTestFaults {
		keep = append(keep, "ENRICH_TEST_FAULTS=")
	}
	env := []string{"PYTHONUNBUFFERED=1", fmt.Sprintf("ENRICH_PLUGIN_THREADS=%d", max(4, concurrency+2))}
	for _, kv := range host {
		for _, prefix := range keep {
			if strings.HasPrefix(kv, prefix) {
				env = append(env, kv)
				break
			}
		}
	}
	return env
}

func (m *Main) serveHTTP() error {
	handler, err := router.New(router.Config{
		Store:           m.store,
		Batches:         m.store,
		Queue:           m.store,
		Metrics:         m.metrics,
		Components:      m.healthComponents(),
		Auth:            m.auth,
		Tenants:         m.tenants,
		TenantCacheTTL:  m.Config.HTTP.TenantCacheTTL,
		TenantRateLimit: m.Config.HTTP.RateLimit,
		TenantBurst:     m.Config.HTTP.Burst,
		LogRequests:     m.Config.HTTP.RequestLogging,
		TraceHeader:     m.Config.HTTP.TraceHeader,
		CORS:            m.Config.HTTP.CORS,
		Watcher:         m.notifier,
		Pool:            m.pool,
		AdminToken:      m.Config.AdminToken,
		AdminUI:         m.consoleHandler,
		Guard:           m.guard,
		SyncWait:        m.Config.SyncWait,
		Draining:        m.draining.Done(),
		TenantHeader:    m.Config.TenantHeader,
		RequestIDHeader: m.Config.RequestIDHeader,
		ServiceName:     m.Config.ServiceName,
		Logger:          m.log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(m.Config.Host, m.Config.Port))
	if err != nil {
		return fmt.Errorf("listen on HOST=%s PORT=%s: %w", m.Config.Host, m.Config.Port, err)
	}
	// /metrics sits outside the API's tenant, auth and rate-limit layers: scrapers
	// are infrastructure, not tenants. With METRICS_PORT it gets a listener of its
	// own (and the API's port no longer serves it), so tenant ids stay off the
	// public port.
	// Not an http.ServeMux: it cleans paths first and answers "/a//b" or "/a/../b"
	// with a redirect of its own, in HTML and without the API's headers; every
	// path but /metrics is the router's to answer, in JSON.
	api := handler
	if m.Config.MetricsPort == "" {
		api = withMetrics(m.metrics.Handler(), handler)
	} else if err := m.serveMetrics(); err != nil {
		_ = ln.Close()
		return err
	}
	var pprofAddr string
	if m.Config.PprofAddr != "" {
		if pprofAddr, err = m.serveProfiles(); err != nil {
			_ = ln.Close()
			return err
		}
	}
	m.http = newHTTPServer(api, m.Config.SyncWait, m.log)
	m.served = make(chan error, 1)
	// The server's per-connection goroutines inherit the "http" layer from Serve's.
	_ = m.inLayer(context.Background(), "http", func(context.Context) error {
		go func() { m.served <- m.http.Serve(ln) }()
		return nil
	})
	fields := []any{"addr", ln.Addr().String(), "pool_size", m.Config.PoolSize,
		"concurrency", m.Config.Concurrency, "auth_mode", m.Config.AuthMode, "admin_api", m.Config.AdminToken != "",
		"tenant_rps", m.Config.HTTP.RateLimit} // 0: no per-tenant limit
	if pprofAddr != "" {
		fields = append(fields, "pprof_addr", pprofAddr)
	}
	m.log.Info("listening", fields...)
	return nil
}

// serveMetrics serves /metrics alone on HOST:METRICS_PORT.
func (m *Main) serveMetrics() error {
	ln, err := net.Listen("tcp", net.JoinHostPort(m.Config.Host, m.Config.MetricsPort))
	if err != nil {
		return fmt.Errorf("listen on HOST=%s METRICS_PORT=%s: %w", m.Config.Host, m.Config.MetricsPort, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.metrics.Handler())
	m.metricsHTTP = newHTTPServer(mux, 0, m.log)
	m.metricsServed = make(chan error, 1)
	go func() { m.metricsServed <- m.metricsHTTP.Serve(ln) }()
	m.log.Info("serving /metrics on its own listener", "metrics_addr", ln.Addr().String())
	return nil
}

// startConsole starts the operator console (/admin/ui) when the admin API is on:
// the admin token, or tokens with the admin scope, sign in to it as they call
// the admin routes.
func (m *Main) startConsole(ctx context.Context) error {
	m.guard = router.NewCredentialGuard(router.GuardConfig{TrustedProxyHops: m.Config.HTTP.TrustedProxyHops, Logger: m.log})
	scoped := m.Config.AuthMode != string(router.AuthModeNone) &&
		(m.Config.HTTP.Auth.AdminScope != router.AdminScopeNone || m.Config.HTTP.Auth.OperatorScope != router.AdminScopeNone)
	if m.Config.AdminToken == "" && !scoped {
		m.log.Info("operator console off: set ENRICH_ADMIN_TOKEN (or use an auth mode with an admin scope) to serve /admin/ui")
		off, err := adminui.Off()
		m.consoleHandler = off
		return err
	}
	console, err := adminui.New(adminui.Config{
		Jobs:            m.store,
		Pool:            m.pool,
		Metrics:         m.metrics.Registry(),
		Authorize:       adminAuthorizer(m.auth, m.Config.AdminToken),
		SessionKey:      []byte(m.Config.AdminSessionKey),
		CredentialEpoch: m.Config.AdminToken, // rotating the admin token ends every session
		Guard:           m.guard,
		RequestIDHeader: m.Config.RequestIDHeader,
		Logger:          m.log,
	})
	if err != nil {
		return err
	}
	if err := console.Start(ctx); err != nil {
		return err
	}
	m.console, m.consoleHandler = console, console
	if console.RandomSessionKey() {
		m.log.Warn("operator console sessions are signed with a random key made at start (ENRICH_ADMIN_SESSION_KEY " +
			"unset): they end when this process restarts and other instances do not accept them")
	}
	m.log.Info("operator console at /admin/ui", "sessions_shared", !console.RandomSessionKey())
	return nil
}

// adminAuthorizer signs console users in exactly as the admin API admits bearer
// tokens: the static token and operator-scoped JWTs are operators (every
// tenant, the pool), a JWT with the admin scope is its tenant's admin; a JWT's
// session ends with the token.
func adminAuthorizer(auth *router.Authenticator, token string) adminui.AuthorizeFunc {
	return func(ctx context.Context, credential string) (adminui.Admin, error) {
		a, err := router.AuthorizeAdmin(ctx, auth, token, credential)
		if err != nil {
			return adminui.Admin{}, err
		}
		admin := adminui.Admin{Subject: a.Subject(), Operator: a.Operator, Tenant: a.Tenant}
		if a.Principal != nil {
			admin.ExpiresAt = a.Principal.ExpiresAt
		}
		return admin, nil
	}
}

// Close drains and stops everything Run started, within ctx. The order matters:
// stop taking requests, then stop leasing and let running jobs finish, and only then
// stop the plugins they run on and the Redis they report to.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	// Leasing stopped with the signal: a request waiting for its job would hold the
	// HTTP drain until its wait ran out.
	if m.drain != nil {
		m.drain()
	}
	if m.http != nil {
		errs = append(errs, m.http.Shutdown(ctx))
		if err := <-m.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if m.metricsHTTP != nil {
		errs = append(errs, m.metricsHTTP.Shutdown(ctx))
		if err := <-m.metricsServed; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, m.stopProfiles(ctx))
	if m.auth != nil {
		errs = append(errs, m.auth.Stop(ctx))
	}
	// Before the pool: a restart started from the console is cancelled here.
	if m.console != nil {
		errs = append(errs, m.console.Stop(ctx))
	}
	if m.runner != nil {
		errs = append(errs, m.runner.Stop(ctx))
	}
	if m.reaper != nil {
		m.reaper.Stop()
	}
	if m.health != nil {
		m.health.Stop()
	}
	if m.notifier != nil {
		m.notifier.Stop()
	}
	if m.pool != nil {
		errs = append(errs, m.pool.Stop(ctx))
	}
	if m.exporter != nil {
		m.exporter.Stop()
	}
	if m.candidates != nil {
		errs = append(errs, m.candidates.Close())
	}
	if m.redis != nil {
		errs = append(errs, m.redis.Close())
	}
	if m.embedded != nil {
		m.stopEmbeddedClock()
		m.embedded.Close()
	}
	err := errors.Join(errs...)
	m.log.Info("stopped", "error", err)
	return err
}
