package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// HostInfo describes the machine the figures come from: chaos timings mean little
// without the load the machine was under.
type HostInfo struct {
	CPUs       int    `json:"cpus"`
	GoVersion  string `json:"goVersion"`
	LoadBefore string `json:"loadAverageBefore"`
	LoadAfter  string `json:"loadAverageAfter"`
}

// Results is the whole run, as written to the JSON file.
type Results struct {
	StartedAt       string         `json:"startedAt"`
	DurationSeconds float64        `json:"durationSeconds"`
	Quick           bool           `json:"quick"`
	Host            HostInfo       `json:"host"`
	Settings        map[string]any `json:"settings"`
	Rows            []*Row         `json:"rows"`
	// Passed is true when every row lost nothing, passed its checks and ran to its end.
	Passed bool `json:"passed"`
}

// judge sets Passed from the rows.
func (r *Results) judge() {
	r.Passed = len(r.Rows) > 0
	for _, row := range r.Rows {
		r.Passed = r.Passed && row.Passed()
	}
}

// tableHeader are the columns of the text table, after the scenario's name.
var tableHeader = []string{"submitted", "completed", "failed", "lost", "dup", "recover"}

// WriteTable prints the run as a table, one row per scenario, then per scenario
// its failures by code, checks and notes, and the verdict.
func WriteTable(w io.Writer, r *Results) error {
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	fmt.Fprintf(w, "\nhh-enrich-chaos (%s run, %.0f s): %d CPUs, load average %s before, %s after\n",
		mode, r.DurationSeconds, r.Host.CPUs, r.Host.LoadBefore, r.Host.LoadAfter)
	if _, err := fmt.Fprintln(w, formatRow("scenario", tableHeader)); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	for _, row := range r.Rows {
		fmt.Fprintln(w, formatRow(row.Scenario, rowCells(row)))
	}
	for _, row := range r.Rows {
		writeDetails(w, row)
	}
	fmt.Fprintln(w, verdict(r))
	return nil
}

// formatRow lays out a row: the name left-aligned, the figures right-aligned.
func formatRow(name string, cells []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-50s", name)
	for i, c := range cells {
		width := 9
		if i == len(cells)-1 {
			width = 10
		}
		fmt.Fprintf(&b, " %*s", width, c)
	}
	return strings.TrimRight(b.String(), " ")
}

// rowCells are a row's figures as the table shows them.
func rowCells(row *Row) []string {
	if row.Error != "" && row.Submitted == 0 {
		return []string{"error"}
	}
	return []string{strconv.Itoa(row.Submitted), strconv.Itoa(row.Completed), strconv.Itoa(row.Failed()),
		strconv.Itoa(row.Lost), figure(row.Duplicates), seconds(row.RecoverySeconds)}
}

// figure shows a count, or "-" when it was not measured.
func figure(n int) string {
	if n == notMeasured {
		return "-"
	}
	return strconv.Itoa(n)
}

// seconds shows a recovery time, or "-" when there is none.
func seconds(s float64) string {
	if s == notMeasured {
		return "-"
	}
	return strconv.FormatFloat(s, 'f', 2, 64) + " s"
}

func writeDetails(w io.Writer, row *Row) {
	fmt.Fprintf(w, "  %s:\n", row.Scenario)
	if row.Summary != "" {
		fmt.Fprintf(w, "    = %s\n", row.Summary)
	}
	if row.Error != "" {
		fmt.Fprintf(w, "    ERROR: %s\n", row.Error)
	}
	if len(row.FailedByCode) > 0 {
		fmt.Fprintf(w, "    failed by code: %s\n", formatCounts(row.FailedByCode))
	}
	if row.RecoveryBasis != "" {
		fmt.Fprintf(w, "    recover: %s\n", row.RecoveryBasis)
	}
	for _, c := range row.Checks {
		mark := "ok  "
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "    [%s] %s: %s\n", mark, c.Name, c.Detail)
	}
	for _, n := range row.Notes {
		fmt.Fprintf(w, "    - %s\n", n)
	}
}

// verdict is the last line: PASS, or what failed.
func verdict(r *Results) string {
	var problems []string
	for _, row := range r.Rows {
		switch {
		case row.Error != "":
			problems = append(problems, row.Scenario+": did not run to its end")
		case row.Lost > 0:
			problems = append(problems, fmt.Sprintf("%s: %d lost", row.Scenario, row.Lost))
		}
		if failed := row.FailedChecks(); len(failed) > 0 {
			problems = append(problems, row.Scenario+": "+strings.Join(failed, ", "))
		}
	}
	if len(problems) == 0 && len(r.Rows) > 0 {
		return fmt.Sprintf("PASS: %d rows, 0 lost, every check passed", len(r.Rows))
	}
	if len(r.Rows) == 0 {
		problems = append(problems, "no scenario ran")
	}
	return "FAIL: " + strings.Join(problems, "; ")
}

// WriteMarkdown writes the table as Markdown, as the README's Reliability
// section shows it: failures by code and notes in their own columns.
func WriteMarkdown(w io.Writer, r *Results) error {
	mode := "`make chaos`"
	if r.Quick {
		mode = "`make chaos CHAOS_FLAGS=--quick`"
	}
	fmt.Fprintf(w, "%s, %d CPUs, load average %s before and %s after, %.0f s in all.\n\n",
		mode, r.Host.CPUs, r.Host.LoadBefore, r.Host.LoadAfter, r.DurationSeconds)
	fmt.Fprintln(w, "| scenario | submitted | completed | failed (by code) | lost | duplicated side effects | time to recover | notes |")
	_, err := fmt.Fprintln(w, "|---|---:|---:|---|---:|---:|---|---|")
	for _, row := range r.Rows {
		cells := rowCells(row)
		failed := cells[0]
		if len(cells) > 2 {
			failed = cells[2]
			if len(row.FailedByCode) > 0 {
				failed += " (" + formatCounts(row.FailedByCode) + ")"
			}
		}
		recovery := seconds(row.RecoverySeconds)
		if row.RecoveryBasis != "" && row.RecoverySeconds != notMeasured {
			recovery += " (" + row.RecoveryBasis + ")"
		}
		var notes []string
		if row.Error != "" {
			notes = append(notes, "**ERROR: "+row.Error+"**")
		}
		if failedChecks := row.FailedChecks(); len(failedChecks) > 0 {
			notes = append(notes, "**FAILED: "+strings.Join(failedChecks, ", ")+"**")
		}
		// A summary is written for a clean row; a row that is not gets every note.
		if row.Summary != "" && row.Passed() {
			notes = append(notes, row.Summary)
		} else {
			notes = append(notes, row.Notes...)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %d | %s | %s | %s |\n", row.Scenario, row.Submitted, row.Completed,
			failed, row.Lost, figure(row.Duplicates), recovery, markdownCell(strings.Join(notes, "; ")))
	}
	if err != nil {
		return fmt.Errorf("writing the markdown table: %w", err)
	}
	fmt.Fprintf(w, "\n%s\n", verdict(r))
	return nil
}

// markdownCell keeps a note inside its table cell.
func markdownCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// WriteJSON writes r to path, creating its folder.
func (r *Results) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}
