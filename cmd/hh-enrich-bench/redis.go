package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"
)

// redisAttempts bounds the retries when another process takes the free port between
// our probe and redis-server's bind.
const redisAttempts = 5

// RedisServer is a throwaway redis-server on a loopback port, memory only.
type RedisServer struct {
	Addr string
	proc *child
	out  *syncBuffer
}

// StartRedis starts executable (redis-server) on a free 127.0.0.1 port, with no
// persistence, and returns once it answers PING. It fails when the executable is
// missing or the server does not answer within 10 s.
func StartRedis(ctx context.Context, executable string) (*RedisServer, error) {
	path, err := exec.LookPath(executable)
	if err != nil {
		return nil, fmt.Errorf("redis-server is needed (apt-get install -y redis-server, or pass -url): %w", err)
	}
	var lastErr error
	for range redisAttempts {
		r, err := tryRedis(ctx, path)
		if err == nil {
			return r, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func tryRedis(ctx context.Context, path string) (*RedisServer, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	out := &syncBuffer{}
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--protected-mode", "yes")
	cmd.Stdout, cmd.Stderr = out, out
	proc, err := startChild("redis-server", cmd)
	if err != nil {
		return nil, err
	}
	r := &RedisServer{Addr: net.JoinHostPort("127.0.0.1", port), proc: proc, out: out}
	readyCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := waitFor(readyCtx, proc, r.ping); err != nil {
		_ = proc.Stop(time.Second)
		return nil, fmt.Errorf("%w; its output:\n%s", err, out.String())
	}
	return r, nil
}

// ping sends a RESP PING and expects +PONG.
func (r *RedisServer) ping(ctx context.Context) error {
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
		return errors.New("PING answered " + strings.TrimSpace(line))
	}
	return nil
}

// Pid is the server's process id.
func (r *RedisServer) Pid() int { return r.proc.Pid() }

// Close stops the server and waits for it.
func (r *RedisServer) Close() error { return r.proc.Stop(5 * time.Second) }
