package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// badAnswerKinds are the ways the fake model answers a marked candidate
// (fake_together.MARKED_REPLIES): each must fail its job, never be stored.
var badAnswerKinds = []string{"truncated", "template_echo", "score_85", "score_word", "injected_tags", "rejected", "too_large"}

// badAnswerCodes are the codes such a job may fail with.
var badAnswerCodes = map[string]bool{"upstream_bad_output": true, "upstream_rejected_input": true}

// badAnswerKind is what the fake model does with the i-th job: "" answers well.
// Six jobs of every ten are marked, in a row and with the same kind, so that a
// breaker counting a candidate's own failures (3 in a row for a process, 5 for
// the pool by default) would open.
func badAnswerKind(i int) string {
	if i%10 >= 6 {
		return ""
	}
	return badAnswerKinds[(i/10)%len(badAnswerKinds)]
}

// markedPayload is the candidate's document with the fake model's marker for
// the i-th job at the end of its resume.
func markedPayload(i int, c localstack.Candidate) json.RawMessage {
	kind := badAnswerKind(i)
	if kind == "" {
		return c.Doc
	}
	var doc map[string]any
	if err := json.Unmarshal(c.Doc, &doc); err != nil {
		return c.Doc
	}
	resume, _ := doc["resume_text"].(string)
	doc["resume_text"] = strings.TrimSpace(resume + " [[fake:" + kind + "]]")
	raw, err := json.Marshal(doc)
	if err != nil {
		return c.Doc
	}
	return raw
}

// runTogetherBadAnswers runs the plugins on the Together enricher against a fake
// model that answers six candidates of every ten badly: 0 of those answers may be
// stored, 0 healthy jobs may fail, and no breaker may open for a candidate's own
// error.
func runTogetherBadAnswers(ctx context.Context, h *harness) []*Row {
	p := h.sizes.Together
	row := newRow(fmt.Sprintf("Together answers badly (6 of 10 candidates), %.0f/s", p.Rate))
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
	stack, err := h.startStack(ctx, ScenarioBadAnswers, stackOpts{env: []string{
		"TOGETHER_API_KEY=" + apiKey, "TOGETHER_AI_BASE_URL=" + fake.BaseURL,
		fmt.Sprintf("ENRICH_PLUGIN_CONCURRENCY=%d", togetherConcurrency),
	}})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioBadAnswers, stack, row)
	load := h.newLoad(ScenarioBadAnswers, stack.URL)
	load.payload = markedPayload
	defer load.close()
	load.steady(ctx, p.Rate, p.Before+p.Fault+p.After, nil)
	outcomes, records := load.finish(ctx, row, time.Now().Add(h.sizes.Deadline), stack.Embed)
	checkBadAnswers(row, outcomes, records)
	st, err := fake.Stats(ctx)
	if err != nil {
		return []*Row{row.fail(err)}
	}
	row.check("llm_calls_bounded", st.Requests <= 2*row.Submitted,
		"%d chat completions for %d jobs (%.2f a job; at most 2: one more try for a cut or refused answer, none for a 400)",
		st.Requests, row.Submitted, float64(st.Requests)/float64(max(1, row.Submitted)))
	checkNoBreakerOpened(ctx, h, row, stack)
	row.summarize("%d bad answers given (%d good): 0 stored, healthy jobs all completed, no breaker opened; %d chat calls for %d jobs",
		st.Misbehaved, st.OK, st.Requests, row.Submitted)
	return []*Row{row}
}

// checkBadAnswers checks that every marked job failed with a bad-output code,
// every healthy one completed (or had nothing to enrich), and no completed job's
// enrichment holds what validation refuses.
func checkBadAnswers(row *Row, outcomes []Outcome, records []*localstack.Job) {
	var markedStored, markedOtherCode, healthyFailed, garbage int
	for k, o := range outcomes {
		i, ok := jobIndex(o.Entity)
		if !ok {
			continue
		}
		marked := badAnswerKind(i) != ""
		switch {
		case marked && o.Status == "completed":
			markedStored++
		case marked && o.Status == "failed" && !badAnswerCodes[o.ErrorCode]:
			markedOtherCode++
		case !marked && o.Status == "failed" && o.ErrorCode != "invalid_candidate":
			healthyFailed++
		}
		if o.Status == "completed" && records[k] != nil && records[k].Result != nil {
			if problem := garbageIn(records[k].Result.CandidateSnapshot); problem != "" {
				garbage++
				row.note("job %s stored garbage: %s", o.Entity, problem)
			}
		}
	}
	row.check("no_bad_answer_stored", markedStored == 0 && garbage == 0,
		"%d badly answered jobs completed; %d completed enrichments hold a template value, markup or a score outside [0, 1]",
		markedStored, garbage)
	row.check("bad_answers_fail_as_such", markedOtherCode == 0,
		"%d badly answered jobs failed with a code other than upstream_bad_output / upstream_rejected_input", markedOtherCode)
	row.check("healthy_jobs_complete", healthyFailed == 0,
		"%d jobs answered well failed (invalid_candidate, a candidate with no text, excepted)", healthyFailed)
}

// jobIndex is the load's index of a job from its entity "tenant/chaos-…-<i>".
func jobIndex(entity string) (int, bool) {
	i, err := strconv.Atoi(entity[strings.LastIndex(entity, "-")+1:])
	return i, err == nil
}

// garbageIn says what in a stored candidate snapshot no validated answer can hold,
// "" when nothing.
func garbageIn(snapshot json.RawMessage) string {
	var doc struct {
		Score    any `json:"overall_score"`
		Analysis any `json:"resume_analysis"`
		Insights any `json:"recruiter_insights"`
	}
	if err := json.Unmarshal(snapshot, &doc); err != nil {
		return "unreadable snapshot: " + err.Error()
	}
	if score, ok := doc.Score.(float64); !ok || score < 0 || score > 1 {
		return fmt.Sprintf("overall_score %v", doc.Score)
	}
	for _, part := range []any{doc.Analysis, doc.Insights} {
		if bad := badString(part); bad != "" {
			return fmt.Sprintf("value %q", bad)
		}
	}
	return ""
}

// badString finds a string holding "|" (a template value), "<" (markup) or the
// template's "string" placeholder anywhere in v.
func badString(v any) string {
	switch v := v.(type) {
	case string:
		if strings.ContainsAny(v, "|<") || v == "string" {
			return v
		}
	case []any:
		for _, item := range v {
			if bad := badString(item); bad != "" {
				return bad
			}
		}
	case map[string]any:
		for _, item := range v {
			if bad := badString(item); bad != "" {
				return bad
			}
		}
	}
	return ""
}

// checkNoBreakerOpened checks the pool's verdicts: no process replaced for a
// breaker, and the pool-wide circuit never opened (the service logs each opening).
func checkNoBreakerOpened(ctx context.Context, h *harness, row *Row, stack *localstack.Stack) {
	st, err := h.adminPool(ctx, stack.URL)
	if err != nil {
		row.check("no_breaker_opened", false, "reading /admin/pool: %v", err)
		return
	}
	opened := 0
	for _, svc := range stack.Services {
		if raw, err := os.ReadFile(svc.LogPath); err == nil {
			opened += strings.Count(string(raw), "python circuit opened")
		}
	}
	restarts := formatCounts(st.Restarts)
	if restarts == "" {
		restarts = "none"
	}
	row.check("no_breaker_opened", st.Restarts["breaker_open"] == 0 && opened == 0 && st.Circuit == "closed",
		"process breaker replacements %d, pool circuit openings logged %d, circuit %s at the end; plugin restarts: %s",
		st.Restarts["breaker_open"], opened, st.Circuit, restarts)
}
