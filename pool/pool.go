// Package pool runs a fixed number of long-lived Python enrichment plugins and
// dispatches calls to them. Nothing here spawns a process per job: processes start
// at boot and are replaced only when one dies, hangs, trips its breaker, reaches a
// recycling limit, or an operator restarts it.
//
// A call that fails because its process died is retried on another process, so a
// crash does not fail the job that happened to be running on it. Recycling and
// operator restarts are soft: the replacement starts before the old process stops
// taking calls, and the old one finishes the calls it has.
package pool

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// ErrClosed is returned by calls made after Stop began.
var ErrClosed = errors.New("pool: closed")

// Pool dispatches enrichment calls to a fixed set of plugin processes.
type Pool struct {
	cfg     Config
	log     hclog.Logger
	circuit *circuit // pool-wide breaker

	mu       sync.Mutex
	procs    []*process    // every process not yet retired
	changed  chan struct{} // closed and replaced whenever capacity or membership changes
	waiters  int
	closing  bool
	crashes  []crash // within CrashLoopWindow
	restarts map[string]int

	stopping chan struct{} // closed by Stop: restart loops and the supervisor give up
	wg       sync.WaitGroup

	// What the plugins declared at start (adaptive.go); adaptive is nil unless
	// they are I/O-bound.
	workload         string
	declaredCapacity int
	// queue holds the Enrich calls of a CPU-bound pool waiting for a process,
	// oldest first (coalesce.go).
	queue    []*queuedCall
	adaptive *adaptiveLimit
	enricher EnricherInfo
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
		circuit:  newCircuit(cfg.CircuitFailures, cfg.CircuitCooldown, cfg.Now),
		changed:  make(chan struct{}),
		restarts: map[string]int{},
		stopping: make(chan struct{}),
	}, nil
}

// Start starts Size processes in parallel and the supervisor, and returns once all
// processes have completed their handshake, or with the first error (having stopped
// the ones that did start).
func (p *Pool) Start(ctx context.Context) error {
	if n := sweepStaleSocketDirs(socketParentDir(p.cfg.Env)); n > 0 {
		p.log.Info("removed socket folders of dead plugins", "folders", n)
	}
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
	p.learnWorkload(started[0])
	for _, proc := range started {
		p.add(proc)
	}
	p.wg.Go(p.supervise)
	p.log.Info("plugin pool started", "processes", p.cfg.Size, "concurrency", p.cfg.ProcessConcurrency)
	return nil
}

// ErrPoison (error code python_crashed, not retried) means the call's job killed
// two processes it ran alone on: its data crashes the plugin. It wraps
// pyplugin.ErrProcessGone.
var ErrPoison = errors.New("pool: the job crashed two plugin processes")

// poisonCrashes is how many processes a job may kill, alone on them, before it is
// taken for poison: the first death may be chance (an OOM kill, a bug that struck
// once), the second on another process is the job.
const poisonCrashes = 2

// Enrich runs one enrichment on the least busy process. Errors: *pyplugin.Error
// from the plugin (a hung or spinning call is one with Reason timeout and
// DeadlinePassed), ErrPoison, ErrExhausted, ErrCircuitOpen, ErrClosed, ctx's
// error, or one wrapping pyplugin.ErrProcessGone when every try lost its process
// to something else.
//
// With a CPU-bound enricher, a call that finds every process busy waits in a
// queue, and when a process frees up the calls waiting go out together in one
// EnrichBatch (coalesce.go): a call that finds a process free runs at once, alone.
func (p *Pool) Enrich(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	if p.coalesces() {
		return p.enrichCoalesced(ctx, req)
	}
	return p.enrich(ctx, req, callPlan{items: 1, retries: p.cfg.CrashRetries})
}

// EnrichSplit is Enrich for one item of a batch whose process died under it. The
// batch's death already counts once against every item, so an item that then
// kills a process alone fails at once with ErrPoison; one whose process died with
// other calls on it is retried as Enrich would.
func (p *Pool) EnrichSplit(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	return p.enrich(ctx, req, callPlan{items: 1, retries: p.cfg.CrashRetries, charged: 1})
}

func (p *Pool) enrich(ctx context.Context, req *enrichv1.EnrichRequest, plan callPlan) (*enrichv1.EnrichResponse, error) {
	var resp *enrichv1.EnrichResponse
	err := p.call(ctx, plan, func(ctx context.Context, proc *process) (err error) {
		resp, err = proc.rpc.Enrich(ctx, req)
		return err
	})
	return resp, err
}

// EnrichBatch enriches many candidates in one call on one process; each item
// succeeds or fails on its own in the response. A batch whose process dies is not
// retried whole (one poison item would take its innocent neighbours down with it
// again): the error wraps pyplugin.ErrProcessGone, and the caller runs each item
// on its own with EnrichSplit. Other errors are Enrich's.
func (p *Pool) EnrichBatch(ctx context.Context, req *enrichv1.EnrichBatchRequest) (*enrichv1.EnrichBatchResponse, error) {
	var resp *enrichv1.EnrichBatchResponse
	err := p.call(ctx, callPlan{items: max(1, len(req.GetItems()))}, func(ctx context.Context, proc *process) (err error) {
		resp, err = proc.rpc.EnrichBatch(ctx, req)
		return err
	})
	return resp, err
}

// callPlan is how one call may go: items it carries (its time limit scales with
// them), how many more processes it may try when its process dies, and how many
// processes its job already killed (charged). admitted says the pool-wide breaker
// already let the call through; reserved is a slot its first try takes instead of
// waiting for one.
type callPlan struct {
	items, retries, charged int
	admitted                bool
	reserved                *callRef
}

// call runs rpc under the pool-wide breaker, retrying on another process when its
// process dies. A death counts against the call only when the call ran alone on
// the process (with other calls beside it, any of them may be the cause); a
// second such death is ErrPoison. Only the call's final outcome counts on the
// pool-wide breaker: a crash that a retry absorbed is the supervisor's business,
// not a reason to stop every job.
func (p *Pool) call(ctx context.Context, plan callPlan, rpc func(context.Context, *process) error) error {
	if !plan.admitted {
		release, err := p.circuit.admit(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	charged := plan.charged
	var err error
	for try := 0; ; try++ {
		var alone bool
		reserved := plan.reserved
		plan.reserved = nil
		alone, err = p.callOnce(ctx, reserved, charged > 0, plan.items, rpc)
		if !errors.Is(err, pyplugin.ErrProcessGone) {
			break
		}
		if alone {
			charged++
		}
		if charged >= poisonCrashes {
			err = fmt.Errorf("%w: %w", ErrPoison, err)
			break
		}
		if try >= plan.retries {
			err = fmt.Errorf("pool: %d tries lost their process: %w", try+1, err)
			break
		}
	}
	if p.circuit.record(PoolVerdict(err)) {
		p.log.Error("python circuit opened: calls wait for the cooldown", "cooldown", p.cfg.CircuitCooldown, "error", err)
	}
	// Health logs only on change, so this costs a lock per call and a line per flip.
	p.cfg.Metrics.Health(metrics.LogHealthPython, p.circuit.state() != "open")
	return err
}

// callOnce runs rpc on one process (c's, or one it acquires when c is nil) under its deadline: the call deadline, or
// sooner the enricher's own limit (per item), past which the call is spinning. It
// reports whether the call ran alone on its process.
func (p *Pool) callOnce(ctx context.Context, c *callRef, suspect bool, items int, rpc func(context.Context, *process) error) (alone bool, err error) {
	if c == nil {
		if c, err = p.acquire(ctx, suspect); err != nil {
			return false, err
		}
	}
	callCtx, cancel := context.WithTimeout(ctx, p.callTimeout(c.proc, items))
	p.cfg.Metrics.PluginCall(items)
	started, inflight := p.cfg.Now(), p.inflightNow()
	err = rpc(callCtx, c.proc)
	if p.adaptive != nil {
		p.adaptive.observe(p.cfg.Now().Sub(started), inflight, err)
	}
	// A call that ran out of time left a thread stuck in the process (Python cannot
	// cancel it): the process is presumed hung.
	var perr *pyplugin.Error
	hung := errors.As(err, &perr) && perr.DeadlinePassed
	cancel()
	return p.release(c, err, hung), err
}

// callTimeout is the deadline of a call of items on proc.
func (p *Pool) callTimeout(proc *process, items int) time.Duration {
	if proc.callLimit <= 0 {
		return p.cfg.CallTimeout
	}
	return min(p.cfg.CallTimeout, proc.callLimit*time.Duration(items))
}

// Processes describes every process not yet retired, by slot. Resident memory is
// read from /proc now (a read per process), not from the last health round.
func (p *Pool) Processes() []ProcessInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	infos := make([]ProcessInfo, 0, len(p.procs))
	for _, proc := range p.procs {
		infos = append(infos, ProcessInfo{
			ID:           proc.slot,
			PID:          proc.pid,
			State:        proc.state,
			InFlight:     proc.inflight,
			JobsServed:   proc.served,
			Failures:     proc.failures,
			RSSBytes:     residentBytes(proc.pid),
			StartedAt:    proc.started,
			Breaker:      proc.breaker.state(),
			LastError:    proc.lastError,
			OldestCallMs: oldestCallAge(proc, p.cfg.Now()).Milliseconds(),
		})
	}
	sort.Slice(infos, func(i, j int) bool {
		if infos[i].ID != infos[j].ID {
			return infos[i].ID < infos[j].ID
		}
		return infos[i].StartedAt.Before(infos[j].StartedAt)
	})
	return infos
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
	for _, proc := range procs {
		proc.state = StateRetired
	}
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
