package main

import "testing"

const callsExposition = `# HELP hh_enrich_plugin_call_items Jobs carried by each call to a plugin process: 1 for an Enrich, more for an EnrichBatch.
# TYPE hh_enrich_plugin_call_items histogram
hh_enrich_plugin_call_items_bucket{le="1"} 40
hh_enrich_plugin_call_items_bucket{le="16"} 226
hh_enrich_plugin_call_items_bucket{le="+Inf"} 226
hh_enrich_plugin_call_items_sum 3000
hh_enrich_plugin_call_items_count 226
`

func TestPluginCalls(t *testing.T) {
	t.Parallel()

	t.Run("ReadsCallsJobsAndSingleCallsFromTheHistogram", func(t *testing.T) {
		t.Parallel()
		got, ok := pluginCallsIn(callsExposition)
		if want := (pluginCallCount{calls: 226, jobs: 3000, alone: 40}); !ok || got != want {
			t.Errorf("pluginCallsIn = %+v, %v; want %+v, true", got, ok, want)
		}
		if _, ok := pluginCallsIn(exposition); ok {
			t.Error("an exposition without the histogram must say it was not measured")
		}
	})

	t.Run("AModeGetsTheCallsMadeDuringItAndALine", func(t *testing.T) {
		t.Parallel()
		res := newMode(ModeThroughput, "x")
		recordPluginCalls(res, pluginCallCount{calls: 26, jobs: 200, alone: 10}, pluginCallCount{calls: 226, jobs: 3000, alone: 40})
		want := "plugin calls: 200 carrying 2800 jobs, 14.0 a call; 30 carried one job (15% of calls)"
		if got := pluginCallsLine(res); got != want {
			t.Errorf("line = %q\nwant   %q", got, want)
		}
	})

	t.Run("NoCallsNoLine", func(t *testing.T) {
		t.Parallel()
		res := newMode(ModeThroughput, "x")
		recordPluginCalls(res, pluginCallCount{calls: 5}, pluginCallCount{calls: 5})
		if line := pluginCallsLine(res); line != "" || len(res.Extra) != 0 {
			t.Errorf("no calls made: line %q, extras %v; want neither", line, res.Extra)
		}
	})
}
