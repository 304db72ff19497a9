package localstack

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPathsResolve(t *testing.T) {
	t.Parallel()

	t.Run("FillsEveryPathFromTheRepositoryRoot", func(t *testing.T) {
		t.Parallel()
		var p Paths
		if err := p.Resolve(true); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(p.RepoRoot, "go.mod")); err != nil {
			t.Fatalf("root %s holds no go.mod: %v", p.RepoRoot, err)
		}
		if p.PythonBin != filepath.Join(p.RepoRoot, ".venv", "bin", "python") || filepath.Base(p.ServiceBin) != "hh-enrich-svc" ||
			p.DataPath != filepath.Join(p.RepoRoot, "cmd", "hh-enrich-data", "testdata", "candidates.jsonl") {
			t.Fatalf("paths = %+v", p)
		}
		if _, err := os.Stat(p.DataPath); err != nil {
			t.Fatalf("the data set is not in the repository: %v", err)
		}
	})

	t.Run("KeepsWhatWasGivenAndNeedsNoServiceForAURL", func(t *testing.T) {
		t.Parallel()
		p := Paths{RepoRoot: "/repo", PythonBin: "/usr/bin/python3"}
		if err := p.Resolve(false); err != nil {
			t.Fatal(err)
		}
		if p.RepoRoot != "/repo" || p.PythonBin != "/usr/bin/python3" || p.ServiceBin != "" {
			t.Fatalf("paths = %+v", p)
		}
	})

	t.Run("MakesRelativePathsAbsolute", func(t *testing.T) {
		t.Parallel()
		// make chaos passes -service-bin bin/testbuild/hh-enrich-svc; the chaos
		// harness links it into a temporary folder, where a relative link breaks.
		p := Paths{RepoRoot: "/repo", PythonBin: "/usr/bin/python3", ServiceBin: "bin/testbuild/hh-enrich-svc"}
		if err := p.Resolve(true); err != nil {
			t.Fatal(err)
		}
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(wd, "bin", "testbuild", "hh-enrich-svc"); p.ServiceBin != want {
			t.Fatalf("service bin = %q, want %q", p.ServiceBin, want)
		}
	})
}

func TestSplitListDropsBlanks(t *testing.T) {
	t.Parallel()
	if got := SplitList(" a, ,b,,c "); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("SplitList = %v", got)
	}
}
