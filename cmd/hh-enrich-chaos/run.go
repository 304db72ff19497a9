package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// scenarioFunc runs one scenario against a stack of its own and returns its rows.
// It must stop everything it started before it returns.
type scenarioFunc func(ctx context.Context, h *harness) []*Row

// scenarioFuncs maps -scenarios names to their runs.
var scenarioFuncs = map[string]scenarioFunc{
	ScenarioKillStorm:    runKillStorm,
	ScenarioHungPlugin:   runHungPlugin,
	ScenarioPoison:       runPoison,
	ScenarioSpinning:     runSpinning,
	ScenarioServiceKill:  runServiceKill,
	ScenarioInstanceKill: runInstanceKill,
	ScenarioRedis:        runRedisRestart,
	ScenarioRedisFaults:  runRedisFaults,
	ScenarioRedisCluster: runRedisCluster,
	ScenarioEmbed:        runEmbedFaults,
	ScenarioTogether:     runTogetherStorm,
	ScenarioBadAnswers:   runTogetherBadAnswers,
	ScenarioFirestore:    runFirestoreOutage,
	ScenarioBadInput:     runBadInput,
	ScenarioSecurity:     runSecurity,
}

// ErrFailed is Run's error when a row lost jobs, failed a check or did not run.
var ErrFailed = errors.New("the reliability suite failed")

// Run runs every asked scenario in order, prints the table, writes the JSON and
// Markdown files, and returns ErrFailed (wrapped, with the verdict) when any row
// is not clean.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	h, err := newHarness(cfg, m.ProcRoot, m.Stderr)
	if err != nil {
		return err
	}
	m.harness = h
	started := time.Now()
	r := &Results{
		StartedAt: started.UTC().Format(time.RFC3339),
		Quick:     cfg.Quick,
		Host:      HostInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadBefore: loadAverage(m.ProcRoot)},
		Settings:  settings(cfg),
	}
	m.Results = r
	for _, name := range allScenarios {
		if !cfg.runs(name) {
			continue
		}
		if ctx.Err() != nil {
			r.Rows = append(r.Rows, newRow(name).fail(fmt.Errorf("not run: %w", ctx.Err())))
			continue
		}
		r.Rows = append(r.Rows, h.runScenario(ctx, name, scenarioFuncs[name])...)
	}
	r.Host.LoadAfter = loadAverage(m.ProcRoot)
	r.DurationSeconds = round2(time.Since(started).Seconds())
	r.judge()
	return m.writeOutputs(r)
}

// writeOutputs prints the table and writes the JSON and Markdown files.
func (m *Main) writeOutputs(r *Results) error {
	out := m.Config.OutPath
	if err := r.WriteJSON(out); err != nil {
		return err
	}
	mdPath := strings.TrimSuffix(out, filepath.Ext(out)) + ".md"
	if err := writeFile(mdPath, func(w *strings.Builder) error { return WriteMarkdown(w, r) }); err != nil {
		return err
	}
	if err := WriteTable(m.Stdout, r); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "results: %s; table: %s; logs: %s\n", out, mdPath, m.harness.logDir)
	if !r.Passed {
		return fmt.Errorf("%w: %s", ErrFailed, verdict(r))
	}
	return nil
}

// settings are the run's knobs, as written in the JSON.
func settings(cfg Config) map[string]any {
	return map[string]any{"scenarios": cfg.Scenarios, "quick": cfg.Quick, "poolSize": cfg.PoolSize, "sizes": cfg.Sizes}
}
