package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
)

// batchRun enriches the planned candidates. Three kinds of goroutine, owned by
// one errgroup:
//
//   - a reader streams the input's planned lines into chunks;
//   - cfg.concurrency workers each submit a chunk as one batch and poll it (one
//     request for the whole chunk, not one per job) until every job is terminal,
//     passing each finished job on as soon as it is seen;
//   - the writer (Run's own goroutine) appends each result line, advances the
//     progress, and syncs the file once a second.
//
// Only the writer touches the results file and the counters. On an error or an
// interrupt the workers stop, and the writer still writes every result already
// handed to it: what was seen finished is kept.
type batchRun struct {
	client   *Client
	tenant   string
	cfg      batchConfig
	out      *resultsFile
	plan     *batchPlan
	progress *progress
	now      func() time.Time

	completed int // lines written this run with status completed
	failed    int // lines written this run with another status
	usage     usageTally
}

// Run enriches every planned candidate, or stops at the first error or when ctx
// ends.
func (r *batchRun) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	chunks := make(chan []BatchCandidate)
	results := make(chan resultLine, r.cfg.chunk)
	g.Go(func() error {
		defer close(chunks)
		return r.readChunks(gctx, chunks)
	})
	g.Go(func() error {
		defer close(results)
		workers, wctx := errgroup.WithContext(gctx)
		for range r.cfg.concurrency {
			workers.Go(func() error {
				for chunk := range chunks {
					if err := r.runChunk(wctx, chunk, results); err != nil {
						return err
					}
				}
				return nil
			})
		}
		return workers.Wait()
	})
	writeErr := r.write(results)
	if writeErr != nil {
		cancel() // stop the workers, and drain what they were sending
		for range results {
		}
	}
	err := g.Wait()
	switch {
	case writeErr != nil:
		return writeErr
	case err == nil && ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}

// write is the writer: it returns when results is closed, or at the first error.
func (r *batchRun) write(results <-chan resultLine) error {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case res, ok := <-results:
			if !ok {
				return nil
			}
			if err := r.out.Append(res); err != nil {
				return err
			}
			if res.Status == "completed" {
				r.completed++
				r.usage.add(res.Result)
			} else {
				r.failed++
			}
			r.progress.Add(1, r.now())
		case now := <-ticker.C:
			r.progress.Tick(now)
			if err := r.out.Sync(); err != nil {
				return err
			}
		}
	}
}

// runChunk submits one chunk and follows its jobs to the end.
func (r *batchRun) runChunk(ctx context.Context, chunk []BatchCandidate, results chan<- resultLine) error {
	batch, err := r.client.SubmitBatch(ctx, chunk)
	if err != nil {
		return fmt.Errorf("submitting %d candidates (first %q): %w", len(chunk), chunk[0].CandidateID, err)
	}
	if len(batch.Jobs) != len(chunk) {
		return fmt.Errorf("batch %s: %d jobs for %d candidates", batch.BatchID, len(batch.Jobs), len(chunk))
	}
	pending := make(map[string]bool, len(batch.Jobs))
	for i, j := range batch.Jobs {
		if j.CandidateID != chunk[i].CandidateID || pending[j.JobID] {
			// Only a client's own idempotencyKey can do this: two candidates with one
			// key dedupe to one job, which enriched one of them only.
			return fmt.Errorf("candidate %q was answered with job %s of candidate %q: give each candidate its own idempotencyKey",
				chunk[i].CandidateID, j.JobID, j.CandidateID)
		}
		pending[j.JobID] = true
	}
	// The submission's answer already tells which jobs are done: a rerun's
	// candidates whose jobs finished after the interruption dedupe to them.
	if err := r.emitFinished(ctx, batch.Jobs, pending, results); err != nil {
		return err
	}
	wait := r.cfg.pollFirst
	for len(pending) > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		current, err := r.client.GetBatch(ctx, batch.BatchID)
		if err != nil {
			return fmt.Errorf("reading batch %s: %w", batch.BatchID, err)
		}
		before := len(pending)
		if err := r.emitFinished(ctx, current.Jobs, pending, results); err != nil {
			return err
		}
		if len(pending) < before {
			wait = r.cfg.pollFirst
		} else {
			wait = min(wait*3/2, r.cfg.pollMax)
		}
	}
	return nil
}

// emitFinished passes on each pending job of jobs that is terminal, and forgets it.
func (r *batchRun) emitFinished(ctx context.Context, jobs []BatchJob, pending map[string]bool, results chan<- resultLine) error {
	for _, j := range jobs {
		if !pending[j.JobID] || !terminal(j.Status) {
			continue
		}
		res, err := r.resultOf(ctx, j)
		if err != nil {
			return err
		}
		select {
		case results <- res:
			delete(pending, j.JobID)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// resultOf is a finished job's line. A failed job's message, and with
// --results=full every job's result, take one more request: the batch listing has
// neither.
func (r *batchRun) resultOf(ctx context.Context, j BatchJob) (resultLine, error) {
	res := resultLine{CandidateID: j.CandidateID, JobID: j.JobID, Status: j.Status, ErrorCode: j.ErrorCode,
		AttemptCount: j.AttemptCount}
	if j.Status == "expired" || (j.Status == "completed" && r.cfg.results != resultsFull) {
		return res, nil
	}
	job, err := r.client.GetJob(ctx, j.JobID)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		res.Status, res.ErrorCode = "expired", "" // gone between the two reads
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("reading job %s (candidate %q): %w", j.JobID, j.CandidateID, err)
	}
	res.Error = job.Error
	if r.cfg.results == resultsFull {
		res.Result = job.Result
	}
	return res, nil
}
