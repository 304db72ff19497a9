package localstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FirestoreProjectDefault is the project id a stack with a Firestore emulator uses.
const FirestoreProjectDefault = "headhunter-local"

// StackConfig is what a harness's own stack runs.
type StackConfig struct {
	RepoRoot   string
	PythonBin  string
	ServiceBin string
	Redis      RedisConfig
	PoolSize   int
	// EmbedLatency is how long the local embed server takes per upsert.
	EmbedLatency time.Duration
	// FirestoreEmulator, when set, turns Firestore on against that emulator, with
	// project FirestoreProject (default FirestoreProjectDefault).
	FirestoreEmulator string
	FirestoreProject  string
	// Profiling runs each instance with a profiling listener on loopback
	// (ENRICH_PPROF_ADDR), its CPU labelled by layer: see Service.PprofURL.
	Profiling bool
	// ExtraEnv is appended to every instance's environment and wins over ours.
	ExtraEnv []string
	LogLevel string
	// LogPath receives the first instance's log; instance n (from 2) writes beside
	// it with "-n" before the extension. Empty discards the logs.
	LogPath string
	// Instances is how many service instances share the Redis. Default 1.
	Instances int
	// TempDir is the services' (and so their plugins') TMPDIR, where each plugin
	// makes its private socket folder. Default os.TempDir().
	TempDir string
}

// Stack is a real redis-server, a local embed server and one or more instances
// of the service binary with their plugin pools, all on loopback.
type Stack struct {
	// URL is the first instance's.
	URL      string
	Redis    *Redis
	Embed    *EmbedServer
	Services []*Service
	cfg      StackConfig
}

// StartStack starts Redis, the embed server and the service instances, in that
// order, and returns once every instance listens. On error whatever started is
// stopped.
func StartStack(ctx context.Context, cfg StackConfig) (s *Stack, err error) {
	if _, err := os.Stat(cfg.ServiceBin); err != nil {
		return nil, fmt.Errorf("service binary (build it with `make build`, or pass -service-bin): %w", err)
	}
	s = &Stack{cfg: cfg}
	defer func() {
		if err != nil {
			err = joinClose(err, s.Close(context.WithoutCancel(ctx)))
		}
	}()
	if s.Redis, err = StartRedis(ctx, cfg.Redis); err != nil {
		return s, err
	}
	if s.Embed, err = StartEmbedServer(cfg.EmbedLatency); err != nil {
		return s, err
	}
	for range max(1, cfg.Instances) {
		if _, err = s.AddService(ctx); err != nil {
			return s, err
		}
	}
	s.URL = s.Services[0].URL
	return s, nil
}

// AddService starts one more instance on the stack's Redis, with extraEnv after
// the stack's own settings (so it wins), and returns once it listens.
func (s *Stack) AddService(ctx context.Context, extraEnv ...string) (*Service, error) {
	svc, err := StartService(ctx, ServiceConfig{
		Binary:  s.cfg.ServiceBin,
		Env:     append(s.ServiceEnv(), extraEnv...),
		LogPath: instanceLogPath(s.cfg.LogPath, len(s.Services)+1),
	})
	if err != nil {
		return nil, err
	}
	s.Services = append(s.Services, svc)
	return svc, nil
}

// instanceLogPath is path for instance 1, and path with "-n" before its extension
// for instance n.
func instanceLogPath(path string, n int) string {
	if path == "" || n == 1 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + strconv.Itoa(n) + ext
}

// ServiceEnv is an instance's whole environment: nothing of the harness's leaks in
// (no TOGETHER_API_KEY, no Google credentials), so Firestore stays off unless asked.
// StackConfig.ExtraEnv comes last and wins.
func (s *Stack) ServiceEnv() []string {
	cfg := s.cfg
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TMPDIR=" + cmp.Or(cfg.TempDir, os.TempDir()),
		"PORT=0",
		// A local stack: Firestore only when asked for (ExtraEnv sets its project).
		"ENRICH_PROFILE=local",
		"AUTH_MODE=none",
		// A harness is the local profile: no key means the rules enricher.
		"ENRICH_PROFILE=local",
		// The per-tenant rate limit (50/s by default) is policy, not capacity: a
		// harness that hit it would measure the limit.
		"GATEWAY_GLOBAL_RPS=0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=" + cmp.Or(cfg.LogLevel, "info"),
		"REDIS_URL=redis://" + s.Redis.Addr,
		"ENRICH_POOL_SIZE=" + strconv.Itoa(cfg.PoolSize),
		"ENRICH_PYTHON_BIN=" + cfg.PythonBin,
		"ENRICH_PLUGIN_SCRIPT=" + filepath.Join(cfg.RepoRoot, "cloud_run_worker", PluginMarker),
		"ENRICH_EMBED_ENABLED=true",
		"ENRICH_EMBED_BASE_URL=" + s.Embed.URL,
	}
	if cfg.Profiling {
		env = append(env, "ENRICH_PPROF_ADDR=127.0.0.1:0")
	}
	if cfg.FirestoreEmulator != "" {
		// The emulator's variables (REFERENCE §8).
		env = append(env, "FIRESTORE_EMULATOR_HOST="+cfg.FirestoreEmulator,
			"GOOGLE_CLOUD_PROJECT="+cmp.Or(cfg.FirestoreProject, FirestoreProjectDefault))
	}
	return append(env, cfg.ExtraEnv...)
}

// Pids returns the first instance's and Redis's process ids (0 for what is not
// running).
func (s *Stack) Pids() (service, redis int) {
	if len(s.Services) > 0 {
		service = s.Services[0].Pid()
	}
	if s.Redis != nil {
		redis = s.Redis.Pid()
	}
	return service, redis
}

// EmbedUpserts is how many upserts the local embed server answered, over how
// many connections.
func (s *Stack) EmbedUpserts() (upserts, conns int64) {
	if s.Embed == nil {
		return 0, 0
	}
	return s.Embed.Upserts(), s.Embed.Connections()
}

// Close stops the service instances first (they drain and stop their plugins),
// then the embed server and Redis they were still using. Safe on a partly
// started stack and more than once.
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	for _, svc := range s.Services {
		errs = append(errs, svc.Close())
	}
	s.Services = nil
	if s.Embed != nil {
		closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		errs = append(errs, s.Embed.Close(closeCtx))
		cancel()
		s.Embed = nil
	}
	if s.Redis != nil {
		errs = append(errs, s.Redis.Close())
		s.Redis = nil
	}
	return errors.Join(errs...)
}
