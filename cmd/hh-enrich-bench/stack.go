package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// serviceStartTimeout bounds the service's start: Redis, then PoolSize Python
// plugins (~0.2 s each, more on a loaded machine).
const serviceStartTimeout = 60 * time.Second

// StackConfig is what the harness's own stack runs.
type StackConfig struct {
	RepoRoot     string
	PythonBin    string
	ServiceBin   string
	RedisServer  string
	PoolSize     int
	EmbedLatency time.Duration
	// FirestoreEmulator, when set, turns Firestore on against that emulator.
	FirestoreEmulator string
	// ExtraEnv is appended to the service's environment and wins over ours.
	ExtraEnv []string
	LogLevel string
	// LogPath receives the service's log.
	LogPath string
}

// Stack is a real redis-server, a local embed server and the service binary with
// its plugin pool, all on loopback.
type Stack struct {
	URL     string
	redis   *RedisServer
	embed   *EmbedServer
	service *Service
}

// StartStack starts Redis, the embed server and the service, in that order, and
// returns once the service listens. On error whatever started is stopped.
func StartStack(ctx context.Context, cfg StackConfig) (s *Stack, err error) {
	if _, err := os.Stat(cfg.ServiceBin); err != nil {
		return nil, fmt.Errorf("service binary (build it with `make build`, or pass -service-bin): %w", err)
	}
	s = &Stack{}
	defer func() {
		if err != nil {
			err = joinClose(err, s.Close(context.WithoutCancel(ctx)))
		}
	}()
	if s.redis, err = StartRedis(ctx, cfg.RedisServer); err != nil {
		return s, err
	}
	if s.embed, err = StartEmbedServer(cfg.EmbedLatency); err != nil {
		return s, err
	}
	s.service, err = StartService(ctx, ServiceConfig{
		Binary:       cfg.ServiceBin,
		Env:          serviceEnv(cfg, s.redis.Addr, s.embed.URL),
		LogPath:      cfg.LogPath,
		StartTimeout: serviceStartTimeout,
	})
	if err != nil {
		return s, err
	}
	s.URL = s.service.URL
	return s, nil
}

// serviceEnv is the service's whole environment: nothing of the harness's leaks in
// (no TOGETHER_API_KEY, no Google credentials), so Firestore stays off unless asked.
func serviceEnv(cfg StackConfig, redisAddr, embedURL string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TMPDIR=" + os.TempDir(),
		"PORT=0",
		"AUTH_MODE=none",
		// The per-tenant rate limit (50/s by default) is policy, not capacity: a
		// benchmark that hit it would measure the limit.
		"GATEWAY_GLOBAL_RPS=0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=" + cfg.LogLevel,
		"REDIS_URL=redis://" + redisAddr,
		"ENRICH_POOL_SIZE=" + strconv.Itoa(cfg.PoolSize),
		"ENRICH_PYTHON_BIN=" + cfg.PythonBin,
		"ENRICH_PLUGIN_SCRIPT=" + filepath.Join(cfg.RepoRoot, "cloud_run_worker", "plugin_server.py"),
		"ENRICH_EMBED_ENABLED=true",
		"ENRICH_EMBED_BASE_URL=" + embedURL,
	}
	if cfg.FirestoreEmulator != "" {
		// The emulator's variables (REFERENCE §8); anything else the service's
		// Firestore switch needs comes through -service-env.
		env = append(env, "FIRESTORE_EMULATOR_HOST="+cfg.FirestoreEmulator, "GOOGLE_CLOUD_PROJECT=headhunter-local")
	}
	return append(env, cfg.ExtraEnv...)
}

// Pids returns the service's and Redis's process ids (0 for what is not running).
func (s *Stack) Pids() (service, redis int) {
	if s.service != nil {
		service = s.service.Pid()
	}
	if s.redis != nil {
		redis = s.redis.Pid()
	}
	return service, redis
}

// EmbedUpserts is how many upserts the local embed server answered, over how
// many connections.
func (s *Stack) EmbedUpserts() (upserts, conns int64) {
	if s.embed == nil {
		return 0, 0
	}
	return s.embed.Upserts(), s.embed.Connections()
}

// Close stops the service first (it drains and stops its plugins), then the embed
// server and Redis it was still using. Safe on a partly started stack.
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	if s.service != nil {
		errs = append(errs, s.service.Close())
		s.service = nil
	}
	if s.embed != nil {
		closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		errs = append(errs, s.embed.Close(closeCtx))
		cancel()
		s.embed = nil
	}
	if s.redis != nil {
		errs = append(errs, s.redis.Close())
		s.redis = nil
	}
	return errors.Join(errs...)
}
