package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestUsageTallySumsTokensCostAndCacheHits(t *testing.T) {
	t.Parallel()
	var u usageTally
	u.add(json.RawMessage(`{"cacheHit":false,"tokenUsage":{"promptTokens":900,"completionTokens":400,"totalTokens":1300,"cost":0.0017}}`))
	u.add(json.RawMessage(`{"cacheHit":true,"tokenUsage":{"promptTokens":0,"completionTokens":0,"totalTokens":0}}`))
	u.add(nil) // a result not read
	got := u.summary()
	for _, want := range []string{"tokens: 1300 (prompt 900, completion 400) over 2 completed jobs", "650 per job",
		"1 from the result cache", "cost 0.0017"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
	if s := (&usageTally{}).summary(); s != "" {
		t.Errorf("a rules run's (or one without --results=full) summary = %q, want none", s)
	}
}
