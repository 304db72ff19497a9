package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// JobError is why an attempt failed, as the worker classified it.
type JobError struct {
	Code      string // machine-readable, e.g. "python_timeout"; stored on the job
	Message   string
	Retryable bool // whether another attempt can help
	// RetryAfter is the least wait before the retry, when the failure said how long
	// (an LLM provider's Retry-After), capped at RetryAfterMax; the backoff applies
	// when it is longer.
	RetryAfter time.Duration
}

// Error returns "code: message".
func (e JobError) Error() string { return e.Code + ": " + e.Message }

// completeScript ends a held lease with a result.
//
// KEYS[1] job key
// KEYS[2] leases
// KEYS[3] stats
// KEYS[4] operation record
// ARGV[1] job id
// ARGV[2] lease token
// ARGV[3] result JSON
// ARGV[4] updatedAt
// ARGV[5] job TTL, ms
// ARGV[6] events channel
// ARGV[7] replay window, ms
// Returns 1, or 0 when the lease is lost; a replay returns 1 again.
var completeScript = redis.NewScript(storeLua + `
Q.leases, Q.stats, Q.op = KEYS[2], KEYS[3], KEYS[4]
Q.jobTTL, Q.opTTL = ARGV[5], ARGV[7]
local jobID, token, result, updatedAt, eventsChannel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[6]

if recalled() then
  return 1
end
if not holdsLease(KEYS[1], jobID, token) then
  return 0
end
endLease(KEYS[1], jobID)
redis.call('HSET', KEYS[1], 'status', 'completed', 'result', result, 'updatedAt', updatedAt)
-- An earlier attempt's error no longer describes the job (retried stays: it was).
redis.call('HDEL', KEYS[1], 'error', 'errorCode')
finish(KEYS[1], true)
count('completed', 1)
redis.call('PUBLISH', eventsChannel, jobID .. ' completed')
remember('1')
return 1
`)

// Complete marks the leased job completed with result (JSON; nil stores
// none) and publishes "<jobId> completed". It returns ErrLeaseLost when the
// lease expired or the job was leased again; the result is then dropped.
func (s *RedisStore) Complete(ctx context.Context, l *Lease, result json.RawMessage) error {
	if len(result) > 0 && !json.Valid(result) {
		return errors.New("store: complete: result is not valid JSON")
	}
	keys, args := s.completeKeysArgs(l, result)
	done, err := completeScript.Run(ctx, s.client, keys, args...).Int64()
	if err != nil {
		return interpretError("complete", err)
	}
	if done != 1 {
		return ErrLeaseLost
	}
	return nil
}

// completeKeysArgs builds completeScript's KEYS and ARGV, with a new operation id.
func (s *RedisStore) completeKeysArgs(l *Lease, result json.RawMessage) ([]string, []any) {
	keys := []string{s.keys.job(l.Job.ID), s.keys.leases(), s.keys.stats(), s.keys.op(newToken())}
	args := []any{
		l.Job.ID, l.Token, string(result), formatTime(s.cfg.Now()),
		millis(s.cfg.JobTTL), s.keys.events(), millis(s.cfg.ReplayWindow),
	}
	return keys, args
}

// failScript ends a held lease with an error: if the error is retryable and
// attempts remain, the job waits in the delayed set until its backoff has
// passed; else it fails for good and goes to its tenant's dead letters.
//
// KEYS[1] job key
// KEYS[2] leases
// KEYS[3] delayed
// KEYS[4] the tenant's dead-letter list
// KEYS[5] stats
// KEYS[6] operation record
// ARGV[1] job id
// ARGV[2] lease token
// ARGV[3] error code
// ARGV[4] error message
// ARGV[5] "1" if the error is retryable
// ARGV[6] max attempts
// ARGV[7] updatedAt
// ARGV[8] job TTL, ms
// ARGV[9] retry delay, ms
// ARGV[10] dead-letter list cap
// ARGV[11] events channel
// ARGV[12] replay window, ms
// Returns 1 when a retry is scheduled, 0 when failed for good, -1 when the
// lease is lost; a replay returns what the first run did.
var failScript = redis.NewScript(storeLua + `
Q.leases, Q.delayed, Q.stats, Q.op = KEYS[2], KEYS[3], KEYS[5], KEYS[6]
Q.jobTTL, Q.deadMax, Q.events, Q.opTTL = ARGV[8], ARGV[10], ARGV[11], ARGV[12]
local jobID, token, code, message = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local retryable, maxAttempts, updatedAt = ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7]
local retryDelay = tonumber(ARGV[9])

local outcome = recalled()
if outcome then
  return tonumber(outcome)
end
local now = holdsLease(KEYS[1], jobID, token)
if not now then
  return -1
end
endLease(KEYS[1], jobID)
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attemptCount'))
if retryable and attempts < maxAttempts then
  redis.call('HSET', KEYS[1], 'status', 'queued', 'errorCode', code, 'error', message,
    'retried', 'true', 'updatedAt', updatedAt)
  forgetRateLimitWait(KEYS[1])
  redis.call('ZADD', Q.delayed, now + retryDelay, jobID)
  count('delayed', 1)
  count('retried', 1)
  remember('1')
  return 1
end
failForGood(KEYS[1], jobID, KEYS[4], code, message, updatedAt)
remember('0')
return 0
`)

// Fail ends the leased job's attempt with jerr, whose code and message are
// stored on the job. When jerr.Retryable and the job has had fewer than
// MaxAttempts leases, the job is scheduled for a retry (requeued true) after
// a backoff (see Config.RetryBaseDelay) and stays queued; no worker waits
// for it. Otherwise it fails for good, goes to its tenant's dead letters and
// "<jobId> failed" is published. It returns ErrLeaseLost when the lease
// expired or the job was leased again.
func (s *RedisStore) Fail(ctx context.Context, l *Lease, jerr JobError) (requeued bool, err error) {
	keys, args := s.failKeysArgs(l, jerr)
	outcome, err := failScript.Run(ctx, s.client, keys, args...).Int64()
	if err != nil {
		return false, interpretError("fail", err)
	}
	switch outcome {
	case 1:
		return true, nil
	case 0:
		return false, nil
	case -1:
		return false, ErrLeaseLost
	}
	return false, fmt.Errorf("store: fail: unexpected reply %d", outcome)
}

// failKeysArgs builds failScript's KEYS and ARGV, with a new operation id.
func (s *RedisStore) failKeysArgs(l *Lease, jerr JobError) ([]string, []any) {
	keys := []string{
		s.keys.job(l.Job.ID), s.keys.leases(), s.keys.delayed(), s.keys.deadLetters(l.Job.TenantID), s.keys.stats(),
		s.keys.op(newToken()),
	}
	args := []any{
		l.Job.ID, l.Token, jerr.Code, jerr.Message, boolArg(jerr.Retryable),
		s.cfg.MaxAttempts, formatTime(s.cfg.Now()), millis(s.cfg.JobTTL),
		millis(max(s.cfg.retryDelay(l.Job.Attempts), min(jerr.RetryAfter, RetryAfterMax))),
		s.cfg.DeadLetterMax, s.keys.events(), millis(s.cfg.ReplayWindow),
	}
	return keys, args
}
