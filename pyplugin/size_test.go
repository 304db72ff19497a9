package pyplugin

import (
	"slices"
	"strings"
	"testing"

	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

func TestSplitBatchKeepsOrderAndTheBudget(t *testing.T) {
	item := func(id string, kb int) *enrichv1.EnrichRequest {
		return &enrichv1.EnrichRequest{JobId: id, CandidateJson: []byte(strings.Repeat("x", kb<<10))}
	}
	items := []*enrichv1.EnrichRequest{
		item("a", 1500), item("b", 1500), item("c", 1500), // 4.4 MiB: c starts a run
		item("d", 5000),            // above the budget: alone
		item("e", 1), item("f", 1), // small ones share
	}
	var got [][]string
	for _, run := range SplitBatch(items) {
		var ids []string
		for _, it := range run {
			ids = append(ids, it.GetJobId())
		}
		got = append(got, ids)
	}
	want := [][]string{{"a", "b"}, {"c"}, {"d"}, {"e", "f"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("runs %v, want %v", got, want)
	}
	if runs := SplitBatch(nil); len(runs) != 0 {
		t.Errorf("no items made %d runs", len(runs))
	}
}
