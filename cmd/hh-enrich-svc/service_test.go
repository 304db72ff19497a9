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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// These tests start the real service binary with a real redis-server and real Python
// plugins, and talk to it over HTTP, as its clients do.

// waitTimeout bounds every wait; generous because CI machines are shared.
const waitTimeout = 60 * time.Second

var binaryPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hh-enrich-svc-test-")
	if err != nil {
		panic(err)
	}
	binaryPath = filepath.Join(dir, "hh-enrich-svc")
	// A test build: ENRICH_TEST_FAULTS reaches the plugins (testfaults_on.go).
	build := exec.Command("go", "build", "-tags", "testfaults", "-o", binaryPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		panic("building the service: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// service is one running service process.
type service struct {
	t         *testing.T
	cmd       *exec.Cmd
	baseURL   string
	redisAddr string
	done      chan struct{} // closed when the process has exited; exitErr is then set
	exitErr   error
	logs      *lockedBuffer
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startService runs the binary against a fresh redis-server and returns once it
// logs the address it listens on.
func startService(t *testing.T, extraEnv ...string) *service {
	t.Helper()
	return startServiceOn(t, redistest.StartTCP(t), extraEnv...)
}

// startServiceOn runs the binary against the redis-server at redisAddr.
func startServiceOn(t *testing.T, redisAddr string, extraEnv ...string) *service {
	t.Helper()
	root := repoRoot(t)
	cmd := exec.Command(binaryPath)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"PORT=0",
		"ENRICH_PROFILE=local", // no Firestore unless a test sets a project
		"AUTH_MODE=none",
		// The local profile: no key means the rules enricher (tests that want
		// Together set TOGETHER_API_KEY, those about the refusal unset the profile).
		"ENRICH_PROFILE=local",
		// These tests drive hundreds of requests a second for one tenant: the
		// per-tenant limit would answer 429 (router tests cover it).
		"GATEWAY_GLOBAL_RPS=0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
		"REDIS_URL=redis://" + redisAddr,
		"ENRICH_POOL_SIZE=2",
		"ENRICH_EMBED_ENABLED=false", // tests that want it turn it on with a local embed server
		"ENRICH_PYTHON_BIN=" + filepath.Join(root, ".venv", "bin", "python"),
		"ENRICH_PLUGIN_SCRIPT=" + filepath.Join(root, "cloud_run_worker", "plugin_server.py"),
	}, extraEnv...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &service{t: t, cmd: cmd, redisAddr: redisAddr, done: make(chan struct{}), logs: &lockedBuffer{}}
	addr := make(chan string, 1)
	go s.readLogs(stderr, addr)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(waitTimeout):
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("service log:\n%s", s.logs.String())
		}
	})
	select {
	case a := <-addr:
		s.baseURL = "http://" + strings.Replace(a, "[::]", "127.0.0.1", 1)
	case <-s.done:
		t.Fatalf("service exited before listening: %v\n%s", s.exitErr, s.logs.String())
	case <-time.After(waitTimeout):
		t.Fatalf("service did not start listening:\n%s", s.logs.String())
	}
	return s
}

// readLogs keeps the service's log and reports the "listening" line's address.
func (s *service) readLogs(stderr io.Reader, addr chan<- string) {
	scanner := bufio.NewScanner(stderr)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		_, _ = fmt.Fprintln(s.logs, line)
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["@message"] == "listening" {
			addr <- fmt.Sprint(entry["addr"])
		}
	}
	s.exitErr = s.cmd.Wait()
	close(s.done)
}

type apiResponse struct {
	Status int
	Body   map[string]any
}

func (s *service) do(method, path, tenant string, body any) apiResponse {
	s.t.Helper()
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.baseURL+path, reader)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tenant != "" {
		req.Header.Set("X-Tenant-ID", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := apiResponse{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&out.Body); err != nil {
		s.t.Fatalf("%s %s: status %d, undecodable body: %v", method, path, resp.StatusCode, err)
	}
	return out
}

// admin calls an admin route with a bearer token.
func (s *service) admin(method, path, token string) apiResponse {
	s.t.Helper()
	req, err := http.NewRequest(method, s.baseURL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := apiResponse{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&out.Body); err != nil {
		s.t.Fatalf("%s %s: status %d, undecodable body: %v", method, path, resp.StatusCode, err)
	}
	return out
}

// submit posts a job and returns its id.
func (s *service) submit(tenant string, body map[string]any) string {
	s.t.Helper()
	resp := s.do(http.MethodPost, "/v1/enrich/profile", tenant, body)
	if resp.Status != http.StatusAccepted {
		s.t.Fatalf("submit: status %d, body %v", resp.Status, resp.Body)
	}
	return resp.Body["job"].(map[string]any)["jobId"].(string)
}

// waitForTerminal polls the job until it is completed or failed. Polling is what a
// client of this API does; the notified wait is the sync API's job.
func (s *service) waitForTerminal(tenant, jobID string) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		resp := s.do(http.MethodGet, "/v1/enrich/status/"+jobID, tenant, nil)
		if resp.Status != http.StatusOK {
			s.t.Fatalf("status of %s: %d %v", jobID, resp.Status, resp.Body)
		}
		job := resp.Body["job"].(map[string]any)
		if st := job["status"]; st == "completed" || st == "failed" {
			return job
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s still %v after %s", jobID, job["status"], waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pluginPIDs lists the service's plugin child processes.
func (s *service) pluginPIDs() []int {
	s.t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		s.t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the ")" that ends the command name: state, ppid, ...
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != strconv.Itoa(s.cmd.Process.Pid) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte("plugin_server.py")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// candidates returns the first n test candidates that have resume text, as payloads.
func candidates(t *testing.T, n int) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), filepath.FromSlash(localstack.DataSet)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() && len(out) < n {
		var doc map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if text, _ := doc["resume_text"].(string); strings.TrimSpace(text) != "" {
			out = append(out, doc)
		}
	}
	if len(out) < n {
		t.Fatalf("only %d candidates with resume text, want %d", len(out), n)
	}
	return out
}

// submitMany submits n jobs (cycling through the test candidates) from 8 clients.
func (s *service) submitMany(tenant string, n int) []string {
	s.t.Helper()
	docs := candidates(s.t, 200)
	ids := make([]string, n)
	var wg sync.WaitGroup
	const clients = 8
	for c := range clients {
		wg.Go(func() {
			for i := c; i < n; i += clients {
				ids[i] = s.submit(tenant, map[string]any{
					"candidateId": fmt.Sprintf("bulk-%05d", i),
					"payload":     docs[i%len(docs)],
				})
			}
		})
	}
	wg.Wait()
	return ids
}

// eventuallyTrue polls cond until it holds or waitTimeout passes: for states with
// no signal to wait on from outside the process (a plugin replaced).
func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
