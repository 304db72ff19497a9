package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// faultDelay holds a reply back past the service's Redis read timeout (3 s),
// so that its client gives up and sends the command again.
const faultDelay = 3500 * time.Millisecond

// runRedisFaults puts a fault proxy between the service and Redis that breaks
// one script run in FaultEvery at random, the three ways a network or a
// failover does: the reply is lost after Redis ran the command, the connection
// resets in the middle of sending it, or the reply comes after the client's
// read timeout. The client's retries are then replays; nothing may be lost,
// run twice or miscounted. Jobs get one attempt and are forced: a lease
// orphaned by a replay would fail its job with lease_expired, and a replayed
// forced submit would queue its job twice.
func runRedisFaults(ctx context.Context, h *harness) []*Row {
	n := h.sizes.RedisFaultJobs
	row := newRow(fmt.Sprintf("Redis faults via a proxy (1 script run in %d: reply lost, reset mid-command, reply late), %d jobs",
		h.sizes.RedisFaultEvery, n))
	server, err := redistest.NewServer(redistest.ServerConfig{})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer server.Close()
	proxy, err := redistest.NewProxy(server.Addr())
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer proxy.Close()
	proxy.SetDelay(faultDelay)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	faults := []redistest.Fault{redistest.DropReply, redistest.ResetMidCommand, redistest.DelayReply}
	proxy.SetRule(func(c redistest.Command) redistest.Fault {
		if c.Name != "EVALSHA" || rng.IntN(h.sizes.RedisFaultEvery) > 0 {
			return redistest.Pass
		}
		return faults[rng.IntN(len(faults))]
	})
	env := []string{"REDIS_URL=redis://" + proxy.Addr(), "ENRICH_JOB_RETRY_LIMIT=0"}
	stack, err := h.startStack(ctx, ScenarioRedisFaults, stackOpts{env: env})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioRedisFaults, stack, row)
	load := h.newLoad(ScenarioRedisFaults, stack.URL)
	load.force = true
	defer load.close()
	started := time.Now()
	load.burst(ctx, n, submitters)
	outcomes, _ := load.finish(ctx, row, time.Now().Add(h.sizes.Deadline), stack.Embed)
	if t, ok := lastEnd(outcomes, func(Outcome) bool { return true }); ok {
		row.note("every job ended %.1f s after the first submit", t.Sub(started).Seconds())
	}
	injected := proxy.Injected(redistest.DropReply) + proxy.Injected(redistest.ResetMidCommand) + proxy.Injected(redistest.DelayReply)
	row.check("faults_injected", injected > 0, "%d replies lost, %d resets mid-command, %d replies late",
		proxy.Injected(redistest.DropReply), proxy.Injected(redistest.ResetMidCommand), proxy.Injected(redistest.DelayReply))
	client := redis.NewClient(server.Options())
	defer client.Close()
	checkDrift(ctx, row, client, client, outcomes, false)
	row.check("no_orphaned_lease", row.FailedByCode["lease_expired"] == 0,
		"%d jobs failed lease_expired (a lease nobody held)", row.FailedByCode["lease_expired"])
	row.summarize("%d faults injected into the service's scripts; replays changed nothing twice", injected)
	return []*Row{row}
}

// runRedisCluster runs the binary on a three-master Redis Cluster given one
// seed node (as a discovery endpoint is), and SIGKILLs and restarts (with its
// append-only file) the master that holds the store's keys mid-run.
func runRedisCluster(ctx context.Context, h *harness) []*Row {
	n := h.sizes.ClusterJobs
	row := newRow(fmt.Sprintf("Redis Cluster, 3 masters, one seed; the store's master SIGKILLed + AOF restart, %d jobs", n))
	cluster, err := redistest.NewClusterWith(redistest.ClusterConfig{AppendOnly: true})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer cluster.Close()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
	defer client.Close()
	master, err := client.MasterForKey(ctx, store.PrefixDefault+"stats")
	if err != nil {
		return []*Row{row.fail(err)}
	}
	storeNode := master.Options().Addr
	seed := cluster.Addrs()[slices.IndexFunc(cluster.Addrs(), func(a string) bool { return a != storeNode })]
	env := []string{"REDIS_URL=", "REDIS_MODE=cluster", "REDIS_CLUSTER_NODES=" + seed, "ENRICH_LEASE_MS=3000"}
	stack, err := h.startStack(ctx, ScenarioRedisCluster, stackOpts{env: env})
	if err != nil {
		return []*Row{row.fail(err)}
	}
	defer h.closeStack(ScenarioRedisCluster, stack, row)
	load := h.newLoad(ScenarioRedisCluster, stack.URL)
	defer load.close()
	load.burst(ctx, n, submitters)
	if err := load.waitCompleted(ctx, int64(n/10), time.Minute); err != nil {
		return []*Row{row.fail(err)}
	}
	killed := time.Now()
	if err := cluster.Restart(storeNode); err != nil {
		return []*Row{row.fail(err)}
	}
	back := time.Now()
	row.note("the store's master (%s; the service's seed was %s) down %.2f s", storeNode, seed, back.Sub(killed).Seconds())
	outcomes, _ := load.finish(ctx, row, back.Add(h.sizes.Deadline), stack.Embed)
	if t, ok := firstCompletionAfter(outcomes, back, nil); ok {
		row.recovered(back, t, "master back → first completion")
	}
	nodeClient := redis.NewClient(&redis.Options{Addr: storeNode})
	defer nodeClient.Close()
	// The master is down for seconds: leases that could not be renewed expire and
	// their jobs run again (at-least-once), so expiries are expected here.
	checkDrift(ctx, row, client, nodeClient, outcomes, true)
	row.summarize("every job ended; counters equal a scan of the store's slot")
	return []*Row{row}
}

// checkDrift compares the store's counters with a scan of Redis (queues,
// delayed set, lease set) and with the jobs' outcomes: nothing left behind,
// nothing counted twice. node is the server holding the store's keys, for SCAN.
// Unless expiriesExpected, no lease may have expired: a replayed script that
// leased a job twice leaves one lease nobody holds, which the reaper expires.
func checkDrift(ctx context.Context, row *Row, client redis.UniversalClient, node *redis.Client, outcomes []Outcome, expiriesExpected bool) {
	st, err := store.NewRedisStore(client, store.Config{})
	if err != nil {
		row.check("counters_equal_a_scan", false, "%v", err)
		return
	}
	c, err := st.Counts(ctx)
	if err != nil {
		row.check("counters_equal_a_scan", false, "reading the counters: %v", err)
		return
	}
	var queued int64
	iter := node.Scan(ctx, 0, store.PrefixDefault+"queue:*", 1000).Iterator()
	for iter.Next(ctx) {
		queued += node.LLen(ctx, iter.Val()).Val()
	}
	delayed := node.ZCard(ctx, store.PrefixDefault+"delayed").Val()
	leased := node.ZCard(ctx, store.PrefixDefault+"leases").Val()
	completed, failed := 0, 0
	for _, o := range outcomes {
		switch o.Status {
		case "completed":
			completed++
		case "failed":
			failed++
		}
	}
	var drift []string
	for _, d := range []struct {
		name          string
		counter, scan int64
	}{
		{"queued", c.Queued, queued}, {"delayed", c.Delayed, delayed}, {"processing", c.Processing, leased},
		{"submitted", c.Submitted, int64(len(outcomes))}, {"completed", c.Completed, int64(completed)},
		{"failed", c.Failed, int64(failed)}, {"expired leases", c.Expired, 0},
	} {
		if d.name == "expired leases" && expiriesExpected {
			continue
		}
		if d.counter != d.scan {
			drift = append(drift, fmt.Sprintf("%s counter %d, found %d", d.name, d.counter, d.scan))
		}
	}
	verdict := "0 drift"
	if len(drift) > 0 {
		verdict = strings.Join(drift, "; ")
	}
	row.check("counters_equal_a_scan", len(drift) == 0 && iter.Err() == nil,
		"counters against a scan of Redis and the jobs' outcomes: %s", verdict)
}
