package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// bench is one run's shared state: what every workload needs.
type bench struct {
	cfg    Config
	cands  []localstack.Candidate
	runID  string // makes candidate ids unique per run, so dedupe never answers
	client *localstack.Client
	out    io.Writer // summaries
	bars   io.Writer // progress bars; nil draws none
	embeds embedTally
}

// Run measures every asked mode, writes the JSON and the chart, and prints the
// table. It returns an error when the run could not start, or when a mode ended in
// an error (a mode the service cannot run yet is "unavailable", not an error).
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cands, err := localstack.LoadCandidates(cfg.DataPath)
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, cands: cands, runID: strconv.FormatInt(time.Now().UnixNano(), 36), out: m.Stdout}
	if cfg.Progress {
		b.bars = m.Stderr
	}
	started := time.Now()
	r := &Results{
		StartedAt: started.UTC().Format(time.RFC3339),
		Host:      HostInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadBefore: loadAverage(m.ProcRoot)},
		Target:    "local stack",
		Settings:  settings(cfg),
	}
	m.Results = r
	m.runBaselines(ctx, b, r)
	if cfg.needsStack() {
		if err := m.connect(ctx, b, r); err != nil {
			return err
		}
		m.runWorkloads(ctx, b, r)
	}
	if cfg.runs(ModeLLM) {
		r.Modes = append(r.Modes, m.runLLM(ctx, b)...)
	}
	m.summarize(b, r, time.Since(started))
	return m.writeOutputs(r)
}

// runBaselines runs the limit and spawn-per-job, before any of our stack runs.
func (m *Main) runBaselines(ctx context.Context, b *bench, r *Results) {
	if b.cfg.runs(ModeLimit) {
		r.Modes = append(r.Modes, withTimeout(ctx, b.cfg.WorkloadTimeout, b.runLimit))
	}
	if b.cfg.runs(ModeSpawn) {
		r.Modes = append(r.Modes, withTimeout(ctx, b.cfg.WorkloadTimeout, b.runSpawn))
	}
}

// connect starts the stack, or points at -url.
func (m *Main) connect(ctx context.Context, b *bench, r *Results) error {
	url := m.Config.URL
	if url == "" {
		if err := os.MkdirAll(filepath.Dir(m.Config.OutPath), 0o755); err != nil {
			return fmt.Errorf("results folder: %w", err)
		}
		stack, err := localstack.StartStack(ctx, m.stackConfig())
		if err != nil {
			return fmt.Errorf("starting the stack: %w", err)
		}
		m.stack, url = stack, stack.URL
	} else {
		r.Target = url
	}
	m.client = localstack.NewClient(url, maxSyncInFlight)
	b.client = m.client
	return nil
}

func (m *Main) stackConfig() localstack.StackConfig {
	cfg := m.Config
	return localstack.StackConfig{
		RepoRoot: cfg.RepoRoot, PythonBin: cfg.PythonBin, ServiceBin: cfg.ServiceBin,
		Redis:    localstack.RedisConfig{Executable: cfg.RedisServer},
		PoolSize: cfg.PoolSize, EmbedLatency: cfg.EmbedLatency, FirestoreEmulator: cfg.FirestoreEmulator,
		ExtraEnv: cfg.ServiceEnv, LogLevel: cfg.LogLevel, Profiling: cfg.CPULayers,
		LogPath: filepath.Join(filepath.Dir(cfg.OutPath), "service.log"),
	}
}

// runWorkloads runs the modes that talk to the service, in order; the sync run's
// rate comes from the throughput run.
func (m *Main) runWorkloads(ctx context.Context, b *bench, r *Results) {
	if b.cfg.runs(ModeSeed) {
		r.Modes = append(r.Modes, m.measure(ctx, b.runSeed, ""))
	}
	var maxRate float64
	if b.cfg.runs(ModeThroughput) {
		tp := m.measure(ctx, b.runThroughput, ModeThroughput)
		r.Modes = append(r.Modes, tp)
		if tp.usable() {
			maxRate = tp.JobsPerSecond
		}
	}
	if b.cfg.runs(ModeSync) {
		r.Modes = append(r.Modes, m.measure(ctx, func(ctx context.Context) *ModeResult {
			return b.runSync(ctx, maxRate)
		}, ""))
	}
	if b.cfg.runs(ModeBatch) {
		r.Modes = append(r.Modes, m.measure(ctx, b.runBatch, ModeBatch))
	}
}

// measure runs a workload under its own deadline and records the CPU each part of
// the stack used meanwhile: where the time went, and the calls the plugins were
// given (jobs a call spread their per-call cost). With layersOf, the mode's name
// (and a stack that serves profiles), it also profiles the service, to split its
// CPU by layer.
func (m *Main) measure(ctx context.Context, run func(context.Context) *ModeResult, layersOf string) *ModeResult {
	var servicePid, redisPid int
	var profile *layerProfile
	if m.stack != nil {
		servicePid, redisPid = m.stack.Pids()
		if layersOf != "" {
			profile = m.startLayerProfile(ctx, layersOf)
		}
	}
	callsBefore, countsCalls := m.readPluginCalls(ctx)
	before := measureCPU(m.ProcRoot, servicePid, redisPid)
	res := withTimeout(ctx, m.Config.WorkloadTimeout, run)
	res.CPUSeconds = measureCPU(m.ProcRoot, servicePid, redisPid).since(before)
	if callsAfter, ok := m.readPluginCalls(ctx); ok && countsCalls {
		recordPluginCalls(res, callsBefore, callsAfter)
	}
	if profile != nil {
		res.CPULayers = profile.finish(ctx, res)
	}
	return res
}

// withTimeout runs a workload under its own deadline.
func withTimeout(ctx context.Context, d time.Duration, run func(context.Context) *ModeResult) *ModeResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return run(ctx)
}

// summarize fills the ratios, memory, embedding report and targets.
func (m *Main) summarize(b *bench, r *Results, elapsed time.Duration) {
	if limit := r.mode(ModeLimit); limit.usable() {
		for _, mode := range r.Modes {
			// The llm modes measure against the provider's limit instead.
			if mode.Mode != ModeLimit && mode.Mode != ModeLLM && mode.Mode != ModeLLM2 && mode.usable() {
				mode.Efficiency = round3(mode.JobsPerSecond / limit.JobsPerSecond)
			}
		}
	}
	if tp, spawn := r.mode(ModeThroughput), r.mode(ModeSpawn); tp.usable() && spawn.usable() {
		r.PoolOverSpawn = round1(tp.JobsPerSecond / spawn.JobsPerSecond)
	}
	r.Embedding = b.embeds.report(0)
	if m.stack != nil {
		servicePid, redisPid := m.stack.Pids()
		mem := measureStack(m.ProcRoot, servicePid, redisPid)
		r.Memory = &mem
		r.Embedding.ServerUpserts, r.Embedding.ServerConnections = m.stack.EmbedUpserts()
	}
	r.Targets = EvaluateTargets(r)
	r.Host.LoadAfter = loadAverage(m.ProcRoot)
	r.DurationSeconds = round1(elapsed.Seconds())
}

// writeOutputs writes the JSON and the chart and prints the table.
func (m *Main) writeOutputs(r *Results) error {
	out := m.Config.OutPath
	if err := r.WriteJSON(out); err != nil {
		return err
	}
	chartPath := strings.TrimSuffix(out, filepath.Ext(out)) + ".svg"
	f, err := os.Create(chartPath)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	err = WriteChart(f, r)
	if closeErr := f.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("chart: %w", closeErr)
	}
	if err != nil {
		return err
	}
	if err := WriteTable(m.Stdout, r); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "results: %s; chart: %s\n", out, chartPath)
	return failedModes(r)
}

// failedModes is an error naming the modes that ended in an error.
func failedModes(r *Results) error {
	var failed []string
	for _, mode := range r.Modes {
		if mode.Status == StatusError {
			failed = append(failed, mode.Mode+": "+mode.Note)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d mode(s) failed: %s", len(failed), strings.Join(failed, "; "))
}

// settings are the run's knobs, as written in the JSON.
func settings(cfg Config) map[string]any {
	return map[string]any{
		"modes": cfg.Modes, "quick": cfg.Quick, "poolSize": cfg.PoolSize, "embedLatency": cfg.EmbedLatency.String(),
		"jobs": cfg.Jobs, "concurrency": cfg.Concurrency, "poll": cfg.Poll.String(),
		"throughputJobs": cfg.ThroughputJobs, "tenants": cfg.Tenants, "submitters": cfg.Submitters,
		"syncSeconds": cfg.SyncSeconds, "syncRate": cfg.SyncRate,
		"batchJobs": cfg.BatchJobs, "batchSize": cfg.BatchSize, "batchClients": cfg.BatchClients,
		"spawnJobs": cfg.SpawnJobs, "spawnConcurrency": cfg.SpawnConcurrency,
		"limitSeconds": cfg.LimitSeconds, "limitProcs": cfg.LimitProcs,
		"firestore": cfg.FirestoreEmulator != "", "url": cfg.URL,
		"llmJobs": cfg.LLMJobs, "llmRPM": cfg.LLMRPM, "llmTPM": cfg.llmTPM(),
		"llmLatencyMedian": cfg.LLMLatencyMedian.String(), "llmLatencyP99": cfg.LLMLatencyP99.String(),
	}
}
