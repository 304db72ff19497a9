package firestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	gfirestore "cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"

	"github.com/headhunter/hh-enrich-svc/store/firestore/firestoretest"
)

const (
	tenant    = "tenant-alpha"
	candidate = "cand-42"
	// testTimeout bounds each test's calls; the emulator answers in milliseconds.
	testTimeout = 30 * time.Second
)

var projectSeq atomic.Int64

type testBundle struct {
	ctx    context.Context
	client *gfirestore.Client
}

// setup returns a store on a project of its own, wiped when the test ends.
func setup(t *testing.T) (*CandidateStore, *testBundle) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	project := fmt.Sprintf("hh-test-%d", projectSeq.Add(1))
	s, err := New(ctx, Config{ProjectID: project})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		firestoretest.Reset(t, emulatorHost, project)
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, &testBundle{ctx: ctx, client: s.client}
}

func (b *testBundle) seed(t *testing.T, tenantID, candidateID string, fields map[string]any) {
	t.Helper()
	ref := b.client.Collection(CollectionDefault).Doc(DocumentID(tenantID, candidateID))
	if _, err := ref.Set(b.ctx, fields); err != nil {
		t.Fatalf("seeding %s: %v", ref.Path, err)
	}
}

// raw reads a document as Firestore stores it, without Load's conversions.
func (b *testBundle) raw(t *testing.T, tenantID, candidateID string) map[string]any {
	t.Helper()
	ref := b.client.Collection(CollectionDefault).Doc(DocumentID(tenantID, candidateID))
	snap, err := ref.Get(b.ctx)
	if err != nil {
		t.Fatalf("reading %s: %v", ref.Path, err)
	}
	return snap.Data()
}

var uploadedAt = time.Date(2026, 9, 4, 7, 0, 0, 0, time.UTC)

func nurseDoc() map[string]any {
	return map[string]any{
		"candidate_id":       candidate,
		"name":               "Tomás Kowalski",
		"resume_text":        "Intern Registered Nurse, Charité (2025 - present)",
		"recruiter_comments": "Impressive ownership of outcomes.",
		"org_id":             tenant,
		"uploaded_at":        uploadedAt,
		"status":             "pending_enrichment",
		"metadata":           map[string]any{"source": "linkedin", "tags": []any{"clinical", int64(3)}},
	}
}

func TestCandidateStoreLoad(t *testing.T) {
	t.Parallel()

	t.Run("ReadsDocumentAsJSONFriendlyMap", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		b.seed(t, tenant, candidate, nurseDoc())
		got, err := s.Load(b.ctx, tenant, candidate, nil)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		want := nurseDoc()
		want["uploaded_at"] = "2026-09-04T07:00:00Z"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Load (-want +got):\n%s", diff)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("the loaded candidate does not marshal to JSON: %v", err)
		}
	})

	t.Run("PayloadWinsOverDocumentFields", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		b.seed(t, tenant, candidate, nurseDoc())
		payload := json.RawMessage(`{"resume_text":"Staff Nurse, 2019 - present","current_title":"Staff Nurse",
			"org_id":"tenant-evil","candidate_id":"other"}`)
		got, err := s.Load(b.ctx, tenant, candidate, payload)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		want := nurseDoc()
		want["uploaded_at"] = "2026-09-04T07:00:00Z"
		want["resume_text"] = "Staff Nurse, 2019 - present"
		want["current_title"] = "Staff Nurse"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Load (-want +got):\n%s", diff)
		}
	})

	t.Run("PayloadAloneWhenNoDocument", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		got, err := s.Load(b.ctx, tenant, candidate, json.RawMessage(`{"name":"Ada","resume_text":"Go, 7 years"}`))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		want := map[string]any{"name": "Ada", "resume_text": "Go, 7 years", "candidate_id": candidate, "org_id": tenant}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Load (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrCandidateNotFoundWithoutDocumentOrPayload", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		for _, payload := range []json.RawMessage{nil, json.RawMessage(" null ")} {
			_, err := s.Load(b.ctx, tenant, candidate, payload)
			if !errors.Is(err, ErrCandidateNotFound) {
				t.Errorf("Load(payload %q) = %v, want ErrCandidateNotFound", payload, err)
			}
		}
	})

	t.Run("ErrTenantMismatchRefusesAnotherOrgsDocument", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		doc := nurseDoc()
		doc["org_id"] = "tenant-gamma"
		b.seed(t, tenant, candidate, doc)
		_, err := s.Load(b.ctx, tenant, candidate, json.RawMessage(`{"resume_text":"x"}`))
		if !errors.Is(err, ErrTenantMismatch) {
			t.Errorf("Load = %v, want ErrTenantMismatch", err)
		}
	})

	t.Run("DocumentWithoutOrgIDIsTheTenants", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		b.seed(t, tenant, candidate, map[string]any{"resume_text": "Go", "org_id": ""})
		got, err := s.Load(b.ctx, tenant, candidate, nil)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if got["org_id"] != tenant || got["candidate_id"] != candidate {
			t.Errorf("Load = %v, want org_id %q and candidate_id %q", got, tenant, candidate)
		}
	})

	t.Run("ErrInvalidPayloadForNonObject", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		_, err := s.Load(b.ctx, tenant, candidate, json.RawMessage(`["a"]`))
		if !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("Load = %v, want ErrInvalidPayload", err)
		}
	})

	t.Run("ErrInvalidIDForUnaddressableIDs", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		for _, ids := range [][2]string{{tenant, "a/b"}, {"tenant_x", "c"}, {"", "c"}, {tenant, ""}, {"__t", "c__"}} {
			_, err := s.Load(b.ctx, ids[0], ids[1], json.RawMessage(`{}`))
			if !errors.Is(err, ErrInvalidID) {
				t.Errorf("Load(%q, %q) = %v, want ErrInvalidID", ids[0], ids[1], err)
			}
		}
	})

	t.Run("ResetWipesTheProject", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		b.seed(t, tenant, candidate, nurseDoc())
		firestoretest.Reset(t, emulatorHost, s.cfg.ProjectID)
		_, err := s.Load(b.ctx, tenant, candidate, nil)
		if !errors.Is(err, ErrCandidateNotFound) {
			t.Errorf("Load after Reset = %v, want ErrCandidateNotFound", err)
		}
	})
}

var processedAt = time.Date(2026, 11, 28, 15, 4, 5, 123456000, time.UTC)

func enrichment() map[string]any {
	return map[string]any{
		"resume_analysis": map[string]any{
			"technical_skills":  []any{"triage", "ICU"},
			"career_trajectory": map[string]any{"current_level": "junior", "years_experience": float64(1)},
		},
		"recruiter_insights": map[string]any{"sentiment": "positive", "strengths": []any{"ownership"}},
		"overall_score":      0.61,
	}
}

func metadata() ProcessingMetadata {
	return ProcessingMetadata{
		ProcessedAt: processedAt, ModelVersion: "local-rules-v1", PromptVersion: "rules-v1",
		Enricher: "local_rules", ProcessingSeconds: 0.0027,
		TokenUsage: map[string]any{"total_tokens": int64(0)},
	}
}

// wantEnriched is doc after SaveEnrichment(enrichment(), metadata()), updated_at aside.
func wantEnriched(doc map[string]any) map[string]any {
	want := map[string]any{}
	for k, v := range doc {
		want[k] = v
	}
	for k, v := range enrichment() {
		want[k] = v
	}
	want["status"] = "enriched"
	want["enriched_at"] = "2026-11-28T15:04:05.123456Z"
	want["processing_metadata"] = map[string]any{
		"processed_at": "2026-11-28T15:04:05.123456Z", "model_version": "local-rules-v1",
		"prompt_version": "rules-v1", "enricher": "local_rules", "processing_time": 0.0027,
		"token_usage": map[string]any{"total_tokens": int64(0)},
	}
	return want
}

// withoutUpdatedAt checks that updated_at is a server Timestamp and removes it.
func withoutUpdatedAt(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	stamp, ok := doc["updated_at"].(time.Time)
	if !ok || time.Since(stamp) > time.Hour || time.Until(stamp) > time.Hour {
		t.Errorf("updated_at = %#v, want a current Firestore Timestamp", doc["updated_at"])
	}
	delete(doc, "updated_at")
	return doc
}

func TestCandidateStoreSaveEnrichment(t *testing.T) {
	t.Parallel()

	t.Run("WritesEnrichmentAndKeepsOtherFields", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		b.seed(t, tenant, candidate, nurseDoc())
		if err := s.SaveEnrichment(b.ctx, tenant, candidate, enrichment(), metadata()); err != nil {
			t.Fatalf("SaveEnrichment: %v", err)
		}
		got := withoutUpdatedAt(t, b.raw(t, tenant, candidate))
		if diff := cmp.Diff(wantEnriched(nurseDoc()), got); diff != "" {
			t.Errorf("document (-want +got):\n%s", diff)
		}
	})

	t.Run("WritingTwiceIsIdempotent", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		b.seed(t, tenant, candidate, nurseDoc())
		for range 2 {
			if err := s.SaveEnrichment(b.ctx, tenant, candidate, enrichment(), metadata()); err != nil {
				t.Fatalf("SaveEnrichment: %v", err)
			}
		}
		got := withoutUpdatedAt(t, b.raw(t, tenant, candidate))
		if diff := cmp.Diff(wantEnriched(nurseDoc()), got); diff != "" {
			t.Errorf("document after two writes (-want +got):\n%s", diff)
		}
	})

	t.Run("ReplacesAPreviousEnrichmentWhole", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		doc := nurseDoc()
		doc["resume_analysis"] = map[string]any{"stale_key": "from an older prompt"}
		b.seed(t, tenant, candidate, doc)
		if err := s.SaveEnrichment(b.ctx, tenant, candidate, enrichment(), metadata()); err != nil {
			t.Fatalf("SaveEnrichment: %v", err)
		}
		got := withoutUpdatedAt(t, b.raw(t, tenant, candidate))
		if diff := cmp.Diff(wantEnriched(nurseDoc()), got); diff != "" {
			t.Errorf("document (-want +got):\n%s", diff)
		}
	})

	t.Run("CreatesAMissingDocument", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		if err := s.SaveEnrichment(b.ctx, tenant, candidate, enrichment(), metadata()); err != nil {
			t.Fatalf("SaveEnrichment: %v", err)
		}
		got := withoutUpdatedAt(t, b.raw(t, tenant, candidate))
		if diff := cmp.Diff(wantEnriched(nil), got); diff != "" {
			t.Errorf("document (-want +got):\n%s", diff)
		}
	})

	t.Run("LoadReadsTheEnrichedDocumentBackAsJSON", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		b.seed(t, tenant, candidate, nurseDoc())
		if err := s.SaveEnrichment(b.ctx, tenant, candidate, enrichment(), metadata()); err != nil {
			t.Fatalf("SaveEnrichment: %v", err)
		}
		got, err := s.Load(b.ctx, tenant, candidate, nil)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(got["updated_at"])); err != nil {
			t.Errorf("updated_at = %#v, want an RFC 3339 string: %v", got["updated_at"], err)
		}
		if got["status"] != "enriched" || got["name"] != "Tomás Kowalski" {
			t.Errorf("Load = %v, want status enriched and the seeded name", got)
		}
	})

	t.Run("ErrInvalidEnrichmentWithoutRequiredFields", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		partial := enrichment()
		delete(partial, "overall_score")
		if err := s.SaveEnrichment(b.ctx, tenant, candidate, partial, metadata()); !errors.Is(err, ErrInvalidEnrichment) {
			t.Errorf("SaveEnrichment without overall_score = %v, want ErrInvalidEnrichment", err)
		}
		if err := s.SaveEnrichment(b.ctx, tenant, candidate, enrichment(), ProcessingMetadata{}); !errors.Is(err, ErrInvalidEnrichment) {
			t.Errorf("SaveEnrichment without ProcessedAt = %v, want ErrInvalidEnrichment", err)
		}
	})

	t.Run("HonoursTheCallersDeadline", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		ctx, cancel := context.WithCancel(b.ctx)
		cancel()
		err := s.SaveEnrichment(ctx, tenant, candidate, enrichment(), metadata())
		if err == nil || errors.Is(err, ErrInvalidEnrichment) {
			t.Errorf("SaveEnrichment on a cancelled ctx = %v, want a Firestore error", err)
		}
	})
}

func TestNew(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"ErrorsWithoutProjectID":    {},
		"ErrorsOnANestedCollection": {ProjectID: "p", Collection: "a/b/c"},
		"ErrorsOnANegativeTimeout":  {ProjectID: "p", Timeout: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if s, err := New(context.Background(), cfg); err == nil {
				_ = s.Close()
				t.Errorf("New(%+v) succeeded, want an error", cfg)
			}
		})
	}
}

func TestOrganization(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	seed := func(id string, fields map[string]any) {
		if _, err := b.client.Collection(OrganizationsCollection).Doc(id).Set(b.ctx, fields); err != nil {
			t.Fatal(err)
		}
	}
	seed("tenant-alpha", map[string]any{"name": "Alpha", "status": "active"})
	seed("tenant-empty", map[string]any{})

	t.Run("ReadsTheOrganizationDocument", func(t *testing.T) {
		got, err := s.Organization(context.Background(), "tenant-alpha")
		if err != nil || got["name"] != "Alpha" || got["status"] != "active" {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("MissingOrEmptyIsNotFound", func(t *testing.T) {
		for _, id := range []string{"tenant-missing", "tenant-empty"} {
			if _, err := s.Organization(context.Background(), id); !errors.Is(err, ErrOrganizationNotFound) {
				t.Errorf("%s: err = %v, want ErrOrganizationNotFound", id, err)
			}
		}
	})
	t.Run("AnIDWithASlashIsRefused", func(t *testing.T) {
		if _, err := s.Organization(context.Background(), "a/b"); !errors.Is(err, ErrInvalidID) {
			t.Fatalf("err = %v, want ErrInvalidID", err)
		}
	})
}
