package metrics

import "github.com/prometheus/client_golang/prometheus"

// embedBreakerCollector reads the hh-embed-svc client's breaker at scrape time.
type embedBreakerCollector struct{ state func() string }

// NewEmbedBreakerCollector reports the embedding client's circuit breaker as
// hh_enrich_breaker_state{scope="embed",id=""} (0 closed, 0.5 half-open,
// 1 open), from state ("closed", "half_open" or "open"; embed.Client.State) at
// each scrape. The exporter writes it to Cloud Monitoring as
// embed_circuit_state.
func NewEmbedBreakerCollector(state func() string) prometheus.Collector {
	return embedBreakerCollector{state: state}
}

// Describe sends nothing, which makes this an unchecked collector: the
// hh_enrich_breaker_state family is shared with the pool collector, and a
// registry refuses two collectors that describe the same metric.
func (embedBreakerCollector) Describe(chan<- *prometheus.Desc) {}

func (c embedBreakerCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, BreakerValue(c.state()), "embed", "")
}
