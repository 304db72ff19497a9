package localstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// redisAttempts bounds the retries when another process takes the free port between
// our probe and redis-server's bind.
const redisAttempts = 5

// redisReadyTimeout bounds a start or restart until the server answers PING.
const redisReadyTimeout = 10 * time.Second

// RedisConfig says how to run redis-server.
type RedisConfig struct {
	// Executable is redis-server's name or path. Default "redis-server".
	Executable string
	// AppendOnly turns on the append-only file with appendfsync everysec, the
	// setting the README recommends for production, in a private data folder, so
	// a server killed by Kill keeps every write it acknowledged when Restart brings
	// it back. Without it the server keeps nothing on disk.
	AppendOnly bool
}

// Redis is a throwaway redis-server on a loopback port.
type Redis struct {
	Addr string
	path string
	args []string
	dir  string // data folder; removed by Close
	out  *syncBuffer

	mu   sync.Mutex
	proc *child // nil while killed
}

// StartRedis starts redis-server on a free 127.0.0.1 port and returns once it
// answers PING. It fails when the executable is missing or the server does not
// answer within 10 s.
func StartRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	exe := cfg.Executable
	if exe == "" {
		exe = "redis-server"
	}
	path, err := exec.LookPath(exe)
	if err != nil {
		return nil, fmt.Errorf("redis-server is needed (apt-get install -y redis-server, or pass -url): %w", err)
	}
	dir, err := os.MkdirTemp("", "localstack-redis-")
	if err != nil {
		return nil, fmt.Errorf("redis data folder: %w", err)
	}
	var lastErr error
	for range redisAttempts {
		port, err := freeLoopbackPort()
		if err != nil {
			lastErr = err
			break
		}
		r := &Redis{Addr: net.JoinHostPort("127.0.0.1", port), path: path, dir: dir,
			args: redisArgs(port, dir, cfg.AppendOnly), out: &syncBuffer{}}
		if lastErr = r.Restart(ctx); lastErr == nil {
			return r, nil
		}
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

func redisArgs(port, dir string, appendOnly bool) []string {
	args := []string{"--port", port, "--bind", "127.0.0.1", "--protected-mode", "yes", "--save", "", "--dir", dir}
	if appendOnly {
		return append(args, "--appendonly", "yes", "--appendfsync", "everysec")
	}
	return append(args, "--appendonly", "no")
}

// Restart starts the server again on the same port and data folder after Kill,
// and waits until it answers PING. On a running server it does nothing. It fails
// when the server does not come back within 10 s (another process may have taken
// the port meanwhile).
func (r *Redis) Restart(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		return nil
	}
	cmd := exec.Command(r.path, r.args...)
	cmd.Stdout, cmd.Stderr = r.out, r.out
	proc, err := startChild("redis-server", cmd)
	if err != nil {
		return err
	}
	readyCtx, cancel := context.WithTimeout(ctx, redisReadyTimeout)
	defer cancel()
	if err := waitFor(readyCtx, proc, r.ping); err != nil {
		proc.Kill()
		return fmt.Errorf("%w; its output:\n%s", err, r.out.String())
	}
	r.proc = proc
	return nil
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it. Clients
// get connection errors until Restart. Killing a killed server does nothing.
func (r *Redis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		r.proc.Kill()
		r.proc = nil
	}
}

// ping sends a RESP PING and expects +PONG.
func (r *Redis) ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return fmt.Errorf("dialing redis: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return fmt.Errorf("PING: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("PING: %w", err)
	}
	if !strings.HasPrefix(line, "+PONG") {
		// A server still loading its append-only file answers -LOADING.
		return errors.New("PING answered " + strings.TrimSpace(line))
	}
	return nil
}

// Pid is the server's process id, 0 while it is killed.
func (r *Redis) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return 0
	}
	return r.proc.Pid()
}

// Close stops the server, waits for it and removes its data folder. Safe to call
// more than once.
func (r *Redis) Close() error {
	r.mu.Lock()
	var err error
	if r.proc != nil {
		err = r.proc.Stop(5 * time.Second)
		r.proc = nil
	}
	r.mu.Unlock()
	return joinClose(err, os.RemoveAll(r.dir))
}
