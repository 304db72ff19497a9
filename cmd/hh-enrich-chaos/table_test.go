package main

import (
	"strings"
	"testing"
)

func sampleResults() *Results {
	storm := newRow("plugin kill storm, 10 jobs")
	storm.Submitted, storm.Completed, storm.Duplicates = 10, 9, 0
	storm.FailedByCode = map[string]int{"python_crashed": 1}
	storm.recovered(parseTime("2026-01-01T00:00:00Z"), parseTime("2026-01-01T00:00:31.2Z"), "storm end → first completion after it")
	storm.note("6 SIGKILLs")
	storm.summarize("the storm in one line")
	sec := newRow("security: auth matrix")
	sec.check("no_token_401", true, "401")
	sec.check("expired_401", false, "200 | leaked")
	sec.tallyChecks()
	sec.summarize("everything was fine")
	r := &Results{Quick: true, DurationSeconds: 95, Host: HostInfo{CPUs: 2, LoadBefore: "1.0 0.5 0.2", LoadAfter: "2.0 1.0 0.5"},
		Rows: []*Row{storm, sec}}
	r.judge()
	return r
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := WriteTable(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"hh-enrich-chaos (quick run, 95 s): 2 CPUs, load average 1.0 0.5 0.2 before, 2.0 1.0 0.5 after",
		"plugin kill storm, 10 jobs                                10         9         1         0         0    31.20 s",
		"security: auth matrix                                      2         1         1         0         -          -",
		"    failed by code: python_crashed 1",
		"    recover: storm end → first completion after it",
		"    [FAIL] expired_401: 200 | leaked",
		"    - 6 SIGKILLs",
		"    = the storm in one line",
		"FAIL: security: auth matrix: expired_401",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := WriteMarkdown(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "everything was fine") {
		t.Errorf("a row that failed a check shows its summary:\n%s", out)
	}
	for _, want := range []string{
		"`make chaos CHAOS_FLAGS=--quick`, 2 CPUs, load average 1.0 0.5 0.2 before and 2.0 1.0 0.5 after, 95 s in all.",
		"| plugin kill storm, 10 jobs | 10 | 9 | 1 (python_crashed 1) | 0 | 0 | 31.20 s (storm end → first completion after it) | the storm in one line |",
		`| security: auth matrix | 2 | 1 | 1 (expired_401 1) | 0 | - | - | **FAILED: expired_401** |`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	clean := newRow("a")
	lost := newRow("b")
	lost.Lost = 2
	broken := newRow("c").fail(errTest)
	tests := []struct {
		name string
		rows []*Row
		want string
	}{
		{"PassWhenEveryRowIsClean", []*Row{clean}, "PASS: 1 rows, 0 lost, every check passed"},
		{"NamesLostJobs", []*Row{clean, lost}, "FAIL: b: 2 lost"},
		{"NamesScenariosThatDidNotRun", []*Row{broken}, "FAIL: c: did not run to its end"},
		{"FailsWithNoRow", nil, "FAIL: no scenario ran"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &Results{Rows: tt.rows}
			r.judge()
			if got := verdict(r); got != tt.want {
				t.Errorf("verdict %q, want %q", got, tt.want)
			}
			if r.Passed != strings.HasPrefix(tt.want, "PASS") {
				t.Errorf("Passed = %v", r.Passed)
			}
		})
	}
}
