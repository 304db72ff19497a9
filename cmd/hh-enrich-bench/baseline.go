package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// limitOutput is what bench_limit.py prints.
type limitOutput struct {
	Records     int     `json:"records"`
	Seconds     float64 `json:"seconds"`
	RecordsPerS float64 `json:"records_per_s"`
}

// runLimit runs cloud_run_worker/bench_limit.py once per core, at the same time:
// the bare enricher in a loop, no RPC, no Redis, no HTTP. Their rates add up to
// the most this machine can enrich, the denominator of every efficiency.
func (b *bench) runLimit(ctx context.Context) *ModeResult {
	procs := b.cfg.LimitProcs
	res := newMode(ModeLimit, fmt.Sprintf("rules_enricher.enrich in a loop, %d processes at once, no RPC/Redis/HTTP", procs))
	bar := newBar(b.bars, procs, "limit")
	outs := make([]limitOutput, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for p := range procs {
		wg.Go(func() {
			outs[p], errs[p] = b.limitProcess(ctx)
			_ = bar.Add(1)
		})
	}
	wg.Wait()
	_ = bar.Finish()
	if err := errors.Join(errs...); err != nil {
		return res.fail(err)
	}
	var longest float64
	for _, o := range outs {
		res.Jobs += o.Records
		res.JobsPerSecond += o.RecordsPerS
		longest = max(longest, o.Seconds)
	}
	res.Completed = res.Jobs
	res.Seconds = round2(longest)
	res.JobsPerSecond = round1(res.JobsPerSecond)
	res.Extra["perProcessRecordsPerSecond"] = round1(res.JobsPerSecond / float64(procs))
	res.Note = fmt.Sprintf("≈ %.3f ms per record per process", 1000*float64(procs)/res.JobsPerSecond)
	return res
}

// limitProcess runs one bench_limit.py and reads its JSON line.
func (b *bench) limitProcess(ctx context.Context) (limitOutput, error) {
	script := filepath.Join(b.cfg.RepoRoot, "cloud_run_worker", "bench_limit.py")
	seconds := strconv.FormatFloat(b.cfg.LimitSeconds, 'f', -1, 64)
	cmd := exec.CommandContext(ctx, b.cfg.PythonBin, script, "--candidates", b.cfg.DataPath, "--seconds", seconds)
	cmd.Env = pythonEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return limitOutput{}, fmt.Errorf("bench_limit.py: %w: %s", err, stderr.String())
	}
	var out limitOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return limitOutput{}, fmt.Errorf("bench_limit.py printed %q: %w", stdout.String(), err)
	}
	if out.RecordsPerS <= 0 {
		return limitOutput{}, fmt.Errorf("bench_limit.py measured no rate: %q", stdout.String())
	}
	return out, nil
}

// pythonEnv is the environment of the baselines' Python processes: enough to run,
// and no TOGETHER_API_KEY, so they use the local rules enricher the plugins use.
func pythonEnv() []string {
	env := []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}
	for _, name := range []string{"PATH", "HOME", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// runSpawn is the seed's design: a fresh `python run_enrich_job.py --candidate-id
// <tenant>_<candidate> --json` per job, the candidate on stdin, SpawnConcurrency at
// a time (the seed's worker ran ENRICH_CONCURRENCY=2 jobs at once). It measures
// only the spawn and the enrichment: no Redis, no HTTP, which flatters it.
func (b *bench) runSpawn(ctx context.Context) *ModeResult {
	n := b.cfg.SpawnJobs
	res := newMode(ModeSpawn, fmt.Sprintf("%d × a fresh run_enrich_job.py, %d at a time, no Redis/HTTP", n, b.cfg.SpawnConcurrency))
	bar := newBar(b.bars, n, "spawn-per-job")
	var (
		lat     latencyLog
		mu      sync.Mutex
		lastErr error
	)
	start := time.Now()
	forEachParallel(n, b.cfg.SpawnConcurrency, func(i int) {
		began := time.Now()
		if err := b.spawnJob(ctx, b.cands[i%len(b.cands)]); err != nil {
			mu.Lock()
			lastErr = err
			mu.Unlock()
		} else {
			lat.add(time.Since(began))
		}
		_ = bar.Add(1)
	})
	elapsed := time.Since(start)
	_ = bar.Finish()
	res.Jobs = n
	res.Completed = len(lat.values())
	res.Failed = n - res.Completed
	if lastErr != nil {
		res.Note = "last failure: " + lastErr.Error()
	}
	res.LatencyBasis = "process start → exit"
	return res.finish(elapsed, lat.values())
}

// spawnJob runs the CLI for one candidate and checks its answer.
func (b *bench) spawnJob(ctx context.Context, c localstack.Candidate) error {
	cli := filepath.Join(b.cfg.RepoRoot, "cloud_run_worker", "run_enrich_job.py")
	cmd := exec.CommandContext(ctx, b.cfg.PythonBin, cli, "--candidate-id", c.Tenant+"_"+c.ID, "--json")
	cmd.Env = pythonEnv()
	cmd.Stdin = bytes.NewReader(c.Doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("run_enrich_job.py: %w: %s", err, stderr.String())
	}
	var answer struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out, &answer); err != nil {
		return fmt.Errorf("run_enrich_job.py printed %q: %w", out, err)
	}
	if answer.Status != "completed" {
		return fmt.Errorf("run_enrich_job.py answered status %q: %s", answer.Status, out)
	}
	return nil
}
