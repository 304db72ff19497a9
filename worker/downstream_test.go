package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	gfirestore "cloud.google.com/go/firestore"
	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/firestore"
)

// embedServer stands in for hh-embed-svc: it records upserts and answers status.
type embedServer struct {
	*httptest.Server
	mu      sync.Mutex
	status  int
	upserts []map[string]any
	tenants []string
}

func newEmbedServer(t *testing.T, status int) *embedServer {
	t.Helper()
	es := &embedServer{status: status}
	es.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var upsert map[string]any
		_ = json.Unmarshal(body, &upsert)
		es.mu.Lock()
		es.upserts = append(es.upserts, upsert)
		es.tenants = append(es.tenants, r.Header.Get("X-Tenant-ID"))
		status := es.status
		es.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"vectorId":"v1"}`))
	}))
	t.Cleanup(es.Close)
	return es
}

// downstream is a runner whose jobs read and write Firestore and upsert embeddings.
type downstream struct {
	*testBundle
	docs  *gfirestore.Client
	embed *embedServer
}

func setupDownstream(t *testing.T, embedStatus int) *downstream {
	t.Helper()
	h := fnv.New64a()
	_, _ = h.Write([]byte(t.Name()))
	project := fmt.Sprintf("worker-test-%x", h.Sum64())
	ctx := context.Background()
	candidates, err := firestore.New(ctx, firestore.Config{ProjectID: project})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = candidates.Close() })
	docs, err := gfirestore.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = docs.Close() })
	es := newEmbedServer(t, embedStatus)
	embedder, err := embed.New(ctx, embed.Config{Enabled: true, BaseURL: es.URL, RetryLimit: -1, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	b := setupWith(t, Config{Logger: hclog.NewNullLogger(), Candidates: candidates, Embedder: embedder})
	b.runner.enricher = &scriptedEnricher{}
	return &downstream{testBundle: b, docs: docs, embed: es}
}

func (d *downstream) seed(t *testing.T, id string, doc map[string]any) {
	t.Helper()
	if _, err := d.docs.Collection("candidates").Doc(id).Set(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
}

func (d *downstream) doc(t *testing.T, id string) map[string]any {
	t.Helper()
	snap, err := d.docs.Collection("candidates").Doc(id).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap.Data()
}

func (d *downstream) result(t *testing.T, id string) Result {
	t.Helper()
	job := d.job(t, id)
	var r Result
	if job.Status != store.StatusCompleted || json.Unmarshal(job.Result, &r) != nil {
		t.Fatalf("job %s (%s: %s), want completed", job.Status, job.ErrorCode, job.ErrorMessage)
	}
	return r
}

// failingFirstWrite is a candidate store whose first SaveEnrichment fails, as a
// Firestore outage would.
type failingFirstWrite struct {
	CandidateStore
	mu     sync.Mutex
	writes int
}

func (f *failingFirstWrite) SaveEnrichment(ctx context.Context, tenantID, candidateID string, enrichment map[string]any, meta firestore.ProcessingMetadata) error {
	f.mu.Lock()
	f.writes++
	first := f.writes == 1
	f.mu.Unlock()
	if first {
		return fmt.Errorf("firestore: deadline exceeded")
	}
	return f.CandidateStore.SaveEnrichment(ctx, tenantID, candidateID, enrichment, meta)
}

func TestRunnerDownstream(t *testing.T) {
	t.Parallel()

	t.Run("EnrichesTheFirestoreDocumentAndUpsertsItsEmbedding", func(t *testing.T) {
		t.Parallel()
		d := setupDownstream(t, http.StatusOK)
		d.seed(t, "tenant-alpha_cand-1", map[string]any{"name": "Ada", "resume_text": "Go engineer", "org_id": "tenant-alpha", "email": "ada@example.com"})
		id := d.submit(t, "")
		d.runAll(t)
		r := d.result(t, id)
		if !r.EmbeddingUpserted || r.EmbeddingSkippedReason != "" {
			t.Fatalf("embedding: upserted %v, skip %q", r.EmbeddingUpserted, r.EmbeddingSkippedReason)
		}
		doc := d.doc(t, "tenant-alpha_cand-1")
		if doc["status"] != "enriched" || doc["resume_analysis"] == nil || doc["email"] != "ada@example.com" || doc["overall_score"] != 0.7 {
			t.Fatalf("document after enrichment = %v", doc)
		}
		if len(d.embed.upserts) != 1 || d.embed.upserts[0]["entityId"] != "cand-1" || d.embed.tenants[0] != "tenant-alpha" {
			t.Fatalf("embed server saw %v (tenants %v)", d.embed.upserts, d.embed.tenants)
		}
	})

	t.Run("PayloadOverlaysTheDocument", func(t *testing.T) {
		t.Parallel()
		d := setupDownstream(t, http.StatusOK)
		d.seed(t, "tenant-alpha_cand-1", map[string]any{"name": "Ada", "resume_text": "old text", "org_id": "tenant-alpha"})
		id := d.submit(t, `{"resume_text":"new text"}`)
		d.runAll(t)
		if snap := snapshotOf(t, d.result(t, id)); snap["resume_text"] != "new text" || snap["name"] != "Ada" {
			t.Fatalf("snapshot = %v", snap)
		}
	})

	t.Run("MissingDocumentWithoutPayloadFailsWithoutRetry", func(t *testing.T) {
		t.Parallel()
		d := setupDownstream(t, http.StatusOK)
		id := d.submit(t, "")
		d.runAll(t)
		if job := d.job(t, id); job.Status != store.StatusFailed || job.ErrorCode != CodeCandidateNotFound || job.Attempts != 1 {
			t.Fatalf("job %s %q after %d", job.Status, job.ErrorCode, job.Attempts)
		}
	})

	t.Run("AnotherTenantsDocumentIsRefused", func(t *testing.T) {
		t.Parallel()
		d := setupDownstream(t, http.StatusOK)
		d.seed(t, "tenant-alpha_cand-1", map[string]any{"name": "Eve", "resume_text": "x", "org_id": "tenant-beta"})
		id := d.submit(t, "")
		d.runAll(t)
		if job := d.job(t, id); job.Status != store.StatusFailed || job.ErrorCode != CodeTenantMismatch {
			t.Fatalf("job %s %q, want failed tenant_mismatch", job.Status, job.ErrorCode)
		}
		if doc := d.doc(t, "tenant-alpha_cand-1"); doc["resume_analysis"] != nil {
			t.Fatal("another tenant's document was written")
		}
	})

	t.Run("RetryAfterAFailedWriteReusesTheEnrichmentCheckpoint", func(t *testing.T) {
		t.Parallel()
		d := setupDownstream(t, http.StatusOK)
		flaky := &failingFirstWrite{CandidateStore: d.runner.cfg.Candidates}
		d.runner.cfg.Candidates = flaky
		id := d.submit(t, resumePayload)
		d.runAll(t)
		r := d.result(t, id)
		enricher := d.runner.enricher.(*scriptedEnricher)
		if r.Attempts != 2 || flaky.writes != 2 || enricher.calls != 1 {
			t.Fatalf("attempts %d, writes %d, enrich calls %d; want 2, 2 and 1 (the retry reuses the checkpoint)",
				r.Attempts, flaky.writes, enricher.calls)
		}
		if doc := d.doc(t, "tenant-alpha_cand-1"); doc["resume_analysis"] == nil {
			t.Fatalf("the retried write did not land: %v", doc)
		}
	})

	t.Run("EmbeddingFailureStillCompletesTheJobAndSaysWhy", func(t *testing.T) {
		t.Parallel()
		d := setupDownstream(t, http.StatusInternalServerError)
		id := d.submit(t, resumePayload)
		d.runAll(t)
		r := d.result(t, id)
		if r.EmbeddingUpserted || r.EmbeddingErrorCategory != "server" {
			t.Fatalf("embedding: upserted %v, category %q; want false, server", r.EmbeddingUpserted, r.EmbeddingErrorCategory)
		}
	})
}
