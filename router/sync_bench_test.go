package router

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// BenchmarkSyncSubmit measures an "async": false request end to end on a real Redis:
// submit, a worker (here: one that completes each job at once) leases and completes
// it, the completion is published, the waiting request wakes and answers 200. The
// p50/p99 show how soon after completion a sync wait returns; nothing polls.
// Run: go test -run '^$' -bench SyncSubmit ./router/
func BenchmarkSyncSubmit(b *testing.B) {
	bundle := setup(b)
	n := bundle.store.NewNotifier()
	if err := n.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer n.Stop()
	h, err := New(Config{Store: bundle.store, Watcher: n, SyncWait: time.Minute, Auth: noAuth(b), Logger: hclog.NewNullLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		for ctx.Err() == nil {
			lease, err := bundle.store.Lease(ctx)
			if err != nil || lease == nil {
				_ = bundle.store.WaitForWork(ctx, 100*time.Millisecond)
				continue
			}
			_ = bundle.store.Complete(ctx, lease, json.RawMessage(`{"overall_score":0.5}`))
		}
	}()
	defer func() { cancel(); <-workerDone }()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		body := fmt.Sprintf(`{"candidateId":"sync-%d","async":false}`, i)
		req := httptest.NewRequest(http.MethodPost, "/v1/enrich/profile", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant-ID", "tenant-alpha")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("sync submit: %d %s", rec.Code, rec.Body.String())
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_µs")
}
