package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// Embed settings of the embed scenarios: a short timeout so "slow" is cheap to
// show, and the shortest breaker reset the service accepts (default 120 s), so
// the breaker closes again within the run.
const (
	embedTimeout    = 500 * time.Millisecond
	embedSlow       = 1500 * time.Millisecond
	embedBreakReset = 5 * time.Second
)

// embedFault is one way hh-embed-svc breaks, and how it heals.
type embedFault struct {
	key, name    string
	inject, heal func(*localstack.EmbedServer) error
}

var embedFaults = []embedFault{
	{"embed-down", "embed down (listener closed)",
		(*localstack.EmbedServer).Down, (*localstack.EmbedServer).Up},
	{"embed-5xx", "embed 500 storm",
		func(e *localstack.EmbedServer) error {
			e.SetFault(localstack.EmbedFault{Status: http.StatusInternalServerError})
			return nil
		},
		healEmbed},
	{"embed-slow", fmt.Sprintf("embed slow (%s > %s timeout)", embedSlow, embedTimeout),
		func(e *localstack.EmbedServer) error {
			e.SetFault(localstack.EmbedFault{Latency: embedSlow})
			return nil
		},
		healEmbed},
}

func healEmbed(e *localstack.EmbedServer) error { e.SetFault(localstack.EmbedFault{}); return nil }

// runEmbedFaults breaks hh-embed-svc three ways under a steady load. An embed
// failure never fails a job: it completes with embeddingUpserted=false, the
// breaker opens and jobs skip the embed step until it closes again.
func runEmbedFaults(ctx context.Context, h *harness) []*Row {
	var rows []*Row
	for _, f := range embedFaults {
		if ctx.Err() != nil {
			break
		}
		rows = append(rows, h.embedFault(ctx, f))
	}
	return rows
}

func (h *harness) embedFault(ctx context.Context, f embedFault) *Row {
	p := h.sizes.Embed
	row := newRow(fmt.Sprintf("%s, %.0f jobs/s", f.name, p.Rate))
	stack, err := h.startStack(ctx, f.key, stackOpts{env: []string{
		fmt.Sprintf("ENRICH_EMBED_TIMEOUT_MS=%d", embedTimeout.Milliseconds()),
		fmt.Sprintf("ENRICH_EMBED_CB_RESET_MS=%d", embedBreakReset.Milliseconds()),
	}})
	if err != nil {
		return row.fail(err)
	}
	defer h.closeStack(f.key, stack, row)
	load := h.newLoad(f.key, stack.URL)
	defer load.close()
	start, end, err := h.faultUnderLoad(ctx, load, p, func() error { return f.inject(stack.Embed) },
		func() error { return f.heal(stack.Embed) })
	if err != nil {
		return row.fail(err)
	}
	row.note("fault for %.1f s under %.0f submits/s; embed timeout %s, breaker reset %s (default 120 s)",
		end.Sub(start).Seconds(), p.Rate, embedTimeout, embedBreakReset)
	outcomes, _ := load.finish(ctx, row, end.Add(h.sizes.Deadline), stack.Embed)
	upserted := func(o Outcome) bool { return o.EmbeddingUpserted }
	if t, ok := firstCompletionAfter(outcomes, end, upserted); ok {
		row.recovered(end, t, "fault end → first job with embeddingUpserted=true")
	}
	outcomesByEmbed := countBy(outcomes, func(o Outcome) string { return o.EmbedOutcome })
	row.check("embed_failures_never_fail_a_job", row.Failed() == 0 && row.Completed == row.Submitted,
		"%d of %d jobs completed", row.Completed, row.Submitted)
	row.check("fault_seen_as_embedding_upserted_false", row.Completed-outcomesByEmbed["upserted"] > 0,
		"%d completed jobs without an embedding", row.Completed-outcomesByEmbed["upserted"])
	slowest := 0.0
	for _, o := range outcomes {
		slowest = max(slowest, o.EmbedSeconds)
	}
	row.note("embed outcome of completed jobs: %s; embed server: %d requests, %d upserts; slowest embed step %.2f s",
		formatCounts(outcomesByEmbed), stack.Embed.Requests(), stack.Embed.Upserts(), slowest)
	row.summarize("%.0f s fault; completed jobs: %s; breaker reset %s (default 120 s); slowest embed step %.2f s",
		end.Sub(start).Seconds(), formatCounts(outcomesByEmbed), embedBreakReset, slowest)
	return row
}

// faultUnderLoad submits at p.Rate for p.Before, injects the fault, keeps
// submitting for p.Fault, heals it, and submits for p.After more; it returns
// once every submit was answered, with when the fault started and ended.
func (h *harness) faultUnderLoad(ctx context.Context, load *loadGen, p Phases, inject, heal func() error) (start, end time.Time, err error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		load.steady(ctx, p.Rate, time.Hour, stop) // bounded by stop, closed below on every path
	}()
	defer func() { close(stop); <-done }()
	pause(ctx, p.Before)
	start = time.Now()
	if err := inject(); err != nil {
		return start, start, fmt.Errorf("injecting the fault: %w", err)
	}
	pause(ctx, p.Fault)
	if err := heal(); err != nil {
		return start, time.Now(), fmt.Errorf("healing the fault: %w", err)
	}
	end = time.Now()
	pause(ctx, p.After)
	return start, end, ctx.Err()
}

// Bounds of the LLM calls one job may make: the plugin tries a call
// 1 + TOGETHER_AI_MAX_RETRIES times (default 1 retry), and the host runs an
// attempt 1 + ENRICH_JOB_RETRY_LIMIT times (default 2 retries).
const (
	togetherTriesPerCall = 2
	attemptsPerJob       = 3
	togetherRetryAfter   = 1 // seconds
	togetherConcurrency  = 8 // ENRICH_PLUGIN_CONCURRENCY for an LLM-bound enricher
)

// runTogetherStorm runs the plugins on the Together enricher against a fake
// Together AI that answers 429 with Retry-After for a while: retries must stay
// within their bounds, no job may be lost, and completions resume after it.
func runTogetherStorm(ctx context.Context, h *harness) []*Row {
	p := h.sizes.Together
	row := newRow(fmt.Sprintf("Together 429 storm, Retry-After %d s, %.0f/s", togetherRetryAfter, p.Rate))
	fake, err := localstack.StartFakeTogether(ctx, h.cfg.PythonBin, h.cfg.RepoRoot)
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer func() {
		if err := fake.Close(); err != nil {
			row.note("stopping the fake Together: %v", err)
		}
	}()
	apiKey := randomToken("together")
	h.addSecret(apiKey)
	stack, err := h.startStack(ctx, ScenarioTogether, stackOpts{env: []string{
		"TOGETHER_API_KEY=" + apiKey, "TOGETHER_AI_BASE_URL=" + fake.BaseURL,
		fmt.Sprintf("ENRICH_PLUGIN_CONCURRENCY=%d", togetherConcurrency),
		fmt.Sprintf("ENRICH_JOB_CIRCUIT_COOLDOWN_MS=%d", h.sizes.CircuitCooldown.Milliseconds()),
	}})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioTogether, stack, row)
	load := h.newLoad(ScenarioTogether, stack.URL)
	defer load.close()
	start, end, err := h.faultUnderLoad(ctx, load, p,
		func() error { return fake.Storm(ctx, p.Fault, togetherRetryAfter) }, func() error { return nil })
	if err != nil {
		return []*Row{row.fail(err)}
	}
	outcomes, _ := load.finish(ctx, row, end.Add(h.sizes.Deadline), stack.Embed)
	if t, ok := firstCompletionAfter(outcomes, end, nil); ok {
		row.recovered(end, t, "storm end → first completion after it")
	}
	st, err := fake.Stats(ctx)
	if err != nil {
		return []*Row{row.fail(err)}
	}
	bound := togetherTriesPerCall * attemptsPerJob * row.Submitted
	row.check("llm_calls_bounded", st.Requests <= bound,
		"%d chat completions for %d jobs (%.2f a job; at most %d a job)", st.Requests, row.Submitted,
		float64(st.Requests)/float64(max(1, row.Submitted)), togetherTriesPerCall*attemptsPerJob)
	row.note("storm %.1f s: %d answers 429, %d answers 200; pool breaker cooldown %s (default 120 s); plugin concurrency %d",
		end.Sub(start).Seconds(), st.RateLimited, st.OK, h.sizes.CircuitCooldown, togetherConcurrency)
	row.summarize("%.0f s of 429s (%d answered): %d chat calls for %d jobs, at most %d a job allowed; %d jobs retried by the host",
		end.Sub(start).Seconds(), st.RateLimited, st.Requests, row.Submitted, togetherTriesPerCall*attemptsPerJob,
		countReRuns(outcomes))
	if note := h.restartsNote(ctx, stack.URL); note != "" {
		row.note("%s", note)
	}
	return []*Row{row}
}

// runFirestoreOutage kills the Firestore emulator under a steady load and starts
// it again on the same port (empty: the emulator keeps nothing), with Firestore
// on in the service: jobs that meet the outage retry and may fail with
// firestore_unavailable, none may be lost, and the documents written after it
// must match their jobs.
func runFirestoreOutage(ctx context.Context, h *harness) []*Row {
	p := h.sizes.Firestore
	row := newRow(fmt.Sprintf("Firestore emulator stop + start, %.0f jobs/s", p.Rate))
	emu, err := localstack.StartFirestoreEmulator(ctx)
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer emu.Close()
	if err := h.seedTenants(ctx, emu); err != nil {
		return []*Row{row.fail(err)}
	}
	stack, err := h.startStack(ctx, ScenarioFirestore, stackOpts{firestore: emu.Host})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioFirestore, stack, row)
	load := h.newLoad(ScenarioFirestore, stack.URL)
	defer load.close()
	var back time.Time
	start, end, err := h.faultUnderLoad(ctx, load, p, func() error { emu.Kill(); return nil }, func() error {
		if err := emu.Restart(ctx); err != nil {
			return err
		}
		back = time.Now()
		return h.seedTenants(ctx, emu)
	})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	row.note("emulator down %.1f s (killed, then started on the same port: %.1f s of it the restart)",
		back.Sub(start).Seconds(), back.Sub(start.Add(p.Fault)).Seconds())
	outcomes, records := load.finish(ctx, row, end.Add(h.sizes.Deadline), stack.Embed)
	if t, ok := firstCompletionAfter(outcomes, back, nil); ok {
		row.recovered(back, t, "emulator back → first completion after it")
	}
	checked := h.checkDocuments(ctx, row, emu, outcomes, records, back)
	row.summarize("emulator down %.1f s, empty when back; %d jobs retried; the %d documents written since match their "+
		"jobs (enriched_at = processing_metadata.processed_at = the job's)", back.Sub(start).Seconds(), countReRuns(outcomes), checked)
	return []*Row{row}
}

// seedTenants writes organizations/{tenant} for every tenant of the data set:
// with Firestore on, the API serves only tenants it finds there.
func (h *harness) seedTenants(ctx context.Context, emu *localstack.FirestoreEmulator) error {
	var tenants []string
	for _, c := range h.cands {
		if !slices.Contains(tenants, c.Tenant) {
			tenants = append(tenants, c.Tenant)
		}
	}
	for _, t := range tenants {
		if err := emu.PutDocument(ctx, chaosProject, "organizations/"+t, map[string]any{"name": t, "status": "active"}); err != nil {
			return fmt.Errorf("seeding tenant %s: %w", t, err)
		}
	}
	return nil
}

// checkDocuments reads the candidate document of every job completed after the
// emulator came back (earlier ones went with its memory) and compares it with
// the job: a document another run wrote later counts as a duplicated side
// effect. It returns how many documents it read.
func (h *harness) checkDocuments(ctx context.Context, row *Row, emu *localstack.FirestoreEmulator,
	outcomes []Outcome, records []*localstack.Job, back time.Time) (checked int) {
	mismatched, missing := 0, 0
	var firstProblem string
	for i, o := range outcomes {
		job := records[i]
		if o.Status != "completed" || job == nil || job.Result == nil || o.EndedAt.Before(back) {
			continue
		}
		checked++
		doc, err := emu.GetDocument(ctx, chaosProject, "candidates/"+job.TenantID+"_"+job.CandidateID)
		if err != nil {
			missing++
			firstProblem = cmpFirst(firstProblem, err.Error())
			continue
		}
		if why := documentMismatch(doc, job.Result.CandidateSnapshot); why != "" {
			mismatched++
			firstProblem = cmpFirst(firstProblem, job.CandidateID+": "+why)
		}
	}
	row.Duplicates = max(row.Duplicates, 0) + mismatched
	row.check("documents_match_their_jobs", missing == 0 && mismatched == 0,
		"%d documents of jobs completed after the restart: %d missing, %d written by another run%s",
		checked, missing, mismatched, firstProblem)
	return checked
}

func cmpFirst(first, s string) string {
	if first != "" {
		return first
	}
	return " (first: " + s + ")"
}

// documentMismatch says how a candidate document differs from the snapshot its
// job recorded ("" when it matches): the enrichment must be enriched, stamped
// once (enriched_at = processing_metadata.processed_at) and stamped by this job.
func documentMismatch(doc map[string]any, snapshot json.RawMessage) string {
	var snap struct {
		EnrichedAt string `json:"enriched_at"`
	}
	if err := json.Unmarshal(snapshot, &snap); err != nil || snap.EnrichedAt == "" {
		return "the job's snapshot has no enriched_at"
	}
	meta, _ := doc["processing_metadata"].(map[string]any)
	switch {
	case doc["status"] != "enriched":
		return fmt.Sprintf("status %v", doc["status"])
	case meta == nil:
		return "no processing_metadata"
	case doc["enriched_at"] != meta["processed_at"]:
		return fmt.Sprintf("enriched_at %v but processed_at %v", doc["enriched_at"], meta["processed_at"])
	case doc["enriched_at"] != snap.EnrichedAt:
		return fmt.Sprintf("enriched_at %v, the job's %s", doc["enriched_at"], snap.EnrichedAt)
	}
	return ""
}
