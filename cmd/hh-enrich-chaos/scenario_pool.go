package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// submitters is how many goroutines submit a burst of jobs.
const submitters = 16

// runKillStorm SIGKILLs a random plugin process every 100–200 ms while a flood
// of jobs runs, until every job ended or StormMax passed. A killed call is
// retried on another process and a killed process replaced; the pool's
// crash-loop guard (5 crashes a minute) then slows restarts to one per 30 s,
// which is what a storm that never ends looks like from inside.
func runKillStorm(ctx context.Context, h *harness) []*Row {
	n := h.sizes.StormJobs
	row := newRow(fmt.Sprintf("plugin kill storm, %d jobs", n))
	stack, err := h.startStack(ctx, ScenarioKillStorm, stackOpts{})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioKillStorm, stack, row)
	svc := stack.Services[0]
	load := h.newLoad(ScenarioKillStorm, svc.URL)
	defer load.close()
	submitted := make(chan struct{})
	go func() {
		defer close(submitted)
		load.burst(ctx, n, submitters)
	}()
	defer func() { <-submitted }()
	if err := load.waitCompleted(ctx, 1, time.Minute); err != nil {
		return []*Row{row.fail(err)}
	}
	st := h.killStorm(ctx, svc, load, submitted, n)
	end := st.end
	row.note("%d SIGKILLs of plugin processes every 100–200 ms over %.1f s; no plugin process to kill at %d of %d ticks",
		st.kills, end.Sub(st.start).Seconds(), st.empty, st.ticks)
	poolBack := make(chan time.Time, 1)
	go func() { poolBack <- h.waitPoolReady(ctx, svc.URL, end.Add(h.sizes.Deadline)) }()
	<-submitted
	outcomes, _ := load.finish(ctx, row, end.Add(h.sizes.Deadline), stack.Embed)
	ready := <-poolBack
	if !ready.IsZero() {
		row.note("pool back to full size %.2f s after the storm", ready.Sub(end).Seconds())
	}
	if t, ok := firstCompletionAfter(outcomes, end, nil); ok {
		row.recovered(end, t, "storm end → first completion after it")
	} else if !ready.IsZero() {
		row.recovered(end, ready, "storm end → pool back to full size (every job ended during the storm)")
	}
	during := countBy(outcomes, func(o Outcome) string {
		if o.Status == "completed" && !o.EndedAt.Before(st.start) && o.EndedAt.Before(end) {
			return "during"
		}
		return ""
	})["during"]
	row.note("%d of %d jobs completed during the storm: after 5 crashes in a minute the pool's crash-loop guard "+
		"restarts a process at most every 30 s, so a storm that does not stop keeps the pool nearly empty", during, n)
	if note := h.restartsNote(ctx, svc.URL); note != "" {
		row.note("%s (a kill of a process still starting shows as a failed restart, not a crash)", note)
	}
	back := "the pool not full again by the deadline"
	if !ready.IsZero() {
		back = fmt.Sprintf("pool full again %.1f s after it", ready.Sub(end).Seconds())
	}
	row.summarize("%d SIGKILLs over %.0f s; the crash-loop guard (5 crashes a minute: restarts at most every 30 s) "+
		"kept the pool nearly empty, %d of %d jobs done during the storm; %s", st.kills, end.Sub(st.start).Seconds(), during, n, back)
	return []*Row{row}
}

// storm is what a kill storm did: kills over ticks, at empty of which no plugin
// process was there to kill.
type storm struct {
	kills, ticks, empty int
	start, end          time.Time
}

// killStorm kills a random plugin of svc every 100–200 ms until every one of n
// jobs ended (once all were submitted), StormMax passed or ctx ended.
func (h *harness) killStorm(ctx context.Context, svc *localstack.Service, load *loadGen, submitted <-chan struct{}, n int) storm {
	st := storm{start: time.Now()}
	for time.Since(st.start) < h.sizes.StormMax && ctx.Err() == nil {
		time.Sleep(time.Duration(100+rand.IntN(101)) * time.Millisecond)
		st.ticks++
		pids := svc.PluginPIDs(h.procRoot)
		if len(pids) == 0 {
			st.empty++
		} else if syscall.Kill(pids[rand.IntN(len(pids))], syscall.SIGKILL) == nil {
			st.kills++
		}
		if allEnded(ctx, load, submitted, n) {
			break
		}
	}
	st.end = time.Now()
	return st
}

// waitPoolReady polls GET /admin/pool until every plugin process is ready again
// and returns when it saw that, or the zero time at deadline.
func (h *harness) waitPoolReady(ctx context.Context, baseURL string, deadline time.Time) time.Time {
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if st, err := h.adminPool(ctx, baseURL); err == nil && st.Ready >= st.Size {
			return time.Now()
		}
		pause(ctx, pollEvery)
	}
	return time.Time{}
}

// allEnded reports whether every one of n jobs was submitted and has ended.
func allEnded(ctx context.Context, load *loadGen, submitted <-chan struct{}, n int) bool {
	select {
	case <-submitted:
	default:
		return false
	}
	q, err := load.counts(ctx)
	return err == nil && q.Pending() == 0 && q.Totals["completed"]+q.Totals["failed"] >= int64(n)
}

// countReRuns counts the jobs that ran more than once.
func countReRuns(outcomes []Outcome) int {
	n := 0
	for _, o := range outcomes {
		if o.Attempts > 1 {
			n++
		}
	}
	return n
}

// runHungPlugin SIGSTOPs one plugin process while jobs flow, with a short call
// deadline (ENRICH_JOB_TIMEOUT_MS): the call stuck on it misses the deadline, the
// pool kills and replaces the process, and the jobs of the stuck call run again.
func runHungPlugin(ctx context.Context, h *harness) []*Row {
	n, timeout := h.sizes.HungJobs, h.sizes.HungTimeout
	row := newRow(fmt.Sprintf("hung plugin (SIGSTOP), %d jobs", n))
	stack, err := h.startStack(ctx, ScenarioHungPlugin, stackOpts{
		env: []string{fmt.Sprintf("ENRICH_JOB_TIMEOUT_MS=%d", timeout.Milliseconds())},
	})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioHungPlugin, stack, row)
	svc := stack.Services[0]
	load := h.newLoad(ScenarioHungPlugin, svc.URL)
	defer load.close()
	submitted := make(chan struct{})
	go func() {
		defer close(submitted)
		load.burst(ctx, n, submitters)
	}()
	defer func() { <-submitted }()
	if err := load.waitCompleted(ctx, 1, time.Minute); err != nil {
		return []*Row{row.fail(err)}
	}
	before := svc.PluginPIDs(h.procRoot)
	if len(before) == 0 {
		return []*Row{row.fail(fmt.Errorf("no plugin process to stop"))}
	}
	victim := before[0]
	stopped := time.Now()
	if err := syscall.Kill(victim, syscall.SIGSTOP); err != nil {
		return []*Row{row.fail(fmt.Errorf("SIGSTOP %d: %w", victim, err))}
	}
	gone, replaced, ok := waitReplaced(ctx, h.procRoot, svc, victim, len(before), h.sizes.Deadline)
	if !ok {
		_ = syscall.Kill(victim, syscall.SIGKILL) // never leave a stopped process behind
		row.check("hung_process_replaced", false, "pid %d still there %s after SIGSTOP", victim, h.sizes.Deadline)
	} else {
		row.recovered(stopped, replaced, "SIGSTOP → its successor running")
		limit := timeout + 3*time.Second
		row.check("replaced_within_deadline", replaced.Sub(stopped) <= limit,
			"killed %.2f s and replaced %.2f s after SIGSTOP (call deadline %s; allowed %s for the deadline plus a start)",
			gone.Sub(stopped).Seconds(), replaced.Sub(stopped).Seconds(), timeout, limit)
		row.summarize("call deadline %s: the stopped process was killed %.2f s after SIGSTOP and its successor was running "+
			"at %.2f s; the jobs of the stuck call ran again", timeout, gone.Sub(stopped).Seconds(), replaced.Sub(stopped).Seconds())
	}
	<-submitted
	load.finish(ctx, row, time.Now().Add(h.sizes.Deadline), stack.Embed)
	if note := h.restartsNote(ctx, svc.URL); note != "" {
		row.note("%s", note)
	}
	row.note("call deadline (ENRICH_JOB_TIMEOUT_MS) %s; the jobs of the stuck call ran again", timeout)
	return []*Row{row}
}

// waitReplaced polls svc's plugins until victim is gone (killed by the pool) and
// size plugins run again, and returns when each was first seen. There is no
// signal to wait on from outside the service.
func waitReplaced(ctx context.Context, procRoot string, svc *localstack.Service, victim, size int,
	timeout time.Duration) (gone, replaced time.Time, ok bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pids := svc.PluginPIDs(procRoot)
		if !slices.Contains(pids, victim) {
			if gone.IsZero() {
				gone = time.Now()
			}
			if len(pids) >= size {
				return gone, time.Now(), true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return gone, time.Time{}, false
}
