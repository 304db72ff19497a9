package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// checkMakeRun runs `make run` itself, as a developer would (only the build step
// skipped, and the binary taken from a folder of ours through BIN), with nothing
// but PATH, HOME, PORT=0, LOG_FORMAT=json and ENRICH_POOL_SIZE=1 (neither moves
// a listener) from us, and checks every TCP
// address its processes listen on is loopback: `make run` is a demo with
// AUTH_MODE=none, which must not be reachable from the network.
func (h *harness) checkMakeRun(ctx context.Context, row *Row) {
	binDir := filepath.Join(h.tmpDir, "make-run-bin")
	if err := os.MkdirAll(binDir, 0o700); err != nil {
		row.check("make_run_listens_on_loopback_only", false, "%v", err)
		return
	}
	if err := os.Symlink(h.cfg.ServiceBin, filepath.Join(binDir, "hh-enrich-svc")); err != nil && !os.IsExist(err) {
		row.check("make_run_listens_on_loopback_only", false, "%v", err)
		return
	}
	logPath := filepath.Join(h.logDir, "make-run.log")
	svc, err := localstack.StartService(ctx, localstack.ServiceConfig{
		Binary: "make", Args: []string{"--no-print-directory", "-o", "build", "run", "BIN=" + binDir},
		Dir: h.cfg.RepoRoot, LogPath: logPath, ProcessGroup: true,
		// PORT=0: the demo's port (8080) may be taken; the interface is what counts.
		Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + binDir,
			"PORT=0", "LOG_FORMAT=json", "ENRICH_POOL_SIZE=1"},
	})
	if err != nil {
		row.check("make_run_listens_on_loopback_only", false, "make run did not start: %v", err)
		return
	}
	listeners := groupListeners(h.procRoot, svc.Pid())
	if err := svc.Close(); err != nil {
		row.note("stopping make run: %v", err)
	}
	h.mu.Lock()
	h.logs = append(h.logs, logPath)
	h.mu.Unlock()
	slices.Sort(listeners)
	exposed := slices.DeleteFunc(slices.Clone(listeners), isLoopbackListener)
	row.check("make_run_listens_on_loopback_only", len(listeners) > 0 && len(exposed) == 0,
		"make run logged it listens on %s; its processes listen on %s", svc.Addr, strings.Join(listeners, ", "))
	if len(exposed) > 0 {
		row.note("make run is reachable from the network on %s", strings.Join(exposed, ", "))
	}
}
