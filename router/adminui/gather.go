package adminui

import (
	"fmt"
	"math"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metric names the console reads from the service's registry (package metrics).
const (
	metricCompleted   = "hh_enrich_jobs_completed_total" // {tenant}, this instance
	metricFailed      = "hh_enrich_jobs_failed_total"    // {tenant, code, retried}, this instance
	metricSubmissions = "hh_enrich_submissions_total"    // {tenant, outcome}, this instance
	metricDuration    = "hh_enrich_job_duration_seconds" // {phase}, this instance
	metricEmbed       = "hh_enrich_embed_outcomes_total" // {result, reason}, this instance
	metricDepth       = "hh_enrich_queue_depth"          // {tenant}, the store (every instance)
	metricDedupe      = "hh_enrich_dedupe_hits_total"    // {tenant}, the store (every instance)
	metricBreaker     = "hh_enrich_breaker_state"        // {scope, id}: 0 closed, .5 half-open, 1 open
	metricLLMTokens   = "hh_enrich_llm_tokens_total"     // {tenant, kind}, this instance
	metricLLMCost     = "hh_enrich_llm_cost_total"       // {tenant}, this instance
	tenantAll         = "all"                            // queue_depth's total
	tenantOther       = "other"                          // tenants past ENRICH_METRICS_MAX_TENANTS
	phaseTotal        = "total"                          // job_duration_seconds' whole attempt
	embedUpserted     = "upserted"                       // embed_outcomes_total result
	embedFailed       = "failed"                         // embed_outcomes_total result
	failedForGood     = "false"                          // jobs_failed_total retried label
	breakerScopeEmbed = "embed"                          // breaker_state scope
)

// reading is one Gather of the registry, reduced to what the console shows.
// Counters are cumulative: the sampler turns two readings into rates.
type reading struct {
	completed, failed float64 // jobs completed; jobs failed for good
	latency           []bucket
	embedUpserted     float64
	embedFailed       float64
	embedBreaker      float64 // NaN when the embed client is off
	depth             map[string]float64
	tenants           map[string]*tenantNumbers
	failuresByCode    map[string]float64 // failed attempts, retried or not
}

// bucket is one cumulative histogram bucket.
type bucket struct {
	upper float64
	count float64
}

// tenantNumbers are one tenant label's numbers.
type tenantNumbers struct {
	Submitted    float64 // jobs created by submissions to this instance
	Deduplicated float64 // submissions to this instance answered with an existing job
	DedupeHits   float64 // the store's count, every instance
	Completed    float64 // by this instance
	Failed       float64 // failed for good, by this instance
	Retried      float64 // failed attempts that were retried, by this instance
	Depth        float64 // waiting now, the store
	Tokens       float64 // the LLM's tokens (prompt and completion), by this instance
	Cost         float64 // their cost at ENRICH_PRICE_*_PER_MTOK, by this instance
}

// gather reads g once. A registry that fails to gather some collector (Redis
// unreachable at scrape time) still returns what it could: that is kept.
func gather(g prometheus.Gatherer) (*reading, error) {
	rd := &reading{embedBreaker: math.NaN(), depth: map[string]float64{},
		tenants: map[string]*tenantNumbers{}, failuresByCode: map[string]float64{}}
	if g == nil {
		return rd, nil
	}
	families, err := g.Gather()
	for _, f := range families {
		rd.add(f)
	}
	if err != nil {
		return rd, fmt.Errorf("adminui: gather metrics: %w", err)
	}
	return rd, nil
}

func (rd *reading) add(f *dto.MetricFamily) {
	for _, m := range f.GetMetric() {
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
		tenant := label(m, "tenant")
		switch f.GetName() {
		case metricCompleted:
			rd.completed += v
			rd.tenant(tenant).Completed += v
		case metricFailed:
			rd.addFailure(tenant, label(m, "code"), label(m, "retried"), v)
		case metricSubmissions:
			if label(m, "outcome") == "created" {
				rd.tenant(tenant).Submitted += v
			} else {
				rd.tenant(tenant).Deduplicated += v
			}
		case metricDuration:
			if label(m, "phase") == phaseTotal {
				rd.latency = buckets(m.GetHistogram())
			}
		case metricEmbed:
			rd.addEmbed(label(m, "result"), v)
		case metricDepth:
			rd.depth[tenant] = v
			if tenant != tenantAll {
				rd.tenant(tenant).Depth = v
			}
		case metricDedupe:
			rd.tenant(tenant).DedupeHits = v
		case metricLLMTokens:
			rd.tenant(tenant).Tokens += v
		case metricLLMCost:
			rd.tenant(tenant).Cost += v
		case metricBreaker:
			if label(m, "scope") == breakerScopeEmbed {
				rd.embedBreaker = v
			}
		}
	}
}

func (rd *reading) addFailure(tenant, code, retried string, v float64) {
	rd.failuresByCode[code] += v
	if retried == failedForGood {
		rd.failed += v
		rd.tenant(tenant).Failed += v
	} else {
		rd.tenant(tenant).Retried += v
	}
}

func (rd *reading) addEmbed(result string, v float64) {
	switch result {
	case embedUpserted:
		rd.embedUpserted += v
	case embedFailed:
		rd.embedFailed += v
	}
}

func (rd *reading) tenant(name string) *tenantNumbers {
	t, ok := rd.tenants[name]
	if !ok {
		t = &tenantNumbers{}
		rd.tenants[name] = t
	}
	return t
}

// tenantNames lists the tenants the registry names, sorted, with "other" last.
func (rd *reading) tenantNames() []string {
	names := make([]string, 0, len(rd.tenants))
	hasOther := false
	for name := range rd.tenants {
		switch name {
		case tenantOther:
			hasOther = true
		case "", tenantAll:
		default:
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if hasOther {
		names = append(names, tenantOther)
	}
	return names
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// buckets copies a histogram's cumulative buckets and adds +Inf, which the
// exposition leaves implicit.
func buckets(h *dto.Histogram) []bucket {
	out := make([]bucket, 0, len(h.GetBucket())+1)
	for _, b := range h.GetBucket() {
		out = append(out, bucket{upper: b.GetUpperBound(), count: float64(b.GetCumulativeCount())})
	}
	return append(out, bucket{upper: math.Inf(1), count: float64(h.GetSampleCount())})
}

// quantile estimates the q-quantile of the observations between two readings of
// one histogram (prev may be nil: since the start), interpolating linearly
// inside the bucket that holds it, as Prometheus's histogram_quantile does. NaN
// when no observation fell between them; an observation past the last finite
// bound counts as that bound.
func quantile(q float64, prev, cur []bucket) float64 {
	if len(cur) == 0 {
		return math.NaN()
	}
	delta := make([]float64, len(cur))
	for i, b := range cur {
		delta[i] = b.count
		if len(prev) == len(cur) {
			delta[i] -= prev[i].count
		}
	}
	total := delta[len(delta)-1]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range cur {
		if delta[i] >= rank {
			if math.IsInf(b.upper, 1) {
				return lower
			}
			inBucket := delta[i] - below
			if inBucket <= 0 {
				return b.upper
			}
			return lower + (b.upper-lower)*(rank-below)/inBucket
		}
		lower, below = b.upper, delta[i]
	}
	return lower
}
