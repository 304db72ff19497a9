package store

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// abortTimeout bounds the round trip that ends a cancelled wait.
	abortTimeout = 2 * time.Second
	// abortKeyTTL removes an abort token that arrived after its wait had
	// already ended with a wake token.
	abortKeyTTL = time.Minute
)

// WaitForWork blocks until a wake token arrives (a job was submitted,
// released or taken back from an expired lease, or the Reaper made due
// retries ready), timeout passes or ctx is done. It returns nil on a wake
// token and on timeout, and ctx.Err() when ctx is done. Workers call it when
// Lease found nothing, instead of sleeping: a job queued meanwhile wakes one
// of them at once. A token is only a hint; Lease may still find nothing.
//
// Redis counts blocking timeouts in whole seconds, so timeout is rounded up
// to the next second; a timeout of zero or less returns at once.
func (s *RedisStore) WaitForWork(ctx context.Context, timeout time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if timeout <= 0 {
		return nil
	}
	// go-redis does not abort a blocking command when its ctx is cancelled,
	// so the pop also listens on a list of its own, and cancelling ctx pushes
	// a token there. The pop then ends at once, its connection returns to the
	// pool in a clean state, and no goroutine outlives this call.
	abortKey := s.keys.wakeupAbort(newToken())
	aborted := make(chan struct{})
	stopAbort := context.AfterFunc(ctx, func() {
		defer close(aborted)
		s.abortWait(ctx, abortKey)
	})
	// The pop must run to its reply even after ctx ends: a token it took
	// from the wakeup list is then given back rather than lost.
	popped, err := s.client.BLPop(context.WithoutCancel(ctx), roundUpToSecond(timeout),
		s.keys.wakeup(), abortKey).Result()
	if !stopAbort() {
		<-aborted
	}
	if ctx.Err() != nil {
		if err == nil && popped[0] == s.keys.wakeup() {
			s.returnWakeToken(ctx)
		}
		return ctx.Err()
	}
	if err != nil && !errors.Is(err, redis.Nil) { // redis.Nil: timed out
		return interpretError("wait for work", err)
	}
	return nil
}

// abortWait ends the blocking pop of a WaitForWork whose ctx is done. If it
// fails the pop still ends at its timeout, so the error is only dropped.
func (s *RedisStore) abortWait(ctx context.Context, abortKey string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, abortKey, "abort")
		p.PExpire(ctx, abortKey, abortKeyTTL)
		return nil
	})
}

// returnWakeToken puts back a wake token taken by a wait that was cancelled,
// so that another idle worker learns of the job. Losing it only delays that
// worker until its own timeout, so an error is dropped.
func (s *RedisStore) returnWakeToken(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_ = s.client.LPush(ctx, s.keys.wakeup(), "1").Err()
}

func roundUpToSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}
