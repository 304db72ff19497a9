package store

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
)

// testNow is the clock of every test store, so timestamps compare exactly.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// testBundle is what a test needs besides the store: a client to seed and
// read Redis directly, and the store's key names.
type testBundle struct {
	bk     *backend
	client redis.UniversalClient
	keys   keys
}

// setup returns a store on bk whose keys are private to t: the prefix
// carries a hash of the test's name, so parallel tests share a server without
// flushing it. The keys are deleted when t ends.
func setup(t *testing.T, bk *backend, cfg Config) (*RedisStore, *testBundle) {
	t.Helper()
	client := bk.connect(t, clientName(t)) // the name lets a test find its blocked pops
	if cfg.Prefix == "" {
		cfg.Prefix = testPrefix(t)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	s, err := NewRedisStore(client, cfg)
	if err != nil {
		t.Fatalf("NewRedisStore: %v", err)
	}
	b := &testBundle{bk: bk, client: client, keys: s.keys}
	t.Cleanup(func() { b.deleteKeys(t) })
	return s, b
}

// testPrefix is a hash-tagged prefix unique to t, e.g. "{test:3fa9c1d2}:".
func testPrefix(t *testing.T) string { return "{test:" + nameHash(t) + "}:" }

// clientName names the Redis connections of t's store.
func clientName(t *testing.T) string { return "test-" + nameHash(t) }

func nameHash(t *testing.T) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(t.Name()))
	return strconv.FormatUint(h.Sum64(), 16)
}

// eventually polls cond until it holds, failing t after 5 s. It is the one
// place tests wait by sleeping, for states that send no signal.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after 5s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// node is the server that holds the store's keys, for commands that go to
// one server rather than to a key (CLIENT LIST, SCAN, KEYS): on Cluster the
// master of the prefix's slot.
func (b *testBundle) node(t testing.TB) redis.Cmdable {
	cluster, ok := b.client.(*redis.ClusterClient)
	if !ok {
		return b.client
	}
	master, err := cluster.MasterForKey(context.WithoutCancel(t.Context()), b.keys.stats())
	if err != nil {
		t.Fatalf("finding the master of %s: %v", b.keys.stats(), err)
	}
	return master
}

// awaitBlockedPop waits until one of t's connections is blocked in BLPOP.
// Miniredis has no CLIENT LIST; there the wait is skipped, and a wake token
// that arrives first is simply popped at once.
func (b *testBundle) awaitBlockedPop(t *testing.T) {
	t.Helper()
	if b.bk.miniredis {
		return
	}
	name := "name=" + clientName(t) + " "
	eventually(t, "a blocked WaitForWork", func() bool {
		for _, line := range strings.Split(b.node(t).ClientList(t.Context()).Val(), "\n") {
			if strings.Contains(line, name) && strings.Contains(line, "cmd=blpop") {
				return true
			}
		}
		return false
	})
}

// storeKeys lists the store's keys.
func (b *testBundle) storeKeys(t testing.TB, pattern string) []string {
	ctx := context.WithoutCancel(t.Context())
	var found []string
	iter := b.node(t).Scan(ctx, 0, b.keys.prefix+pattern, 1000).Iterator()
	for iter.Next(ctx) {
		found = append(found, iter.Val())
	}
	// The test's server may already be gone when the keys went with it.
	_ = iter.Err()
	return found
}

func (b *testBundle) deleteKeys(t testing.TB) {
	ctx := context.WithoutCancel(t.Context())
	for _, key := range b.storeKeys(t, "*") {
		_ = b.client.Unlink(ctx, key).Err()
	}
}

// request is a submit request for candidate of tenant-a.
func request(candidate string) SubmitRequest {
	return requestOf("tenant-a", candidate)
}

// requestOf is a submit request for candidate of tenant.
func requestOf(tenant, candidate string) SubmitRequest {
	return SubmitRequest{TenantID: tenant, CandidateID: candidate, CorrelationID: tenant + ":req-" + candidate}
}

// submitNew submits req and fails t unless it created a job.
func submitNew(t testing.TB, s *RedisStore, req SubmitRequest) *Job {
	t.Helper()
	job, created, err := s.Submit(t.Context(), req)
	if err != nil {
		t.Fatalf("Submit(%+v): %v", req, err)
	}
	if !created {
		t.Fatalf("Submit(%+v) deduped to job %s, want a new job", req, job.ID)
	}
	return job
}

// mustLease leases a job and fails t if there is none.
func mustLease(t testing.TB, s *RedisStore) *Lease {
	t.Helper()
	l, err := s.Lease(t.Context())
	if err != nil {
		t.Fatalf("Lease: %v", err)
	}
	if l == nil {
		t.Fatal("Lease: no job ready, want one")
	}
	return l
}

// mustGet reads a job and fails t if it cannot.
func mustGet(t *testing.T, s *RedisStore, jobID string) *Job {
	t.Helper()
	job, err := s.Get(t.Context(), jobID)
	if err != nil {
		t.Fatalf("Get(%s): %v", jobID, err)
	}
	return job
}

// mustCounts reads the counters and fails t if it cannot.
func mustCounts(t *testing.T, s *RedisStore) *Counts {
	t.Helper()
	c, err := s.Counts(t.Context())
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	return c
}

// expireLease moves a lease's deadline to the distant past, as if its holder
// had died long ago, without waiting.
func (b *testBundle) expireLease(t testing.TB, jobID string) {
	t.Helper()
	err := b.client.ZAddXX(t.Context(), b.keys.leases(), redis.Z{Score: 0, Member: jobID}).Err()
	if err != nil {
		t.Fatalf("expiring lease of %s: %v", jobID, err)
	}
}

// makeDue moves a delayed retry's time to the distant past, as if its
// backoff had passed, without waiting.
func (b *testBundle) makeDue(t testing.TB, jobID string) {
	t.Helper()
	err := b.client.ZAddXX(t.Context(), b.keys.delayed(), redis.Z{Score: 0, Member: jobID}).Err()
	if err != nil {
		t.Fatalf("making %s due: %v", jobID, err)
	}
}

// score returns a job's score in a sorted set (a lease deadline or a retry
// time, ms) and whether it is there.
func (b *testBundle) score(t *testing.T, key, jobID string) (int64, bool) {
	t.Helper()
	score, err := b.client.ZScore(t.Context(), key, jobID).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false
	}
	if err != nil {
		t.Fatalf("ZSCORE %s %s: %v", key, jobID, err)
	}
	return int64(score), true
}

// leaseScore returns a job's lease deadline (ms) and whether it has one.
func (b *testBundle) leaseScore(t *testing.T, jobID string) (int64, bool) {
	t.Helper()
	return b.score(t, b.keys.leases(), jobID)
}

// ready returns a tenant's ready ids in the order Lease takes them: high
// priority first, each list oldest first.
func (b *testBundle) ready(t testing.TB, tenant string) []string {
	t.Helper()
	var ids []string
	for _, high := range []bool{true, false} {
		list, err := b.client.LRange(t.Context(), b.keys.queue(tenant, high), 0, -1).Result()
		if err != nil {
			t.Fatalf("LRANGE queue: %v", err)
		}
		slices.Reverse(list)
		ids = append(ids, list...)
	}
	return ids
}

// queue returns tenant-a's ready ids in the order Lease takes them.
func (b *testBundle) queue(t *testing.T) []string {
	t.Helper()
	return b.ready(t, "tenant-a")
}

// serverNow is the Redis server's clock, which lease deadlines follow.
func (b *testBundle) serverNow(t *testing.T) time.Time {
	t.Helper()
	now, err := b.node(t).Time(t.Context()).Result()
	if err != nil {
		t.Fatalf("TIME: %v", err)
	}
	return now
}

// subscribe listens to the store's events channel until t ends.
func (b *testBundle) subscribe(t *testing.T) *redis.PubSub {
	t.Helper()
	sub := b.client.Subscribe(t.Context(), b.keys.events())
	t.Cleanup(func() { _ = sub.Close() })
	// Wait for the confirmation, or a message published right after could
	// be missed.
	if _, err := sub.Receive(t.Context()); err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	return sub
}

// nextEvent returns the next events message, failing t after 5 s.
func nextEvent(t *testing.T, sub *redis.PubSub) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatalf("waiting for an event: %v", err)
	}
	return msg.Payload
}

// logBuffer collects what a logger writes, for tests that check log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// logger returns an Info-level text logger that writes to l.
func (l *logBuffer) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: l, Level: hclog.Info})
}

// lines returns the lines logged so far.
func (l *logBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSpace(l.buf.String()), "\n")
}

// closedClient is a client whose every command fails, as if Redis were gone.
func closedClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	_ = c.Close()
	return c
}

func diffJob(t *testing.T, want, got *Job) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("job mismatch (-want +got):\n%s", diff)
	}
}

func TestNewRedisStore(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { _ = client.Close() })

	t.Run("AppliesDefaults", func(t *testing.T) {
		t.Parallel()
		s, err := NewRedisStore(client, Config{})
		if err != nil {
			t.Fatal(err)
		}
		got := s.cfg
		got.Now = nil
		want := Config{Prefix: "{hh:enrich}:", JobTTL: 24 * time.Hour, DedupeTTL: 6 * time.Hour,
			LeaseDuration: 10 * time.Second, MaxAttempts: 3, RetryBaseDelay: 500 * time.Millisecond,
			RetryMaxDelay: 5 * time.Second, DeadLetterMax: 1000, ReplayWindow: 30 * time.Second}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("config (-want +got):\n%s", diff)
		}
	})
	t.Run("NamesKeysLikeREFERENCEWithAHashTag", func(t *testing.T) {
		t.Parallel()
		s, err := NewRedisStore(client, Config{})
		if err != nil {
			t.Fatal(err)
		}
		got := []string{s.keys.job("x"), s.keys.dedupe("t", "abc"), s.keys.queue("t", false), s.keys.queue("t", true)}
		want := []string{"{hh:enrich}:job:x", "{hh:enrich}:dedupe:t:abc", "{hh:enrich}:queue:normal:t", "{hh:enrich}:queue:high:t"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("key names (-want +got):\n%s", diff)
		}
	})
	t.Run("RejectsBadValues", func(t *testing.T) {
		t.Parallel()
		for _, cfg := range []Config{
			{JobTTL: -time.Second},
			{DedupeTTL: -1},
			{LeaseDuration: -time.Millisecond},
			{LeaseDuration: time.Microsecond},
			{MaxAttempts: -1},
			{RetryBaseDelay: -time.Second},
			{RetryMaxDelay: time.Microsecond},
			{DeadLetterMax: -1},
			{ReplayWindow: time.Microsecond},
		} {
			if _, err := NewRedisStore(client, cfg); err == nil {
				t.Errorf("NewRedisStore(%+v) = nil error, want one", cfg)
			}
		}
	})
	t.Run("RejectsAClusterPrefixWithoutAHashTag", func(t *testing.T) {
		t.Parallel()
		cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}) // never dialled
		t.Cleanup(func() { _ = cluster.Close() })
		for prefix, ok := range map[string]bool{
			"{hh:enrich}:": true, "x{t}:": true, "hh:enrich:": false, "{}:": false, "}{:": false, "{hh:": false,
		} {
			if _, err := NewRedisStore(cluster, Config{Prefix: prefix}); (err == nil) != ok {
				t.Errorf("NewRedisStore on Cluster with prefix %q: error %v, want error %v", prefix, err, !ok)
			}
		}
		if _, err := NewRedisStore(client, Config{Prefix: "hh:enrich:"}); err != nil {
			t.Errorf("NewRedisStore on one Redis without a hash tag: %v", err)
		}
	})
	t.Run("RejectsNilClient", func(t *testing.T) {
		t.Parallel()
		if _, err := NewRedisStore(nil, Config{}); err == nil {
			t.Error("NewRedisStore(nil) = nil error, want one")
		}
	})
}

func TestRedisStoreGet(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("UnknownIDIsErrNotFound", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			if _, err := s.Get(t.Context(), newToken()); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get = %v, want ErrNotFound", err)
			}
		})
		t.Run("MalformedIDIsErrNotFound", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			// A hash that is not a job, reachable by a crafted id.
			if err := b.client.HSet(t.Context(), b.keys.job("metrics"), "queued", "1").Err(); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"", "metrics", "../queue", "ABCDEF0123456789ABCDEF0123456789"} {
				if _, err := s.Get(t.Context(), id); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
				}
			}
		})
		t.Run("PingAnswers", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
		})
	})
}
