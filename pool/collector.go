package pool

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/headhunter/hh-enrich-svc/metrics"
)

// restartReasons are every reason a process is replaced. Each is reported from
// the first scrape, at 0, so rate() and absence alerts see the series before the
// first restart of that kind (pool/collector_test.go keeps the list complete).
var restartReasons = []string{reasonCrashed, reasonHung, reasonUnhealthy, reasonBreakerOpen,
	reasonMaxJobs, reasonMaxRSS, reasonMaxAge, reasonOperator}

// NewCollector reports the pool to Prometheus at each scrape: processes by state,
// restarts by reason, every breaker, and per-process memory and load.
func (p *Pool) NewCollector() prometheus.Collector {
	return metrics.NewPoolCollector(func() metrics.PoolSnapshot {
		st := p.Status()
		restarts := make(map[string]int, len(restartReasons))
		for _, reason := range restartReasons {
			restarts[reason] = st.Restarts[reason]
		}
		for reason, n := range st.Restarts { // a reason added without updating the list
			restarts[reason] = n
		}
		snap := metrics.PoolSnapshot{Restarts: restarts, Circuit: st.Circuit, Degraded: st.Degraded}
		for _, info := range st.Processes {
			snap.Processes = append(snap.Processes, metrics.ProcessSnapshot{
				ID: info.ID, State: info.State, Breaker: info.Breaker,
				RSSBytes: info.RSSBytes, InFlight: info.InFlight, JobsServed: info.JobsServed,
			})
		}
		return snap
	})
}
