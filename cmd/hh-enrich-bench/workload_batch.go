package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// runBatch submits BatchJobs candidates through POST /v1/enrich/batch in batches
// of BatchSize (one tenant per batch, spread over Tenants) from BatchClients
// goroutines, and times until the service's counters say every job ended. When
// the service has no batch route the result says so instead of failing the run.
func (b *bench) runBatch(ctx context.Context) *ModeResult {
	size := b.cfg.BatchSize
	batches := (b.cfg.BatchJobs + size - 1) / size
	n := batches * size
	res := newMode(ModeBatch, fmt.Sprintf("%d jobs via POST /v1/enrich/batch, %d per batch, %d tenants", n, size, b.cfg.Tenants))
	if !b.hasMetrics(ctx) {
		return res.unavailable("needs GET /metrics (hh_enrich_jobs_completed_total) to count completions")
	}
	base, err := baseline(ctx, b.metricsCounter)
	if err != nil {
		return res.fail(err)
	}
	start := time.Now()
	// The first batch alone: a service without the route answers it 404/405.
	first, err := b.submitBatch(ctx, 0)
	if errors.Is(err, localstack.ErrRouteMissing) {
		return res.unavailable("route missing: POST /v1/enrich/batch answers 404/405")
	}
	if err != nil {
		return res.fail(err)
	}
	fl := b.batchFlood(ctx, batches, newBar(b.bars, batches, "batch: submitted"))
	fl.sample = append(batchSample(first, 0, batches), fl.sample...)
	bar := newBar(b.bars, n-fl.rejected, "batch: ended    ")
	ended, err := waitForEnded(ctx, b.metricsCounter, base, n-fl.rejected, bar)
	_ = bar.Finish()
	res.Jobs, res.Completed, res.Failed = n, ended.Completed, ended.Failed+fl.rejected
	res.Extra["submitJobsPerSecond"] = round1(rate(n-fl.rejected, fl.done.Sub(start)))
	switch {
	case err != nil:
		res.fail(err)
	case fl.firstErr != nil:
		res.Note = fmt.Sprintf("%d jobs in refused batches, first: %v", fl.rejected, fl.firstErr)
	default:
		res.Note = b.checkBatchStatus(ctx, first, size)
	}
	res.LatencyBasis = "server side, createdAt → updatedAt of a sample (queueing in a flood included)"
	lat, phases := b.readBack(ctx, fl.sample)
	res.PhasesMs = phases
	return res.finish(ended.At.Sub(start), lat)
}

// batchFlood submits batches 1..batches-1 from BatchClients goroutines.
func (b *bench) batchFlood(ctx context.Context, batches int, bar progress) floodResult {
	_ = bar.Add(1) // batch 0 went first
	var (
		mu   sync.Mutex
		res  floodResult
		next atomic.Int64
		wg   sync.WaitGroup
	)
	next.Store(1)
	for range b.cfg.BatchClients {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < batches && ctx.Err() == nil; k = int(next.Add(1) - 1) {
				batch, err := b.submitBatch(ctx, k)
				_ = bar.Add(1)
				mu.Lock()
				if err != nil {
					res.rejected += b.cfg.BatchSize
					res.firstErr = cmp.Or(res.firstErr, err)
				} else {
					res.sample = append(res.sample, batchSample(batch, k, batches)...)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.done = time.Now()
	_ = bar.Finish()
	return res
}

// submitBatch posts batch k: candidates k·size … (k+1)·size−1, for one tenant.
func (b *bench) submitBatch(ctx context.Context, k int) (*localstack.Batch, error) {
	size := b.cfg.BatchSize
	body := localstack.BatchBody{Candidates: make([]localstack.BatchCandidate, size)}
	for j := range size {
		i := k*size + j
		cand := b.cands[i%len(b.cands)]
		body.Candidates[j] = localstack.BatchCandidate{CandidateID: fmt.Sprintf("batch-%s-%d", b.runID, i), Payload: cand.Doc}
	}
	tenant := fmt.Sprintf("bench-t%03d", k%b.cfg.Tenants)
	batch, err := b.client.SubmitBatch(ctx, tenant, body)
	if err != nil {
		return nil, err
	}
	for i := range batch.Jobs {
		batch.Jobs[i].TenantID = cmp.Or(batch.Jobs[i].TenantID, tenant)
	}
	return batch, nil
}

// batchSample picks the jobs of batch k that belong to the run's sample of about
// sampleSize jobs.
func batchSample(batch *localstack.Batch, k, batches int) []submitted {
	perBatch := max(1, sampleSize/batches)
	var out []submitted
	for i := 0; i < len(batch.Jobs) && len(out) < perBatch; i += max(1, len(batch.Jobs)/perBatch) {
		j := batch.Jobs[i]
		out = append(out, submitted{tenant: j.TenantID, jobID: j.JobID})
	}
	return out
}

// checkBatchStatus reads the first batch back through GET /v1/enrich/batch/:id and
// says what it found, for the result's note.
func (b *bench) checkBatchStatus(ctx context.Context, first *localstack.Batch, size int) string {
	if first.BatchID == "" || len(first.Jobs) == 0 {
		return "the batch answer had no batchId or jobs"
	}
	got, err := b.client.BatchStatus(ctx, first.Jobs[0].TenantID, first.BatchID)
	switch {
	case errors.Is(err, localstack.ErrRouteMissing):
		return "GET /v1/enrich/batch/:batchId is missing"
	case err != nil:
		return "GET batch: " + err.Error()
	}
	if done := got.Counts["completed"] + got.Counts["failed"]; done != size {
		return fmt.Sprintf("GET batch counts %v, want %d ended", got.Counts, size)
	}
	return ""
}
