package store

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// TokenUsage is what an LLM provider billed for a job's enrichment calls, summed
// over every attempt: failed answers (cut at max_tokens, refused by validation)
// cost as much as good ones, and a job that succeeds after host retries paid for
// each of them.
type TokenUsage struct {
	PromptTokens     int64 `json:"promptTokens"`
	CompletionTokens int64 `json:"completionTokens"`
	TotalTokens      int64 `json:"totalTokens"`
}

// IsZero reports whether nothing was billed.
func (u TokenUsage) IsZero() bool { return u == TokenUsage{} }

// Job hash fields of the running token totals (absent until something is billed).
const (
	fieldPromptTokens     = "promptTokens"
	fieldCompletionTokens = "completionTokens"
	fieldTotalTokens      = "totalTokens"
)

// addTokensScript adds to a job's token totals. Not fenced by the lease: the
// tokens were spent whoever holds the job now. A job that expired is not
// recreated. Safe to replay: a client retry of a call Redis already ran adds
// nothing twice (its operation record answers instead).
//
// KEYS[1] job key
// KEYS[2] operation record
// ARGV[1..3] prompt, completion and total tokens to add
// ARGV[4] replay window, ms
// Returns 1, or 0 when the job is gone.
var addTokensScript = redis.NewScript(storeLua + `
Q.op, Q.opTTL = KEYS[2], ARGV[4]
local done = recalled()
if done then
  return tonumber(done)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  remember('0')
  return 0
end
redis.call('HINCRBY', KEYS[1], '` + fieldPromptTokens + `', ARGV[1])
redis.call('HINCRBY', KEYS[1], '` + fieldCompletionTokens + `', ARGV[2])
redis.call('HINCRBY', KEYS[1], '` + fieldTotalTokens + `', ARGV[3])
remember('1')
return 1
`)

// AddTokenUsage adds u to the running totals of jobID (Job.TokenUsage).
func (s *RedisStore) AddTokenUsage(ctx context.Context, jobID string, u TokenUsage) error {
	if u.IsZero() {
		return nil
	}
	err := addTokensScript.Run(ctx, s.client, []string{s.keys.job(jobID), s.keys.op(newToken())},
		u.PromptTokens, u.CompletionTokens, u.TotalTokens, millis(s.cfg.ReplayWindow)).Err()
	if err != nil {
		return interpretError("add token usage", err)
	}
	return nil
}

// decodeTokenUsage reads the running totals of a job hash.
func decodeTokenUsage(jobID string, f map[string]string) (TokenUsage, error) {
	var u TokenUsage
	for field, into := range map[string]*int64{
		fieldPromptTokens: &u.PromptTokens, fieldCompletionTokens: &u.CompletionTokens, fieldTotalTokens: &u.TotalTokens,
	} {
		v, ok := f[field]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return u, malformed(jobID, field, err)
		}
		*into = n
	}
	return u, nil
}
