package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// JobError is why an attempt failed, as the worker classified it.
type JobError struct {
	Code      string // machine-readable, e.g. "python_timeout"; stored on the job
	Message   string
	Retryable bool // whether another attempt can help
}

// Error returns "code: message".
func (e JobError) Error() string { return e.Code + ": " + e.Message }

// completeScript ends a held lease with a result.
//
// KEYS[1] job key
// KEYS[2] leases
// ARGV[1] job id
// ARGV[2] lease token
// ARGV[3] result JSON
// ARGV[4] updatedAt
// ARGV[5] job TTL, ms
// ARGV[6] events channel
// Returns 1, or 0 when the lease is lost.
var completeScript = redis.NewScript(fenceLua + `
local jobID, token, result, updatedAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jobTTL, eventsChannel = ARGV[5], ARGV[6]

if not holdsLease(KEYS[1], KEYS[2], jobID, token) then
  return 0
end
redis.call('ZREM', KEYS[2], jobID)
redis.call('HSET', KEYS[1], 'status', 'completed', 'result', result, 'updatedAt', updatedAt)
redis.call('HDEL', KEYS[1], 'leaseToken')
redis.call('PEXPIRE', KEYS[1], jobTTL)
redis.call('PUBLISH', eventsChannel, jobID .. ' completed')
return 1
`)

// Complete marks the leased job completed with result (JSON; nil stores
// none) and publishes "<jobId> completed". It returns ErrLeaseLost when the
// lease expired or the job was leased again; the result is then dropped.
func (s *RedisStore) Complete(ctx context.Context, l *Lease, result json.RawMessage) error {
	if len(result) > 0 && !json.Valid(result) {
		return errors.New("store: complete: result is not valid JSON")
	}
	keys := []string{s.keys.job(l.Job.ID), s.keys.leases()}
	args := []any{
		l.Job.ID, l.Token, string(result), formatTime(s.cfg.Now()),
		millis(s.cfg.JobTTL), s.keys.events(),
	}
	done, err := completeScript.Run(ctx, s.client, keys, args...).Int64()
	if err != nil {
		return interpretError("complete", err)
	}
	if done != 1 {
		return ErrLeaseLost
	}
	return nil
}

// failScript ends a held lease with an error: the job goes back on the queue
// if the error is retryable and attempts remain, else it fails for good.
//
// KEYS[1] job key
// KEYS[2] leases
// KEYS[3] queue
// KEYS[4] wakeup list
// ARGV[1] job id
// ARGV[2] lease token
// ARGV[3] error code
// ARGV[4] error message
// ARGV[5] "1" if the error is retryable
// ARGV[6] max attempts
// ARGV[7] updatedAt
// ARGV[8] job TTL, ms
// ARGV[9] wakeup list LTRIM stop index
// ARGV[10] events channel
// Returns 1 when requeued, 0 when failed for good, -1 when the lease is lost.
var failScript = redis.NewScript(fenceLua + wakeLua + `
local jobID, token, code, message = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local retryable, maxAttempts, updatedAt = ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7]
local jobTTL, wakeTrimStop, eventsChannel = ARGV[8], ARGV[9], ARGV[10]

if not holdsLease(KEYS[1], KEYS[2], jobID, token) then
  return -1
end
redis.call('ZREM', KEYS[2], jobID)
redis.call('HDEL', KEYS[1], 'leaseToken')
redis.call('PEXPIRE', KEYS[1], jobTTL)
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attemptCount'))
if retryable and attempts < maxAttempts then
  redis.call('HSET', KEYS[1], 'status', 'queued', 'errorCode', code, 'error', message,
    'retried', 'true', 'updatedAt', updatedAt)
  -- The tail is the end Lease pops: a retry runs next, not behind the backlog.
  redis.call('RPUSH', KEYS[3], jobID)
  wake(KEYS[4], 1, wakeTrimStop)
  return 1
end
redis.call('HSET', KEYS[1], 'status', 'failed', 'errorCode', code, 'error', message,
  'retried', 'false', 'updatedAt', updatedAt)
redis.call('PUBLISH', eventsChannel, jobID .. ' failed')
return 0
`)

// Fail ends the leased job's attempt with jerr. The job is requeued (requeued
// true) when jerr.Retryable and it has had fewer than MaxAttempts leases;
// otherwise it fails for good and "<jobId> failed" is published. Either way
// jerr's code and message are stored on the job. It returns ErrLeaseLost when
// the lease expired or the job was leased again.
func (s *RedisStore) Fail(ctx context.Context, l *Lease, jerr JobError) (requeued bool, err error) {
	keys := []string{s.keys.job(l.Job.ID), s.keys.leases(), s.keys.queue(), s.keys.wakeup()}
	args := []any{
		l.Job.ID, l.Token, jerr.Code, jerr.Message, boolArg(jerr.Retryable),
		s.cfg.MaxAttempts, formatTime(s.cfg.Now()), millis(s.cfg.JobTTL),
		wakeupTrimStop, s.keys.events(),
	}
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
