// Package store is the Redis job store: job records, per-tenant queues,
// leases, retries, dead letters and counters.
//
// # Life of a job
//
// Submit creates a job (atomically deduplicated per tenant) and queues it on
// its tenant's queue. Lease takes the next job round-robin across tenants
// with work, high priority (Force) first within a tenant, so one tenant's
// flood holds up another tenant's job by at most one job per busy tenant. The
// holder keeps the lease alive with Heartbeat and ends it with Complete, Fail
// or Release; only the current holder's token is accepted (fencing).
//
// A retryable Fail with attempts left schedules the job in a delayed set
// with backoff and jitter; it becomes leasable when its time comes (see
// Lease and Reaper), with no worker slot sleeping on it. A final failure
// goes to the tenant's bounded dead-letter list, which DeadLetters lists and
// RequeueDeadLetter takes jobs back from. A lease that is not renewed
// expires, and RequeueExpired (run by every instance's Reaper) puts the job
// back in its queue, or fails it on its last attempt: a job leaves the store
// only by completing or failing for good.
//
// Every state change is one Lua script that also updates the counters Counts
// reads, so any number of service instances can share one Redis with no
// other coordination, and the counters cannot drift. Lease deadlines and
// retry times use the Redis server's clock. Complete and a final failure
// publish on a channel that a Notifier in every instance listens to, so sync
// waits anywhere wake at once.
//
// # Client retries and TTLs
//
// A client that loses a reply (reset, EOF, read timeout) sends the command
// again, and Redis may already have run it. Every state-changing script
// carries an operation id and records its outcome under it for
// Config.ReplayWindow, so a replay returns the first run's outcome and changes
// nothing; a Lease whose reply never arrives gives its job back (see
// storeLua and abandonLease). A job hash has no TTL while the job is queued,
// delayed or processing: JobTTL starts when it completes or fails for good,
// so no backlog or Retry-After can make a job vanish. A completed job drops
// its payload and checkpoint; a failed one keeps its payload for
// RequeueDeadLetter.
//
// # Redis Cluster
//
// Every key carries the prefix's hash tag ("{hh:enrich}:" by default), so
// the store runs unchanged on Redis Cluster through a redis.ClusterClient
// (the service builds one with REDIS_MODE=cluster); keys.go says what that
// costs.
//
// # Redis settings production needs
//
// The scripts need Redis 5 or later (tested on 7.0; writes after TIME need
// effects replication). The store is only as durable as Redis. Run it with
// persistence and without eviction:
//
//   - appendonly yes, appendfsync everysec: every acknowledged submit and
//     state change is on disk within a second, so a Redis restart loses at
//     most the last second (appendfsync always loses nothing, at a
//     throughput cost). RDB snapshots alone would lose minutes of jobs. On
//     managed Redis (Memorystore, ElastiCache) turn on AOF persistence.
//   - maxmemory-policy noeviction: any evicting policy lets Redis delete
//     queues, lease sets, job records and dedupe keys under memory pressure,
//     which loses jobs silently and breaks the counters. With noeviction a
//     full Redis refuses writes instead: Submit returns an error (the API
//     answers 503) and nothing already stored is lost. Size maxmemory for
//     the backlog and the finished job records kept for JobTTL (a completed
//     one is about the size of its result plus ~1 KB).
//   - With replicas, failover can drop writes that had not reached the
//     replica; a lost lease is harmless (the job runs again), a lost submit
//     is not, so prefer min-replicas-to-write 1 where the deployment has
//     replicas. Keep the servers' clocks in sync (NTP): lease deadlines use
//     the clock of whichever server is the master.
//
// go-redis reconnects on every command, forever; HealthWatcher reports
// Redis's health and logs each change (metric=health.redis), and nothing is
// lost while Redis is away: leases that expire meanwhile are reaped once it
// is back, and the jobs run again.
package store
