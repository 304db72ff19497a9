package pool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
)

// BenchmarkEnrich measures one enrichment of a realistic candidate four ways, side
// by side in one run: one long-lived process called in sequence, the pool called
// concurrently, 100-candidate EnrichBatch calls, and the seed's design of spawning
// the Python CLI per job. The last sub-benchmark reports the pool's speed-up over
// spawning. Run: go test -run '^$' -bench Enrich ./pool/
func BenchmarkEnrich(b *testing.B) {
	docs := benchCandidates(b, 200)
	rates := map[string]float64{}

	b.Run("OneProcessSequential", func(b *testing.B) {
		p := benchPool(b, 1)
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			if _, err := enrich(context.Background(), p, docs[i%len(docs)]); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		rates["sequential"] = reportCalls(b, lat, 1)
	})

	// The pool as the worker uses it: waiting calls coalesce into one EnrichBatch
	// (coalesce.go); and beside it, the same with coalescing off.
	for _, run := range []struct {
		name, rate  string
		coalesceMax int
	}{{"PoolConcurrent", "pool", 0}, {"PoolConcurrentUncoalesced", "uncoalesced", 1}} {
		b.Run(run.name, func(b *testing.B) {
			p := benchPool(b, runtime.NumCPU(), run.coalesceMax)
			rates[run.rate] = reportCalls(b, concurrentCalls(b, p, docs), 1)
		})
	}

	b.Run("Batch100", func(b *testing.B) {
		p := benchPool(b, 1)
		items := make([]*enrichv1.EnrichRequest, 100)
		for i := range items {
			items[i] = &enrichv1.EnrichRequest{JobId: fmt.Sprint(i), CandidateJson: docs[i%len(docs)]}
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			if _, err := p.EnrichBatch(context.Background(), &enrichv1.EnrichBatchRequest{Items: items}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		rates["batch"] = reportCalls(b, lat, len(items))
	})

	b.Run("SpawnPerCall", func(b *testing.B) {
		python, script := pluginPaths(b)
		cli := filepath.Join(filepath.Dir(script), "run_enrich_job.py")
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			cmd := exec.Command(python, cli, "--candidate-id", "tenant-alpha_bench", "--json")
			cmd.Stdin = bytes.NewReader(docs[i%len(docs)])
			if out, err := cmd.Output(); err != nil {
				b.Fatalf("spawn: %v: %s", err, out)
			}
			lat = append(lat, time.Since(start))
		}
		rates["spawn"] = reportCalls(b, lat, 1)
	})

	b.Run("PoolOverSpawn", func(b *testing.B) {
		b.ReportMetric(0, "ns/op") // this row only divides the rows above
		if rates["spawn"] == 0 {
			b.Skip("needs SpawnPerCall in the same run")
		}
		b.ReportMetric(rates["pool"]/rates["spawn"], "x_pool/spawn")
		b.ReportMetric(rates["sequential"]/rates["spawn"], "x_sequential/spawn")
		b.ReportMetric(rates["batch"]/rates["spawn"], "x_batch/spawn")
		b.ReportMetric(rates["uncoalesced"]/rates["spawn"], "x_uncoalesced/spawn")
	})
}

// reportCalls reports records/s and per-call p50/p99, and returns records/s.
func reportCalls(b *testing.B, lat []time.Duration, recordsPerCall int) float64 {
	if len(lat) == 0 {
		return 0
	}
	rate := float64(len(lat)*recordsPerCall) / b.Elapsed().Seconds()
	slices.Sort(lat)
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_µs")
	b.ReportMetric(0, "ns/op") // per-op time is meaningless across these shapes
	return rate
}

// concurrentCalls enriches docs from 2×GOMAXPROCS callers, which keep every
// process busy, and returns each call's latency.
func concurrentCalls(b *testing.B, p *Pool, docs [][]byte) []time.Duration {
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([]time.Duration, 0, 1024)
		i := 0
		for pb.Next() {
			start := time.Now()
			if _, err := enrich(context.Background(), p, docs[i%len(docs)]); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
			i++
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	return lat
}

// benchPool starts a pool of size processes; coalesceMax 0 keeps the default.
func benchPool(b *testing.B, size int, coalesceMax ...int) *Pool {
	b.Helper()
	python, script := pluginPaths(b)
	cfg := Config{
		Size: size, PythonPath: python, PluginScript: script,
		Env:    []string{"PATH=" + os.Getenv("PATH")},
		Logger: hclog.NewNullLogger(),
	}
	if len(coalesceMax) > 0 {
		cfg.CoalesceMax = coalesceMax[0]
	}
	p, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p
}

// repoRoot is the checkout's root (this package's parent folder).
func repoRoot(tb testing.TB) string {
	dir, err := filepath.Abs("..")
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// pluginPaths are the venv interpreter and the plugin server of this checkout.
func pluginPaths(tb testing.TB) (python, script string) {
	root := repoRoot(tb)
	return filepath.Join(root, ".venv", "bin", "python"), filepath.Join(root, "cloud_run_worker", "plugin_server.py")
}

// benchCandidates reads n candidates with resume text from the repository's data set
// (cmd/hh-enrich-data),
// so every run measures the same work.
func benchCandidates(tb testing.TB, n int) [][]byte {
	path := filepath.Join(repoRoot(tb), "cmd", "hh-enrich-data", "testdata", "candidates.jsonl")
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var docs [][]byte
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() && len(docs) < n {
		var doc map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &doc); err != nil {
			tb.Fatal(err)
		}
		if text, _ := doc["resume_text"].(string); strings.TrimSpace(text) != "" {
			docs = append(docs, slices.Clone(scanner.Bytes()))
		}
	}
	return docs
}
