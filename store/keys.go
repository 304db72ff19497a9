package store

// Every Redis key and channel name the store uses is built here, and only here.
//
// The names keep the layout of the service we replace (REFERENCE §3):
// <prefix>queue, <prefix>job:<id>, <prefix>dedupe:<tenant>:<sha1hex>.
//
// Lease, RequeueExpired and the dedupe lookup in Submit learn job ids inside
// Redis (from the queue, the lease set or a dedupe key), so their scripts build
// job keys from jobKeyPrefix in Lua instead of receiving them in KEYS. That is
// the one exception to "every key in KEYS", and the reason a Redis Cluster
// deployment must use a Prefix with a hash tag, e.g. "{hh:enrich}:", so that
// all keys of one store live in one slot.
//
// The per-tenant fair queues of a later issue get their builders here too.

// keys builds the key names of one store from its prefix.
type keys struct {
	prefix string
}

// queue is the list of job ids waiting for a lease. Submit pushes at the
// head (LPUSH), Lease pops from the tail (RPOP), so it is FIFO; requeues go
// to the tail so they are leased next.
func (k keys) queue() string { return k.prefix + "queue" }

// jobKeyPrefix is what a job id is appended to, in Go and in Lua.
func (k keys) jobKeyPrefix() string { return k.prefix + "job:" }

// job is the hash holding one job record.
func (k keys) job(jobID string) string { return k.jobKeyPrefix() + jobID }

// dedupe names the job that a tenant's dedupe source maps to.
func (k keys) dedupe(tenantID, sourceSHA1 string) string {
	return k.prefix + "dedupe:" + tenantID + ":" + sourceSHA1
}

// leases is the sorted set of leased job ids, scored by lease deadline in
// milliseconds by the Redis server's clock.
func (k keys) leases() string { return k.prefix + "leases" }

// wakeup is the list of wake tokens that idle workers block on.
func (k keys) wakeup() string { return k.prefix + "wakeup" }

// wakeupAbort is a per-call list that WaitForWork also blocks on, so that a
// cancelled context can end its blocking pop at once (see WaitForWork).
func (k keys) wakeupAbort(waitID string) string { return k.prefix + "wakeup:abort:" + waitID }

// events is the pub/sub channel that carries "<jobId> completed" and
// "<jobId> failed" messages for notified (not polled) sync waits.
func (k keys) events() string { return k.prefix + "events" }
