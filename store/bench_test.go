package store

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkRedisStore measures the store's hot paths on a single Redis and
// on the three-master Cluster, each reached over loopback TCP. Besides ns/op
// it reports ops/s, the figure DESIGN §7 compares with asynq.
func BenchmarkRedisStore(b *testing.B) {
	for _, bk := range []*backend{redisBackend, clusterBackend} {
		b.Run(bk.name, func(b *testing.B) {
			benchSubmit(b, bk)
			benchSubmitParallel(b, bk)
			benchLeaseComplete(b, bk)
			benchLeaseCompleteParallel(b, bk)
			benchSubmitBatch(b, bk)
			benchLeaseEndBatch(b, bk)
		})
	}
}

// benchStore returns a store with a prefix of its own on bk; its keys are
// deleted when b ends.
func benchStore(b *testing.B, bk *backend) *RedisStore {
	b.Helper()
	client := bk.connect(b, "bench")
	prefix := "{bench:" + b.Name() + "}:"
	s, err := NewRedisStore(client, Config{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	bundle := &testBundle{bk: bk, client: client, keys: s.keys}
	b.Cleanup(func() { bundle.deleteKeys(b) })
	return s
}

func reportOpsPerSecond(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func benchSubmit(b *testing.B, bk *backend) {
	b.Run("Submit", func(b *testing.B) {
		s := benchStore(b, bk)
		for i := 0; b.Loop(); i++ {
			if _, _, err := s.Submit(b.Context(), request(fmt.Sprint("cand-", i))); err != nil {
				b.Fatal(err)
			}
		}
		reportOpsPerSecond(b)
	})
}

// benchSubmitParallel submits from 16 goroutines, as a batch client or many
// API requests at once would.
func benchSubmitParallel(b *testing.B, bk *backend) {
	b.Run("Submit16", func(b *testing.B) {
		s := benchStore(b, bk)
		var n atomic.Int64
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.Submit(b.Context(), request(fmt.Sprint("cand-", n.Add(1)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportOpsPerSecond(b)
	})
}

// fillQueue submits n jobs, from several goroutines to save time.
func fillQueue(b *testing.B, s *RedisStore, n int) {
	b.Helper()
	req := request("cand-1")
	req.Force = true // every submit a new job, across the benchmark's runs
	var wg sync.WaitGroup
	const submitters = 16
	for w := range submitters {
		wg.Go(func() {
			for i := w; i < n; i += submitters {
				if _, _, err := s.Submit(b.Context(), req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func benchLeaseComplete(b *testing.B, bk *backend) {
	b.Run("LeaseComplete", func(b *testing.B) {
		s := benchStore(b, bk)
		fillQueue(b, s, b.N)
		b.ResetTimer()
		for range b.N {
			l, err := s.Lease(b.Context())
			if err != nil || l == nil {
				b.Fatalf("Lease = %v, %v", l, err)
			}
			if err := s.Complete(b.Context(), l, nil); err != nil {
				b.Fatal(err)
			}
		}
		reportOpsPerSecond(b)
	})
}

// benchLeaseCompleteParallel leases and completes from 16 goroutines, as 16
// worker slots would (asynq's figure in DESIGN §7 is at concurrency 10-64).
func benchLeaseCompleteParallel(b *testing.B, bk *backend) {
	b.Run("LeaseComplete16", func(b *testing.B) {
		s := benchStore(b, bk)
		fillQueue(b, s, b.N)
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l, err := s.Lease(b.Context())
				if err != nil || l == nil {
					b.Errorf("Lease = %v, %v", l, err)
					return
				}
				if err := s.Complete(b.Context(), l, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportOpsPerSecond(b)
	})
}

// benchSubmitBatch submits batches of MaxBatchSize jobs, as the batch route does;
// ops/s counts jobs.
func benchSubmitBatch(b *testing.B, bk *backend) {
	b.Run("SubmitBatch1000", func(b *testing.B) {
		s := benchStore(b, bk)
		reqs := make([]SubmitRequest, MaxBatchSize)
		for i := range reqs {
			reqs[i] = request(fmt.Sprint("cand-", i))
			reqs[i].Force = true // every batch new jobs
		}
		jobs := 0
		for b.Loop() {
			if _, _, err := s.SubmitBatch(b.Context(), "tenant-a", reqs); err != nil {
				b.Fatal(err)
			}
			jobs += len(reqs)
		}
		b.ReportMetric(float64(jobs)/b.Elapsed().Seconds(), "ops/s")
	})
}

// benchLeaseEndBatch leases and completes jobs 16 at a time from one goroutine, as
// the worker's batch path does (LeaseBatch, EndMany); ops/s counts jobs.
func benchLeaseEndBatch(b *testing.B, bk *backend) {
	const k = 16
	b.Run("LeaseEndBatch16", func(b *testing.B) {
		s := benchStore(b, bk)
		fillQueue(b, s, b.N*k)
		b.ResetTimer()
		for range b.N {
			leases, err := s.LeaseBatch(b.Context(), k)
			if err != nil || len(leases) != k {
				b.Fatalf("LeaseBatch = %d leases, %v", len(leases), err)
			}
			endings := make([]Ending, len(leases))
			for i, l := range leases {
				endings[i] = Ending{Lease: l}
			}
			for _, e := range s.EndMany(b.Context(), endings) {
				if e.Err != nil {
					b.Fatal(e.Err)
				}
			}
		}
		b.ReportMetric(float64(b.N*k)/b.Elapsed().Seconds(), "ops/s")
	})
}
