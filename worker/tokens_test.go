package worker

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/metrics"
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

	// The metrics count what the provider billed, as the job does: the failed
	// call's tokens too (counted on success only, they under-reported cost).
	t.Run("TheTokenMetricsCountFailedCallsToo", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		m := metrics.New(metrics.Config{Logger: hclog.NewNullLogger()})
		lm, err := metrics.NewLLMMetrics(m, metrics.Prices{})
		if err != nil {
			t.Fatal(err)
		}
		if b.runner, err = New(b.store, &billingEnricher{}, Config{Logger: hclog.NewNullLogger(), LLM: LLMConfig{Metrics: lm}}); err != nil {
			t.Fatal(err)
		}
		b.submit(t, resumePayload)
		b.runAll(t)
		families, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		var counted float64
		for _, f := range families {
			if f.GetName() == "hh_enrich_llm_tokens_total" {
				for _, metric := range f.GetMetric() {
					counted += metric.GetCounter().GetValue()
				}
			}
		}
		if counted != 1800+2448 {
			t.Errorf("hh_enrich_llm_tokens_total counted %v tokens, want %d: both calls'", counted, 1800+2448)
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
