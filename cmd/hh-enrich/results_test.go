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
		r, err := openResults(writeFile(t, lineA+lineB), false)
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
		r, err := openResults(path, false)
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

	t.Run("DropsAnUndecodableLastLine", func(t *testing.T) {
		r, err := openResults(writeFile(t, lineA+"garbage\n"), false)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if len(r.done) != 1 || r.dropped != len("garbage\n") {
			t.Errorf("done %v, dropped %d", r.done, r.dropped)
		}
	})

	t.Run("RefusesAFileCorruptInTheMiddle", func(t *testing.T) {
		_, err := openResults(writeFile(t, lineA+"garbage\n"+lineB), false)
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("err %v, want one naming line 2", err)
		}
	})

	t.Run("RefusesACandidateTwice", func(t *testing.T) {
		if _, err := openResults(writeFile(t, lineA+lineA), false); err == nil {
			t.Error("accepted a candidate twice")
		}
	})

	t.Run("RetryFailedRemovesTheLinesThatDidNotComplete", func(t *testing.T) {
		path := writeFile(t, lineB+lineA)
		r, err := openResults(path, true)
		if err != nil {
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
	})

	t.Run("AppendsACandidateOnlyOnce", func(t *testing.T) {
		path := writeFile(t, lineA)
		r, err := openResults(path, false)
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
