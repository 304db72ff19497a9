package localstack

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// PluginMarker is in the command line of every plugin process the service starts.
const PluginMarker = "plugin_server.py"

// ChildPIDs lists the live children of parent whose command line contains marker,
// read from procRoot (/proc), in ascending order. Zombies are left out: they are
// dead, only not yet reaped.
func ChildPIDs(procRoot string, parent int, marker string) []int {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid, ok := procState(procRoot, pid); !ok || state == "Z" || ppid != parent {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(procRoot, e.Name(), "cmdline"))
		if bytes.Contains(cmdline, []byte(marker)) {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}

// procState reads a process's state letter and parent pid from procRoot/<pid>/stat.
func procState(procRoot string, pid int) (state string, ppid int, ok bool) {
	stat, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	end := bytes.LastIndexByte(stat, ')')
	if err != nil || end < 0 {
		return "", 0, false
	}
	// After the ")" that ends the command name: state, ppid, ...
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return fields[0], ppid, err == nil
}

// Alive reports whether pid is a live (not zombie) process in procRoot.
func Alive(procRoot string, pid int) bool {
	state, _, ok := procState(procRoot, pid)
	return ok && state != "Z"
}
