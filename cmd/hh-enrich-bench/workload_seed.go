package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// seedOutcome is one job of the seed client workload.
type seedOutcome struct {
	id      string
	status  string // completed, failed, or "error" when the client gave up
	latency time.Duration
	err     error
}

// runSeed replays the seed's benchmark client (REFERENCE §9): Concurrency clients
// each submit a job with "async": true, then poll its status until it is completed
// or failed. Latency runs from the end of the submit to the terminal status, as
// the seed measured it; polling every -poll adds up to that much to each job.
func (b *bench) runSeed(ctx context.Context) *ModeResult {
	res := newMode(ModeSeed, fmt.Sprintf("%d jobs, %d clients: async submit, then poll every %s", b.cfg.Jobs, b.cfg.Concurrency, b.cfg.Poll))
	bar := newBar(b.bars, b.cfg.Jobs, "seed client")
	outcomes := make([]seedOutcome, b.cfg.Jobs)
	start := time.Now()
	forEachParallel(b.cfg.Jobs, b.cfg.Concurrency, func(i int) {
		outcomes[i] = b.seedJob(ctx, i)
		_ = bar.Add(1)
	})
	elapsed := time.Since(start)
	_ = bar.Finish()
	var latencies []time.Duration
	for _, o := range outcomes {
		res.Jobs++
		if o.status == "completed" {
			res.Completed++
			latencies = append(latencies, o.latency)
		} else {
			res.Failed++
		}
	}
	res.LatencyBasis = "end of submit → terminal status seen by polling"
	res.finish(elapsed, latencies)
	writeSeedSummary(b.out, outcomes, res, b.embeds.report(0), b.cfg.Verbose)
	return res
}

// seedJob submits job i and polls it to the end.
func (b *bench) seedJob(ctx context.Context, i int) seedOutcome {
	cand := b.cands[i%len(b.cands)]
	id := fmt.Sprintf("bench-%s-%d", b.runID, i)
	job, _, err := b.client.Submit(ctx, cand.Tenant, localstack.SubmitBody{CandidateID: id, Payload: cand.Doc})
	if err != nil {
		return seedOutcome{id: id, status: "error", err: err}
	}
	submitted := time.Now()
	job, err = b.pollUntilTerminal(ctx, cand.Tenant, job)
	if err != nil {
		return seedOutcome{id: id, status: "error", err: err}
	}
	b.embeds.observe(job)
	return seedOutcome{id: job.JobID, status: job.Status, latency: time.Since(submitted)}
}

// pollUntilTerminal reads the job every -poll until it is completed or failed, or
// ctx ends.
func (b *bench) pollUntilTerminal(ctx context.Context, tenant string, job *localstack.Job) (*localstack.Job, error) {
	ticker := time.NewTicker(b.cfg.Poll)
	defer ticker.Stop()
	for !job.Terminal() {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("job %s still %s: %w", job.JobID, job.Status, ctx.Err())
		case <-ticker.C:
		}
		fresh, err := b.client.Status(ctx, tenant, job.JobID)
		if err != nil {
			return nil, err
		}
		job = fresh
	}
	return job, nil
}

// writeSeedSummary prints the seed script's summary lines (REFERENCE §9), with a
// line per job first when verbose, as the seed did.
func writeSeedSummary(w io.Writer, outcomes []seedOutcome, res *ModeResult, emb EmbeddingReport, verbose bool) {
	if verbose {
		for _, o := range outcomes {
			fmt.Fprintf(w, "Job %s %s in %.0fms\n", o.id, o.status, ms(o.latency))
		}
	}
	fmt.Fprintln(w, "=== Benchmark Summary ===")
	fmt.Fprintf(w, "Jobs attempted: %d\n", res.Jobs)
	fmt.Fprintf(w, "Jobs completed: %d\n", res.Completed)
	fmt.Fprintf(w, "Jobs failed: %d\n", res.Failed)
	fmt.Fprintf(w, "Embedding success rate: %d/%d%s\n", emb.Upserted, emb.Seen, embeddingNote(emb))
	lat := res.LatencyMs
	if lat == nil {
		lat = &LatencySummary{}
	}
	fmt.Fprintf(w, "Average latency: %.2fms\n", lat.Avg)
	fmt.Fprintf(w, "p50 latency: %.2fms\n", lat.P50)
	fmt.Fprintf(w, "p95 latency: %.2fms\n", lat.P95)
	fmt.Fprintf(w, "p99 latency: %.2fms\n", lat.P99)
	var errs []string
	for _, o := range outcomes {
		if o.err != nil {
			errs = append(errs, o.err.Error())
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "Errors (%d):\n", len(errs))
		for _, e := range errs[:min(len(errs), 10)] {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

// embeddingNote explains a 0/N embedding rate.
func embeddingNote(emb EmbeddingReport) string {
	switch emb.Status {
	case "disabled":
		return " (embedding: disabled — every job reports embedding_disabled)"
	case "failing":
		return fmt.Sprintf(" (skips: %v)", emb.SkipReasons)
	}
	return ""
}
