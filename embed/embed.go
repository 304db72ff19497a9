// Package embed is the client of hh-embed-svc, which stores each enriched
// candidate's embedding in pgvector (REFERENCE §6).
//
// The HTTP client, its retries and its breaker arrive with the downstream issue. Until
// then every job records why no embedding was written, with the reasons below.
package embed

// SkipReason says why a job completed without upserting an embedding. The values are
// stored on jobs as embeddingSkippedReason.
type SkipReason string

// Skip reasons of REFERENCE §6, plus the open-breaker case it left without one (W16).
const (
	SkipDisabled              SkipReason = "embedding_disabled"
	SkipMissingSearchableData SkipReason = "missing_searchable_data"
	SkipCircuitOpen           SkipReason = "embed_circuit_open"
)
