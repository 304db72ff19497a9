package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
)

// textEmbedder does an embed client's CPU work on the candidate (its searchable
// text), with no HTTP call.
type textEmbedder struct{ chars int }

func (e *textEmbedder) Upsert(_ context.Context, req embed.UpsertRequest) (embed.Outcome, error) {
	e.chars += len(embed.SearchableText(req.Candidate))
	return embed.Outcome{Upserted: true}, nil
}

// completionInputs are realistic candidates (the data set's first lines) as job
// payloads, and what the rules enricher answered for one of them
// (testdata/rules_enrichment.json).
func completionInputs(tb testing.TB, n int) ([]*store.Lease, *enrichv1.EnrichResponse) {
	tb.Helper()
	f, err := os.Open("../cmd/hh-enrich-data/testdata/candidates.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	var leases []*store.Lease
	for len(leases) < n && scanner.Scan() {
		leases = append(leases, &store.Lease{Job: &store.Job{ID: "job", TenantID: "tenant-a", CandidateID: "cand",
			Payload: append([]byte(nil), scanner.Bytes()...), Attempts: 1, CreatedAt: time.Now()}})
	}
	enrichment, err := os.ReadFile("testdata/rules_enrichment.json")
	if err != nil {
		tb.Fatal(err)
	}
	return leases, &enrichv1.EnrichResponse{EnrichmentJson: enrichment, ModelVersion: "rules-1", PromptVersion: "p1",
		Enricher: "rules", ProcessingSeconds: 0.0008}
}

// BenchmarkCompletion is the worker's CPU work for one job of the CPU path, the
// plugin call and Redis aside: build the request from the payload, check the
// enrichment, make the searchable text, encode the result the store keeps.
func BenchmarkCompletion(b *testing.B) {
	leases, resp := completionInputs(b, 64)
	emb := &textEmbedder{}
	r := &Runner{cfg: Config{Embedder: emb, SkipCheckpoint: true, Logger: hclog.NewNullLogger()}.withDefaults(),
		log: hclog.NewNullLogger()}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		lease := leases[i%len(leases)]
		a, err := r.prepare(ctx, lease)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.checkpoint(ctx, a, resp); err != nil {
			b.Fatal(err)
		}
		result, err := r.finish(ctx, a, resp)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := encodeResult(result); err != nil {
			b.Fatal(err)
		}
	}
	if emb.chars == 0 {
		b.Fatal("no searchable text made")
	}
}

// snapshotOf is a result's candidate snapshot, decoded.
func snapshotOf(t *testing.T, result Result) map[string]any {
	t.Helper()
	var snap map[string]any
	if err := json.Unmarshal(result.CandidateSnapshot, &snap); err != nil {
		t.Fatalf("snapshot %s: %v", result.CandidateSnapshot, err)
	}
	return snap
}
