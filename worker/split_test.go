package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
)

// realPool starts a pool of size real plugin processes, stopped when t ends.
func realPool(t *testing.T, size int) *pool.Pool {
	t.Helper()
	root, _ := filepath.Abs("..")
	p, err := pool.New(pool.Config{
		Size:         size,
		PythonPath:   filepath.Join(root, ".venv", "bin", "python"),
		PluginScript: filepath.Join(root, "cloud_run_worker", "plugin_server.py"),
		Env:          []string{"PATH=" + os.Getenv("PATH"), "ENRICH_TEST_FAULTS=1"},
		Logger:       hclog.NewNullLogger(),
		// The crashes here are the tests': no degraded back-off in the way.
		CrashLoopThreshold: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = p.Stop(ctx)
	})
	return p
}

// backlogBundle is a runner with one worker slot and n jobs queued before it
// starts, so they go out as one batch.
type backlogBundle struct {
	*testBundle
	backlog []string // the jobs' ids
}

// batchBacklog queues n candidates, each made by fill, for a runner over enricher.
func batchBacklog(t *testing.T, enricher Enricher, n int, fill func(i int, payload map[string]any)) backlogBundle {
	t.Helper()
	b := setup(t)
	var err error
	b.runner, err = New(b.store, enricher, Config{Concurrency: 1, BatchSize: n, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		payload := map[string]any{"name": fmt.Sprintf("c%d", i)}
		fill(i, payload)
		raw, _ := json.Marshal(payload)
		job, _, err := b.store.Submit(context.Background(), store.SubmitRequest{TenantID: "tenant-alpha", CandidateID: fmt.Sprintf("c%d", i), Payload: raw})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	return backlogBundle{b, ids}
}

// TestABatchWhoseProcessDiesIsSplitAndOnlyItsCrashingCandidateFails runs a batch
// holding a candidate that kills every plugin process it reaches, on the real
// pool: the batch's other candidates complete on their first attempt.
func TestABatchWhoseProcessDiesIsSplitAndOnlyItsCrashingCandidateFails(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	b := batchBacklog(t, realPool(t, 2), 4, func(i int, payload map[string]any) {
		payload["resume_text"] = "Senior Go engineer, 8 years."
		if i == 2 {
			payload["_fault"] = "crash"
		}
	})
	ids := b.backlog
	if err := b.runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 3} {
		waitForTerminal(t, b.testBundle, ids[i])
	}
	stopCtx, stop := context.WithTimeout(ctx, 0)
	defer stop()
	_ = b.runner.Stop(stopCtx) // the crashing candidate may still be trying
	for _, i := range []int{0, 1, 3} {
		if job := b.job(t, ids[i]); job.Status != store.StatusCompleted || job.Attempts != 1 {
			t.Fatalf("job %d: %s after %d attempts, want completed on the first", i, job.Status, job.Attempts)
		}
	}
	if job := b.job(t, ids[2]); job.Status == store.StatusCompleted {
		t.Fatal("the crashing candidate completed")
	}
}

// A leased batch of large candidates goes to the plugins in calls that each fit a
// gRPC message: before, 8 candidates of 900 KB went as one 7 MB call, the plugin
// refused it, and all 8 failed for good as python_error.
func TestABatchOfLargeCandidatesCompletes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	p := &batchSizes{Pool: realPool(t, 1)}
	b := batchBacklog(t, p, 8, func(_ int, payload map[string]any) {
		payload["resume_text"] = "Senior Go engineer. " + strings.Repeat("Led the platform team. ", 40_000) // 920 KB
	})
	ids := b.backlog
	if err := b.runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.runner.Stop(ctx) }()
	for i, id := range ids {
		waitForTerminal(t, b.testBundle, id)
		if job := b.job(t, id); job.Status != store.StatusCompleted || job.Attempts != 1 {
			t.Errorf("job %d: %s after %d attempts (%v), want completed on the first", i, job.Status, job.Attempts, job.ErrorMessage)
		}
	}
	// 4 MiB (pyplugin.BatchBytes) holds 4 of them: two calls of 4.
	if got := p.sizes(); !slices.Equal(got, []int{4, 4}) {
		t.Errorf("EnrichBatch calls carried %v items, want [4 4]", got)
	}
}

// batchSizes is the pool, noting how many items each EnrichBatch call carries.
type batchSizes struct {
	*pool.Pool
	mu    sync.Mutex
	calls []int
}

func (b *batchSizes) EnrichBatch(ctx context.Context, req *enrichv1.EnrichBatchRequest) (*enrichv1.EnrichBatchResponse, error) {
	b.mu.Lock()
	b.calls = append(b.calls, len(req.GetItems()))
	b.mu.Unlock()
	return b.Pool.EnrichBatch(ctx, req)
}

func (b *batchSizes) sizes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}
