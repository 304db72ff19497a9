package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/store"
)

// callCounter is the store, counting the calls the batch path cares about.
type callCounter struct {
	*store.RedisStore
	mu                               sync.Mutex
	leaseBatches, completes, fails   int
	endManyCalls, ended, checkpoints int
}

func (c *callCounter) add(n *int, by int) {
	c.mu.Lock()
	*n += by
	c.mu.Unlock()
}

func (c *callCounter) LeaseBatch(ctx context.Context, n int) ([]*store.Lease, error) {
	c.add(&c.leaseBatches, 1)
	return c.RedisStore.LeaseBatch(ctx, n)
}

func (c *callCounter) Complete(ctx context.Context, l *store.Lease, result json.RawMessage) error {
	c.add(&c.completes, 1)
	return c.RedisStore.Complete(ctx, l, result)
}

func (c *callCounter) Fail(ctx context.Context, l *store.Lease, jerr store.JobError) (bool, error) {
	c.add(&c.fails, 1)
	return c.RedisStore.Fail(ctx, l, jerr)
}

func (c *callCounter) EndMany(ctx context.Context, endings []store.Ending) []store.Ended {
	c.add(&c.endManyCalls, 1)
	c.add(&c.ended, len(endings))
	return c.RedisStore.EndMany(ctx, endings)
}

func (c *callCounter) SaveCheckpoint(ctx context.Context, l *store.Lease, cp json.RawMessage) error {
	c.add(&c.checkpoints, 1)
	return c.RedisStore.SaveCheckpoint(ctx, l, cp)
}

// runBacklog submits n jobs, runs them on a Runner over counter with cfg, and
// checks every one completed.
func runBacklog(t *testing.T, cfg Config, n int) *callCounter {
	t.Helper()
	b := setup(t)
	counter := &callCounter{RedisStore: b.store}
	cfg.Logger = hclog.NewNullLogger()
	runner, err := New(counter, b.enricher, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.runner = runner
	var ids []string
	for i := range n {
		job, _, err := b.store.Submit(context.Background(), store.SubmitRequest{
			TenantID: "tenant-alpha", CandidateID: fmt.Sprintf("c%d", i), Payload: json.RawMessage(resumePayload),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		waitForTerminal(t, b, id)
	}
	if err := runner.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if job := b.job(t, id); job.Status != store.StatusCompleted {
			t.Fatalf("job %s is %s %q, want completed", id, job.Status, job.ErrorCode)
		}
	}
	return counter
}

func TestABatchsRedisWorkIsOneRoundTripPerStep(t *testing.T) {
	t.Parallel()
	const jobs = 40
	c := runBacklog(t, Config{Concurrency: 1, BatchSize: 10}, jobs)
	if c.leaseBatches == 0 || c.endManyCalls == 0 {
		t.Fatalf("%d lease batches, %d EndMany calls; want the backlog's batches leased and ended together",
			c.leaseBatches, c.endManyCalls)
	}
	if c.ended+c.completes != jobs || c.fails != 0 {
		t.Errorf("%d jobs ended in batches + %d alone (%d fails), want %d in all", c.ended, c.completes, c.fails, jobs)
	}
	if c.ended <= c.endManyCalls {
		t.Errorf("%d jobs over %d EndMany calls: want several jobs per round trip", c.ended, c.endManyCalls)
	}
}

func TestACheapEnricherSavesNoCheckpoint(t *testing.T) {
	t.Parallel()
	for _, batchSize := range []int{1, 8} {
		t.Run(fmt.Sprint("BatchSize", batchSize), func(t *testing.T) {
			t.Parallel()
			cheap := runBacklog(t, Config{Concurrency: 1, BatchSize: batchSize, SkipCheckpoint: true}, 12)
			if cheap.checkpoints != 0 {
				t.Errorf("%d checkpoints saved with SkipCheckpoint, want none", cheap.checkpoints)
			}
			costly := runBacklog(t, Config{Concurrency: 1, BatchSize: batchSize}, 12)
			if costly.checkpoints != 12 {
				t.Errorf("%d checkpoints saved without SkipCheckpoint, want one per job (12)", costly.checkpoints)
			}
		})
	}
}
