package store

// storeLua is the helper library every script starts with. Each script is
// still one script value beside the method that runs it; the library is only
// prepended to its source, so that the clock, the fencing rule, the queue
// rules and the counters are written once and every script keeps the same
// invariants:
//
//   - A tenant is in the ring exactly once while it has ready jobs, and not
//     at all otherwise (pushReady and popReady are the only writers of the
//     ring and the tenant queues).
//   - The counters in stats follow the data they count: "queued" is the
//     length of all tenant queues, "delayed" the size of the delayed set,
//     "processing" the size of the lease set; depth holds the queued count
//     per tenant. Every script that moves a job id between them updates the
//     counters in the same step, so they cannot drift (REFERENCE W18), even
//     when a job hash expires: the id is still counted until a script drops
//     it from its structure.
//   - "submitted", "completed", "failed", "retried" and "expired" only grow:
//     they count events, not records, so job hashes expiring after JobTTL
//     cannot make them wrong.
//   - A job hash has no TTL while its job is queued, delayed or processing;
//     it gets JobTTL only when the job ends (finish), so no job can vanish
//     while it waits, however long the backlog or a Retry-After.
//   - Every script that changes state is safe to run twice. A client that
//     loses a reply (a reset, an EOF, a read timeout) sends the same command
//     again, and Redis may already have run it. Each such call carries an
//     operation id; the script records op id → outcome under Q.op (a key in
//     the store's slot, living Config.ReplayWindow) and a second run with the
//     same id returns that outcome without doing anything (see recalled).
//
// Q holds the store-wide names and settings a script's helpers use. Each
// script fills the fields it needs from its own KEYS and ARGV first thing;
// per-job names (a job hash, a tenant's queues) are passed as arguments.
const storeLua = `
local Q = {}

-- nowMs is the Redis server's clock in milliseconds. Lease deadlines and
-- retry times use it rather than the caller's clock because several service
-- instances, whose clocks may be skewed, share one Redis: a deadline set by
-- one instance is judged expired by another's reaper, so both must read the
-- same clock.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- count adds by to a counter in the stats hash (Q.stats).
local function count(field, by)
  redis.call('HINCRBY', Q.stats, field, by)
end

-- holdsLease returns the server time in ms if token holds jobID's lease (in
-- Q.leases), else false. A holder whose deadline has passed has lost the
-- lease even before the reaper requeues the job, so exactly one rule decides
-- who may act on a job.
local function holdsLease(jobKey, jobID, token)
  local job = redis.call('HMGET', jobKey, 'status', 'leaseToken')
  if job[1] ~= 'processing' or job[2] ~= token then
    return false
  end
  local deadline = redis.call('ZSCORE', Q.leases, jobID)
  local now = nowMs()
  if not deadline or tonumber(deadline) <= now then
    return false
  end
  return now
end

-- endLease takes jobID out of the lease set and forgets its token. It is
-- also right for a job whose hash expired: the lease still counted.
local function endLease(jobKey, jobID)
  redis.call('ZREM', Q.leases, jobID)
  redis.call('HDEL', jobKey, 'leaseToken')
  count('processing', -1)
end

-- forgetRateLimitWait drops the current attempt's wait for the LLM's rate
-- limit (DeferForRateLimit): the attempt was charged or the job ended, so the
-- next attempt, if any, gets its own wait and its own give-up deadline.
local function forgetRateLimitWait(jobKey)
  redis.call('HDEL', jobKey, 'rateLimitWaitMs', 'rateLimitWaitingSince')
end

-- finish gives an ended job's hash its TTL and drops what only a run of the
-- job needed: its checkpoint always, its payload when it completed (a failed
-- job keeps it, for RequeueDeadLetter). Nothing else sets a job hash's TTL.
local function finish(jobKey, completed)
  forgetRateLimitWait(jobKey)
  if completed then
    redis.call('HDEL', jobKey, 'payload', 'checkpoint')
  else
    redis.call('HDEL', jobKey, 'checkpoint')
  end
  redis.call('PEXPIRE', jobKey, Q.jobTTL)
end

-- recalled returns what an earlier run of this call (same operation id,
-- Q.op) recorded, or false when this is its first run.
local function recalled()
  return redis.call('GET', Q.op)
end

-- remember records this call's outcome (a string) under its operation id for
-- Q.opTTL ms, the longest a client's retries of one call can take.
local function remember(outcome)
  redis.call('SET', Q.op, outcome, 'PX', Q.opTTL)
end

-- wake pushes n wake tokens onto Q.wakeup, in one command, and caps the
-- list, so that tokens nobody waits for cannot pile up. A stale token costs a
-- worker one empty Lease call. The list is trimmed only when the push took it
-- past the cap: LTRIM would be one more command for every submit.
local function wake(n)
  if n < 1 then
    return
  end
  local tokens = {}
  for i = 1, math.min(n, tonumber(Q.wakeTrimStop) + 1) do
    tokens[i] = '1'
  end
  if redis.call('LPUSH', Q.wakeup, unpack(tokens)) > tonumber(Q.wakeTrimStop) + 1 then
    redis.call('LTRIM', Q.wakeup, 0, Q.wakeTrimStop)
  end
end

-- tenantQueues returns a tenant's high and normal priority queue names.
local function tenantQueues(tenant)
  return Q.highPrefix .. tenant, Q.normalPrefix .. tenant
end

local function readyIn(high, normal)
  return redis.call('LLEN', high) + redis.call('LLEN', normal)
end

-- enqueueReady makes jobID ready to lease in its tenant's queue of its
-- priority: behind the tenant's other jobs (front false, new work), or at the
-- end Lease pops next (front true: a retry, a reaped or released job, which
-- already waited its turn). A tenant whose queues were empty joins the ring
-- behind every tenant with work. The push's reply (the queue's new length)
-- tells whether they were: under a backlog that takes no other read. It
-- leaves the counters to its caller: pushReady below, or a script that counts
-- many pushes at once.
local function enqueueReady(tenant, high, normal, isHigh, jobID, front)
  local q, other = normal, high
  if isHigh then
    q, other = high, normal
  end
  local length
  if front then
    length = redis.call('RPUSH', q, jobID)
  else
    length = redis.call('LPUSH', q, jobID)
  end
  if length == 1 and redis.call('LLEN', other) == 0 then
    redis.call('LPUSH', Q.ring, tenant)
  end
end

-- pushReady is enqueueReady, counted.
local function pushReady(tenant, high, normal, isHigh, jobID, front)
  enqueueReady(tenant, high, normal, isHigh, jobID, front)
  count('queued', 1)
  redis.call('HINCRBY', Q.depth, tenant, 1)
end

-- popReady takes the next ready job id, round-robin across tenants: the
-- tenant at the ring's tail gives its oldest high-priority job, else its
-- oldest normal one, and goes back to the ring's head if it has more. It
-- returns false when no tenant has work, and '' for a ring entry with no jobs
-- (which only a hand-edited Redis has; it is dropped). The id may name a job
-- whose hash expired; the caller skips it.
local function popReady()
  local tenant = redis.call('RPOP', Q.ring)
  if not tenant then
    return false
  end
  local high, normal = tenantQueues(tenant)
  local jobID = redis.call('RPOP', high) or redis.call('RPOP', normal)
  if readyIn(high, normal) > 0 then
    redis.call('LPUSH', Q.ring, tenant)
  end
  if not jobID then
    return ''
  end
  count('queued', -1)
  if redis.call('HINCRBY', Q.depth, tenant, -1) <= 0 then
    redis.call('HDEL', Q.depth, tenant)
  end
  return jobID
end

-- promoteDue moves up to batch retries whose time has come from Q.delayed to
-- their queues, at the end leased next. A job whose hash is gone (deleted by
-- hand; a waiting job's hash has no TTL) is dropped. It returns how many it
-- moved.
local function promoteDue(now, batch)
  local due = redis.call('ZRANGEBYSCORE', Q.delayed, '-inf', now, 'LIMIT', 0, batch)
  local moved = 0
  for _, jobID in ipairs(due) do
    redis.call('ZREM', Q.delayed, jobID)
    count('delayed', -1)
    local job = redis.call('HMGET', Q.jobKeyPrefix .. jobID, 'status', 'tenantId', 'priority')
    if job[1] == 'queued' then
      local high, normal = tenantQueues(job[2])
      pushReady(job[2], high, normal, job[3] == '1', jobID, true)
      moved = moved + 1
    end
  end
  return moved
end

-- failForGood ends a job as failed: counted, pushed onto its tenant's
-- dead-letter list (newest first, capped at Q.deadMax, living as long as its
-- newest entry's job) and announced on Q.events. 'retried' stays as it was: a
-- job retried before it failed says so, as one that completed on a retry does.
local function failForGood(jobKey, jobID, deadKey, code, message, updatedAt)
  redis.call('HSET', jobKey, 'status', 'failed', 'errorCode', code, 'error', message,
    'updatedAt', updatedAt)
  count('failed', 1)
  redis.call('LPUSH', deadKey, jobID)
  redis.call('LTRIM', deadKey, 0, tonumber(Q.deadMax) - 1)
  redis.call('PEXPIRE', deadKey, Q.jobTTL)
  finish(jobKey, false)
  redis.call('PUBLISH', Q.events, jobID .. ' failed')
end
`

// wakeupCapacity is how many wake tokens the wakeup list keeps.
const wakeupCapacity = 1000

// wakeupTrimStop is the LTRIM stop index that keeps wakeupCapacity tokens.
const wakeupTrimStop = wakeupCapacity - 1
