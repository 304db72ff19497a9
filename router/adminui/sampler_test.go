package adminui

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/go-hclog"
)

func TestSampler(t *testing.T) {
	t.Parallel()

	t.Run("TurnsTwoReadingsIntoRatesLatencyAndRatios", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.console.sampler
		b.jobs.counts.QueueDepth["tenant-a"] = 4
		first, err := s.runOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsNaN(first.Completed) || !math.IsNaN(first.P50) {
			t.Fatalf("first sample has rates: %+v", first)
		}
		for range 20 {
			b.metrics.JobCompleted("tenant-a", map[string]time.Duration{"total": 30 * time.Millisecond})
		}
		b.metrics.JobFailed("tenant-a", "candidate_not_found", false)
		b.metrics.JobFailed("tenant-a", "python_timeout", true) // retried: not a failed job
		b.metrics.EmbedOutcome("upserted", "")
		b.metrics.EmbedOutcome("upserted", "")
		b.metrics.EmbedOutcome("upserted", "")
		b.metrics.EmbedOutcome("failed", "server")
		b.clock.advance(10 * time.Second)
		got, err := s.runOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := sample{At: b.clock.Now(), Completed: 2, Failed: 0.1, EmbedRatio: 0.75,
			Depth: map[string]float64{"all": 4, "tenant-a": 4}, EmbedBreaker: math.NaN(), PoolBreaker: 0, ProcessBreaker: 0.5}
		// 30 ms falls in the (25 ms, 50 ms] bucket: interpolated inside it.
		want.P50, want.P95, want.P99 = 0.0375, 0.04875, 0.04975
		if diff := cmp.Diff(want, got, cmpopts.EquateNaNs(), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
			t.Fatalf("sample (-want +got):\n%s", diff)
		}
		if n := len(s.samples()); n != 2 {
			t.Fatalf("history holds %d samples, want 2", n)
		}
	})

	t.Run("KeepsOnlyTheLastHour", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *Config) { c.SampleInterval, c.History = time.Second, 5*time.Second })
		for range 12 {
			if _, err := b.console.sampler.runOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			b.clock.advance(time.Second)
		}
		samples := b.console.sampler.samples()
		if len(samples) != 5 || !samples[4].At.Equal(b.clock.Now().Add(-time.Second)) || !samples[0].At.Before(samples[4].At) {
			t.Fatalf("history = %d samples from %v to %v", len(samples), samples[0].At, samples[len(samples)-1].At)
		}
	})

	t.Run("StartStopAreSafeInAnyOrder", func(t *testing.T) {
		t.Parallel()
		s := newSampler(nil, nil, time.Millisecond, 10, time.Now, hclog.NewNullLogger())
		s.Stop() // before Start
		if err := s.Start(t.Context()); err == nil {
			t.Fatal("Start after Stop succeeded")
		}
		s = newSampler(nil, nil, time.Millisecond, 10, time.Now, hclog.NewNullLogger())
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context()); err == nil {
			t.Fatal("a second Start succeeded")
		}
		eventually(t, "a few samples", func() bool { return len(s.samples()) >= 3 })
		s.Stop()
		s.Stop()
	})

	t.Run("StopsWithItsContext", func(t *testing.T) {
		t.Parallel()
		s := newSampler(nil, nil, time.Hour, 10, time.Now, hclog.NewNullLogger())
		ctx, cancel := context.WithCancel(t.Context())
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		s.Stop() // returns once the loop has seen ctx end
	})
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	cur := []bucket{{0.1, 10}, {0.2, 30}, {0.5, 40}, {math.Inf(1), 50}}
	for _, tc := range []struct {
		name string
		q    float64
		prev []bucket
		want float64
	}{
		{"MedianInterpolatesInsideItsBucket", 0.5, nil, 0.175},
		{"LowQuantileInTheFirstBucket", 0.1, nil, 0.05},
		{"PastTheLastBoundIsThatBound", 0.99, nil, 0.5},
		{"OnlyTheIntervalCounts", 0.5, []bucket{{0.1, 10}, {0.2, 30}, {0.5, 30}, {math.Inf(1), 30}}, 0.5},
		{"NoObservationIsNaN", 0.5, cur, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := quantile(tc.q, tc.prev, cur)
			if !(got == tc.want || (math.IsNaN(got) && math.IsNaN(tc.want)) || math.Abs(got-tc.want) < 1e-9) {
				t.Fatalf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func TestChart(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	t.Run("SplitsALineWhereValuesAreMissing", func(t *testing.T) {
		t.Parallel()
		times := []time.Time{end.Add(-40 * time.Second), end.Add(-30 * time.Second), end.Add(-20 * time.Second), end.Add(-10 * time.Second), end}
		c := newChart("t", "Test", "", times, end, time.Minute, []series{{"a", []float64{1, 2, math.NaN(), 4, math.NaN()}}},
			axis{minMax: 1, format: formatCount})
		l := c.Series[0]
		if len(l.Segments) != 1 || strings.Count(l.Segments[0], ",") != 2 || len(l.Dots) != 1 || l.Latest != "4" {
			t.Fatalf("segments %q, dots %v, latest %q", l.Segments, l.Dots, l.Latest)
		}
		if c.Empty || !strings.Contains(c.Summary, "a 4") {
			t.Fatalf("empty %v, summary %q", c.Empty, c.Summary)
		}
	})

	t.Run("SaysWhenThereIsNoData", func(t *testing.T) {
		t.Parallel()
		c := newChart("t", "Test", "", nil, end, time.Hour, []series{{"a", nil}}, axis{minMax: 1, format: formatCount})
		if !c.Empty || c.Series[0].Latest != "no data" {
			t.Fatalf("empty %v, latest %q", c.Empty, c.Series[0].Latest)
		}
	})

	t.Run("RoundsTheAxisUpToANiceNumber", func(t *testing.T) {
		t.Parallel()
		for in, want := range map[float64]float64{0: 1, 0.7: 1, 1.2: 2, 2.2: 2.5, 3: 5, 7: 10, 10: 10, 480: 500, 0.013: 0.02} {
			if got := niceCeil(in); math.Abs(got-want) > 1e-12 {
				t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
			}
		}
	})
}
