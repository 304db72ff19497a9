package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	// net/http/pprof also registers its handlers on http.DefaultServeMux, which
	// the service never serves: they are reachable on ENRICH_PPROF_ADDR only.
	httppprof "net/http/pprof"
	"runtime/pprof"
	"sync"
)

// Profiling (ENRICH_PPROF_ADDR): Go's profiles on a loopback listener of their
// own, and the service's CPU labelled by layer so that a CPU profile says where a
// job's time goes (make bench prints it). Profiles show code paths and timings,
// and a profile costs CPU while it runs: they never share the API's port, and a
// non-loopback address is refused.

// checkLoopback refuses an address that is not on a loopback interface; "" is off.
func checkLoopback(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (profiles never leave the host)", addr)
	}
	return nil
}

// layerLabel is the pprof label that names a goroutine's layer.
const layerLabel = "layer"

// The layers a CPU profile's samples fall in: "http" (the API's handlers, their
// Redis submits and sync waits included), "worker" (its own code: decoding,
// results, bookkeeping), "store" (the worker's Redis calls), "pool" (the plugin
// pool and its gRPC client), "embed" (the downstream calls: the embed upsert,
// Firestore) and "profiler" (the CPU profile's own writer). CPU no label covers
// (the garbage collector's workers, the scheduler, the metrics) is "other".
//
// Goroutines inherit their creator's labels, so a layer set once where a part
// starts covers every goroutine it spawns (the HTTP server's per-connection
// goroutines, the pool's gRPC transports). The worker's goroutines move into a
// layer for the length of a call (layers.go), through these contexts made once:
// entering one is a pointer store on the goroutine, no allocation per call.
var (
	layerWorker = labelled("worker") // the worker's own code: decoding, results, bookkeeping
	layerStore  = labelled("store")  // the worker's Redis calls: leases, renewals, completions
	layerPool   = labelled("pool")   // the plugin pool and its gRPC client, up to the plugin's answer
	layerEmbed  = labelled("embed")  // the downstream calls: the embed upsert, Firestore reads and writes
)

func labelled(layer string) context.Context {
	return pprof.WithLabels(context.Background(), pprof.Labels(layerLabel, layer))
}

// inLayer runs f, which starts a part of the service, with the calling goroutine
// labelled layer when profiling is on: the goroutines f starts inherit it. The
// caller's own labels come back after.
func (m *Main) inLayer(ctx context.Context, layer string, f func(context.Context) error) error {
	if m.Config.PprofAddr == "" {
		return f(ctx)
	}
	var err error
	pprof.Do(ctx, pprof.Labels(layerLabel, layer), func(ctx context.Context) { err = f(ctx) })
	return err
}

// serveProfiles serves /debug/pprof/ and /debug/cpuprofile/{start,stop} on
// ENRICH_PPROF_ADDR. It returns the address it listens on.
func (m *Main) serveProfiles() (string, error) {
	ln, err := net.Listen("tcp", m.Config.PprofAddr)
	if err != nil {
		return "", fmt.Errorf("listen on ENRICH_PPROF_ADDR=%s: %w", m.Config.PprofAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	var cpu cpuProfile
	mux.HandleFunc("POST /debug/cpuprofile/start", cpu.start)
	mux.HandleFunc("POST /debug/cpuprofile/stop", cpu.stop)
	m.pprofHTTP = newHTTPServer(mux, 0, m.log)
	m.pprofServed = make(chan error, 1)
	go func() { m.pprofServed <- m.pprofHTTP.Serve(ln) }()
	return ln.Addr().String(), nil
}

// cpuProfile is a CPU profile started and stopped by two requests, for a
// harness that does not know in advance how long its workload runs
// (/debug/pprof/profile needs the length up front).
type cpuProfile struct {
	mu      sync.Mutex
	buf     *bytes.Buffer
	running bool
}

func (c *cpuProfile) start(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		http.Error(w, "a CPU profile is already running", http.StatusConflict)
		return
	}
	buf := &bytes.Buffer{}
	var err error
	// The profile's writer goroutine inherits this label: its own CPU shows apart.
	pprof.Do(r.Context(), pprof.Labels(layerLabel, "profiler"), func(context.Context) { err = pprof.StartCPUProfile(buf) })
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	c.buf, c.running = buf, true
	w.WriteHeader(http.StatusNoContent)
}

func (c *cpuProfile) stop(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		http.Error(w, "no CPU profile is running", http.StatusConflict)
		return
	}
	pprof.StopCPUProfile() // waits for the writer to flush into buf
	c.running = false
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(c.buf.Bytes())
	c.buf = nil
}

// stopProfiles shuts the profiling listener down, if it runs.
func (m *Main) stopProfiles(ctx context.Context) error {
	if m.pprofHTTP == nil {
		return nil
	}
	err := m.pprofHTTP.Shutdown(ctx)
	if served := <-m.pprofServed; !errors.Is(served, http.ErrServerClosed) {
		err = errors.Join(err, served)
	}
	return err
}
