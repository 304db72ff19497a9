package localstack

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

// ServiceStartTimeoutDefault bounds a service's start: Redis, then PoolSize Python
// plugins (~0.2 s each, more on a loaded machine).
const ServiceStartTimeoutDefault = 60 * time.Second

// serviceStopGrace is how long Close lets the service drain before killing it.
const serviceStopGrace = 20 * time.Second

// ServiceConfig is how the harness starts the service binary.
type ServiceConfig struct {
	Binary string
	// Args are the binary's arguments (none for hh-enrich-svc itself).
	Args []string
	// Dir is the working directory; empty: the harness's.
	Dir string
	// Env is the service's whole environment (nothing of the harness's leaks in).
	Env []string
	// LogPath receives the service's log (JSON lines); empty discards it.
	LogPath string
	// StartTimeout bounds the wait for the "listening" log line. Default
	// ServiceStartTimeoutDefault.
	StartTimeout time.Duration
	// ProcessGroup runs Binary in a process group of its own and signals the
	// whole group: for a Binary that runs the service as its child (make run).
	ProcessGroup bool
}

// Service is the running service binary.
type Service struct {
	// URL is http://127.0.0.1:PORT; Addr is the address the service logged it
	// listens on, as it logged it ("[::]:PORT" when it listens on every interface).
	URL, Addr string
	// PprofURL is http://ADDR of the profiling listener (ENRICH_PPROF_ADDR); ""
	// when the service runs without one.
	PprofURL string
	// LogPath is where its log goes ("" when discarded).
	LogPath string
	proc    *child
	log     *logSink
}

// StartService runs the binary and returns once it logs the address it listens on
// (the JSON line whose @message is "listening"), as the e2e tests do.
func StartService(ctx context.Context, cfg ServiceConfig) (*Service, error) {
	sink, err := newLogSink(cfg.LogPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.Binary, cfg.Args...)
	cmd.Env, cmd.Dir = cfg.Env, cfg.Dir
	cmd.Stdout, cmd.Stderr = sink, sink
	// A plugin that outlived the service would hold its output pipe open and keep
	// Wait from returning; WaitDelay bounds that.
	cmd.WaitDelay = 5 * time.Second
	proc, err := startChild("hh-enrich-svc", cmd, cfg.ProcessGroup)
	if err != nil {
		_ = sink.Close()
		return nil, err
	}
	s := &Service{proc: proc, log: sink, LogPath: cfg.LogPath}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = ServiceStartTimeoutDefault
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case addrs := <-sink.listening:
		s.Addr = addrs.api
		s.URL = "http://" + loopbackAddr(addrs.api)
		if addrs.pprof != "" {
			s.PprofURL = "http://" + addrs.pprof
		}
		return s, nil
	case <-proc.exited:
		err = fmt.Errorf("the service exited (%s) before listening:\n%s", proc.exitStatus(), sink.Tail())
	case <-timer.C:
		err = fmt.Errorf("the service did not log \"listening\" within %s\n%s", timeout, sink.Tail())
	case <-ctx.Done():
		err = fmt.Errorf("starting the service: %w", ctx.Err())
	}
	return nil, joinClose(err, s.Close())
}

// loopbackAddr turns an any-interface listen address into one a client dials.
func loopbackAddr(addr string) string {
	for _, wildcard := range []string{"[::]", "0.0.0.0"} {
		if rest, ok := strings.CutPrefix(addr, wildcard); ok {
			return "127.0.0.1" + rest
		}
	}
	return addr
}

// Pid is the service's process id (with ProcessGroup, the group leader's, which
// is also the group's id).
func (s *Service) Pid() int { return s.proc.Pid() }

// PluginPIDs lists the service's live plugin processes (its children running
// plugin_server.py), read from procRoot (/proc).
func (s *Service) PluginPIDs(procRoot string) []int {
	return ChildPIDs(procRoot, s.Pid(), PluginMarker)
}

// Kill ends the service with SIGKILL, as a crash or a lost machine would: no
// drain, its leases are left to expire. Its plugins notice their parent is gone
// and exit on their own.
func (s *Service) Kill() { s.proc.Kill() }

// Exited is closed once the process has exited.
func (s *Service) Exited() <-chan struct{} { return s.proc.exited }

// Tail returns the last lines of the service's output, for error messages.
func (s *Service) Tail() string { return s.log.Tail() }

// Close stops the service with SIGTERM (it drains), kills it after 20 s, and
// closes its log. Safe after Kill and more than once.
func (s *Service) Close() error {
	err := s.proc.Stop(serviceStopGrace)
	return joinClose(err, s.log.Close())
}

// logSink receives the service's output through exec's copying goroutine: it
// writes it to a file, keeps the last lines for error reports, and reports the
// addresses of the "listening" line once.
type logSink struct {
	mu        sync.Mutex
	file      *os.File
	w         *bufio.Writer
	partial   []byte
	tail      []string
	listening chan listenAddrs // buffered 1; sent once
	found     bool
}

// listenAddrs are the addresses the "listening" line gives: the API's, and the
// profiling listener's when there is one.
type listenAddrs struct{ api, pprof string }

const tailLines = 40

func newLogSink(path string) (*logSink, error) {
	s := &logSink{listening: make(chan listenAddrs, 1)}
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
		Pprof   string `json:"pprof_addr"`
	}
	if json.Unmarshal([]byte(line), &entry) == nil && entry.Message == "listening" && entry.Addr != "" {
		s.found = true
		s.listening <- listenAddrs{api: entry.Addr, pprof: entry.Pprof}
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
