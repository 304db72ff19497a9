package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Client settings the service sets on every Redis client. go-redis sends a
// command again after a reset, an EOF or a read timeout, even when Redis already
// ran it; every store script is safe to run twice within store.ReplayWindowDefault
// (30 s), which these keep well inside: 4 tries × (3 s + 512 ms) ≈ 14 s.
const (
	redisMaxRetries  = 3
	redisReadTimeout = 3 * time.Second
)

// openRedis connects to the configured Redis (one server, or a Cluster with
// REDIS_MODE=cluster), or starts an embedded one when none is configured, so that
// `make run` needs nothing installed.
func (m *Main) openRedis(ctx context.Context) error {
	client, where, err := m.newRedisClient()
	if err != nil {
		return err
	}
	m.redis = client
	if err := m.redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", where, err)
	}
	return nil
}

// newRedisClient builds the client the configuration asks for and says where it
// points, for error messages.
func (m *Main) newRedisClient() (redis.UniversalClient, string, error) {
	// Each worker slot may hold a connection for a while, and the wake-up wait holds
	// one blocked: size the pool above the concurrency.
	poolSize := 2*m.Config.Concurrency + 10
	if m.Config.RedisMode == redisModeCluster {
		opts, err := clusterOptions(m.Config)
		if err != nil {
			return nil, "", err
		}
		opts.PoolSize = max(opts.PoolSize, poolSize)
		opts.MaxRetries, opts.ReadTimeout = redisMaxRetries, redisReadTimeout
		return redis.NewClusterClient(opts), "cluster seeds " + strings.Join(opts.Addrs, ","), nil
	}
	opts, err := m.redisOptions()
	if err != nil {
		return nil, "", err
	}
	opts.PoolSize = max(opts.PoolSize, poolSize)
	// Never give up reconnecting (the reference stopped after 10 tries, W21): go-redis
	// dials per command, so a Redis that comes back is used again at once.
	opts.MaxRetries, opts.ReadTimeout = redisMaxRetries, redisReadTimeout
	return redis.NewClient(opts), opts.Addr, nil
}

// clusterOptions are REDIS_MODE=cluster's: the seed nodes from
// REDIS_CLUSTER_NODES, else REDIS_URL (with more seeds as ?addr=host:port), else
// REDIS_HOST:REDIS_PORT. One seed is enough: the client learns every node from it
// (CLUSTER SLOTS), which is how a discovery endpoint such as Memorystore
// Cluster's works.
func clusterOptions(cfg Config) (*redis.ClusterOptions, error) {
	var opts *redis.ClusterOptions
	switch {
	case len(cfg.RedisClusterNodes) > 0:
		opts = &redis.ClusterOptions{Addrs: cfg.RedisClusterNodes, Password: cfg.RedisPassword}
	case cfg.RedisURL != "":
		parsed, err := redis.ParseClusterURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		opts = parsed
	case cfg.RedisHost != "":
		opts = &redis.ClusterOptions{Addrs: []string{net.JoinHostPort(cfg.RedisHost, cfg.RedisPort)}, Password: cfg.RedisPassword}
	default:
		return nil, errors.New("REDIS_MODE=cluster needs seed nodes: REDIS_CLUSTER_NODES, REDIS_URL or REDIS_HOST")
	}
	if cfg.RedisTLS || opts.TLSConfig != nil {
		host, _, _ := net.SplitHostPort(opts.Addrs[0])
		tlsConfig, err := redisTLSConfig(cfg, opts.TLSConfig, host)
		if err != nil {
			return nil, err
		}
		opts.TLSConfig = tlsConfig
	}
	return opts, nil
}

// redisTLSConfig completes the TLS settings of a connection to serverName:
// REDIS_TLS_CA's certificates as the only roots (a private CA, as Memorystore
// uses), and no verification at all with REDIS_TLS_REJECT_UNAUTHORIZED=false
// (the original's name for it; for testing only). base is what a rediss:// URL
// set, if anything.
func redisTLSConfig(cfg Config, base *tls.Config, serverName string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if base != nil {
		c = base.Clone()
		c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	}
	if cfg.RedisTLSCA != "" {
		pem, err := os.ReadFile(cfg.RedisTLSCA)
		if err != nil {
			return nil, fmt.Errorf("REDIS_TLS_CA: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("REDIS_TLS_CA %s: no PEM certificate in it", cfg.RedisTLSCA)
		}
		c.RootCAs = roots
	}
	c.InsecureSkipVerify = !cfg.RedisTLSRejectUnauthorized
	return c, nil
}

// expireEmbeddedKeys moves the embedded Redis's TTL clock once a second. miniredis
// only expires keys when told to; its ClockTTL mode would instead walk every key
// with a TTL on every command, which makes a demo with thousands of jobs crawl.
func (m *Main) expireEmbeddedKeys(embedded *miniredis.Miniredis) {
	stop, done := make(chan struct{}), make(chan struct{})
	m.stopEmbeddedClock = func() {
		close(stop)
		<-done
	}
	go func() {
		defer close(done)
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		last := time.Now()
		for {
			select {
			case now := <-ticker.C:
				embedded.FastForward(now.Sub(last))
				last = now
			case <-stop:
				return
			}
		}
	}()
}

func (m *Main) redisOptions() (*redis.Options, error) {
	cfg := m.Config
	switch {
	case cfg.RedisURL != "":
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		if opts.TLSConfig != nil || cfg.RedisTLS {
			host, _, _ := net.SplitHostPort(opts.Addr)
			if opts.TLSConfig, err = redisTLSConfig(cfg, opts.TLSConfig, host); err != nil {
				return nil, err
			}
		}
		return opts, nil
	case cfg.RedisHost != "":
		opts := &redis.Options{Addr: net.JoinHostPort(cfg.RedisHost, cfg.RedisPort), Password: cfg.RedisPassword}
		if cfg.RedisTLS {
			tlsConfig, err := redisTLSConfig(cfg, nil, cfg.RedisHost)
			if err != nil {
				return nil, err
			}
			opts.TLSConfig = tlsConfig
		}
		return opts, nil
	default:
		embedded, err := miniredis.Run()
		if err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		m.embedded = embedded
		m.expireEmbeddedKeys(embedded)
		m.log.Warn("NO REDIS CONFIGURED: running on an embedded in-memory Redis. " +
			"Jobs live only as long as this process and are not shared with other instances. " +
			"Set REDIS_URL or REDIS_HOST/REDIS_PORT for anything but a local demo.")
		return &redis.Options{Addr: embedded.Addr()}, nil
	}
}
