package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// requeueBatch bounds how many expired leases one RequeueExpired call
// handles, so that one script never holds Redis for long.
const requeueBatch = 100

// requeueExpiredScript takes back leases whose deadline has passed: their
// holder died or hung (REFERENCE W4). A job on its last attempt fails with
// "lease_expired"; any other goes back on the queue, to the end leased next.
//
// KEYS[1] leases
// KEYS[2] queue
// KEYS[3] wakeup list
// ARGV[1] job key prefix
// ARGV[2] max attempts
// ARGV[3] batch size
// ARGV[4] updatedAt
// ARGV[5] job TTL, ms
// ARGV[6] wakeup list LTRIM stop index
// ARGV[7] events channel
// Returns {requeued, failed}.
var requeueExpiredScript = redis.NewScript(serverClockLua + wakeLua + `
local jobKeyPrefix, maxAttempts, batch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local updatedAt, jobTTL, wakeTrimStop, eventsChannel = ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local requeued, failed = 0, 0
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs(), 'LIMIT', 0, batch)
for _, jobID in ipairs(expired) do
  redis.call('ZREM', KEYS[1], jobID)
  local jobKey = jobKeyPrefix .. jobID
  local job = redis.call('HMGET', jobKey, 'status', 'attemptCount')
  -- Skip a job whose hash expired, or that is no longer processing.
  if job[1] == 'processing' then
    redis.call('HDEL', jobKey, 'leaseToken')
    redis.call('PEXPIRE', jobKey, jobTTL)
    local attempts = tonumber(job[2])
    if attempts >= maxAttempts then
      redis.call('HSET', jobKey, 'status', 'failed', 'errorCode', 'lease_expired',
        'error', 'lease expired on the last attempt (' .. attempts .. ')',
        'retried', 'false', 'updatedAt', updatedAt)
      redis.call('PUBLISH', eventsChannel, jobID .. ' failed')
      failed = failed + 1
    else
      redis.call('HSET', jobKey, 'status', 'queued', 'errorCode', 'lease_expired',
        'error', 'lease expired on attempt ' .. attempts, 'retried', 'true',
        'updatedAt', updatedAt)
      redis.call('RPUSH', KEYS[2], jobID)
      requeued = requeued + 1
    end
  end
end
if requeued > 0 then
  wake(KEYS[3], requeued, wakeTrimStop)
end
return {requeued, failed}
`)

// RequeueExpired handles up to 100 leases whose deadline (by the Redis
// clock) has passed: it requeues each job that has attempts left and fails
// the others with code "lease_expired". It is the Reaper's unit of work;
// several instances may run it at once.
func (s *RedisStore) RequeueExpired(ctx context.Context) (requeued, failed int, err error) {
	keys := []string{s.keys.leases(), s.keys.queue(), s.keys.wakeup()}
	args := []any{
		s.keys.jobKeyPrefix(), s.cfg.MaxAttempts, requeueBatch,
		formatTime(s.cfg.Now()), millis(s.cfg.JobTTL), wakeupTrimStop, s.keys.events(),
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
