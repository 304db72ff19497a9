package localstack

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
	group  bool          // signals go to the whole process group
	exited chan struct{} // closed once cmd.Wait returned; err is then set
	err    error
}

// startChild starts cmd and a goroutine that waits for it; Stop or Kill ends both.
// With group, cmd leads a process group of its own and every signal goes to the
// whole group: for a command (make, a shell) whose children do the work.
func startChild(name string, cmd *exec.Cmd, group ...bool) (*child, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	inGroup := len(group) > 0 && group[0]
	cmd.SysProcAttr.Setpgid = inGroup
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, group: inGroup, exited: make(chan struct{})}
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
	c.signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.exited:
		if c.group {
			c.signal(syscall.SIGKILL) // whatever of the group outlived its leader
		}
		return nil
	case <-timer.C:
		c.Kill()
		return fmt.Errorf("%s did not stop within %s and was killed", c.name, grace)
	}
}

// Kill sends SIGKILL, as a crash or the OOM killer would, and waits for the exit.
// Safe to call more than once.
func (c *child) Kill() {
	c.signal(syscall.SIGKILL)
	<-c.exited
}

// signal sends sig to the process, or to its group; it fails only when they are
// already gone, which is no error here.
func (c *child) signal(sig syscall.Signal) {
	pid := c.cmd.Process.Pid
	if c.group {
		pid = -pid
	}
	_ = syscall.Kill(pid, sig)
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

// readyPoll is how often a starting process is asked whether it is ready: it
// sends no signal when it is.
const readyPoll = 10 * time.Millisecond

// waitFor calls ready every readyPoll until it returns nil, ctx ends or the child
// exits, and returns ready's last error in the two latter cases.
func waitFor(ctx context.Context, c *child, ready func(ctx context.Context) error) error {
	ticker := time.NewTicker(readyPoll)
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

// joinClose adds the error of a cleanup to the error that caused it.
func joinClose(err, closeErr error) error {
	if closeErr == nil {
		return err
	}
	if err == nil {
		return closeErr
	}
	return fmt.Errorf("%w (and on close: %w)", err, closeErr)
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
