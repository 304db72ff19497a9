package store

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// twoInstances are two limiters of one account on one real redis-server, each with
// its own connection, as two service instances have.
func twoInstances(t *testing.T, cfg RateLimitConfig) (a, b *RateLimiter) {
	t.Helper()
	opts := redistest.Start(t)
	clients := [2]*redis.Client{redis.NewClient(opts), redis.NewClient(opts)}
	for _, c := range clients {
		t.Cleanup(func() { _ = c.Close() })
	}
	return NewRateLimiter(clients[0], cfg), NewRateLimiter(clients[1], cfg)
}

func mustReserve(t *testing.T, l *RateLimiter) time.Duration {
	t.Helper()
	wait, err := l.Reserve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return wait
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	t.Run("TwoInstancesShareOneRequestLimit", func(t *testing.T) {
		t.Parallel()
		// 60 a minute: one a second, two at once.
		a, b := twoInstances(t, RateLimitConfig{RPM: 60})
		if mustReserve(t, a) != 0 || mustReserve(t, a) != 0 {
			t.Fatal("the first instance was refused its burst")
		}
		wait := mustReserve(t, b)
		if wait <= 0 || wait > time.Second {
			t.Fatalf("the second instance may call in %s, want a wait of up to 1 s: the burst is spent", wait)
		}
	})
	t.Run("TwoInstancesShareOneTokenLimit", func(t *testing.T) {
		t.Parallel()
		// 6,000 tokens a minute, 200 at once; calls cost 100 tokens until answers say otherwise.
		a, b := twoInstances(t, RateLimitConfig{TPM: 6000, TokensPerCallGuess: 100})
		if mustReserve(t, a) != 0 || mustReserve(t, b) != 0 {
			t.Fatal("two 100-token calls did not fit a 200-token burst")
		}
		if wait := mustReserve(t, a); wait <= 0 {
			t.Fatal("a third 100-token call passed a spent 200-token burst")
		}
	})
	// A call larger than two seconds' worth is charged whole: 6,000 tokens a minute
	// and 1,300-token calls is one call every 13 s. Charged at most the 200-token
	// burst, calls went at 6.8x the limit.
	t.Run("ACallLargerThanTheBurstIsChargedWhole", func(t *testing.T) {
		t.Parallel()
		a, b := twoInstances(t, RateLimitConfig{TPM: 6000, TokensPerCallGuess: 1300})
		if mustReserve(t, a) != 0 {
			t.Fatal("the first call was refused")
		}
		if wait := mustReserve(t, b); wait < 12*time.Second || wait > 14*time.Second {
			t.Fatalf("the next call may go in %s, want about 13 s (1,300 tokens at 100 a second)", wait)
		}
	})
	t.Run("ACallRefusedByOneLimitTakesNothingFromTheOther", func(t *testing.T) {
		t.Parallel()
		// Requests bind (60 a minute, two at once); tokens have room for every call
		// that goes (12,000 a minute, 400 at once, 100 a call). Instances that keep
		// asking while the requests are spent must not spend the tokens: once a
		// request is free again, its call goes at once.
		a, b := twoInstances(t, RateLimitConfig{RPM: 60, TPM: 12000, TokensPerCallGuess: 100})
		if mustReserve(t, a) != 0 || mustReserve(t, a) != 0 {
			t.Fatal("the requests' burst was refused")
		}
		for range 20 {
			if mustReserve(t, b) == 0 {
				t.Fatal("a call passed a spent requests' burst")
			}
		}
		// The requests' burst back, as if a second had passed (tokens: 0.1 s' worth).
		if err := a.rdb.Del(context.Background(), "rate:"+a.keys.requests).Err(); err != nil { // redis_rate's key
			t.Fatal(err)
		}
		if wait := mustReserve(t, b); wait != 0 {
			t.Fatalf("a call with a request free waited %s: refused asks spent the tokens", wait)
		}
	})
	t.Run("ACallRefusedForTokensTakesNoRequest", func(t *testing.T) {
		t.Parallel()
		// Tokens bind (6,000 a minute, 200 at once, 100 a call); requests have room
		// (600 a minute, 20 at once).
		a, b := twoInstances(t, RateLimitConfig{RPM: 600, TPM: 6000, TokensPerCallGuess: 100})
		if mustReserve(t, a) != 0 || mustReserve(t, a) != 0 {
			t.Fatal("the tokens' burst was refused")
		}
		for range 5 {
			if wait := mustReserve(t, b); wait <= 0 || wait > 2*time.Second {
				t.Fatalf("a call past the tokens' burst may go in %s, want a wait of up to 2 s", wait)
			}
		}
		left, err := a.limiter.AllowN(context.Background(), a.keys.requests, perMinute(600), 0)
		if err != nil {
			t.Fatal(err)
		}
		if left.Remaining != 18 {
			t.Fatalf("%d requests left of 20 after 2 calls, want 18: refused asks took requests", left.Remaining)
		}
	})
	t.Run("AnswersTeachTheTokenCostOfACall", func(t *testing.T) {
		t.Parallel()
		a, _ := twoInstances(t, RateLimitConfig{TPM: 6000, TokensPerCallGuess: 100})
		for range 50 {
			a.ObserveTokens(1000)
		}
		if cost := a.tokenCost(); cost < 900 || cost > 1000 {
			t.Fatalf("token cost = %d after 50 answers of 1,000 tokens, want close to 1,000", cost)
		}
	})
	t.Run("APauseHoldsEveryInstanceAndIsNeverShortened", func(t *testing.T) {
		t.Parallel()
		a, b := twoInstances(t, RateLimitConfig{})
		if mustReserve(t, b) != 0 {
			t.Fatal("an unlimited account waited before any pause")
		}
		ctx := context.Background()
		if err := a.Pause(ctx, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := a.Pause(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		if wait := mustReserve(t, b); wait < 20*time.Second || wait > 30*time.Second {
			t.Fatalf("the other instance may call in %s, want the 30 s pause", wait)
		}
	})
}
