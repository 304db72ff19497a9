package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Mode statuses.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
	StatusError       = "error"
)

// ModeResult is what one mode measured.
type ModeResult struct {
	// Mode is the -modes name; Label says what ran, for the table and the chart.
	Mode  string `json:"mode"`
	Label string `json:"label"`
	// Status is ok, unavailable (the service lacks a route it needs) or error.
	Status string `json:"status"`
	Note   string `json:"note,omitempty"`

	Jobs          int     `json:"jobs"`
	Completed     int     `json:"completed"`
	Failed        int     `json:"failed"`
	Seconds       float64 `json:"seconds"`
	JobsPerSecond float64 `json:"jobsPerSecond"`
	// Efficiency is JobsPerSecond ÷ the limit's records/s (0 when either is unknown).
	Efficiency float64 `json:"efficiencyVsLimit,omitempty"`

	// LatencyMs summarises per-job (or per-request) latency; LatencyBasis says
	// from when to when it was measured.
	LatencyMs    *LatencySummary `json:"latencyMs,omitempty"`
	LatencyBasis string          `json:"latencyBasis,omitempty"`
	// Extra holds mode-specific numbers (rates asked and achieved, drops, …).
	Extra map[string]float64 `json:"extra,omitempty"`
	// PhasesMs summarises the phases the service recorded on the jobs read back
	// (result.phaseDurationsMs), plus, for requests timed by the harness, the time
	// outside them.
	PhasesMs map[string]*LatencySummary `json:"phasesMs,omitempty"`
	// CPUSeconds is the CPU each part of the stack used during the mode: where
	// the time went.
	CPUSeconds CPUUse `json:"cpuSeconds,omitempty"`
	// CPULayers splits the service's CPU by layer (the throughput and batch
	// runs of a stack of our own).
	CPULayers *LayerCPU `json:"cpuByLayer,omitempty"`

	latencies []time.Duration // for the chart; not written
}

// newMode returns a result in progress.
func newMode(mode, label string) *ModeResult {
	return &ModeResult{Mode: mode, Label: label, Status: StatusOK, Extra: map[string]float64{}}
}

// fail marks the result as an error with err's text.
func (m *ModeResult) fail(err error) *ModeResult {
	m.Status, m.Note = StatusError, err.Error()
	return m
}

// unavailable marks the result as not measurable on this service.
func (m *ModeResult) unavailable(why string) *ModeResult {
	m.Status, m.Note = StatusUnavailable, why
	return m
}

// finish fills the rate and the latency summary.
func (m *ModeResult) finish(elapsed time.Duration, latencies []time.Duration) *ModeResult {
	m.Seconds = round2(elapsed.Seconds())
	m.JobsPerSecond = round1(rate(m.Completed, elapsed))
	m.latencies = latencies
	m.LatencyMs = Summarize(latencies)
	return m
}

// usable reports whether the mode measured a rate.
func (m *ModeResult) usable() bool { return m != nil && m.Status == StatusOK && m.JobsPerSecond > 0 }

// HostInfo describes the machine the numbers come from.
type HostInfo struct {
	CPUs       int    `json:"cpus"`
	GoVersion  string `json:"goVersion"`
	LoadBefore string `json:"loadAverageBefore"`
	LoadAfter  string `json:"loadAverageAfter"`
}

// EmbeddingReport says whether jobs upserted embeddings, from the job results seen.
type EmbeddingReport struct {
	// Status is "enabled" when some job upserted, "disabled" when every job skipped
	// with embedding_disabled, else "failing" or "unknown" (no job seen).
	Status        string         `json:"status"`
	Upserted      int            `json:"upserted"`
	Seen          int            `json:"seen"`
	SkipReasons   map[string]int `json:"skipReasons,omitempty"`
	ServerUpserts int64          `json:"embedServerUpserts"`
	// ServerConnections is how many connections those upserts came over: near
	// the worker count when the service reuses them, near the upserts when not.
	ServerConnections int64 `json:"embedServerConnections"`
}

// Results is the whole run, as written to the JSON file.
type Results struct {
	StartedAt       string          `json:"startedAt"`
	DurationSeconds float64         `json:"durationSeconds"`
	Host            HostInfo        `json:"host"`
	Target          string          `json:"target"` // "local stack" or the -url
	Settings        map[string]any  `json:"settings"`
	Modes           []*ModeResult   `json:"modes"`
	PoolOverSpawn   float64         `json:"poolOverSpawn,omitempty"`
	Memory          *StackMemory    `json:"memory,omitempty"`
	Embedding       EmbeddingReport `json:"embedding"`
	Targets         []TargetCheck   `json:"targets"`
}

// mode returns the result of mode, nil when it did not run.
func (r *Results) mode(mode string) *ModeResult {
	for _, m := range r.Modes {
		if m.Mode == mode {
			return m
		}
	}
	return nil
}

// WriteJSON writes r to path, creating its folder.
func (r *Results) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
