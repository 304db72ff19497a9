package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// completionPoll is how often the harness reads /metrics while it waits for a
// flood of jobs: often enough that the end is known within 1% of a ten-second run,
// seldom enough that scraping costs the service nothing measurable.
const completionPoll = 100 * time.Millisecond

// endedCounter reads how many jobs the service has finished for good.
type endedCounter func(ctx context.Context) (completed, failed float64, err error)

// metricsCounter counts ended jobs from the service's /metrics counters.
func (b *bench) metricsCounter(ctx context.Context) (completed, failed float64, err error) {
	text, err := b.client.Metrics(ctx)
	if err != nil {
		return 0, 0, err
	}
	completed = SumSeries(text, metricCompleted)
	return completed, jobsEnded(text) - completed, nil
}

// hasMetrics reports whether /metrics answers with the job counters.
func (b *bench) hasMetrics(ctx context.Context) bool {
	text, err := b.client.Metrics(ctx)
	return err == nil && len(text) > 0
}

// Ended is how many of a workload's jobs ended, and when the harness saw the last.
type Ended struct {
	Completed, Failed int
	At                time.Time
}

// waitForEnded polls count until want jobs ended beyond the baseline taken before
// the workload started, moving bar along, or ctx ends (then it returns what it saw
// with the error).
func waitForEnded(ctx context.Context, count endedCounter, base Ended, want int, bar progress) (Ended, error) {
	ticker := time.NewTicker(completionPoll)
	defer ticker.Stop()
	var seen Ended
	for {
		completed, failed, err := count(ctx)
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return seen, fmt.Errorf("counting ended jobs: %w", err)
		}
		if err == nil {
			seen = Ended{Completed: int(completed) - base.Completed, Failed: int(failed) - base.Failed, At: time.Now()}
			_ = bar.Set(min(seen.Completed+seen.Failed, want))
			if seen.Completed+seen.Failed >= want {
				return seen, nil
			}
		}
		select {
		case <-ctx.Done():
			return seen, fmt.Errorf("%d of %d jobs ended: %w", seen.Completed+seen.Failed, want, ctx.Err())
		case <-ticker.C:
		}
	}
}

// baseline reads the counters before a workload starts.
func baseline(ctx context.Context, count endedCounter) (Ended, error) {
	completed, failed, err := count(ctx)
	if err != nil {
		return Ended{}, fmt.Errorf("reading /metrics before the run: %w", err)
	}
	return Ended{Completed: int(completed), Failed: int(failed), At: time.Now()}, nil
}
