package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// LayerCPU splits the service's CPU during a mode by layer, from a CPU profile of
// the service whose goroutines carry a "layer" label (the service's profiling.go).
type LayerCPU struct {
	// ProfileSeconds is the CPU the profile sampled in each layer; samples
	// without a label (the garbage collector's workers, the scheduler) are "other".
	ProfileSeconds map[string]float64 `json:"profileSeconds,omitempty"`
	// MsPerJob is each layer's share of the profile applied to the service's CPU
	// as /proc counted it, per completed job; "plugins" and "redis" are their
	// processes' CPU per job, from /proc.
	MsPerJob map[string]float64 `json:"msPerJob,omitempty"`
	// ProfilePath is the service's CPU profile of the mode, for go tool pprof
	// (-tagfocus=layer=worker shows one layer).
	ProfilePath string `json:"profilePath,omitempty"`
	// Note says why the split is missing.
	Note string `json:"note,omitempty"`
}

// layerOrder is the order of the layers in the table's line; a layer the service
// reports that is not listed here comes after them. The line always shows the
// first six (a layer the profile never sampled is 0.00), the rest when sampled.
var layerOrder = []string{"http", "store", "pool", "embed", "worker", "other", "profiler"}

const alwaysShown = 6

// layerLabel is the pprof label the service names layers with.
const layerLabel = "layer"

// layerProfile is a CPU profile of the service in progress.
type layerProfile struct {
	url    string
	path   string // where the raw profile goes
	client *http.Client
	err    error // starting failed: finish only reports it
}

// startLayerProfile starts a CPU profile of the service, or returns nil when the
// stack serves no profiles (-cpu-layers=false).
func (m *Main) startLayerProfile(ctx context.Context, mode string) *layerProfile {
	if m.stack == nil || len(m.stack.Services) == 0 || m.stack.Services[0].PprofURL == "" {
		return nil
	}
	p := &layerProfile{url: m.stack.Services[0].PprofURL, client: &http.Client{Timeout: 30 * time.Second},
		path: filepath.Join(filepath.Dir(m.Config.OutPath), mode+".cpu.pprof")}
	_, p.err = p.post(ctx, "/debug/cpuprofile/start")
	return p
}

// finish stops the profile and splits the mode's service CPU by layer.
func (p *layerProfile) finish(ctx context.Context, res *ModeResult) *LayerCPU {
	if p.err != nil {
		return &LayerCPU{Note: "profile not started: " + p.err.Error()}
	}
	raw, err := p.post(context.WithoutCancel(ctx), "/debug/cpuprofile/stop")
	if err != nil {
		return &LayerCPU{Note: "profile not read: " + err.Error()}
	}
	seconds, err := cpuByLayer(raw)
	if err != nil {
		return &LayerCPU{Note: err.Error()}
	}
	l := &LayerCPU{ProfileSeconds: seconds, MsPerJob: msPerJobByLayer(seconds, res.CPUSeconds, res.Completed)}
	if err := os.WriteFile(p.path, raw, 0o644); err == nil {
		l.ProfilePath = p.path
	}
	return l
}

func (p *layerProfile) post(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// cpuByLayer sums a CPU profile's samples by their layer label, in seconds.
func cpuByLayer(raw []byte) (map[string]float64, error) {
	prof, err := profile.Parse(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading the CPU profile: %w", err)
	}
	cpu := -1
	for i, st := range prof.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			cpu = i
		}
	}
	if cpu < 0 {
		return nil, fmt.Errorf("the profile has no cpu/nanoseconds samples")
	}
	seconds := map[string]float64{}
	for _, s := range prof.Sample {
		layer := "other"
		if l := s.Label[layerLabel]; len(l) > 0 {
			layer = l[0]
		}
		seconds[layer] += float64(s.Value[cpu]) / 1e9
	}
	for layer, s := range seconds {
		seconds[layer] = round3(s)
	}
	return seconds, nil
}

// msPerJobByLayer applies each layer's share of the profile to the service's CPU
// (the profile samples at 100 Hz and /proc counts every tick, so the shares come
// from the one and the total from the other), per completed job, and adds the
// plugins' and Redis's CPU per job.
func msPerJobByLayer(seconds map[string]float64, use CPUUse, completed int) map[string]float64 {
	var sampled float64
	for _, s := range seconds {
		sampled += s
	}
	if completed == 0 || sampled == 0 {
		return nil
	}
	perJob := func(s float64) float64 { return round3(s * 1000 / float64(completed)) }
	out := map[string]float64{}
	for layer, s := range seconds {
		out[layer] = perJob(use["service"] * s / sampled)
	}
	for _, role := range []string{"plugins", "redis"} {
		if s, ok := use[role]; ok {
			out[role] = perJob(s)
		}
	}
	return out
}

// layersLine gives the service's CPU per job by layer, then the plugins' and
// Redis's; "" when the mode was not profiled.
func layersLine(m *ModeResult) string {
	l := m.CPULayers
	switch {
	case l == nil:
		return ""
	case l.Note != "":
		return "cpu by layer: " + l.Note
	case len(l.MsPerJob) == 0:
		return ""
	}
	var layers []string
	for i, name := range slices.Concat(layerOrder, otherLayers(l.MsPerJob)) {
		if v, ok := l.MsPerJob[name]; ok || i < alwaysShown {
			layers = append(layers, fmt.Sprintf("%s %.2f", name, v))
		}
	}
	line := "cpu ms per job by layer: " + strings.Join(layers, ", ")
	for _, role := range []string{"plugins", "redis"} {
		if v, ok := l.MsPerJob[role]; ok {
			line += fmt.Sprintf("; %s %.2f", role, v)
		}
	}
	return line
}

// otherLayers are the layers of perJob that layerOrder does not list (a label
// the service added later), plugins and redis aside.
func otherLayers(perJob map[string]float64) []string {
	var extra []string
	for name := range perJob {
		if name != "plugins" && name != "redis" && !slices.Contains(layerOrder, name) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	return extra
}
