package pool

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
)

// startFakeTogether runs cloud_run_worker's stand-in for Together AI (the chat
// completions protocol on a loopback port) and returns its base URL. It answers a
// candidate marked [[fake:<kind>]] with that kind of bad answer, others well.
func startFakeTogether(t *testing.T) string {
	t.Helper()
	python, _ := pluginPaths(t)
	root := repoRoot(t)
	cmd := exec.Command(python, filepath.Join(root, "cmd", "internal", "localstack", "fake_together_main.py"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PYTHONPATH=" + filepath.Join(root, "cloud_run_worker")}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close() // end of stdin stops the fake
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("fake together printed no base URL: %v", err)
	}
	return strings.TrimSpace(line)
}

// A request the LLM provider refuses for what one candidate holds (HTTP 400, 413,
// 422) is that candidate's failure: it must neither recycle the process (with the
// other calls in flight on it) nor open the pool-wide circuit for every tenant.
func TestCandidatesTheProviderRejectsOpenNoBreaker(t *testing.T) {
	t.Parallel()
	baseURL := startFakeTogether(t)
	cfg := testConfig(t, 1)
	cfg.Env = append(cfg.Env, "TOGETHER_API_KEY=test-key", "TOGETHER_AI_BASE_URL="+baseURL)
	cfg.ProcessBreakerFailures, cfg.CircuitFailures = 2, 2
	p := startPool(t, cfg)
	old := onlyPID(t, p)
	rejected := []byte(`{"candidate_id":"long","resume_text":"Nurse. [[fake:rejected]]"}`)
	for range 5 {
		var perr *pyplugin.Error
		_, err := enrich(testCtx(t), p, rejected)
		if !errors.As(err, &perr) || perr.Reason != pyplugin.ReasonUpstreamRejectedInput || perr.Retryable {
			t.Fatalf("err = %v, want a non-retryable upstream_rejected_input", err)
		}
	}
	if st := p.Status(); st.Circuit != "closed" || onlyPID(t, p) != old || len(st.Restarts) != 0 {
		t.Fatalf("status after 5 rejected candidates = %+v", st)
	}
	resp, err := enrich(testCtx(t), p, nurse)
	if err != nil {
		t.Fatalf("a healthy candidate after the rejected ones: %v", err)
	}
	if resp.GetEnricher() != "together" || resp.GetTokenUsage().GetTotalTokens() == 0 {
		t.Fatalf("response = %+v, want a Together enrichment with its tokens", resp)
	}
}
