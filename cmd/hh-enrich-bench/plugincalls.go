package main

import (
	"context"
	"fmt"
	"strings"
)

// metricPluginCallItems is the service's histogram of the jobs each call to a
// plugin process carried (1: a single Enrich; more: an EnrichBatch).
const metricPluginCallItems = "hh_enrich_plugin_call_items"

// pluginCallCount is the histogram's totals: calls, the jobs they carried, and the
// calls that carried one job. Each call costs a plugin a fixed share of Python
// gRPC's own work, so jobs a call says how far that share is spread.
type pluginCallCount struct{ calls, jobs, alone float64 }

// pluginCallsIn reads the totals from a /metrics exposition; ok is false when the
// service does not serve the histogram (an older build, a remote -url).
func pluginCallsIn(text string) (count pluginCallCount, ok bool) {
	if !strings.Contains(text, metricPluginCallItems+"_count") {
		return pluginCallCount{}, false
	}
	return pluginCallCount{
		calls: SumSeries(text, metricPluginCallItems+"_count"),
		jobs:  SumSeries(text, metricPluginCallItems+"_sum"),
		alone: SumSeries(text, metricPluginCallItems+"_bucket", `le="1"`),
	}, true
}

// readPluginCalls scrapes the service for the totals.
func (m *Main) readPluginCalls(ctx context.Context) (pluginCallCount, bool) {
	if m.client == nil {
		return pluginCallCount{}, false
	}
	text, err := m.client.Metrics(ctx)
	if err != nil {
		return pluginCallCount{}, false
	}
	return pluginCallsIn(text)
}

// recordPluginCalls puts the calls made during a mode (after − before) in its
// extras.
func recordPluginCalls(res *ModeResult, before, after pluginCallCount) {
	calls := after.calls - before.calls
	if calls <= 0 {
		return
	}
	res.Extra["pluginCalls"] = calls
	res.Extra["pluginCallJobs"] = after.jobs - before.jobs
	res.Extra["pluginCallsAlone"] = after.alone - before.alone
}

// pluginCallsLine sums up a mode's plugin calls, or is empty when not measured.
func pluginCallsLine(m *ModeResult) string {
	calls := m.Extra["pluginCalls"]
	if calls <= 0 {
		return ""
	}
	jobs, alone := m.Extra["pluginCallJobs"], m.Extra["pluginCallsAlone"]
	return fmt.Sprintf("plugin calls: %.0f carrying %.0f jobs, %.1f a call; %.0f carried one job (%.0f%% of calls)",
		calls, jobs, jobs/calls, alone, 100*alone/calls)
}
