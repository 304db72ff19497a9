package metrics

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BreakerValue is a breaker state as a gauge value: 0 closed, 0.5 half-open, 1 open
// (the reference's embed_circuit_state encoding).
func BreakerValue(state string) float64 {
	switch state {
	case "open":
		return 1
	case "half_open":
		return 0.5
	default:
		return 0
	}
}

// PoolSnapshot is the plugin pool as the pool collector reports it.
type PoolSnapshot struct {
	Processes []ProcessSnapshot
	Restarts  map[string]int // by reason, since start
	Circuit   string         // pool-wide breaker: closed, half_open, open
	Degraded  bool
}

// ProcessSnapshot is one plugin process.
type ProcessSnapshot struct {
	ID         int
	State      string
	Breaker    string
	RSSBytes   int64
	InFlight   int
	JobsServed int64
}

var (
	poolProcessesDesc = prometheus.NewDesc(Namespace+"_plugin_processes", "Plugin processes, by state.", []string{"state"}, nil)
	poolRestartsDesc  = prometheus.NewDesc(Namespace+"_plugin_restarts_total", "Plugin process replacements, by reason.", []string{"reason"}, nil)
	breakerDesc       = prometheus.NewDesc(Namespace+"_breaker_state",
		"Circuit breaker state (0 closed, 0.5 half-open, 1 open), by scope (process, pool, embed) and id.", []string{"scope", "id"}, nil)
	poolDegradedDesc = prometheus.NewDesc(Namespace+"_pool_degraded", "1 while the plugin pool is in a crash loop.", nil, nil)
	pluginRSSDesc    = prometheus.NewDesc(Namespace+"_plugin_resident_bytes", "Resident memory of each plugin process.", []string{"id"}, nil)
	pluginBusyDesc   = prometheus.NewDesc(Namespace+"_plugin_inflight_calls", "Calls running on each plugin process.", []string{"id"}, nil)
)

// poolCollector reads the pool at scrape time.
type poolCollector struct{ snapshot func() PoolSnapshot }

// NewPoolCollector reports plugin processes by state, restarts by reason, every
// breaker of the pool, and per-process memory and load, from snapshot at each scrape.
func NewPoolCollector(snapshot func() PoolSnapshot) prometheus.Collector {
	return poolCollector{snapshot: snapshot}
}

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolProcessesDesc, poolRestartsDesc, breakerDesc, poolDegradedDesc, pluginRSSDesc, pluginBusyDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.snapshot()
	byState := map[string]int{"ready": 0, "recycling": 0, "draining": 0}
	for _, p := range snap.Processes {
		byState[p.State]++
		id := strconv.Itoa(p.ID)
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, BreakerValue(p.Breaker), "process", id)
		ch <- prometheus.MustNewConstMetric(pluginRSSDesc, prometheus.GaugeValue, float64(p.RSSBytes), id)
		ch <- prometheus.MustNewConstMetric(pluginBusyDesc, prometheus.GaugeValue, float64(p.InFlight), id)
	}
	for state, n := range byState {
		ch <- prometheus.MustNewConstMetric(poolProcessesDesc, prometheus.GaugeValue, float64(n), state)
	}
	for reason, n := range snap.Restarts {
		ch <- prometheus.MustNewConstMetric(poolRestartsDesc, prometheus.CounterValue, float64(n), reason)
	}
	ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, BreakerValue(snap.Circuit), "pool", "")
	degraded := 0.0
	if snap.Degraded {
		degraded = 1
	}
	ch <- prometheus.MustNewConstMetric(poolDegradedDesc, prometheus.GaugeValue, degraded)
}

// QueueSnapshot is the job store's state as the queue collector reports it.
type QueueSnapshot struct {
	DepthByTenant  map[string]int64 // jobs waiting (queued or due for retry), by tenant
	JobsByStatus   map[string]int64 // live job records, by status
	DedupeByTenant map[string]int64 // dedupe hits since the store began counting
	DeadByTenant   map[string]int64 // dead letters, by tenant
	// Events counts, since the store began, what happened to jobs (submitted,
	// completed, failed, retried, expired), across every instance.
	Events map[string]int64
}

var (
	queueDepthDesc = prometheus.NewDesc(Namespace+"_queue_depth", "Jobs waiting to run, by tenant (\"all\" is the total).", []string{"tenant"}, nil)
	jobsDesc       = prometheus.NewDesc(Namespace+"_jobs", "Job records in the store, by status.", []string{"status"}, nil)
	dedupeDesc     = prometheus.NewDesc(Namespace+"_dedupe_hits_total", "Submissions answered with an existing job, by tenant.", []string{"tenant"}, nil)
	deadDesc       = prometheus.NewDesc(Namespace+"_dead_letters", "Jobs in the dead-letter lists, by tenant.", []string{"tenant"}, nil)
	scrapeErrDesc  = prometheus.NewDesc(Namespace+"_queue_scrape_errors_total", "Failed reads of the store at scrape time.", nil, nil)
	eventsDesc     = prometheus.NewDesc(Namespace+"_store_job_events_total",
		"Job events recorded by the store for every instance (submitted, completed, failed, retried, expired).", []string{"event"}, nil)
)

// queueCollector reads the store at scrape time (STYLE habit 19: queue depth from
// a collector, never a gauge kept in step by hand).
type queueCollector struct {
	m        *Metrics
	snapshot func(ctx context.Context) (QueueSnapshot, error)
	timeout  time.Duration
	errors   atomic.Int64
}

// NewQueueCollector reports queue depth (total and per tenant), jobs by status,
// dedupe hits and dead letters from snapshot, within timeout, at each scrape.
// Tenant labels are bounded like every other tenant label of m.
func (m *Metrics) NewQueueCollector(snapshot func(ctx context.Context) (QueueSnapshot, error), timeout time.Duration) prometheus.Collector {
	return &queueCollector{m: m, snapshot: snapshot, timeout: timeout}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueDepthDesc, jobsDesc, dedupeDesc, deadDesc, scrapeErrDesc, eventsDesc} {
		ch <- d
	}
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	snap, err := c.snapshot(ctx)
	if err != nil {
		c.errors.Add(1)
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.CounterValue, float64(c.errors.Load()))
	if err != nil {
		return
	}
	var total int64
	for _, n := range snap.DepthByTenant {
		total += n
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(total), "all")
	c.emitByTenant(ch, queueDepthDesc, prometheus.GaugeValue, snap.DepthByTenant)
	c.emitByTenant(ch, dedupeDesc, prometheus.CounterValue, snap.DedupeByTenant)
	c.emitByTenant(ch, deadDesc, prometheus.GaugeValue, snap.DeadByTenant)
	for status, n := range snap.JobsByStatus {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), status)
	}
	for event, n := range snap.Events {
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(n), event)
	}
}

// emitByTenant sums values into bounded tenant labels before emitting, since two
// tenants may share the "other" label.
func (c *queueCollector) emitByTenant(ch chan<- prometheus.Metric, desc *prometheus.Desc, kind prometheus.ValueType, byTenant map[string]int64) {
	sums := map[string]int64{}
	for tenant, n := range byTenant {
		sums[c.m.Tenant(tenant)] += n
	}
	for label, n := range sums {
		ch <- prometheus.MustNewConstMetric(desc, kind, float64(n), label)
	}
}
