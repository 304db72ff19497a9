package pool

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/metrics"
)

// Defaults for Config fields left zero.
const (
	ProcessConcurrencyDefault     = 1
	AcquireTimeoutDefault         = 30 * time.Second
	MaxWaitersDefault             = 4096
	CallTimeoutDefault            = 180 * time.Second
	StartTimeoutDefault           = 30 * time.Second
	CrashRetriesDefault           = 2
	RestartBackoffMinDefault      = 100 * time.Millisecond
	RestartBackoffMaxDefault      = 5 * time.Second
	HealthIntervalDefault         = 5 * time.Second
	HealthTimeoutDefault          = 2 * time.Second
	CrashLoopThresholdDefault     = 5
	CrashLoopWindowDefault        = time.Minute
	DegradedBackoffDefault        = 30 * time.Second
	CrashLoopMinUptimeDefault     = 5 * time.Second
	UnhealthyPingsDefault         = 3
	ProcessBreakerFailuresDefault = 3
	ProcessBreakerWindowDefault   = 30 * time.Second
	CircuitFailuresDefault        = 5
	CircuitCooldownDefault        = 120 * time.Second
	CoalesceMaxDefault            = 32
)

// Config configures a Pool. PythonPath and PluginScript are required; every other
// zero value takes the default above.
type Config struct {
	// Size is the number of plugin processes (ENRICH_POOL_SIZE). Default: the CPU count.
	Size int
	// PythonPath is the interpreter of the project's venv, never a bare python3 from PATH.
	PythonPath string
	// PluginScript is cloud_run_worker/plugin_server.py.
	PluginScript string
	// Env is the plugins' whole environment (the host's is not inherited).
	Env []string

	// ProcessConcurrency is how many calls one process serves at once
	// (ENRICH_PLUGIN_CONCURRENCY). Default 1: the rules enricher is CPU-bound; an
	// LLM-bound enricher wants many.
	ProcessConcurrency int
	// AcquireTimeout bounds the wait for a free process (ENRICH_POOL_ACQUIRE_TIMEOUT_MS);
	// then the call fails with ErrExhausted. Default 30 s.
	AcquireTimeout time.Duration
	// MaxWaiters bounds the calls waiting for a free process; more fail at once with
	// ErrExhausted. Default 4096.
	MaxWaiters int
	// CallTimeout is the hard deadline of one call on a process (ENRICH_JOB_TIMEOUT_MS).
	// A process that misses it is presumed hung and replaced. Default 180 s.
	CallTimeout time.Duration
	// StartTimeout bounds one process's start, handshake included. Default 30 s.
	StartTimeout time.Duration
	// CrashRetries is how many more processes one call may try when its process dies
	// under it. Default 2. A job that kills two processes it ran alone on is not
	// retried whatever this says (ErrPoison).
	CrashRetries int

	// RestartBackoffMin and RestartBackoffMax bound the delay before restarting a slot
	// whose process keeps dying, doubling per recent crash. Defaults 100 ms and 5 s.
	RestartBackoffMin, RestartBackoffMax time.Duration
	// HealthInterval is how often each process is pinged and its memory and age
	// checked. Default 5 s. HealthTimeout bounds one ping. Default 2 s.
	HealthInterval, HealthTimeout time.Duration
	// CrashLoopThreshold crashes within CrashLoopWindow mark the pool degraded; its
	// restarts then wait at least DegradedBackoff. Defaults 5, 1 min, 30 s.
	CrashLoopThreshold int
	CrashLoopWindow    time.Duration
	DegradedBackoff    time.Duration
	// CrashLoopMinUptime: a process that served calls for at least this long is not
	// crash-looping when it dies, and its death does not count toward the guard.
	// Default 5 s.
	CrashLoopMinUptime time.Duration
	// UnhealthyPings consecutive failed health pings get a process replaced; one
	// slow ping on a loaded machine must not kill a process and its calls. Default 3.
	UnhealthyPings int

	// ProcessBreakerFailures consecutive internal errors of one process open its
	// breaker, and it is replaced. Failures further apart than
	// ProcessBreakerWindow do not add up. Defaults 3 and 30 s.
	ProcessBreakerFailures int
	ProcessBreakerWindow   time.Duration
	// CircuitFailures consecutive failed calls open the pool-wide breaker
	// (ENRICH_JOB_CIRCUIT_FAILURES) for CircuitCooldown (ENRICH_JOB_CIRCUIT_COOLDOWN_MS).
	// While it is open, calls wait. Defaults 5 and 120 s.
	CircuitFailures int
	CircuitCooldown time.Duration

	// CoalesceMax bounds how many waiting Enrich calls of a CPU-bound enricher go
	// out together in one EnrichBatch when a process frees up (see coalesce.go).
	// 1 turns coalescing off. Default 32.
	CoalesceMax int

	// MaxJobs recycles a process after that many calls (ENRICH_PLUGIN_MAX_JOBS).
	// MaxRSSBytes recycles one whose resident memory passes it (ENRICH_PLUGIN_MAX_RSS_MB).
	// MaxAge recycles one older than that (ENRICH_PLUGIN_MAX_AGE_SECONDS), less a
	// random share of up to a fifth per process, and one process at a time, so the
	// pool never recycles all at once. Zero: no limit.
	MaxJobs     int64
	MaxRSSBytes int64
	MaxAge      time.Duration

	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the pool's and the plugins' logs. Default: hclog's default.
	Logger hclog.Logger
	// Metrics receives health.python lines when the pool-wide circuit opens or
	// closes. Optional; process state is read by a collector (see NewCollector).
	Metrics *metrics.Metrics
}

func (c Config) withDefaults() Config {
	c.Size = cmp.Or(c.Size, runtime.NumCPU())
	c.ProcessConcurrency = cmp.Or(c.ProcessConcurrency, ProcessConcurrencyDefault)
	c.AcquireTimeout = cmp.Or(c.AcquireTimeout, AcquireTimeoutDefault)
	c.MaxWaiters = cmp.Or(c.MaxWaiters, MaxWaitersDefault)
	c.CallTimeout = cmp.Or(c.CallTimeout, CallTimeoutDefault)
	c.StartTimeout = cmp.Or(c.StartTimeout, StartTimeoutDefault)
	c.CrashRetries = cmp.Or(c.CrashRetries, CrashRetriesDefault)
	c.RestartBackoffMin = cmp.Or(c.RestartBackoffMin, RestartBackoffMinDefault)
	c.RestartBackoffMax = cmp.Or(c.RestartBackoffMax, RestartBackoffMaxDefault)
	c.HealthInterval = cmp.Or(c.HealthInterval, HealthIntervalDefault)
	c.HealthTimeout = cmp.Or(c.HealthTimeout, HealthTimeoutDefault)
	c.CrashLoopThreshold = cmp.Or(c.CrashLoopThreshold, CrashLoopThresholdDefault)
	c.CrashLoopWindow = cmp.Or(c.CrashLoopWindow, CrashLoopWindowDefault)
	c.DegradedBackoff = cmp.Or(c.DegradedBackoff, DegradedBackoffDefault)
	c.CrashLoopMinUptime = cmp.Or(c.CrashLoopMinUptime, CrashLoopMinUptimeDefault)
	c.UnhealthyPings = cmp.Or(c.UnhealthyPings, UnhealthyPingsDefault)
	c.ProcessBreakerFailures = cmp.Or(c.ProcessBreakerFailures, ProcessBreakerFailuresDefault)
	c.ProcessBreakerWindow = cmp.Or(c.ProcessBreakerWindow, ProcessBreakerWindowDefault)
	c.CircuitFailures = cmp.Or(c.CircuitFailures, CircuitFailuresDefault)
	c.CircuitCooldown = cmp.Or(c.CircuitCooldown, CircuitCooldownDefault)
	c.CoalesceMax = cmp.Or(c.CoalesceMax, CoalesceMaxDefault)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = hclog.Default()
	}
	return c
}

func (c Config) validate() error {
	if c.PythonPath == "" || c.PluginScript == "" {
		return errors.New("pool: PythonPath and PluginScript are required")
	}
	for _, f := range []struct {
		name  string
		value int64
	}{
		{"Size", int64(c.Size)}, {"ProcessConcurrency", int64(c.ProcessConcurrency)},
		{"MaxWaiters", int64(c.MaxWaiters)}, {"CrashLoopThreshold", int64(c.CrashLoopThreshold)},
		{"ProcessBreakerFailures", int64(c.ProcessBreakerFailures)}, {"CircuitFailures", int64(c.CircuitFailures)},
		{"UnhealthyPings", int64(c.UnhealthyPings)}, {"CoalesceMax", int64(c.CoalesceMax)},
	} {
		if f.value < 1 {
			return fmt.Errorf("pool: %s must be at least 1, got %d", f.name, f.value)
		}
	}
	if c.CrashRetries < 0 || c.MaxJobs < 0 || c.MaxRSSBytes < 0 || c.MaxAge < 0 {
		return fmt.Errorf("pool: CrashRetries, MaxJobs, MaxRSSBytes and MaxAge must not be negative")
	}
	for _, d := range []time.Duration{c.AcquireTimeout, c.CallTimeout, c.StartTimeout, c.RestartBackoffMin,
		c.RestartBackoffMax, c.HealthInterval, c.HealthTimeout, c.CrashLoopWindow, c.DegradedBackoff, c.CrashLoopMinUptime,
		c.ProcessBreakerWindow, c.CircuitCooldown} {
		if d < 0 {
			return fmt.Errorf("pool: durations must not be negative: %+v", c)
		}
	}
	return nil
}
