package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// faultEnv lets a candidate's _fault field reach the plugins; the service must be
// a test build (make chaos builds one) for it to pass it on.
var faultEnv = []string{"ENRICH_TEST_FAULTS=1"}

// readyTimeline polls GET /admin/pool and records every change of the number of
// processes taking calls, from the moment it starts until stop.
type readyTimeline struct {
	start   time.Time
	mu      sync.Mutex
	changes []readyChange
	polls   int
}

type readyChange struct {
	at           time.Duration
	ready, size  int
	restartsSeen int
}

// timelineEvery is how often the timeline looks: a gap shorter than this can be
// missed, so the notes say it.
const timelineEvery = 25 * time.Millisecond

// watchReady records baseURL's pool-ready timeline until the returned stop is called.
func (h *harness) watchReady(ctx context.Context, baseURL string) (*readyTimeline, func()) {
	tl := &readyTimeline{start: time.Now()}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if st, err := h.adminPool(ctx, baseURL); err == nil {
				tl.record(st)
			}
			pause(ctx, timelineEvery)
		}
	}()
	return tl, func() {
		cancel()
		<-done
		// One last look, so the timeline ends with the state the scenario ended in.
		if st, err := h.adminPool(context.WithoutCancel(ctx), baseURL); err == nil {
			tl.record(st)
		}
	}
}

func (tl *readyTimeline) record(st *poolStatus) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.polls++
	restarts := 0
	for _, n := range st.Restarts {
		restarts += n
	}
	if n := len(tl.changes); n > 0 && tl.changes[n-1].ready == st.Ready && tl.changes[n-1].restartsSeen == restarts {
		return
	}
	tl.changes = append(tl.changes, readyChange{at: time.Since(tl.start), ready: st.Ready, size: st.Size, restartsSeen: restarts})
}

// minReady is the fewest processes seen taking calls, or -1 before any poll.
func (tl *readyTimeline) minReady() int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	least := -1
	for _, c := range tl.changes {
		if least < 0 || c.ready < least {
			least = c.ready
		}
	}
	return least
}

// String is the timeline for a row's notes: "t s ready/size (restarts)" at each change.
func (tl *readyTimeline) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var parts []string
	for _, c := range tl.changes {
		parts = append(parts, fmt.Sprintf("%.2f s %d/%d (%d restarts)", c.at.Seconds(), c.ready, c.size, c.restartsSeen))
	}
	return fmt.Sprintf("pool-ready timeline (GET /admin/pool every %s, %d polls): %s", timelineEvery, tl.polls, strings.Join(parts, " → "))
}

// submitFault submits one job whose candidate asks the plugin for fault, and tracks
// it with the load's jobs.
func (l *loadGen) submitFault(ctx context.Context, name, fault string) (tracked, error) {
	cand := l.h.candidate(0)
	var doc map[string]any
	if err := json.Unmarshal(cand.Doc, &doc); err != nil {
		return tracked{}, err
	}
	doc["_fault"] = fault
	raw, _ := json.Marshal(doc)
	id := fmt.Sprintf("%s-%s", l.prefix, name)
	job, status, err := l.clients[0].Submit(ctx, cand.Tenant, localstack.SubmitBody{CandidateID: id, Payload: raw})
	if err != nil {
		return tracked{}, fmt.Errorf("submit the %s job: status %d: %w", name, status, err)
	}
	t := tracked{tenant: cand.Tenant, jobID: job.JobID, candidateID: id}
	l.mu.Lock()
	l.jobs = append(l.jobs, t)
	l.mu.Unlock()
	return t, nil
}

// outcomeOfJob finds t's outcome.
func outcomeOfJob(outcomes []Outcome, t tracked) (Outcome, bool) {
	for _, o := range outcomes {
		if o.Entity == t.tenant+"/"+t.candidateID {
			return o, true
		}
	}
	return Outcome{}, false
}

// runPoison submits one candidate that crashes its plugin among n good ones: it
// must cost two processes, end as one dead letter (python_crashed, not retried),
// count once toward the crash-loop guard, and never empty the pool.
func runPoison(ctx context.Context, h *harness) []*Row {
	n := h.sizes.PoisonGood
	row := newRow(fmt.Sprintf("poison candidate among %d good ones", n))
	stack, err := h.startStack(ctx, ScenarioPoison, stackOpts{env: faultEnv})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioPoison, stack, row)
	svc := stack.Services[0]
	load := h.newLoad(ScenarioPoison, svc.URL)
	defer load.close()
	timeline, stopTimeline := h.watchReady(ctx, svc.URL)
	submitted := make(chan struct{})
	go func() {
		defer close(submitted)
		load.burst(ctx, n, submitters)
	}()
	if err := load.waitCompleted(ctx, int64(n/10), time.Minute); err != nil {
		<-submitted
		stopTimeline()
		return []*Row{row.fail(err)}
	}
	poison, err := load.submitFault(ctx, "poison", "crash")
	<-submitted
	if err != nil {
		stopTimeline()
		return []*Row{row.fail(err)}
	}
	outcomes, _ := load.finish(ctx, row, time.Now().Add(h.sizes.Deadline), stack.Embed)
	h.waitPoolReady(ctx, svc.URL, time.Now().Add(time.Minute)) // the timeline's last step: full again
	stopTimeline()
	row.note("%s", timeline)
	st, stErr := h.adminPool(ctx, svc.URL)
	o, _ := outcomeOfJob(outcomes, poison)
	row.check("poison_is_one_dead_letter", o.Status == "failed" && o.ErrorCode == "python_crashed" && row.Failed() == 1,
		"poison job %s %s after %d attempt(s); %d jobs failed in all (%s)", o.Status, o.ErrorCode, o.Attempts, row.Failed(), formatCounts(row.FailedByCode))
	row.check("good_ones_completed", row.Completed == n, "%d of %d good jobs completed", row.Completed, n)
	row.check("no_pool_exhausted", row.FailedByCode["pool_exhausted"] == 0, "%d jobs failed pool_exhausted", row.FailedByCode["pool_exhausted"])
	row.check("pool_never_empty", timeline.minReady() >= 1, "fewest processes taking calls: %d (sampled every %s)", timeline.minReady(), timelineEvery)
	if stErr == nil {
		row.check("no_crash_loop", !st.Degraded && st.Restarts["crashed"] <= 2,
			"crashed restarts %d (the poison's two processes), degraded %v", st.Restarts["crashed"], st.Degraded)
	}
	if note := h.restartsNote(ctx, svc.URL); note != "" {
		row.note("%s", note)
	}
	row.summarize("the poison candidate cost %d processes and ended as 1 dead letter (python_crashed, attempt %d); %d good jobs completed; fewest processes ready: %d",
		st.Restarts["crashed"], o.Attempts, row.Completed, timeline.minReady())
	return []*Row{row}
}

// runSpinning submits one candidate whose call spins for ever among good ones: the
// pool must kill its process at the rules enricher's own call limit (10 s), not at
// the 180 s job deadline, and its job is retried until its attempts run out.
func runSpinning(ctx context.Context, h *harness) []*Row {
	n := h.sizes.PoisonGood
	row := newRow(fmt.Sprintf("spinning plugin call among %d good jobs", n))
	stack, err := h.startStack(ctx, ScenarioSpinning, stackOpts{env: faultEnv})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioSpinning, stack, row)
	svc := stack.Services[0]
	load := h.newLoad(ScenarioSpinning, svc.URL)
	defer load.close()
	timeline, stopTimeline := h.watchReady(ctx, svc.URL)
	spin, err := load.submitFault(ctx, "spin", "hang")
	if err != nil {
		stopTimeline()
		return []*Row{row.fail(err)}
	}
	submittedAt := time.Now()
	load.burst(ctx, n, submitters)
	caught := h.waitRestart(ctx, svc.URL, "hung", time.Minute)
	outcomes, _ := load.finish(ctx, row, time.Now().Add(h.sizes.Deadline), stack.Embed)
	h.waitPoolReady(ctx, svc.URL, time.Now().Add(time.Minute))
	stopTimeline()
	row.note("%s", timeline)
	o, _ := outcomeOfJob(outcomes, spin)
	if caught.IsZero() {
		row.check("spinning_call_caught", false, "no process was replaced as hung within a minute")
	} else {
		row.recovered(submittedAt, caught, "spinning job submitted → its process replaced as hung")
		row.check("spinning_call_caught", caught.Sub(submittedAt) < 180*time.Second,
			"first hung replacement %.1f s after the spinning job was submitted (rules enricher's limit 10 s; job deadline 180 s)",
			caught.Sub(submittedAt).Seconds())
	}
	row.check("good_ones_completed", row.Completed == n, "%d of %d good jobs completed", row.Completed, n)
	row.check("pool_never_empty", timeline.minReady() >= 1, "fewest processes taking calls: %d", timeline.minReady())
	if note := h.restartsNote(ctx, svc.URL); note != "" {
		row.note("%s", note)
	}
	row.summarize("the spinning call's process was replaced %.1f s after submit (limit 10 s, not 180 s); the job ended %s %s after %d attempts; %d good jobs completed",
		caught.Sub(submittedAt).Seconds(), o.Status, o.ErrorCode, o.Attempts, row.Completed)
	return []*Row{row}
}

// waitRestart polls GET /admin/pool until a restart for reason is counted, and
// returns when it saw it (zero after timeout).
func (h *harness) waitRestart(ctx context.Context, baseURL, reason string, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if st, err := h.adminPool(ctx, baseURL); err == nil && st.Restarts[reason] > 0 {
			return time.Now()
		}
		pause(ctx, timelineEvery)
	}
	return time.Time{}
}

// runServiceKill SIGKILLs one of two instances while its plugins hold slow calls:
// no plugin may outlive it by more than 2 s, and the survivor finishes its jobs.
func runServiceKill(ctx context.Context, h *harness) []*Row {
	n := h.sizes.PoisonGood
	row := newRow(fmt.Sprintf("service SIGKILL with slow calls in flight, %d jobs", n))
	stack, err := h.startStack(ctx, ScenarioServiceKill, stackOpts{instances: 2, env: append([]string{"ENRICH_LEASE_MS=3000"}, faultEnv...)})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioServiceKill, stack, row)
	victim, survivor := stack.Services[1], stack.Services[0]
	load := h.newLoad(ScenarioServiceKill, survivor.URL)
	defer load.close()
	timeline, stopTimeline := h.watchReady(ctx, survivor.URL)
	for i := range 2 * h.cfg.PoolSize {
		if _, err := load.submitFault(ctx, fmt.Sprintf("slow-%d", i), "sleep:8000"); err != nil {
			stopTimeline()
			return []*Row{row.fail(err)}
		}
	}
	load.burst(ctx, n, submitters)
	if !h.waitBusy(ctx, victim.URL, time.Minute) {
		stopTimeline()
		return []*Row{row.fail(fmt.Errorf("the victim never had a call on each plugin"))}
	}
	plugins := victim.PluginPIDs(h.procRoot)
	killed := time.Now()
	victim.Kill() // SIGKILL of the service alone, not of its process group
	gone, lastGone := pluginsGoneAt(h.procRoot, plugins, 5*time.Second)
	row.check("no_plugin_outlives_its_service", gone && lastGone.Sub(killed) <= 2*time.Second,
		"the killed instance's %d plugins (each with a call in flight) gone %.3f s after its SIGKILL (allowed 2 s)",
		len(plugins), lastGone.Sub(killed).Seconds())
	outcomes, _ := load.finish(ctx, row, killed.Add(h.sizes.Deadline), stack.Embed)
	stopTimeline()
	row.note("survivor's %s", timeline)
	if t, ok := lastEnd(outcomes, func(o Outcome) bool { return o.Attempts > 1 }); ok {
		row.recovered(killed, t, "SIGKILL → the last job it held completed on the survivor")
	}
	row.summarize("its %d plugins, each with a call in flight, were gone %.3f s after the SIGKILL; the survivor finished every job",
		len(plugins), lastGone.Sub(killed).Seconds())
	return []*Row{row}
}

// waitBusy polls baseURL's pool until every process has a call in flight.
func (h *harness) waitBusy(ctx context.Context, baseURL string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if st, err := h.adminPool(ctx, baseURL); err == nil && len(st.Processes) > 0 {
			busy := 0
			for _, p := range st.Processes {
				if p.InFlight > 0 {
					busy++
				}
			}
			if busy == len(st.Processes) {
				return true
			}
		}
		pause(ctx, 10*time.Millisecond)
	}
	return false
}

// pluginsGoneAt waits until none of pids runs, polling /proc every 5 ms, and
// returns when the last was seen gone.
func pluginsGoneAt(procRoot string, pids []int, grace time.Duration) (bool, time.Time) {
	deadline := time.Now().Add(grace)
	for {
		alive := 0
		for _, pid := range pids {
			if localstack.Alive(procRoot, pid) {
				alive++
			}
		}
		now := time.Now()
		if alive == 0 {
			return true, now
		}
		if now.After(deadline) {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL) // never leave one behind
			}
			return false, now
		}
		time.Sleep(5 * time.Millisecond)
	}
}
