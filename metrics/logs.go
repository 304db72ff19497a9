package metrics

import (
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Names of the structured log metrics (REFERENCE §7), as the `metric` field.
const (
	LogJobSubmission       = "job_submission"
	LogJobCompleted        = "job_completed"
	LogJobFailed           = "job_failed"
	LogJobWaitComplete     = "job_wait_complete"
	LogJobWaitTimeout      = "job_wait_timeout"
	LogOperationalSnapshot = "operational_snapshot"
	LogTenantSubmission    = "tenant.submission"
	LogTenantDedupe        = "tenant.dedupe"
	LogEmbeddingSuccess    = "embedding_success"
	LogEmbeddingFailure    = "embedding_failure"
	LogHealthRedis         = "health.redis"
	LogHealthPython        = "health.python"
	LogHealthEmbed         = "health.embed"
)

// logMetrics writes metric=* lines and remembers the last health per component,
// so health lines are written only on change.
type logMetrics struct {
	log hclog.Logger

	mu     sync.Mutex
	health map[string]bool

	tenantTotals  map[string]int64 // submissions per tenant, this process
	tenantDedupes map[string]int64
	globalTotal   int64
	globalDedupes int64
}

func newLogMetrics(log hclog.Logger) *logMetrics {
	return &logMetrics{
		log:           log.Named("metrics"),
		health:        map[string]bool{},
		tenantTotals:  map[string]int64{},
		tenantDedupes: map[string]int64{},
	}
}

// Log writes one metric=name line at info with the given key/value fields.
func (m *Metrics) Log(name string, fields ...any) {
	if m == nil {
		return
	}
	m.logs.log.Info("metric", append([]any{"metric", name}, fields...)...)
}

// Health records a component's health (LogHealthRedis, LogHealthPython,
// LogHealthEmbed) and writes a line only when it changed, or on the first report.
func (m *Metrics) Health(name string, healthy bool) {
	if m == nil {
		return
	}
	m.logs.mu.Lock()
	last, known := m.logs.health[name]
	m.logs.health[name] = healthy
	m.logs.mu.Unlock()
	if !known || last != healthy {
		m.Log(name, "healthy", healthy)
	}
}

// Submitted counts a submission in the Prometheus counters and writes the
// job_submission line, plus tenant.submission or tenant.dedupe with the process's
// running totals (REFERENCE §7).
func (m *Metrics) Submitted(tenant, jobID, requestID string, created, forced bool) {
	if m == nil {
		return
	}
	m.JobSubmitted(tenant, created)
	m.Log(LogJobSubmission, "job_id", jobID, "tenant_id", tenant, "request_id", requestID,
		"created", created, "forced", forced)
	l := m.logs
	key := m.Tenant(tenant) // bounds the maps as the label is bounded
	l.mu.Lock()
	var name string
	var fields []any
	if created {
		l.tenantTotals[key]++
		l.globalTotal++
		name, fields = LogTenantSubmission, []any{"tenant_id", tenant, "total", l.tenantTotals[key], "global_total", l.globalTotal}
	} else {
		l.tenantDedupes[key]++
		l.globalDedupes++
		name, fields = LogTenantDedupe, []any{"tenant_id", tenant, "tenant_dedupe_count", l.tenantDedupes[key],
			"global_dedupe_count", l.globalDedupes}
	}
	l.mu.Unlock()
	m.Log(name, fields...)
}
