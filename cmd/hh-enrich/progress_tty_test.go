package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBatchDrawsNoBarWhenStderrIsNotATerminal runs a batch with the default
// --progress into a buffer, as into a CI log: no redrawn bar, plain lines only.
func TestBatchDrawsNoBarWhenStderrIsNotATerminal(t *testing.T) {
	t.Parallel()
	_, url := newFakeAPI(t)
	in := writeCandidates(t, 30)
	out := filepath.Join(t.TempDir(), "results.jsonl")
	code, _, stderr := runCLI(t, nil, "batch", "--url", url, "--tenant", "t1", "--in", in, "--out", out,
		"--chunk", "10", "--poll", "1ms")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.ContainsAny(stderr, "\r█") || strings.Contains(stderr, "enriching") {
		t.Errorf("a progress bar was drawn into a non-terminal:\n%q", stderr)
	}
	if !strings.Contains(stderr, "30 finished in this run") {
		t.Errorf("no summary line:\n%s", stderr)
	}
}
