package main

import (
	"sync"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// phaseOverhead names the part of a request's latency outside the job's own
// phases: HTTP both ways, the submit, the wake-up of the waiting request and its
// read-back of the job.
const phaseOverhead = "outside job"

// phaseLog collects the phase durations the service recorded on completed jobs
// (result.phaseDurationsMs), to show where a job's time goes.
type phaseLog struct {
	mu     sync.Mutex
	phases map[string][]time.Duration
}

// add records j's phases; with latency > 0 (the client's view of the same job)
// it also records what lies outside them.
func (l *phaseLog) add(j *localstack.Job, latency time.Duration) {
	if j == nil || j.Result == nil || len(j.Result.PhaseDurationsMs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.phases == nil {
		l.phases = map[string][]time.Duration{}
	}
	for name, v := range j.Result.PhaseDurationsMs {
		l.phases[name] = append(l.phases[name], msDuration(v))
	}
	if latency > 0 {
		inside := msDuration(j.Result.PhaseDurationsMs["queue"] + j.Result.PhaseDurationsMs["total"])
		l.phases[phaseOverhead] = append(l.phases[phaseOverhead], max(0, latency-inside))
	}
}

// summaries returns a summary per phase, nil when nothing was recorded.
func (l *phaseLog) summaries() map[string]*LatencySummary {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.phases) == 0 {
		return nil
	}
	out := map[string]*LatencySummary{}
	for name, values := range l.phases {
		out[name] = Summarize(values)
	}
	return out
}

func msDuration(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
