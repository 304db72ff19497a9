package pool

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// socketParentDir is where the plugins make their socket folders: what Python's
// tempfile picks from the plugins' environment (PLUGIN_UNIX_SOCKET_DIR, else TMPDIR,
// else the system's temporary folder).
func socketParentDir(env []string) string {
	lookup := func(key string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, key+"="); ok {
				return v
			}
		}
		return ""
	}
	for _, key := range []string{"PLUGIN_UNIX_SOCKET_DIR", "TMPDIR", "TEMP", "TMP"} {
		if dir := lookup(key); dir != "" {
			return dir
		}
	}
	return "/tmp"
}

// sweepStaleSocketDirs removes the socket folders of plugins that died without
// cleaning up (SIGKILL, a host that died before it could). Other hosts' plugins may
// share the folder, so only a folder that is ours (same user), named with a pid
// (plugin_server.py puts its pid in the name), and whose pid is no longer running
// is removed. It returns how many it removed.
func sweepStaleSocketDirs(parent string) int {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	removed := 0
	for _, entry := range entries {
		pid, ok := socketDirPID(entry.Name())
		if !ok || !entry.IsDir() || processAlive(pid) {
			continue
		}
		path := filepath.Join(parent, entry.Name())
		if info, err := entry.Info(); err != nil || !ownedByUs(info) {
			continue
		}
		if os.RemoveAll(path) == nil {
			removed++
		}
	}
	return removed
}

// socketDirPID reads the pid out of a folder named hh-enrich-plugin-<pid>-<random>.
func socketDirPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, socketDirPrefix)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	return pid, err == nil && pid > 0
}

// processAlive reports whether pid runs. A pid we may not signal (another user's)
// counts as alive: its folder is not ours to judge.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || !errors.Is(err, syscall.ESRCH)
}

func ownedByUs(info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
