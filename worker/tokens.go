package worker

import (
	"context"
	"errors"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
)

// billed is what the LLM provider billed for one enrichment call: on its answer,
// or on its failure (a truncated or refused answer is paid for too). Nil when
// nothing was billed (the rules enricher, a crash).
func billed(resp *enrichv1.EnrichResponse, err error) *enrichv1.TokenUsage {
	var perr *pyplugin.Error
	switch {
	case err == nil:
		return resp.GetTokenUsage()
	case errors.As(err, &perr):
		return perr.TokenUsage
	}
	return nil
}

// addTokenUsage adds an enrichment call's billed tokens to its job's totals, so a
// job reports every attempt's cost, not only its last. Losing the count is logged,
// never fatal: the enrichment itself is fine.
func (r *Runner) addTokenUsage(ctx context.Context, job *store.Job, u *enrichv1.TokenUsage) {
	if u == nil {
		return
	}
	usage := store.TokenUsage{PromptTokens: u.GetPromptTokens(), CompletionTokens: u.GetCompletionTokens(), TotalTokens: u.GetTotalTokens()}
	if err := r.store.AddTokenUsage(context.WithoutCancel(ctx), job.ID, usage); err != nil {
		r.log.Warn("recording the job's token usage failed", "job_id", job.ID, "error", err)
	}
}
