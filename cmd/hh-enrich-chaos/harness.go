package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// chaosProject is the Firestore project id of the Firestore scenario.
const chaosProject = "hh-chaos-local"

// harness is one run's shared state: what every scenario needs, and what the
// security scenario checks at the end (every log written, every secret used,
// every candidate sent).
type harness struct {
	cfg      Config
	sizes    Sizes
	cands    []localstack.Candidate
	runID    string // makes candidate ids unique per run, so dedupe never answers
	tmpDir   string // holds each scenario's TMPDIR (the plugins' socket folders)
	logDir   string
	procRoot string
	progress io.Writer
	// adminToken opens every instance's admin routes: the harness reads queue
	// counts through GET /admin/queue.
	adminToken string

	mu      sync.Mutex
	logs    []string     // every service log written
	secrets []string     // values no log may hold (tokens, keys)
	sent    map[int]bool // indexes of the candidates sent as payloads
	extras  []string     // more values no log may hold (canary PII)
	sockets []socketDir  // plugin socket folders seen
}

// newHarness loads the candidates and makes the run's folders.
func newHarness(cfg Config, procRoot string, progress io.Writer) (*harness, error) {
	cands, err := localstack.LoadCandidates(cfg.DataPath)
	if err != nil {
		return nil, err
	}
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	// A short path: plugin sockets live below it, within the 108-byte limit.
	tmp, err := os.MkdirTemp("", "hh-chaos-")
	if err != nil {
		return nil, fmt.Errorf("temporary folder: %w", err)
	}
	logDir := filepath.Join(filepath.Dir(cfg.OutPath), "logs")
	if err := os.RemoveAll(logDir); err != nil {
		return nil, fmt.Errorf("logs folder: %w", err)
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("logs folder: %w", err)
	}
	h := &harness{cfg: cfg, sizes: cfg.Sizes, cands: cands, runID: runID, tmpDir: tmp, logDir: logDir,
		procRoot: procRoot, progress: progress, adminToken: randomToken("adm"), sent: map[int]bool{}}
	h.addSecret(h.adminToken)
	return h, nil
}

// randomToken is a fresh secret with a readable prefix.
func randomToken(prefix string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return prefix + "-" + hex.EncodeToString(b)
}

// runScenario runs one scenario, times it and reports it on the progress writer.
func (h *harness) runScenario(ctx context.Context, name string, run scenarioFunc) []*Row {
	fmt.Fprintf(h.progress, "chaos: %s ...\n", name)
	started := time.Now()
	rows := run(ctx, h)
	elapsed := time.Since(started)
	for _, row := range rows {
		if row.DurationSeconds == 0 {
			row.DurationSeconds = round2(elapsed.Seconds() / float64(len(rows)))
		}
		status := "ok"
		if !row.Passed() {
			status = "NOT CLEAN"
		}
		fmt.Fprintf(h.progress, "chaos: %s: %s (%d submitted, %d lost) %s\n", row.Scenario, status, row.Submitted, row.Lost,
			strings.TrimSpace(row.Error))
	}
	fmt.Fprintf(h.progress, "chaos: %s done in %.1f s\n", name, elapsed.Seconds())
	return rows
}

// stackOpts are what a scenario changes in its stack.
type stackOpts struct {
	instances int
	redisAOF  bool
	firestore string // emulator host:port; empty: Firestore off
	env       []string
}

// startStack starts a stack for scenario: its own Redis, embed server and
// instances, logs under logDir, TMPDIR under tmpDir, the admin token set.
func (h *harness) startStack(ctx context.Context, scenario string, opts stackOpts) (*localstack.Stack, error) {
	tmp := filepath.Join(h.tmpDir, scenario)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("scenario folder: %w", err)
	}
	cfg := localstack.StackConfig{
		RepoRoot: h.cfg.RepoRoot, PythonBin: h.cfg.PythonBin, ServiceBin: h.cfg.ServiceBin,
		Redis:    localstack.RedisConfig{Executable: h.cfg.RedisServer, AppendOnly: opts.redisAOF},
		PoolSize: h.cfg.PoolSize, EmbedLatency: time.Millisecond,
		FirestoreEmulator: opts.firestore, FirestoreProject: chaosProject,
		ExtraEnv:  append([]string{"ENRICH_ADMIN_TOKEN=" + h.adminToken}, opts.env...),
		LogLevel:  "info",
		LogPath:   filepath.Join(h.logDir, scenario+".log"),
		Instances: opts.instances,
		TempDir:   tmp,
	}
	stack, err := localstack.StartStack(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, svc := range stack.Services {
		h.noteSockets(svc)
	}
	return stack, nil
}

// closeStack stops a scenario's stack, then checks that no plugin outlived it
// (ending any that did) and counts the socket folders its plugins left behind.
func (h *harness) closeStack(scenario string, stack *localstack.Stack, row *Row) {
	h.mu.Lock()
	for _, svc := range stack.Services {
		if svc.LogPath != "" {
			h.logs = append(h.logs, svc.LogPath)
		}
	}
	h.mu.Unlock()
	if err := stack.Close(context.Background()); err != nil {
		row.note("stopping the stack: %v", err)
	}
	tmp := filepath.Join(h.tmpDir, scenario)
	if orphans := h.orphanPlugins(tmp, 5*time.Second); len(orphans) > 0 {
		row.check("no_plugin_outlives_its_service", false, "plugin processes %v outlived their service (killed now)", orphans)
	}
	if leaked := leftoverSocketDirs(tmp); len(leaked) > 0 {
		row.note("%d plugin socket folders left in TMPDIR by plugins that were killed (SIGKILL skips their cleanup; the next start of a service there sweeps them)", len(leaked))
		for _, dir := range leaked {
			_ = os.RemoveAll(dir)
		}
	}
}

// addSecret records a value that must never appear in a log.
func (h *harness) addSecret(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets = append(h.secrets, s)
}

// addCanary records candidate data made up for a request, which no log may hold.
func (h *harness) addCanary(values ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.extras = append(h.extras, values...)
}

// candidate returns the i-th candidate of the data set (cycling) and remembers it
// was sent, for the log check.
func (h *harness) candidate(i int) localstack.Candidate {
	k := i % len(h.cands)
	h.mu.Lock()
	h.sent[k] = true
	h.mu.Unlock()
	return h.cands[k]
}

// close removes the run's temporary folder.
func (h *harness) close() error {
	if err := os.RemoveAll(h.tmpDir); err != nil {
		return fmt.Errorf("removing %s: %w", h.tmpDir, err)
	}
	return nil
}

// loadAverage returns /proc/loadavg's first three fields, or "" when unreadable.
func loadAverage(procRoot string) string {
	raw, err := os.ReadFile(filepath.Join(procRoot, "loadavg"))
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(raw))
	if len(fields) < 3 {
		return ""
	}
	return strings.Join(fields[:3], " ")
}

// writeFile writes what fill builds to path.
func writeFile(path string, fill func(w *strings.Builder) error) error {
	var b strings.Builder
	if err := fill(&b); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
