package pool

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestSweepRemovesOnlySocketFoldersOfDeadPlugins(t *testing.T) {
	t.Parallel()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	dead := fmt.Sprintf("%s%d-abc", socketDirPrefix, gone.Process.Pid)
	alive := fmt.Sprintf("%s%d-def", socketDirPrefix, os.Getpid())
	unnamed := socketDirPrefix + "xyz123" // an old plugin's: no pid to judge by
	other := "something-else"
	for _, name := range []string{dead, alive, unnamed, other} {
		if err := os.Mkdir(filepath.Join(parent, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if n := sweepStaleSocketDirs(parent); n != 1 {
		t.Fatalf("removed %d folders, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(parent, dead)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dead plugin's folder is still there: %v", err)
	}
	for _, name := range []string{alive, unnamed, other} {
		if _, err := os.Stat(filepath.Join(parent, name)); err != nil {
			t.Fatalf("%s was removed: %v", name, err)
		}
	}
}

func TestSocketParentDirFollowsThePluginsEnvironment(t *testing.T) {
	t.Parallel()
	if got := socketParentDir([]string{"TMPDIR=/a", "PLUGIN_UNIX_SOCKET_DIR=/b"}); got != "/b" {
		t.Fatalf("got %s, want the explicit socket folder", got)
	}
	if got := socketParentDir([]string{"PATH=/bin", "TMPDIR=/a"}); got != "/a" {
		t.Fatalf("got %s, want TMPDIR", got)
	}
	if got := socketParentDir(nil); got != "/tmp" {
		t.Fatalf("got %s, want /tmp", got)
	}
}
