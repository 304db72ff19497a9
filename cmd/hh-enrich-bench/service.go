package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ServiceConfig is how the harness starts the service binary.
type ServiceConfig struct {
	Binary string
	// Env is the service's whole environment (nothing of the harness's leaks in).
	Env []string
	// LogPath receives the service's log (JSON lines); empty discards it.
	LogPath string
	// StartTimeout bounds the wait for the "listening" log line.
	StartTimeout time.Duration
}

// Service is the running service binary.
type Service struct {
	URL  string
	proc *child
	log  *logSink
}

// StartService runs the binary and returns once it logs the address it listens on
// (the JSON line whose @message is "listening"), as the e2e tests do.
func StartService(ctx context.Context, cfg ServiceConfig) (*Service, error) {
	sink, err := newLogSink(cfg.LogPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.Binary)
	cmd.Env = cfg.Env
	cmd.Stdout, cmd.Stderr = sink, sink
	// A plugin that outlived the service would hold its output pipe open and keep
	// Wait from returning; WaitDelay bounds that.
	cmd.WaitDelay = 5 * time.Second
	proc, err := startChild("hh-enrich-svc", cmd)
	if err != nil {
		_ = sink.Close()
		return nil, err
	}
	s := &Service{proc: proc, log: sink}
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case addr := <-sink.listening:
		s.URL = "http://" + strings.Replace(addr, "[::]", "127.0.0.1", 1)
		return s, nil
	case <-proc.exited:
		err = fmt.Errorf("the service exited (%s) before listening:\n%s", proc.exitStatus(), sink.Tail())
	case <-timer.C:
		err = fmt.Errorf("the service did not log \"listening\" within %s\n%s", cfg.StartTimeout, sink.Tail())
	case <-ctx.Done():
		err = fmt.Errorf("starting the service: %w", ctx.Err())
	}
	return nil, joinClose(err, s.Close())
}

// Pid is the service's process id.
func (s *Service) Pid() int { return s.proc.Pid() }

// Close stops the service with SIGTERM (it drains), kills it after 20 s, and closes
// its log.
func (s *Service) Close() error {
	err := s.proc.Stop(20 * time.Second)
	return joinClose(err, s.log.Close())
}

func joinClose(err, closeErr error) error {
	if closeErr == nil {
		return err
	}
	if err == nil {
		return closeErr
	}
	return fmt.Errorf("%w (and on close: %w)", err, closeErr)
}

// logSink receives the service's output through exec's copying goroutine: it
// writes it to a file, keeps the last lines for error reports, and reports the
// address of the "listening" line once.
type logSink struct {
	mu        sync.Mutex
	file      *os.File
	w         *bufio.Writer
	partial   []byte
	tail      []string
	listening chan string // buffered 1; sent once
	found     bool
}

const tailLines = 40

func newLogSink(path string) (*logSink, error) {
	s := &logSink{listening: make(chan string, 1)}
	if path == "" {
		s.w = bufio.NewWriter(io.Discard)
		return s, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("service log: %w", err)
	}
	s.file, s.w = f, bufio.NewWriterSize(f, 64<<10)
	return s, nil
}

// Write takes any chunk of output; lines are split here.
func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(p) // a full disk must not stall the service's stderr
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.line(string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
	return len(p), nil
}

func (s *logSink) line(line string) {
	s.tail = append(s.tail, line)
	if len(s.tail) > tailLines {
		s.tail = s.tail[len(s.tail)-tailLines:]
	}
	if s.found || !strings.Contains(line, `"listening"`) {
		return
	}
	var entry struct {
		Message string `json:"@message"`
		Addr    string `json:"addr"`
	}
	if json.Unmarshal([]byte(line), &entry) == nil && entry.Message == "listening" && entry.Addr != "" {
		s.found = true
		s.listening <- entry.Addr
	}
}

// Tail returns the last lines of output, for error messages.
func (s *logSink) Tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// Close flushes the log file. Call it after the process exited.
func (s *logSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.w.Flush()
	if s.file != nil {
		err = joinClose(err, s.file.Close())
		s.file = nil
	}
	return err
}
