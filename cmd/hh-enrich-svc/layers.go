package main

import (
	"context"
	"encoding/json"
	"runtime/pprof"
	"time"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/firestore"
	"github.com/headhunter/hh-enrich-svc/worker"
)

// The worker's dependencies, each call labelled with its layer (profiling.go)
// and back to "worker" after. Only wired when profiling is on: production calls
// the parts directly.

// enter labels the calling goroutine with layer; leave puts it back in the worker's.
func enter(layer context.Context) { pprof.SetGoroutineLabels(layer) }
func leave()                      { pprof.SetGoroutineLabels(layerWorker) }

// layeredStore is the worker's store in the "store" layer.
type layeredStore struct{ s worker.Store }

func (l layeredStore) Lease(ctx context.Context) (*store.Lease, error) {
	enter(layerStore)
	defer leave()
	return l.s.Lease(ctx)
}

func (l layeredStore) WaitForWork(ctx context.Context, timeout time.Duration) error {
	enter(layerStore)
	defer leave()
	return l.s.WaitForWork(ctx, timeout)
}

func (l layeredStore) Heartbeat(ctx context.Context, lease *store.Lease) error {
	enter(layerStore)
	defer leave()
	return l.s.Heartbeat(ctx, lease)
}

func (l layeredStore) Complete(ctx context.Context, lease *store.Lease, result json.RawMessage) error {
	enter(layerStore)
	defer leave()
	return l.s.Complete(ctx, lease, result)
}

func (l layeredStore) Fail(ctx context.Context, lease *store.Lease, jerr store.JobError) (bool, error) {
	enter(layerStore)
	defer leave()
	return l.s.Fail(ctx, lease, jerr)
}

func (l layeredStore) Release(ctx context.Context, lease *store.Lease) error {
	enter(layerStore)
	defer leave()
	return l.s.Release(ctx, lease)
}

func (l layeredStore) DeferForRateLimit(ctx context.Context, lease *store.Lease, d store.RateLimitDeferral) error {
	enter(layerStore)
	defer leave()
	return l.s.DeferForRateLimit(ctx, lease, d)
}

func (l layeredStore) SaveCheckpoint(ctx context.Context, lease *store.Lease, checkpoint json.RawMessage) error {
	enter(layerStore)
	defer leave()
	return l.s.SaveCheckpoint(ctx, lease, checkpoint)
}

func (l layeredStore) LeaseBatch(ctx context.Context, n int) ([]*store.Lease, error) {
	enter(layerStore)
	defer leave()
	return l.s.LeaseBatch(ctx, n)
}

func (l layeredStore) HeartbeatMany(ctx context.Context, leases []*store.Lease) ([]*store.Lease, error) {
	enter(layerStore)
	defer leave()
	return l.s.HeartbeatMany(ctx, leases)
}

func (l layeredStore) EndMany(ctx context.Context, endings []store.Ending) []store.Ended {
	enter(layerStore)
	defer leave()
	return l.s.EndMany(ctx, endings)
}

func (l layeredStore) AddTokenUsage(ctx context.Context, jobID string, u store.TokenUsage) error {
	enter(layerStore)
	defer leave()
	return l.s.AddTokenUsage(ctx, jobID, u)
}

// layeredEnricher is the plugin pool in the "pool" layer.
type layeredEnricher struct{ e worker.Enricher }

func (l layeredEnricher) Enrich(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	enter(layerPool)
	defer leave()
	return l.e.Enrich(ctx, req)
}

func (l layeredEnricher) EnrichBatch(ctx context.Context, req *enrichv1.EnrichBatchRequest) (*enrichv1.EnrichBatchResponse, error) {
	enter(layerPool)
	defer leave()
	return l.e.EnrichBatch(ctx, req)
}

func (l layeredEnricher) EnrichSplit(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	enter(layerPool)
	defer leave()
	return l.e.EnrichSplit(ctx, req)
}

// layeredCandidates is Firestore in the "embed" layer (the downstream calls).
type layeredCandidates struct{ c worker.CandidateStore }

func (l layeredCandidates) Load(ctx context.Context, tenantID, candidateID string, payload json.RawMessage) (map[string]any, error) {
	enter(layerEmbed)
	defer leave()
	return l.c.Load(ctx, tenantID, candidateID, payload)
}

func (l layeredCandidates) SaveEnrichment(ctx context.Context, tenantID, candidateID string, enrichment map[string]any, meta firestore.ProcessingMetadata) error {
	enter(layerEmbed)
	defer leave()
	return l.c.SaveEnrichment(ctx, tenantID, candidateID, enrichment, meta)
}

// layeredEmbedder is the embed client in the "embed" layer.
type layeredEmbedder struct{ e worker.Embedder }

func (l layeredEmbedder) Upsert(ctx context.Context, req embed.UpsertRequest) (embed.Outcome, error) {
	enter(layerEmbed)
	defer leave()
	return l.e.Upsert(ctx, req)
}

// statefulEmbedder is a layered embed client that shows its breaker's state, as
// the client does, to the worker's health log.
type statefulEmbedder struct {
	layeredEmbedder
	state interface{ State() string }
}

func (s statefulEmbedder) State() string { return s.state.State() }

func layeredEmbedderOf(e worker.Embedder) worker.Embedder {
	if s, ok := e.(interface{ State() string }); ok {
		return statefulEmbedder{layeredEmbedder{e}, s}
	}
	return layeredEmbedder{e}
}

// layered wraps the worker's dependencies in their layers when profiling is on.
func (m *Main) layered(s worker.Store, e worker.Enricher, cfg *worker.Config) (worker.Store, worker.Enricher) {
	if m.Config.PprofAddr == "" {
		return s, e
	}
	if cfg.Candidates != nil {
		cfg.Candidates = layeredCandidates{cfg.Candidates}
	}
	if cfg.Embedder != nil {
		cfg.Embedder = layeredEmbedderOf(cfg.Embedder)
	}
	return layeredStore{s}, layeredEnricher{e}
}
