package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRowAccount(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	outcomes := []Outcome{
		{Entity: "t/a", Status: "completed", Attempts: 1, EndedAt: at},
		{Entity: "t/b", Status: "failed", ErrorCode: "python_timeout", Attempts: 3, EndedAt: at},
		{Entity: "t/c", Status: "failed", Attempts: 1, EndedAt: at},
		{Entity: "t/d", Status: "processing"},
		{Entity: "t/e", Missing: true},
		{Entity: "t/f", Status: "unreadable: connection refused"},
	}
	t.Run("CountsCompletedFailedByCodeAndLost", func(t *testing.T) {
		t.Parallel()
		row := newRow("s")
		row.account(outcomes)
		want := map[string]int{"python_timeout": 1, "no_code": 1}
		if row.Submitted != 6 || row.Completed != 1 || row.Lost != 3 || row.Failed() != 2 {
			t.Errorf("submitted %d completed %d lost %d failed %d; want 6 1 3 2", row.Submitted, row.Completed, row.Lost, row.Failed())
		}
		if diff := cmp.Diff(want, row.FailedByCode); diff != "" {
			t.Errorf("failed by code (-want +got):\n%s", diff)
		}
	})
	t.Run("AnyLostJobMakesTheRowNotClean", func(t *testing.T) {
		t.Parallel()
		row := newRow("s")
		row.account(outcomes)
		if row.Passed() {
			t.Error("a row with lost jobs passed")
		}
		row.account(outcomes[:3])
		if !row.Passed() {
			t.Errorf("a row with failed but no lost jobs did not pass: %+v", row)
		}
	})
	t.Run("AFailedCheckOrAnErrorMakesTheRowNotClean", func(t *testing.T) {
		t.Parallel()
		row := newRow("s")
		row.check("fine", true, "ok")
		if !row.Passed() {
			t.Fatal("a passed check failed the row")
		}
		row.check("broken", false, "saw %d", 3)
		if row.Passed() || len(row.FailedChecks()) != 1 || row.Checks[1].Detail != "saw 3" {
			t.Errorf("row %+v", row)
		}
		errored := newRow("e").fail(errTest)
		if errored.Passed() {
			t.Error("a row that did not run passed")
		}
	})
}

var errTest = errorString("boom")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestDuplicateUpserts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		outcomes           []Outcome
		upserts            map[string]int
		extra, unexplained int
	}{
		{"OnePerJobIsNoDuplicate", []Outcome{{Entity: "a", Attempts: 1}, {Entity: "b", Attempts: 1}},
			map[string]int{"a": 1, "b": 1}, 0, 0},
		{"ASecondUpsertOfAReRunJobIsExplained", []Outcome{{Entity: "a", Attempts: 2}},
			map[string]int{"a": 2}, 1, 0},
		{"ASecondUpsertOfAJobThatRanOnceIsNot", []Outcome{{Entity: "a", Attempts: 1}},
			map[string]int{"a": 2}, 1, 1},
		{"MoreUpsertsThanAttemptsCountTheRest", []Outcome{{Entity: "a", Attempts: 2}},
			map[string]int{"a": 5}, 4, 3},
		{"NoUpsertIsNoDuplicate", []Outcome{{Entity: "a", Attempts: 0}}, map[string]int{}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			extra, unexplained := duplicateUpserts(tt.outcomes, tt.upserts)
			if extra != tt.extra || unexplained != tt.unexplained {
				t.Errorf("got %d extra, %d unexplained; want %d, %d", extra, unexplained, tt.extra, tt.unexplained)
			}
		})
	}
}

func TestRecoveryMoments(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	outcomes := []Outcome{
		{Status: "completed", EndedAt: sec(1)},
		{Status: "completed", EndedAt: sec(5), EmbeddingUpserted: true},
		{Status: "completed", EndedAt: sec(3)},
		{Status: "failed", EndedAt: sec(2), Attempts: 3},
		{Status: "completed", EndedAt: sec(9), Attempts: 2},
	}
	t.Run("FirstCompletionAfterSkipsEarlierAndFailedJobs", func(t *testing.T) {
		t.Parallel()
		got, ok := firstCompletionAfter(outcomes, sec(1.5), nil)
		if !ok || !got.Equal(sec(3)) {
			t.Errorf("got %v %v, want 3 s", got.Sub(t0), ok)
		}
		got, ok = firstCompletionAfter(outcomes, sec(1.5), func(o Outcome) bool { return o.EmbeddingUpserted })
		if !ok || !got.Equal(sec(5)) {
			t.Errorf("with a match: got %v %v, want 5 s", got.Sub(t0), ok)
		}
		if _, ok := firstCompletionAfter(outcomes, sec(10), nil); ok {
			t.Error("found a completion after the last one")
		}
	})
	t.Run("LastEndOfTheMatchingJobs", func(t *testing.T) {
		t.Parallel()
		got, ok := lastEnd(outcomes, func(o Outcome) bool { return o.Attempts > 1 })
		if !ok || !got.Equal(sec(9)) {
			t.Errorf("got %v %v, want 9 s", got.Sub(t0), ok)
		}
	})
	t.Run("RecoveredNeverGoesNegative", func(t *testing.T) {
		t.Parallel()
		row := newRow("s")
		row.recovered(sec(2), sec(1), "basis")
		if row.RecoverySeconds != 0 || row.RecoveryBasis != "basis" {
			t.Errorf("got %v %q", row.RecoverySeconds, row.RecoveryBasis)
		}
		row.recovered(sec(2), sec(3.456), "basis")
		if row.RecoverySeconds != 1.46 {
			t.Errorf("got %v, want 1.46", row.RecoverySeconds)
		}
	})
}

func TestTallyChecks(t *testing.T) {
	t.Parallel()
	row := newRow("security")
	row.check("a", true, "")
	row.check("b", false, "")
	row.check("c", true, "")
	row.tallyChecks()
	if row.Submitted != 3 || row.Completed != 2 || row.FailedByCode["b"] != 1 || row.Failed() != 1 {
		t.Errorf("row %+v", row)
	}
}

func TestFormatCounts(t *testing.T) {
	t.Parallel()
	if got := formatCounts(map[string]int{"b": 1, "a": 1, "c": 5}); got != "c 5, a 1, b 1" {
		t.Errorf("got %q: want the largest first, then by name", got)
	}
	if got := formatCounts(nil); got != "" {
		t.Errorf("got %q for nothing", got)
	}
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}
