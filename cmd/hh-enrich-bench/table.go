package main

import (
	"fmt"
	"io"
	"strings"
)

// shortNames are the table's and the chart's names of the modes.
var shortNames = map[string]string{
	ModeLimit:      "limit (bare enricher)",
	ModeSpawn:      "spawn-per-job",
	ModeSeed:       "seed client",
	ModeThroughput: "single-job throughput",
	ModeSync:       "sync requests",
	ModeBatch:      "batch route",
	ModeLLM:        "LLM, 1 instance",
	ModeLLM2:       "LLM, 2 instances",
}

func shortName(mode string) string {
	if s, ok := shortNames[mode]; ok {
		return s
	}
	return mode
}

// WriteTable prints the results as the run's summary: one row per mode, then the
// ratios, memory, embedding and targets.
func WriteTable(w io.Writer, r *Results) error {
	fmt.Fprintf(w, "\nhh-enrich-bench against %s: %d CPUs, load average %s before, %s after\n",
		r.Target, r.Host.CPUs, r.Host.LoadBefore, r.Host.LoadAfter)
	header := []string{"mode", "jobs", "completed", "failed", "seconds", "jobs/s", "p50 ms", "p95 ms", "p99 ms", "vs limit"}
	if _, err := fmt.Fprintln(w, formatRow(header)); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	for _, m := range r.Modes {
		fmt.Fprintln(w, formatRow(modeCells(m)))
	}
	for _, m := range r.Modes {
		line := fmt.Sprintf("  %s: %s", shortName(m.Mode), m.Label)
		if m.Note != "" {
			line += " — " + m.Note
		}
		fmt.Fprintln(w, line)
		for _, extra := range []string{llmLine(m), phasesLine(m), cpuLine(m), layersLine(m), pluginCallsLine(m)} {
			if extra != "" {
				fmt.Fprintln(w, "    "+extra)
			}
		}
	}
	writeFooter(w, r)
	return nil
}

// formatRow lays out the cells of a row: the name left-aligned, numbers right.
func formatRow(cells []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-22s", cells[0])
	for _, c := range cells[1:] {
		fmt.Fprintf(&b, " %9s", c)
	}
	return strings.TrimRight(b.String(), " ")
}

// modeCells are the table cells of one mode.
func modeCells(m *ModeResult) []string {
	cells := []string{shortName(m.Mode)}
	if m.Status != StatusOK && m.JobsPerSecond == 0 {
		return append(cells, m.Status)
	}
	cells = append(cells, fmt.Sprint(m.Jobs), fmt.Sprint(m.Completed), fmt.Sprint(m.Failed),
		fmt.Sprintf("%.2f", m.Seconds), fmt.Sprintf("%.1f", m.JobsPerSecond))
	if l := m.LatencyMs; l != nil {
		cells = append(cells, fmt.Sprintf("%.2f", l.P50), fmt.Sprintf("%.2f", l.P95), fmt.Sprintf("%.2f", l.P99))
	} else {
		cells = append(cells, "-", "-", "-")
	}
	switch {
	case m.Mode == ModeLimit:
		cells = append(cells, "100%")
	case m.Efficiency >= 0.01:
		cells = append(cells, fmt.Sprintf("%.0f%%", m.Efficiency*100))
	case m.Efficiency > 0:
		cells = append(cells, fmt.Sprintf("%.1f%%", m.Efficiency*100))
	default:
		cells = append(cells, "-")
	}
	return cells
}

// llmLine gives an llm mode's numbers against the provider; "" for other modes.
func llmLine(m *ModeResult) string {
	if (m.Mode != ModeLLM && m.Mode != ModeLLM2) || m.Status != StatusOK {
		return ""
	}
	x := m.Extra
	line := fmt.Sprintf("llm: %.1f jobs/s steady = %.0f%% of the provider's %.1f/s (%.0f%% of its requests, "+
		"%.0f%% of its tokens a minute; whole run %.2f/s); "+
		"429s %.3f per job (%.1f%% of calls); %d failed; %.0f tokens per job; rerun: %.0f of %d cache hits, "+
		"%.0f tokens, %.0f provider calls", m.JobsPerSecond, x["shareOfLimit"]*100, x["limitPerSecond"],
		x["shareOfRPM"]*100, x["shareOfTPM"]*100,
		x["wholeRunJobsPerSecond"], x["calls429PerJob"], x["calls429Share"]*100, m.Failed, x["tokensPerJob"],
		x["rerunCacheHits"], m.Jobs, x["rerunTokens"], x["rerunProviderCalls"])
	if l := m.LatencyMs; l != nil {
		line += fmt.Sprintf("; overhead over the model p50 %.2f ms, p99 %.2f ms (with the embed server's time "+
			"%.2f / %.2f ms; model p50 %.0f ms, p99 %.0f ms)", l.P50, l.P99, x["overheadWithEmbedP50Ms"],
			x["overheadWithEmbedP99Ms"], x["modelP50Ms"], x["modelP99Ms"])
	}
	return line
}

// phaseOrder is the order of a job's phases in the phases line.
var phaseOrder = []string{"queue", "load", "rateLimit", "python", "firestore", "embed", "total", phaseOverhead}

// phasesLine gives the p50/p99 of each phase the jobs recorded; "" when none did.
func phasesLine(m *ModeResult) string {
	var parts []string
	for _, name := range phaseOrder {
		if s := m.PhasesMs[name]; s != nil && s.Max > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f/%.2f", name, s.P50, s.P99))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "job phases p50/p99 ms: " + strings.Join(parts, ", ")
}

// cpuRoles are the parts of the stack in the order the CPU line lists them.
var cpuRoles = []string{"service", "plugins", "redis", "harness"}

// cpuLine says how much CPU each part used during the mode, in all and per
// completed job; "" when nothing was measured.
func cpuLine(m *ModeResult) string {
	if len(m.CPUSeconds) == 0 || m.Status == StatusUnavailable {
		return ""
	}
	var total, perJob []string
	for _, role := range cpuRoles {
		s, ok := m.CPUSeconds[role]
		if !ok {
			continue
		}
		total = append(total, fmt.Sprintf("%s %.2f", role, s))
		if m.Completed > 0 {
			perJob = append(perJob, fmt.Sprintf("%s %.3f", role, s*1000/float64(m.Completed)))
		}
	}
	line := "cpu s: " + strings.Join(total, ", ")
	if len(perJob) > 0 {
		line += "; cpu ms per job: " + strings.Join(perJob, ", ")
	}
	return line
}

func writeFooter(w io.Writer, r *Results) {
	if r.PoolOverSpawn > 0 {
		fmt.Fprintf(w, "pool ÷ spawn-per-job: %.1f× (single-job throughput jobs/s ÷ spawn-per-job jobs/s)\n", r.PoolOverSpawn)
	}
	fmt.Fprintln(w, memoryLine(r.Memory))
	e := r.Embedding
	fmt.Fprintf(w, "embedding: %s (%d of %d completed jobs seen upserted; skips %v; embed server answered %d upserts over %d connections)\n",
		e.Status, e.Upserted, e.Seen, e.SkipReasons, e.ServerUpserts, e.ServerConnections)
	fmt.Fprintln(w, "targets (reported, not asserted):")
	for _, t := range r.Targets {
		mark := "n/a "
		if t.Met != nil {
			mark = map[bool]string{true: "met ", false: "MISS"}[*t.Met]
		}
		fmt.Fprintf(w, "  [%s] %-28s want %-22s got %s\n", mark, t.Name, t.Want, t.Got)
	}
}

func memoryLine(m *StackMemory) string {
	if m == nil || m.Service == nil {
		return "memory: not measured (no local stack)"
	}
	var plugins []string
	for _, p := range m.Plugins {
		plugins = append(plugins, fmt.Sprintf("%.1f", p.PeakRSSMB))
	}
	line := fmt.Sprintf("memory, peak resident (VmHWM): service %.1f MB (now %.1f); plugins %s MB",
		m.Service.PeakRSSMB, m.Service.RSSMB, strings.Join(plugins, ", "))
	if m.Redis != nil {
		line += fmt.Sprintf("; redis-server %.1f MB", m.Redis.PeakRSSMB)
	}
	return line
}
