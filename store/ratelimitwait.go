package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Job hash fields of the current attempt's wait for the LLM account's rate limit
// (absent until the attempt is first deferred). They describe one attempt, which
// deferrals do not end: an attempt that is charged (a retry, an expired lease) or a
// job that ends forgets them (forgetRateLimitWait in storeLua).
const (
	fieldRateLimitWaitMs       = "rateLimitWaitMs"
	fieldRateLimitWaitingSince = "rateLimitWaitingSince"
)

// RateLimitDeferral is how a leased job leaves its worker slot to wait for the
// LLM account's rate limit.
type RateLimitDeferral struct {
	// After is how long the job stays out of its queue: the limit's wait, plus
	// jitter. It is counted from the Redis server's clock, like a retry's backoff.
	After time.Duration
	// Waited is what this lease waited for the limit in its slot before giving up
	// the slot. The job's Job.RateLimitWait grows by Waited + After.
	Waited time.Duration
	// Since is when the attempt began waiting for the limit. A job that has a
	// Job.RateLimitWaitingSince keeps it: deferrals never move the give-up
	// deadline that counts from it.
	Since time.Time
}

// deferScript gives a held lease back to wait for the rate limit: the attempt is
// not charged and the job waits in the delayed set (status queued, counted as
// delayed) until the wait is over, when promoteDue makes it ready at the end of
// its queue leased next. The wait is added to the job's running total.
//
// KEYS[1] job key
// KEYS[2] leases
// KEYS[3] delayed
// KEYS[4] stats
// KEYS[5] operation record
// ARGV[1] job id
// ARGV[2] lease token
// ARGV[3] how long the job stays delayed, ms
// ARGV[4] wait to add to the total, ms
// ARGV[5] when the wait began (kept if the job has one)
// ARGV[6] updatedAt
// ARGV[7] replay window, ms
// Returns 1, or 0 when the lease is lost; a replay returns 1 again.
var deferScript = redis.NewScript(storeLua + `
Q.leases, Q.delayed, Q.stats, Q.op = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
Q.opTTL = ARGV[7]
local jobID, token, delayMs, waitedMs = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local since, updatedAt = ARGV[5], ARGV[6]

if recalled() then
  return 1
end
local now = holdsLease(KEYS[1], jobID, token)
if not now then
  return 0
end
endLease(KEYS[1], jobID)
redis.call('HINCRBY', KEYS[1], 'attemptCount', -1)
redis.call('HSET', KEYS[1], 'status', 'queued', 'updatedAt', updatedAt)
redis.call('HINCRBY', KEYS[1], '` + fieldRateLimitWaitMs + `', waitedMs)
redis.call('HSETNX', KEYS[1], '` + fieldRateLimitWaitingSince + `', since)
redis.call('ZADD', Q.delayed, now + delayMs, jobID)
count('delayed', 1)
remember('1')
return 1
`)

// DeferForRateLimit gives the leased job back without charging the attempt, to
// wait out of its worker slot for the LLM account's rate limit: it is delayed
// for d.After (by the Redis clock), then ready again ahead of its tenant's other
// jobs of its priority. A worker slot is then free for work that needs no call
// (a cache hit, a checkpointed job) instead of holding a job that can do nothing.
//
// The Reaper makes it ready on time: it runs at least every Interval and at the
// delayed set's next due time, so a deferral of at least the Reaper's interval
// is never promoted late; a busy worker's Lease promotes it too. It returns
// ErrLeaseLost when the lease expired or the job was leased again.
func (s *RedisStore) DeferForRateLimit(ctx context.Context, l *Lease, d RateLimitDeferral) error {
	keys := []string{s.keys.job(l.Job.ID), s.keys.leases(), s.keys.delayed(), s.keys.stats(), s.keys.op(newToken())}
	args := []any{
		l.Job.ID, l.Token, millis(max(d.After, 0)), millis(max(d.Waited, 0) + max(d.After, 0)),
		formatTime(d.Since), formatTime(s.cfg.Now()), millis(s.cfg.ReplayWindow),
	}
	deferred, err := deferScript.Run(ctx, s.client, keys, args...).Int64()
	if err != nil {
		return interpretError("defer for the rate limit", err)
	}
	if deferred != 1 {
		return ErrLeaseLost
	}
	return nil
}

// decodeRateLimitWait reads the current attempt's wait for the rate limit.
func decodeRateLimitWait(j *Job, f map[string]string) error {
	if v, ok := f[fieldRateLimitWaitMs]; ok {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return malformed(j.ID, fieldRateLimitWaitMs, err)
		}
		j.RateLimitWait = time.Duration(ms) * time.Millisecond
	}
	if v, ok := f[fieldRateLimitWaitingSince]; ok {
		since, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return malformed(j.ID, fieldRateLimitWaitingSince, fmt.Errorf("%q: %w", v, err))
		}
		j.RateLimitWaitingSince = since
	}
	return nil
}
