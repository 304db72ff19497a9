package main

import (
	"errors"
	"fmt"
	"github.com/headhunter/hh-enrich-svc/pool"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is everything the service reads from its environment. Names are
// REFERENCE §8's; the few new ones are marked "new" in the README's table.
type Config struct {
	// Profile is ProfileProduction (the default) or ProfileLocal (ENRICH_PROFILE):
	// see checkProfile.
	Profile     string
	Host        string // empty: every interface (Cloud Run needs that); make run uses 127.0.0.1
	Port        string
	ServiceName string
	LogLevel    string
	LogFormat   string // "json" (default, for Cloud Logging) or "text"
	AuthMode    string

	RedisURL      string // REDIS_URL wins over the host/port fields
	RedisHost     string
	RedisPort     string
	RedisPassword string
	RedisTLS      bool
	// RedisMode is "single" or "cluster" (REDIS_MODE); cluster seeds come from
	// RedisClusterNodes (REDIS_CLUSTER_NODES), else REDIS_URL, else host and port.
	RedisMode         string
	RedisClusterNodes []string
	// RedisTLSCA is a PEM file of the CA certificates Redis's certificate must
	// chain to (REDIS_TLS_CA); RedisTLSRejectUnauthorized false skips that check.
	RedisTLSCA                 string
	RedisTLSRejectUnauthorized bool

	PoolSize     int
	PythonBin    string
	PluginScript string
	Plugin       PluginConfig
	AdminToken   string
	// AdminSessionKey signs the operator console's sessions (ENRICH_ADMIN_SESSION_KEY);
	// empty: a random key per process.
	AdminSessionKey string

	Concurrency     int
	BatchSize       int
	JobTimeout      time.Duration
	RetryLimit      int
	RetryBaseDelay  time.Duration
	RetryMaxDelay   time.Duration
	DeadLetterMax   int
	JobTTL          time.Duration
	DedupeTTL       time.Duration
	LeaseDuration   time.Duration
	ShutdownTimeout time.Duration
	SyncWait        time.Duration

	TenantHeader    string
	RequestIDHeader string
	HTTP            HTTPConfig // authentication, tenancy, rate limits, access log, CORS

	// MetricsPort serves /metrics on a listener of its own (METRICS_PORT), and
	// then not on PORT. Empty: /metrics beside the API.
	MetricsPort           string
	MetricsMaxTenants     int
	MetricsExportEnabled  bool
	MetricsExportInterval time.Duration
	// PprofAddr serves Go's profiles and the per-layer CPU profile on a loopback
	// listener of its own, and labels the service's goroutines by layer
	// (ENRICH_PPROF_ADDR, profiling.go). Empty, the default: neither.
	PprofAddr string

	Downstream DownstreamConfig
	LLM        LLMConfig
}

// PluginConfig is the plugin pool's tuning (issue: a pool that heals itself).
type PluginConfig struct {
	Concurrency     int
	AcquireTimeout  time.Duration
	CircuitFailures int
	CircuitCooldown time.Duration
	MaxJobs         int64
	MaxRSSBytes     int64
	MaxAge          time.Duration
	HealthInterval  time.Duration
	// The crash-loop guard: CrashLoopThreshold crashes within CrashLoopWindow mark
	// the pool degraded, and restarts then wait CrashLoopBackoff.
	CrashLoopThreshold int
	CrashLoopWindow    time.Duration
	CrashLoopBackoff   time.Duration
}

// embeddedRedis reports whether no Redis is configured, so the service runs on an
// in-process one.
func (c Config) embeddedRedis() bool {
	return c.RedisURL == "" && c.RedisHost == "" && len(c.RedisClusterNodes) == 0
}

// The values of REDIS_MODE.
const (
	redisModeSingle  = "single"
	redisModeCluster = "cluster"
)

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var items []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// envReader parses variables and remembers every bad value, so one start reports
// all mistakes at once instead of one per restart.
type envReader struct {
	getenv func(string) string
	errs   []error
}

func (e *envReader) str(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

// first returns the first of names that is set (REFERENCE's aliases such as
// FIREBASE_PROJECT_ID | GOOGLE_CLOUD_PROJECT).
func (e *envReader) first(def string, names ...string) string {
	for _, name := range names {
		if v := strings.TrimSpace(e.getenv(name)); v != "" {
			return v
		}
	}
	return def
}

func (e *envReader) integer(name string, def, minimum int) int {
	raw := e.str(name, "")
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < minimum {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want an integer ≥ %d", name, raw, minimum))
		return def
	}
	return n
}

func (e *envReader) millis(name string, def time.Duration, minimum time.Duration) time.Duration {
	return time.Duration(e.integer(name, int(def/time.Millisecond), int(minimum/time.Millisecond))) * time.Millisecond
}

func (e *envReader) seconds(name string, def time.Duration, minimum time.Duration) time.Duration {
	return time.Duration(e.integer(name, int(def/time.Second), int(minimum/time.Second))) * time.Second
}

// port reads a TCP port number, at least minimum (PORT=0 picks a free port).
func (e *envReader) port(name, def string, minimum int) string {
	raw := e.str(name, def)
	if n, err := strconv.Atoi(raw); err != nil || n < minimum || n > 65535 {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a port number, %d-65535", name, raw, minimum))
		return def
	}
	return raw
}

// redisURL reads a Redis URL and checks its scheme now, with the other settings,
// rather than when the first connection is made. The value is never echoed: it
// may hold the password.
func (e *envReader) redisURL(name string) string {
	raw := e.str(name, "")
	if raw == "" {
		return ""
	}
	scheme, _, found := strings.Cut(raw, "://")
	if !found || !slices.Contains([]string{"redis", "rediss", "unix"}, strings.ToLower(scheme)) {
		e.errs = append(e.errs, fmt.Errorf("%s: want redis://[user:password@]host:port[/db], rediss://… for TLS, or unix:///path", name))
		return ""
	}
	return raw
}

// boolean accepts REFERENCE's spellings: true/1/yes/y/on and false/0/no/n/off.
func (e *envReader) boolean(name string, def bool) bool {
	switch raw := strings.ToLower(e.str(name, "")); raw {
	case "":
		return def
	case "true", "1", "yes", "y", "on":
		return true
	case "false", "0", "no", "n", "off":
		return false
	default:
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want true or false", name, raw))
		return def
	}
}

func (e *envReader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(e.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	e.errs = append(e.errs, fmt.Errorf("%s=%q: want one of %s", name, v, strings.Join(allowed, ", ")))
	return def
}

// ParseConfig reads the configuration through getenv (os.Getenv in main).
func ParseConfig(getenv func(string) string) (Config, error) {
	e := &envReader{getenv: getenv}
	poolSize := e.integer("ENRICH_POOL_SIZE", runtime.NumCPU(), 1)
	plugin := PluginConfig{
		Concurrency:     e.integer("ENRICH_PLUGIN_CONCURRENCY", 1, 1),
		AcquireTimeout:  e.millis("ENRICH_POOL_ACQUIRE_TIMEOUT_MS", 30*time.Second, time.Millisecond),
		CircuitFailures: e.integer("ENRICH_JOB_CIRCUIT_FAILURES", 5, 1),
		CircuitCooldown: e.millis("ENRICH_JOB_CIRCUIT_COOLDOWN_MS", 120*time.Second, 100*time.Millisecond),
		MaxJobs:         int64(e.integer("ENRICH_PLUGIN_MAX_JOBS", 0, 0)),
		MaxRSSBytes:     int64(e.integer("ENRICH_PLUGIN_MAX_RSS_MB", 0, 0)) << 20,
		MaxAge:          e.seconds("ENRICH_PLUGIN_MAX_AGE_SECONDS", 0, 0),
		HealthInterval:  e.millis("ENRICH_PLUGIN_HEALTH_INTERVAL_MS", 5*time.Second, 10*time.Millisecond),

		CrashLoopThreshold: e.integer("ENRICH_PLUGIN_CRASH_LOOP_THRESHOLD", pool.CrashLoopThresholdDefault, 1),
		CrashLoopWindow:    e.millis("ENRICH_PLUGIN_CRASH_LOOP_WINDOW_MS", pool.CrashLoopWindowDefault, time.Second),
		CrashLoopBackoff:   e.millis("ENRICH_PLUGIN_CRASH_LOOP_BACKOFF_MS", pool.DegradedBackoffDefault, 100*time.Millisecond),
	}
	e.refuseRetired()
	cfg := Config{
		Profile:     e.oneOf("ENRICH_PROFILE", ProfileProduction, ProfileProduction, ProfileLocal),
		Host:        e.str("HOST", ""),
		Port:        e.port("PORT", "8080", 0),
		ServiceName: e.str("SERVICE_NAME", "hh-enrich-svc"),
		// go-hclog's names; it would take any other word as info without a word.
		LogLevel:  e.oneOf("LOG_LEVEL", "info", "trace", "debug", "info", "warn", "error", "off"),
		LogFormat: e.oneOf("LOG_FORMAT", "json", "json", "text"),
		AuthMode:  e.oneOf("AUTH_MODE", "hybrid", "none", "gateway", "firebase", "hybrid"),

		RedisURL:      e.redisURL("REDIS_URL"),
		RedisHost:     e.str("REDIS_HOST", ""),
		RedisPort:     e.port("REDIS_PORT", "6379", 1),
		RedisPassword: e.str("REDIS_PASSWORD", ""),
		RedisTLS:      e.boolean("REDIS_TLS", false),

		RedisMode:                  e.oneOf("REDIS_MODE", redisModeSingle, redisModeSingle, redisModeCluster),
		RedisClusterNodes:          splitList(e.str("REDIS_CLUSTER_NODES", "")),
		RedisTLSCA:                 e.str("REDIS_TLS_CA", ""),
		RedisTLSRejectUnauthorized: e.boolean("REDIS_TLS_REJECT_UNAUTHORIZED", true),

		PoolSize:     poolSize,
		PythonBin:    e.str("ENRICH_PYTHON_BIN", ".venv/bin/python"),
		PluginScript: e.str("ENRICH_PLUGIN_SCRIPT", "cloud_run_worker/plugin_server.py"),
		Plugin:       plugin,
		AdminToken:   e.str("ENRICH_ADMIN_TOKEN", ""),

		AdminSessionKey: e.str("ENRICH_ADMIN_SESSION_KEY", ""),

		// Two jobs per plugin slot by default: while one job's Redis writes are in
		// flight, the process already computes the next.
		Concurrency:     e.integer("ENRICH_CONCURRENCY", 2*poolSize*plugin.Concurrency, 1),
		BatchSize:       e.integer("ENRICH_BATCH_SIZE", 16, 1),
		JobTimeout:      e.millis("ENRICH_JOB_TIMEOUT_MS", 180*time.Second, 100*time.Millisecond),
		RetryLimit:      e.integer("ENRICH_JOB_RETRY_LIMIT", 2, 0),
		RetryBaseDelay:  e.millis("ENRICH_JOB_RETRY_BASE_DELAY_MS", 500*time.Millisecond, 100*time.Millisecond),
		RetryMaxDelay:   e.millis("ENRICH_JOB_RETRY_MAX_DELAY_MS", 5*time.Second, time.Second),
		DeadLetterMax:   e.integer("ENRICH_DEAD_LETTER_MAX", 1000, 1),
		JobTTL:          e.seconds("ENRICH_JOB_TTL_SECONDS", 24*time.Hour, time.Minute),
		DedupeTTL:       e.seconds("ENRICH_DEDUPE_TTL_SECONDS", 6*time.Hour, time.Minute),
		LeaseDuration:   e.millis("ENRICH_LEASE_MS", 10*time.Second, 500*time.Millisecond),
		ShutdownTimeout: e.millis("ENRICH_SHUTDOWN_TIMEOUT_MS", 30*time.Second, 0),

		TenantHeader:    e.first("X-Tenant-ID", "ENRICH_TENANT_HEADER"),
		RequestIDHeader: e.str("REQUEST_ID_HEADER", "X-Request-ID"),

		MetricsMaxTenants:     e.integer("ENRICH_METRICS_MAX_TENANTS", 100, 1),
		MetricsExportEnabled:  e.boolean("ENRICH_METRICS_EXPORT_ENABLED", false),
		MetricsExportInterval: e.millis("ENRICH_METRICS_EXPORT_INTERVAL_MS", 10*time.Second, 10*time.Second),
	}
	if len(cfg.RedisClusterNodes) > 0 && cfg.RedisMode != redisModeCluster {
		e.errs = append(e.errs, errors.New("REDIS_CLUSTER_NODES is set: it needs REDIS_MODE=cluster"))
	}
	cfg.Downstream = parseDownstream(e, cfg.TenantHeader, cfg.RequestIDHeader)
	cfg.LLM = parseLLM(e)
	// Sync waits default to the job timeout, as in the reference.
	cfg.SyncWait = e.millis("ENRICH_SYNC_WAIT_MS", cfg.JobTimeout, 0)
	cfg.HTTP = parseHTTPConfig(e, cfg.AuthMode)
	checkAdminTokenLength(e, cfg.AdminToken, cfg.Profile == ProfileLocal)
	cfg.MetricsPort = e.str("METRICS_PORT", "")
	cfg.PprofAddr = e.str("ENRICH_PPROF_ADDR", "")
	if err := checkLoopback(cfg.PprofAddr); err != nil {
		e.errs = append(e.errs, fmt.Errorf("ENRICH_PPROF_ADDR: %w", err))
	}
	return cfg, errors.Join(e.errs...)
}
