package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// syncFallbackRate is the sync run's rate when no throughput was measured to halve.
const syncFallbackRate = 100

// maxSyncInFlight bounds the sync run's concurrent requests: far above what a
// healthy service at half its throughput holds, low enough that a stalled one
// cannot make the harness itself the problem.
const maxSyncInFlight = 512

// runSync drives "async": false requests at a fixed rate, open loop (see Schedule),
// for SyncSeconds, and records each request's latency from its due time to its
// answer. The rate is SyncRate, or half of the throughput run's jobs/s.
func (b *bench) runSync(ctx context.Context, maxRate float64) *ModeResult {
	r, why := b.cfg.SyncRate, "given by -sync-rate"
	switch {
	case r > 0:
	case maxRate > 0:
		r, why = maxRate/2, fmt.Sprintf("half of the throughput run's %.0f jobs/s", maxRate)
	default:
		r, why = syncFallbackRate, "fallback: no throughput measured"
	}
	sched := NewSchedule(time.Now().Add(20*time.Millisecond), r, time.Duration(b.cfg.SyncSeconds*float64(time.Second)))
	res := newMode(ModeSync, fmt.Sprintf("\"async\": false at %.0f/s for %gs, open loop (%s)", r, b.cfg.SyncSeconds, why))
	res.Extra["targetRate"] = round1(r)
	if sched.Count == 0 {
		return res.fail(fmt.Errorf("%.1f requests/s for %gs is no request", r, b.cfg.SyncSeconds))
	}
	bar := newBar(b.bars, sched.Count, "sync")
	var (
		lat     latencyLog
		phases  phaseLog
		mu      sync.Mutex
		lastErr error
	)
	ol := RunOpenLoop(ctx, sched, maxSyncInFlight, func(ctx context.Context, i int, due time.Time) {
		job, err := b.syncRequest(ctx, i)
		if err == nil {
			took := time.Since(due)
			lat.add(took)
			phases.add(job, took)
		} else {
			mu.Lock()
			lastErr = err
			mu.Unlock()
		}
		_ = bar.Add(1)
	})
	elapsed := time.Since(sched.Start)
	_ = bar.Finish()
	res.PhasesMs = phases.summaries()
	return b.syncResult(res, ol, lat.values(), elapsed, lastErr)
}

// syncResult fills res from an open-loop run.
func (b *bench) syncResult(res *ModeResult, ol OpenLoopResult, lat []time.Duration, elapsed time.Duration, lastErr error) *ModeResult {
	res.Jobs = ol.Sent + ol.Dropped
	res.Completed = len(lat)
	res.Failed = res.Jobs - res.Completed
	res.Extra["dropped"] = float64(ol.Dropped)
	res.Extra["achievedRate"] = round1(rate(ol.Sent, elapsed))
	if lastErr != nil {
		res.Note = fmt.Sprintf("%d requests not completed; last: %v", res.Failed, lastErr)
	}
	res.LatencyBasis = "due time of the request (open loop) → 200 with the completed job"
	return res.finish(elapsed, lat)
}

// syncRequest submits job i with "async": false and returns it when it came back
// completed (200); anything else is an error.
func (b *bench) syncRequest(ctx context.Context, i int) (*localstack.Job, error) {
	cand := b.cands[i%len(b.cands)]
	wait := false
	body := localstack.SubmitBody{CandidateID: fmt.Sprintf("sync-%s-%d", b.runID, i), Async: &wait, Payload: cand.Doc}
	job, status, err := b.client.Submit(ctx, cand.Tenant, body)
	if err != nil {
		return nil, err
	}
	b.embeds.observe(job)
	if status != http.StatusOK {
		return nil, fmt.Errorf("job %s answered %d with status %s %s", job.JobID, status, job.Status, job.ErrorCode)
	}
	return job, nil
}
