package store

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// The suite runs every behaviour on each backend: a real redis-server, a real
// three-master Redis Cluster, and miniredis, the embedded Redis of `make
// run`, so that no script uses something one of them lacks. The servers are
// shared by the whole package (each test has its own key prefix) and started
// on first use, so `go test -run X` starts only what X needs.
//
// TEST_REDIS_URL and TEST_REDIS_CLUSTER (comma-separated masters) point the
// suite at servers started elsewhere.

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(closingBackends{m})
}

// closingBackends stops the shared servers after the tests and before goleak
// looks for goroutines left behind.
type closingBackends struct{ m *testing.M }

func (c closingBackends) Run() int {
	defer shared.close()
	return c.m.Run()
}

// backend is one kind of Redis deployment the suite runs on.
type backend struct {
	name string
	// connect returns a new client named name (so a test can find its
	// connections in CLIENT LIST), closed when t ends.
	connect func(t testing.TB, name string) redis.UniversalClient
	// miniredis lacks CLIENT LIST, so a test cannot see a blocked pop there.
	miniredis bool
}

var (
	redisBackend = &backend{name: "Redis", connect: func(t testing.TB, name string) redis.UniversalClient {
		opts := shared.redisOptions(t)
		opts.ClientName = name
		return closeAtEnd(t, redis.NewClient(opts))
	}}
	clusterBackend = &backend{name: "Cluster", connect: func(t testing.TB, name string) redis.UniversalClient {
		addrs := shared.clusterAddrs(t)
		return closeAtEnd(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ClientName: name}))
	}}
	miniredisBackend = &backend{name: "Miniredis", miniredis: true, connect: func(t testing.TB, name string) redis.UniversalClient {
		return closeAtEnd(t, redis.NewClient(&redis.Options{Addr: shared.miniredisAddr(t), ClientName: name}))
	}}
	allBackends = []*backend{redisBackend, clusterBackend, miniredisBackend}
)

func closeAtEnd(t testing.TB, c redis.UniversalClient) redis.UniversalClient {
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// forEachBackend runs body as a parallel subtest per backend.
func forEachBackend(t *testing.T, body func(t *testing.T, bk *backend)) {
	t.Helper()
	for _, bk := range allBackends {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			body(t, bk)
		})
	}
}

// shared holds the package's servers, each started on first use.
var shared sharedServers

// Each server has its own lock, so that tests on one backend do not wait
// for another's start (a cluster takes seconds to form).
type sharedServers struct {
	redisMu     sync.Mutex
	redis       *redistest.Server
	clusterMu   sync.Mutex
	cluster     *redistest.Cluster
	miniredisMu sync.Mutex
	miniredis   *miniredis.Miniredis
}

func (s *sharedServers) redisOptions(t testing.TB) *redis.Options {
	t.Helper()
	if url := os.Getenv("TEST_REDIS_URL"); url != "" {
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatalf("TEST_REDIS_URL: %v", err)
		}
		return opts
	}
	s.redisMu.Lock()
	defer s.redisMu.Unlock()
	if s.redis == nil {
		srv, err := redistest.NewServer(redistest.ServerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		s.redis = srv
	}
	return s.redis.Options()
}

func (s *sharedServers) clusterAddrs(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv("TEST_REDIS_CLUSTER"); env != "" {
		return strings.Split(env, ",")
	}
	s.clusterMu.Lock()
	defer s.clusterMu.Unlock()
	if s.cluster == nil {
		c, err := redistest.NewCluster()
		if err != nil {
			t.Fatal(err)
		}
		s.cluster = c
	}
	return s.cluster.Addrs()
}

func (s *sharedServers) miniredisAddr(t testing.TB) string {
	t.Helper()
	s.miniredisMu.Lock()
	defer s.miniredisMu.Unlock()
	if s.miniredis == nil {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		// No ClockTTL, unlike `make run`: with it every command walks all
		// keys that have a TTL, so a suite that holds thousands of jobs at
		// once would slow to a crawl; no test here waits for a key to expire.
		s.miniredis = m
	}
	return s.miniredis.Addr()
}

// close runs after every test has ended, so it needs no lock.
func (s *sharedServers) close() {
	if s.redis != nil {
		s.redis.Close()
	}
	if s.cluster != nil {
		s.cluster.Close()
	}
	if s.miniredis != nil {
		s.miniredis.Close()
	}
}
