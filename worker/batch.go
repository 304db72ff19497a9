package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
)

// leaseMore leases up to n more jobs to run with first in one batch. It is called
// only when every worker slot is busy, that is when more jobs wait than there are
// free slots: one EnrichBatch call then replaces many single calls, and their
// per-call overhead.
func (r *Runner) leaseMore(ctx context.Context, n int) []*store.Lease {
	var more []*store.Lease
	for range n {
		lease, err := r.store.Lease(ctx)
		if err != nil || lease == nil {
			break
		}
		more = append(more, lease)
	}
	return more
}

// runBatch runs leased jobs through one EnrichBatch call and records each outcome
// on its own. Every lease is renewed on its own; a lost lease only drops its job's
// outcome (the store refuses it), it does not stop the batch.
func (r *Runner) runBatch(ctx context.Context, leases []*store.Lease) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stops []func()
	for _, lease := range leases {
		stops = append(stops, r.heartbeat(ctx, func() {}, lease))
	}
	results, errs := r.processBatch(ctx, leases)
	cancel()
	for _, stop := range stops {
		stop()
	}
	var wg sync.WaitGroup
	for i, lease := range leases {
		wg.Go(func() { r.record(context.WithoutCancel(ctx), lease, results[i], errs[i]) })
	}
	wg.Wait()
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
	outcomes := r.enrichBatch(ctx, req)
	// Downstream writes (Firestore, embed) of the items run side by side.
	for k, a := range attempts {
		i := index[k]
		if errs[i] = outcomes[k].err; errs[i] != nil {
			continue
		}
		item := outcomes[k].resp
		wg.Go(func() {
			if errs[i] = r.checkpoint(ctx, a, item); errs[i] == nil {
				results[i], errs[i] = r.finish(ctx, a, item)
			}
		})
	}
	wg.Wait()
	return results, errs
}

// itemOutcome is one batch item's enrichment or error.
type itemOutcome struct {
	resp *enrichv1.EnrichResponse
	err  error
}

// enrichBatch enriches req's items in one EnrichBatch call. A batch whose process
// died under it (every retry too: one of its candidates may crash every process
// it reaches) is split: its items run one by one, side by side, so only a
// candidate that crashes its process fails, never the batch whole.
func (r *Runner) enrichBatch(ctx context.Context, req *enrichv1.EnrichBatchRequest) []itemOutcome {
	n := len(req.GetItems())
	out := make([]itemOutcome, n)
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.JobTimeout)
	defer cancel()
	resp, err := r.enricher.EnrichBatch(callCtx, req)
	switch {
	case errors.Is(err, pyplugin.ErrProcessGone) && n > 1:
		r.log.Warn("a batch lost its process; its items run one by one", "items", n, "error", err)
		var wg sync.WaitGroup
		for k, item := range req.GetItems() {
			wg.Go(func() {
				itemCtx, cancel := context.WithTimeout(ctx, r.cfg.JobTimeout)
				defer cancel()
				out[k].resp, out[k].err = r.enricher.Enrich(itemCtx, item)
			})
		}
		wg.Wait()
		return out
	case err == nil && len(resp.GetResults()) != n:
		err = &jobError{code: CodeBadEnrichment, retryable: true,
			message: fmt.Sprintf("batch answered %d results for %d items", len(resp.GetResults()), n)}
	}
	for k := range out {
		switch {
		case err != nil:
			out[k].err = err
		case resp.GetResults()[k].GetError() != nil:
			out[k].err = pyplugin.ErrorFromProto(resp.GetResults()[k].GetError())
		default:
			out[k].resp = resp.GetResults()[k].GetResponse()
		}
	}
	return out
}
