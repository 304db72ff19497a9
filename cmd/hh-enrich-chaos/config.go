package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
	"slices"
	"strings"
	"time"
)

// Scenario names (-scenarios), in the order they run. Security runs last: its log
// check reads the logs of every scenario before it.
const (
	ScenarioKillStorm    = "kill-storm"
	ScenarioHungPlugin   = "hung-plugin"
	ScenarioPoison       = "poison"
	ScenarioSpinning     = "spinning-plugin"
	ScenarioServiceKill  = "service-kill"
	ScenarioInstanceKill = "instance-kill"
	ScenarioRedis        = "redis-restart"
	ScenarioEmbed        = "embed"
	ScenarioTogether     = "together-429"
	ScenarioBadAnswers   = "together-bad-answers"
	ScenarioFirestore    = "firestore"
	ScenarioBadInput     = "bad-input"
	ScenarioSecurity     = "security"
	ScenarioRedisFaults  = "redis-faults"
	ScenarioRedisCluster = "redis-cluster"
)

var allScenarios = []string{ScenarioKillStorm, ScenarioHungPlugin, ScenarioPoison, ScenarioSpinning, ScenarioServiceKill,
	ScenarioInstanceKill, ScenarioRedis, ScenarioRedisFaults, ScenarioRedisCluster,
	ScenarioEmbed, ScenarioTogether, ScenarioBadAnswers, ScenarioFirestore, ScenarioBadInput, ScenarioSecurity}

// Sizes are the counts and durations of the scenarios. Rates are jobs per second
// of an open-loop submitter; Before, Fault and After are how long it submits
// before the fault, during it and after it ends.
type Sizes struct {
	// Deadline bounds the wait for every job to end after a fault ended.
	Deadline time.Duration

	StormJobs   int           // jobs submitted at once; plugins are SIGKILLed while they run
	StormMax    time.Duration // the storm stops when every job ended or after this long
	HungJobs    int           // jobs flowing while one plugin is SIGSTOPped
	HungTimeout time.Duration // ENRICH_JOB_TIMEOUT_MS of that run

	// PoisonGood good jobs run beside one poison candidate (crashes its plugin),
	// beside one spinning call, and through the SIGKILL of a service.
	PoisonGood int

	Instances        int           // service instances on one Redis
	InstanceJobs     int           // jobs submitted at once before one instance is SIGKILLed
	InstanceLease    time.Duration // ENRICH_LEASE_MS of that run
	DefaultLeaseJobs int           // jobs of the same run with the default lease; 0 skips it

	RedisJobs   int
	RedisOutage time.Duration
	// RedisFaultJobs run through a proxy that breaks one script run in
	// RedisFaultEvery; ClusterJobs run on a three-master Redis Cluster.
	RedisFaultJobs, RedisFaultEvery, ClusterJobs int

	Embed     Phases
	Together  Phases
	Firestore Phases
	// CircuitCooldown is ENRICH_JOB_CIRCUIT_COOLDOWN_MS of the Together storm:
	// rate-limited calls open the pool-wide breaker, and its 120 s default would
	// hold every job for two minutes.
	CircuitCooldown time.Duration

	// FuzzExecs runs the router's FuzzSubmitNeverAnswers5xx for that many inputs
	// (go test -fuzz), TokenFuzzExecs FuzzTokenNeverAnswers5xx; 0 runs the seed
	// corpus only. BadInputs are malformed requests sent to the real binary.
	FuzzExecs, TokenFuzzExecs, BadInputs int
}

// Phases shape an open-loop load around a fault.
type Phases struct {
	Rate                 float64
	Before, Fault, After time.Duration
}

// fullSizes fit the whole run in about ten minutes on two cores.
var fullSizes = Sizes{
	Deadline:  3 * time.Minute,
	StormJobs: 10_000, StormMax: 20 * time.Second,
	HungJobs: 3000, HungTimeout: 2 * time.Second,
	PoisonGood: 1000,
	Instances:  3, InstanceJobs: 3000, InstanceLease: 3 * time.Second, DefaultLeaseJobs: 2000,
	RedisJobs: 3000, RedisOutage: 3 * time.Second,
	RedisFaultJobs: 2000, RedisFaultEvery: 30, ClusterJobs: 2000,
	Embed:           Phases{Rate: 100, Before: time.Second, Fault: 4 * time.Second, After: 7 * time.Second},
	Together:        Phases{Rate: 40, Before: time.Second, Fault: 4 * time.Second, After: 5 * time.Second},
	Firestore:       Phases{Rate: 40, Before: 2 * time.Second, Fault: 5 * time.Second, After: 6 * time.Second},
	CircuitCooldown: 5 * time.Second,
	FuzzExecs:       100_000, TokenFuzzExecs: 20_000, BadInputs: 3000,
}

// quickSizes are CI's: the same scenarios on small counts, in about two minutes.
var quickSizes = Sizes{
	Deadline:  90 * time.Second,
	StormJobs: 3000, StormMax: 3 * time.Second,
	HungJobs: 1200, HungTimeout: 2 * time.Second,
	PoisonGood: 300,
	Instances:  2, InstanceJobs: 600, InstanceLease: 3 * time.Second,
	RedisJobs: 800, RedisOutage: 2 * time.Second,
	RedisFaultJobs: 400, RedisFaultEvery: 30, ClusterJobs: 400,
	Embed:           Phases{Rate: 50, Before: 500 * time.Millisecond, Fault: 2 * time.Second, After: 6 * time.Second},
	Together:        Phases{Rate: 20, Before: 500 * time.Millisecond, Fault: 2 * time.Second, After: 3 * time.Second},
	Firestore:       Phases{Rate: 25, Before: time.Second, Fault: 2 * time.Second, After: 3 * time.Second},
	CircuitCooldown: 5 * time.Second,
	BadInputs:       300,
}

// Config is everything the command reads from its flags.
type Config struct {
	// Scenarios to run, a subset of allScenarios (-scenarios). Default all.
	Scenarios []string
	// RepoRoot is the checkout (-repo): the venv, cloud_run_worker/, router/ for
	// fuzzing, the Makefile. Default: the folder holding go.mod, from the
	// working directory up.
	RepoRoot string
	// DataPath is the candidates file (-data). Default <repo>/cmd/hh-enrich-data/testdata/candidates.jsonl.
	DataPath string
	// PythonBin is the venv interpreter (-python). Default <repo>/.venv/bin/python.
	PythonBin string
	// ServiceBin is the service binary (-service-bin). Default: hh-enrich-svc
	// beside this binary.
	ServiceBin string
	// RedisServer is the redis-server executable (-redis-server).
	RedisServer string
	// PoolSize is ENRICH_POOL_SIZE of each instance (-pool-size).
	PoolSize int
	// OutPath is the JSON results file (-out); the Markdown table and the
	// service logs go beside it.
	OutPath string
	// Timeout bounds the whole run (-timeout).
	Timeout time.Duration
	// Quick runs CI's small version (-quick).
	Quick bool
	// Sizes come from Quick, with -storm-jobs and -fuzz-execs applied.
	Sizes Sizes
}

// Defaults of the flags.
const (
	PoolSizeDefault = 2
	// OutPathDefault is the full run's results; the quick run writes beside, so a
	// CI run never replaces the table the README shows.
	OutPathDefault      = "chaos-results/results.json"
	QuickOutPathDefault = "chaos-results/quick/results.json"
	TimeoutDefault      = 20 * time.Minute
	QuickTimeoutDefault = 6 * time.Minute
)

// ParseConfig reads args (without the program name). Errors name every bad flag.
func ParseConfig(args []string) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("hh-enrich-chaos", flag.ContinueOnError)
	scenarios := fs.String("scenarios", strings.Join(allScenarios, ","), "scenarios to run: "+strings.Join(allScenarios, ","))
	fs.StringVar(&cfg.RepoRoot, "repo", "", "repository root (default: the folder holding go.mod, from the working directory up)")
	fs.StringVar(&cfg.DataPath, "data", "", "candidates JSON lines (default <repo>/"+localstack.DataSet+")")
	fs.StringVar(&cfg.PythonBin, "python", "", "venv interpreter (default <repo>/.venv/bin/python)")
	fs.StringVar(&cfg.ServiceBin, "service-bin", "", "service binary (default hh-enrich-svc beside this binary)")
	fs.StringVar(&cfg.RedisServer, "redis-server", "redis-server", "redis-server executable")
	fs.IntVar(&cfg.PoolSize, "pool-size", PoolSizeDefault, "ENRICH_POOL_SIZE of each service instance")
	fs.StringVar(&cfg.OutPath, "out", "", "JSON results file; the Markdown table and the logs go beside it (default "+
		OutPathDefault+", "+QuickOutPathDefault+" with -quick)")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "bound of the whole run (default 20m, 6m with -quick)")
	fs.BoolVar(&cfg.Quick, "quick", false, "CI's small version of every scenario")
	stormJobs := fs.Int("storm-jobs", 0, "jobs of the kill storm (default 10000, 3000 with -quick)")
	fuzzExecs := fs.Int("fuzz-execs", -1, "inputs of the submit fuzz target (default 100000; 0 with -quick: seed corpus only)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	cfg.Scenarios = localstack.SplitList(*scenarios)
	cfg.Sizes = fullSizes
	if cfg.Quick {
		cfg.Sizes = quickSizes
	}
	if *stormJobs > 0 {
		cfg.Sizes.StormJobs = *stormJobs
	}
	if *fuzzExecs >= 0 {
		cfg.Sizes.FuzzExecs = *fuzzExecs
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = TimeoutDefault
		if cfg.Quick {
			cfg.Timeout = QuickTimeoutDefault
		}
	}
	if cfg.OutPath == "" {
		cfg.OutPath = OutPathDefault
		if cfg.Quick {
			cfg.OutPath = QuickOutPathDefault
		}
	}
	if err := cfg.resolvePaths(); err != nil {
		return Config{}, err
	}
	return cfg, cfg.validate()
}

// resolvePaths fills the paths left empty from the repository root.
func (c *Config) resolvePaths() error {
	p := localstack.Paths{RepoRoot: c.RepoRoot, DataPath: c.DataPath, PythonBin: c.PythonBin, ServiceBin: c.ServiceBin}
	if err := p.Resolve(true); err != nil {
		return err
	}
	c.RepoRoot, c.DataPath, c.PythonBin, c.ServiceBin = p.RepoRoot, p.DataPath, p.PythonBin, p.ServiceBin
	return nil
}

// validate reports every bad value at once.
func (c Config) validate() error {
	var errs []error
	for _, s := range c.Scenarios {
		if !slices.Contains(allScenarios, s) {
			errs = append(errs, fmt.Errorf("-scenarios: unknown scenario %q (want some of %s)", s, strings.Join(allScenarios, ",")))
		}
	}
	if len(c.Scenarios) == 0 {
		errs = append(errs, errors.New("-scenarios: none given"))
	}
	if c.PoolSize < 1 {
		errs = append(errs, fmt.Errorf("-pool-size=%d: want ≥ 1", c.PoolSize))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("-timeout must be positive"))
	}
	return errors.Join(errs...)
}

// runs reports whether scenario was asked for.
func (c Config) runs(scenario string) bool { return slices.Contains(c.Scenarios, scenario) }
