package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// DeadLetters returns up to limit of tenantID's failed jobs, newest first,
// from its dead-letter list (at most Config.DeadLetterMax; limit <= 0 means
// all of them). Jobs whose record has expired, or that were requeued since,
// are left out. It returns an error only when Redis does.
func (s *RedisStore) DeadLetters(ctx context.Context, tenantID string, limit int) ([]*Job, error) {
	if limit <= 0 || limit > s.cfg.DeadLetterMax {
		limit = s.cfg.DeadLetterMax
	}
	ids, err := s.client.LRange(ctx, s.keys.deadLetters(tenantID), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, interpretError("dead letters", err)
	}
	// One round trip for all the records; on Cluster they share a slot, so
	// the pipeline goes to one node.
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.keys.job(id))
		}
		return nil
	})
	if err != nil {
		return nil, interpretError("dead letters", err)
	}
	jobs := make([]*Job, 0, len(ids))
	for _, cmd := range cmds {
		fields := cmd.Val()
		if fields[fieldStatus] != string(StatusFailed) || fields[fieldTenantID] != tenantID {
			continue
		}
		job, err := decodeJob(fields)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

// requeueDeadLetterScript takes a failed job off its tenant's dead-letter
// list and makes it ready again with a fresh set of attempts and no
// checkpoint: what an earlier attempt saved may be what failed it (bad
// output), and the job must run from the start. The job hash loses the TTL it
// got when it failed.
//
// KEYS[1] the tenant's dead-letter list
// KEYS[2] job key
// KEYS[3] the tenant's high-priority queue
// KEYS[4] the tenant's normal-priority queue
// KEYS[5] ring of tenants with work
// KEYS[6] stats
// KEYS[7] depth per tenant
// KEYS[8] wakeup list
// KEYS[9] operation record
// ARGV[1] job id
// ARGV[2] tenant id
// ARGV[3] updatedAt
// ARGV[4] replay window, ms
// ARGV[5] wakeup list LTRIM stop index
// Returns {1, {job hash pairs}} when requeued, {0} when the job is not on the
// list (an entry whose record expired is dropped). A replay returns {1, ...}
// again.
var requeueDeadLetterScript = redis.NewScript(storeLua + `
Q.ring, Q.stats, Q.depth, Q.wakeup, Q.op = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
Q.wakeTrimStop, Q.opTTL = ARGV[5], ARGV[4]
local jobID, tenantID, updatedAt = ARGV[1], ARGV[2], ARGV[3]

if recalled() then
  return {1, redis.call('HGETALL', KEYS[2])}
end
if redis.call('LREM', KEYS[1], 0, jobID) == 0 then
  return {0}
end
local job = redis.call('HMGET', KEYS[2], 'status', 'tenantId', 'priority')
if job[1] ~= 'failed' or job[2] ~= tenantID then
  return {0}
end
redis.call('HSET', KEYS[2], 'status', 'queued', 'attemptCount', 0, 'updatedAt', updatedAt)
redis.call('HDEL', KEYS[2], 'checkpoint')
redis.call('PERSIST', KEYS[2])
pushReady(tenantID, KEYS[3], KEYS[4], job[3] == '1', jobID, true)
wake(1)
remember('1')
return {1, redis.call('HGETALL', KEYS[2])}
`)

// RequeueDeadLetter takes the failed job jobID off tenantID's dead-letter
// list and queues it again, ahead of the tenant's other jobs of its
// priority, with its attempt count reset so that it gets MaxAttempts fresh
// attempts. The error of its last attempt stays on the job until the next
// one ends. It returns the job as requeued, or ErrNotFound when jobID is not
// on that tenant's list (another tenant's job, requeued already, dropped off
// the list or expired).
func (s *RedisStore) RequeueDeadLetter(ctx context.Context, tenantID, jobID string) (*Job, error) {
	if !jobIDPattern.MatchString(jobID) {
		return nil, ErrNotFound
	}
	keys := []string{
		s.keys.deadLetters(tenantID), s.keys.job(jobID), s.keys.queue(tenantID, true), s.keys.queue(tenantID, false),
		s.keys.ring(), s.keys.stats(), s.keys.depth(), s.keys.wakeup(), s.keys.op(newToken()),
	}
	args := []any{jobID, tenantID, formatTime(s.cfg.Now()), millis(s.cfg.ReplayWindow), wakeupTrimStop}
	reply, err := requeueDeadLetterScript.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		return nil, interpretError("requeue dead letter", err)
	}
	if len(reply) == 1 {
		return nil, ErrNotFound
	}
	if len(reply) != 2 {
		return nil, fmt.Errorf("store: requeue dead letter: unexpected reply %v", reply)
	}
	fields, err := pairsToMap(reply[1])
	if err != nil {
		return nil, fmt.Errorf("store: requeue dead letter: %w", err)
	}
	return decodeJob(fields)
}
