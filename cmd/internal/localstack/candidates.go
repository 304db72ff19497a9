package localstack

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Candidate is one document of the data set (DataSet), sent as a job's payload.
type Candidate struct {
	// ID is the document's candidate_id.
	ID string
	// Tenant is its org_id.
	Tenant string
	// Doc is the whole document, as the payload.
	Doc json.RawMessage
}

// candidateFields are the few fields the harness reads; the rest travels untouched.
type candidateFields struct {
	CandidateID       string `json:"candidate_id"`
	OrgID             string `json:"org_id"`
	ResumeText        any    `json:"resume_text"`
	RecruiterComments any    `json:"recruiter_comments"`
}

// LoadCandidates reads the JSON-lines data set and keeps the documents the enricher
// accepts (a resume or recruiter comments), as bench_limit.py does, so every
// harness measures the same work. It fails when the file cannot be read or holds none.
func LoadCandidates(path string) ([]Candidate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("candidates (-data): %w", err)
	}
	defer f.Close()
	var out []Candidate
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; scanner.Scan(); line++ {
		raw := scanner.Bytes()
		if len(strings.TrimSpace(string(raw))) == 0 {
			continue
		}
		var fields candidateFields
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if !hasText(fields.ResumeText) && !hasText(fields.RecruiterComments) {
			continue
		}
		out = append(out, Candidate{ID: fields.CandidateID, Tenant: fields.OrgID, Doc: json.RawMessage(string(raw))})
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no candidate with resume_text or recruiter_comments")
	}
	return out, nil
}

// hasText mirrors rules_enricher._text: only a string with something besides
// whitespace counts.
func hasText(v any) bool {
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) != ""
}
