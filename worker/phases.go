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
	lease     *store.Lease
	started   time.Time
	loaded    time.Time
	candidate map[string]any
	request   *enrichv1.EnrichRequest
	// What the LLM path did (llm.go): time waited for the rate limit, 429s met,
	// and whether the cache answered.
	rateLimitWait time.Duration
	rateLimited   int
	cacheHit      bool
	// sideWrites are Redis writes made beside the job's own phases rather than
	// before them (the result cache entry, a call's token count): each costs a
	// round trip that no phase needs to wait for, only the job's end.
	sideWrites sync.WaitGroup
	// enrichment is the plugin's output as checked (parseEnrichment), kept so the
	// later phases do not decode it again; nil until checked.
	enrichment map[string]any
}

// prepare loads the candidate and builds the enrichment request of a leased job.
func (r *Runner) prepare(ctx context.Context, lease *store.Lease) (*attempt, error) {
	job := lease.Job
	a := &attempt{lease: lease, started: r.cfg.Now()}
	candidate, err := r.loadCandidate(ctx, job)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(candidate)
	if err != nil {
		return nil, &jobError{code: CodeInvalidCandidate, message: err.Error()}
	}
	a.loaded = r.cfg.Now()
	a.candidate = candidate
	a.request = &enrichv1.EnrichRequest{
		JobId:         job.ID,
		TenantId:      job.TenantID,
		CandidateId:   job.CandidateID,
		CandidateJson: raw,
		Attempt:       int32(job.Attempts),
	}
	return a, nil
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

// loadCandidate is the enrichment input: the Firestore document overlaid by the
// request's payload, or the payload alone when no candidate store is configured.
func (r *Runner) loadCandidate(ctx context.Context, job *store.Job) (map[string]any, error) {
	if r.cfg.Candidates == nil {
		return payloadDocument(job)
	}
	doc, err := r.cfg.Candidates.Load(ctx, job.TenantID, job.CandidateID, job.Payload)
	switch {
	case err == nil:
		return doc, nil
	case errors.Is(err, firestore.ErrCandidateNotFound):
		return nil, &jobError{code: CodeCandidateNotFound, message: err.Error()}
	case errors.Is(err, firestore.ErrTenantMismatch):
		return nil, &jobError{code: CodeTenantMismatch, message: err.Error()}
	case errors.Is(err, firestore.ErrInvalidID), errors.Is(err, firestore.ErrInvalidPayload):
		return nil, &jobError{code: CodeInvalidCandidate, message: err.Error()}
	case interrupted(ctx):
		return nil, fmt.Errorf("loading the candidate: %w: %w", context.Canceled, err)
	default:
		return nil, &jobError{code: CodeFirestoreRead, message: err.Error(), retryable: true}
	}
}

// interrupted reports whether the job's context was cancelled (shutdown, or a
// lost lease), so that a Firestore call's failure is that interruption and not
// Firestore's fault: Firestore reports it as a gRPC Canceled status, which
// does not wrap context.Canceled, and the job must be released, not charged.
func interrupted(ctx context.Context) bool { return errors.Is(ctx.Err(), context.Canceled) }

// payloadDocument is the candidate made of the request's payload alone.
func payloadDocument(job *store.Job) (map[string]any, error) {
	payload := bytes.TrimSpace(job.Payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		return nil, &jobError{code: CodeCandidateNotFound, message: "no candidate document and no payload to enrich"}
	}
	doc := map[string]any{}
	if err := json.Unmarshal(payload, &doc); err != nil {
		return nil, &jobError{code: CodeInvalidCandidate, message: "payload is not a JSON object: " + err.Error()}
	}
	doc["candidate_id"] = job.CandidateID
	doc["org_id"] = job.TenantID
	return doc, nil
}

// finish writes a successful enrichment downstream (Firestore, then the embedding)
// and turns it into the job's result. A failed Firestore write fails the attempt
// (retryable); a failed embedding does not: the job completes and says why.
func (r *Runner) finish(ctx context.Context, a *attempt, resp *enrichv1.EnrichResponse) (*Result, error) {
	job := a.lease.Job
	pythonDone := r.cfg.Now()
	enrichment := a.enrichment
	if enrichment == nil {
		var err error
		if enrichment, err = parseEnrichment(resp); err != nil {
			return nil, err
		}
	}
	snapshot := enrichedSnapshot(a.candidate, enrichment, resp, pythonDone)
	if r.cfg.Candidates != nil {
		meta := firestore.ProcessingMetadata{
			ProcessedAt: pythonDone, ModelVersion: resp.GetModelVersion(), PromptVersion: resp.GetPromptVersion(),
			Enricher: resp.GetEnricher(), ProcessingSeconds: resp.GetProcessingSeconds(), TokenUsage: tokenUsage(resp),
		}
		if err := r.cfg.Candidates.SaveEnrichment(ctx, job.TenantID, job.CandidateID, enrichment, meta); err != nil {
			if interrupted(ctx) {
				return nil, fmt.Errorf("saving the enrichment: %w: %w", context.Canceled, err)
			}
			return nil, &jobError{code: CodeFirestoreWrite, message: err.Error(), retryable: true}
		}
	}
	firestoreDone := r.cfg.Now()
	outcome := r.upsertEmbedding(ctx, job, snapshot, resp)
	finished := r.cfg.Now()
	queue := millis(a.started.Sub(job.CreatedAt))
	return &Result{
		ProcessingTimeSeconds:  round(finished.Sub(a.started).Seconds(), 6),
		CandidateSnapshot:      snapshot,
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
			RateLimit: millis(a.rateLimitWait),
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

// upsertEmbedding writes the embedding; its failure is recorded, never fatal.
func (r *Runner) upsertEmbedding(ctx context.Context, job *store.Job, snapshot map[string]any, resp *enrichv1.EnrichResponse) embed.Outcome {
	if r.cfg.Embedder == nil {
		r.cfg.Metrics.EmbedOutcome("skipped", string(embed.SkipDisabled))
		return embed.Outcome{SkipReason: embed.SkipDisabled}
	}
	outcome, err := r.cfg.Embedder.Upsert(ctx, embed.UpsertRequest{
		TenantID: job.TenantID, CandidateID: job.CandidateID, Candidate: snapshot,
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
	return outcome
}

// parseEnrichment checks the plugin's output has the three top-level fields.
func parseEnrichment(resp *enrichv1.EnrichResponse) (map[string]any, error) {
	var enrichment map[string]any
	if err := json.Unmarshal(resp.GetEnrichmentJson(), &enrichment); err != nil {
		return nil, &jobError{code: CodeBadEnrichment, message: "plugin returned invalid JSON: " + err.Error()}
	}
	for _, field := range []string{"resume_analysis", "recruiter_insights", "overall_score"} {
		if _, ok := enrichment[field]; !ok {
			return nil, &jobError{code: CodeBadEnrichment, message: "enrichment lacks " + field}
		}
	}
	return enrichment, nil
}

// enrichedSnapshot is the candidate document as it reads after enrichment: the
// fields REFERENCE §5 merges into it.
func enrichedSnapshot(candidate, enrichment map[string]any, resp *enrichv1.EnrichResponse, at time.Time) map[string]any {
	snapshot := make(map[string]any, len(candidate)+8)
	for k, v := range candidate {
		snapshot[k] = v
	}
	for k, v := range enrichment {
		snapshot[k] = v
	}
	stamp := at.UTC().Format(time.RFC3339Nano)
	snapshot["processing_metadata"] = map[string]any{
		"processed_at":    stamp,
		"model_version":   resp.GetModelVersion(),
		"prompt_version":  resp.GetPromptVersion(),
		"enricher":        resp.GetEnricher(),
		"processing_time": resp.GetProcessingSeconds(),
		"token_usage":     tokenUsage(resp),
	}
	snapshot["status"] = firestore.StatusEnriched
	snapshot["enriched_at"] = stamp
	snapshot["updated_at"] = stamp
	return snapshot
}

func tokenUsage(resp *enrichv1.EnrichResponse) map[string]any {
	u := resp.GetTokenUsage()
	if u == nil {
		return nil
	}
	return map[string]any{"prompt_tokens": u.GetPromptTokens(), "completion_tokens": u.GetCompletionTokens(), "total_tokens": u.GetTotalTokens()}
}
