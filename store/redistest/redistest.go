// Package redistest starts real redis-server processes for tests.
//
// Each server is private to the test that started it and is killed when the
// test ends. Tests that share one server should still give each test its own
// key prefix rather than flushing the database.
//
// When TEST_REDIS_URL is set (e.g. redis://127.0.0.1:6379/0), no server is
// started and every function returns that server instead.
package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// readyTimeout bounds how long a new server may take to answer PING.
	readyTimeout = 10 * time.Second
	// pollInterval is how often a starting server is asked for PING.
	pollInterval = 10 * time.Millisecond
	// maxSocketPath leaves room under the 108-byte sun_path limit of Linux.
	maxSocketPath = 100
	// tcpAttempts bounds the retries when another process takes the free port
	// between our probe and redis-server's bind.
	tcpAttempts = 5
)

// Start starts a redis-server listening only on a unix socket in a temporary
// folder and returns options to reach it. The server is killed when tb ends.
// It fails tb if redis-server is not on PATH or does not answer within 10 s.
func Start(tb testing.TB) *redis.Options {
	tb.Helper()
	if opts := fromEnv(tb); opts != nil {
		return opts
	}
	socket := filepath.Join(socketDir(tb), "redis.sock")
	startOrFail(tb, &redis.Options{Network: "unix", Addr: socket},
		"--port", "0", "--unixsocket", socket, "--unixsocketperm", "700")
	return &redis.Options{Network: "unix", Addr: socket}
}

// StartTCP starts a redis-server on a free loopback port and returns its
// address, "127.0.0.1:PORT", for code that needs host and port (e.g. a
// service binary configured through REDIS_HOST and REDIS_PORT). The server
// is killed when tb ends. It fails tb like Start.
func StartTCP(tb testing.TB) string {
	tb.Helper()
	if opts := fromEnv(tb); opts != nil {
		return opts.Addr
	}
	var lastErr error
	for range tcpAttempts {
		addr, err := freeLoopbackAddr()
		if err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		_, port, _ := net.SplitHostPort(addr)
		lastErr = start(tb, &redis.Options{Addr: addr}, "--port", port, "--bind", "127.0.0.1")
		if lastErr == nil {
			return addr
		}
		if errors.Is(lastErr, exec.ErrNotFound) {
			break
		}
	}
	tb.Fatalf("redistest: %v", lastErr)
	return ""
}

func startOrFail(tb testing.TB, opts *redis.Options, args ...string) {
	tb.Helper()
	if err := start(tb, opts, args...); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
}

// fromEnv returns the options of TEST_REDIS_URL, or nil when it is unset.
func fromEnv(tb testing.TB) *redis.Options {
	tb.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		return nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("redistest: TEST_REDIS_URL: %v", err)
	}
	return opts
}

// socketDir returns a folder for the socket: tb.TempDir() unless its path is
// too long for a unix socket (long test names make long paths).
func socketDir(tb testing.TB) string {
	dir := tb.TempDir()
	if len(dir)+len("/redis.sock") <= maxSocketPath {
		return dir
	}
	dir, err := os.MkdirTemp("", "redis")
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	return addr, nil
}

// start runs redis-server with args plus settings that keep it in memory,
// and waits until it answers PING through opts. On success the server is
// killed when tb ends; on error it is already gone.
func start(tb testing.TB, opts *redis.Options, args ...string) error {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redis-server is needed for this test but is not on PATH "+
			"(apt-get install -y redis-server, or set TEST_REDIS_URL): %w", err)
	}
	args = append(args, "--save", "", "--appendonly", "no", "--dir", tb.TempDir())
	cmd := exec.Command(path, args...)
	var output syncBuffer
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		_ = cmd.Wait() // a killed server exits with an error; that is expected
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	if err := waitReady(tb.Context(), opts, exited); err != nil {
		stop()
		return fmt.Errorf("redis-server %v: %w; its output:\n%s", args, err, output.String())
	}
	tb.Cleanup(stop)
	return nil
}

// waitReady polls PING until the server answers, exits or readyTimeout passes.
func waitReady(ctx context.Context, opts *redis.Options, exited <-chan struct{}) error {
	pingOpts := *opts
	pingOpts.MaxRetries = -1
	client := redis.NewClient(&pingOpts)
	defer client.Close()
	deadline := time.Now().Add(readyTimeout)
	for {
		pingCtx, cancel := context.WithTimeout(ctx, time.Second)
		err := client.Ping(pingCtx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before answering PING")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to PING within %s: %w", readyTimeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// syncBuffer collects a server's output, written by exec's copying goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
