package metrics

import (
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLLMMetricsCountTokensAndCostByBoundedTenant(t *testing.T) {
	t.Parallel()
	m := New(Config{MaxTenants: 1, Logger: hclog.NewNullLogger()})
	l, err := NewLLMMetrics(m, Prices{PromptPerMillion: 2, CompletionPerMillion: 10})
	if err != nil {
		t.Fatal(err)
	}
	l.Used("a", 1_000_000, 100_000) // 2 + 1
	l.Used("b", 500_000, 0)         // a second tenant: "other" with MaxTenants 1
	if got := testutil.ToFloat64(l.cost.WithLabelValues("a")); got != 3 {
		t.Errorf("cost of a = %v, want 3", got)
	}
	if got := testutil.ToFloat64(l.tokens.WithLabelValues("other", "prompt")); got != 500_000 {
		t.Errorf("prompt tokens of other = %v, want 500000", got)
	}
	if got := testutil.ToFloat64(l.cache.WithLabelValues("miss")); got != 0 {
		t.Errorf("cache misses start at %v, want 0", got)
	}
	l.Deferred()
	if got := testutil.ToFloat64(l.deferred); got != 1 {
		t.Errorf("deferrals = %v, want 1", got)
	}
	var none *LLMMetrics
	none.Used("a", 1, 1) // safe on nil, like every recording method
	none.CacheLookup("hit")
	none.Deferred()
}
