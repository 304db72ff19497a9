package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// RateLimitConfig is the LLM account's limit, shared by every instance on one Redis.
type RateLimitConfig struct {
	// Account names the limit's keys, so accounts (or environments) sharing a Redis
	// keep apart. Default "default".
	Account string
	// RPM and TPM are requests and tokens a minute (TOGETHER_RPM, TOGETHER_TPM);
	// 0 enforces none of that kind. A 429's pause applies either way.
	RPM, TPM int
	// TokensPerCallGuess is the token cost charged for a call before any answer has
	// said what calls really cost. Default TokensPerCallGuessDefault.
	TokensPerCallGuess int
}

// TokensPerCallGuessDefault is what a call is expected to cost in tokens before an
// answer says.
const TokensPerCallGuessDefault = 1500

// Burst is how much of a minute's limit may go at once: two seconds' worth. Pacing
// calls evenly is what keeps a provider's own per-minute window from answering 429.
const rateLimitBurstSeconds = 2

// RateLimiter holds an LLM account's requests and tokens a minute in Redis with the
// generic cell rate algorithm (go-redis/redis_rate), so any number of instances
// together stay under it, and a pause any instance learns from a 429 holds them all.
type RateLimiter struct {
	limiter *redis_rate.Limiter
	rdb     redis.UniversalClient
	cfg     RateLimitConfig
	keys    rateLimitKeys

	mu sync.Mutex
	// tokensPerCall is a moving average of the tokens answers reported: the cost a
	// call is charged before it is made.
	tokensPerCall float64
}

type rateLimitKeys struct{ requests, tokens, pause string }

// NewRateLimiter returns the limit of cfg.Account on rdb.
func NewRateLimiter(rdb redis.UniversalClient, cfg RateLimitConfig) *RateLimiter {
	if cfg.Account == "" {
		cfg.Account = "default"
	}
	if cfg.TokensPerCallGuess <= 0 {
		cfg.TokensPerCallGuess = TokensPerCallGuessDefault
	}
	prefix := "hh:enrich:llm:" + cfg.Account + ":"
	return &RateLimiter{
		limiter:       redis_rate.NewLimiter(rdb),
		rdb:           rdb,
		cfg:           cfg,
		keys:          rateLimitKeys{requests: prefix + "rpm", tokens: prefix + "tpm", pause: prefix + "pause"},
		tokensPerCall: float64(cfg.TokensPerCallGuess),
	}
}

// Reserve takes one call's share of the limit: a request and the tokens a call is
// expected to cost. It returns 0 when the call may go now, or how long to wait
// before asking again (nothing is taken then). Errors are Redis's.
//
// A refusal takes nothing from either limit: the tokens are looked at before the
// request is taken and taken only after it. (Taking them first let every refused
// ask of a waiting instance spend a call's tokens: with requests binding, two
// instances asking ten times a second drained the tokens a minute for calls never
// made, and jobs waited for tokens no call had used.)
func (l *RateLimiter) Reserve(ctx context.Context) (time.Duration, error) {
	if wait, err := l.paused(ctx); err != nil || wait > 0 {
		return wait, err
	}
	cost := l.tokenCost()
	tokens := perMinute(l.cfg.TPM)
	// A call's tokens are charged whole, so the burst must hold one call however
	// small the limit: charging at most two seconds' worth let calls of 1,300
	// tokens through at 6.8x a TPM of 6,000. One call then waits for the next.
	tokens.Burst = max(tokens.Burst, cost)
	if l.cfg.TPM > 0 && l.cfg.RPM > 0 {
		if wait, err := l.untilTokens(ctx, tokens, cost); err != nil || wait > 0 {
			return wait, err
		}
	}
	if l.cfg.RPM > 0 {
		res, err := l.limiter.Allow(ctx, l.keys.requests, perMinute(l.cfg.RPM))
		if err != nil {
			return 0, fmt.Errorf("store: rate limit (requests): %w", err)
		}
		if res.Allowed == 0 {
			return res.RetryAfter, nil
		}
	}
	if l.cfg.TPM > 0 {
		// Refused only when another instance took the tokens since the look above:
		// the request taken is then lost, which errs on the safe side.
		res, err := l.limiter.AllowN(ctx, l.keys.tokens, tokens, cost)
		if err != nil {
			return 0, fmt.Errorf("store: rate limit (tokens): %w", err)
		}
		if res.Allowed == 0 {
			return res.RetryAfter, nil
		}
	}
	return 0, nil
}

// untilTokens is how long until cost tokens are free, taking none: GCRA with a
// cost of 0 only reports what remains.
func (l *RateLimiter) untilTokens(ctx context.Context, limit redis_rate.Limit, cost int) (time.Duration, error) {
	res, err := l.limiter.AllowN(ctx, l.keys.tokens, limit, 0)
	if err != nil {
		return 0, fmt.Errorf("store: rate limit (tokens): %w", err)
	}
	if res.Remaining >= cost {
		return 0, nil
	}
	perToken := float64(limit.Period) / float64(limit.Rate)
	return time.Duration(float64(cost-res.Remaining) * perToken), nil
}

func perMinute(n int) redis_rate.Limit {
	return redis_rate.Limit{Rate: n, Period: time.Minute, Burst: max(1, n*rateLimitBurstSeconds/60)}
}

func (l *RateLimiter) tokenCost() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(1, int(math.Round(l.tokensPerCall)))
}

// ObserveTokens takes the tokens one answer reported, for the cost later calls are
// charged in advance.
func (l *RateLimiter) ObserveTokens(tokens int64) {
	if tokens <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokensPerCall += 0.1 * (float64(tokens) - l.tokensPerCall)
}

// pauseScript makes every instance wait: it extends the pause to d from now, and
// never shortens one already longer (a smaller Retry-After arriving later).
//
// KEYS[1] the pause key
// ARGV[1] pause, ms
// Returns the pause left, ms.
var pauseScript = redis.NewScript(`
local left = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[1])
if left < want then
  redis.call('SET', KEYS[1], '1', 'PX', want)
  return want
end
return left
`)

// Pause holds every instance's calls for d: the provider answered 429 and said (or
// we guess) how long to stay away.
func (l *RateLimiter) Pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if err := pauseScript.Run(ctx, l.rdb, []string{l.keys.pause}, d.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("store: rate limit pause: %w", err)
	}
	return nil
}

// paused is how long the current pause still holds.
func (l *RateLimiter) paused(ctx context.Context) (time.Duration, error) {
	left, err := l.rdb.PTTL(ctx, l.keys.pause).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("store: rate limit pause: %w", err)
	}
	return max(0, left), nil
}
