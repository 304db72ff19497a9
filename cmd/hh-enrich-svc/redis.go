package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// openRedis connects to the configured Redis, or starts an embedded one when none is
// configured, so that `make run` needs nothing installed.
func (m *Main) openRedis(ctx context.Context) error {
	opts, err := m.redisOptions()
	if err != nil {
		return err
	}
	// Each worker slot may hold a connection for a while, and the wake-up wait holds
	// one blocked: size the pool above the concurrency.
	opts.PoolSize = max(opts.PoolSize, 2*m.Config.Concurrency+10)
	// Never give up reconnecting (the reference stopped after 10 tries, W21): go-redis
	// dials per command, so a Redis that comes back is used again at once.
	opts.MaxRetries = 3
	m.redis = redis.NewClient(opts)
	if err := m.redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", opts.Addr, err)
	}
	return nil
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
		return opts, nil
	case cfg.RedisHost != "":
		opts := &redis.Options{Addr: net.JoinHostPort(cfg.RedisHost, cfg.RedisPort), Password: cfg.RedisPassword}
		if cfg.RedisTLS {
			opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.RedisHost}
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
