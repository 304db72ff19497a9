package store

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headhunter/hh-enrich-svc/metrics"
)

// collectorTimeout bounds the Redis read behind one scrape.
const collectorTimeout = 2 * time.Second

// NewCollector reports queue depth (total and per tenant), jobs by state, dedupe
// hits and job events, read from Redis at each scrape, so the numbers are the
// store's own and cannot drift from it.
func (s *RedisStore) NewCollector(m *metrics.Metrics) prometheus.Collector {
	return m.NewQueueCollector(func(ctx context.Context) (metrics.QueueSnapshot, error) {
		c, err := s.Counts(ctx)
		if err != nil {
			return metrics.QueueSnapshot{}, err
		}
		return metrics.QueueSnapshot{
			DepthByTenant:  c.QueueDepth,
			JobsByStatus:   map[string]int64{"queued": c.Queued, "delayed": c.Delayed, "processing": c.Processing},
			DedupeByTenant: c.DedupeHits,
			Events: map[string]int64{"submitted": c.Submitted, "completed": c.Completed, "failed": c.Failed,
				"retried": c.Retried, "expired": c.Expired},
		}, nil
	}, collectorTimeout)
}
