package store

import (
	"testing"
)

func TestRedisStoreTokenUsage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("UsageOfEveryAttemptIsSummedOnTheJob", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			job := submitNew(t, s, request("cand-1"))
			if got := mustGet(t, s, job.ID).TokenUsage; !got.IsZero() {
				t.Fatalf("a new job's usage = %+v, want none", got)
			}
			l := mustLease(t, s)
			for _, u := range []TokenUsage{{900, 400, 1300}, {}, {1800, 2048, 3848}} {
				if err := s.AddTokenUsage(t.Context(), l.Job.ID, u); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Fail(t.Context(), l, JobError{Code: "upstream_bad_output"}); err != nil {
				t.Fatal(err)
			}
			want := TokenUsage{PromptTokens: 2700, CompletionTokens: 2448, TotalTokens: 5148}
			if got := mustGet(t, s, job.ID).TokenUsage; got != want {
				t.Fatalf("usage = %+v, want %+v", got, want)
			}
		})
		t.Run("AGoneJobIsNotRecreated", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			gone := "0123456789abcdef0123456789abcdef"
			if err := s.AddTokenUsage(t.Context(), gone, TokenUsage{1, 1, 2}); err != nil {
				t.Fatal(err)
			}
			if exists := s.client.Exists(t.Context(), s.keys.job(gone)).Val(); exists != 0 {
				t.Fatal("adding usage to a gone job created its hash")
			}
		})
	})
}
