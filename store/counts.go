package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Counts is a consistent snapshot of the store's counters, for metrics and
// the admin API. The scripts that move jobs update them in the same atomic
// step, so they equal what they count at every instant, on every instance.
//
// Queued, Delayed and Processing are gauges of jobs in each state now (the
// status "queued" covers Queued and Delayed). The totals count events since
// the counters were created and only grow, like Prometheus counters; they are
// not records, so the expiry of old job records cannot make them wrong.
type Counts struct {
	Queued     int64 // ready to lease, in the tenant queues (total queue depth)
	Delayed    int64 // waiting for a retry's backoff to pass, or deferred for the LLM's rate limit
	Processing int64 // leased

	Submitted int64 // jobs created (dedupe hits not included)
	Completed int64 // jobs completed
	Failed    int64 // jobs failed for good (each also went to dead letters)
	Retried   int64 // retries scheduled by Fail
	Expired   int64 // leases that expired and were taken back by the reaper

	// QueueDepth is Queued per tenant; tenants with no ready job are absent.
	QueueDepth map[string]int64
	// DedupeHits counts, per tenant, the submits answered with an existing job.
	DedupeHits map[string]int64
}

// Counts reads every counter in one transaction. It returns an error only
// when Redis does, or when a counter is not an integer (a hand-edited Redis).
func (s *RedisStore) Counts(ctx context.Context) (*Counts, error) {
	var stats, depth, dedupe *redis.MapStringStringCmd
	// MULTI makes the three reads one snapshot; on Cluster the keys share a
	// slot, so the transaction runs on one node.
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		stats = p.HGetAll(ctx, s.keys.stats())
		depth = p.HGetAll(ctx, s.keys.depth())
		dedupe = p.HGetAll(ctx, s.keys.dedupeHits())
		return nil
	})
	if err != nil {
		return nil, interpretError("counts", err)
	}
	c := &Counts{}
	fields := map[string]*int64{
		"queued": &c.Queued, "delayed": &c.Delayed, "processing": &c.Processing,
		"submitted": &c.Submitted, "completed": &c.Completed, "failed": &c.Failed,
		"retried": &c.Retried, "expired": &c.Expired,
	}
	for name, dst := range fields {
		if *dst, err = parseCount(stats.Val(), name); err != nil {
			return nil, err
		}
	}
	if c.QueueDepth, err = parseCounts(depth.Val()); err != nil {
		return nil, err
	}
	if c.DedupeHits, err = parseCounts(dedupe.Val()); err != nil {
		return nil, err
	}
	return c, nil
}

// parseCount reads one counter; an absent one is zero.
func parseCount(hash map[string]string, field string) (int64, error) {
	v, ok := hash[field]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: counter %q is not an integer: %w", field, err)
	}
	return n, nil
}

// parseCounts reads a hash of counters.
func parseCounts(hash map[string]string) (map[string]int64, error) {
	m := make(map[string]int64, len(hash))
	for field := range hash {
		n, err := parseCount(hash, field)
		if err != nil {
			return nil, err
		}
		m[field] = n
	}
	return m, nil
}
