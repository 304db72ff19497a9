package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The calls here do one instance's Redis work for many jobs at once: a batch of
// leases in one script, every lease of a batch renewed in one script, and the
// batch's outcomes in one pipeline. They keep the single-job calls' rules (the
// fencing, the counters, replay safety by operation id); they only save round
// trips, which is most of what a cheap enrichment costs the store.

// MaxLeaseBatch bounds one LeaseBatch.
const MaxLeaseBatch = 256

// leaseBatchScript leases up to n ready jobs, in Lease's order, under one lease
// token (fencing stays per job: a later lease of any of them gets another token).
// It records the leased ids, space-separated, under the call's operation id, so a
// replay returns the same leases (those still held) and abandonLeaseScript can
// give them all back.
//
// KEYS and ARGV[1..10] as leaseScript's, and
// ARGV[11] how many jobs to lease at most
// Returns {more, deadline ms, {job hash pairs}, deadline ms, {job hash pairs}, ...}:
// more is 1 when it stopped after dropping ARGV[8] dead ids (call it again if it
// leased none), else 0.
var leaseBatchScript = redis.NewScript(storeLua + `
Q.ring, Q.leases, Q.delayed, Q.stats, Q.depth, Q.wakeup = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
Q.jobKeyPrefix, Q.highPrefix, Q.normalPrefix = ARGV[1], ARGV[2], ARGV[3]
Q.op, Q.opTTL, Q.wakeTrimStop = KEYS[7], ARGV[7], ARGV[10]
local token, leaseMs, updatedAt = ARGV[4], tonumber(ARGV[5]), ARGV[6]
local dropLimit, promoteLimit, want = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[11])

local reply = {0}
local recorded = recalled()
if recorded then
  for leasedID in string.gmatch(recorded, '%S+') do
    local jobKey = Q.jobKeyPrefix .. leasedID
    local deadline = redis.call('ZSCORE', Q.leases, leasedID)
    if deadline and redis.call('HGET', jobKey, 'leaseToken') == token then
      table.insert(reply, tonumber(deadline))
      table.insert(reply, redis.call('HGETALL', jobKey))
    end
  end
  return reply
end

local now = nowMs()
local promoted = promoteDue(now, promoteLimit)
if promoted > 0 then
  wake(promoted)
end
local deadline = now + leaseMs
local leased, dropped = {}, 0
while #leased < want do
  local jobID = popReady()
  if not jobID then
    break
  end
  local jobKey = Q.jobKeyPrefix .. jobID
  if jobID ~= '' and redis.call('HGET', jobKey, 'status') == 'queued' then
    redis.call('ZADD', Q.leases, deadline, jobID)
    redis.call('HSET', jobKey, 'status', 'processing', 'leaseToken', token, 'updatedAt', updatedAt)
    redis.call('HINCRBY', jobKey, 'attemptCount', 1)
    redis.call('PERSIST', jobKey)
    count('processing', 1)
    table.insert(leased, jobID)
    table.insert(reply, deadline)
    table.insert(reply, redis.call('HGETALL', jobKey))
  else
    dropped = dropped + 1
    if dropped >= dropLimit then
      reply[1] = 1
      break
    end
  end
end
if #leased > 0 then
  remember(table.concat(leased, ' '))
end
return reply
`)

// LeaseBatch leases up to n ready jobs in one round trip, in the order n calls of
// Lease would, and returns their leases (none when no job is ready). The leases
// share one token; each is still fenced on its own.
func (s *RedisStore) LeaseBatch(ctx context.Context, n int) ([]*Lease, error) {
	if n < 1 || n > MaxLeaseBatch {
		return nil, fmt.Errorf("store: lease batch: n = %d, want 1 to %d", n, MaxLeaseBatch)
	}
	for {
		token := newToken()
		reply, err := s.leaseBatchOnce(ctx, token, n)
		if err != nil {
			s.abandonLease(ctx, token) // gives back every job the lost reply named
			return nil, interpretError("lease batch", err)
		}
		if len(reply) == 0 || len(reply)%2 != 1 {
			return nil, fmt.Errorf("store: lease batch: unexpected reply of %d values", len(reply))
		}
		leases := make([]*Lease, 0, len(reply)/2)
		for i := 1; i < len(reply); i += 2 {
			l, err := leaseFromReply(token, reply[i], reply[i+1])
			if err != nil {
				return nil, err
			}
			leases = append(leases, l)
		}
		if more, _ := reply[0].(int64); more == 1 && len(leases) == 0 {
			continue // it dropped leaseDropBatch dead ids, so this ends
		}
		return leases, nil
	}
}

func (s *RedisStore) leaseBatchOnce(ctx context.Context, token string, n int) ([]any, error) {
	keys := []string{
		s.keys.ring(), s.keys.leases(), s.keys.delayed(), s.keys.stats(), s.keys.depth(), s.keys.wakeup(),
		s.keys.op(token),
	}
	args := []any{
		s.keys.jobKeyPrefix(), s.keys.queuePrefix(true), s.keys.queuePrefix(false),
		token, millis(s.cfg.LeaseDuration), formatTime(s.cfg.Now()), millis(s.cfg.ReplayWindow),
		leaseDropBatch, promoteBatch, wakeupTrimStop, n,
	}
	return leaseBatchScript.Run(ctx, s.client, keys, args...).Slice()
}

// heartbeatManyScript is heartbeatScript for many leases in one call. Like it, it
// needs no operation record.
//
// KEYS[1] leases
// KEYS[2...] the job keys
// ARGV[1] lease duration, ms
// ARGV[2...] job id, lease token, for each job key in order
// Returns each lease's new deadline in ms, or -1 for a lease that is lost.
var heartbeatManyScript = redis.NewScript(storeLua + `
Q.leases = KEYS[1]
local leaseMs = tonumber(ARGV[1])
local deadlines = {}
for i = 2, #KEYS do
  local jobID, token = ARGV[2 * i - 2], ARGV[2 * i - 1]
  local now = holdsLease(KEYS[i], jobID, token)
  if now then
    local deadline = now + leaseMs
    redis.call('ZADD', Q.leases, deadline, jobID)
    table.insert(deadlines, deadline)
  else
    table.insert(deadlines, -1)
  end
end
return deadlines
`)

// HeartbeatMany extends every lease in leases, as Heartbeat does, in one round
// trip. It returns the leases it found lost (their deadline passed, or their job
// was leased again), and an error only when Redis could not be asked; each kept
// lease's Deadline is updated.
func (s *RedisStore) HeartbeatMany(ctx context.Context, leases []*Lease) (lost []*Lease, err error) {
	if len(leases) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(leases)+1)
	args := make([]any, 0, 2*len(leases)+1)
	keys = append(keys, s.keys.leases())
	args = append(args, millis(s.cfg.LeaseDuration))
	for _, l := range leases {
		keys = append(keys, s.keys.job(l.Job.ID))
		args = append(args, l.Job.ID, l.Token)
	}
	deadlines, err := heartbeatManyScript.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return nil, interpretError("heartbeat many", err)
	}
	if len(deadlines) != len(leases) {
		return nil, fmt.Errorf("store: heartbeat many: %d deadlines for %d leases", len(deadlines), len(leases))
	}
	for i, deadline := range deadlines {
		if deadline < 0 {
			lost = append(lost, leases[i])
			continue
		}
		leases[i].Deadline = time.UnixMilli(deadline).UTC()
	}
	return lost, nil
}

// Ending is how one leased job's attempt ended, for EndMany: completed with
// Result when Failure is nil, else failed with Failure (retried or not, as Fail
// decides).
type Ending struct {
	Lease   *Lease
	Result  json.RawMessage
	Failure *JobError
}

// Ended is what EndMany did with one Ending: Err is ErrLeaseLost, a store error,
// or nil; Requeued says a failure was scheduled for a retry.
type Ended struct {
	Requeued bool
	Err      error
}

// EndMany completes or fails every ending's job, as Complete and Fail would, in
// one pipelined round trip, and reports each outcome in order. Each script keeps
// its own operation id, so a retried pipeline changes nothing twice.
func (s *RedisStore) EndMany(ctx context.Context, endings []Ending) []Ended {
	ended := make([]Ended, len(endings))
	calls := make([]func(redis.Scripter) *redis.Cmd, len(endings))
	for i, e := range endings {
		switch {
		case e.Failure != nil:
			keys, args := s.failKeysArgs(e.Lease, *e.Failure)
			calls[i] = func(c redis.Scripter) *redis.Cmd { return runScript(ctx, c, failScript, keys, args) }
		case len(e.Result) > 0 && !json.Valid(e.Result):
			ended[i].Err = errors.New("store: complete: result is not valid JSON")
		default:
			keys, args := s.completeKeysArgs(e.Lease, e.Result)
			calls[i] = func(c redis.Scripter) *redis.Cmd { return runScript(ctx, c, completeScript, keys, args) }
		}
	}
	cmds := s.pipelineScripts(ctx, calls)
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		outcome, err := cmd.Int64()
		switch {
		case err != nil:
			ended[i].Err = interpretError("end many", err)
		case outcome == -1 || (outcome == 0 && endings[i].Failure == nil):
			ended[i].Err = ErrLeaseLost
		default:
			ended[i].Requeued = endings[i].Failure != nil && outcome == 1
		}
	}
	return ended
}

// runScript sends script by its SHA when c is a pipeline (the caller resends a
// NOSCRIPT), and with Run's fallback otherwise.
func runScript(ctx context.Context, c redis.Scripter, script *redis.Script, keys []string, args []any) *redis.Cmd {
	if _, ok := c.(redis.Pipeliner); ok {
		return script.EvalSha(ctx, c, keys, args...)
	}
	return script.Run(ctx, c, keys, args...)
}

// pipelineScripts runs calls (nil ones skipped) in one pipeline. A call whose
// script Redis had lost (a restart or SCRIPT FLUSH), or whose reply the
// connection lost, is sent again on its own; only those, since the others ran.
func (s *RedisStore) pipelineScripts(ctx context.Context, calls []func(redis.Scripter) *redis.Cmd) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	pipe := s.client.Pipeline()
	for i, call := range calls {
		if call != nil {
			cmds[i] = call(pipe)
		}
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx) // each command's own error is read by the caller
	}
	for i, cmd := range cmds {
		if cmd != nil && sendAgainAlone(ctx, cmd.Err()) {
			cmds[i] = calls[i](s.client)
		}
	}
	return cmds
}

// sendAgainAlone says whether a pipelined script call that ended in err should
// be sent again on its own: its script was gone, or the connection failed
// before its reply came. go-redis sends a failed pipeline again whole, but a
// fault on any one command fails every attempt of a long pipeline alike (at one
// fault in 30 commands, a pipeline of 16 fails 42% of the time), while a lone
// command rarely fails all of its retries. Every script here is replay-safe, so
// the resend has one effect however far the first one got.
func sendAgainAlone(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var reply redis.Error
	return isNoScript(err) || !errors.As(err, &reply)
}
