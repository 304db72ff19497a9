package pool

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
)

// Workloads a plugin declares in Describe.
const (
	WorkloadCPU = "cpu" // the local rules: calls compete for the interpreter
	WorkloadIO  = "io"  // a remote model: calls wait on the network
)

// Tuning of the adaptive limit, after Netflix's concurrency-limits AIMD: grow by
// one per good answer while at least half the limit is in use, shrink by a tenth on
// a 429, a timeout or latency well above its long-run level.
const (
	adaptiveBackoff = 0.9
	// adaptiveLatencyTolerance: the recent latency may reach this multiple of the
	// long-run latency before it counts as the provider slowing down. A lognormal
	// LLM latency has a long tail; only a shift of the whole curve should count.
	adaptiveLatencyTolerance = 2.0
	adaptiveShortWeight      = 0.1  // EWMA weight of one sample in the recent latency
	adaptiveLongWeight       = 0.01 // ... and in the long-run latency
)

// adaptiveLimit is how many calls an I/O-bound pool keeps in flight. Its lock is
// taken alone (observe) or inside Pool.mu (tryAcquireLocked), never around Pool.mu.
type adaptiveLimit struct {
	mu    sync.Mutex
	limit float64
	min   float64
	max   float64
	// shortRTT and longRTT are moving averages of good answers' latency.
	shortRTT, longRTT float64
	// lastDecrease spaces decreases a long-run latency apart: a burst of 429s is
	// one signal, not one per call.
	lastDecrease time.Time
	now          func() time.Time
}

func newAdaptiveLimit(initial, maximum int, now func() time.Time) *adaptiveLimit {
	initial = max(1, min(initial, maximum))
	return &adaptiveLimit{limit: float64(initial), min: 1, max: float64(maximum), now: now}
}

// current is the number of calls that may be in flight now.
func (a *adaptiveLimit) current() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.limit)
}

// observe takes one finished call: its latency, the calls in flight when it
// started (itself included) and its error.
func (a *adaptiveLimit) observe(rtt time.Duration, inflight int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case backsOff(err):
		a.decreaseLocked()
	case err != nil:
		// Bad input or bad output says nothing about the provider's capacity.
	default:
		a.sampleLocked(rtt.Seconds())
		if a.shortRTT > adaptiveLatencyTolerance*a.longRTT {
			a.decreaseLocked()
		} else if 2*float64(inflight) >= a.limit {
			a.limit = min(a.max, a.limit+1)
		}
	}
}

func (a *adaptiveLimit) sampleLocked(rtt float64) {
	if a.longRTT == 0 {
		a.shortRTT, a.longRTT = rtt, rtt
		return
	}
	a.shortRTT += adaptiveShortWeight * (rtt - a.shortRTT)
	a.longRTT += adaptiveLongWeight * (rtt - a.longRTT)
}

func (a *adaptiveLimit) decreaseLocked() {
	now := a.now()
	window := time.Duration(a.longRTT * float64(time.Second))
	if !a.lastDecrease.IsZero() && now.Sub(a.lastDecrease) < window {
		return
	}
	a.lastDecrease = now
	a.limit = max(a.min, a.limit*adaptiveBackoff)
	// The recent latency starts over from the long-run one, so one slow stretch
	// shrinks the limit once, not on every answer until the average forgets it.
	a.shortRTT = a.longRTT
}

// backsOff says which failures mean the provider has too much of us: its 429s,
// its timeouts and its being unavailable.
func backsOff(err error) bool {
	var perr *pyplugin.Error
	if !errors.As(err, &perr) {
		return false
	}
	switch perr.Reason {
	case pyplugin.ReasonUpstreamRateLimited, pyplugin.ReasonTimeout, pyplugin.ReasonUpstreamUnavailable:
		return true
	}
	return false
}

// Concurrency describes how the pool sizes its calls in flight, for the admin API,
// metrics and tests.
type Concurrency struct {
	// Workload is what the plugins declared: "cpu" or "io".
	Workload string `json:"workload"`
	// PerProcess is the most calls one process holds: ENRICH_PLUGIN_CONCURRENCY,
	// bounded by the plugin's declared capacity.
	PerProcess int `json:"perProcess"`
	// Limit is the adaptive limit on calls in flight across the pool (io), or
	// Size × PerProcess (cpu).
	Limit int `json:"limit"`
	// InFlight is the calls running now.
	InFlight int `json:"inFlight"`
}

// Concurrency reports the pool's current concurrency.
func (p *Pool) Concurrency() Concurrency {
	p.mu.Lock()
	inflight := p.inflightLocked()
	workload, perProcess := p.workload, p.perProcessLocked()
	p.mu.Unlock()
	c := Concurrency{Workload: workload, PerProcess: perProcess, InFlight: inflight, Limit: p.cfg.Size * perProcess}
	if p.adaptive != nil {
		c.Limit = p.adaptive.current()
	}
	return c
}

// inflightNow counts the calls running on every process.
func (p *Pool) inflightNow() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflightLocked()
}

// inflightLocked counts the calls running on every process.
func (p *Pool) inflightLocked() int {
	n := 0
	for _, proc := range p.procs {
		n += proc.inflight
	}
	return n
}

// perProcessLocked is the most calls one process may hold.
func (p *Pool) perProcessLocked() int {
	if p.declaredCapacity > 0 {
		return min(p.cfg.ProcessConcurrency, p.declaredCapacity)
	}
	return p.cfg.ProcessConcurrency
}

// underAdaptiveLimitLocked says one more call may start as far as the adaptive
// limit goes (always, for a CPU-bound pool).
func (p *Pool) underAdaptiveLimitLocked() bool {
	return p.adaptive == nil || p.inflightLocked() < p.adaptive.current()
}

// learnWorkload asks a started process what its enricher is, and turns on the
// adaptive limit for an I/O-bound one. A plugin that cannot say (an older one)
// is taken as CPU-bound: the pool then never raises its concurrency by itself.
func (p *Pool) learnWorkload(proc *process) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.HealthTimeout)
	defer cancel()
	desc, err := proc.rpc.Describe(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.workload = WorkloadCPU
	if err != nil {
		p.log.Warn("plugin did not describe itself; taking it as CPU-bound", "error", err)
		return
	}
	p.declaredCapacity = int(desc.GetMaxConcurrency())
	p.enricher = EnricherInfo{Name: desc.GetEnricher(), ModelVersion: desc.GetModelVersion(), PromptVersion: desc.GetPromptVersion()}
	if desc.GetWorkload() != WorkloadIO {
		return
	}
	p.workload = WorkloadIO
	maximum := p.cfg.Size * p.perProcessLocked()
	p.adaptive = newAdaptiveLimit(p.cfg.Size*adaptiveInitialPerProcess, maximum, p.cfg.Now)
	p.log.Info("I/O-bound enricher: calls in flight adapt to the provider",
		"enricher", desc.GetEnricher(), "initial_limit", p.adaptive.current(), "max", maximum)
}

// EnricherInfo is what the plugins said they run, at start.
type EnricherInfo struct {
	Name, ModelVersion, PromptVersion string
}

// Enricher reports what the plugins run (zero when they did not say).
func (p *Pool) Enricher() EnricherInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.enricher
}

// adaptiveInitialPerProcess is where the adaptive limit starts, per process.
const adaptiveInitialPerProcess = 16
