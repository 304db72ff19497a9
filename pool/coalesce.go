package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// Coalescing: with a CPU-bound enricher most of a single Enrich call's cost is the
// RPC's own machinery (Python gRPC's per-call work), not the enrichment, and one
// EnrichBatch of many items costs far less per item. So an Enrich call that finds
// every process busy queues; when a process frees up, one of the queued calls takes
// the slot and carries the oldest queued calls (up to Config.CoalesceMax, itself
// included) in one EnrichBatch, and hands each caller its own item's outcome.
// Batches form only under load; a call that finds a process free runs at once,
// alone, so an idle pool adds no latency. An I/O-bound enricher never coalesces:
// a batch would wait for its slowest remote answer.
//
// A coalesced batch whose process dies is split like the worker's batches: each
// item runs again on its own with EnrichSplit's rules, so only an item that kills
// a process alone fails (ErrPoison), and its neighbours are not charged.

// queuedCall is one Enrich call waiting in the queue.
type queuedCall struct {
	req  *enrichv1.EnrichRequest
	size int           // req's encoded size, for pyplugin.BatchBytes
	done chan struct{} // closed once resp and err are set
	resp *enrichv1.EnrichResponse
	err  error
	// taken (guarded by Pool.mu) says a batch carries the call: it is out of the
	// queue, and its caller waits for done.
	taken bool
}

func (q *queuedCall) finish(resp *enrichv1.EnrichResponse, err error) {
	q.resp, q.err = resp, err
	close(q.done)
}

// coalesces says whether Enrich calls queue and coalesce (a CPU-bound enricher).
func (p *Pool) coalesces() bool {
	if p.cfg.CoalesceMax < 2 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workload == WorkloadCPU
}

// enrichCoalesced is Enrich through the queue.
func (p *Pool) enrichCoalesced(ctx context.Context, req *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	release, err := p.circuit.admit(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	me := &queuedCall{req: req, size: proto.Size(req), done: make(chan struct{})}
	batch, slot, err := p.awaitTurn(ctx, me)
	if err != nil {
		return nil, err
	}
	if batch == nil { // another call's batch carries this one
		select {
		case <-me.done:
			return me.resp, me.err
		case <-ctx.Done():
			return nil, fmt.Errorf("pool: waiting for a coalesced batch: %w", ctx.Err())
		}
	}
	if len(batch) == 1 {
		// Alone: Enrich's own call, with its retries on a process's death.
		var resp *enrichv1.EnrichResponse
		err := p.call(ctx, callPlan{items: 1, retries: p.cfg.CrashRetries, admitted: true, reserved: slot},
			func(ctx context.Context, proc *process) (err error) {
				resp, err = proc.rpc.Enrich(ctx, req)
				return err
			})
		return resp, err
	}
	p.runCoalesced(ctx, slot, batch)
	return me.resp, me.err
}

// awaitTurn queues me until a process is free. It returns the batch me leads and
// the slot reserved for it, or no batch once another call's batch took me.
func (p *Pool) awaitTurn(ctx context.Context, me *queuedCall) ([]*queuedCall, *callRef, error) {
	p.mu.Lock()
	if len(p.queue) == 0 {
		if c, err := p.tryAcquireLocked(false); c != nil || err != nil {
			p.mu.Unlock()
			return []*queuedCall{me}, c, err
		}
	}
	if p.waiters >= p.cfg.MaxWaiters {
		p.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: %d calls already waiting", ErrExhausted, p.cfg.MaxWaiters)
	}
	p.waiters++
	p.queue = append(p.queue, me)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.waiters--
		p.mu.Unlock()
	}()

	timer := time.NewTimer(p.cfg.AcquireTimeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if me.taken {
			p.mu.Unlock()
			return nil, nil, nil
		}
		c, err := p.tryAcquireLocked(false)
		if c != nil {
			batch := p.takeLocked(me)
			p.mu.Unlock()
			return batch, c, nil
		}
		changed := p.changed
		if err != nil {
			p.dropLocked(me)
			p.mu.Unlock()
			return nil, nil, err
		}
		p.mu.Unlock()
		select {
		case <-changed:
			continue
		case <-me.done:
			continue // taken: seen at the top
		case <-timer.C:
			err = fmt.Errorf("%w within %s", ErrExhausted, p.cfg.AcquireTimeout)
		case <-ctx.Done():
			err = fmt.Errorf("pool: waiting for a free process: %w", ctx.Err())
		}
		p.mu.Lock()
		taken := me.taken
		if !taken {
			p.dropLocked(me)
		}
		p.mu.Unlock()
		if taken {
			return nil, nil, nil // its batch answers; the caller's ctx decides whether to wait
		}
		return nil, nil, err
	}
}

// takeLocked takes me and the oldest other queued calls out of the queue: up to
// CoalesceMax calls in all, and no more than pyplugin.BatchBytes of them (a batch
// of large candidates would outgrow a gRPC message). It stops at the first call
// that does not fit, so calls still leave in the order they came.
func (p *Pool) takeLocked(me *queuedCall) []*queuedCall {
	batch := []*queuedCall{me}
	me.taken = true
	size, full := me.size, false
	rest := p.queue[:0]
	for _, q := range p.queue {
		if q == me {
			continue
		}
		full = full || len(batch) >= p.cfg.CoalesceMax || size+q.size > pyplugin.BatchBytes
		if full {
			rest = append(rest, q)
			continue
		}
		q.taken = true
		size += q.size
		batch = append(batch, q)
	}
	clear(p.queue[len(rest):])
	p.queue = rest
	// The calls taken wait on their done channels from now on.
	p.broadcastLocked()
	return batch
}

// dropLocked takes me out of the queue (its caller gave up).
func (p *Pool) dropLocked(me *queuedCall) {
	if i := slices.Index(p.queue, me); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1)
	}
}

// runCoalesced runs batch in one EnrichBatch on slot and finishes every call of it.
// It runs on a context detached from the leading caller's: the other calls must not
// fail because that one gave up. The call's deadline still bounds it (callOnce).
func (p *Pool) runCoalesced(ctx context.Context, slot *callRef, batch []*queuedCall) {
	ctx = context.WithoutCancel(ctx)
	req := &enrichv1.EnrichBatchRequest{Items: make([]*enrichv1.EnrichRequest, len(batch))}
	for i, q := range batch {
		req.Items[i] = q.req
	}
	var resp *enrichv1.EnrichBatchResponse
	err := p.call(ctx, callPlan{items: len(batch), admitted: true, reserved: slot},
		func(ctx context.Context, proc *process) (err error) {
			resp, err = proc.rpc.EnrichBatch(ctx, req)
			return err
		})
	switch {
	case errors.Is(err, pyplugin.ErrProcessGone):
		p.log.Warn("a coalesced batch lost its plugin process; running its calls one by one", "calls", len(batch), "error", err)
		var wg sync.WaitGroup
		for _, q := range batch {
			wg.Go(func() {
				q.finish(p.enrich(ctx, q.req, callPlan{items: 1, retries: p.cfg.CrashRetries, charged: 1, admitted: true}))
			})
		}
		wg.Wait()
		return
	case err == nil && len(resp.GetResults()) != len(batch):
		err = fmt.Errorf("pool: a coalesced batch of %d calls answered %d results", len(batch), len(resp.GetResults()))
	}
	for i, q := range batch {
		switch {
		case err != nil:
			q.finish(nil, err)
		case resp.GetResults()[i].GetError() != nil:
			q.finish(nil, pyplugin.ErrorFromProto(resp.GetResults()[i].GetError()))
		default:
			q.finish(resp.GetResults()[i].GetResponse(), nil)
		}
	}
}
