package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
)

// leaseMore leases up to n more jobs, in one round trip, to run with first in one
// batch. It is called only when every worker slot is busy, that is when more jobs
// wait than there are free slots: one EnrichBatch call then replaces many single
// calls, and their per-call overhead.
func (r *Runner) leaseMore(ctx context.Context, n int) []*store.Lease {
	more, err := r.store.LeaseBatch(ctx, min(n, store.MaxLeaseBatch))
	if err != nil {
		r.log.Debug("leasing a batch failed; the first job runs alone", "error", err)
		return nil
	}
	return more
}

// runBatch runs leased jobs through one EnrichBatch call and records their outcomes
// in one round trip. The leases are renewed together; a lost lease only drops its
// job's outcome (the store refuses it), it does not stop the batch.
func (r *Runner) runBatch(ctx context.Context, leases []*store.Lease) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopHeartbeat := r.heartbeatMany(ctx, leases)
	results, errs := r.processBatch(ctx, leases)
	cancel()
	stopHeartbeat()
	r.recordBatch(context.WithoutCancel(ctx), leases, results, errs)
}

// heartbeatMany renews every lease of a batch in one call per interval until the
// returned stop is called.
func (r *Runner) heartbeatMany(ctx context.Context, leases []*store.Lease) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(r.cfg.HeartbeatInterval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			lost, err := r.store.HeartbeatMany(ctx, leases)
			for _, l := range lost {
				r.log.Warn("lease lost; the job's outcome will be dropped", "job_id", l.Job.ID)
			}
			if err != nil && ctx.Err() == nil {
				r.log.Warn("lease renewal failed", "jobs", len(leases), "error", err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// recordBatch writes a batch's outcomes: completions and failures in one round
// trip, the rare uncharged releases (shutdown, an open circuit) one by one.
func (r *Runner) recordBatch(ctx context.Context, leases []*store.Lease, results []*Result, errs []error) {
	var endings []store.Ending
	var index []int // endings[k] belongs to leases[index[k]]
	for i, lease := range leases {
		ending := store.Ending{Lease: lease}
		if errs[i] == nil {
			raw, err := encodeResult(results[i])
			if err != nil {
				r.noteCompleted(lease.Job, results[i], err)
				continue
			}
			ending.Result = raw
		} else {
			jerr := errorFor(errs[i])
			if releasesWithoutCharge(jerr.Code) {
				r.record(ctx, lease, nil, errs[i])
				continue
			}
			ending.Failure = &jerr
		}
		endings = append(endings, ending)
		index = append(index, i)
	}
	if len(endings) == 0 {
		return
	}
	for k, ended := range r.store.EndMany(ctx, endings) {
		i := index[k]
		if endings[k].Failure == nil {
			r.noteCompleted(leases[i].Job, results[i], ended.Err)
		} else {
			r.noteFailed(leases[i].Job, *endings[k].Failure, ended.Requeued, ended.Err)
		}
	}
}

// prepareAll prepares every lease concurrently: each may read Firestore.
func (r *Runner) prepareAll(ctx context.Context, leases []*store.Lease) ([]*attempt, []error) {
	attempts := make([]*attempt, len(leases))
	errs := make([]error, len(leases))
	var wg sync.WaitGroup
	for i, lease := range leases {
		wg.Go(func() { attempts[i], errs[i] = r.prepare(ctx, lease) })
	}
	wg.Wait()
	return attempts, errs
}

// processBatch returns a result or an error for every lease, in order.
func (r *Runner) processBatch(ctx context.Context, leases []*store.Lease) ([]*Result, []error) {
	results := make([]*Result, len(leases))
	prepared, errs := r.prepareAll(ctx, leases)
	var attempts []*attempt
	var index []int // attempts[k] belongs to leases[index[k]]
	req := &enrichv1.EnrichBatchRequest{}
	var wg sync.WaitGroup
	for i, a := range prepared {
		if errs[i] != nil {
			continue
		}
		if resp, ok := a.checkpointed(); ok {
			wg.Go(func() { results[i], errs[i] = r.finish(ctx, a, resp) })
			continue
		}
		attempts = append(attempts, a)
		index = append(index, i)
		req.Items = append(req.Items, a.request)
	}
	if len(attempts) == 0 {
		wg.Wait()
		return results, errs
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.JobTimeout)
	defer cancel()
	items, itemErrs := r.enrichBatch(callCtx, req)
	// Downstream writes (Firestore, embed) of the items run side by side.
	for k, a := range attempts {
		i := index[k]
		if itemErrs[k] != nil {
			errs[i] = itemErrs[k]
			r.addTokenUsage(ctx, a.lease.Job, billed(nil, errs[i]))
			continue
		}
		r.addTokenUsage(ctx, a.lease.Job, billed(items[k], nil))
		wg.Go(func() {
			if errs[i] = r.checkpoint(ctx, a, items[k]); errs[i] == nil {
				results[i], errs[i] = r.finish(ctx, a, items[k])
			}
		})
	}
	wg.Wait()
	return results, errs
}

// enrichBatch enriches req's items and returns each item's response or error. The
// items go in as few calls as pyplugin.BatchBytes allows (large candidates would
// outgrow a gRPC message together), side by side.
func (r *Runner) enrichBatch(ctx context.Context, req *enrichv1.EnrichBatchRequest) ([]*enrichv1.EnrichResponse, []error) {
	items := make([]*enrichv1.EnrichResponse, len(req.Items))
	errs := make([]error, len(req.Items))
	var wg sync.WaitGroup
	start := 0
	for _, run := range pyplugin.SplitBatch(req.Items) {
		end := start + len(run)
		runItems, runErrs := items[start:end], errs[start:end]
		wg.Go(func() { r.enrichRun(ctx, run, runItems, runErrs) })
		start = end
	}
	wg.Wait()
	return items, errs
}

// enrichRun enriches run in one EnrichBatch call, into items and errs. When the
// call loses its process, each item runs again on its own (EnrichSplit): one
// poison item must not charge its innocent neighbours an attempt.
func (r *Runner) enrichRun(ctx context.Context, run []*enrichv1.EnrichRequest, items []*enrichv1.EnrichResponse, errs []error) {
	resp, err := r.enricher.EnrichBatch(ctx, &enrichv1.EnrichBatchRequest{Items: run})
	switch {
	case errors.Is(err, pyplugin.ErrProcessGone):
		r.log.Warn("a batch lost its plugin process; running its items one by one", "items", len(run), "error", err)
		var wg sync.WaitGroup
		for k, item := range run {
			wg.Go(func() { items[k], errs[k] = r.enricher.EnrichSplit(ctx, item) })
		}
		wg.Wait()
		return
	case err == nil && len(resp.GetResults()) != len(run):
		err = &jobError{code: CodeBadEnrichment, retryable: true,
			message: fmt.Sprintf("batch answered %d results for %d items", len(resp.GetResults()), len(run))}
	}
	for k := range run {
		switch {
		case err != nil:
			errs[k] = err
		case resp.GetResults()[k].GetError() != nil:
			errs[k] = pyplugin.ErrorFromProto(resp.GetResults()[k].GetError())
		default:
			items[k] = resp.GetResults()[k].GetResponse()
		}
	}
}
