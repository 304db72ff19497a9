package pool

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/headhunter/hh-enrich-svc/metrics"
)

// NewCollector reports the pool to Prometheus at each scrape: processes by state,
// restarts by reason, every breaker, and per-process memory and load.
func (p *Pool) NewCollector() prometheus.Collector {
	return metrics.NewPoolCollector(func() metrics.PoolSnapshot {
		st := p.Status()
		snap := metrics.PoolSnapshot{Restarts: st.Restarts, Circuit: st.Circuit, Degraded: st.Degraded}
		for _, info := range st.Processes {
			snap.Processes = append(snap.Processes, metrics.ProcessSnapshot{
				ID: info.ID, State: info.State, Breaker: info.Breaker,
				RSSBytes: info.RSSBytes, InFlight: info.InFlight, JobsServed: info.JobsServed,
			})
		}
		return snap
	})
}
