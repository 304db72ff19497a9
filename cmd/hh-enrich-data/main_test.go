package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const committed = "testdata/candidates.jsonl"

func TestCommittedDataSetIsTheGeneratorsOutput(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := write(&got, defaultCount, defaultSeed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("%s differs from the generator's output (%d bytes vs %d): run `make data` and commit it", committed, len(want), got.Len())
	}
}

func TestMoreCandidatesExtendTheSameDataSet(t *testing.T) {
	t.Parallel()
	var few, many bytes.Buffer
	if err := write(&few, 10, defaultSeed); err != nil {
		t.Fatal(err)
	}
	if err := write(&many, 50, defaultSeed); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(many.Bytes(), few.Bytes()) {
		t.Fatal("the first 10 of 50 candidates differ from a run of 10")
	}
	var other bytes.Buffer
	if err := write(&other, 10, defaultSeed+1); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.Bytes(), few.Bytes()) {
		t.Fatal("another seed gave the same candidates")
	}
}

func TestRunWritesTheFileAndRefusesAnEmptyDataSet(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "c.jsonl")
	if err := run(out, 3, defaultSeed); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil || bytes.Count(raw, []byte("\n")) != 3 {
		t.Fatalf("wrote %q, %v", raw, err)
	}
	if err := run(out, 0, defaultSeed); err == nil || !strings.Contains(err.Error(), "-n 0") {
		t.Fatalf("run with -n 0: %v", err)
	}
}

// TestDataSetCoversWhatTheReadersNeed checks the variety the tests and the
// benchmark rely on, on the committed file itself.
func TestDataSetCoversWhatTheReadersNeed(t *testing.T) {
	t.Parallel()
	docs := readCommitted(t)
	if len(docs) != defaultCount {
		t.Fatalf("%d candidates, want %d", len(docs), defaultCount)
	}
	seen := map[string]int{}
	ids := map[string]bool{}
	shortest, longest, noText := 1<<30, 0, 0
	for _, d := range docs {
		id, _ := d["candidate_id"].(string)
		if ids[id] {
			t.Fatalf("duplicate candidate_id %s", id)
		}
		ids[id] = true
		meta, _ := d["metadata"].(map[string]any)
		seen["track:"+str(meta["track"])]++
		seen["seniority:"+str(meta["seniority"])]++
		seen["tenant:"+str(d["org_id"])]++
		resume := str(d["resume_text"])
		if n := len(strings.TrimSpace(resume)); n > 0 {
			shortest, longest = min(shortest, n), max(longest, n)
		}
		if strings.TrimSpace(resume) == "" && strings.TrimSpace(str(d["recruiter_comments"])) == "" {
			noText++
		}
		countEdgeCases(seen, d, resume)
	}
	for _, tr := range tracks {
		if seen["track:"+tr.name] == 0 {
			t.Errorf("no candidate on the %s track", tr.name)
		}
	}
	for _, lv := range ladder {
		if seen["seniority:"+lv.name] == 0 {
			t.Errorf("no %s candidate", lv.name)
		}
	}
	for _, tenant := range tenants {
		if seen["tenant:"+tenant] == 0 {
			t.Errorf("no candidate of %s", tenant)
		}
	}
	for _, edge := range []string{"resume missing", "resume null", "comments missing", "comments null",
		"crlf", "non-ascii name", "one-liner", "markup or emoji"} {
		if seen[edge] == 0 {
			t.Errorf("no candidate with %s", edge)
		}
	}
	if shortest > 80 || longest < 5000 || longest > maxResumeBytes {
		t.Errorf("resumes from %d to %d bytes, want one-liners and some of 5-%d bytes", shortest, longest, maxResumeBytes)
	}
	if noText == 0 || noText > defaultCount/20 {
		t.Errorf("%d candidates with nothing to enrich, want a few", noText)
	}
}

func countEdgeCases(seen map[string]int, d map[string]any, resume string) {
	if v, ok := d["resume_text"]; !ok || v == "" {
		seen["resume missing"]++
	} else if v == nil {
		seen["resume null"]++
	}
	if v, ok := d["recruiter_comments"]; !ok {
		seen["comments missing"]++
	} else if v == nil {
		seen["comments null"]++
	}
	if strings.Contains(resume, "\r\n") {
		seen["crlf"]++
	}
	if strings.ContainsFunc(str(d["name"]), func(r rune) bool { return r > 0x2ff }) {
		seen["non-ascii name"]++
	}
	if trimmed := strings.TrimSpace(resume); trimmed != "" && !strings.Contains(trimmed, "\n") {
		seen["one-liner"]++
	}
	if strings.ContainsAny(str(d["recruiter_comments"]), "<&🚀") {
		seen["markup or emoji"]++
	}
}

func readCommitted(t *testing.T) []map[string]any {
	t.Helper()
	f, err := os.Open(committed)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []map[string]any
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		var d map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &d); err != nil {
			t.Fatalf("line %d: %v", len(docs)+1, err)
		}
		docs = append(docs, d)
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
