package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "results.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

const (
	lineA = `{"candidateId":"a","jobId":"j1","status":"completed","attemptCount":1}` + "\n"
	lineB = `{"candidateId":"b","jobId":"j2","status":"failed","errorCode":"python_timeout","attemptCount":3}` + "\n"
)

func TestResultsFile(t *testing.T) {
	t.Parallel()

	t.Run("ResumesFromTheLinesAlreadyWritten", func(t *testing.T) {
		r, err := openResults(writeFile(t, lineA+lineB))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if !r.Has("a") || !r.Has("b") || r.Has("c") || r.dropped != 0 {
			t.Errorf("done %v, dropped %d", r.done, r.dropped)
		}
	})

	t.Run("DropsATornLastLineAndAppendsAfterTheLastWholeOne", func(t *testing.T) {
		path := writeFile(t, lineA+`{"candidateId":"b","jobId":"j2","sta`)
		r, err := openResults(path)
		if err != nil {
			t.Fatal(err)
		}
		if r.Has("b") || r.dropped == 0 {
			t.Fatalf("torn line kept: done %v, dropped %d", r.done, r.dropped)
		}
		if err := r.Append(resultLine{CandidateID: "b", JobID: "j2", Status: "completed"}); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		want := lineA + `{"candidateId":"b","jobId":"j2","status":"completed","attemptCount":0}` + "\n"
		if got := readFile(t, path); got != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
	})

	// A whole last line that is not ours, or a file of someone else's, is refused,
	// never cut: --out may name the input or a file of notes by mistake.
	t.Run("RefusesAForeignLastLineOrFile", func(t *testing.T) {
		for name, content := range map[string]string{
			"a whole last line":         lineA + "garbage\n",
			"a candidate document":      `{"candidate_id":"same-2","resume_text":"Go engineer 5 years"}` + "\n",
			"notes without a newline":   "my important notes",
			"a result line of a prefix": lineA + `{"candidateId":"b","jobId":"j2","status":"completed","attemptCount":1}` + "\n" + `{"name":"x"`,
		} {
			path := writeFile(t, content)
			if _, err := openResults(path); err == nil || !strings.Contains(err.Error(), "is not a result line") {
				t.Errorf("%s: err %v, want it refused", name, err)
			}
			if got := readFile(t, path); got != content {
				t.Errorf("%s: the file was changed to %q", name, got)
			}
		}
	})

	t.Run("RefusesAFileCorruptInTheMiddle", func(t *testing.T) {
		_, err := openResults(writeFile(t, lineA+"garbage\n"+lineB))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("err %v, want one naming line 2", err)
		}
	})

	t.Run("RefusesACandidateTwice", func(t *testing.T) {
		if _, err := openResults(writeFile(t, lineA+lineA)); err == nil {
			t.Error("accepted a candidate twice")
		}
	})

	t.Run("RetryFailedRemovesTheLinesThatDidNotComplete", func(t *testing.T) {
		path := writeFile(t, lineB+lineA)
		r, err := openResults(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.rerun(map[string]bool{"b": true}); err != nil {
			t.Fatal(err)
		}
		if r.Has("b") || !r.Has("a") {
			t.Errorf("done %v", r.done)
		}
		if err := r.Append(resultLine{CandidateID: "b", JobID: "j3", Status: "completed"}); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		want := lineA + `{"candidateId":"b","jobId":"j3","status":"completed","attemptCount":0}` + "\n"
		if got := readFile(t, path); got != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
		if matches, _ := filepath.Glob(path + ".tmp-*"); len(matches) != 0 {
			t.Errorf("temporary files left: %v", matches)
		}
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o644 {
			t.Errorf("mode after the rewrite: %v %v, want 0644", info.Mode(), err)
		}
	})

	t.Run("OneRunAtATimeHoldsTheFile", func(t *testing.T) {
		path := writeFile(t, lineA+lineB)
		first, err := openResults(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openResults(path); err == nil || !strings.Contains(err.Error(), "another hh-enrich batch") {
			t.Errorf("a second run opened it: %v", err)
		}
		// The rewrite keeps the file taken.
		if err := first.rerun(map[string]bool{"b": true}); err != nil {
			t.Fatal(err)
		}
		if _, err := openResults(path); err == nil {
			t.Error("a second run opened the rewritten file")
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		second, err := openResults(path)
		if err != nil {
			t.Fatalf("after the first run: %v", err)
		}
		second.Close()
	})

	t.Run("AppendsACandidateOnlyOnce", func(t *testing.T) {
		path := writeFile(t, lineA)
		r, err := openResults(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Append(resultLine{CandidateID: "a", JobID: "j9", Status: "completed"}); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, path); got != lineA {
			t.Errorf("file:\n%s", got)
		}
	})
}
