package router

import (
	"context"
	"net/http"
	"testing"

	"github.com/headhunter/hh-enrich-svc/store"
)

// A job's LLM tokens, summed over its attempts, are part of its status (and of
// the OpenAPI contract, which request checks every answer against).
func TestStatusShowsTheJobsTokenUsageOnlyWhenSomethingWasBilled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	job, _, err := b.store.Submit(context.Background(), store.SubmitRequest{TenantID: "tenant-alpha", CandidateID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	before := b.request(t, http.MethodGet, "/v1/enrich/status/"+job.ID, jsonTenant, "")
	if _, ok := before.body["job"].(map[string]any)["tokenUsage"]; ok {
		t.Fatalf("a job nothing was billed for shows tokenUsage: %v", before.body)
	}
	if err := b.store.AddTokenUsage(context.Background(), job.ID, store.TokenUsage{PromptTokens: 1800, CompletionTokens: 800, TotalTokens: 2600}); err != nil {
		t.Fatal(err)
	}
	after := b.request(t, http.MethodGet, "/v1/enrich/status/"+job.ID, jsonTenant, "")
	usage, _ := after.body["job"].(map[string]any)["tokenUsage"].(map[string]any)
	if usage["promptTokens"] != 1800.0 || usage["completionTokens"] != 800.0 || usage["totalTokens"] != 2600.0 {
		t.Fatalf("tokenUsage = %v", after.body["job"])
	}
}
