package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms10 := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i+1) * 10 * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"NoValuesIsZero", nil, 50, 0},
		{"OneValueIsEveryPercentile", ms10(1), 99, 10 * time.Millisecond},
		{"MedianOfElevenIsTheSixth", ms10(11), 50, 60 * time.Millisecond},
		// round(0.5·(10−1)) = round(4.5) = 5: the seed rounds half away from zero.
		{"RoundsTheIndexHalfUpAsTheSeed", ms10(10), 50, 60 * time.Millisecond},
		{"P99OfAHundredIsTheNinetyNinth", ms10(100), 99, 990 * time.Millisecond},
		{"P100IsTheMaximum", ms10(7), 100, 70 * time.Millisecond},
		{"P0IsTheMinimum", ms10(7), 0, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	t.Run("NilForNoLatencies", func(t *testing.T) {
		t.Parallel()
		if got := Summarize(nil); got != nil {
			t.Errorf("Summarize(nil) = %+v, want nil", got)
		}
	})
	t.Run("SortsACopyAndRoundsToHundredths", func(t *testing.T) {
		t.Parallel()
		lat := []time.Duration{3 * time.Millisecond, 1234567 * time.Nanosecond, 2 * time.Millisecond}
		want := &LatencySummary{Count: 3, Avg: 2.08, P50: 2, P90: 3, P95: 3, P99: 3, Max: 3}
		if diff := cmp.Diff(want, Summarize(lat)); diff != "" {
			t.Errorf("Summarize (-want +got):\n%s", diff)
		}
		if lat[0] != 3*time.Millisecond {
			t.Error("Summarize reordered its argument")
		}
	})
}

func TestRate(t *testing.T) {
	t.Parallel()
	if got := rate(500, 250*time.Millisecond); got != 2000 {
		t.Errorf("rate(500, 250ms) = %v, want 2000", got)
	}
	if got := rate(5, 0); got != 0 {
		t.Errorf("rate(5, 0) = %v, want 0", got)
	}
}
