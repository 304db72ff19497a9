package store

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// abandonTimeout bounds the one attempt Lease makes to give back a lease whose
// reply it never got.
const abandonTimeout = 2 * time.Second

// abandonLeaseScript undoes a Lease call whose reply the client never got
// (its retries ran out, or its context ended while the reply was on the way):
// if that call leased a job, the job goes back to the front of its queue
// uncharged, as Release does; if it has not run, a tombstone under its
// operation id makes a late run of it lease nothing. Either way no lease is
// left without a holder until it expires, and no attempt is charged for it.
//
// A LeaseBatch call records several ids, space-separated; each is given back.
//
// KEYS[1] the Lease call's operation record (op:<lease token>)
// KEYS[2] leases
// KEYS[3] ring of tenants with work
// KEYS[4] stats
// KEYS[5] depth per tenant
// KEYS[6] wakeup list
// ARGV[1] job key prefix
// ARGV[2] high-priority queue prefix
// ARGV[3] normal-priority queue prefix
// ARGV[4] lease token
// ARGV[5] replay window, ms
// ARGV[6] updatedAt
// ARGV[7] wakeup list LTRIM stop index
// Returns how many jobs it gave back.
var abandonLeaseScript = redis.NewScript(storeLua + `
Q.op, Q.leases, Q.ring, Q.stats, Q.depth, Q.wakeup = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
Q.jobKeyPrefix, Q.highPrefix, Q.normalPrefix = ARGV[1], ARGV[2], ARGV[3]
Q.opTTL, Q.wakeTrimStop = ARGV[5], ARGV[7]
local token, updatedAt = ARGV[4], ARGV[6]

local recorded = recalled()
remember('')
if not recorded then
  return 0
end
local ids = {}
for leasedID in string.gmatch(recorded, '%S+') do
  table.insert(ids, leasedID)
end
-- Last leased first: each goes to the end leased next, so they keep their order.
local given = 0
for i = #ids, 1, -1 do
  local leasedID = ids[i]
  local jobKey = Q.jobKeyPrefix .. leasedID
  if holdsLease(jobKey, leasedID, token) then
    endLease(jobKey, leasedID)
    redis.call('HINCRBY', jobKey, 'attemptCount', -1)
    redis.call('HSET', jobKey, 'status', 'queued', 'updatedAt', updatedAt)
    local job = redis.call('HMGET', jobKey, 'tenantId', 'priority')
    local high, normal = tenantQueues(job[1])
    pushReady(job[1], high, normal, job[2] == '1', leasedID, true)
    given = given + 1
  end
end
if given > 0 then
  wake(given)
end
return given
`)

// abandonLease gives back what the Lease call with token may have leased; see
// abandonLeaseScript. It runs on a context of its own, since the caller's may
// be what ended the call, and its error is ignored: if Redis is
// still away, the lease expires and the reaper takes the job back.
func (s *RedisStore) abandonLease(ctx context.Context, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abandonTimeout)
	defer cancel()
	keys := []string{s.keys.op(token), s.keys.leases(), s.keys.ring(), s.keys.stats(), s.keys.depth(), s.keys.wakeup()}
	args := []any{
		s.keys.jobKeyPrefix(), s.keys.queuePrefix(true), s.keys.queuePrefix(false),
		token, millis(s.cfg.ReplayWindow), formatTime(s.cfg.Now()), wakeupTrimStop,
	}
	_ = abandonLeaseScript.Run(ctx, s.client, keys, args...).Err()
}
