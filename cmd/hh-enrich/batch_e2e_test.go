package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// The acceptance test of issue 10: both binaries, built here, against a real
// redis-server and real Python plugins; the CLI is SIGKILLed halfway through 2,000
// candidates and run again, and every candidate ends up in the output exactly once,
// completed, on the job the first run created for it.

const (
	e2eCandidates = 2000
	e2eTenant     = "tenant-cli"
	e2eAdminToken = "cli-e2e-admin"
	e2eTimeout    = 3 * time.Minute
)

// buildBinaries builds the CLI and the service into a temporary folder.
func buildBinaries(t *testing.T) (cli, svc string) {
	t.Helper()
	dir := t.TempDir()
	cli, svc = filepath.Join(dir, "hh-enrich"), filepath.Join(dir, "hh-enrich-svc")
	for pkg, out := range map[string]string{".": cli, "../hh-enrich-svc": svc} {
		build := exec.Command("go", "build", "-o", out, pkg)
		if msg, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return cli, svc
}

// startE2EService runs the service on a fresh redis-server and returns its base
// URL once it listens.
func startE2EService(t *testing.T, binary string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOST=127.0.0.1", "PORT=0", "AUTH_MODE=none", "GATEWAY_GLOBAL_RPS=0", "ENRICH_PROFILE=local",
		"LOG_FORMAT=json", "REDIS_URL=redis://" + redistest.StartTCP(t), "ENRICH_POOL_SIZE=2",
		"ENRICH_EMBED_ENABLED=false", "ENRICH_ADMIN_TOKEN=" + e2eAdminToken,
		"ENRICH_PYTHON_BIN=" + filepath.Join(root, ".venv", "bin", "python"),
		"ENRICH_PLUGIN_SCRIPT=" + filepath.Join(root, "cloud_run_worker", "plugin_server.py"),
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var mu sync.Mutex
	addr, exited := make(chan string, 1), make(chan struct{})
	go func() {
		defer close(exited)
		scanner := bufio.NewScanner(stderr)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			mu.Lock()
			logs.WriteString(scanner.Text() + "\n")
			mu.Unlock()
			var entry map[string]any
			if json.Unmarshal(scanner.Bytes(), &entry) == nil && entry["@message"] == "listening" {
				addr <- fmt.Sprint(entry["addr"])
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("service log:\n%s", logs.String())
			mu.Unlock()
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case <-exited:
		t.Fatalf("the service exited before listening:\n%s", logs.String())
	case <-time.After(time.Minute):
		t.Fatal("the service did not start listening")
	}
	return ""
}

// writeE2ECandidates writes n candidate documents, cycling through the shared test
// data's candidates that have a résumé (so every job completes), each under a new id.
func writeE2ECandidates(t *testing.T, n int) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "candidates.jsonl"))
	if err != nil {
		t.Fatalf("the shared test data: %v", err)
	}
	var docs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var doc map[string]any
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatal(err)
		}
		if text, _ := doc["resume_text"].(string); text != "" {
			docs = append(docs, doc)
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	for i := range n {
		doc := docs[i%len(docs)]
		doc["candidate_id"] = fmt.Sprintf("cli-%05d", i)
		if err := enc.Encode(doc); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "candidates.jsonl")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// queueCounters reads /admin/queue: jobs created and this tenant's dedupe hits.
func queueCounters(t *testing.T, baseURL string) (submitted, completed, dedupes int64) {
	t.Helper()
	client := NewClient(ClientConfig{BaseURL: baseURL, AdminToken: e2eAdminToken})
	_, st, err := client.Queue(t.Context(), e2eTenant, 1)
	if err != nil {
		t.Fatal(err)
	}
	return st.Totals["submitted"], st.Totals["completed"], st.DedupeHits[e2eTenant]
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return bytes.Count(raw, []byte("\n"))
}

// killHalfway runs the CLI and SIGKILLs it once out holds half the candidates.
// It returns the lines written by then.
func killHalfway(t *testing.T, cmd *exec.Cmd, out string) int {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(e2eTimeout)
	for {
		select {
		case err := <-exited:
			t.Fatalf("the first run ended (%v) before it could be killed, with %d lines", err, countLines(t, out))
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the first run wrote %d lines in %s", countLines(t, out), e2eTimeout)
		case <-time.After(2 * time.Millisecond):
		}
		if countLines(t, out) >= e2eCandidates/2 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-exited
			return countLines(t, out)
		}
	}
}

func TestBatchResumesAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the service: not in -short")
	}
	cli, svc := buildBinaries(t)
	baseURL := startE2EService(t, svc)
	in := writeE2ECandidates(t, e2eCandidates)
	out := filepath.Join(t.TempDir(), "results.jsonl")
	args := []string{"batch", "--url", baseURL, "--tenant", e2eTenant, "--in", in, "--out", out,
		"--chunk", "100", "--concurrency", "2", "--poll", "20ms"}
	submitted0, completed0, dedupes0 := queueCounters(t, baseURL)

	var firstErr bytes.Buffer
	first := exec.Command(cli, append(args, "--progress=false")...)
	first.Stderr = &firstErr
	start := time.Now()
	killedAt := killHalfway(t, first, out)
	firstTook := time.Since(start)
	if killedAt <= 0 || killedAt >= e2eCandidates {
		t.Fatalf("killed with %d lines written, want a partial output", killedAt)
	}

	var secondErr bytes.Buffer
	second := exec.Command(cli, args...) // with the progress bar, as a person runs it
	second.Stderr = &secondErr
	start = time.Now()
	if err := second.Run(); err != nil {
		t.Fatalf("the second run: %v\n%s", err, secondErr.String())
	}
	secondTook := time.Since(start)
	t.Logf("first run SIGKILLed after %s with %d lines; second run %s", firstTook.Round(time.Millisecond), killedAt,
		secondTook.Round(time.Millisecond))

	checkE2EResults(t, out)
	submitted, completed, dedupes := queueCounters(t, baseURL)
	t.Logf("service: %d jobs created, %d completed, %d dedupe hits", submitted-submitted0, completed-completed0, dedupes-dedupes0)
	if submitted-submitted0 != e2eCandidates || completed-completed0 != e2eCandidates {
		t.Errorf("the service created %d jobs and completed %d, want %d each: the rerun made new jobs",
			submitted-submitted0, completed-completed0, e2eCandidates)
	}
	if dedupes-dedupes0 == 0 {
		t.Error("no dedupe hit: the second run did not resubmit the candidates the first left in flight")
	}
	if s := secondErr.String(); !strings.Contains(s, "candidates/s") || !strings.Contains(s, fmt.Sprintf("%d already in", killedAt)) {
		t.Errorf("the second run's stderr shows no progress bar or resume:\n%s", s)
	}
	checkCLIAgainstService(t, cli, baseURL, out)
}

// checkE2EResults asserts every candidate is in out exactly once, completed, with
// its own job.
func checkE2EResults(t *testing.T, out string) {
	t.Helper()
	results := readResults(t, out) // fails on a candidate seen twice
	if len(results) != e2eCandidates {
		t.Fatalf("%d candidates in the output, want %d", len(results), e2eCandidates)
	}
	jobs := map[string]bool{}
	for i := range e2eCandidates {
		r, ok := results[fmt.Sprintf("cli-%05d", i)]
		if !ok || r.Status != "completed" || r.JobID == "" || jobs[r.JobID] {
			t.Fatalf("cli-%05d: %+v (present %t)", i, r, ok)
		}
		jobs[r.JobID] = true
	}
}

// checkCLIAgainstService runs status and the admin commands against the real
// service: the shapes the fake API stands in for are the real ones.
func checkCLIAgainstService(t *testing.T, cli, baseURL, out string) {
	t.Helper()
	var jobID string
	for _, r := range readResults(t, out) {
		jobID = r.JobID
		break
	}
	env := append(os.Environ(), "HH_ENRICH_URL="+baseURL, "ENRICH_ADMIN_TOKEN="+e2eAdminToken, "HH_ENRICH_TENANT="+e2eTenant)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", jobID}, `"status": "completed"`},
		{[]string{"admin", "pool"}, "pool: 2/2 ready"},
		{[]string{"admin", "restart", "0"}, "restarted process 0"},
		{[]string{"admin", "queue", "--tenant", e2eTenant}, "dead letters of " + e2eTenant + ": 0 shown"},
	} {
		cmd := exec.Command(cli, tc.args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), tc.want) {
			t.Errorf("hh-enrich %s: %v, stdout lacks %q:\n%s%s", strings.Join(tc.args, " "), err, tc.want, stdout.String(), stderr.String())
		}
	}
	resp, err := http.Get(baseURL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/health after the restart: %d %s", resp.StatusCode, body)
	}
}
