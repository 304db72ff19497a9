package metrics

import (
	"math"
	"sort"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	dto "github.com/prometheus/client_model/go"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MetricTypePrefix prefixes the type of every metric the Exporter writes.
const MetricTypePrefix = "custom.googleapis.com/hh_enrich/"

// The exported metrics (REFERENCE §7's names), each after MetricTypePrefix, and
// the Prometheus series each is read from.
const (
	exportJobLatency    = "job_latency_ms"      // GAUGE double {percentile}: job_duration_seconds{phase="total"}, last interval
	exportJobCompleted  = "job_completed_count" // CUMULATIVE int64 {tenant}: jobs_completed_total
	exportJobFailed     = "job_failed_count"    // CUMULATIVE int64 {tenant}: jobs_failed_total, all codes
	exportQueueDepth    = "queue_depth"         // GAUGE int64: queue_depth{tenant="all"}
	exportTenantJobs    = "tenant_job_count"    // CUMULATIVE int64 {tenant}: submissions_total{outcome="created"}
	exportEmbedSuccess  = "embed_success_ratio" // GAUGE double: upserted/(upserted+failed), last interval
	exportEmbedSkipped  = "embed_skipped_count" // CUMULATIVE int64 {reason}: embed_outcomes_total{result="skipped"}
	exportEmbedCircuit  = "embed_circuit_state" // GAUGE double 0/0.5/1: breaker_state{scope="embed"}
	exportLabelService  = "service"
	exportLabelInstance = "instance_id"
)

// latencyPercentiles are job_latency_ms's percentile label values.
var latencyPercentiles = []struct {
	label string
	q     float64
}{{"p50", .50}, {"p95", .95}, {"p99", .99}}

// windowState is what the last run read of the series exported as "over the
// last interval": a percentile or ratio since the process started would
// hardly move after the first hour. The baseline moves on even when a write
// fails, so a failed interval is lost rather than merged into the next one.
type windowState struct {
	latency          bucketCounts
	upserted, failed float64
}

// buildSeries maps gathered families to one point per series; series with no
// data (no family, no matching sample, an empty interval) are left out.
func (e *Exporter) buildSeries(families []*dto.MetricFamily, now time.Time) []*monitoringpb.TimeSeries {
	byName := make(map[string]*dto.MetricFamily, len(families))
	for _, f := range families {
		byName[f.GetName()] = f
	}
	b := &seriesBuilder{cfg: e.cfg, start: e.start, end: now}
	e.addLatency(b, byName[Namespace+"_job_duration_seconds"])
	b.cumulativeBy(exportJobCompleted, byName[Namespace+"_jobs_completed_total"], "tenant", "", "")
	b.cumulativeBy(exportJobFailed, byName[Namespace+"_jobs_failed_total"], "tenant", "", "")
	b.cumulativeBy(exportTenantJobs, byName[Namespace+"_submissions_total"], "tenant", "outcome", "created")
	b.cumulativeBy(exportEmbedSkipped, byName[Namespace+"_embed_outcomes_total"], "reason", "result", "skipped")
	if v, ok := maxWhere(byName[Namespace+"_queue_depth"], "tenant", "all"); ok {
		b.add(exportQueueDepth, metricpb.MetricDescriptor_GAUGE, nil, int64Value(v))
	}
	e.addEmbedRatio(b, byName[Namespace+"_embed_outcomes_total"])
	// The worst state, should there ever be more than one embed breaker.
	if v, ok := maxWhere(byName[Namespace+"_breaker_state"], "scope", "embed"); ok {
		b.add(exportEmbedCircuit, metricpb.MetricDescriptor_GAUGE, nil, doubleValue(v))
	}
	return b.series
}

// addLatency writes p50/p95/p99 in milliseconds of the jobs that completed
// since the last run, from the total-phase histogram's buckets.
func (e *Exporter) addLatency(b *seriesBuilder, f *dto.MetricFamily) {
	var now bucketCounts
	for _, m := range f.GetMetric() {
		if labelValue(m, "phase") == "total" && m.GetHistogram() != nil {
			now = countsOf(m.GetHistogram())
		}
	}
	window := now.minus(e.window.latency)
	e.window.latency = now
	if window.total <= 0 || len(window.bounds) == 0 {
		return
	}
	for _, p := range latencyPercentiles {
		ms := window.quantile(p.q) * 1000
		b.add(exportJobLatency, metricpb.MetricDescriptor_GAUGE, map[string]string{"percentile": p.label}, doubleValue(ms))
	}
}

// addEmbedRatio writes the share of embedding upserts that succeeded since
// the last run. Skips are left out: a disabled or open-circuit embed is not a
// failed one (embed_skipped_count and embed_circuit_state show those).
func (e *Exporter) addEmbedRatio(b *seriesBuilder, f *dto.MetricFamily) {
	upserted, failed := sumWhere(f, "result", "upserted"), sumWhere(f, "result", "failed")
	dUp, dFailed := upserted-e.window.upserted, failed-e.window.failed
	e.window.upserted, e.window.failed = upserted, failed
	if dUp+dFailed <= 0 {
		return
	}
	b.add(exportEmbedSuccess, metricpb.MetricDescriptor_GAUGE, nil, doubleValue(dUp/(dUp+dFailed)))
}

// seriesBuilder collects the TimeSeries of one run.
type seriesBuilder struct {
	cfg        ExporterConfig
	start, end time.Time
	series     []*monitoringpb.TimeSeries
}

// cumulativeBy writes one CUMULATIVE int64 series per value of the label by,
// summing the counters of f whose label whereName is whereValue (all of them
// when whereName is ""), so that labels the export drops (such as code)
// cannot yield two points for one series.
func (b *seriesBuilder) cumulativeBy(name string, f *dto.MetricFamily, by, whereName, whereValue string) {
	sums := map[string]float64{}
	for _, m := range f.GetMetric() {
		if whereName == "" || labelValue(m, whereName) == whereValue {
			sums[labelValue(m, by)] += sampleValue(m)
		}
	}
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.add(name, metricpb.MetricDescriptor_CUMULATIVE, map[string]string{by: k}, int64Value(sums[k]))
	}
}

// add appends one series of one point. A CUMULATIVE point covers the
// exporter's whole life, so its start never moves; Cloud Monitoring wants its
// end after its start.
func (b *seriesBuilder) add(name string, kind metricpb.MetricDescriptor_MetricKind, extra map[string]string, v *monitoringpb.TypedValue) {
	labels := map[string]string{exportLabelService: b.cfg.ServiceName, exportLabelInstance: b.cfg.InstanceID}
	for k, val := range extra {
		labels[k] = val
	}
	interval := &monitoringpb.TimeInterval{EndTime: timestamppb.New(b.end)}
	if kind == metricpb.MetricDescriptor_CUMULATIVE {
		interval.StartTime = timestamppb.New(b.start)
		if !b.end.After(b.start) {
			interval.EndTime = timestamppb.New(b.start.Add(time.Millisecond))
		}
	}
	valueType := metricpb.MetricDescriptor_DOUBLE
	if _, ok := v.GetValue().(*monitoringpb.TypedValue_Int64Value); ok {
		valueType = metricpb.MetricDescriptor_INT64
	}
	b.series = append(b.series, &monitoringpb.TimeSeries{
		Metric:     &metricpb.Metric{Type: MetricTypePrefix + name, Labels: labels},
		Resource:   &monitoredres.MonitoredResource{Type: "global", Labels: map[string]string{"project_id": b.cfg.ProjectID}},
		MetricKind: kind,
		ValueType:  valueType,
		Points:     []*monitoringpb.Point{{Interval: interval, Value: v}},
	})
}

func int64Value(v float64) *monitoringpb.TypedValue {
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{Int64Value: int64(math.Round(v))}}
}

func doubleValue(v float64) *monitoringpb.TypedValue {
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: v}}
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// sampleValue is a counter's, gauge's or untyped sample's value.
func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}

func sumWhere(f *dto.MetricFamily, name, value string) float64 {
	sum := 0.0
	for _, m := range f.GetMetric() {
		if labelValue(m, name) == value {
			sum += sampleValue(m)
		}
	}
	return sum
}

// maxWhere is the largest sample of f whose label name is value; ok is false
// when there is none.
func maxWhere(f *dto.MetricFamily, name, value string) (_ float64, ok bool) {
	best := math.Inf(-1)
	for _, m := range f.GetMetric() {
		if labelValue(m, name) == value {
			best, ok = math.Max(best, sampleValue(m)), true
		}
	}
	return best, ok
}

// bucketCounts is a classic histogram: finite upper bounds, ascending, with
// cumulative counts; total includes the +Inf bucket.
type bucketCounts struct {
	bounds     []float64
	cumulative []float64
	total      float64
}

func countsOf(h *dto.Histogram) bucketCounts {
	c := bucketCounts{total: float64(h.GetSampleCount())}
	for _, bk := range h.GetBucket() {
		if math.IsInf(bk.GetUpperBound(), +1) {
			continue
		}
		c.bounds = append(c.bounds, bk.GetUpperBound())
		c.cumulative = append(c.cumulative, float64(bk.GetCumulativeCount()))
	}
	return c
}

// minus is c less an earlier reading of the same histogram; an empty or
// differently shaped earlier reading counts as zero.
func (c bucketCounts) minus(earlier bucketCounts) bucketCounts {
	if len(earlier.bounds) != len(c.bounds) {
		return c
	}
	d := bucketCounts{bounds: c.bounds, cumulative: make([]float64, len(c.cumulative)), total: c.total - earlier.total}
	for i := range c.cumulative {
		d.cumulative[i] = c.cumulative[i] - earlier.cumulative[i]
	}
	return d
}

// quantile estimates the q-quantile as Prometheus's histogram_quantile does:
// linear interpolation inside the bucket holding rank q·total, from 0 below
// the first bucket; a rank in the +Inf bucket gives the largest finite bound.
func (c bucketCounts) quantile(q float64) float64 {
	if len(c.bounds) == 0 || c.total == 0 {
		return math.NaN()
	}
	rank := q * c.total
	i := sort.Search(len(c.cumulative), func(i int) bool { return c.cumulative[i] >= rank })
	if i == len(c.cumulative) {
		return c.bounds[len(c.bounds)-1]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = c.bounds[i-1], c.cumulative[i-1]
	}
	inBucket := c.cumulative[i] - below
	if inBucket == 0 {
		return c.bounds[i]
	}
	return lower + (c.bounds[i]-lower)*(rank-below)/inBucket
}
