package main

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// TestServiceOnRedisCluster runs the binary on a real three-master Redis
// Cluster, configured with one seed node the way a discovery endpoint is
// given, and SIGKILLs and restarts the master that holds the store's keys
// while jobs run: every job completes, once.
func TestServiceOnRedisCluster(t *testing.T) {
	t.Parallel()
	cluster := redistest.StartClusterWith(t, redistest.ClusterConfig{AppendOnly: true})
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()
	master, err := client.MasterForKey(ctx, store.PrefixDefault+"stats")
	if err != nil {
		t.Fatal(err)
	}
	storeNode := master.Options().Addr
	// The seed is another master: the service must learn the cluster's layout
	// from it and follow MOVED to the store's node.
	seed := cluster.Addrs()[slices.IndexFunc(cluster.Addrs(), func(a string) bool { return a != storeNode })]
	s := startServiceOn(t, "", "REDIS_URL=", "REDIS_MODE=cluster", "REDIS_CLUSTER_NODES="+seed, "ENRICH_LEASE_MS=2000")

	ids := s.submitResumes("tenant-alpha", 150)
	s.waitForTerminal("tenant-alpha", ids[0])
	if err := cluster.Restart(storeNode); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, s.submitResumes("tenant-beta", 50)...)
	for i, id := range ids {
		tenant := "tenant-alpha"
		if i >= 150 {
			tenant = "tenant-beta"
		}
		if job := s.waitForTerminal(tenant, id); job["status"] != "completed" {
			t.Fatalf("job %s = %v, want completed", id, job)
		}
	}
	st, err := store.NewRedisStore(client, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Submitted != 200 || c.Completed != 200 || c.Failed != 0 || c.Queued+c.Delayed+c.Processing != 0 {
		t.Errorf("counts %+v, want 200 submitted and completed, none failed or left", c)
	}
}

// submitResumes submits n small candidates of tenant, one after another.
func (s *service) submitResumes(tenant string, n int) []string {
	s.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = s.submit(tenant, map[string]any{
			"candidateId": fmt.Sprintf("%s-%04d", tenant, i),
			"payload": map[string]any{"name": fmt.Sprintf("Candidate %d", i),
				"resume_text": "Senior backend engineer: 7 years of Go and PostgreSQL, led a team of 6. MSc, Stanford University."},
		})
	}
	return ids
}
