// Package redistest starts real redis-server processes for tests: single
// servers (Start, StartTCP), a server a test can stop and start again on the
// same port with its data (StartServer), and a three-master Redis Cluster
// (StartCluster).
//
// Each server is private to the test that started it and is killed when the
// test ends. Tests that share one server should still give each test its own
// key prefix rather than flushing the database. NewServer and NewCluster start
// the same without a test, for a TestMain that shares them across a package;
// the caller must Close them.
//
// When TEST_REDIS_URL is set (e.g. redis://127.0.0.1:6379/0), Start and
// StartTCP start no server and return that one instead; when
// TEST_REDIS_CLUSTER is set (comma-separated host:port of the masters),
// StartCluster returns those addresses.
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
	"syscall"
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

// inMemory are the settings that keep a throwaway server off the disk.
func inMemory(dir string) []string {
	return []string{"--save", "", "--appendonly", "no", "--dir", dir}
}

// start runs redis-server with args plus settings that keep it in memory,
// and waits until it answers PING through opts. On success the server is
// killed when tb ends; on error it is already gone.
func start(tb testing.TB, opts *redis.Options, args ...string) error {
	p, err := launch(opts, append(args, inMemory(tb.TempDir())...)...)
	if err != nil {
		return err
	}
	tb.Cleanup(p.kill)
	return nil
}

// process is one running redis-server.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// launch runs redis-server with args and waits until it answers PING through
// opts. On error the server is already gone.
func launch(opts *redis.Options, args ...string) (*process, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is needed for this test but is not on PATH "+
			"(apt-get install -y redis-server, or set TEST_REDIS_URL): %w", err)
	}
	cmd := exec.Command(path, args...)
	var output syncBuffer
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		defer close(p.exited)
		_ = cmd.Wait() // a killed server exits with an error; that is expected
	}()
	if err := waitReady(opts, p.exited); err != nil {
		p.kill()
		return nil, fmt.Errorf("redis-server %v: %w; its output:\n%s", args, err, output.String())
	}
	return p, nil
}

// kill ends the server at once, as a crash would, and waits for it to exit.
// It is safe to call more than once.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL) // fails only if it already exited
	<-p.exited
}

// waitReady polls PING until the server answers, exits or readyTimeout passes.
func waitReady(opts *redis.Options, exited <-chan struct{}) error {
	pingOpts := *opts
	pingOpts.MaxRetries = -1
	client := redis.NewClient(&pingOpts)
	defer client.Close()
	return poll(readyTimeout, "an answer to PING", func() error {
		select {
		case <-exited:
			return giveUp{errors.New("exited before answering PING")}
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return client.Ping(ctx).Err()
	})
}

// giveUp wraps an error that makes poll stop at once.
type giveUp struct{ error }

// poll calls check every pollInterval until it returns nil, returns a giveUp
// error, or timeout passes. It is the one place the harness sleeps: a
// starting server sends no signal when it is ready.
func poll(timeout time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		var stop giveUp
		switch {
		case err == nil:
			return nil
		case errors.As(err, &stop):
			return stop.error
		case time.Now().After(deadline):
			return fmt.Errorf("no %s within %s: %w", what, timeout, err)
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
