package firestore

import (
	"context"
	"fmt"
	"time"

	gfirestore "cloud.google.com/go/firestore"
)

// StatusEnriched is the candidate status SaveEnrichment writes.
const StatusEnriched = "enriched"

// enrichmentFields are the enrichment's fields that SaveEnrichment copies, all
// required.
var enrichmentFields = []string{"resume_analysis", "recruiter_insights", "overall_score"}

// ProcessingMetadata describes the enrichment run; SaveEnrichment stores it as
// the document's processing_metadata.
type ProcessingMetadata struct {
	// ProcessedAt is when the enrichment finished; required. It is written, as an RFC 3339
	// string in UTC, to processing_metadata.processed_at and enriched_at; a
	// retry that passes the same value writes the same document.
	ProcessedAt time.Time
	// ModelVersion, PromptVersion and Enricher come from the plugin's answer.
	ModelVersion, PromptVersion, Enricher string
	// ProcessingSeconds is the enrichment's own duration, in seconds.
	ProcessingSeconds float64
	// TokenUsage is the LLM's usage counters, if any; omitted when nil.
	TokenUsage map[string]any
}

// SaveEnrichment merge-writes the enrichment into the candidate's document
// (REFERENCE §5): resume_analysis, recruiter_insights and overall_score from
// enrichment, processing_metadata from meta, status "enriched", enriched_at, and
// updated_at as the server's timestamp. Each of these fields is replaced whole;
// every other field of the document is left as it is, and a missing document is
// created. Writing the same input twice leaves the same document (updated_at
// aside).
//
// It fails with ErrInvalidID, ErrInvalidEnrichment, or a wrapped Firestore
// error (transient). It does not check org_id: Load refuses another tenant's
// document before anything is enriched, and the document id carries the tenant.
func (s *CandidateStore) SaveEnrichment(ctx context.Context, tenantID, candidateID string,
	enrichment map[string]any, meta ProcessingMetadata) error {
	ref, err := s.doc(tenantID, candidateID)
	if err != nil {
		return err
	}
	data, err := enrichmentUpdate(enrichment, meta)
	if err != nil {
		return err
	}
	// Merge with explicit top-level paths, not MergeAll: MergeAll merges nested
	// maps key by key, so keys of a previous enrichment would survive a new one.
	paths := make([]gfirestore.FieldPath, 0, len(data))
	for field := range data {
		paths = append(paths, gfirestore.FieldPath{field})
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if _, err := ref.Set(ctx, data, gfirestore.Merge(paths...)); err != nil {
		return fmt.Errorf("firestore: writing enrichment to %s: %w", ref.Path, err)
	}
	return nil
}

// enrichmentUpdate is the set of fields SaveEnrichment writes.
func enrichmentUpdate(enrichment map[string]any, meta ProcessingMetadata) (map[string]any, error) {
	if meta.ProcessedAt.IsZero() {
		// Defaulting to the clock here would make a retried write differ.
		return nil, fmt.Errorf("%w: ProcessedAt is required", ErrInvalidEnrichment)
	}
	data := make(map[string]any, len(enrichmentFields)+4)
	for _, field := range enrichmentFields {
		value, ok := enrichment[field]
		if !ok {
			return nil, fmt.Errorf("%w: no %s", ErrInvalidEnrichment, field)
		}
		data[field] = value
	}
	stamp := meta.ProcessedAt.UTC().Format(time.RFC3339Nano)
	metadata := map[string]any{
		"processed_at":    stamp,
		"model_version":   meta.ModelVersion,
		"prompt_version":  meta.PromptVersion,
		"enricher":        meta.Enricher,
		"processing_time": meta.ProcessingSeconds,
	}
	if meta.TokenUsage != nil {
		metadata["token_usage"] = meta.TokenUsage
	}
	data["processing_metadata"] = metadata
	data["status"] = StatusEnriched
	data["enriched_at"] = stamp
	data["updated_at"] = gfirestore.ServerTimestamp
	return data, nil
}
