// Package embed is the client of hh-embed-svc, which stores each enriched
// candidate's embedding in pgvector (REFERENCE §6).
//
// A Client builds the candidate's searchable text (SearchableText), POSTs it to
// /v1/embeddings/upsert with the candidate id as entityId (W15), retries what a
// retry can fix (5xx, 429 after its Retry-After, timeouts, connection errors)
// with jittered exponential backoff, and stops calling while its breaker is
// open. Errors are typed by HTTP status and network error, never by message
// (W13). An upsert never fails a job: its Outcome says whether the embedding was
// written, and if not, why.
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
