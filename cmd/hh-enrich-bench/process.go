package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// child is a process the harness started and must stop: it is killed by the kernel
// if the harness dies first (Pdeathsig), and Stop waits for it.
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returned; err is then set
	err    error
}

// startChild starts cmd and a goroutine that waits for it; Stop ends both.
func startChild(name string, cmd *exec.Cmd) (*child, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// exitStatus describes how the process ended; call it after exited is closed.
func (c *child) exitStatus() string {
	if c.err == nil {
		return "exit status 0"
	}
	return c.err.Error()
}

// Pid is the process id.
func (c *child) Pid() int { return c.cmd.Process.Pid }

// Stop sends SIGTERM, waits up to grace for the process to exit, then kills it.
// It is safe to call more than once and after the process exited on its own.
func (c *child) Stop(grace time.Duration) error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM) // fails only if it just exited
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.exited:
		return nil
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("%s did not stop within %s and was killed", c.name, grace)
	}
}

// freeLoopbackPort returns a port that was free on 127.0.0.1 a moment ago.
func freeLoopbackPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, l.Close()
}

// waitFor calls ready every 10 ms until it returns nil, ctx ends or the child
// exits, and returns ready's last error in the two latter cases.
func waitFor(ctx context.Context, c *child, ready func(ctx context.Context) error) error {
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last: %w)", c.name, ctx.Err(), err)
		case <-c.exited:
			return fmt.Errorf("%s exited (%s) before it was ready: %w", c.name, c.exitStatus(), err)
		case <-ticker.C:
		}
	}
}

// syncBuffer keeps a child's output, written by exec's copying goroutine.
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
