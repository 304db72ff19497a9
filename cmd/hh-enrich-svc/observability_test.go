package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the service's /metrics into families by name.
func (s *service) scrape() map[string]*dto.MetricFamily {
	s.t.Helper()
	resp, err := http.Get(s.baseURL + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return families
}

// value sums the series of family whose labels include every pair of want.
func value(families map[string]*dto.MetricFamily, family string, want map[string]string) (float64, bool) {
	f, ok := families[family]
	if !ok {
		return 0, false
	}
	var sum float64
	found := false
series:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue series
			}
		}
		found = true
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

func TestServiceMetrics(t *testing.T) {
	t.Parallel()
	embedSvc := httptest.NewServer(&upsertRecorder{})
	defer embedSvc.Close()
	s := startService(t, "ENRICH_EMBED_ENABLED=true", "ENRICH_EMBED_BASE_URL="+embedSvc.URL)

	ids := s.submitMany("tenant-alpha", 40)
	// A dedupe hit: 200 if the first job has completed already, else 202.
	if dup := s.do(http.MethodPost, "/v1/enrich/profile", "tenant-alpha",
		map[string]any{"candidateId": "bulk-00000", "payload": candidates(t, 200)[0]}); dup.Body["job"].(map[string]any)["jobId"] != ids[0] {
		t.Fatalf("the resubmission was not deduplicated: %d %v", dup.Status, dup.Body)
	}
	failed := s.submit("tenant-beta", map[string]any{"candidateId": "no-data"})
	victim := s.pluginPIDs()[0]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		s.waitForTerminal("tenant-alpha", id)
	}
	s.waitForTerminal("tenant-beta", failed)
	eventuallyTrue(t, "the killed plugin is replaced", func() bool {
		ready, _ := value(s.scrape(), "hh_enrich_plugin_processes", map[string]string{"state": "ready"})
		return ready == 2
	})

	families := s.scrape()
	for _, c := range []struct {
		family string
		labels map[string]string
		min    float64
	}{
		{"hh_enrich_job_duration_seconds", map[string]string{"phase": "total"}, 40},
		{"hh_enrich_job_duration_seconds", map[string]string{"phase": "python"}, 40},
		{"hh_enrich_job_duration_seconds", map[string]string{"phase": "embed"}, 40},
		{"hh_enrich_jobs_completed_total", map[string]string{"tenant": "tenant-alpha"}, 40},
		{"hh_enrich_jobs_failed_total", map[string]string{"tenant": "tenant-beta", "code": "candidate_not_found"}, 1},
		{"hh_enrich_submissions_total", map[string]string{"tenant": "tenant-alpha", "outcome": "created"}, 40},
		{"hh_enrich_submissions_total", map[string]string{"tenant": "tenant-alpha", "outcome": "deduplicated"}, 1},
		{"hh_enrich_dedupe_hits_total", map[string]string{"tenant": "tenant-alpha"}, 1},
		{"hh_enrich_queue_depth", map[string]string{"tenant": "all"}, 0},
		{"hh_enrich_jobs", map[string]string{"status": "queued"}, 0},
		{"hh_enrich_store_job_events_total", map[string]string{"event": "completed"}, 40},
		{"hh_enrich_plugin_processes", map[string]string{"state": "ready"}, 2},
		{"hh_enrich_plugin_restarts_total", map[string]string{"reason": "crashed"}, 1},
		{"hh_enrich_breaker_state", map[string]string{"scope": "pool"}, 0},
		{"hh_enrich_breaker_state", map[string]string{"scope": "process"}, 0},
		{"hh_enrich_breaker_state", map[string]string{"scope": "embed"}, 0},
		{"hh_enrich_embed_outcomes_total", map[string]string{"result": "upserted"}, 40},
		{"hh_enrich_http_requests_total", map[string]string{"route": "/v1/enrich/profile", "method": "POST", "status": "202"}, 41},
		{"hh_enrich_http_requests_total", map[string]string{"route": "/v1/enrich/status/:jobId", "status": "200"}, 40},
		{"hh_enrich_http_request_duration_seconds", map[string]string{"route": "/v1/enrich/profile"}, 41},
		{"hh_enrich_plugin_resident_bytes", nil, 10 << 20},
	} {
		got, ok := value(families, c.family, c.labels)
		if !ok || got < c.min {
			t.Errorf("%s%v = %v (present %v), want ≥ %v", c.family, c.labels, got, ok, c.min)
		}
	}
	if v, _ := value(families, "hh_enrich_plugin_processes", map[string]string{"state": "ready"}); v != 2 {
		t.Errorf("ready plugin processes = %v, want exactly ENRICH_POOL_SIZE=2", v)
	}
	for name := range families {
		if strings.HasPrefix(name, "hh_enrich_http") {
			for _, m := range families[name].GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "route" && strings.Contains(l.GetValue(), "/status/") && !strings.Contains(l.GetValue(), ":jobId") {
						t.Errorf("%s has a raw path as its route label: %s", name, l.GetValue())
					}
				}
			}
		}
	}
}

func TestServiceBatch(t *testing.T) {
	t.Parallel()
	s := startService(t)
	docs := candidates(t, 100)
	var items []map[string]any
	for i, doc := range docs {
		items = append(items, map[string]any{"candidateId": fmt.Sprintf("batch-%03d", i), "payload": doc})
	}
	resp := s.do(http.MethodPost, "/v1/enrich/batch", "tenant-alpha", map[string]any{"candidates": items})
	jobs, _ := resp.Body["jobs"].([]any)
	if resp.Status != http.StatusAccepted || len(jobs) != 100 {
		t.Fatalf("submit batch: %d %v", resp.Status, resp.Body["code"])
	}
	batchID := resp.Body["batchId"].(string)
	for _, j := range jobs {
		s.waitForTerminal("tenant-alpha", j.(map[string]any)["jobId"].(string))
	}
	got := s.do(http.MethodGet, "/v1/enrich/batch/"+batchID, "tenant-alpha", nil)
	counts, _ := got.Body["counts"].(map[string]any)
	if got.Status != http.StatusOK || counts["completed"] != 100.0 || got.Body["total"] != 100.0 {
		t.Fatalf("batch: %d counts %v total %v", got.Status, counts, got.Body["total"])
	}
	if other := s.do(http.MethodGet, "/v1/enrich/batch/"+batchID, "tenant-beta", nil); other.Status != http.StatusNotFound {
		t.Fatalf("another tenant read the batch: %d", other.Status)
	}
}

func TestMetricsPortServesMetricsOnItsOwnListener(t *testing.T) {
	t.Parallel()
	s := startService(t, "METRICS_PORT=0", "HOST=127.0.0.1")
	var metricsAddr string
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["metrics_addr"] != nil {
			metricsAddr = fmt.Sprint(entry["metrics_addr"])
		}
	}
	if metricsAddr == "" {
		t.Fatalf("no metrics_addr in the log:\n%s", s.logs.String())
	}
	s.submit("tenant-metrics", map[string]any{"candidateId": "c1"})
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `tenant="tenant-metrics"`) {
		t.Fatalf("METRICS_PORT /metrics: %d\n%.500s", resp.StatusCode, body)
	}
	api, err := http.Get(s.baseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	api.Body.Close()
	if api.StatusCode != http.StatusNotFound {
		t.Fatalf("the API's port still serves /metrics: %d", api.StatusCode)
	}
}
