package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// AppendOnly turns on the append-only file with an fsync after every
	// write, so a server killed by Stop still has every acknowledged write
	// when Start brings it back. Without it a restarted server is empty.
	AppendOnly bool
}

// Server is a redis-server on a loopback port that a test can stop, as a
// crash or an outage would, and start again on the same port and data
// folder. It ignores TEST_REDIS_URL: the test must own the process.
type Server struct {
	addr string
	dir  string
	args []string

	mu   sync.Mutex
	proc *process // nil while stopped
}

// StartServer starts a Server that is killed when tb ends. It fails tb if
// redis-server is not on PATH or does not answer within 10 s.
func StartServer(tb testing.TB, cfg ServerConfig) *Server {
	tb.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// NewServer starts a Server without a test, e.g. in a TestMain that shares
// it; the caller must Close it. It returns an error if redis-server is not on
// PATH or does not answer within 10 s.
func NewServer(cfg ServerConfig) (*Server, error) {
	dir, err := os.MkdirTemp("", "redistest-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	var lastErr error
	for range tcpAttempts {
		s, err := tryServer(cfg, dir)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if errors.Is(err, exec.ErrNotFound) {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, fmt.Errorf("redistest: %w", lastErr)
}

func tryServer(cfg ServerConfig, dir string) (*Server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"--port", port, "--bind", "127.0.0.1"}
	if cfg.AppendOnly {
		args = append(args, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir)
	} else {
		args = append(args, inMemory(dir)...)
	}
	s := &Server{addr: addr, dir: dir, args: args}
	return s, s.Start()
}

// Addr is the server's address, "127.0.0.1:PORT"; it stays the same across
// Stop and Start.
func (s *Server) Addr() string { return s.addr }

// Options returns options to reach the server.
func (s *Server) Options() *redis.Options { return &redis.Options{Addr: s.addr} }

// Stop kills the server at once (SIGKILL, as a crash would) and waits for it
// to exit. Clients then get connection errors until Start. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.kill()
		s.proc = nil
	}
}

// Start starts a stopped server again on the same port and data folder and
// waits until it answers PING. Starting a running server does nothing. It
// returns an error if the server does not come up (e.g. another process took
// the port meanwhile).
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	p, err := launch(s.Options(), s.args...)
	if err != nil {
		return err
	}
	s.proc = p
	return nil
}

// Close stops the server for good and removes its data folder. It is safe to
// call more than once.
func (s *Server) Close() {
	s.Stop()
	_ = os.RemoveAll(s.dir)
}
