package worker

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
)

// billingEnricher fails its first call with a retryable error that was billed
// (a Together call whose corrective try then hit a 503), then answers.
type billingEnricher struct {
	scriptedEnricher
}

func (e *billingEnricher) Enrich(_ context.Context, _ *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	if e.calls == 1 {
		return nil, &pyplugin.Error{Reason: pyplugin.ReasonUpstreamUnavailable, Message: "HTTP 503", Retryable: true,
			TokenUsage: &enrichv1.TokenUsage{PromptTokens: 900, CompletionTokens: 2048, TotalTokens: 2948}}
	}
	return &enrichv1.EnrichResponse{EnrichmentJson: goodEnrichment, ModelVersion: "m1", PromptVersion: "p1", Enricher: "together",
		TokenUsage: &enrichv1.TokenUsage{PromptTokens: 900, CompletionTokens: 400, TotalTokens: 1300}}, nil
}

func TestRunnerTokenUsage(t *testing.T) {
	t.Parallel()

	t.Run("TokensOfEveryAttemptFailedOnesIncludedAreSummedOnTheJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		enricher := &billingEnricher{}
		runner, err := New(b.store, enricher, Config{Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		b.runner = runner
		id := b.submit(t, resumePayload)
		b.runAll(t)
		job := b.job(t, id)
		want := store.TokenUsage{PromptTokens: 1800, CompletionTokens: 2448, TotalTokens: 4248}
		if job.Status != store.StatusCompleted || job.Attempts != 2 || job.TokenUsage != want {
			t.Fatalf("job %s after %d attempts with usage %+v; want completed on the second with %+v",
				job.Status, job.Attempts, job.TokenUsage, want)
		}
	})

	t.Run("ACandidateTheProviderRejectsFailsAtOnceWithItsOwnCode", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &pyplugin.Error{Reason: pyplugin.ReasonUpstreamRejectedInput,
			Message: "Together AI answered HTTP 400 for this candidate: context length exceeded"})
		id := b.submit(t, resumePayload)
		b.runAll(t)
		job := b.job(t, id)
		if job.Status != store.StatusFailed || job.ErrorCode != "upstream_rejected_input" || job.Attempts != 1 ||
			b.enricher.calls != 1 {
			t.Fatalf("job %s code %q after %d attempts, %d calls; want failed upstream_rejected_input at once",
				job.Status, job.ErrorCode, job.Attempts, b.enricher.calls)
		}
	})
}
