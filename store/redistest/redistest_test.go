package redistest

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

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
