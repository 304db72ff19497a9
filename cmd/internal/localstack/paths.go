package localstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DataSet is the repository's candidates data set, relative to its root: what the
// tests, the bench, the chaos suite and the README's examples read (written by
// cmd/hh-enrich-data).
const DataSet = "cmd/hh-enrich-data/testdata/candidates.jsonl"

// Paths are where a local stack's pieces live in a checkout. The bench and the chaos
// suite take each as a flag and fill the rest from the repository root.
type Paths struct {
	RepoRoot   string // the folder holding go.mod
	DataPath   string // the candidates (DataSet under RepoRoot)
	PythonBin  string // the venv interpreter the plugins run on
	ServiceBin string // the hh-enrich-svc binary
}

// Resolve fills the empty fields: the root by walking up from the working directory
// to go.mod, the data and the interpreter from the root, and (when wantService) the
// service binary beside the running executable, where `make build` puts both.
func (p *Paths) Resolve(wantService bool) error {
	if p.RepoRoot == "" {
		root, err := findRepoRoot()
		if err != nil {
			return err
		}
		p.RepoRoot = root
	}
	if p.DataPath == "" {
		p.DataPath = filepath.Join(p.RepoRoot, filepath.FromSlash(DataSet))
	}
	if p.PythonBin == "" {
		p.PythonBin = filepath.Join(p.RepoRoot, ".venv", "bin", "python")
	}
	if p.ServiceBin == "" && wantService {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("locating the service binary: %w", err)
		}
		p.ServiceBin = filepath.Join(filepath.Dir(exe), "hh-enrich-svc")
	}
	// Absolute, so that a path given relative to the caller's folder still holds
	// for processes started elsewhere and for symlinks made in temporary folders.
	for _, path := range []*string{&p.RepoRoot, &p.DataPath, &p.PythonBin, &p.ServiceBin} {
		if *path == "" {
			continue
		}
		abs, err := filepath.Abs(*path)
		if err != nil {
			return fmt.Errorf("resolving %s: %w", *path, err)
		}
		*path = abs
	}
	return nil
}

// findRepoRoot walks up from the working directory to the folder holding go.mod.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: pass -repo")
		}
		dir = parent
	}
}

// SplitList splits a comma-separated flag value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
