// Package pool runs a fixed number of long-lived Python enrichment plugins and
// dispatches calls to them. Nothing here spawns a process per job: processes start
// at boot and are replaced only when one dies.
//
// A call that fails because its process died is retried on another process, so a
// crash does not fail the job that happened to be running on it.
package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// Defaults for Config fields left zero.
const (
	StartTimeoutDefault       = 30 * time.Second
	ProcessConcurrencyDefault = 1
	CrashRetriesDefault       = 2
	RestartBackoffMinDefault  = 100 * time.Millisecond
	RestartBackoffMaxDefault  = 5 * time.Second
)

// ErrClosed is returned by calls made after Stop began.
var ErrClosed = errors.New("pool: closed")

// Config configures a Pool. PythonPath and PluginScript are required.
type Config struct {
	// Size is the number of plugin processes (ENRICH_POOL_SIZE). Default: the CPU count.
	Size int
	// PythonPath is the interpreter of the project's venv, never a bare python3 from PATH.
	PythonPath string
	// PluginScript is cloud_run_worker/plugin_server.py.
	PluginScript string
	// Env is the plugins' whole environment (the host's is not inherited).
	Env []string
	// ProcessConcurrency is how many calls one process serves at once. Default 1: the
	// rules enricher is CPU-bound.
	ProcessConcurrency int
	// StartTimeout bounds one process's start, handshake included. Default 30 s.
	StartTimeout time.Duration
	// CrashRetries is how many more processes one call may try when its process dies
	// under it. Default 2.
	CrashRetries int
	// RestartBackoffMin and RestartBackoffMax bound the wait between failed restarts
	// of one slot (doubling each time). Defaults 100 ms and 5 s.
	RestartBackoffMin, RestartBackoffMax time.Duration
	// Logger receives the pool's and the plugins' logs. Default: hclog's default.
	Logger hclog.Logger
}

func (c Config) withDefaults() Config {
	c.Size = cmp.Or(c.Size, runtime.NumCPU())
	c.ProcessConcurrency = cmp.Or(c.ProcessConcurrency, ProcessConcurrencyDefault)
	c.StartTimeout = cmp.Or(c.StartTimeout, StartTimeoutDefault)
	c.CrashRetries = cmp.Or(c.CrashRetries, CrashRetriesDefault)
	c.RestartBackoffMin = cmp.Or(c.RestartBackoffMin, RestartBackoffMinDefault)
	c.RestartBackoffMax = cmp.Or(c.RestartBackoffMax, RestartBackoffMaxDefault)
	if c.Logger == nil {
		c.Logger = hclog.Default()
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Size < 1:
		return fmt.Errorf("pool: Size must be at least 1, got %d", c.Size)
	case c.PythonPath == "" || c.PluginScript == "":
		return errors.New("pool: PythonPath and PluginScript are required")
	case c.ProcessConcurrency < 1:
		return fmt.Errorf("pool: ProcessConcurrency must be at least 1, got %d", c.ProcessConcurrency)
	case c.CrashRetries < 0:
		return fmt.Errorf("pool: CrashRetries must not be negative, got %d", c.CrashRetries)
	}
	return nil
}

// Pool dispatches enrichment calls to a fixed set of plugin processes.
type Pool struct {
	cfg Config
	log hclog.Logger

	mu       sync.Mutex
	procs    []*process    // live processes; a slot being restarted has none here
	changed  chan struct{} // closed and replaced whenever capacity frees up or the pool closes
	closing  bool
	restarts int

	stopping chan struct{} // closed by Stop: restart loops give up
	wg       sync.WaitGroup
}

// New checks cfg and returns a Pool that has not started any process yet.
func New(cfg Config) (*Pool, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Pool{
		cfg:      cfg,
		log:      cfg.Logger.Named("pool"),
		changed:  make(chan struct{}),
		stopping: make(chan struct{}),
	}, nil
}

// Start starts Size processes in parallel and returns once all have completed their
// handshake, or with the first error (having stopped the ones that did start).
func (p *Pool) Start(ctx context.Context) error {
	started := make([]*process, p.cfg.Size)
	errs := make([]error, p.cfg.Size)
	var wg sync.WaitGroup
	for slot := range p.cfg.Size {
		wg.Go(func() { started[slot], errs[slot] = startProcess(p.cfg, slot, p.cfg.Logger) })
	}
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		for _, proc := range started {
			if proc != nil {
				proc.kill()
			}
		}
		return err
	}
	for _, proc := range started {
		p.add(proc)
	}
	p.log.Info("plugin pool started", "processes", p.cfg.Size, "pids", p.pids())
	return nil
}

// Enrich runs one enrichment on the least busy process, waiting for one to be free
// as long as ctx allows. If the process dies during the call, the call is retried on
// another one (up to CrashRetries times). Errors: *pyplugin.Error from the plugin,
// ctx's error, ErrClosed, or one wrapping pyplugin.ErrProcessGone when every try
// lost its process.
func (p *Pool) Enrich(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	var lastErr error
	for range p.cfg.CrashRetries + 1 {
		proc, err := p.acquire(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := proc.rpc.Enrich(ctx, req)
		p.release(proc)
		if err == nil {
			proc.served.Add(1)
			return resp, nil
		}
		if !errors.Is(err, pyplugin.ErrProcessGone) {
			return nil, err
		}
		lastErr = err
		p.replace(proc, "call found the process gone")
	}
	return nil, fmt.Errorf("pool: %d tries lost their process: %w", p.cfg.CrashRetries+1, lastErr)
}

// acquire reserves capacity on the least busy live process.
func (p *Pool) acquire(ctx context.Context) (*process, error) {
	for {
		p.mu.Lock()
		if p.closing {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if proc := p.leastBusyLocked(); proc != nil {
			proc.inflight++
			p.mu.Unlock()
			return proc, nil
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("pool: waiting for a free process: %w", ctx.Err())
		}
	}
}

func (p *Pool) leastBusyLocked() *process {
	var best *process
	for _, proc := range p.procs {
		if proc.inflight >= p.cfg.ProcessConcurrency || proc.exited() {
			continue
		}
		if best == nil || proc.inflight < best.inflight {
			best = proc
		}
	}
	return best
}

func (p *Pool) release(proc *process) {
	p.mu.Lock()
	proc.inflight--
	p.broadcastLocked()
	p.mu.Unlock()
}

// broadcastLocked wakes every acquire waiting for capacity.
func (p *Pool) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// add puts a started process into the pool and watches for its exit.
func (p *Pool) add(proc *process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		// Stop began while it was starting: nobody will use it.
		p.wg.Go(proc.kill)
		return
	}
	p.procs = append(p.procs, proc)
	p.broadcastLocked()
	p.wg.Go(func() {
		select {
		case <-proc.rpc.Exited():
			p.replace(proc, "process exited")
		case <-p.stopping:
		}
	})
}

// replace retires proc (if it is still in the pool) and starts its successor in the
// background. Only the first caller for a given process does anything, so the exit
// watcher and a failed call can both report the same death.
func (p *Pool) replace(proc *process, why string) {
	p.mu.Lock()
	if proc.retired || p.closing {
		p.mu.Unlock()
		return
	}
	proc.retired = true
	p.procs = removeProcess(p.procs, proc)
	p.restarts++
	p.mu.Unlock()

	p.log.Warn("replacing plugin process", "slot", proc.slot, "pid", proc.pid, "reason", why)
	p.wg.Go(func() {
		proc.kill()
		p.restartSlot(proc.slot)
	})
}

// restartSlot starts a new process for slot, backing off between failures, until
// one starts or the pool stops.
func (p *Pool) restartSlot(slot int) {
	backoff := p.cfg.RestartBackoffMin
	for {
		proc, err := startProcess(p.cfg, slot, p.cfg.Logger)
		if err == nil {
			p.log.Info("plugin process replaced", "slot", slot, "pid", proc.pid)
			p.add(proc)
			return
		}
		p.log.Error("plugin restart failed", "slot", slot, "error", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-p.stopping:
			return
		}
		backoff = min(2*backoff, p.cfg.RestartBackoffMax)
	}
}

func removeProcess(procs []*process, gone *process) []*process {
	kept := procs[:0]
	for _, proc := range procs {
		if proc != gone {
			kept = append(kept, proc)
		}
	}
	return kept
}

// Processes describes the live processes, by slot.
func (p *Pool) Processes() []ProcessInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	infos := make([]ProcessInfo, 0, len(p.procs))
	for _, proc := range p.procs {
		infos = append(infos, ProcessInfo{
			Slot:       proc.slot,
			PID:        proc.pid,
			StartedAt:  proc.started,
			InFlight:   proc.inflight,
			JobsServed: proc.served.Load(),
		})
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Slot < infos[j].Slot })
	return infos
}

// Restarts is how many processes have been replaced since Start.
func (p *Pool) Restarts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restarts
}

func (p *Pool) pids() []int {
	var pids []int
	for _, info := range p.Processes() {
		pids = append(pids, info.PID)
	}
	return pids
}

// Stop stops taking calls, waits for the calls in flight to return (or for ctx to
// end), then stops every process. It is safe to call more than once.
func (p *Pool) Stop(ctx context.Context) error {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return nil
	}
	p.closing = true
	p.broadcastLocked()
	p.mu.Unlock()

	// In-flight calls end on their own deadlines; stopping their processes first
	// would fail jobs that could still finish.
	drainErr := p.waitIdle(ctx)
	close(p.stopping)

	p.mu.Lock()
	procs := p.procs
	p.procs = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, proc := range procs {
		wg.Go(proc.kill)
	}
	wg.Wait()
	p.wg.Wait()
	return drainErr
}

func (p *Pool) waitIdle(ctx context.Context) error {
	for {
		p.mu.Lock()
		busy := 0
		for _, proc := range p.procs {
			busy += proc.inflight
		}
		changed := p.changed
		p.mu.Unlock()
		if busy == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("pool: %d calls still running at stop: %w", busy, ctx.Err())
		}
	}
}
