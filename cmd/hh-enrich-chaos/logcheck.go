package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Kinds of needles: the first is a credential, the others candidate data.
const (
	kindToken  = "token"
	kindCanary = "canary candidate"
)

// logHit is where a kind of needle was first found, and how often in all.
type logHit struct {
	count int
	first string // file:line
}

// checkLogs searches every log the run wrote for the tokens and keys it used and
// for the data of every candidate it sent (names, emails, the first line of
// resumes and recruiter comments, and made-up canary candidates), in the forms a
// JSON log line would hold them. The report names kinds and places, never values.
func (h *harness) checkLogs(row *Row) {
	h.mu.Lock()
	logs := slices.Clone(h.logs)
	needles := h.logNeedles()
	h.mu.Unlock()
	set := newNeedleSet(needles)
	hits := map[string]*logHit{}
	var size int64
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			row.note("reading %s: %v", path, err)
			continue
		}
		size += int64(len(data))
		set.scan(data, func(n needle, offset int) {
			hit := hits[n.kind]
			if hit == nil {
				hit = &logHit{first: fmt.Sprintf("%s:%d", filepath.Base(path), bytes.Count(data[:offset], []byte("\n"))+1)}
				hits[n.kind] = hit
			}
			hit.count++
		})
	}
	tokens := hits[kindToken]
	delete(hits, kindToken)
	row.check("no_tokens_in_logs", tokens == nil, "%d logs (%.1f MB) searched for %d forms of the run's tokens and keys%s",
		len(logs), float64(size)/1e6, countKind(needles, true), describeHit(tokens))
	var found []string
	for _, kind := range slices.Sorted(maps.Keys(hits)) {
		found = append(found, kind+strings.TrimPrefix(describeHit(hits[kind]), ":"))
	}
	result := ": none found"
	if len(found) > 0 {
		result = ": " + strings.Join(found, "; ")
	}
	row.check("no_candidate_data_in_logs", len(hits) == 0,
		"searched for %d forms of names, emails, resume and comment lines of %d candidates sent and of canaries%s",
		countKind(needles, false), len(h.sent), result)
}

func describeHit(hit *logHit) string {
	if hit == nil {
		return ": none found"
	}
	return fmt.Sprintf(": FOUND %d times, first at %s", hit.count, hit.first)
}

func countKind(needles []needle, tokens bool) int {
	n := 0
	for _, nd := range needles {
		if (nd.kind == kindToken) == tokens && len(nd.value) >= needleMin {
			n++
		}
	}
	return n
}

// logNeedles lists every value to search for, in every log form. Call with h.mu held.
func (h *harness) logNeedles() []needle {
	var out []needle
	add := func(kind, value string) {
		if value == "" {
			return
		}
		for _, form := range logForms(value) {
			out = append(out, needle{value: form, kind: kind})
		}
	}
	for _, s := range h.secrets {
		add(kindToken, s)
	}
	for _, c := range h.extras {
		add(kindCanary, c)
	}
	for k := range h.sent {
		var doc struct {
			Name              string `json:"name"`
			Email             string `json:"email"`
			ResumeText        string `json:"resume_text"`
			RecruiterComments string `json:"recruiter_comments"`
		}
		if json.Unmarshal(h.cands[k].Doc, &doc) != nil {
			continue
		}
		add("name", doc.Name)
		add("email", doc.Email)
		add("resume_text", piiSnippet(doc.ResumeText, 20))
		add("recruiter_comments", piiSnippet(doc.RecruiterComments, 20))
	}
	return out
}
