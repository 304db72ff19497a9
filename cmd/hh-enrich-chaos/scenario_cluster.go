package main

import (
	"context"
	"fmt"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// runInstanceKill SIGKILLs one of Instances service instances sharing a Redis
// while they work through a flood: the jobs it held lose their leases, the
// reaper of a survivor requeues them, and a survivor runs them. With a short
// lease (quick to watch) and, in the full run, with the default 10 s lease.
func runInstanceKill(ctx context.Context, h *harness) []*Row {
	rows := []*Row{h.instanceKill(ctx, ScenarioInstanceKill, h.sizes.InstanceJobs, h.sizes.InstanceLease)}
	if h.sizes.DefaultLeaseJobs > 0 && ctx.Err() == nil {
		rows = append(rows, h.instanceKill(ctx, ScenarioInstanceKill+"-default-lease", h.sizes.DefaultLeaseJobs, 0))
	}
	return rows
}

func (h *harness) instanceKill(ctx context.Context, key string, n int, lease time.Duration) *Row {
	k := h.sizes.Instances
	leaseText, env := "lease 10s default", []string(nil)
	if lease > 0 {
		leaseText = fmt.Sprintf("lease %s", lease)
		env = []string{fmt.Sprintf("ENRICH_LEASE_MS=%d", lease.Milliseconds())}
	}
	row := newRow(fmt.Sprintf("instance SIGKILL 1/%d, %s, %d jobs", k, leaseText, n))
	stack, err := h.startStack(ctx, key, stackOpts{instances: k, env: env})
	if err != nil {
		return row.fail(err)
	}
	defer h.closeStack(key, stack, row)
	victim := stack.Services[k-1]
	var survivors []string
	for _, svc := range stack.Services[:k-1] {
		survivors = append(survivors, svc.URL)
	}
	load := h.newLoad(key, survivors...)
	defer load.close()
	load.burst(ctx, n, submitters)
	// Kill once every instance is busy: a tenth of the jobs done.
	if err := load.waitCompleted(ctx, int64(n/10), time.Minute); err != nil {
		return row.fail(err)
	}
	plugins := victim.PluginPIDs(h.procRoot)
	killed := time.Now()
	victim.Kill()
	outcomes, _ := load.finish(ctx, row, killed.Add(h.sizes.Deadline), stack.Embed)
	reRun := func(o Outcome) bool { return o.Attempts > 1 }
	if t, ok := lastEnd(outcomes, reRun); ok {
		row.recovered(killed, t, "SIGKILL → the last job it held completed on a survivor")
		if lease == 0 {
			row.note("DESIGN §7 asks ≤ 15 s from a SIGKILL with jobs in flight to every one of them done: %.1f s",
				t.Sub(killed).Seconds())
		}
	}
	if t, ok := lastEnd(outcomes, func(Outcome) bool { return true }); ok {
		row.note("every job ended %.2f s after the kill", t.Sub(killed).Seconds())
	}
	expired := int64(0)
	if q, err := load.counts(ctx); err == nil {
		expired = q.Totals["expired"]
		row.note("%d leases expired and were requeued by a survivor's reaper", expired)
	}
	gone := pluginsGone(h.procRoot, plugins, 5*time.Second)
	row.check("its_plugins_exit_with_it", gone, "plugins %v of the killed instance gone within 5 s", plugins)
	row.summarize("%d leases of the killed instance expired and a survivor's reaper requeued them; its plugins exited with it",
		expired)
	return row
}

// pluginsGone waits up to grace for every pid to be gone.
func pluginsGone(procRoot string, pids []int, grace time.Duration) bool {
	deadline := time.Now().Add(grace)
	for {
		alive := 0
		for _, pid := range pids {
			if localstack.Alive(procRoot, pid) {
				alive++
			}
		}
		if alive == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runRedisRestart SIGKILLs redis-server (append-only file, fsync every second,
// as the README recommends) mid-run, keeps submitting through the outage, and
// starts it again on the same port: /health must flip to 503 and back, and every
// job accepted before the crash must still end.
func runRedisRestart(ctx context.Context, h *harness) []*Row {
	n, outage := h.sizes.RedisJobs, h.sizes.RedisOutage
	row := newRow(fmt.Sprintf("Redis SIGKILL + AOF restart, %d jobs", n))
	stack, err := h.startStack(ctx, ScenarioRedis, stackOpts{redisAOF: true})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioRedis, stack, row)
	svc := stack.Services[0]
	load := h.newLoad(ScenarioRedis, svc.URL)
	defer load.close()
	load.burst(ctx, n, submitters)
	if err := load.waitCompleted(ctx, int64(n/10), time.Minute); err != nil {
		return []*Row{row.fail(err)}
	}
	probe := &healthProbe{}
	probeCtx, stopProbe := context.WithCancel(ctx)
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		probe.run(probeCtx, localstack.NewClient(svc.URL, 1))
	}()
	defer func() { stopProbe(); <-probeDone }()

	killed := time.Now()
	stack.Redis.Kill()
	load.steady(ctx, 20, outage, nil) // clients keep submitting through the outage
	if err := stack.Redis.Restart(ctx); err != nil {
		return []*Row{row.fail(fmt.Errorf("restarting redis: %w", err))}
	}
	back := time.Now()
	row.note("redis-server down %.2f s (SIGKILL, then started on the same port with its append-only file)", back.Sub(killed).Seconds())
	h.judgeHealth(row, probe, killed, back)
	// A submit Redis cannot take is the client's to retry: 503 with Retry-After, never a 500.
	unavailable, internal := load.refusedCount("503"), load.refusedCount("500")
	row.check("outage_submits_answered_503", internal == 0,
		"submits refused during the outage: %d answered 503, %d answered 500", unavailable, internal)
	outcomes, _ := load.finish(ctx, row, back.Add(h.sizes.Deadline), stack.Embed)
	if t, ok := firstCompletionAfter(outcomes, back, nil); ok {
		row.note("first completion %.2f s after Redis was back", t.Sub(back).Seconds())
	}
	row.summarize("down %.1f s; /health 503 during it, 200 again %s after the restart; submits during the outage: %d answered 503, %d answered 500",
		back.Sub(killed).Seconds(), seconds(row.RecoverySeconds), unavailable, internal)
	return []*Row{row}
}

// judgeHealth checks /health answered 503 during the outage and 200 after it,
// and records the time from Redis back to /health 200 as the recovery.
func (h *harness) judgeHealth(row *Row, probe *healthProbe, down, back time.Time) {
	unhealthy, ok := probe.firstAfter(down, 503)
	row.check("health_503_during_outage", ok && unhealthy.Before(back),
		"/health answered 503 %.2f s after the kill", unhealthy.Sub(down).Seconds())
	deadline := time.Now().Add(30 * time.Second)
	healthy, ok := probe.firstAfter(back, 200)
	for !ok && time.Now().Before(deadline) {
		time.Sleep(pollEvery)
		healthy, ok = probe.firstAfter(back, 200)
	}
	row.check("health_200_after_outage", ok, "/health back to 200 %.2f s after Redis was", healthy.Sub(back).Seconds())
	if ok {
		row.recovered(back, healthy, "Redis back → /health 200")
	}
}
