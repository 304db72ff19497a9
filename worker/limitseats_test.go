package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/store"
)

// closedLimit is an account limit that lets no call go until opened: each ask
// says "in 10 ms" (short of any deferral), and tells the test it was asked.
type closedLimit struct {
	open  atomic.Bool
	asked chan struct{}
}

func (l *closedLimit) Reserve(context.Context) (time.Duration, error) {
	select {
	case l.asked <- struct{}{}:
	default:
	}
	if l.open.Load() {
		return 0, nil
	}
	return 10 * time.Millisecond, nil
}

func (l *closedLimit) Pause(context.Context, time.Duration) error { return nil }
func (l *closedLimit) ObserveTokens(int64)                        {}

// leaseCounter is the store, counting the jobs leased.
type leaseCounter struct {
	*store.RedisStore
	leased atomic.Int32
}

func (s *leaseCounter) Lease(ctx context.Context) (*store.Lease, error) {
	l, err := s.RedisStore.Lease(ctx)
	if l != nil {
		s.leased.Add(1)
	}
	return l, err
}

// A backlog waiting for the LLM's rate limit stays queued in Redis, beyond the few
// jobs an instance keeps at the limit: the other slots stay free and the jobs stay
// available to any instance. When the limit lets calls go, every job completes.
func TestABacklogWaitingForTheRateLimitStaysQueued(t *testing.T) {
	t.Parallel()
	limit := &closedLimit{asked: make(chan struct{})}
	cfg := Config{Concurrency: 8, BatchSize: 1, Logger: hclog.NewNullLogger(),
		LLM: LLMConfig{RateLimiter: limit, RateLimitMaxWait: time.Hour, RateLimitHold: time.Minute, MaxAheadOfLimit: 2}}
	b := setupWith(t, cfg)
	counter := &leaseCounter{RedisStore: b.store}
	runner, err := New(counter, b.enricher, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 6 {
		job, _, err := b.store.Submit(t.Context(), store.SubmitRequest{TenantID: "tenant-alpha",
			CandidateID: fmt.Sprint("cand-", i), Payload: json.RawMessage(resumePayload)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	if err := runner.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = runner.Stop(ctx)
	})
	// Fifty asks of the closed limit (half a second of waiting, and 8 free slots)
	// leave time for any further lease the runner would take.
	for range 50 {
		<-limit.asked
	}
	if n := counter.leased.Load(); n != 2 {
		t.Fatalf("%d jobs leased while the limit was closed, want 2 (MaxAheadOfLimit)", n)
	}
	counts, err := b.store.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if counts.Queued != 4 || counts.Processing != 2 {
		t.Fatalf("queued %d, processing %d while the limit was closed; want 4 and 2", counts.Queued, counts.Processing)
	}
	limit.open.Store(true)
	for _, id := range ids {
		waitForStatus(t, b, id, store.StatusCompleted)
	}
	if n := counter.leased.Load(); n != 6 {
		t.Fatalf("%d leases for 6 jobs, want 6 (none deferred or retried)", n)
	}
}
