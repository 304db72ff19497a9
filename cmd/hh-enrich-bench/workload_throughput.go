package main

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// sampleSize is how many jobs of a flood are read back at the end for their
// latency, failures and embedding outcome.
const sampleSize = 200

// submitted is a job the harness created and may read back.
type submitted struct {
	tenant string
	jobID  string
}

// runThroughput floods the single-job route: ThroughputJobs async submits across
// Tenants tenants from Submitters goroutines, as fast as the service takes them,
// and times until the service's counters say every job ended. Jobs/s is what the
// whole path sustains (HTTP, Redis, the pool, the plugins, all on this machine).
func (b *bench) runThroughput(ctx context.Context) *ModeResult {
	n := b.cfg.ThroughputJobs
	res := newMode(ModeThroughput, fmt.Sprintf("%d async jobs via POST /v1/enrich/profile, %d tenants, %d submitters", n, b.cfg.Tenants, b.cfg.Submitters))
	if !b.hasMetrics(ctx) {
		return res.unavailable("needs GET /metrics (hh_enrich_jobs_completed_total) to count completions")
	}
	base, err := baseline(ctx, b.metricsCounter)
	if err != nil {
		return res.fail(err)
	}
	start := time.Now()
	fl := b.flood(ctx, n, newBar(b.bars, n, "throughput: submitted"))
	bar := newBar(b.bars, n-fl.rejected, "throughput: ended    ")
	ended, err := waitForEnded(ctx, b.metricsCounter, base, n-fl.rejected, bar)
	_ = bar.Finish()
	res.Jobs, res.Completed, res.Failed = n, ended.Completed, ended.Failed+fl.rejected
	res.Extra["submitJobsPerSecond"] = round1(rate(n-fl.rejected, fl.done.Sub(start)))
	res.Extra["rejectedSubmits"] = float64(fl.rejected)
	switch {
	case err != nil:
		res.fail(err)
	case fl.firstErr != nil:
		res.Note = fmt.Sprintf("%d submits refused, first: %v", fl.rejected, fl.firstErr)
	}
	res.LatencyBasis = "server side, createdAt → updatedAt of a sample (queueing in a flood included)"
	lat, phases := b.readBack(ctx, fl.sample)
	res.PhasesMs = phases
	return res.finish(ended.At.Sub(start), lat)
}

// floodResult is what a flood of submits left behind.
type floodResult struct {
	// sample is an evenly spread sample of the jobs created.
	sample []submitted
	// rejected submits failed; firstErr says why the first one did.
	rejected int
	firstErr error
	// done is when the last submit returned.
	done time.Time
}

// flood submits n jobs from Submitters goroutines, each taking the next index.
func (b *bench) flood(ctx context.Context, n int, bar progress) floodResult {
	every := max(1, n/sampleSize)
	var (
		mu   sync.Mutex
		res  floodResult
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range b.cfg.Submitters {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				cand := b.cands[i%len(b.cands)]
				tenant := tenantFor(cand, i, b.cfg.Tenants)
				body := localstack.SubmitBody{CandidateID: fmt.Sprintf("tp-%s-%d", b.runID, i), Payload: cand.Doc}
				job, _, err := b.client.Submit(ctx, tenant, body)
				_ = bar.Add(1)
				mu.Lock()
				switch {
				case err != nil:
					res.rejected++
					res.firstErr = cmp.Or(res.firstErr, err)
				case i%every == 0:
					res.sample = append(res.sample, submitted{tenant: tenant, jobID: job.JobID})
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

// readBack reads the sampled jobs and returns the latency of the completed ones,
// createdAt → updatedAt as the service recorded them, and their phases; it feeds
// the embedding tally.
func (b *bench) readBack(ctx context.Context, sample []submitted) ([]time.Duration, map[string]*LatencySummary) {
	var (
		lat    []time.Duration
		phases phaseLog
	)
	for _, s := range sample {
		job, err := b.client.Status(ctx, s.tenant, s.jobID)
		if err != nil {
			continue
		}
		b.embeds.observe(job)
		phases.add(job, 0)
		if d, ok := serverLatency(job); ok {
			lat = append(lat, d)
		}
	}
	return lat, phases.summaries()
}

// serverLatency is a completed job's createdAt → updatedAt.
func serverLatency(j *localstack.Job) (time.Duration, bool) {
	if j.Status != "completed" {
		return 0, false
	}
	created, err1 := time.Parse(time.RFC3339Nano, j.CreatedAt)
	updated, err2 := time.Parse(time.RFC3339Nano, j.UpdatedAt)
	if err1 != nil || err2 != nil || updated.Before(created) {
		return 0, false
	}
	return updated.Sub(created), true
}
