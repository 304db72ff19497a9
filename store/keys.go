package store

// Every Redis key and channel name the store uses is built here, and only here.
//
// With the default prefix "{hh:enrich}:" the names look like REFERENCE §3's,
// e.g. {hh:enrich}:job:<id> and {hh:enrich}:dedupe:<tenant>:<sha1hex>. The
// braces are a Redis Cluster hash tag: only "hh:enrich" is hashed, so every
// key of one store lives in one slot. That is what lets each Lua script touch
// all the keys it needs in one atomic step on Cluster, where a script may only
// touch keys of one slot; on a single Redis the tag is just part of the name.
//
// Several scripts learn names inside Redis: Lease pops a tenant from the ring
// and then needs that tenant's queues, the reaper and the promoter find job
// ids in sorted sets and then need their hashes and queues, Submit follows a
// dedupe key to a job. Those scripts get the name prefixes below in ARGV and
// append the id or tenant in Lua; that is the one exception to "every key in
// KEYS", and the one-slot prefix is what makes it safe on Cluster.
//
// What one slot costs: one master holds all of the store's keys and serves all
// of its commands, so adding masters adds failover, not queue throughput. One
// master runs these scripts at tens of thousands per second (see
// BenchmarkRedisStore), far above what the Python pool can enrich, so that is
// the right trade. Per-tenant slots would spread the load, but then leasing
// round-robin across tenants, the counters and the lease and retry sets would
// span slots: no script could do them atomically, and we would be back to
// multi-step updates that lose jobs and let counters drift (REFERENCE W6,
// W18).
//
// A tenant id comes last in every name that holds one, or just before a
// fixed-length hash (dedupe), so no tenant id can make two names collide,
// whatever characters it has.

// keys builds the key names of one store from its prefix.
type keys struct {
	prefix string
}

// jobKeyPrefix is what a job id is appended to, in Go and in Lua.
func (k keys) jobKeyPrefix() string { return k.prefix + "job:" }

// job is the hash holding one job record.
func (k keys) job(jobID string) string { return k.jobKeyPrefix() + jobID }

// dedupe names the job that a tenant's dedupe source maps to.
func (k keys) dedupe(tenantID, sourceSHA1 string) string {
	return k.prefix + "dedupe:" + tenantID + ":" + sourceSHA1
}

// queuePrefix is what a tenant id is appended to for that tenant's list of
// ready jobs of one priority, in Go and in Lua. Submit pushes at the head
// (LPUSH) and Lease pops from the tail (RPOP), so each list is FIFO; a job
// that already waited its turn (a retry, a reaped or released lease) goes
// back to the tail, to be leased next.
func (k keys) queuePrefix(high bool) string {
	if high {
		return k.prefix + "queue:high:"
	}
	return k.prefix + "queue:normal:"
}

// queue is a tenant's list of ready jobs of one priority.
func (k keys) queue(tenantID string, high bool) string { return k.queuePrefix(high) + tenantID }

// ring is the round-robin list of tenants that have ready jobs, each exactly
// once. Lease pops a tenant from the tail and, if it has more jobs, pushes it
// back at the head, behind every other tenant with work.
func (k keys) ring() string { return k.prefix + "tenants" }

// leases is the sorted set of leased job ids, scored by lease deadline in
// milliseconds by the Redis server's clock.
func (k keys) leases() string { return k.prefix + "leases" }

// delayed is the sorted set of job ids waiting to be retried, scored by the
// time (ms, Redis server clock) from which they may be leased again.
func (k keys) delayed() string { return k.prefix + "delayed" }

// deadLetterPrefix is what a tenant id is appended to for that tenant's
// dead-letter list, in Go and in Lua.
func (k keys) deadLetterPrefix() string { return k.prefix + "dead:" }

// deadLetters is a tenant's list of failed job ids, newest at the head,
// capped at Config.DeadLetterMax.
func (k keys) deadLetters(tenantID string) string { return k.deadLetterPrefix() + tenantID }

// stats is the hash of store-wide counters (see Counts). It is kept apart
// from the job key prefix (REFERENCE W18).
func (k keys) stats() string { return k.prefix + "stats" }

// depth is the hash of ready jobs per tenant; a tenant with none has no field.
func (k keys) depth() string { return k.prefix + "stats:depth" }

// dedupeHits is the hash of dedupe hits per tenant.
func (k keys) dedupeHits() string { return k.prefix + "stats:dedupe" }

// wakeup is the list of wake tokens that idle workers block on.
func (k keys) wakeup() string { return k.prefix + "wakeup" }

// wakeupAbort is a per-call list that WaitForWork also blocks on, so that a
// cancelled context can end its blocking pop at once (see WaitForWork).
func (k keys) wakeupAbort(waitID string) string { return k.prefix + "wakeup:abort:" + waitID }

// batch is a batch's record: its tenant and creation time.
func (k keys) batch(batchID string) string { return k.prefix + "batch:" + batchID }

// batchJobs lists a batch's job ids in submission order.
func (k keys) batchJobs(batchID string) string { return k.prefix + "batch:" + batchID + ":jobs" }

// events is the pub/sub channel that carries "<jobId> completed" and
// "<jobId> failed" messages for notified (not polled) sync waits.
func (k keys) events() string { return k.prefix + "events" }

// op records the outcome of one state-changing call under its operation id,
// for Config.ReplayWindow, so that a client's retry of the call returns the
// same outcome instead of running it again (see storeLua).
func (k keys) op(opID string) string { return k.prefix + "op:" + opID }
