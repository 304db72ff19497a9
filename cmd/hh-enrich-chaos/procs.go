package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// pluginSocketPrefix starts the name of every plugin's private socket folder
// (cloud_run_worker/plugin_server.py, tempfile.mkdtemp).
const pluginSocketPrefix = "hh-enrich-plugin-"

// socketDir is a plugin's socket folder as the harness found it.
type socketDir struct {
	PID  int
	Path string
	Mode os.FileMode // permission bits
	UID  uint32
}

// noteSockets records the socket folders of svc's plugins.
func (h *harness) noteSockets(svc *localstack.Service) {
	seen := map[string]bool{}
	for _, pid := range svc.PluginPIDs(h.procRoot) {
		for _, path := range unixSocketPaths(h.procRoot, pid) {
			dir := filepath.Dir(path)
			info, err := os.Stat(dir)
			if err != nil || seen[dir] {
				continue
			}
			seen[dir] = true
			d := socketDir{PID: pid, Path: dir, Mode: info.Mode().Perm()}
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				d.UID = st.Uid
			}
			h.mu.Lock()
			h.sockets = append(h.sockets, d)
			h.mu.Unlock()
		}
	}
}

// unixSocketPaths lists the paths of the unix sockets pid holds open: its open
// files that are sockets, looked up in its network namespace's socket table.
func unixSocketPaths(procRoot string, pid int) []string {
	base := filepath.Join(procRoot, strconv.Itoa(pid))
	entries, err := os.ReadDir(filepath.Join(base, "fd"))
	if err != nil {
		return nil
	}
	inodes := map[string]bool{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(base, "fd", e.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); ok && err == nil {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	f, err := os.Open(filepath.Join(base, "net", "unix"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var paths []string
	for inode, path := range parseUnixSockets(f) {
		if inodes[inode] {
			paths = append(paths, path)
		}
	}
	return paths
}

// parseUnixSockets reads /proc/<pid>/net/unix ("Num RefCount Protocol Flags Type
// St Inode Path") into a map of inode to path, for sockets bound to a path.
func parseUnixSockets(r io.Reader) map[string]string {
	out := map[string]string{}
	scanner := bufio.NewScanner(r)
	scanner.Scan() // the header
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) >= 8 && strings.HasPrefix(fields[7], "/") {
			out[fields[6]] = fields[7]
		}
	}
	return out
}

// orphanPlugins waits up to grace for every plugin process started with TMPDIR
// tmp to be gone (a plugin whose service was SIGKILLed exits within a second on
// its own), then SIGKILLs and returns those still alive: a run must leave no
// process behind.
func (h *harness) orphanPlugins(tmp string, grace time.Duration) []int {
	deadline := time.Now().Add(grace)
	for {
		pids := pluginsWithTempDir(h.procRoot, tmp)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return pids
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pluginsWithTempDir lists live plugin processes whose environment has TMPDIR=tmp.
func pluginsWithTempDir(procRoot, tmp string) []int {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	want := []byte("TMPDIR=" + tmp + "\x00")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !localstack.Alive(procRoot, pid) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(procRoot, e.Name(), "cmdline"))
		if !bytes.Contains(cmdline, []byte(localstack.PluginMarker)) {
			continue
		}
		environ, _ := os.ReadFile(filepath.Join(procRoot, e.Name(), "environ"))
		if bytes.Contains(append([]byte{0}, environ...), append([]byte{0}, want...)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// leftoverSocketDirs lists the plugin socket folders still in tmp.
func leftoverSocketDirs(tmp string) []string {
	matches, _ := filepath.Glob(filepath.Join(tmp, pluginSocketPrefix+"*"))
	return matches
}
