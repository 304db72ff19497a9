package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Modes the harness can run, in the order it runs them. The baselines come first,
// while nothing of ours runs yet, so they measure the machine, not the stack.
const (
	ModeLimit      = "limit"
	ModeSpawn      = "spawn"
	ModeSeed       = "seed"
	ModeThroughput = "throughput"
	ModeSync       = "sync"
	ModeBatch      = "batch"
)

// allModes is every mode in run order. llm (workload_llm.go) runs stacks of its own,
// last, on one instance and on two.
var allModes = []string{ModeLimit, ModeSpawn, ModeSeed, ModeThroughput, ModeSync, ModeBatch, ModeLLM}

// Config is everything the harness reads from its flags. Durations are wall time.
type Config struct {
	// Modes to run, a subset of allModes (-modes). Default all.
	Modes []string

	// URL of a running service (-url); empty starts a stack of our own.
	URL string
	// RepoRoot is the checkout (-repo): the venv, cloud_run_worker/. Default: found
	// by walking up from the working directory to the folder holding go.mod.
	RepoRoot string
	// DataPath is the candidates file (-data). Default <repo>/cmd/hh-enrich-data/testdata/candidates.jsonl.
	DataPath string
	// PythonBin is the venv interpreter (-python). Default <repo>/.venv/bin/python.
	PythonBin string
	// ServiceBin is the service binary (-service-bin). Default: hh-enrich-svc beside
	// this binary.
	ServiceBin string
	// RedisServer is the redis-server executable (-redis-server).
	RedisServer string
	// PoolSize is ENRICH_POOL_SIZE of the stack (-pool-size). Default NumCPU.
	PoolSize int
	// EmbedLatency is how long the local embed server takes per upsert (-embed-latency).
	EmbedLatency time.Duration
	// FirestoreEmulator is host:port of a Firestore emulator (-firestore-emulator);
	// empty leaves Firestore off.
	FirestoreEmulator string
	// ServiceEnv holds extra KEY=VALUE settings for the service (-service-env, repeatable).
	ServiceEnv []string
	// LogLevel is the service's LOG_LEVEL (-log-level).
	LogLevel string
	// CPULayers runs the stack with its profiling listener and profiles the
	// throughput and batch runs, to split the service's CPU by layer (-cpu-layers).
	CPULayers bool

	// Jobs and Concurrency shape the seed client workload (-jobs, -concurrency);
	// Poll is its status polling interval (-poll).
	Jobs, Concurrency int
	Poll              time.Duration
	// ThroughputJobs spread over Tenants, submitted by Submitters (-throughput-jobs,
	// -tenants, -submitters).
	ThroughputJobs, Tenants, Submitters int
	// SyncSeconds is how long the sync run lasts (-sync-seconds); SyncRate its
	// requests per second (-sync-rate), 0 = half of the throughput run's rate.
	SyncSeconds float64
	SyncRate    float64
	// BatchJobs in batches of BatchSize from BatchClients closed-loop clients
	// (-batch-jobs, -batch-size, -batch-clients).
	BatchJobs, BatchSize, BatchClients int
	// SpawnJobs run SpawnConcurrency at a time (-spawn-jobs, -spawn-concurrency).
	SpawnJobs, SpawnConcurrency int
	// LimitSeconds per process, LimitProcs processes (-limit-seconds, -limit-procs).
	LimitSeconds float64
	LimitProcs   int
	// LLMJobs run against a chat API stand-in that allows LLMRPM requests and
	// LLMTPM tokens a minute (0: 4,000 per request allowed) and answers in a
	// lognormal time (-llm-jobs, -llm-rpm, -llm-tpm, -llm-latency-median, -llm-latency-p99).
	LLMJobs, LLMRPM, LLMTPM         int
	LLMLatencyMedian, LLMLatencyP99 time.Duration

	// OutPath is the JSON results file (-out); the chart and the service log go
	// beside it.
	OutPath string
	// Timeout bounds the whole run (-timeout); WorkloadTimeout each workload.
	Timeout, WorkloadTimeout time.Duration
	// Quick shrinks every count that was not given for a CI smoke run (-quick).
	Quick bool
	// Progress reports progress on stderr (-progress): bars on a terminal, plain
	// lines every 5 s anywhere else.
	Progress bool
	// Verbose prints a line per seed job, as the seed's script did (-verbose).
	Verbose bool
}

// Defaults, sized so that a full run ends in a few minutes on two cores.
const (
	JobsDefault            = 50
	ConcurrencyDefault     = 10
	PollDefault            = 20 * time.Millisecond
	ThroughputJobsDefault  = 20000
	TenantsDefault         = 50
	SubmittersDefault      = 16
	SyncSecondsDefault     = 10
	BatchJobsDefault       = 20000
	BatchSizeDefault       = 100
	BatchClientsDefault    = 4
	SpawnJobsDefault       = 50
	LimitSecondsDefault    = 5
	EmbedLatencyDefault    = 2 * time.Millisecond
	OutPathDefault         = "bench-results/results.json"
	TimeoutDefault         = 9 * time.Minute
	WorkloadTimeoutDefault = 3 * time.Minute
	// The llm mode's provider: scaled down from a real account (600 a minute is 10
	// a second), so a full run of both configurations takes about three minutes.
	LLMJobsDefault          = 600
	LLMRPMDefault           = 600
	LLMLatencyMedianDefault = 1500 * time.Millisecond
	LLMLatencyP99Default    = 6 * time.Second
)

// quickValues replace defaults in -quick mode: a smoke run of well under a minute.
var quickValues = map[string]string{
	"jobs": "20", "concurrency": "5", "throughput-jobs": "600", "tenants": "8",
	"sync-seconds": "2", "batch-jobs": "600", "batch-size": "50", "batch-clients": "2",
	"spawn-jobs": "6", "limit-seconds": "1", "timeout": "3m", "workload-timeout": "60s",
	"llm-jobs": "60", "llm-rpm": "1200",
}

// ParseConfig reads args (without the program name). Errors name every bad flag.
func ParseConfig(args []string) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("hh-enrich-bench", flag.ContinueOnError)
	modes := defineFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.Quick {
		if err := applyQuick(fs); err != nil {
			return Config{}, err
		}
	}
	cfg.Modes = localstack.SplitList(*modes)
	if err := cfg.resolvePaths(); err != nil {
		return Config{}, err
	}
	return cfg, cfg.validate()
}

// defineFlags binds every flag to cfg and returns the raw -modes value.
func defineFlags(fs *flag.FlagSet, cfg *Config) *string {
	cpus := runtime.NumCPU()
	modes := fs.String("modes", strings.Join(allModes, ","), "modes to run: "+strings.Join(allModes, ","))
	fs.StringVar(&cfg.URL, "url", "", "base URL of a running service; empty starts a stack")
	fs.StringVar(&cfg.RepoRoot, "repo", "", "repository root (default: the folder holding go.mod, from the working directory up)")
	fs.StringVar(&cfg.DataPath, "data", "", "candidates JSON lines (default <repo>/"+localstack.DataSet+")")
	fs.StringVar(&cfg.PythonBin, "python", "", "venv interpreter (default <repo>/.venv/bin/python)")
	fs.StringVar(&cfg.ServiceBin, "service-bin", "", "service binary (default hh-enrich-svc beside this binary)")
	fs.StringVar(&cfg.RedisServer, "redis-server", "redis-server", "redis-server executable")
	fs.IntVar(&cfg.PoolSize, "pool-size", cpus, "ENRICH_POOL_SIZE of the stack")
	fs.DurationVar(&cfg.EmbedLatency, "embed-latency", EmbedLatencyDefault, "latency of the local embed server")
	fs.StringVar(&cfg.FirestoreEmulator, "firestore-emulator", "", "host:port of a Firestore emulator (default: Firestore off)")
	fs.Func("service-env", "extra KEY=VALUE for the service (repeatable)", func(kv string) error {
		if !strings.Contains(kv, "=") {
			return errors.New("want KEY=VALUE")
		}
		cfg.ServiceEnv = append(cfg.ServiceEnv, kv)
		return nil
	})
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "LOG_LEVEL of the service")
	fs.BoolVar(&cfg.CPULayers, "cpu-layers", true, "profile the throughput and batch runs for the service's CPU by layer (a stack of our own only)")
	fs.IntVar(&cfg.Jobs, "jobs", JobsDefault, "seed client workload: jobs")
	fs.IntVar(&cfg.Concurrency, "concurrency", ConcurrencyDefault, "seed client workload: clients")
	fs.DurationVar(&cfg.Poll, "poll", PollDefault, "seed client workload: status polling interval")
	fs.IntVar(&cfg.ThroughputJobs, "throughput-jobs", ThroughputJobsDefault, "throughput run: jobs")
	fs.IntVar(&cfg.Tenants, "tenants", TenantsDefault, "throughput and batch runs: tenants")
	fs.IntVar(&cfg.Submitters, "submitters", SubmittersDefault, "throughput run: concurrent submitters")
	fs.Float64Var(&cfg.SyncSeconds, "sync-seconds", SyncSecondsDefault, "sync run: seconds")
	fs.Float64Var(&cfg.SyncRate, "sync-rate", 0, "sync run: requests/s (0: half the throughput run's jobs/s)")
	fs.IntVar(&cfg.BatchJobs, "batch-jobs", BatchJobsDefault, "batch run: jobs")
	fs.IntVar(&cfg.BatchSize, "batch-size", BatchSizeDefault, "batch run: candidates per request")
	fs.IntVar(&cfg.BatchClients, "batch-clients", BatchClientsDefault, "batch run: closed-loop clients")
	fs.IntVar(&cfg.SpawnJobs, "spawn-jobs", SpawnJobsDefault, "spawn-per-job baseline: jobs")
	fs.IntVar(&cfg.SpawnConcurrency, "spawn-concurrency", cpus, "spawn-per-job baseline: processes at once")
	fs.Float64Var(&cfg.LimitSeconds, "limit-seconds", LimitSecondsDefault, "limit baseline: seconds per process")
	fs.IntVar(&cfg.LimitProcs, "limit-procs", cpus, "limit baseline: processes")
	fs.IntVar(&cfg.LLMJobs, "llm-jobs", LLMJobsDefault, "llm run: jobs per configuration")
	fs.IntVar(&cfg.LLMRPM, "llm-rpm", LLMRPMDefault, "llm run: the provider's requests a minute")
	fs.IntVar(&cfg.LLMTPM, "llm-tpm", 0, "llm run: the provider's tokens a minute (0: 4,000 per request allowed)")
	fs.DurationVar(&cfg.LLMLatencyMedian, "llm-latency-median", LLMLatencyMedianDefault, "llm run: the model's median answer time")
	fs.DurationVar(&cfg.LLMLatencyP99, "llm-latency-p99", LLMLatencyP99Default, "llm run: the model's p99 answer time")
	fs.StringVar(&cfg.OutPath, "out", OutPathDefault, "JSON results file; the chart and service log go beside it")
	fs.DurationVar(&cfg.Timeout, "timeout", TimeoutDefault, "bound of the whole run")
	fs.DurationVar(&cfg.WorkloadTimeout, "workload-timeout", WorkloadTimeoutDefault, "bound of each workload")
	fs.BoolVar(&cfg.Quick, "quick", false, "small counts for a CI smoke run (flags given explicitly still win)")
	fs.BoolVar(&cfg.Progress, "progress", true, "progress on stderr: bars on a terminal, else a line every 5 s")
	fs.BoolVar(&cfg.Verbose, "verbose", false, "print a line per seed job")
	return modes
}

// applyQuick sets the quick values of the flags the caller did not give.
func applyQuick(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, value := range quickValues {
		if given[name] {
			continue
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("quick -%s=%s: %w", name, value, err)
		}
	}
	return nil
}

// resolvePaths fills the paths left empty from the repository root.
func (c *Config) resolvePaths() error {
	p := localstack.Paths{RepoRoot: c.RepoRoot, DataPath: c.DataPath, PythonBin: c.PythonBin, ServiceBin: c.ServiceBin}
	if err := p.Resolve(c.URL == ""); err != nil {
		return err
	}
	c.RepoRoot, c.DataPath, c.PythonBin, c.ServiceBin = p.RepoRoot, p.DataPath, p.PythonBin, p.ServiceBin
	return nil
}

// validate reports every bad value at once.
func (c Config) validate() error {
	var errs []error
	for _, m := range c.Modes {
		if !slices.Contains(allModes, m) {
			errs = append(errs, fmt.Errorf("-modes: unknown mode %q (want some of %s)", m, strings.Join(allModes, ",")))
		}
	}
	positive := map[string]int{
		"jobs": c.Jobs, "concurrency": c.Concurrency, "throughput-jobs": c.ThroughputJobs, "tenants": c.Tenants,
		"submitters": c.Submitters, "batch-jobs": c.BatchJobs, "batch-size": c.BatchSize,
		"batch-clients": c.BatchClients, "spawn-jobs": c.SpawnJobs, "spawn-concurrency": c.SpawnConcurrency,
		"limit-procs": c.LimitProcs, "pool-size": c.PoolSize, "llm-jobs": c.LLMJobs, "llm-rpm": c.LLMRPM,
	}
	for name, v := range positive {
		if v < 1 {
			errs = append(errs, fmt.Errorf("-%s=%d: want ≥ 1", name, v))
		}
	}
	if c.SyncSeconds <= 0 || c.LimitSeconds <= 0 {
		errs = append(errs, errors.New("-sync-seconds and -limit-seconds must be positive"))
	}
	if c.SyncRate < 0 || c.EmbedLatency < 0 || c.Poll <= 0 || c.Timeout <= 0 || c.WorkloadTimeout <= 0 {
		errs = append(errs, errors.New("-sync-rate, -embed-latency must be ≥ 0; -poll, -timeout, -workload-timeout > 0"))
	}
	return errors.Join(errs...)
}

// llmTokensPerRequestAllowed sizes the stand-in's default tokens a minute: well above
// what one enrichment costs (about 2,500 tokens with today's prompt), so requests,
// not tokens, bind unless -llm-tpm says otherwise.
const llmTokensPerRequestAllowed = 4000

// llmTPM is the stand-in's tokens a minute: -llm-tpm, or 4,000 per request allowed.
func (c Config) llmTPM() int {
	if c.LLMTPM > 0 {
		return c.LLMTPM
	}
	return llmTokensPerRequestAllowed * c.LLMRPM
}

// runs reports whether mode was asked for.
func (c Config) runs(mode string) bool { return slices.Contains(c.Modes, mode) }

// needsStack reports whether any asked mode talks to the service.
func (c Config) needsStack() bool {
	return c.runs(ModeSeed) || c.runs(ModeThroughput) || c.runs(ModeSync) || c.runs(ModeBatch)
}
