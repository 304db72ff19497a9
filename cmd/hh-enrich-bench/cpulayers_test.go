package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// cpuProfileOf is a CPU profile (as the service's /debug/cpuprofile/stop writes
// it) with one sample per entry: its layer label ("" for none) and nanoseconds.
func cpuProfileOf(t *testing.T, samples []struct {
	layer string
	nanos int64
}) []byte {
	t.Helper()
	fn := &profile.Function{ID: 1, Name: "main.work"}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
		Function:   []*profile.Function{fn},
		Location:   []*profile.Location{loc},
	}
	for _, s := range samples {
		smp := &profile.Sample{Location: []*profile.Location{loc}, Value: []int64{s.nanos / 10_000_000, s.nanos}}
		if s.layer != "" {
			smp.Label = map[string][]string{layerLabel: {s.layer}}
		}
		p.Sample = append(p.Sample, smp)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCPUByLayerSumsSamplesByLabel(t *testing.T) {
	t.Parallel()
	raw := cpuProfileOf(t, []struct {
		layer string
		nanos int64
	}{{"http", 200e6}, {"http", 100e6}, {"store", 100e6}, {"pool", 50e6}, {"", 150e6}, {"embed", 400e6}})
	got, err := cpuByLayer(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"http": 0.3, "store": 0.1, "pool": 0.05, "other": 0.15, "embed": 0.4}
	if len(got) != len(want) {
		t.Fatalf("layers %v, want %v", got, want)
	}
	for layer, s := range want {
		if got[layer] != s {
			t.Errorf("%s: %v s, want %v", layer, got[layer], s)
		}
	}
	if _, err := cpuByLayer([]byte("not a profile")); err == nil {
		t.Error("garbage parsed as a profile")
	}
}

func TestMsPerJobByLayerSharesTheServiceCPU(t *testing.T) {
	t.Parallel()
	// The profile saw 0.8 s (http 0.4, pool 0.2, other 0.2); /proc counted 1.0 s of
	// service CPU over 1,000 jobs: 1 ms a job, split 50/25/25.
	got := msPerJobByLayer(map[string]float64{"http": 0.4, "pool": 0.2, "other": 0.2},
		CPUUse{"service": 1.0, "plugins": 2.0, "redis": 0.25, "harness": 0.5}, 1000)
	want := map[string]float64{"http": 0.5, "pool": 0.25, "other": 0.25, "plugins": 2.0, "redis": 0.25}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v ms, want %v", k, got[k], v)
		}
	}
	if msPerJobByLayer(map[string]float64{"http": 0.4}, CPUUse{"service": 1}, 0) != nil {
		t.Error("a mode with no completed job has a per-job split")
	}
}

func TestLayersLineInTheTableAndTheJSON(t *testing.T) {
	t.Parallel()
	r := tableResults()
	r.Modes[1].CPULayers = &LayerCPU{
		ProfileSeconds: map[string]float64{"http": 0.21},
		MsPerJob: map[string]float64{"other": 0.1, "pool": 0.09, "store": 0.12, "http": 0.21,
			"worker": 0.07, "plugins": 1, "redis": 0.17, "newlayer": 0.01},
	}
	r.Modes[2].CPULayers = &LayerCPU{Note: "profile not started: 409"}
	var buf bytes.Buffer
	if err := WriteTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// embed never sampled: 0.00; profiler neither, and not shown.
		"    cpu ms per job by layer: http 0.21, store 0.12, pool 0.09, embed 0.00, worker 0.07, other 0.10, newlayer 0.01; plugins 1.00; redis 0.17\n",
		"    cpu by layer: profile not started: 409\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	raw, err := json.Marshal(r.Modes[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"cpuByLayer":{"profileSeconds":{"http":0.21},"msPerJob":{`) {
		t.Errorf("results.json lacks the split: %s", raw)
	}
}
