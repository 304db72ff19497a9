package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestMainRunQuick runs the harness as `make bench BENCH_FLAGS=--quick` does, with
// smaller counts still, against a real stack: the service binary built from this
// checkout, a real redis-server, real Python plugins, the local embed server.
func TestMainRunQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real stack")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	serviceBin := filepath.Join(dir, "hh-enrich-svc")
	build := exec.Command("go", "build", "-o", serviceBin, "../hh-enrich-svc")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the service: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "results.json")
	var stdout, stderr bytes.Buffer
	m := NewMain()
	m.Stdout, m.Stderr = &stdout, &stderr
	err = m.ParseFlags([]string{"-quick", "-repo", root, "-service-bin", serviceBin, "-out", out,
		"-jobs", "10", "-throughput-jobs", "200", "-batch-jobs", "200", "-sync-seconds", "1",
		"-spawn-jobs", "4", "-limit-seconds", "0.5", "-timeout", "80s", "-workload-timeout", "20s",
		"-llm-jobs", "20", "-llm-latency-median", "100ms", "-llm-latency-p99", "400ms"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 85*time.Second)
	defer cancel()
	runErr := m.Run(ctx)
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if runErr != nil {
		t.Fatalf("Run: %v\nstdout:\n%s\nservice log: %s", runErr, stdout.String(), filepath.Join(dir, "service.log"))
	}
	checkQuickRun(t, out, stdout.String())
}

func checkQuickRun(t *testing.T, out, stdout string) {
	t.Helper()
	for _, want := range []string{"=== Benchmark Summary ===", "Jobs attempted: 10", "Jobs completed: 10",
		"p99 latency:", "single-job throughput", "targets (reported, not asserted):"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("results JSON: %v", err)
	}
	// llm reports two rows: one instance and two.
	if len(r.Modes) != len(allModes)+1 {
		t.Errorf("%d modes in the results, want %d", len(r.Modes), len(allModes)+1)
	}
	for _, m := range r.Modes {
		if m.Status == StatusError || (m.Status == StatusOK && m.JobsPerSecond <= 0) {
			t.Errorf("mode %s: status %s, %.1f jobs/s, note %q", m.Mode, m.Status, m.JobsPerSecond, m.Note)
		}
	}
	if tp := r.mode(ModeThroughput); tp == nil || tp.Completed != 200 {
		t.Errorf("throughput run: %+v, want 200 completed", tp)
	}
	for _, mode := range []string{ModeLLM, ModeLLM2} {
		llm := r.mode(mode)
		if llm == nil || llm.Completed != 20 || llm.Extra["rerunCacheHits"] != 20 || llm.Extra["rerunTokens"] != 0 ||
			llm.Extra["tokensPerJob"] <= 0 || llm.LatencyMs == nil {
			t.Errorf("%s run: %+v, want 20 completed with tokens, 20 cache hits and 0 tokens on the rerun", mode, llm)
		}
	}
	// The service's CPU split by layer, from its profile, in the JSON and the table.
	for _, mode := range []string{ModeThroughput, ModeBatch} {
		if l := r.mode(mode).CPULayers; l == nil || l.Note != "" || l.MsPerJob["plugins"] <= 0 || len(l.ProfileSeconds) == 0 {
			t.Errorf("%s run: cpu by layer %+v, want a split of a profile", mode, l)
		}
	}
	if !strings.Contains(stdout, "cpu ms per job by layer: ") {
		t.Errorf("stdout lacks the cpu by layer line:\n%s", stdout)
	}
	if r.Memory == nil || r.Memory.Service == nil || len(r.Memory.Plugins) == 0 {
		t.Errorf("memory %+v, want the service and its plugins", r.Memory)
	}
	svg, err := os.ReadFile(strings.TrimSuffix(out, ".json") + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	if els := svgElements(t, svg); els["polyline"] == 0 {
		t.Error("the chart has no latency curve")
	}
}
