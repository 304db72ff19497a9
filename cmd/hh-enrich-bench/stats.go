package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// LatencySummary is a latency distribution in milliseconds, rounded to 0.01 ms as
// the seed's benchmark printed it.
type LatencySummary struct {
	Count int     `json:"count"`
	Avg   float64 `json:"avg"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Percentile returns the p-th percentile (0..100) of sorted by the seed's rule
// (REFERENCE §4): the value at index round(p/100·(n−1)). It returns 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Round(p / 100 * float64(len(sorted)-1)))
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Summarize sorts a copy of lat and summarises it; nil when lat is empty.
func Summarize(lat []time.Duration) *LatencySummary {
	if len(lat) == 0 {
		return nil
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return &LatencySummary{
		Count: len(sorted),
		Avg:   ms(sum / time.Duration(len(sorted))),
		P50:   ms(Percentile(sorted, 50)),
		P90:   ms(Percentile(sorted, 90)),
		P95:   ms(Percentile(sorted, 95)),
		P99:   ms(Percentile(sorted, 99)),
		Max:   ms(sorted[len(sorted)-1]),
	}
}

// ms is d in milliseconds rounded to 0.01.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

// rate is n per second over d, 0 for no time.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// latencyLog collects latencies from many goroutines.
type latencyLog struct {
	mu  sync.Mutex
	lat []time.Duration
}

func (l *latencyLog) add(d time.Duration) {
	l.mu.Lock()
	l.lat = append(l.lat, d)
	l.mu.Unlock()
}

// values returns a copy of what was collected.
func (l *latencyLog) values() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lat)
}
