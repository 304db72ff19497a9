package main

import (
	"slices"
	"strings"
	"testing"
)

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	api, url := newFakeAPI(t)
	env := map[string]string{"HH_ENRICH_URL": url, "ENRICH_ADMIN_TOKEN": "admin-secret", "HH_ENRICH_TENANT": "t1"}

	t.Run("PoolPrintsEveryProcess", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, env, "admin", "pool")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{"pool: 2/2 ready, circuit closed", "restarts operator=1", "101", "31.0", "exit status 1"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
	})

	t.Run("RestartTakesAnOptionalProcessID", func(t *testing.T) {
		for _, args := range [][]string{{"admin", "restart"}, {"admin", "restart", "1"}} {
			if code, _, stderr := runCLI(t, env, args...); code != exitOK {
				t.Fatalf("%q: exit %d: %s", args, code, stderr)
			}
		}
		_, requests := api.stats()
		for _, want := range []string{"POST /admin/pool/restart", "POST /admin/pool/processes/1/restart"} {
			if !slices.Contains(requests, want) {
				t.Errorf("no %s in %v", want, requests)
			}
		}
	})

	t.Run("QueueNarrowsToATenantOnlyWhenAsked", func(t *testing.T) {
		code, stdout, _ := runCLI(t, env, "admin", "queue")
		if code != exitOK || !strings.Contains(stdout, "queued 3, delayed (retry backoff) 1, processing 2") ||
			strings.Contains(stdout, "dead letters") {
			t.Errorf("exit %d:\n%s", code, stdout)
		}
		code, stdout, _ = runCLI(t, env, "admin", "queue", "--tenant", "t1", "--limit", "5")
		if code != exitOK || !strings.Contains(stdout, "j-dead") || !strings.Contains(stdout, "python_crashed") {
			t.Errorf("exit %d:\n%s", code, stdout)
		}
		if _, requests := api.stats(); !slices.Contains(requests, "GET /admin/queue?limit=5&tenant=t1") {
			t.Errorf("requests %v", requests)
		}
		// --limit alone would be dropped without a word.
		if code, _, stderr := runCLI(t, env, "admin", "queue", "--limit", "5"); code != exitError || !strings.Contains(stderr, "--tenant") {
			t.Errorf("--limit without --tenant: exit %d: %s", code, stderr)
		}
	})

	t.Run("SaysWhichTokenIsMissing", func(t *testing.T) {
		code, _, stderr := runCLI(t, map[string]string{"HH_ENRICH_URL": url}, "admin", "pool")
		if code != exitError || !strings.Contains(stderr, "ENRICH_ADMIN_TOKEN") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	t.Run("StatusPrintsTheJob", func(t *testing.T) {
		api.mu.Lock()
		api.jobs["job-x"] = &fakeJob{ID: "job-x", CandidateID: "c-1", Status: "completed"}
		api.mu.Unlock()
		code, stdout, stderr := runCLI(t, env, "status", "job-x")
		if code != exitOK || !strings.Contains(stdout, `"overall_score": 0.5`) {
			t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if code, _, stderr := runCLI(t, env, "status", "job-missing"); code != exitError || !strings.Contains(stderr, "404") {
			t.Errorf("missing job: exit %d, stderr:\n%s", code, stderr)
		}
	})
}
