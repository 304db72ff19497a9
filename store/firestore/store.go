// Package firestore is the Firestore candidate store (REFERENCE §5): it reads the
// candidate document a job enriches, `candidates/{tenant}_{candidate}`, and
// merge-writes the enrichment back into it.
//
// It uses cloud.google.com/go/firestore, which talks to the emulator by itself
// when FIRESTORE_EMULATOR_HOST is set. Writes are keyed by document id and
// replace whole fields, so a job that runs again (at-least-once, DESIGN §4)
// writes the same document.
package firestore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gfirestore "cloud.google.com/go/firestore"
)

// Defaults for Config fields left zero.
const (
	CollectionDefault = "candidates"
	TimeoutDefault    = 10 * time.Second
)

// Errors a caller acts on. Any other error from Load or SaveEnrichment (Firestore
// unavailable, a deadline) is transient: the job may be retried.
var (
	// ErrCandidateNotFound: there is no candidate document and the request
	// brought no payload, so there is nothing to enrich. Retrying cannot help.
	ErrCandidateNotFound = errors.New("firestore: candidate not found")
	// ErrTenantMismatch: the document's org_id names another tenant. The
	// document is refused, never overlaid or written. Retrying cannot help.
	ErrTenantMismatch = errors.New("firestore: candidate belongs to another tenant")
	// ErrInvalidID: a tenant or candidate id that cannot name a document (empty,
	// with "/", or a tenant id with "_", which would make `{tenant}_{candidate}`
	// ambiguous).
	ErrInvalidID = errors.New("firestore: invalid tenant or candidate id")
	// ErrInvalidPayload: the request's payload is not a JSON object.
	ErrInvalidPayload = errors.New("firestore: payload is not a JSON object")
	// ErrInvalidEnrichment: the enrichment lacks one of resume_analysis,
	// recruiter_insights or overall_score, or its metadata lacks ProcessedAt.
	ErrInvalidEnrichment = errors.New("firestore: incomplete enrichment")
)

// Config configures a CandidateStore. ProjectID is required.
type Config struct {
	// ProjectID is the Google Cloud project (FIREBASE_PROJECT_ID, else
	// GOOGLE_CLOUD_PROJECT). Required.
	ProjectID string
	// Collection holds the candidate documents (FIRESTORE_COLLECTION).
	// Default "candidates".
	Collection string
	// Timeout bounds each Firestore call, on top of the caller's ctx. Default 10 s.
	Timeout time.Duration
}

func (c Config) withDefaults() Config {
	c.Collection = cmp.Or(c.Collection, CollectionDefault)
	c.Timeout = cmp.Or(c.Timeout, TimeoutDefault)
	return c
}

func (c Config) validate() error {
	switch {
	case c.ProjectID == "":
		return errors.New("firestore: ProjectID is required")
	case strings.Contains(c.Collection, "/"):
		return fmt.Errorf("firestore: Collection %q must be a top-level collection", c.Collection)
	case c.Timeout < 0:
		return fmt.Errorf("firestore: Timeout must not be negative, got %s", c.Timeout)
	}
	return nil
}

// maxDocumentIDBytes is Firestore's limit on a document id.
const maxDocumentIDBytes = 1500

// CandidateStore reads and writes candidate documents. It is safe for
// concurrent use.
type CandidateStore struct {
	cfg    Config
	client *gfirestore.Client
}

// New connects to Firestore (or to the emulator named by FIRESTORE_EMULATOR_HOST).
// It fails on an invalid Config, or when no Google credentials can be found
// outside the emulator. The connection is lazy: an unreachable Firestore shows
// up in the first call, not here. The caller must Close the store.
func New(ctx context.Context, cfg Config) (*CandidateStore, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	client, err := gfirestore.NewClient(ctx, cfg.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("firestore: connecting to project %s: %w", cfg.ProjectID, err)
	}
	return &CandidateStore{cfg: cfg, client: client}, nil
}

// Close releases the connection. Calls after Close fail.
func (s *CandidateStore) Close() error {
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("firestore: closing: %w", err)
	}
	return nil
}

// DocumentID is the id of a candidate's document: "{tenant}_{candidate}".
func DocumentID(tenantID, candidateID string) string {
	return tenantID + "_" + candidateID
}

// doc returns the candidate's document reference, or ErrInvalidID.
func (s *CandidateStore) doc(tenantID, candidateID string) (*gfirestore.DocumentRef, error) {
	id := DocumentID(tenantID, candidateID)
	// Firestore's own rules: no "/", at most 1,500 bytes, no __reserved__ ids.
	if tenantID == "" || candidateID == "" || strings.ContainsAny(tenantID, "/_") ||
		strings.Contains(candidateID, "/") || len(id) > maxDocumentIDBytes ||
		strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__") {
		return nil, fmt.Errorf("%w: tenant %q, candidate %q", ErrInvalidID, tenantID, candidateID)
	}
	return s.client.Collection(s.cfg.Collection).Doc(id), nil
}
