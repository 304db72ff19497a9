package worker

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/firestore"
)

// badOutputEnricher answers every enrichment with JSON that lacks the
// enrichment's fields.
type badOutputEnricher struct{ scriptedEnricher }

func (e *badOutputEnricher) Enrich(context.Context, *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	return &enrichv1.EnrichResponse{EnrichmentJson: []byte(`{"resume_analysis":{}}`)}, nil
}

// checkpointCounter is the store, counting the checkpoints saved.
type checkpointCounter struct {
	*store.RedisStore
	mu    sync.Mutex
	saved int
}

func (c *checkpointCounter) SaveCheckpoint(ctx context.Context, l *store.Lease, cp json.RawMessage) error {
	c.mu.Lock()
	c.saved++
	c.mu.Unlock()
	return c.RedisStore.SaveCheckpoint(ctx, l, cp)
}

func TestRunnerNeverCheckpointsBadOutput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	counter := &checkpointCounter{RedisStore: b.store}
	runner, err := New(counter, &badOutputEnricher{}, Config{Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	b.runner = runner
	id := b.submit(t, resumePayload)
	b.runAll(t)
	if job := b.job(t, id); job.Status != store.StatusFailed || job.ErrorCode != CodeBadEnrichment {
		t.Fatalf("job %s %q, want failed %s", job.Status, job.ErrorCode, CodeBadEnrichment)
	}
	if counter.saved != 0 {
		t.Errorf("%d checkpoints saved of output that failed validation, want none", counter.saved)
	}
}

// interruptingCandidates is a candidate store whose Load or SaveEnrichment
// cancels the worker's context, as a shutdown would, and then fails the way
// the Firestore client does: a gRPC Canceled status that does not wrap
// context.Canceled.
type interruptingCandidates struct {
	shutdown       context.CancelFunc
	duringLoad     bool
	interruptedOps int
}

var errGRPCCanceled = errors.New("rpc error: code = Canceled desc = context canceled")

func (c *interruptingCandidates) interrupt(ctx context.Context) error {
	c.interruptedOps++
	c.shutdown()
	<-ctx.Done()
	return errGRPCCanceled
}

func (c *interruptingCandidates) Load(ctx context.Context, _, _ string, payload json.RawMessage) (map[string]any, error) {
	if c.duringLoad {
		return nil, c.interrupt(ctx)
	}
	doc := map[string]any{}
	return doc, json.Unmarshal(payload, &doc)
}

func (c *interruptingCandidates) SaveEnrichment(ctx context.Context, _, _ string, _ map[string]any, _ firestore.ProcessingMetadata) error {
	return c.interrupt(ctx)
}

func TestRunnerReleasesAJobInterruptedInFirestore(t *testing.T) {
	t.Parallel()
	for name, duringLoad := range map[string]bool{"DuringLoad": true, "DuringSave": false} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, shutdown := context.WithCancel(t.Context())
			candidates := &interruptingCandidates{shutdown: shutdown, duringLoad: duringLoad}
			b := setupWith(t, Config{Logger: hclog.NewNullLogger(), Candidates: candidates})
			id := b.submit(t, resumePayload)
			if ran, err := b.runner.RunOnce(ctx); !ran || err != nil {
				t.Fatalf("RunOnce = %v, %v; want a job run", ran, err)
			}
			job := b.job(t, id)
			if candidates.interruptedOps != 1 || job.Status != store.StatusQueued || job.Attempts != 0 || job.ErrorCode != "" {
				t.Errorf("after %d interrupted calls the job is %s after %d attempts (code %q); want queued, 0, none",
					candidates.interruptedOps, job.Status, job.Attempts, job.ErrorCode)
			}
		})
	}
}
