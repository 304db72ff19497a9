package main

import (
	"maps"
	"sync"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// skipDisabled is the skip reason of a service whose embed step is off (or not wired).
const skipDisabled = "embedding_disabled"

// embedTally counts the embedding outcomes of the completed jobs the harness saw.
type embedTally struct {
	mu       sync.Mutex
	seen     int
	upserted int
	skips    map[string]int
}

// observe records a terminal job; jobs without a result (failed ones) are ignored.
func (t *embedTally) observe(j *localstack.Job) {
	if j == nil || j.Status != "completed" || j.Result == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seen++
	if j.Result.EmbeddingUpserted {
		t.upserted++
		return
	}
	if t.skips == nil {
		t.skips = map[string]int{}
	}
	reason := j.Result.EmbeddingSkippedReason
	if reason == "" {
		reason = "failed"
	}
	t.skips[reason]++
}

// report says what the jobs show; serverUpserts is what the local embed server
// answered (0 against -url).
func (t *embedTally) report(serverUpserts int64) EmbeddingReport {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := EmbeddingReport{Upserted: t.upserted, Seen: t.seen, SkipReasons: maps.Clone(t.skips), ServerUpserts: serverUpserts}
	switch {
	case t.seen == 0:
		r.Status = "unknown"
	case t.upserted > 0:
		r.Status = "enabled"
	case t.skips[skipDisabled] == t.seen:
		r.Status = "disabled"
	default:
		r.Status = "failing"
	}
	return r
}
