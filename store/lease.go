package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is a worker's claim on one job until Deadline. Only the holder of
// Token may Heartbeat, Complete or Fail the job.
type Lease struct {
	Job   *Job   // the job as of the lease: status processing, Attempts counted
	Token string // fencing token; a later lease of the same job gets another
	// Deadline is by the Redis server's clock. Heartbeat updates it, so only
	// the goroutine that heartbeats may read it while heartbeats run.
	Deadline time.Time
}

// leaseDropBatch bounds how many dead queue entries (ids whose job hash has
// expired) one Lease script drops before it yields Redis to other clients.
const leaseDropBatch = 100

// leaseScript pops the oldest queued job and leases it. Ids whose job hash is
// gone (TTL expired while queued) are dropped on the way.
//
// KEYS[1] queue
// KEYS[2] leases
// ARGV[1] job key prefix
// ARGV[2] lease token
// ARGV[3] lease duration, ms
// ARGV[4] updatedAt
// ARGV[5] job TTL, ms
// ARGV[6] how many dead ids to drop before giving up
// Returns {"leased", deadline ms, {job hash pairs}}, {"empty"} when the queue
// is empty, or {"again"} when it dropped ARGV[6] dead ids (call it again).
var leaseScript = redis.NewScript(serverClockLua + `
local jobKeyPrefix, token, leaseMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local updatedAt, jobTTL, dropLimit = ARGV[4], ARGV[5], tonumber(ARGV[6])

for i = 1, dropLimit do
  local jobID = redis.call('RPOP', KEYS[1])
  if not jobID then
    return {'empty'}
  end
  local jobKey = jobKeyPrefix .. jobID
  if redis.call('HGET', jobKey, 'status') == 'queued' then
    local deadline = nowMs() + leaseMs
    redis.call('ZADD', KEYS[2], deadline, jobID)
    redis.call('HSET', jobKey, 'status', 'processing', 'leaseToken', token, 'updatedAt', updatedAt)
    redis.call('HINCRBY', jobKey, 'attemptCount', 1)
    redis.call('PEXPIRE', jobKey, jobTTL)
    return {'leased', deadline, redis.call('HGETALL', jobKey)}
  end
end
return {'again'}
`)

// Lease takes the oldest queued job and returns a lease on it, or (nil, nil)
// when the queue is empty. It never blocks; see WaitForWork.
func (s *RedisStore) Lease(ctx context.Context) (*Lease, error) {
	for {
		token := newToken()
		keys := []string{s.keys.queue(), s.keys.leases()}
		args := []any{
			s.keys.jobKeyPrefix(), token, millis(s.cfg.LeaseDuration),
			formatTime(s.cfg.Now()), millis(s.cfg.JobTTL), leaseDropBatch,
		}
		reply, err := leaseScript.Run(ctx, s.client, keys, args...).Slice()
		if err != nil {
			return nil, interpretError("lease", err)
		}
		switch {
		case len(reply) == 1 && reply[0] == "empty":
			return nil, nil
		case len(reply) == 1 && reply[0] == "again":
			continue // each round removed leaseDropBatch dead ids, so this ends
		case len(reply) == 3 && reply[0] == "leased":
			return leaseFromReply(token, reply[1], reply[2])
		}
		return nil, fmt.Errorf("store: lease: unexpected reply %v", reply)
	}
}

func leaseFromReply(token string, deadline, hash any) (*Lease, error) {
	deadlineMs, ok := deadline.(int64)
	if !ok {
		return nil, fmt.Errorf("store: lease: unexpected deadline %T", deadline)
	}
	fields, err := pairsToMap(hash)
	if err != nil {
		return nil, fmt.Errorf("store: lease: %w", err)
	}
	job, err := decodeJob(fields)
	if err != nil {
		return nil, err
	}
	return &Lease{Job: job, Token: token, Deadline: time.UnixMilli(deadlineMs).UTC()}, nil
}

// heartbeatScript moves a held lease's deadline to now + lease duration.
//
// KEYS[1] job key
// KEYS[2] leases
// ARGV[1] job id
// ARGV[2] lease token
// ARGV[3] lease duration, ms
// ARGV[4] job TTL, ms
// Returns the new deadline in ms, or -1 when the lease is lost.
var heartbeatScript = redis.NewScript(fenceLua + `
local jobID, token, leaseMs, jobTTL = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]

local now = holdsLease(KEYS[1], KEYS[2], jobID, token)
if not now then
  return -1
end
local deadline = now + leaseMs
redis.call('ZADD', KEYS[2], deadline, jobID)
-- A job that runs for longer than the TTL must not expire under its holder.
redis.call('PEXPIRE', KEYS[1], jobTTL)
return deadline
`)

// Heartbeat extends l to LeaseDuration from now (by the Redis clock) and
// records the new deadline in l.Deadline. It returns ErrLeaseLost when the
// lease expired or the job was leased again.
func (s *RedisStore) Heartbeat(ctx context.Context, l *Lease) error {
	keys := []string{s.keys.job(l.Job.ID), s.keys.leases()}
	args := []any{l.Job.ID, l.Token, millis(s.cfg.LeaseDuration), millis(s.cfg.JobTTL)}
	deadline, err := heartbeatScript.Run(ctx, s.client, keys, args...).Int64()
	if err != nil {
		return interpretError("heartbeat", err)
	}
	if deadline < 0 {
		return ErrLeaseLost
	}
	l.Deadline = time.UnixMilli(deadline).UTC()
	return nil
}
