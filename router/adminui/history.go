package adminui

import (
	"math"
	"time"
)

// sample is one point of the overview's charts: this instance's rates over the
// interval before At, and the state of the queue and the breakers at At.
type sample struct {
	At        time.Time
	Completed float64 // jobs completed per second; NaN on the first sample
	Failed    float64 // jobs failed for good per second; NaN on the first sample
	P50       float64 // job latency quantiles, seconds, of the jobs completed in the interval;
	P95       float64 // NaN when none completed
	P99       float64
	// EmbedRatio is upserted / (upserted + failed) in the interval; NaN when no
	// embedding was attempted.
	EmbedRatio float64
	// Depth is jobs waiting by tenant label, "all" included (the store's view,
	// shared by every instance).
	Depth map[string]float64
	// Breakers: 0 closed, 0.5 half-open, 1 open; NaN when there is none.
	EmbedBreaker   float64
	PoolBreaker    float64
	ProcessBreaker float64 // the worst of the plugin processes'
}

// history is a fixed-size ring of samples: the newest replaces the oldest.
type history struct {
	ring []sample
	next int
	full bool
}

func newHistory(size int) *history { return &history{ring: make([]sample, max(size, 1))} }

func (h *history) add(s sample) {
	h.ring[h.next] = s
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
}

// all returns a copy of the samples, oldest first.
func (h *history) all() []sample {
	if !h.full {
		return append([]sample(nil), h.ring[:h.next]...)
	}
	return append(append([]sample(nil), h.ring[h.next:]...), h.ring[:h.next]...)
}

// last returns the newest sample, if any.
func (h *history) last() (sample, bool) {
	if !h.full && h.next == 0 {
		return sample{}, false
	}
	return h.ring[(h.next-1+len(h.ring))%len(h.ring)], true
}

// rate is the per-second increase of a counter between two readings. A counter
// that went down was reset (the process restarted): its rate is unknown.
func rate(prev, cur float64, elapsed time.Duration) float64 {
	if elapsed <= 0 || cur < prev {
		return math.NaN()
	}
	return (cur - prev) / elapsed.Seconds()
}

// ratio is num / (num + other); NaN when both are zero.
func ratio(num, other float64) float64 {
	if num+other <= 0 {
		return math.NaN()
	}
	return num / (num + other)
}
