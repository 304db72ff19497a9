package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/metrics"
)

// TestEmbeddingOutcomesAreLoggedWithTheOriginalsMetricNames runs jobs against a
// real HTTP stand-in for hh-embed-svc, first healthy, then failing: the metric
// lines embedding_success, embedding_failure and health.embed (on change only)
// carry the original's names.
func TestEmbeddingOutcomesAreLoggedWithTheOriginalsMetricNames(t *testing.T) {
	t.Parallel()
	es := newEmbedServer(t, http.StatusOK)
	embedder, err := embed.New(context.Background(), embed.Config{Enabled: true, BaseURL: es.URL, RetryLimit: -1,
		BreakerFailures: 1, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	m := metrics.New(metrics.Config{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, JSONFormat: true})})
	b := setupWith(t, Config{Logger: hclog.NewNullLogger(), Embedder: embedder, Metrics: m})

	b.submit(t, `{"name":"Ada","resume_text":"Go engineer"}`)
	b.runAll(t)
	es.mu.Lock()
	es.status = http.StatusInternalServerError
	es.mu.Unlock()
	b.submit(t, `{"name":"Ada","resume_text":"Go and Rust engineer"}`)
	b.runAll(t)

	var got []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch name, _ := entry["metric"].(string); name {
		case metrics.LogEmbeddingSuccess, metrics.LogEmbeddingFailure:
			if entry["job_id"] == nil || entry["tenant_id"] != "tenant-alpha" || entry["attempts"] != float64(1) {
				t.Errorf("%s line lacks its fields: %v", name, entry)
			}
			if name == metrics.LogEmbeddingFailure && entry["category"] != "server" {
				t.Errorf("failure category %v, want server", entry["category"])
			}
			got = append(got, name)
		case metrics.LogHealthEmbed:
			got = append(got, name+"="+strings.ToLower(toString(entry["healthy"])))
		}
	}
	want := []string{"embedding_success", "health.embed=true", "embedding_failure", "health.embed=false"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("metric lines %v, want %v", got, want)
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
