package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/firestore"
	"github.com/headhunter/hh-enrich-svc/worker"
)

func TestPprofAddrMustBeOnLoopback(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		"":               true,
		"127.0.0.1:0":    true,
		"localhost:6060": true,
		"[::1]:6060":     true,
		"0.0.0.0:6060":   false,
		":6060":          false,
		"10.0.0.5:6060":  false,
		"6060":           false,
	} {
		cfg, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none", "ENRICH_PPROF_ADDR": addr}))
		if (err == nil) != ok {
			t.Errorf("ENRICH_PPROF_ADDR=%q: err %v, want accepted %v", addr, err, ok)
		}
		if ok && cfg.PprofAddr != addr {
			t.Errorf("ENRICH_PPROF_ADDR=%q read as %q", addr, cfg.PprofAddr)
		}
	}
}

// currentLayer is the layer label of the calling goroutine, read from a goroutine
// profile: the goroutine whose stack is inside currentLayer is the caller.
func currentLayer(t *testing.T) string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 0); err != nil {
		t.Fatal(err)
	}
	prof, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range prof.Sample {
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if strings.HasSuffix(line.Function.Name, ".currentLayer") {
					return strings.Join(s.Label[layerLabel], ",")
				}
			}
		}
	}
	t.Fatal("the calling goroutine is not in its own goroutine profile")
	return ""
}

// layerProbe answers every call of the worker's dependencies and records the
// caller's layer in each.
type layerProbe struct {
	t     *testing.T
	seen  map[string]string // method → layer
	state string
}

func (p *layerProbe) note(method string) { p.seen[method] = currentLayer(p.t) }

func (p *layerProbe) Lease(context.Context) (*store.Lease, error) { p.note("Lease"); return nil, nil }
func (p *layerProbe) WaitForWork(context.Context, time.Duration) error {
	p.note("WaitForWork")
	return nil
}
func (p *layerProbe) Heartbeat(context.Context, *store.Lease) error { p.note("Heartbeat"); return nil }
func (p *layerProbe) Complete(context.Context, *store.Lease, json.RawMessage) error {
	p.note("Complete")
	return nil
}
func (p *layerProbe) Fail(context.Context, *store.Lease, store.JobError) (bool, error) {
	p.note("Fail")
	return false, nil
}
func (p *layerProbe) Release(context.Context, *store.Lease) error { p.note("Release"); return nil }
func (p *layerProbe) DeferForRateLimit(context.Context, *store.Lease, store.RateLimitDeferral) error {
	p.note("DeferForRateLimit")
	return nil
}
func (p *layerProbe) SaveCheckpoint(context.Context, *store.Lease, json.RawMessage) error {
	p.note("SaveCheckpoint")
	return nil
}
func (p *layerProbe) LeaseBatch(context.Context, int) ([]*store.Lease, error) {
	p.note("LeaseBatch")
	return nil, nil
}
func (p *layerProbe) HeartbeatMany(context.Context, []*store.Lease) ([]*store.Lease, error) {
	p.note("HeartbeatMany")
	return nil, nil
}
func (p *layerProbe) EndMany(context.Context, []store.Ending) []store.Ended {
	p.note("EndMany")
	return nil
}
func (p *layerProbe) AddTokenUsage(context.Context, string, store.TokenUsage) error {
	p.note("AddTokenUsage")
	return nil
}
func (p *layerProbe) Enrich(context.Context, *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	p.note("Enrich")
	return nil, nil
}
func (p *layerProbe) EnrichBatch(context.Context, *enrichv1.EnrichBatchRequest) (*enrichv1.EnrichBatchResponse, error) {
	p.note("EnrichBatch")
	return nil, nil
}
func (p *layerProbe) EnrichSplit(context.Context, *enrichv1.EnrichRequest) (*enrichv1.EnrichResponse, error) {
	p.note("EnrichSplit")
	return nil, nil
}
func (p *layerProbe) Load(context.Context, string, string, json.RawMessage) (map[string]any, error) {
	p.note("Load")
	return nil, nil
}
func (p *layerProbe) SaveEnrichment(context.Context, string, string, map[string]any, firestore.ProcessingMetadata) error {
	p.note("SaveEnrichment")
	return nil
}
func (p *layerProbe) Upsert(context.Context, embed.UpsertRequest) (embed.Outcome, error) {
	p.note("Upsert")
	return embed.Outcome{}, nil
}
func (p *layerProbe) State() string { return p.state }

// plainEmbedder is an embedder without a breaker.
type plainEmbedder struct{}

func (plainEmbedder) Upsert(context.Context, embed.UpsertRequest) (embed.Outcome, error) {
	return embed.Outcome{}, nil
}

func TestLayeredDependenciesRunEachCallInItsLayer(t *testing.T) {
	// Not parallel: it relabels the test's own goroutine.
	defer pprof.SetGoroutineLabels(context.Background())
	probe := &layerProbe{t: t, seen: map[string]string{}, state: embed.StateOpen}
	m := &Main{Config: Config{PprofAddr: "127.0.0.1:0"}}
	cfg := worker.Config{Candidates: probe, Embedder: probe}
	s, e := m.layered(probe, probe, &cfg)
	ctx := context.Background()
	_, _ = s.Lease(ctx)
	_ = s.WaitForWork(ctx, 0)
	_ = s.Heartbeat(ctx, nil)
	_ = s.Complete(ctx, nil, nil)
	_, _ = s.Fail(ctx, nil, store.JobError{})
	_ = s.Release(ctx, nil)
	_ = s.DeferForRateLimit(ctx, nil, store.RateLimitDeferral{})
	_ = s.SaveCheckpoint(ctx, nil, nil)
	_, _ = s.LeaseBatch(ctx, 1)
	_, _ = s.HeartbeatMany(ctx, nil)
	_ = s.EndMany(ctx, nil)
	_ = s.AddTokenUsage(ctx, "", store.TokenUsage{})
	_, _ = e.Enrich(ctx, nil)
	_, _ = e.EnrichBatch(ctx, nil)
	_, _ = e.EnrichSplit(ctx, nil)
	_, _ = cfg.Candidates.Load(ctx, "", "", nil)
	_ = cfg.Candidates.SaveEnrichment(ctx, "", "", nil, firestore.ProcessingMetadata{})
	_, _ = cfg.Embedder.Upsert(ctx, embed.UpsertRequest{})

	want := map[string]string{"Enrich": "pool", "EnrichBatch": "pool", "EnrichSplit": "pool",
		"Load": "embed", "SaveEnrichment": "embed", "Upsert": "embed"}
	for _, method := range []string{"Lease", "WaitForWork", "Heartbeat", "Complete", "Fail", "Release",
		"DeferForRateLimit", "SaveCheckpoint", "LeaseBatch", "HeartbeatMany", "EndMany", "AddTokenUsage"} {
		want[method] = "store"
	}
	for method, layer := range want {
		if probe.seen[method] != layer {
			t.Errorf("%s ran in layer %q, want %q", method, probe.seen[method], layer)
		}
	}
	if got := currentLayer(t); got != "worker" {
		t.Errorf("after the calls the goroutine is in layer %q, want worker", got)
	}
	// The worker reads the embed breaker's state through the decorator.
	if st, ok := cfg.Embedder.(interface{ State() string }); !ok || st.State() != embed.StateOpen {
		t.Errorf("the embed breaker's state is hidden by the decorator")
	}
	// An embedder without a breaker does not gain one.
	plain := worker.Config{Embedder: plainEmbedder{}}
	m.layered(probe, probe, &plain)
	if _, ok := plain.Embedder.(interface{ State() string }); ok {
		t.Error("the decorator shows a breaker state the embedder does not have")
	}
}

func TestLayeredIsOffWithoutPprofAddr(t *testing.T) {
	t.Parallel()
	probe := &layerProbe{t: t, seen: map[string]string{}}
	m := &Main{}
	cfg := worker.Config{Candidates: probe, Embedder: probe}
	s, e := m.layered(probe, probe, &cfg)
	if s != worker.Store(probe) || e != worker.Enricher(probe) || cfg.Candidates != worker.CandidateStore(probe) ||
		cfg.Embedder != worker.Embedder(probe) {
		t.Fatal("production wiring wraps the worker's dependencies")
	}
}

// pprofAddr is the profiling listener's address from the "listening" line.
func (s *service) pprofAddr() string {
	s.t.Helper()
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["@message"] == "listening" && entry["pprof_addr"] != nil {
			return fmt.Sprint(entry["pprof_addr"])
		}
	}
	s.t.Fatalf("no pprof_addr on the listening line:\n%s", s.logs.String())
	return ""
}

func post(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestPprofListenerProfilesByLayerOffTheAPIPort(t *testing.T) {
	t.Parallel()
	s := startService(t, "ENRICH_PPROF_ADDR=127.0.0.1:0")
	base := "http://" + s.pprofAddr()
	if code, body := post(t, base+"/debug/cpuprofile/start"); code != http.StatusNoContent {
		t.Fatalf("start: %d %s", code, body)
	}
	if code, _ := post(t, base+"/debug/cpuprofile/start"); code != http.StatusConflict {
		t.Fatalf("a second start: %d, want 409", code)
	}
	for _, id := range s.submitMany("tenant-pprof", 40) {
		if job := s.waitForTerminal("tenant-pprof", id); job["status"] != "completed" {
			t.Fatalf("job %s: %v", id, job)
		}
	}
	code, raw := post(t, base+"/debug/cpuprofile/stop")
	if code != http.StatusOK {
		t.Fatalf("stop: %d %s", code, raw)
	}
	if prof, err := profile.Parse(bytes.NewReader(raw)); err != nil || len(prof.SampleType) == 0 || prof.SampleType[len(prof.SampleType)-1].Type != "cpu" {
		t.Fatalf("the stopped profile is not a CPU profile: %v", err)
	}
	// The parts' long-lived goroutines carry their layers: the HTTP server's
	// accept loop, the pool's supervisors, and the worker's lease loop, idle in its
	// store call (WaitForWork).
	resp, err := http.Get(base + "/debug/pprof/goroutine")
	if err != nil {
		t.Fatal(err)
	}
	prof, err := profile.Parse(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var layers []string
	for _, smp := range prof.Sample {
		layers = append(layers, smp.Label[layerLabel]...)
	}
	for _, want := range []string{"http", "pool", "store"} {
		if !slices.Contains(layers, want) {
			t.Errorf("no goroutine in layer %q (layers seen: %v)", want, layers)
		}
	}
	// Nothing of it on the API's port.
	for _, path := range []string{"/debug/pprof/", "/debug/cpuprofile/start"} {
		resp, err := http.Post(s.baseURL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("the API's port answers %s: %d", path, resp.StatusCode)
		}
	}
}

// noopStore answers Heartbeat at once: what a layered call adds shows alone.
type noopStore struct{ worker.Store }

func (noopStore) Heartbeat(context.Context, *store.Lease) error { return nil }

// BenchmarkLayeredCall is the cost of moving a call into its layer and back: a
// worker's store call, direct and through the decorator.
func BenchmarkLayeredCall(b *testing.B) {
	defer pprof.SetGoroutineLabels(context.Background())
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		s    worker.Store
	}{{"direct", noopStore{}}, {"layered", layeredStore{noopStore{}}}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = tc.s.Heartbeat(ctx, nil)
			}
		})
	}
}
