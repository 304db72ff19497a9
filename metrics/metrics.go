// Package metrics owns the service's telemetry: the Prometheus registry served on
// /metrics, the metric=* structured log lines of REFERENCE §7, and (with the
// exporter) Cloud Monitoring. It imports no other package of this module: the
// packages that own a number report it here, and state that lives elsewhere (queue
// depth, plugin processes) is read at scrape time through snapshot functions that
// cmd wires.
//
// Every recording method is safe on a nil *Metrics, so packages run without
// telemetry in unit tests.
package metrics

import (
	"cmp"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "hh_enrich"

// MaxTenantsDefault bounds the tenant label (ENRICH_METRICS_MAX_TENANTS).
const MaxTenantsDefault = 100

// Config configures Metrics.
type Config struct {
	// MaxTenants is how many distinct tenants get their own label value; later ones
	// are reported as "other", so a flood of tenants cannot blow up the series count.
	// Default 100.
	MaxTenants int
	// Logger receives the metric=* log lines. Default: hclog's default.
	Logger hclog.Logger
}

// Metrics holds the service's Prometheus metrics on its own registry.
type Metrics struct {
	registry *prometheus.Registry
	tenants  *tenantLabels
	logs     *logMetrics

	jobDuration   *prometheus.HistogramVec
	jobsCompleted *prometheus.CounterVec
	jobsFailed    *prometheus.CounterVec
	submissions   *prometheus.CounterVec
	embedOutcomes *prometheus.CounterVec
	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	// pluginCallItems: see PluginCall.
	pluginCallItems prometheus.Histogram
}

// pluginCallBuckets: 1 is a single Enrich; the powers of two reach past the
// worker's batches (ENRICH_BATCH_SIZE, 16) and the pool's coalesced calls (32).
var pluginCallBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128}

// jobBuckets span sub-millisecond rules enrichments to multi-minute LLM calls.
var jobBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// New returns Metrics registered on a fresh registry, with the Go runtime and
// process collectors.
func New(cfg Config) *Metrics {
	cfg.MaxTenants = cmp.Or(cfg.MaxTenants, MaxTenantsDefault)
	if cfg.Logger == nil {
		cfg.Logger = hclog.Default()
	}
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		tenants:  newTenantLabels(cfg.MaxTenants),
		logs:     newLogMetrics(cfg.Logger),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "job_duration_seconds",
			Help:    "Time a completed job spent, by phase (queue, python, firestore, embed, total).",
			Buckets: jobBuckets,
		}, []string{"phase"}),
		jobsCompleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "jobs_completed_total", Help: "Jobs completed, by tenant.",
		}, []string{"tenant"}),
		jobsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "jobs_failed_total",
			Help: "Failed job attempts, by tenant, error code and whether the job was retried.",
		}, []string{"tenant", "code", "retried"}),
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "submissions_total",
			Help: "Job submissions, by tenant and outcome (created or deduplicated).",
		}, []string{"tenant", "outcome"}),
		embedOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "embed_outcomes_total",
			Help: "Embedding upserts, by result (upserted, skipped, failed) and reason (skip reason or error category).",
		}, []string{"result", "reason"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help: "HTTP request latency, by route pattern and method.", Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		pluginCallItems: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "plugin_call_items",
			Help:    "Jobs carried by each call to a plugin process: 1 for an Enrich, more for an EnrichBatch.",
			Buckets: pluginCallBuckets,
		}),
	}
	m.registry.MustRegister(m.jobDuration, m.jobsCompleted, m.jobsFailed, m.submissions, m.embedOutcomes,
		m.httpRequests, m.httpDuration, m.pluginCallItems,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry every metric is on; the exporter gathers from it.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Register adds a collector (such as NewPoolCollector) to the registry.
func (m *Metrics) Register(c prometheus.Collector) error { return m.registry.Register(c) }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Tenant is the label value for tenant: itself for the first MaxTenants tenants
// seen, "other" after that.
func (m *Metrics) Tenant(tenant string) string {
	if m == nil {
		return tenant
	}
	return m.tenants.label(tenant)
}

// JobSubmitted counts a submission; created is false for a dedupe hit.
func (m *Metrics) JobSubmitted(tenant string, created bool) {
	if m == nil {
		return
	}
	outcome := "created"
	if !created {
		outcome = "deduplicated"
	}
	m.submissions.WithLabelValues(m.Tenant(tenant), outcome).Inc()
}

// JobCompleted counts a completed job and observes its phase durations (phase name
// → duration; "total" is the whole attempt).
func (m *Metrics) JobCompleted(tenant string, phases map[string]time.Duration) {
	if m == nil {
		return
	}
	m.jobsCompleted.WithLabelValues(m.Tenant(tenant)).Inc()
	for phase, d := range phases {
		m.jobDuration.WithLabelValues(phase).Observe(d.Seconds())
	}
}

// JobFailed counts a failed attempt with its error code; retried says whether the
// job goes back to the queue.
func (m *Metrics) JobFailed(tenant, code string, retried bool) {
	if m == nil {
		return
	}
	m.jobsFailed.WithLabelValues(m.Tenant(tenant), code, strconv.FormatBool(retried)).Inc()
}

// EmbedOutcome counts one embedding outcome: result is upserted, skipped or failed;
// reason the skip reason or error category ("" when upserted).
func (m *Metrics) EmbedOutcome(result, reason string) {
	if m == nil {
		return
	}
	m.embedOutcomes.WithLabelValues(result, reason).Inc()
}

// ObserveHTTP records one request. route must be the pattern the handler was
// registered under (e.g. /v1/enrich/status/:jobId), never the raw path.
func (m *Metrics) ObserveHTTP(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// PluginCall counts one call to a plugin process and the jobs it carried. Each
// call costs a plugin a fixed share of Python gRPC's own work (about 0.3 ms, more
// than a third of a rules enrichment), so jobs per call says how far that share is
// spread; make bench prints it per mode.
func (m *Metrics) PluginCall(jobs int) {
	if m == nil {
		return
	}
	m.pluginCallItems.Observe(float64(jobs))
}
