package main

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// TestMigrateMovesTheOriginalsQueuedJobsToTheService seeds a real redis-server
// with the original service's layout and moves it to the real service: queued
// and (when asked) processing jobs arrive under their tenant, leave the old
// queue and record their new id; a tenant the service refuses stays put; a rerun
// moves nothing twice.
func TestMigrateMovesTheOriginalsQueuedJobsToTheService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the service: not in -short")
	}
	_, svc := buildBinaries(t)
	baseURL := startE2EService(t, svc)
	addr := redistest.StartTCP(t)
	ctx := context.Background()
	old := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = old.Close() })
	seed := []struct{ id, tenant, candidate, status string }{
		{"a1", "tenant-alpha", "cand-1", "queued"}, {"a2", "tenant-alpha", "cand-2", "queued"},
		{"b1", "tenant-beta", "cand-9", "queued"}, {"bad1", "tenant_legacy", "cand-3", "queued"},
		{"p1", "tenant-beta", "cand-7", "processing"}, {"c1", "tenant-alpha", "cand-5", "completed"},
	}
	for _, j := range seed {
		old.HSet(ctx, "hh:enrich:job:"+j.id, "jobId", j.id, "tenantId", j.tenant, "candidateId", j.candidate,
			"status", j.status, "priority", "5", "attemptCount", "0")
		if j.status == "queued" {
			old.LPush(ctx, "hh:enrich:queue", j.id)
		}
	}
	old.LPush(ctx, "hh:enrich:queue", "expired1") // its hash is gone
	old.HSet(ctx, "hh:enrich:job:metrics", "queue_depth_samples", "5")
	args := []string{"migrate", "--from", "redis://" + addr, "--url", baseURL, "--include-processing"}

	code, stdout, stderr := runCLI(t, nil, append(args, "--dry-run")...)
	if code != exitOK || !strings.Contains(stdout, "tenant-alpha: 2 jobs would move") || old.LLen(ctx, "hh:enrich:queue").Val() != 5 {
		t.Fatalf("dry run: exit %d, queue %d\n%s%s", code, old.LLen(ctx, "hh:enrich:queue").Val(), stdout, stderr)
	}

	code, stdout, stderr = runCLI(t, nil, args...)
	if code != exitSomeFailed || !strings.Contains(stdout, "5 jobs of 3 tenants found, 4 moved, 1 left in place") ||
		!strings.Contains(stderr, "tenant tenant_legacy: refused") {
		t.Fatalf("migrate: exit %d\n%s%s", code, stdout, stderr)
	}
	if left := old.LRange(ctx, "hh:enrich:queue", 0, -1).Val(); strings.Join(left, ",") != "expired1,bad1" {
		t.Errorf("old queue after the move: %v, want the expired id and the refused tenant's job", left)
	}
	for _, j := range seed[:5] {
		newID := old.HGet(ctx, "hh:enrich:job:"+j.id, "migratedJobId").Val()
		if j.tenant == "tenant_legacy" {
			if newID != "" {
				t.Errorf("%s of a refused tenant marked moved to %s", j.id, newID)
			}
			continue
		}
		job, err := NewClient(ClientConfig{BaseURL: baseURL, Tenant: j.tenant}).GetJob(ctx, newID)
		if err != nil || job.CandidateID != j.candidate {
			t.Errorf("%s moved to %q: %+v, %v", j.id, newID, job, err)
		}
	}
	if old.HGet(ctx, "hh:enrich:job:c1", "migratedJobId").Val() != "" {
		t.Error("a completed job was moved")
	}

	code, stdout, _ = runCLI(t, nil, args...)
	if code != exitSomeFailed || !strings.Contains(stdout, "1 jobs of 1 tenants found, 0 moved") {
		t.Errorf("rerun: exit %d\n%s", code, stdout)
	}
}

func TestMigrateNeedsTheOriginalsRedis(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, nil, "migrate", "--url", "http://127.0.0.1:1")
	if code != exitError || !strings.Contains(stderr, "migrate needs --from") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
