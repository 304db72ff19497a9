package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// submitScript creates and queues jobs, one for each submit it is given,
// unless a submit's dedupe key names a live job of the same tenant. Doing the
// lookup, the create, the enqueue and the counters in one script is what
// makes dedupe atomic (REFERENCE W6): concurrent submits of one candidate
// create one job, and no job exists that is not queued. The submits run in
// order, as if sent one by one, so a later one dedupes to an earlier one of
// the same call; the counters and the wake-ups are added once for all.
//
// Each new job's id is its submit's operation id: a replay finds the job it
// created (its hash exists), or the record of the job it deduped to, and
// returns that without counting anything again; SubmitBatch's record reads
// the same two.
//
// KEYS[1] ring of tenants with work
// KEYS[2] stats
// KEYS[3] depth per tenant
// KEYS[4] dedupe hits per tenant
// KEYS[5] wakeup list
// then for each submit, 5 keys:
//
//	dedupe key, key of the new job, the tenant's high-priority queue, the
//	tenant's normal-priority queue, operation record (op:<new job id>,
//	written only by a dedupe)
//
// ARGV[1] job key prefix (to find the job a dedupe key names)
// ARGV[2] replay window, ms
// ARGV[3] dedupe TTL, ms
// ARGV[4] wakeup list LTRIM stop index
// then for each submit:
//
//	n, the number of its job hash values; tenant id; "1" to force (skip the
//	lookup, take over the dedupe key, high priority); new job id; the values
//	of the new job's hash fields, the first n of newJobFields
//
// Returns, for each submit, {1} when it created the job, {0, {existing job
// hash pairs}} when it deduped.
var submitScript = redis.NewScript(storeLua + `
local newJobFields = ` + luaStringList(newJobFields) + `
Q.ring, Q.stats, Q.depth, Q.wakeup = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
Q.opTTL, Q.wakeTrimStop = ARGV[2], ARGV[4]
local dedupeHits, jobKeyPrefix, dedupeTTL = KEYS[4], ARGV[1], ARGV[3]

-- submitOne runs the submit whose keys start at KEYS[k] and whose arguments
-- at ARGV[a]. It returns the submit's reply and whether it queued a new job.
local function submitOne(k, a)
  local dedupeKey, jobKey, high, normal = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  Q.op = KEYS[k + 4]
  local fields, tenantID, force, jobID = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2] == '1', ARGV[a + 3]

  -- A replay: the id is new to each call, so its hash exists only if this
  -- call created it; a dedupe left a record. One EXISTS of both tells a
  -- first run, the common case, in one command.
  if redis.call('EXISTS', jobKey, Q.op) > 0 then
    if redis.call('EXISTS', jobKey) == 1 then
      return {1}, false
    end
    return {0, redis.call('HGETALL', jobKeyPrefix .. recalled())}, false
  end

  -- Claim the dedupe key. A new candidate, the common case, takes one
  -- command (SET NX); a force takes the key over.
  local claimed = force or redis.call('SET', dedupeKey, jobID, 'PX', dedupeTTL, 'NX')
  if not claimed then
    local existingID = redis.call('GET', dedupeKey)
    local existingKey = jobKeyPrefix .. existingID
    local existing = redis.call('HMGET', existingKey, 'tenantId', 'status')
    -- A failed job does not dedupe (REFERENCE W7), nor does an expired one.
    if existing[1] == tenantID and existing[2] and existing[2] ~= 'failed' then
      redis.call('HINCRBY', dedupeHits, tenantID, 1)
      remember(existingID)
      return {0, redis.call('HGETALL', existingKey)}, false
    end
  end
  if force or not claimed then
    redis.call('SET', dedupeKey, jobID, 'PX', dedupeTTL)
  end

  -- No TTL: the hash lives until the job ends (see finish).
  local hash = {}
  for i = 1, fields do
    hash[2 * i - 1], hash[2 * i] = newJobFields[i], ARGV[a + 3 + i]
  end
  redis.call('HSET', jobKey, unpack(hash))
  enqueueReady(tenantID, high, normal, force, jobID, false)
  return {1}, true
end

local replies, created = {}, 0
local queuedBy, tenants = {}, {}
local a = 5
for k = 6, #KEYS, 5 do
  local reply, queued = submitOne(k, a)
  replies[#replies + 1] = reply
  if queued then
    local tenantID = ARGV[a + 1]
    created = created + 1
    if not queuedBy[tenantID] then
      queuedBy[tenantID] = 0
      tenants[#tenants + 1] = tenantID
    end
    queuedBy[tenantID] = queuedBy[tenantID] + 1
  end
  a = a + 4 + tonumber(ARGV[a])
end

if created > 0 then
  count('submitted', created)
  count('queued', created)
  for _, tenantID in ipairs(tenants) do
    redis.call('HINCRBY', Q.depth, tenantID, queuedBy[tenantID])
  end
  wake(created)
end
return replies
`)

// Submit creates a queued job for req, or returns the job an equal earlier
// request created (created false, counted as the tenant's dedupe hit).
// Requests are equal when they have the same tenant and IdempotencyKey, or,
// without one, the same tenant, candidate and payload (compared as canonical
// JSON). A failed or expired job does not dedupe; Force always creates a job,
// queues it ahead of the tenant's normal jobs and makes later requests dedupe
// to it. It returns an error for a missing tenant or candidate, or a payload
// that is not JSON.
//
// Submits made at the same time share round trips (see submitQueue): one
// made while none is in flight goes at once.
func (s *RedisStore) Submit(ctx context.Context, req SubmitRequest) (job *Job, created bool, err error) {
	job, dedupeKey, err := s.newJob(req)
	if err != nil {
		return nil, false, err
	}
	reply, err := s.submits.submit(ctx, s, &pendingSubmit{tenantID: req.TenantID, force: req.Force, job: job, dedupeKey: dedupeKey})
	if err != nil {
		return nil, false, interpretError("submit", err)
	}
	return submitted(job, reply)
}

// submitKeysArgs builds submitScript's KEYS and ARGV for submits, in the order
// its comment lists.
func (s *RedisStore) submitKeysArgs(submits ...*pendingSubmit) ([]string, []any) {
	keys := make([]string, 0, 5+5*len(submits))
	keys = append(keys, s.keys.ring(), s.keys.stats(), s.keys.depth(), s.keys.dedupeHits(), s.keys.wakeup())
	args := make([]any, 0, 4+(4+len(newJobFields))*len(submits))
	args = append(args, s.keys.jobKeyPrefix(), millis(s.cfg.ReplayWindow), millis(s.cfg.DedupeTTL), wakeupTrimStop)
	for _, p := range submits {
		keys = append(keys, p.dedupeKey, s.keys.job(p.job.ID), s.keys.queue(p.tenantID, true),
			s.keys.queue(p.tenantID, false), s.keys.op(p.job.ID))
		n := len(args)
		args = append(args, 0, p.tenantID, boolArg(p.force), p.job.ID)
		args = appendNewJobValues(args, p.job, p.dedupeKey)
		args[n] = len(args) - n - 4
	}
	return keys, args
}

// submitted reads one submit's reply in submitScript's: job when it was
// created, else the job it deduped to.
func submitted(job *Job, reply any) (*Job, bool, error) {
	r, ok := reply.([]any)
	if !ok {
		return nil, false, fmt.Errorf("store: submit: unexpected reply %v", reply)
	}
	if len(r) == 1 {
		return job, true, nil
	}
	if len(r) != 2 {
		return nil, false, fmt.Errorf("store: submit: unexpected reply %v", r)
	}
	fields, err := pairsToMap(r[1])
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
	var sourceHash string
	payload, err := readPayloadWith(req.Payload, func(canonical []byte) { sourceHash = dedupeHash(req, canonical) })
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
	return job, s.keys.dedupe(req.TenantID, sourceHash), nil
}

// millis is a duration as the integer milliseconds PEXPIRE and SET PX take.
func millis(d time.Duration) int64 { return d.Milliseconds() }

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
