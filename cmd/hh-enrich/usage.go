package main

import (
	"encoding/json"
	"fmt"
)

// usageTally sums what the LLM billed for a run's completed jobs, from their
// results (read only with --results=full: the batch listing carries no results).
type usageTally struct {
	jobs, cacheHits, withUsage int
	prompt, completion, total  int64
	cost                       float64
}

// add takes one completed job's result; nil (not read) counts nothing.
func (u *usageTally) add(result json.RawMessage) {
	if len(result) == 0 {
		return
	}
	var r struct {
		CacheHit   bool `json:"cacheHit"`
		TokenUsage *struct {
			PromptTokens     int64   `json:"promptTokens"`
			CompletionTokens int64   `json:"completionTokens"`
			TotalTokens      int64   `json:"totalTokens"`
			Cost             float64 `json:"cost"`
		} `json:"tokenUsage"`
	}
	if json.Unmarshal(result, &r) != nil {
		return
	}
	u.jobs++
	if r.CacheHit {
		u.cacheHits++
	}
	if t := r.TokenUsage; t != nil {
		u.withUsage++
		u.prompt, u.completion, u.total = u.prompt+t.PromptTokens, u.completion+t.CompletionTokens, u.total+t.TotalTokens
		u.cost += t.Cost
	}
}

// summary is the run's token line: "" when no job reported usage (the rules
// enricher, or results not read: --results=full reads them).
func (u *usageTally) summary() string {
	if u.withUsage == 0 {
		return ""
	}
	line := fmt.Sprintf("tokens: %d (prompt %d, completion %d) over %d completed jobs, %.0f per job; %d from the result cache (0 tokens)",
		u.total, u.prompt, u.completion, u.jobs, float64(u.total)/float64(max(1, u.jobs)), u.cacheHits)
	if u.cost > 0 {
		line += fmt.Sprintf("; cost %.4f at ENRICH_PRICE_*_PER_MTOK", u.cost)
	}
	return line
}
