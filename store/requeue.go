package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// requeueBatch bounds how many expired leases one RequeueExpired call
// handles, so that one script never holds Redis for long.
const requeueBatch = 100

// requeueExpiredScript takes back leases whose deadline has passed: their
// holder died or hung (REFERENCE W4). A job on its last attempt fails with
// "lease_expired" and goes to its tenant's dead letters; any other is ready
// again at once, at the end of its queue leased next. It gets no backoff: the
// job did nothing wrong, its worker vanished.
//
// KEYS[1] leases
// KEYS[2] ring of tenants with work
// KEYS[3] stats
// KEYS[4] depth per tenant
// KEYS[5] wakeup list
// ARGV[1] job key prefix
// ARGV[2] high-priority queue prefix
// ARGV[3] normal-priority queue prefix
// ARGV[4] dead-letter list prefix
// ARGV[5] max attempts
// ARGV[6] batch size
// ARGV[7] updatedAt
// ARGV[8] job TTL, ms
// ARGV[9] dead-letter list cap
// ARGV[10] wakeup list LTRIM stop index
// ARGV[11] events channel
// Returns {requeued, failed}.
var requeueExpiredScript = redis.NewScript(storeLua + `
Q.leases, Q.ring, Q.stats, Q.depth, Q.wakeup = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
Q.jobKeyPrefix, Q.highPrefix, Q.normalPrefix = ARGV[1], ARGV[2], ARGV[3]
Q.jobTTL, Q.deadMax, Q.wakeTrimStop, Q.events = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local deadPrefix, maxAttempts, batch, updatedAt = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]

local requeued, failed = 0, 0
local expired = redis.call('ZRANGEBYSCORE', Q.leases, '-inf', nowMs(), 'LIMIT', 0, batch)
for _, jobID in ipairs(expired) do
  local jobKey = Q.jobKeyPrefix .. jobID
  local job = redis.call('HMGET', jobKey, 'status', 'attemptCount', 'tenantId', 'priority')
  endLease(jobKey, jobID)
  -- A job whose hash expired under its lease is only dropped.
  if job[1] == 'processing' then
    count('expired', 1)
    local attempts, tenant = tonumber(job[2]), job[3]
    if attempts >= maxAttempts then
      failForGood(jobKey, jobID, deadPrefix .. tenant, 'lease_expired',
        'lease expired on the last attempt (' .. attempts .. ')', updatedAt)
      failed = failed + 1
    else
      redis.call('HSET', jobKey, 'status', 'queued', 'errorCode', 'lease_expired',
        'error', 'lease expired on attempt ' .. attempts, 'retried', 'true',
        'updatedAt', updatedAt)
      forgetRateLimitWait(jobKey)
      local high, normal = tenantQueues(tenant)
      pushReady(tenant, high, normal, job[4] == '1', jobID, true)
      requeued = requeued + 1
    end
  end
end
if requeued > 0 then
  wake(requeued)
end
return {requeued, failed}
`)

// RequeueExpired handles up to 100 leases whose deadline (by the Redis
// clock) has passed: it makes each job that has attempts left ready again at
// once and fails the others with code "lease_expired" (to the dead letters).
// It is the Reaper's unit of work; several instances may run it at once.
func (s *RedisStore) RequeueExpired(ctx context.Context) (requeued, failed int, err error) {
	keys := []string{s.keys.leases(), s.keys.ring(), s.keys.stats(), s.keys.depth(), s.keys.wakeup()}
	args := []any{
		s.keys.jobKeyPrefix(), s.keys.queuePrefix(true), s.keys.queuePrefix(false), s.keys.deadLetterPrefix(),
		s.cfg.MaxAttempts, requeueBatch, formatTime(s.cfg.Now()), millis(s.cfg.JobTTL),
		s.cfg.DeadLetterMax, wakeupTrimStop, s.keys.events(),
	}
	counts, err := requeueExpiredScript.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, interpretError("requeue expired", err)
	}
	if len(counts) != 2 {
		return 0, 0, fmt.Errorf("store: requeue expired: unexpected reply %v", counts)
	}
	return int(counts[0]), int(counts[1]), nil
}

// promoteScript moves due retries from the delayed set to their queues and
// wakes a worker for each. Lease does the same for busy workers; this is for
// idle ones (see leaseScript).
//
// KEYS[1] delayed
// KEYS[2] ring of tenants with work
// KEYS[3] stats
// KEYS[4] depth per tenant
// KEYS[5] wakeup list
// ARGV[1] job key prefix
// ARGV[2] high-priority queue prefix
// ARGV[3] normal-priority queue prefix
// ARGV[4] batch size
// ARGV[5] wakeup list LTRIM stop index
// Returns {promoted, ms until the next retry is due (0 if already due), or
// -1 when none waits}.
var promoteScript = redis.NewScript(storeLua + `
Q.delayed, Q.ring, Q.stats, Q.depth, Q.wakeup = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
Q.jobKeyPrefix, Q.highPrefix, Q.normalPrefix = ARGV[1], ARGV[2], ARGV[3]
Q.wakeTrimStop = ARGV[5]
local batch = tonumber(ARGV[4])

local now = nowMs()
local promoted = promoteDue(now, batch)
if promoted > 0 then
  wake(promoted)
end
local nextDue = redis.call('ZRANGE', Q.delayed, 0, 0, 'WITHSCORES')
if #nextDue == 0 then
  return {promoted, -1}
end
return {promoted, math.max(0, tonumber(nextDue[2]) - now)}
`)

// promoteDue makes up to promoteBatch due retries ready and wakes a worker
// for each. It returns how many it moved and how long until the next retry
// is due, or -1 when no retry waits.
func (s *RedisStore) promoteDue(ctx context.Context) (promoted int, nextDue time.Duration, err error) {
	keys := []string{s.keys.delayed(), s.keys.ring(), s.keys.stats(), s.keys.depth(), s.keys.wakeup()}
	args := []any{
		s.keys.jobKeyPrefix(), s.keys.queuePrefix(true), s.keys.queuePrefix(false), promoteBatch, wakeupTrimStop,
	}
	reply, err := promoteScript.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, interpretError("promote retries", err)
	}
	if len(reply) != 2 {
		return 0, 0, fmt.Errorf("store: promote retries: unexpected reply %v", reply)
	}
	if reply[1] < 0 {
		return int(reply[0]), -1, nil
	}
	return int(reply[0]), time.Duration(reply[1]) * time.Millisecond, nil
}
