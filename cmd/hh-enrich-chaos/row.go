package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// notMeasured marks a figure a scenario has no way to measure (a duplicate count
// without side effects to count, a recovery time without a fault to end).
const notMeasured = -1

// Row is one line of the table: what one scenario did to the stack and what it
// found. Job scenarios fill the job counts; check scenarios (fuzzing, security)
// count inputs or checks in Submitted and name each failed check in FailedByCode.
type Row struct {
	Scenario string `json:"scenario"`
	// Submitted jobs the service accepted (or inputs and checks, for check rows).
	Submitted int `json:"submitted"`
	Completed int `json:"completed"`
	// FailedByCode counts jobs that failed for good, by error code.
	FailedByCode map[string]int `json:"failedByCode,omitempty"`
	// Lost counts submitted jobs that never reached completed or failed by the
	// scenario's deadline after the fault ended, or whose record vanished.
	Lost int `json:"lost"`
	// Duplicates counts side effects beyond what the job's own attempts explain
	// (an embed upsert more than once per attempt, a Firestore document written
	// by a run the job does not record). notMeasured when nothing was counted.
	Duplicates int `json:"duplicatedSideEffects"`
	// RecoverySeconds is from the end of the fault to RecoveryBasis (the first
	// completion after it, /health back to 200, a replacement process taking
	// calls); notMeasured when the scenario has no such moment.
	RecoverySeconds float64 `json:"recoverySeconds"`
	RecoveryBasis   string  `json:"recoveryBasis,omitempty"`
	// Checks are the scenario's pass/fail assertions beyond "nothing lost".
	Checks []Check `json:"checks,omitempty"`
	// Summary is the row's one-line note in the Markdown table; Notes say in
	// full what ran and what else was seen (breaker figures, retries, ...).
	Summary string   `json:"summary,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	// Error is why the scenario could not run to its end.
	Error           string  `json:"error,omitempty"`
	DurationSeconds float64 `json:"durationSeconds"`
}

// Check is one pass/fail assertion of a scenario.
type Check struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail,omitempty"`
}

// newRow returns an empty row for scenario with nothing measured yet.
func newRow(scenario string) *Row {
	return &Row{Scenario: scenario, Duplicates: notMeasured, RecoverySeconds: notMeasured}
}

// Failed is how many jobs failed for good, all codes together.
func (r *Row) Failed() int {
	n := 0
	for _, c := range r.FailedByCode {
		n += c
	}
	return n
}

// Passed reports whether the row is clean: it ran to its end, lost nothing and
// passed every check.
func (r *Row) Passed() bool {
	return r.Error == "" && r.Lost == 0 && len(r.FailedChecks()) == 0
}

// FailedChecks names the checks that failed.
func (r *Row) FailedChecks() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Pass {
			out = append(out, c.Name)
		}
	}
	return out
}

// check records an assertion; detail says what was seen either way.
func (r *Row) check(name string, pass bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Pass: pass, Detail: fmt.Sprintf(format, args...)})
}

// summarize sets the row's one-line note.
func (r *Row) summarize(format string, args ...any) {
	r.Summary = fmt.Sprintf(format, args...)
}

// note adds a line to the row's notes.
func (r *Row) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// fail records why the scenario stopped early; the first reason wins.
func (r *Row) fail(err error) *Row {
	if err != nil && r.Error == "" {
		r.Error = err.Error()
	}
	return r
}

// recovered records the time from the fault's end to what basis names; a moment
// before the end (the stack never stopped working) counts as 0.
func (r *Row) recovered(faultEnd, at time.Time, basis string) {
	r.RecoverySeconds = max(0, round2(at.Sub(faultEnd).Seconds()))
	r.RecoveryBasis = basis
}

// Outcome is what the harness learnt of one submitted job once the scenario ended.
type Outcome struct {
	// Entity is "tenant/candidateId", the embed server's key for the job's upserts.
	Entity string
	// Status is completed, failed, or the last status seen; Missing means the
	// service no longer knows the job (its record vanished).
	Status  string
	Missing bool
	// ErrorCode of a failed job; Attempts as the job records them.
	ErrorCode string
	Attempts  int
	// EndedAt is when the job last changed (its updatedAt), for terminal jobs.
	EndedAt time.Time
	// EmbeddingUpserted and EmbedOutcome (the skip reason or "error:<category>")
	// come from a completed job's result.
	EmbeddingUpserted bool
	EmbedOutcome      string
	// EmbedSeconds is how long the completed job's embed step took.
	EmbedSeconds float64
}

// Terminal reports whether the job reached completed or failed.
func (o Outcome) Terminal() bool {
	return !o.Missing && (o.Status == "completed" || o.Status == "failed")
}

// account fills the row's job counts from the outcomes: completed, failed by
// code, and lost (not terminal, or vanished).
func (r *Row) account(outcomes []Outcome) {
	r.Submitted = len(outcomes)
	r.Completed, r.Lost = 0, 0
	r.FailedByCode = map[string]int{}
	for _, o := range outcomes {
		switch {
		case !o.Terminal():
			r.Lost++
		case o.Status == "completed":
			r.Completed++
		default:
			r.FailedByCode[cmp.Or(o.ErrorCode, "no_code")]++
		}
	}
}

// duplicateUpserts compares the embed server's upserts per entity with the jobs:
// extra is every upsert beyond one per completed job, unexplained the part of it
// beyond one per attempt the job records (an at-least-once re-run may upsert
// again; nothing else should).
func duplicateUpserts(outcomes []Outcome, upserts map[string]int) (extra, unexplained int) {
	for _, o := range outcomes {
		n := upserts[o.Entity]
		if n <= 1 {
			continue
		}
		extra += n - 1
		unexplained += max(0, n-max(1, o.Attempts))
	}
	return extra, unexplained
}

// firstCompletionAfter is the earliest end of a completed job at or after t.
func firstCompletionAfter(outcomes []Outcome, t time.Time, match func(Outcome) bool) (time.Time, bool) {
	var first time.Time
	for _, o := range outcomes {
		if o.Status != "completed" || o.Missing || o.EndedAt.Before(t) || (match != nil && !match(o)) {
			continue
		}
		if first.IsZero() || o.EndedAt.Before(first) {
			first = o.EndedAt
		}
	}
	return first, !first.IsZero()
}

// lastEnd is the latest end among the outcomes that match.
func lastEnd(outcomes []Outcome, match func(Outcome) bool) (time.Time, bool) {
	var last time.Time
	for _, o := range outcomes {
		if o.Terminal() && match(o) && o.EndedAt.After(last) {
			last = o.EndedAt
		}
	}
	return last, !last.IsZero()
}

// countBy counts the outcomes by key, leaving out empty keys.
func countBy(outcomes []Outcome, key func(Outcome) string) map[string]int {
	out := map[string]int{}
	for _, o := range outcomes {
		if k := key(o); k != "" {
			out[k]++
		}
	}
	return out
}

// formatCounts writes a count map as "a 3, b 1", largest first, then by name.
func formatCounts(counts map[string]int) string {
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(counts[b]-counts[a], cmp.Compare(a, b))
	})
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", k, counts[k])
	}
	return s
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// tallyChecks fills a check row's counts: every check is an input, a passed one
// completed, a failed one failed under its own name.
func (r *Row) tallyChecks() {
	r.Submitted, r.Completed = len(r.Checks), 0
	r.FailedByCode = map[string]int{}
	for _, c := range r.Checks {
		if c.Pass {
			r.Completed++
		} else {
			r.FailedByCode[c.Name]++
		}
	}
}
