package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// BenchmarkRedisStore measures the store's hot paths on a single Redis and
// on the three-master Cluster, each reached over loopback TCP. Besides ns/op
// it reports ops/s, the figure DESIGN §7 compares with asynq. On the single
// Redis, asynq's Enqueue runs right beside our Submit (SubmitAsynq,
// Submit16Asynq: same server, same payloads, same metric), so one run
// compares the two on whatever the machine is doing at the time:
//
//	go test -run '^$' -bench 'RedisStore/Redis/Submit' -benchtime 3s ./store/
func BenchmarkRedisStore(b *testing.B) {
	for _, bk := range []*backend{redisBackend, clusterBackend} {
		b.Run(bk.name, func(b *testing.B) {
			benchSubmit(b, bk)
			if bk == redisBackend {
				benchAsynqEnqueue(b, bk)
			}
			benchSubmitParallel(b, bk)
			if bk == redisBackend {
				benchAsynqEnqueueParallel(b, bk)
			}
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

// cpuMeter measures the CPU time a benchmark's ops cost this process
// (go-cpu-µs/op: the client's work, its GC and system calls) and, on the
// single Redis, the redis-server (redis-cpu-µs/op, from INFO cpu). Unlike
// ns/op, these do not grow when other processes take the machine's cores, so
// they tell where a submit's cost is even on a busy machine.
type cpuMeter struct {
	b             *testing.B
	rdb           redis.UniversalClient // nil: the server's CPU is not measured
	goStart       time.Duration
	redisStart    time.Duration
	redisMeasured bool
}

func startCPU(b *testing.B, bk *backend) *cpuMeter {
	m := &cpuMeter{b: b}
	if bk == redisBackend {
		m.rdb = bk.connect(b, "bench-cpu")
		m.redisStart, m.redisMeasured = redisCPU(b, m.rdb)
	}
	m.goStart = processCPU()
	return m
}

// report adds the CPU per op since startCPU, for ops ops.
func (m *cpuMeter) report(ops int) {
	goCPU := processCPU() - m.goStart
	m.b.ReportMetric(float64(goCPU.Microseconds())/float64(ops), "go-cpu-µs/op")
	if m.rdb != nil && m.redisMeasured {
		if end, ok := redisCPU(m.b, m.rdb); ok {
			m.b.ReportMetric(float64((end-m.redisStart).Microseconds())/float64(ops), "redis-cpu-µs/op")
		}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the user and system CPU time the server has used, from INFO cpu.
func redisCPU(b *testing.B, rdb redis.UniversalClient) (time.Duration, bool) {
	info, err := rdb.Info(b.Context(), "cpu").Result()
	if err != nil {
		return 0, false
	}
	var total float64
	found := 0
	for line := range strings.Lines(info) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (name == "used_cpu_user" || name == "used_cpu_sys") {
			seconds, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return 0, false
			}
			total += seconds
			found++
		}
	}
	return time.Duration(total * float64(time.Second)), found == 2
}

// readBenchPayloads reads the candidate documents of the repository's data
// set (cmd/hh-enrich-data), about 2 KB each: what the API's clients send as a
// job's payload. Read once, shared by every submit benchmark.
var readBenchPayloads = sync.OnceValues(func() ([][]byte, error) {
	f, err := os.Open(filepath.Join("..", "cmd", "hh-enrich-data", "testdata", "candidates.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var docs [][]byte
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		docs = append(docs, append([]byte(nil), scanner.Bytes()...))
	}
	return docs, scanner.Err()
})

// payloads makes the payloads of a benchmark's submits.
type payloads [][]byte

func benchPayloads(b *testing.B) payloads {
	b.Helper()
	docs, err := readBenchPayloads()
	if err != nil || len(docs) == 0 {
		b.Fatalf("bench payloads: %d documents, %v", len(docs), err)
	}
	return docs
}

// nth returns the i-th submit's payload: a candidate document with the
// submit's own sequence number first, so every payload is unique (no submit
// can dedupe to another, in any run).
func (p payloads) nth(i int64) json.RawMessage {
	doc := p[i%int64(len(p))]
	out := make([]byte, 0, len(doc)+32)
	out = append(out, `{"benchSeq":`...)
	out = strconv.AppendInt(out, i, 10)
	out = append(out, ',')
	return append(out, doc[1:]...)
}

// request is the i-th submit of a benchmark: a new candidate of tenant-a
// with a candidate-sized payload.
func (p payloads) request(i int64) SubmitRequest {
	req := request(fmt.Sprint("cand-", i))
	req.Payload = p.nth(i)
	return req
}

func benchSubmit(b *testing.B, bk *backend) {
	b.Run("Submit", func(b *testing.B) {
		s, p := benchStore(b, bk), benchPayloads(b)
		cpu := startCPU(b, bk)
		for i := int64(0); b.Loop(); i++ {
			if _, _, err := s.Submit(b.Context(), p.request(i)); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b.N)
		reportOpsPerSecond(b)
	})
}

// asynqBench returns an asynq client on bk's server and a queue name of the
// benchmark's own, whose keys are deleted when b ends. The queue name is the
// only option it sets; everything else is asynq's default (25 retries, 30
// minutes' timeout, a random task id), as a user of asynq would enqueue.
func asynqBench(b *testing.B, bk *backend) (*asynq.Client, string) {
	b.Helper()
	rdb := bk.connect(b, "asynq-bench")
	queue := "bench-" + newToken()
	b.Cleanup(func() {
		ctx := context.WithoutCancel(b.Context())
		iter := rdb.Scan(ctx, 0, "asynq:{"+queue+"}:*", 1000).Iterator()
		for iter.Next(ctx) {
			_ = rdb.Unlink(ctx, iter.Val()).Err()
		}
		_ = rdb.SRem(ctx, "asynq:queues", queue).Err()
	})
	return asynq.NewClientFromRedisClient(rdb), queue
}

// benchAsynqEnqueue is asynq's counterpart of Submit: Client.Enqueue of a task
// with the same payload. Per call asynq encodes a protobuf message and runs
// one script (EXISTS, HSET of 3 fields, LPUSH): no dedupe, no fairness across
// tenants, no counters, no wake-up, no replay record.
func benchAsynqEnqueue(b *testing.B, bk *backend) {
	b.Run("SubmitAsynq", func(b *testing.B) {
		client, queue := asynqBench(b, bk)
		p := benchPayloads(b)
		cpu := startCPU(b, bk)
		for i := int64(0); b.Loop(); i++ {
			task := asynq.NewTask("enrich", p.nth(i))
			if _, err := client.EnqueueContext(b.Context(), task, asynq.Queue(queue)); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b.N)
		reportOpsPerSecond(b)
	})
}

// benchAsynqEnqueueParallel is benchAsynqEnqueue from 16 goroutines.
func benchAsynqEnqueueParallel(b *testing.B, bk *backend) {
	b.Run("Submit16Asynq", func(b *testing.B) {
		client, queue := asynqBench(b, bk)
		p := benchPayloads(b)
		var n atomic.Int64
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		cpu := startCPU(b, bk)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				task := asynq.NewTask("enrich", p.nth(n.Add(1)))
				if _, err := client.EnqueueContext(b.Context(), task, asynq.Queue(queue)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		cpu.report(b.N)
		reportOpsPerSecond(b)
	})
}

// benchSubmitParallel submits from 16 goroutines, as a batch client or many
// API requests at once would.
func benchSubmitParallel(b *testing.B, bk *backend) {
	b.Run("Submit16", func(b *testing.B) {
		s, p := benchStore(b, bk), benchPayloads(b)
		var n atomic.Int64
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		cpu := startCPU(b, bk)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.Submit(b.Context(), p.request(n.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		cpu.report(b.N)
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

// benchSubmitBatch submits batches of MaxBatchSize jobs with candidate-sized
// payloads, as the batch route does; ops/s counts jobs.
func benchSubmitBatch(b *testing.B, bk *backend) {
	b.Run("SubmitBatch1000", func(b *testing.B) {
		s, p := benchStore(b, bk), benchPayloads(b)
		reqs := make([]SubmitRequest, MaxBatchSize)
		for i := range reqs {
			reqs[i] = p.request(int64(i))
			reqs[i].Force = true // every batch new jobs
		}
		jobs := 0
		cpu := startCPU(b, bk)
		for b.Loop() {
			if _, _, err := s.SubmitBatch(b.Context(), "tenant-a", reqs); err != nil {
				b.Fatal(err)
			}
			jobs += len(reqs)
		}
		cpu.report(jobs)
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
