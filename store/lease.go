package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is a worker's claim on one job until Deadline. Only the holder of
// Token may Heartbeat, Complete, Fail or Release the job.
type Lease struct {
	Job   *Job   // the job as of the lease: status processing, Attempts counted
	Token string // fencing token; a later lease of the same job gets another
	// Deadline is by the Redis server's clock. Heartbeat updates it, so only
	// the goroutine that heartbeats may read it while heartbeats run.
	Deadline time.Time
}

const (
	// leaseDropBatch bounds how many dead queue entries (ids whose job hash
	// has expired) one Lease script drops before it yields Redis to other
	// clients.
	leaseDropBatch = 100
	// promoteBatch bounds how many due retries one script moves to the
	// queues, for the same reason.
	promoteBatch = 100
)

// leaseScript leases the next ready job, round-robin across tenants, high
// priority first within a tenant. Ids whose job hash is gone are dropped on
// the way; a live job's hash has no TTL, so only a hash deleted by hand, or
// one that expired under a version that let queued jobs expire, is.
//
// It first promotes due retries from the delayed set, so that a busy
// worker's ordinary Lease makes them leasable with no extra round trip and
// no polling. Idle workers, blocked in WaitForWork, learn of due retries from
// the Reaper, which promotes them on its own schedule and pushes a wake
// token for each (see Reaper). Capping WaitForWork's timeout at the next due
// time instead would cost a round trip per wait and still wake no sooner than
// a whole second, since Redis counts blocking timeouts in seconds.
//
// KEYS[1] ring of tenants with work
// KEYS[2] leases
// KEYS[3] delayed
// KEYS[4] stats
// KEYS[5] depth per tenant
// KEYS[6] wakeup list
// KEYS[7] operation record (op:<lease token>)
// ARGV[1] job key prefix
// ARGV[2] high-priority queue prefix
// ARGV[3] normal-priority queue prefix
// ARGV[4] lease token, also the call's operation id
// ARGV[5] lease duration, ms
// ARGV[6] updatedAt
// ARGV[7] replay window, ms
// ARGV[8] how many dead ids to drop before giving up
// ARGV[9] how many due retries to promote at most
// ARGV[10] wakeup list LTRIM stop index
// Returns {"leased", deadline ms, {job hash pairs}}, {"empty"} when no job is
// ready, or {"again"} when it dropped ARGV[8] dead ids (call it again). A
// replay of a call that leased returns the same lease (token → job is kept
// for the replay window), or {"empty"} if that lease has ended meanwhile;
// only a lease is recorded, since "empty" and "again" changed nothing a
// replay could do twice.
var leaseScript = redis.NewScript(storeLua + `
Q.ring, Q.leases, Q.delayed, Q.stats, Q.depth, Q.wakeup = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
Q.jobKeyPrefix, Q.highPrefix, Q.normalPrefix = ARGV[1], ARGV[2], ARGV[3]
Q.op, Q.opTTL, Q.wakeTrimStop = KEYS[7], ARGV[7], ARGV[10]
local token, leaseMs, updatedAt = ARGV[4], tonumber(ARGV[5]), ARGV[6]
local dropLimit, promoteLimit = tonumber(ARGV[8]), tonumber(ARGV[9])

local leasedID = recalled()
if leasedID then
  local jobKey = Q.jobKeyPrefix .. leasedID
  local deadline = redis.call('ZSCORE', Q.leases, leasedID)
  if deadline and redis.call('HGET', jobKey, 'leaseToken') == token then
    return {'leased', tonumber(deadline), redis.call('HGETALL', jobKey)}
  end
  return {'empty'}
end

local now = nowMs()
local promoted = promoteDue(now, promoteLimit)
if promoted > 0 then
  -- Idle workers may take them; if this call takes the only one, another
  -- worker's Lease just finds nothing.
  wake(promoted)
end
for i = 1, dropLimit do
  local jobID = popReady()
  if not jobID then
    return {'empty'}
  end
  local jobKey = Q.jobKeyPrefix .. jobID
  if jobID ~= '' and redis.call('HGET', jobKey, 'status') == 'queued' then
    local deadline = now + leaseMs
    redis.call('ZADD', Q.leases, deadline, jobID)
    redis.call('HSET', jobKey, 'status', 'processing', 'leaseToken', token, 'updatedAt', updatedAt)
    redis.call('HINCRBY', jobKey, 'attemptCount', 1)
    redis.call('PERSIST', jobKey) -- no TTL until the job ends (finish)
    count('processing', 1)
    remember(jobID)
    return {'leased', deadline, redis.call('HGETALL', jobKey)}
  end
end
return {'again'}
`)

// Lease takes the next ready job and returns a lease on it, or (nil, nil)
// when no job is ready. Tenants take turns (round-robin across tenants with
// ready jobs); within a tenant, jobs submitted with Force go first, then
// retries and reclaimed jobs, then the rest in submit order. It never
// blocks; see WaitForWork.
func (s *RedisStore) Lease(ctx context.Context) (*Lease, error) {
	for {
		token := newToken()
		reply, err := s.leaseOnce(ctx, token)
		if err != nil {
			// The script may have run and leased a job whose lease nobody
			// holds now: give it back rather than let it expire and be charged.
			s.abandonLease(ctx, token)
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

// leaseOnce runs leaseScript once with token.
func (s *RedisStore) leaseOnce(ctx context.Context, token string) ([]any, error) {
	keys := []string{
		s.keys.ring(), s.keys.leases(), s.keys.delayed(), s.keys.stats(), s.keys.depth(), s.keys.wakeup(),
		s.keys.op(token),
	}
	args := []any{
		s.keys.jobKeyPrefix(), s.keys.queuePrefix(true), s.keys.queuePrefix(false),
		token, millis(s.cfg.LeaseDuration), formatTime(s.cfg.Now()), millis(s.cfg.ReplayWindow),
		leaseDropBatch, promoteBatch, wakeupTrimStop,
	}
	return leaseScript.Run(ctx, s.client, keys, args...).Slice()
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

// heartbeatScript moves a held lease's deadline to now + lease duration. It
// needs no operation record: running it twice only moves the deadline to a
// later now + lease duration.
//
// KEYS[1] job key
// KEYS[2] leases
// ARGV[1] job id
// ARGV[2] lease token
// ARGV[3] lease duration, ms
// Returns the new deadline in ms, or -1 when the lease is lost.
var heartbeatScript = redis.NewScript(storeLua + `
Q.leases = KEYS[2]
local jobID, token, leaseMs = ARGV[1], ARGV[2], tonumber(ARGV[3])

local now = holdsLease(KEYS[1], jobID, token)
if not now then
  return -1
end
local deadline = now + leaseMs
redis.call('ZADD', Q.leases, deadline, jobID)
return deadline
`)

// Heartbeat extends l to LeaseDuration from now (by the Redis clock) and
// records the new deadline in l.Deadline. It returns ErrLeaseLost when the
// lease expired or the job was leased again.
func (s *RedisStore) Heartbeat(ctx context.Context, l *Lease) error {
	keys := []string{s.keys.job(l.Job.ID), s.keys.leases()}
	args := []any{l.Job.ID, l.Token, millis(s.cfg.LeaseDuration)}
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

// releaseScript gives a held lease back: the job is ready again at the end
// of its queue leased next, and the attempt is not charged.
//
// KEYS[1] job key
// KEYS[2] leases
// KEYS[3] the tenant's high-priority queue
// KEYS[4] the tenant's normal-priority queue
// KEYS[5] ring of tenants with work
// KEYS[6] stats
// KEYS[7] depth per tenant
// KEYS[8] wakeup list
// KEYS[9] operation record
// ARGV[1] job id
// ARGV[2] lease token
// ARGV[3] tenant id
// ARGV[4] updatedAt
// ARGV[5] replay window, ms
// ARGV[6] wakeup list LTRIM stop index
// Returns 1, or 0 when the lease is lost; a replay returns 1 again.
var releaseScript = redis.NewScript(storeLua + `
Q.leases, Q.ring, Q.stats, Q.depth, Q.wakeup, Q.op = KEYS[2], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
Q.opTTL, Q.wakeTrimStop = ARGV[5], ARGV[6]
local jobID, token, tenantID, updatedAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

if recalled() then
  return 1
end
if not holdsLease(KEYS[1], jobID, token) then
  return 0
end
endLease(KEYS[1], jobID)
redis.call('HINCRBY', KEYS[1], 'attemptCount', -1)
redis.call('HSET', KEYS[1], 'status', 'queued', 'updatedAt', updatedAt)
local priority = redis.call('HGET', KEYS[1], 'priority')
pushReady(tenantID, KEYS[3], KEYS[4], priority == '1', jobID, true)
wake(1)
remember('1')
return 1
`)

// Release gives the leased job back without charging the attempt: it is
// queued again, ahead of its tenant's other jobs of its priority, and another
// worker (on any instance) may lease it at once. A worker that is shutting
// down releases the jobs it will not finish, rather than failing them or
// letting their leases expire. It returns ErrLeaseLost when the lease expired
// or the job was leased again.
func (s *RedisStore) Release(ctx context.Context, l *Lease) error {
	tenant := l.Job.TenantID
	keys := []string{
		s.keys.job(l.Job.ID), s.keys.leases(), s.keys.queue(tenant, true), s.keys.queue(tenant, false),
		s.keys.ring(), s.keys.stats(), s.keys.depth(), s.keys.wakeup(), s.keys.op(newToken()),
	}
	args := []any{l.Job.ID, l.Token, tenant, formatTime(s.cfg.Now()), millis(s.cfg.ReplayWindow), wakeupTrimStop}
	released, err := releaseScript.Run(ctx, s.client, keys, args...).Int64()
	if err != nil {
		return interpretError("release", err)
	}
	if released != 1 {
		return ErrLeaseLost
	}
	return nil
}
