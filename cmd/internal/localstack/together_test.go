package localstack

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFakeTogether(t *testing.T) {
	t.Parallel()
	t.Run("AnswersWellThenRateLimitsWithRetryAfterDuringAStorm", func(t *testing.T) {
		t.Parallel()
		root, err := filepath.Abs("../../..")
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		f, err := StartFakeTogether(ctx, filepath.Join(root, ".venv", "bin", "python"), root)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		complete := func() *http.Response {
			t.Helper()
			resp, err := http.Post(f.BaseURL+"/chat/completions", "application/json", strings.NewReader(`{"model":"m"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if resp := complete(); resp.StatusCode != http.StatusOK {
			t.Fatalf("before the storm: %d", resp.StatusCode)
		}
		if err := f.Storm(ctx, time.Minute, 2); err != nil {
			t.Fatal(err)
		}
		if resp := complete(); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
			t.Fatalf("during the storm: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		st, err := f.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st != (TogetherStats{Requests: 2, RateLimited: 1, OK: 1}) {
			t.Errorf("stats %+v", st)
		}
	})
}
