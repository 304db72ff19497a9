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
)

// TestMainRunsTheSecurityScenarioAgainstARealStack runs the command as `make
// chaos` does, on its shortest scenario: the service binary built from this
// checkout in AUTH_MODE=gateway, real Redis and Python plugins, `make run`. The
// other scenarios run in CI through `make chaos CHAOS_FLAGS=--quick`.
func TestMainRunsTheSecurityScenarioAgainstARealStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real stack")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	serviceBin := filepath.Join(dir, "hh-enrich-svc")
	if out, err := exec.Command("go", "build", "-tags", "testfaults", "-o", serviceBin, "../hh-enrich-svc").CombinedOutput(); err != nil {
		t.Fatalf("building the service: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "results.json")
	var stdout, stderr bytes.Buffer
	m := NewMain()
	m.Stdout, m.Stderr = &stdout, &stderr
	if err := m.ParseFlags([]string{"-quick", "-scenarios", "security", "-repo", root, "-service-bin", serviceBin,
		"-out", out}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runErr := m.Run(ctx)
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if runErr != nil {
		t.Fatalf("Run: %v\nstdout:\n%s\nstderr:\n%s", runErr, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "PASS: 2 rows, 0 lost, every check passed") {
		t.Errorf("stdout lacks the verdict:\n%s", stdout.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("results JSON: %v", err)
	}
	if len(r.Rows) != 2 || !r.Passed || len(r.Rows[0].Checks) < 15 {
		t.Errorf("results %+v", r)
	}
	if _, err := os.Stat(strings.TrimSuffix(out, ".json") + ".md"); err != nil {
		t.Errorf("no Markdown table: %v", err)
	}
}
