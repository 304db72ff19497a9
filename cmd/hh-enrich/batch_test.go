package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runCLI runs the command in-process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	code := m.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

// writeCandidates writes n candidate documents; ids are cand-000…
func writeCandidates(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"candidate_id":"cand-%03d","name":"N %d","resume_text":"Go engineer"}`+"\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "candidates.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readResults reads a results file, failing on a candidate seen twice.
func readResults(t *testing.T, path string) map[string]resultLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]resultLine{}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		var r resultLine
		if err := json.Unmarshal(scanner.Bytes(), &r); err != nil {
			t.Fatalf("results line %q: %v", scanner.Text(), err)
		}
		if _, dup := out[r.CandidateID]; dup {
			t.Fatalf("candidate %s appears twice in the results", r.CandidateID)
		}
		out[r.CandidateID] = r
	}
	return out
}

func TestBatch(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T, n int) (*fakeAPI, []string, string) {
		api, url := newFakeAPI(t)
		in := writeCandidates(t, n)
		out := filepath.Join(t.TempDir(), "results.jsonl")
		args := []string{"batch", "--url", url, "--tenant", "t1", "--in", in, "--out", out,
			"--chunk", "10", "--concurrency", "2", "--poll", "1ms", "--progress=false"}
		return api, args, out
	}

	t.Run("WritesOneLinePerCandidateOnceItsJobIsDone", func(t *testing.T) {
		t.Parallel()
		api, args, out := setup(t, 25)
		code, _, stderr := runCLI(t, nil, args...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		results := readResults(t, out)
		if len(results) != 25 {
			t.Fatalf("%d results, want 25", len(results))
		}
		for id, r := range results {
			if r.Status != "completed" || r.JobID == "" || r.Result != nil {
				t.Errorf("%s: %+v", id, r)
			}
		}
		if created, _ := api.stats(); created != 25 {
			t.Errorf("%d jobs created, want 25", created)
		}
		if !strings.Contains(stderr, "25 finished in this run (25 completed, 0 not)") {
			t.Errorf("no summary in stderr:\n%s", stderr)
		}
	})

	t.Run("ResumesWithoutNewJobsForSubmittedCandidates", func(t *testing.T) {
		t.Parallel()
		api, args, out := setup(t, 25)
		if code, _, stderr := runCLI(t, nil, args...); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		first := readResults(t, out)
		// An interrupted run: the last 7 lines were never written.
		raw, _ := os.ReadFile(out)
		lines := strings.SplitAfter(strings.TrimSuffix(string(raw), "\n"), "\n")
		kept := strings.Join(lines[:18], "") + lines[18][:10] // and a torn line
		if err := os.WriteFile(out, []byte(kept), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI(t, nil, args...)
		if code != exitOK {
			t.Fatalf("rerun: exit %d: %s", code, stderr)
		}
		second := readResults(t, out)
		if len(second) != 25 {
			t.Fatalf("%d results after the rerun, want 25", len(second))
		}
		for id, r := range second {
			if r.JobID != first[id].JobID {
				t.Errorf("%s: job %s after the rerun, %s before", id, r.JobID, first[id].JobID)
			}
		}
		if created, _ := api.stats(); created != 25 {
			t.Errorf("%d jobs created over both runs, want 25: the rerun did not dedupe", created)
		}
		if !strings.Contains(stderr, "18 already in") || !strings.Contains(stderr, "torn line") {
			t.Errorf("stderr does not report the resume:\n%s", stderr)
		}
	})

	t.Run("ExitsTwoOnFailedCandidatesAndRetryFailedRunsThemAgain", func(t *testing.T) {
		t.Parallel()
		api, args, out := setup(t, 12)
		api.failing["cand-003"] = true
		code, _, stderr := runCLI(t, nil, args...)
		if code != exitSomeFailed {
			t.Fatalf("exit %d, want %d: %s", code, exitSomeFailed, stderr)
		}
		failed := readResults(t, out)["cand-003"]
		if failed.Status != "failed" || failed.ErrorCode != "python_timeout" || failed.Error == "" {
			t.Errorf("failed line %+v", failed)
		}
		// Without --retry-failed a rerun has nothing to do and still reports the failure.
		if code, _, _ := runCLI(t, nil, args...); code != exitSomeFailed {
			t.Errorf("rerun: exit %d, want %d", code, exitSomeFailed)
		}
		api.failing["cand-003"] = false
		if code, _, stderr := runCLI(t, nil, append(args, "--retry-failed")...); code != exitOK {
			t.Fatalf("--retry-failed: exit %d: %s", code, stderr)
		}
		results := readResults(t, out)
		if r := results["cand-003"]; len(results) != 12 || r.Status != "completed" || r.JobID == failed.JobID {
			t.Errorf("after --retry-failed: %d results, cand-003 %+v", len(results), r)
		}
	})

	// --retry-failed runs again this input's failed candidates only: a failed line
	// of a candidate from another input stays (it was deleted, never run again).
	t.Run("RetryFailedLeavesOtherInputsLinesAlone", func(t *testing.T) {
		t.Parallel()
		api, args, out := setup(t, 4)
		other := `{"candidateId":"elsewhere","jobId":"j-old","status":"failed","errorCode":"python_error","attemptCount":1}` + "\n"
		if err := os.WriteFile(out, []byte(other), 0o644); err != nil {
			t.Fatal(err)
		}
		api.failing["cand-001"] = true
		if code, _, stderr := runCLI(t, nil, args...); code != exitSomeFailed {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		api.failing["cand-001"] = false
		code, _, stderr := runCLI(t, nil, append(args, "--retry-failed")...)
		results := readResults(t, out)
		if results["elsewhere"].JobID != "j-old" || results["cand-001"].Status != "completed" || len(results) != 5 {
			t.Errorf("after --retry-failed: %+v", results)
		}
		// Every candidate of this input completed: the other input's line is not this run's.
		if code != exitOK {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})

	t.Run("RefusesToWriteItsResultsOverItsInput", func(t *testing.T) {
		t.Parallel()
		_, args, _ := setup(t, 2)
		in := args[slices.Index(args, "--in")+1]
		before := readFile(t, in)
		args[slices.Index(args, "--out")+1] = in
		if code, _, stderr := runCLI(t, nil, args...); code != exitError || !strings.Contains(stderr, "same file") {
			t.Errorf("exit %d: %s", code, stderr)
		}
		if readFile(t, in) != before {
			t.Error("the input was changed")
		}
	})

	t.Run("FullResultsCarryEachJobsResult", func(t *testing.T) {
		t.Parallel()
		_, args, out := setup(t, 3)
		if code, _, stderr := runCLI(t, nil, append(args, "--results", "full")...); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for id, r := range readResults(t, out) {
			if string(r.Result) != `{"overall_score":0.5}` {
				t.Errorf("%s: result %s", id, r.Result)
			}
		}
	})

	t.Run("RetriesAnUnavailableService", func(t *testing.T) {
		t.Parallel()
		api, args, out := setup(t, 5)
		api.unavailable = 2
		if code, _, stderr := runCLI(t, nil, args...); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if n := len(readResults(t, out)); n != 5 {
			t.Errorf("%d results, want 5", n)
		}
	})

	t.Run("SendsTheTokenAndSaysWhatToDoWithoutIt", func(t *testing.T) {
		t.Parallel()
		api, args, out := setup(t, 2)
		api.token = "s3cret"
		code, _, stderr := runCLI(t, nil, args...)
		if code != exitError || !strings.Contains(stderr, "HH_ENRICH_TOKEN") {
			t.Errorf("without a token: exit %d, stderr:\n%s", code, stderr)
		}
		if code, _, stderr := runCLI(t, map[string]string{"HH_ENRICH_TOKEN": "s3cret"}, args...); code != exitOK {
			t.Errorf("with HH_ENRICH_TOKEN: exit %d: %s", code, stderr)
		}
		if n := len(readResults(t, out)); n != 2 {
			t.Errorf("%d results, want 2", n)
		}
	})

	t.Run("RefusesABadInputLineBeforeSendingAnything", func(t *testing.T) {
		t.Parallel()
		api, args, _ := setup(t, 3)
		in := args[6]
		f, _ := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
		fmt.Fprintln(f, `{"candidate_id":"bad/id"}`)
		f.Close()
		code, _, stderr := runCLI(t, nil, args...)
		if code != exitError || !strings.Contains(stderr, "line 4") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
		if _, requests := api.stats(); len(requests) != 0 {
			t.Errorf("requests were sent: %v", requests)
		}
	})
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"batch", "--tenant", "t"},
		{"batch", "--tenant", "t", "--in", "a", "--out", "b", "--chunk", "1001"},
		{"batch", "--tenant", "t", "--in", "a", "--out", "b", "--results", "some"},
		{"status", "--tenant", "t"},
		{"admin"},
		{"admin", "restart", "one"},
	} {
		code, _, stderr := runCLI(t, nil, args...)
		if code != exitError || !strings.Contains(stderr, "Usage:") {
			t.Errorf("%q: exit %d, stderr:\n%s", args, code, stderr)
		}
	}
}
