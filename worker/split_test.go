package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/store"
)

// TestABatchWhoseProcessDiesIsSplitAndOnlyItsCrashingCandidateFails runs a batch
// holding a candidate that kills every plugin process it reaches, on the real
// pool: the batch's other candidates complete on their first attempt.
func TestABatchWhoseProcessDiesIsSplitAndOnlyItsCrashingCandidateFails(t *testing.T) {
	t.Parallel()
	root, _ := filepath.Abs("..")
	p, err := pool.New(pool.Config{
		Size:         2,
		PythonPath:   filepath.Join(root, ".venv", "bin", "python"),
		PluginScript: filepath.Join(root, "cloud_run_worker", "plugin_server.py"),
		Env:          []string{"PATH=" + os.Getenv("PATH"), "ENRICH_TEST_FAULTS=1"},
		Logger:       hclog.NewNullLogger(),
		// The crashes here are the test's: no degraded back-off in the way.
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
	defer func() { _ = p.Stop(ctx) }()
	b := setup(t)
	// One worker slot: the backlog behind it goes out as one batch of four.
	b.runner, err = New(b.store, p, Config{Concurrency: 1, BatchSize: 4, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 4 {
		payload := map[string]any{"name": fmt.Sprintf("c%d", i), "resume_text": "Senior Go engineer, 8 years."}
		if i == 2 {
			payload["_fault"] = "crash"
		}
		raw, _ := json.Marshal(payload)
		job, _, err := b.store.Submit(ctx, store.SubmitRequest{TenantID: "tenant-alpha", CandidateID: fmt.Sprintf("c%d", i), Payload: raw})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	if err := b.runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 3} {
		waitForTerminal(t, b, ids[i])
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
