package redistest

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fromTestRedisURL says the functions return TEST_REDIS_URL's server, whose
// address is whatever it is.
var fromTestRedisURL = os.Getenv("TEST_REDIS_URL") != ""

func ping(t *testing.T, opts *redis.Options) {
	t.Helper()
	client := redis.NewClient(opts)
	defer client.Close()
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING %s: %v", opts.Addr, err)
	}
}

func TestStart(t *testing.T) {
	t.Run("ServesOnAUnixSocket", func(t *testing.T) {
		t.Parallel()
		opts := Start(t)
		if opts.Network != "unix" && !fromTestRedisURL {
			t.Errorf("network %q, want unix", opts.Network)
		}
		ping(t, opts)
	})
	t.Run("ServesOnALoopbackPort", func(t *testing.T) {
		t.Parallel()
		addr := StartTCP(t)
		host, _, err := net.SplitHostPort(addr)
		if err != nil || (host != "127.0.0.1" && !fromTestRedisURL) {
			t.Errorf("address %q, want 127.0.0.1:PORT", addr)
		}
		ping(t, &redis.Options{Addr: addr})
	})
	t.Run("LongTestNamesStillGetASocket"+strings.Repeat("x", 120), func(t *testing.T) {
		t.Parallel()
		ping(t, Start(t))
	})
	t.Run("MissingBinaryIsAClearError", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		err := start(t, &redis.Options{Addr: "127.0.0.1:1"}, "--port", "0")
		if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "redis-server is needed") {
			t.Errorf("start = %v, want a not-found error that names redis-server", err)
		}
	})
}

func TestServer(t *testing.T) {
	t.Run("KeepsItsPortAndDataAcrossStopAndStart", func(t *testing.T) {
		t.Parallel()
		s := StartServer(t, ServerConfig{AppendOnly: true})
		client := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		defer client.Close()
		if err := client.Set(t.Context(), "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		s.Stop()
		if err := client.Ping(t.Context()).Err(); err == nil {
			t.Fatal("PING answered while the server was stopped")
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		if got, err := client.Get(t.Context(), "k").Result(); err != nil || got != "v" {
			t.Errorf("GET after restart = %q, %v; want v", got, err)
		}
	})
	t.Run("StopAndStartTwiceAreSafe", func(t *testing.T) {
		t.Parallel()
		s := StartServer(t, ServerConfig{})
		s.Stop()
		s.Stop()
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		ping(t, s.Options())
	})
}

func TestStartCluster(t *testing.T) {
	t.Run("ServesEverySlotAcrossThreeMasters", func(t *testing.T) {
		t.Parallel()
		addrs := StartCluster(t)
		client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		defer client.Close()
		masters := map[string]bool{}
		for i := range 30 {
			key := "key-" + strings.Repeat("x", i)
			if err := client.Set(t.Context(), key, "v", time.Minute).Err(); err != nil {
				t.Fatalf("SET %s: %v", key, err)
			}
			node, err := client.MasterForKey(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			masters[node.Options().Addr] = true
		}
		if len(addrs) != 3 || (len(masters) != 3 && os.Getenv("TEST_REDIS_CLUSTER") == "") {
			t.Errorf("addresses %v, keys on masters %v; want 3 masters all used", addrs, masters)
		}
	})
}

func TestProxy(t *testing.T) {
	t.Parallel()
	addr := StartTCP(t)
	setThrough := func(t *testing.T, fault Fault) (stored string, err error) {
		t.Helper()
		p := StartProxy(t, addr)
		p.SetDelay(500 * time.Millisecond)
		key := "proxy-test:" + t.Name()
		p.SetRule(Once(func(c Command) bool { return c.Name == "SET" }, fault))
		client := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, ReadTimeout: 100 * time.Millisecond})
		defer client.Close()
		err = client.Set(t.Context(), key, "v", 0).Err()
		if got := p.Injected(fault); fault != Pass && got != 1 {
			t.Errorf("injected %s %d times, want 1", fault, got)
		}
		direct := redis.NewClient(&redis.Options{Addr: addr})
		defer direct.Close()
		return direct.Get(t.Context(), key).Val(), err
	}
	t.Run("PassRelaysTheReply", func(t *testing.T) {
		t.Parallel()
		if got, err := setThrough(t, Pass); err != nil || got != "v" {
			t.Errorf("SET through the proxy = %v, stored %q; want nil and v", err, got)
		}
	})
	t.Run("DropReplyRunsTheCommandAndResets", func(t *testing.T) {
		t.Parallel()
		if got, err := setThrough(t, DropReply); err == nil || got != "v" {
			t.Errorf("SET through the proxy = %v, stored %q; want an error and v", err, got)
		}
	})
	t.Run("ResetMidCommandNeverRunsIt", func(t *testing.T) {
		t.Parallel()
		if got, err := setThrough(t, ResetMidCommand); err == nil || got != "" {
			t.Errorf("SET through the proxy = %v, stored %q; want an error and nothing", err, got)
		}
	})
	t.Run("DelayReplyRunsTheCommandPastTheReadTimeout", func(t *testing.T) {
		t.Parallel()
		var netErr net.Error
		if got, err := setThrough(t, DelayReply); !errors.As(err, &netErr) || !netErr.Timeout() || got != "v" {
			t.Errorf("SET through the proxy = %v, stored %q; want a timeout and v", err, got)
		}
	})
}
