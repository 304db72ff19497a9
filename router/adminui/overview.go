package adminui

import (
	"math"
	"net/http"
	"sort"
	"time"
)

// queueSeriesMax bounds the queue chart's per-tenant lines (the busiest).
const queueSeriesMax = 5

// overviewPage is the overview template's data.
type overviewPage struct {
	Counts     *countsView
	Pool       *poolSummary
	Embed      string // the embed breaker now: closed, half-open, open, off
	Charts     []chart
	Interval   string
	Samples    int
	StoreError bool
}

type countsView struct {
	Queued, Delayed, Processing, Submitted, Completed, Failed, Retried int64
}

type poolSummary struct {
	Ready, Size int
	Degraded    bool
	Circuit     string
}

func (c *Console) handleOverview(w http.ResponseWriter, r *http.Request, s *session) {
	page := overviewPage{Interval: c.cfg.SampleInterval.String()}
	counts, err := c.cfg.Jobs.Counts(r.Context())
	if page.StoreError = c.storeFailed(w, "counts", err); err == nil {
		page.Counts = &countsView{Queued: counts.Queued, Delayed: counts.Delayed, Processing: counts.Processing,
			Submitted: counts.Submitted, Completed: counts.Completed, Failed: counts.Failed, Retried: counts.Retried}
	}
	if c.cfg.Pool != nil {
		st := c.cfg.Pool.Status()
		page.Pool = &poolSummary{Ready: st.Ready, Size: st.Size, Degraded: st.Degraded, Circuit: st.Circuit}
	}
	samples := c.sampler.samples()
	page.Samples = len(samples)
	page.Embed = "off"
	if n := len(samples); n > 0 {
		page.Embed = breakerName(samples[n-1].EmbedBreaker)
	}
	page.Charts = c.charts(samples, s)
	v := c.newView(r, s, "Overview", "overview", page)
	v.Refresh = int(c.cfg.SampleInterval.Seconds())
	c.render(w, r, http.StatusOK, "overview", v)
}

// charts draws the last hour of samples. A tenant's admin sees only its own
// tenant's queue line.
func (c *Console) charts(samples []sample, s *session) []chart {
	times := make([]time.Time, len(samples))
	pick := func(f func(sample) float64) []float64 {
		out := make([]float64, len(samples))
		for i, smp := range samples {
			out[i] = f(smp)
		}
		return out
	}
	for i, smp := range samples {
		times[i] = smp.At
	}
	end, window := c.cfg.Now(), c.cfg.History
	return []chart{
		newChart("jobs", "Jobs per second", "Completed and failed for good, by this instance.", times, end, window, []series{
			{"completed", pick(func(s sample) float64 { return s.Completed })},
			{"failed", pick(func(s sample) float64 { return s.Failed })},
		}, axis{minMax: 1, format: formatRate}),
		newChart("latency", "Job latency", "p50, p95 and p99 of the jobs this instance completed in each interval.", times, end, window, []series{
			{"p50", pick(func(s sample) float64 { return s.P50 })},
			{"p95", pick(func(s sample) float64 { return s.P95 })},
			{"p99", pick(func(s sample) float64 { return s.P99 })},
		}, axis{minMax: 0.01, format: formatSeconds}),
		newChart("queue", "Queue depth", "Jobs waiting, in total and for the busiest tenants (the store: every instance).",
			times, end, window, queueSeries(samples, s), axis{minMax: 10, format: formatCount}),
		newChart("embed", "Embedding success", "Upserted ÷ (upserted + failed) in each interval, by this instance.", times, end, window, []series{
			{"success", pick(func(s sample) float64 { return s.EmbedRatio })},
		}, axis{minMax: 1, fixed: []float64{0, .5, 1}, format: formatPercent}),
		newChart("breakers", "Breakers", "0 closed, ½ half-open, 1 open.", times, end, window, []series{
			{"embedding", pick(func(s sample) float64 { return s.EmbedBreaker })},
			{"pool", pick(func(s sample) float64 { return s.PoolBreaker })},
			{"worst process", pick(func(s sample) float64 { return s.ProcessBreaker })},
		}, axis{minMax: 1, fixed: []float64{0, .5, 1}, format: breakerName, tickFormat: breakerTick}),
	}
}

// queueSeries is the total ("all") and the tenants with the highest peak.
func queueSeries(samples []sample, s *session) []series {
	peaks := map[string]float64{}
	for _, smp := range samples {
		for tenant, v := range smp.Depth {
			if tenant != tenantAll && s.maySee(tenant) {
				peaks[tenant] = max(peaks[tenant], v)
			}
		}
	}
	tenants := make([]string, 0, len(peaks))
	for t := range peaks {
		tenants = append(tenants, t)
	}
	sort.Slice(tenants, func(i, j int) bool {
		if peaks[tenants[i]] != peaks[tenants[j]] {
			return peaks[tenants[i]] > peaks[tenants[j]]
		}
		return tenants[i] < tenants[j]
	})
	names := []string{tenantAll}
	if !s.Operator {
		names = nil
	}
	names = append(names, tenants[:min(len(tenants), queueSeriesMax)]...)
	out := make([]series, 0, len(names))
	for _, name := range names {
		values := make([]float64, len(samples))
		for i, smp := range samples {
			v, ok := smp.Depth[name]
			if !ok {
				// A tenant whose queue emptied is absent: zero, once the store answered.
				v = math.NaN()
				if _, all := smp.Depth[tenantAll]; all {
					v = 0
				}
			}
			values[i] = v
		}
		out = append(out, series{Name: name, Values: values})
	}
	return out
}
