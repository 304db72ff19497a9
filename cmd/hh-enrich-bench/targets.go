package main

import "fmt"

// TargetCheck is one of the targets: reported, never asserted.
type TargetCheck struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	// Met is nil when the run could not measure it.
	Met *bool `json:"met"`
}

// Targets of issue 8 on a 2-core machine.
const (
	targetPoolOverSpawn  = 30
	targetSingleJobsPerS = 1000
	targetSingleVsLimit  = 0.50
	targetBatchVsLimit   = 0.70
	targetSyncP50Ms      = 5
	targetSyncP99Ms      = 25
	targetPluginRSSMB    = 60
	targetServiceRSSMB   = 100
)

const notMeasured = "not measured"

// EvaluateTargets checks r against the targets.
func EvaluateTargets(r *Results) []TargetCheck {
	tp, sync, batch := r.mode(ModeThroughput), r.mode(ModeSync), r.mode(ModeBatch)
	checks := []TargetCheck{
		atLeast("pool ÷ spawn-per-job", fmt.Sprintf("≥ %d×", targetPoolOverSpawn), r.PoolOverSpawn,
			targetPoolOverSpawn, r.PoolOverSpawn > 0, "%.1f×", 1),
		atLeast("single-job path", fmt.Sprintf("≥ %d jobs/s", targetSingleJobsPerS), jobsPerS(tp),
			targetSingleJobsPerS, tp.usable(), "%.0f jobs/s", 1),
		atLeast("single-job path ÷ limit", fmt.Sprintf("≥ %.0f%% of the limit", targetSingleVsLimit*100), efficiency(tp),
			targetSingleVsLimit, efficiency(tp) > 0, "%.0f%%", 100),
		atLeast("batch path ÷ limit", fmt.Sprintf("≥ %.0f%% of the limit", targetBatchVsLimit*100), efficiency(batch),
			targetBatchVsLimit, efficiency(batch) > 0, "%.0f%%", 100),
		atMost("sync p50 at half max", fmt.Sprintf("≤ %d ms", targetSyncP50Ms), syncLatency(sync, 50),
			targetSyncP50Ms, syncLatency(sync, 50) > 0, "%.2f ms"),
		atMost("sync p99 at half max", fmt.Sprintf("≤ %d ms", targetSyncP99Ms), syncLatency(sync, 99),
			targetSyncP99Ms, syncLatency(sync, 99) > 0, "%.2f ms"),
	}
	var plugin, service float64
	if r.Memory != nil {
		plugin = r.Memory.maxPluginPeak()
		if r.Memory.Service != nil {
			service = r.Memory.Service.PeakRSSMB
		}
	}
	checks = append(checks,
		atMost("each plugin, peak resident", fmt.Sprintf("≤ %d MB", targetPluginRSSMB), plugin,
			targetPluginRSSMB, plugin > 0, "%.1f MB"),
		atMost("service, peak resident", fmt.Sprintf("≤ %d MB", targetServiceRSSMB), service,
			targetServiceRSSMB, service > 0, "%.1f MB"))
	for _, mode := range []string{ModeLLM, ModeLLM2} {
		checks = append(checks, llmTargets(r.mode(mode))...)
	}
	return checks
}

// Targets of the LLM path (issue 17), with default settings.
const (
	targetLLMShareOfLimit = 0.90
	targetLLM429Share     = 0.05
	targetLLMOverheadP50  = 5
)

// llmTargets checks one llm mode; none when it did not run.
func llmTargets(m *ModeResult) []TargetCheck {
	if m == nil {
		return nil
	}
	ok := m.Status == StatusOK && m.Completed > 0
	name := map[string]string{ModeLLM: "llm 1×: ", ModeLLM2: "llm 2×: "}[m.Mode]
	var overhead float64
	if m.LatencyMs != nil {
		overhead = m.LatencyMs.P50
	}
	return []TargetCheck{
		atLeast(name+"share of the limit", fmt.Sprintf("≥ %.0f%%", targetLLMShareOfLimit*100), m.Extra["shareOfLimit"],
			targetLLMShareOfLimit, ok, "%.0f%%", 100),
		atMost(name+"failed jobs", "0", float64(m.Failed), 0, ok, "%.0f"),
		atMost(name+"calls answered 429", fmt.Sprintf("≤ %.0f%%", targetLLM429Share*100), m.Extra["calls429Share"]*100,
			targetLLM429Share*100, ok, "%.1f%%"),
		atMost(name+"overhead p50", fmt.Sprintf("≤ %d ms", targetLLMOverheadP50), overhead,
			targetLLMOverheadP50, ok && m.LatencyMs != nil, "%.2f ms"),
		atMost(name+"tokens on the rerun", "0", m.Extra["rerunTokens"], 0, ok, "%.0f"),
	}
}

func atLeast(name, want string, got, limit float64, measured bool, format string, scale float64) TargetCheck {
	if !measured {
		return TargetCheck{Name: name, Want: want, Got: notMeasured}
	}
	met := got >= limit
	return TargetCheck{Name: name, Want: want, Got: fmt.Sprintf(format, got*scale), Met: &met}
}

func atMost(name, want string, got, limit float64, measured bool, format string) TargetCheck {
	if !measured {
		return TargetCheck{Name: name, Want: want, Got: notMeasured}
	}
	met := got <= limit
	return TargetCheck{Name: name, Want: want, Got: fmt.Sprintf(format, got), Met: &met}
}

func jobsPerS(m *ModeResult) float64 {
	if !m.usable() {
		return 0
	}
	return m.JobsPerSecond
}

func efficiency(m *ModeResult) float64 {
	if !m.usable() {
		return 0
	}
	return m.Efficiency
}

func syncLatency(m *ModeResult, p int) float64 {
	if !m.usable() || m.LatencyMs == nil {
		return 0
	}
	if p == 50 {
		return m.LatencyMs.P50
	}
	return m.LatencyMs.P99
}
