package main

import (
	"testing"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

func TestEmbedTally(t *testing.T) {
	t.Parallel()
	completed := func(upserted bool, reason string) *localstack.Job {
		return &localstack.Job{Status: "completed", Result: &localstack.JobResult{EmbeddingUpserted: upserted, EmbeddingSkippedReason: reason}}
	}
	tests := []struct {
		name string
		jobs []*localstack.Job
		want string
	}{
		{"UnknownWithoutJobs", nil, "unknown"},
		{"DisabledWhenEveryJobSaysSo", []*localstack.Job{completed(false, skipDisabled), completed(false, skipDisabled)}, "disabled"},
		{"EnabledWhenOneUpserted", []*localstack.Job{completed(true, ""), completed(false, "missing_searchable_data")}, "enabled"},
		{"FailingWhenNoneUpsertedForOtherReasons", []*localstack.Job{completed(false, "")}, "failing"},
		{"IgnoresFailedJobs", []*localstack.Job{{Status: "failed"}}, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var tally embedTally
			for _, j := range tt.jobs {
				tally.observe(j)
			}
			if got := tally.report(0).Status; got != tt.want {
				t.Errorf("status %s, want %s", got, tt.want)
			}
		})
	}
}
