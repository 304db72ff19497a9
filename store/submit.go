package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// submitScript creates and queues a job unless the dedupe key names a live
// job of the same tenant. Doing the lookup, the create, the enqueue and the
// counters in one script is what makes dedupe atomic (REFERENCE W6):
// concurrent submits of one candidate create one job, and no job exists that
// is not queued. The new job's id is the call's operation id: a replay finds
// the job it created (its hash exists), or the record of the job it deduped
// to, and returns that without counting anything again; SubmitBatch's record
// reads the same two.
//
// KEYS[1] dedupe key
// KEYS[2] key of the new job
// KEYS[3] the tenant's high-priority queue
// KEYS[4] the tenant's normal-priority queue
// KEYS[5] ring of tenants with work
// KEYS[6] stats
// KEYS[7] depth per tenant
// KEYS[8] dedupe hits per tenant
// KEYS[9] wakeup list
// KEYS[10] operation record (op:<new job id>), written only by a dedupe
// ARGV[1] job key prefix (to find the job a dedupe key names)
// ARGV[2] tenant id
// ARGV[3] "1" to force: skip the lookup, take over the dedupe key, high priority
// ARGV[4] new job id
// ARGV[5] replay window, ms
// ARGV[6] dedupe TTL, ms
// ARGV[7] wakeup list LTRIM stop index
// ARGV[8...] the new job's hash, field/value pairs
// Returns {1} when it created the job, {0, {existing job hash pairs}} when
// it deduped.
var submitScript = redis.NewScript(storeLua + `
Q.ring, Q.stats, Q.depth, Q.wakeup, Q.op = KEYS[5], KEYS[6], KEYS[7], KEYS[9], KEYS[10]
Q.wakeTrimStop, Q.opTTL = ARGV[7], ARGV[5]
local jobKeyPrefix, tenantID, force, jobID = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4]
local dedupeTTL = ARGV[6]

-- A replay: the id is new to each call, so its hash exists only if this
-- call created it; a dedupe left a record.
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {1}
end
local resolved = recalled()
if resolved then
  return {0, redis.call('HGETALL', jobKeyPrefix .. resolved)}
end

if not force then
  local existingID = redis.call('GET', KEYS[1])
  if existingID then
    local existingKey = jobKeyPrefix .. existingID
    local existing = redis.call('HMGET', existingKey, 'tenantId', 'status')
    -- A failed job does not dedupe (REFERENCE W7), nor does an expired one.
    if existing[1] == tenantID and existing[2] and existing[2] ~= 'failed' then
      redis.call('HINCRBY', KEYS[8], tenantID, 1)
      remember(existingID)
      return {0, redis.call('HGETALL', existingKey)}
    end
  end
end

-- No TTL: the hash lives until the job ends (see finish).
redis.call('HSET', KEYS[2], unpack(ARGV, 8))
redis.call('SET', KEYS[1], jobID, 'PX', dedupeTTL)
pushReady(tenantID, KEYS[3], KEYS[4], force, jobID, false)
count('submitted', 1)
wake(1)
return {1}
`)

// Submit creates a queued job for req, or returns the job an equal earlier
// request created (created false, counted as the tenant's dedupe hit).
// Requests are equal when they have the same tenant and IdempotencyKey, or,
// without one, the same tenant, candidate and payload (compared as canonical
// JSON). A failed or expired job does not dedupe; Force always creates a job,
// queues it ahead of the tenant's normal jobs and makes later requests dedupe
// to it. It returns an error for a missing tenant or candidate, or a payload
// that is not JSON.
func (s *RedisStore) Submit(ctx context.Context, req SubmitRequest) (job *Job, created bool, err error) {
	job, dedupeKey, err := s.newJob(req)
	if err != nil {
		return nil, false, err
	}
	keys, args := s.submitKeysArgs(req.TenantID, req.Force, job, dedupeKey)
	reply, err := submitScript.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		return nil, false, interpretError("submit", err)
	}
	return submitted(job, reply)
}

// submitKeysArgs builds submitScript's KEYS and ARGV, in the order its comment lists.
func (s *RedisStore) submitKeysArgs(tenantID string, force bool, job *Job, dedupeKey string) ([]string, []any) {
	keys := []string{
		dedupeKey, s.keys.job(job.ID), s.keys.queue(tenantID, true), s.keys.queue(tenantID, false),
		s.keys.ring(), s.keys.stats(), s.keys.depth(), s.keys.dedupeHits(), s.keys.wakeup(), s.keys.op(job.ID),
	}
	args := []any{
		s.keys.jobKeyPrefix(), tenantID, boolArg(force), job.ID,
		millis(s.cfg.ReplayWindow), millis(s.cfg.DedupeTTL), wakeupTrimStop,
	}
	return keys, append(args, encodeJob(job, dedupeKey)...)
}

// submitted reads submitScript's reply: job when it was created, else the
// job it deduped to.
func submitted(job *Job, reply []any) (*Job, bool, error) {
	if len(reply) == 1 {
		return job, true, nil
	}
	if len(reply) != 2 {
		return nil, false, fmt.Errorf("store: submit: unexpected reply %v", reply)
	}
	fields, err := pairsToMap(reply[1])
	if err != nil {
		return nil, false, fmt.Errorf("store: submit: %w", err)
	}
	existing, err := decodeJob(fields)
	if err != nil {
		return nil, false, err
	}
	return existing, false, nil
}

// newJob builds the record Submit would create, and its dedupe key.
func (s *RedisStore) newJob(req SubmitRequest) (*Job, string, error) {
	if req.TenantID == "" || req.CandidateID == "" {
		return nil, "", errors.New("store: submit: tenant and candidate ids are required")
	}
	payload, err := compactPayload(req.Payload)
	if err != nil {
		return nil, "", err
	}
	source, err := dedupeSource(req, payload)
	if err != nil {
		return nil, "", err
	}
	now := s.cfg.Now().UTC().Truncate(time.Millisecond) // as stored
	job := &Job{
		ID:                  newToken(),
		TenantID:            req.TenantID,
		CandidateID:         req.CandidateID,
		CandidateDocumentID: req.TenantID + "_" + req.CandidateID,
		Status:              StatusQueued,
		CreatedAt:           now,
		UpdatedAt:           now,
		CorrelationID:       req.CorrelationID,
		Priority:            priorityNormal,
		Payload:             payload,
	}
	if req.Force {
		job.Priority = priorityForce
	}
	return job, s.keys.dedupe(req.TenantID, sha1Hex(source)), nil
}

// millis is a duration as the integer milliseconds PEXPIRE and SET PX take.
func millis(d time.Duration) int64 { return d.Milliseconds() }

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
