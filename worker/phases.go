package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/firestore"
)

// CandidateStore is where candidate documents live (*firestore.CandidateStore).
type CandidateStore interface {
	Load(ctx context.Context, tenantID, candidateID string, payload json.RawMessage) (map[string]any, error)
	SaveEnrichment(ctx context.Context, tenantID, candidateID string, enrichment map[string]any, meta firestore.ProcessingMetadata) error
}

// Embedder upserts a candidate's embedding (*embed.Client).
type Embedder interface {
	Upsert(ctx context.Context, req embed.UpsertRequest) (embed.Outcome, error)
}

// attempt is one job's trip through the phases of an attempt.
type attempt struct {
	lease   *store.Lease
	started time.Time
	loaded  time.Time
	// candidate is the enrichment's input, as members (request.CandidateJson is
	// them encoded); candidateDoc is it decoded: the Firestore document, or nil
	// until something needs it (document).
	candidate    members
	candidateDoc map[string]any
	request      *enrichv1.EnrichRequest
	// What the LLM path did (llm.go): time waited for the rate limit, 429s met,
	// and whether the cache answered.
	rateLimitWait time.Duration
	rateLimited   int
	// waitingSince is when the attempt began waiting for the limit: stored in
	// the job by an earlier deferral, else when this lease first asked it.
	waitingSince time.Time
	cacheHit     bool
	// sideWrites are Redis writes made beside the job's own phases rather than
	// before them (the result cache entry, a call's token count): each costs a
	// round trip that no phase needs to wait for, only the job's end.
	sideWrites sync.WaitGroup
	// seat is the job's place ahead of the rate limit, given back once its call
	// passes the limit; nil when places are not bounded.
	seat *limitSeat
	// enrichment is the plugin's output as checked (parseEnrichment), kept so the
	// later phases do not split it again; nil until checked.
	enrichment members
}

// prepare loads the candidate and builds the enrichment request of a leased job.
func (r *Runner) prepare(ctx context.Context, lease *store.Lease) (*attempt, error) {
	job := lease.Job
	a := &attempt{lease: lease, started: r.cfg.Now()}
	if err := r.loadCandidate(ctx, a); err != nil {
		return nil, err
	}
	a.loaded = r.cfg.Now()
	a.request = &enrichv1.EnrichRequest{
		JobId:         job.ID,
		TenantId:      job.TenantID,
		CandidateId:   job.CandidateID,
		CandidateJson: a.candidate.encode(),
		Attempt:       int32(job.Attempts),
	}
	return a, nil
}

// document is the candidate decoded (for the LLM cache key), decoded once.
func (a *attempt) document() (map[string]any, error) {
	if a.candidateDoc == nil {
		doc, err := a.candidate.decode()
		if err != nil {
			return nil, &jobError{code: CodeInvalidCandidate, message: err.Error()}
		}
		a.candidateDoc = doc
	}
	return a.candidateDoc, nil
}

// checkpointed returns the enrichment an earlier attempt of the job saved, so a
// retry after a failed Firestore write does not pay for the LLM call again (W12).
func (a *attempt) checkpointed() (*enrichv1.EnrichResponse, bool) {
	if len(a.lease.Job.Checkpoint) == 0 {
		return nil, false
	}
	var resp enrichv1.EnrichResponse
	if err := protojson.Unmarshal(a.lease.Job.Checkpoint, &resp); err != nil {
		return nil, false // unreadable: enrich again rather than fail the job
	}
	enrichment, err := parseEnrichment(&resp)
	if err != nil {
		return nil, false // not an enrichment (an older version saved before checking): enrich again
	}
	a.enrichment = enrichment
	return &resp, true
}

// checkpoint checks the enrichment and saves it on the job before the downstream
// phases (unless Config.SkipCheckpoint). Bad output is never saved: a retry or a requeue must call the enricher
// again rather than replay it. Losing the lease here means another worker owns
// the job: stop.
func (r *Runner) checkpoint(ctx context.Context, a *attempt, resp *enrichv1.EnrichResponse) error {
	save, err := r.prepareCheckpoint(a, resp)
	if err != nil || save == nil {
		return err
	}
	return save(ctx)
}

// prepareCheckpoint checks the enrichment and returns the write that saves it
// (nil with Config.SkipCheckpoint). The write returns only ErrLeaseLost: with
// Redis in trouble the job goes on without its checkpoint (a retry re-enriches).
func (r *Runner) prepareCheckpoint(a *attempt, resp *enrichv1.EnrichResponse) (func(context.Context) error, error) {
	enrichment, err := parseEnrichment(resp)
	if err != nil {
		return nil, err
	}
	a.enrichment = enrichment
	if r.cfg.SkipCheckpoint {
		return nil, nil
	}
	raw, err := protojson.Marshal(resp)
	if err != nil {
		return nil, &jobError{code: CodeBadEnrichment, message: err.Error()}
	}
	return func(ctx context.Context) error {
		err := r.store.SaveCheckpoint(ctx, a.lease, raw)
		if err == nil || errors.Is(err, store.ErrLeaseLost) {
			return err
		}
		r.log.Warn("saving the enrichment checkpoint failed", "job_id", a.lease.Job.ID, "error", err)
		return nil
	}, nil
}

// loadCandidate fills a's candidate, the enrichment input: the Firestore document
// overlaid by the request's payload, or the payload alone when no candidate store
// is configured.
func (r *Runner) loadCandidate(ctx context.Context, a *attempt) error {
	job := a.lease.Job
	if r.cfg.Candidates == nil {
		candidate, err := payloadMembers(job)
		a.candidate = candidate
		return err
	}
	doc, err := r.cfg.Candidates.Load(ctx, job.TenantID, job.CandidateID, job.Payload)
	switch {
	case err == nil:
		candidate, err := encodeMembers(doc)
		if err != nil {
			return &jobError{code: CodeInvalidCandidate, message: err.Error()}
		}
		a.candidate, a.candidateDoc = candidate, doc
		return nil
	case errors.Is(err, firestore.ErrCandidateNotFound):
		return &jobError{code: CodeCandidateNotFound, message: err.Error()}
	case errors.Is(err, firestore.ErrTenantMismatch):
		return &jobError{code: CodeTenantMismatch, message: err.Error()}
	case errors.Is(err, firestore.ErrInvalidID), errors.Is(err, firestore.ErrInvalidPayload):
		return &jobError{code: CodeInvalidCandidate, message: err.Error()}
	case interrupted(ctx):
		return fmt.Errorf("loading the candidate: %w: %w", context.Canceled, err)
	default:
		return &jobError{code: CodeFirestoreRead, message: err.Error(), retryable: true}
	}
}

// interrupted reports whether the job's context was cancelled (shutdown, or a
// lost lease), so that a Firestore call's failure is that interruption and not
// Firestore's fault: Firestore reports it as a gRPC Canceled status, which
// does not wrap context.Canceled, and the job must be released, not charged.
func interrupted(ctx context.Context) bool { return errors.Is(ctx.Err(), context.Canceled) }

// payloadMembers is the candidate made of the request's payload alone, its
// values passed through as the client sent them (compacted by the store).
func payloadMembers(job *store.Job) (members, error) {
	payload := bytes.TrimSpace(job.Payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		return nil, &jobError{code: CodeCandidateNotFound, message: "no candidate document and no payload to enrich"}
	}
	candidate, err := objectMembers(payload)
	if err != nil {
		return nil, &jobError{code: CodeInvalidCandidate, message: "payload is not a JSON object: " + err.Error()}
	}
	candidate.set("candidate_id", job.CandidateID)
	candidate.set("org_id", job.TenantID)
	return candidate, nil
}

// finish writes a successful enrichment downstream (Firestore, then the embedding)
// and turns it into the job's result. A failed Firestore write fails the attempt
// (retryable); a failed embedding does not: the job completes and says why.
//
// The result's snapshot is written from members: the candidate's and the plugin's
// values pass through as they came. Only what needs a document decodes one:
// Firestore the enrichment, the embedding's text the snapshot (reusing what is
// decoded already).
func (r *Runner) finish(ctx context.Context, a *attempt, resp *enrichv1.EnrichResponse) (*Result, error) {
	job := a.lease.Job
	pythonDone := r.cfg.Now()
	if a.enrichment == nil {
		enrichment, err := parseEnrichment(resp)
		if err != nil {
			return nil, err
		}
		a.enrichment = enrichment
	}
	snapshot := enrichedSnapshot(a.candidate, a.enrichment, resp, pythonDone)
	var enrichmentDoc map[string]any
	if r.cfg.Candidates != nil {
		var err error
		if enrichmentDoc, err = a.enrichment.decode(); err != nil {
			return nil, &jobError{code: CodeBadEnrichment, message: err.Error()}
		}
		meta := firestore.ProcessingMetadata{
			ProcessedAt: pythonDone, ModelVersion: resp.GetModelVersion(), PromptVersion: resp.GetPromptVersion(),
			Enricher: resp.GetEnricher(), ProcessingSeconds: resp.GetProcessingSeconds(), TokenUsage: tokenUsage(resp),
		}
		if err := r.cfg.Candidates.SaveEnrichment(ctx, job.TenantID, job.CandidateID, enrichmentDoc, meta); err != nil {
			if interrupted(ctx) {
				return nil, fmt.Errorf("saving the enrichment: %w: %w", context.Canceled, err)
			}
			return nil, &jobError{code: CodeFirestoreWrite, message: err.Error(), retryable: true}
		}
	}
	firestoreDone := r.cfg.Now()
	outcome, err := r.upsertEmbedding(ctx, a, snapshot, enrichmentDoc, resp)
	if err != nil {
		return nil, err
	}
	finished := r.cfg.Now()
	// A deferred job's earlier waits for the rate limit are its RateLimit phase,
	// not Queue, though they came before this lease.
	priorWait := job.RateLimitWait
	queue := millis(max(a.started.Sub(job.CreatedAt)-priorWait, 0))
	return &Result{
		ProcessingTimeSeconds:  round(finished.Sub(a.started).Seconds(), 6),
		CandidateSnapshot:      snapshot.encode(),
		EmbeddingUpserted:      outcome.Upserted,
		EmbeddingSkippedReason: outcome.SkipReason,
		EmbeddingErrorCategory: outcome.ErrorCategory,
		ModelVersion:           resp.GetModelVersion(),
		PromptVersion:          resp.GetPromptVersion(),
		Enricher:               resp.GetEnricher(),
		PhaseDurationsMs: PhaseDurations{
			Queue:     queue,
			Load:      millis(a.loaded.Sub(a.started)),
			Python:    millis(pythonDone.Sub(a.loaded) - a.rateLimitWait),
			RateLimit: millis(priorWait + a.rateLimitWait),
			Firestore: millis(firestoreDone.Sub(pythonDone)),
			Embed:     millis(finished.Sub(firestoreDone)),
			Total:     millis(finished.Sub(a.started)),
		},
		Attempts:        job.Attempts,
		QueueDurationMs: queue,
		TokenUsage:      r.usageOf(a, resp),
		CacheHit:        a.cacheHit,
		RateLimited:     a.rateLimited,
	}, nil
}

// upsertEmbedding writes the embedding; its failure is recorded, never fatal. The
// error is only a snapshot that does not decode, which checked members cannot be.
func (r *Runner) upsertEmbedding(ctx context.Context, a *attempt, snapshot members, enrichmentDoc map[string]any,
	resp *enrichv1.EnrichResponse) (embed.Outcome, error) {
	job := a.lease.Job
	if r.cfg.Embedder == nil {
		r.cfg.Metrics.EmbedOutcome("skipped", string(embed.SkipDisabled))
		return embed.Outcome{SkipReason: embed.SkipDisabled}, nil
	}
	doc, err := a.textDocument(snapshot, enrichmentDoc)
	if err != nil {
		return embed.Outcome{}, &jobError{code: CodeBadEnrichment, message: err.Error()}
	}
	outcome, err := r.cfg.Embedder.Upsert(ctx, embed.UpsertRequest{
		TenantID: job.TenantID, CandidateID: job.CandidateID, Candidate: doc,
		ModelVersion: resp.GetModelVersion(), PromptVersion: resp.GetPromptVersion(),
		RequestID: job.CorrelationID,
	})
	switch {
	case err != nil:
		r.log.Warn("embedding upsert failed; the job completes without it", "job_id", job.ID,
			"category", outcome.ErrorCategory, "attempts", outcome.Attempts, "error", err)
		r.cfg.Metrics.EmbedOutcome("failed", string(outcome.ErrorCategory))
		r.cfg.Metrics.Log(metrics.LogEmbeddingFailure, "job_id", job.ID, "tenant_id", job.TenantID,
			"category", outcome.ErrorCategory, "attempts", outcome.Attempts, "duration_ms", millis(outcome.Duration))
	case outcome.Upserted:
		r.cfg.Metrics.EmbedOutcome("upserted", "")
		r.cfg.Metrics.Log(metrics.LogEmbeddingSuccess, "job_id", job.ID, "tenant_id", job.TenantID,
			"attempts", outcome.Attempts, "duration_ms", millis(outcome.Duration))
	default:
		r.cfg.Metrics.EmbedOutcome("skipped", string(outcome.SkipReason))
	}
	// The original's health.embed: written when the embed breaker opens or closes
	// (Health writes only changes).
	if s, ok := r.cfg.Embedder.(interface{ State() string }); ok {
		r.cfg.Metrics.Health(metrics.LogHealthEmbed, s.State() != embed.StateOpen)
	}
	return outcome, nil
}

// parseEnrichment checks the plugin's output is a JSON object with the three
// top-level fields, and splits it into its members (their values stay encoded).
func parseEnrichment(resp *enrichv1.EnrichResponse) (members, error) {
	enrichment, err := objectMembers(resp.GetEnrichmentJson())
	if err != nil {
		return nil, &jobError{code: CodeBadEnrichment, message: "plugin returned invalid JSON: " + err.Error()}
	}
	for _, field := range []string{"resume_analysis", "recruiter_insights", "overall_score"} {
		if _, ok := enrichment[field]; !ok {
			return nil, &jobError{code: CodeBadEnrichment, message: "enrichment lacks " + field}
		}
	}
	return enrichment, nil
}

// processingMetadata is the snapshot's processing_metadata. Its fields are in
// key order, as the map it replaces was written.
type processingMetadata struct {
	Enricher       string         `json:"enricher"`
	ModelVersion   string         `json:"model_version"`
	ProcessedAt    string         `json:"processed_at"`
	ProcessingTime float64        `json:"processing_time"`
	PromptVersion  string         `json:"prompt_version"`
	TokenUsage     map[string]any `json:"token_usage"`
}

// stampedFields are the members enrichedSnapshot writes over the candidate's and
// the enrichment's.
var stampedFields = map[string]bool{"processing_metadata": true, "status": true, "enriched_at": true, "updated_at": true}

// enrichedSnapshot is the candidate document as it reads after enrichment: the
// enrichment's fields over the candidate's, and the fields REFERENCE §5 stamps.
func enrichedSnapshot(candidate, enrichment members, resp *enrichv1.EnrichResponse, at time.Time) members {
	snapshot := candidate.overlay(enrichment)
	stamp := at.UTC().Format(time.RFC3339Nano)
	snapshot.set("processing_metadata", processingMetadata{
		Enricher: resp.GetEnricher(), ModelVersion: resp.GetModelVersion(), ProcessedAt: stamp,
		ProcessingTime: resp.GetProcessingSeconds(), PromptVersion: resp.GetPromptVersion(), TokenUsage: tokenUsage(resp),
	})
	snapshot.set("status", firestore.StatusEnriched)
	snapshot.set("enriched_at", stamp)
	snapshot.set("updated_at", stamp)
	return snapshot
}

// textDocument is what the embedding's text reads of the snapshot
// (embed.TextFields), decoded. The values already decoded (a Firestore document,
// the enrichment Firestore got) are reused; the rest are decoded from their
// members, and the fields the text does not read are not decoded at all.
func (a *attempt) textDocument(snapshot members, enrichmentDoc map[string]any) (map[string]any, error) {
	doc := make(map[string]any, len(embed.TextFields))
	for _, k := range embed.TextFields {
		raw, ok := snapshot[k]
		if !ok {
			continue
		}
		if v, ok := a.decodedValue(k, enrichmentDoc); ok {
			doc[k] = v
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("snapshot field %q: %w", k, err)
		}
		doc[k] = v
	}
	return doc, nil
}

// decodedValue is the snapshot's value of k when it is already decoded: from
// the enrichment when the enrichment has k, else from the candidate.
func (a *attempt) decodedValue(k string, enrichmentDoc map[string]any) (any, bool) {
	if stampedFields[k] {
		return nil, false
	}
	if _, fromEnrichment := a.enrichment[k]; fromEnrichment {
		v, ok := enrichmentDoc[k]
		return v, ok
	}
	v, ok := a.candidateDoc[k]
	return v, ok
}

func tokenUsage(resp *enrichv1.EnrichResponse) map[string]any {
	u := resp.GetTokenUsage()
	if u == nil {
		return nil
	}
	return map[string]any{"prompt_tokens": u.GetPromptTokens(), "completion_tokens": u.GetCompletionTokens(), "total_tokens": u.GetTotalTokens()}
}
