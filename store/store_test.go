package store

import (
	"context"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testNow is the clock of every test store, so timestamps compare exactly.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// testBundle is what a test needs besides the store: a client to seed and
// read Redis directly, and the store's key names.
type testBundle struct {
	client *redis.Client
	keys   keys
}

// setup returns a store on the server of opts whose keys are private to t:
// the prefix carries a hash of the test's name, so parallel tests share a
// server without flushing it. The keys are deleted when t ends.
func setup(t *testing.T, opts *redis.Options, cfg Config) (*RedisStore, *testBundle) {
	t.Helper()
	named := *opts
	named.ClientName = clientName(t) // lets a test find its blocked pops
	client := redis.NewClient(&named)
	t.Cleanup(func() { _ = client.Close() })
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
	t.Cleanup(func() { deleteKeys(t, client, cfg.Prefix) })
	return s, &testBundle{client: client, keys: s.keys}
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

// awaitBlockedPop waits until one of t's connections is blocked in BLPOP.
func (b *testBundle) awaitBlockedPop(t *testing.T) {
	t.Helper()
	name := "name=" + clientName(t) + " "
	eventually(t, "a blocked WaitForWork", func() bool {
		for _, line := range strings.Split(b.client.ClientList(t.Context()).Val(), "\n") {
			if strings.Contains(line, name) && strings.Contains(line, "cmd=blpop") {
				return true
			}
		}
		return false
	})
}

func deleteKeys(tb testing.TB, client *redis.Client, prefix string) {
	ctx := context.WithoutCancel(tb.Context())
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		_ = client.Unlink(ctx, iter.Val()).Err()
	}
	// The test's server may already be gone when the keys went with it.
	_ = iter.Err()
}

// request is a submit request for candidate of tenant-a.
func request(candidate string) SubmitRequest {
	return SubmitRequest{TenantID: "tenant-a", CandidateID: candidate, CorrelationID: "tenant-a:req-" + candidate}
}

// submitNew submits req and fails t unless it created a job.
func submitNew(t *testing.T, s *RedisStore, req SubmitRequest) *Job {
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
func mustLease(t *testing.T, s *RedisStore) *Lease {
	t.Helper()
	l, err := s.Lease(t.Context())
	if err != nil {
		t.Fatalf("Lease: %v", err)
	}
	if l == nil {
		t.Fatal("Lease: queue empty, want a job")
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

// expireLease moves a lease's deadline to the distant past, as if its holder
// had died long ago, without waiting.
func (b *testBundle) expireLease(t *testing.T, jobID string) {
	t.Helper()
	err := b.client.ZAddXX(t.Context(), b.keys.leases(), redis.Z{Score: 0, Member: jobID}).Err()
	if err != nil {
		t.Fatalf("expiring lease of %s: %v", jobID, err)
	}
}

// leaseScore returns a job's lease deadline (ms) and whether it has one.
func (b *testBundle) leaseScore(t *testing.T, jobID string) (int64, bool) {
	t.Helper()
	score, err := b.client.ZScore(t.Context(), b.keys.leases(), jobID).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false
	}
	if err != nil {
		t.Fatalf("ZSCORE %s: %v", jobID, err)
	}
	return int64(score), true
}

// queue returns the queued ids in the order Lease takes them.
func (b *testBundle) queue(t *testing.T) []string {
	t.Helper()
	ids, err := b.client.LRange(t.Context(), b.keys.queue(), 0, -1).Result()
	if err != nil {
		t.Fatalf("LRANGE queue: %v", err)
	}
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids
}

// serverNow is the Redis server's clock, which lease deadlines follow.
func (b *testBundle) serverNow(t *testing.T) time.Time {
	t.Helper()
	now, err := b.client.Time(t.Context()).Result()
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
		want := Config{Prefix: "hh:enrich:", JobTTL: 24 * time.Hour, DedupeTTL: 6 * time.Hour,
			LeaseDuration: 10 * time.Second, MaxAttempts: 3}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("config (-want +got):\n%s", diff)
		}
		if s.keys.job("x") != "hh:enrich:job:x" || s.keys.queue() != "hh:enrich:queue" ||
			s.keys.dedupe("t", "abc") != "hh:enrich:dedupe:t:abc" {
			t.Errorf("keys differ from REFERENCE §3: %q %q %q", s.keys.job("x"), s.keys.queue(), s.keys.dedupe("t", "abc"))
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
		} {
			if _, err := NewRedisStore(client, cfg); err == nil {
				t.Errorf("NewRedisStore(%+v) = nil error, want one", cfg)
			}
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
	opts := redistest.Start(t)

	t.Run("UnknownIDIsErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, opts, Config{})
		if _, err := s.Get(t.Context(), newToken()); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get = %v, want ErrNotFound", err)
		}
	})
	t.Run("MalformedIDIsErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, opts, Config{})
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
		s, _ := setup(t, opts, Config{})
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}
