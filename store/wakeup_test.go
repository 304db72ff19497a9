package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitResult is what a WaitForWork call in another goroutine returned.
type waitResult struct {
	err     error
	elapsed time.Duration
}

// waitInBackground calls WaitForWork in a goroutine and reports on the
// channel it returns.
func waitInBackground(ctx context.Context, s *RedisStore, timeout time.Duration) <-chan waitResult {
	done := make(chan waitResult, 1)
	go func() {
		start := time.Now()
		err := s.WaitForWork(ctx, timeout)
		done <- waitResult{err: err, elapsed: time.Since(start)}
	}()
	return done
}

// awaitResult fails t unless the wait ends within limit, far below its own
// timeout: it must have been woken, not timed out.
func awaitResult(t *testing.T, done <-chan waitResult, limit time.Duration) waitResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(limit):
		t.Fatalf("WaitForWork still blocked after %s", limit)
		return waitResult{}
	}
}

func TestRedisStoreWaitForWork(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		const longWait = 30 * time.Second

		t.Run("WakesWhenAnotherGoroutineSubmits", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			done := waitInBackground(t.Context(), s, longWait)
			b.awaitBlockedPop(t) // so the submit's token wakes it, not waits for it
			submitted := make(chan error, 1)
			go func() {
				_, _, err := s.Submit(t.Context(), request("cand-1"))
				submitted <- err
			}()
			if err := <-submitted; err != nil {
				t.Fatal(err)
			}
			if r := awaitResult(t, done, 5*time.Second); r.err != nil {
				t.Errorf("WaitForWork = %v, want nil", r.err)
			}
			if l := mustLease(t, s); l.Job.CandidateID != "cand-1" {
				t.Errorf("leased %s, want cand-1", l.Job.CandidateID)
			}
		})
		t.Run("WakesWhenAJobIsReleased", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			submitNew(t, s, request("cand-1"))
			l := mustLease(t, s)
			b.client.Del(t.Context(), b.keys.wakeup()) // forget the submit's token

			done := waitInBackground(t.Context(), s, longWait)
			b.awaitBlockedPop(t)
			if err := s.Release(t.Context(), l); err != nil {
				t.Fatal(err)
			}
			if r := awaitResult(t, done, 5*time.Second); r.err != nil {
				t.Errorf("WaitForWork = %v, want nil", r.err)
			}
		})
		t.Run("ReturnsPromptlyWhenCancelled", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			ctx, cancel := context.WithCancel(t.Context())
			done := waitInBackground(ctx, s, longWait)
			b.awaitBlockedPop(t)
			cancel()
			r := awaitResult(t, done, 5*time.Second)
			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("WaitForWork = %v, want context.Canceled", r.err)
			}
			// The abort token was consumed by the wait it ended.
			if keys := b.storeKeys(t, "wakeup:abort:*"); len(keys) != 0 {
				t.Errorf("abort keys left behind: %v", keys)
			}
		})
		t.Run("ReturnsAtOnceWhenAlreadyCancelled", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := s.WaitForWork(ctx, longWait); !errors.Is(err, context.Canceled) {
				t.Errorf("WaitForWork = %v, want context.Canceled", err)
			}
		})
		t.Run("ReturnsNilOnTimeout", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			done := waitInBackground(t.Context(), s, time.Second)
			if r := awaitResult(t, done, 5*time.Second); r.err != nil || r.elapsed < 900*time.Millisecond {
				t.Errorf("WaitForWork = %v after %s, want nil after about 1s", r.err, r.elapsed)
			}
		})
		t.Run("ZeroTimeoutReturnsAtOnce", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			if err := s.WaitForWork(t.Context(), 0); err != nil {
				t.Errorf("WaitForWork = %v, want nil", err)
			}
		})
		t.Run("KeepsAtMostOneThousandTokens", func(t *testing.T) {
			t.Parallel()
			s, b := setup(t, bk, Config{})
			tokens := make([]any, wakeupCapacity+10)
			for i := range tokens {
				tokens[i] = "1"
			}
			b.client.LPush(t.Context(), b.keys.wakeup(), tokens...)
			submitNew(t, s, request("cand-1"))
			if n := b.client.LLen(t.Context(), b.keys.wakeup()).Val(); n != wakeupCapacity {
				t.Errorf("wakeup list holds %d tokens, want %d", n, wakeupCapacity)
			}
		})
	})
}
