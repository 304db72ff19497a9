package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/console"
)

// batchConfig is the batch command's flags.
type batchConfig struct {
	in, out     string
	chunk       int
	concurrency int
	results     string // resultsStatus or resultsFull
	progress    bool
	retryFailed bool
	// pollFirst and pollMax bound the wait between two reads of a batch: it starts
	// at pollFirst, grows by half while nothing finishes, and falls back to pollFirst
	// when something does.
	pollFirst, pollMax time.Duration
}

// What each result line holds: the job's status and error code, or also its
// whole result (one more request per candidate).
const (
	resultsStatus = "status"
	resultsFull   = "full"
)

// maxChunk is the API's limit of candidates per batch request.
const maxChunk = 1000

func (m *Main) runBatch(ctx context.Context, args []string) error {
	fs := m.newFlagSet("batch")
	api := m.register(fs)
	cfg := batchConfig{pollFirst: 200 * time.Millisecond}
	fs.StringVar(&cfg.in, "in", "", "input JSONL: one candidate a line (a candidate document, or {candidateId, payload})")
	fs.StringVar(&cfg.out, "out", "", "results JSONL, appended to; candidates already in it are skipped (resume)")
	fs.IntVar(&cfg.chunk, "chunk", 500, "candidates per batch request (1-1000)")
	fs.IntVar(&cfg.concurrency, "concurrency", 2, "batches submitted and awaited at once")
	fs.StringVar(&cfg.results, "results", resultsStatus, `"status": status, error code and attempts per candidate; "full": also each job's result (one more request per candidate)`)
	fs.BoolVar(&cfg.progress, "progress", true, "draw a progress bar on stderr when it is a terminal (otherwise, or false: a log line every 5 s)")
	fs.BoolVar(&cfg.retryFailed, "retry-failed", false, "run again the candidates whose line in --out is not completed (their lines are replaced)")
	fs.DurationVar(&cfg.pollFirst, "poll", cfg.pollFirst, "first wait between two reads of a batch; grows to 10x while nothing finishes")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError(err)
	}
	cfg.pollMax = 10 * cfg.pollFirst
	if err := cfg.validate(api, pos); err != nil {
		return err
	}
	return m.batch(ctx, api.client(), api.tenant, cfg)
}

func (cfg batchConfig) validate(api *apiFlags, pos []string) error {
	switch {
	case len(pos) > 0:
		return fmt.Errorf("%w: batch takes no arguments, got %q", errUsage, pos)
	case cfg.in == "" || cfg.out == "":
		return fmt.Errorf("%w: batch needs --in and --out", errUsage)
	case api.tenant == "":
		return fmt.Errorf("%w: batch needs --tenant (or HH_ENRICH_TENANT)", errUsage)
	case cfg.chunk < 1 || cfg.chunk > maxChunk:
		return fmt.Errorf("%w: --chunk must be 1-%d", errUsage, maxChunk)
	case cfg.concurrency < 1:
		return fmt.Errorf("%w: --concurrency must be at least 1", errUsage)
	case cfg.pollFirst <= 0:
		return fmt.Errorf("%w: --poll must be positive", errUsage)
	case cfg.results != resultsStatus && cfg.results != resultsFull:
		return fmt.Errorf("%w: --results must be %s or %s", errUsage, resultsStatus, resultsFull)
	}
	return nil
}

// sameFile reports whether paths a and b name one file (b may not exist yet).
func sameFile(a, b string) (bool, error) {
	ai, err := os.Stat(a)
	if err != nil {
		return false, nil // planBatch reports a missing input
	}
	bi, err := os.Stat(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil && os.SameFile(ai, bi), err
}

// usageError marks a flag parsing error as a usage error (help stays help).
func usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %w", errUsage, err)
}

// batch runs the whole command: read what --out already holds, plan the input,
// enrich what is left, and report.
func (m *Main) batch(ctx context.Context, client *Client, tenant string, cfg batchConfig) error {
	if same, err := sameFile(cfg.in, cfg.out); err != nil {
		return err
	} else if same {
		return fmt.Errorf("%w: --in and --out name the same file, %s: the results would overwrite the input", errUsage, cfg.out)
	}
	out, err := openResults(cfg.out)
	if err != nil {
		return err
	}
	defer out.Close()
	if out.dropped > 0 {
		fmt.Fprintf(m.Stderr, "hh-enrich: %s ended in a torn line (%d bytes, from an interrupted run): dropped; that candidate runs again\n",
			cfg.out, out.dropped)
	}
	plan, err := planBatch(cfg.in, tenant, out, cfg.retryFailed)
	if err != nil {
		return err
	}
	// Only this input's candidates run again: lines of others stay as they are.
	if err := out.rerun(plan.rerun); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "hh-enrich: %s: %d candidates; %d already in %s; %d to enrich\n",
		cfg.in, plan.total, plan.total-len(plan.todo), cfg.out, len(plan.todo))
	if plan.duplicates > 0 {
		fmt.Fprintf(m.Stderr, "hh-enrich: warning: %d lines repeat a candidate id seen earlier in %s: only the first is enriched\n",
			plan.duplicates, cfg.in)
	}
	run := &batchRun{client: client, tenant: tenant, cfg: cfg, out: out, plan: plan, now: time.Now}
	start := time.Now()
	// A bar redraws its line in place: into a file or a CI log it would only pile
	// up, so anywhere but a terminal the progress is a plain line every 5 s.
	run.progress = newProgress(m.Stderr, len(plan.todo), cfg.progress && console.IsTerminal(m.Stderr), start)
	runErr := run.Run(ctx)
	run.progress.Finish()
	if err := out.Close(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	m.report(run, time.Since(start), runErr)
	if runErr != nil {
		return runErr
	}
	if n := plan.notCompletedBefore + run.failed; n > 0 {
		return fmt.Errorf("%w: %d of %d (their status and errorCode are in %s; --retry-failed runs them again)",
			errSomeFailed, n, plan.total, cfg.out)
	}
	return nil
}

func (m *Main) report(run *batchRun, took time.Duration, err error) {
	done := run.completed + run.failed
	rate := float64(done) / max(took.Seconds(), 1e-3)
	fmt.Fprintf(m.Stderr, "hh-enrich: %d finished in this run (%d completed, %d not) in %s (%.1f/s); %d of %d candidates in %s\n",
		done, run.completed, run.failed, took.Round(time.Millisecond), rate,
		run.plan.total-len(run.plan.todo)+done, run.plan.total, run.cfg.out)
	if line := run.usage.summary(); line != "" {
		fmt.Fprintln(m.Stderr, "hh-enrich: "+line)
	}
	if err != nil && done < len(run.plan.todo) {
		fmt.Fprintf(m.Stderr, "hh-enrich: %d candidates left: run the same command again to resume (submitted ones dedupe to their jobs)\n",
			len(run.plan.todo)-done)
	}
}

// batchPlan is what the first pass over the input found.
type batchPlan struct {
	total              int   // distinct candidates in the input
	todo               []int // line numbers to enrich, ascending
	duplicates         int   // lines whose candidate id an earlier line has
	notCompletedBefore int   // candidates of this input whose line in --out is not completed (and stays)
	// rerun holds, with --retry-failed, this input's candidates whose line in --out
	// is not completed: their lines go and they run again.
	rerun map[string]bool
}

// planBatch reads the whole input once before anything is sent, so a bad line is
// reported with its number up front and the progress bar knows its length.
// Candidates already in out are skipped; a repeated candidate id keeps its first
// line only (the results file has one line per candidate).
func planBatch(path, tenant string, out *resultsFile, retryFailed bool) (*batchPlan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	plan := &batchPlan{rerun: map[string]bool{}}
	seen := map[string]bool{}
	err = scanLines(f, func(n int, line []byte) error {
		c, err := parseCandidateLine(tenant, line)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", path, n, err)
		}
		if seen[c.CandidateID] {
			plan.duplicates++
			return nil
		}
		seen[c.CandidateID] = true
		plan.total++
		if status, ok := out.done[c.CandidateID]; ok {
			switch {
			case status == "completed":
				return nil
			case !retryFailed:
				plan.notCompletedBefore++
				return nil
			}
			plan.rerun[c.CandidateID] = true
		}
		plan.todo = append(plan.todo, n)
		return nil
	})
	return plan, err
}

// readChunks is the second pass: it sends the planned lines, parsed, in chunks of
// cfg.chunk candidates.
func (r *batchRun) readChunks(ctx context.Context, chunks chan<- []BatchCandidate) error {
	f, err := os.Open(r.cfg.in)
	if err != nil {
		return err
	}
	defer f.Close()
	todo := r.plan.todo
	var chunk []BatchCandidate
	send := func() error {
		select {
		case chunks <- chunk:
			chunk = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err = scanLines(f, func(n int, line []byte) error {
		if len(todo) == 0 {
			return io.EOF // nothing more to read
		}
		if n != todo[0] {
			return nil
		}
		todo = todo[1:]
		c, err := parseCandidateLine(r.tenant, line)
		if err != nil { // the input changed since the first pass
			return fmt.Errorf("%s line %d: %w", r.cfg.in, n, err)
		}
		if chunk = append(chunk, c); len(chunk) == r.cfg.chunk {
			return send()
		}
		return nil
	})
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if len(todo) > 0 {
		return fmt.Errorf("%s changed while it was read: %d planned lines are gone", r.cfg.in, len(todo))
	}
	if len(chunk) > 0 {
		return send()
	}
	return nil
}
