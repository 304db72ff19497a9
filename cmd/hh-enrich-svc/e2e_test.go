package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store"
)

func TestService(t *testing.T) {
	t.Parallel()

	t.Run("RunsASubmittedJobToCompletedWithEveryResultField", func(t *testing.T) {
		t.Parallel()
		s := startService(t)
		doc := candidates(t, 1)[0]
		id := s.submit("tenant-alpha", map[string]any{"candidateId": "cand-e2e-1", "payload": doc})
		job := s.waitForTerminal("tenant-alpha", id)
		if job["status"] != "completed" {
			t.Fatalf("job = %v, want completed", job)
		}
		result := job["result"].(map[string]any)
		for _, field := range []string{"processingTimeSeconds", "candidateSnapshot", "embeddingUpserted",
			"embeddingSkippedReason", "modelVersion", "promptVersion", "phaseDurationsMs", "attempts", "queueDurationMs"} {
			if _, ok := result[field]; !ok {
				t.Errorf("result lacks %s: %v", field, result)
			}
		}
		if result["embeddingUpserted"] != false || result["embeddingSkippedReason"] != "embedding_disabled" {
			t.Errorf("embedding fields = %v / %v", result["embeddingUpserted"], result["embeddingSkippedReason"])
		}
		if result["modelVersion"] == "" || result["promptVersion"] == "" || result["attempts"] != 1.0 {
			t.Errorf("versions %q %q, attempts %v", result["modelVersion"], result["promptVersion"], result["attempts"])
		}
		phases := result["phaseDurationsMs"].(map[string]any)
		for _, phase := range []string{"queue", "python", "embed", "total"} {
			if v, ok := phases[phase].(float64); !ok || v < 0 {
				t.Errorf("phaseDurationsMs.%s = %v", phase, phases[phase])
			}
		}
		snapshot := result["candidateSnapshot"].(map[string]any)
		for _, field := range []string{"resume_analysis", "recruiter_insights", "overall_score", "processing_metadata"} {
			if snapshot[field] == nil {
				t.Errorf("candidateSnapshot lacks %s", field)
			}
		}
		if snapshot["status"] != "enriched" || snapshot["name"] != doc["name"] {
			t.Errorf("snapshot status %v, name %v (want enriched, %v)", snapshot["status"], snapshot["name"], doc["name"])
		}
	})

	t.Run("SyncRequestAnswersWithTheCompletedJob", func(t *testing.T) {
		t.Parallel()
		s := startService(t)
		resp := s.do(http.MethodPost, "/v1/enrich/profile", "tenant-alpha",
			map[string]any{"candidateId": "cand-sync", "async": false, "payload": candidates(t, 1)[0]})
		job := resp.Body["job"].(map[string]any)
		if resp.Status != http.StatusOK || job["status"] != "completed" || job["result"] == nil {
			t.Fatalf("got %d %v, want 200 with the completed job", resp.Status, resp.Body)
		}
	})

	t.Run("PluginLogLinesReachTheServiceLogAtTheirOwnLevel", func(t *testing.T) {
		t.Parallel()
		s := startService(t, "ENRICH_TEST_FAULTS=1")
		doc := candidates(t, 1)[0]
		doc["_fault"] = "internal"
		job := s.waitForTerminal("tenant-alpha", s.submit("tenant-alpha", map[string]any{"candidateId": "cand-bug", "payload": doc}))
		if job["status"] != "failed" || job["errorCode"] != "python_error" {
			t.Fatalf("job = %v, want failed with python_error", job)
		}
		levels := map[string]string{}
		for _, line := range strings.Split(s.logs.String(), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) == nil && entry["@module"] == "hh_enrich_plugin" {
				levels[fmt.Sprint(entry["@message"])] = fmt.Sprint(entry["@level"])
			}
		}
		if levels["plugin serving"] != "info" || levels["enricher failed"] != "error" {
			t.Fatalf("plugin lines by level = %v, want plugin serving at info and enricher failed at error", levels)
		}
	})

	t.Run("AnotherTenantsJobIsNotFound", func(t *testing.T) {
		t.Parallel()
		s := startService(t)
		id := s.submit("tenant-alpha", map[string]any{"candidateId": "cand-private", "payload": candidates(t, 1)[0]})
		resp := s.do(http.MethodGet, "/v1/enrich/status/"+id, "tenant-beta", nil)
		if resp.Status != http.StatusNotFound || resp.Body["code"] != "not_found" {
			t.Fatalf("other tenant got %d %v, want 404 not_found", resp.Status, resp.Body)
		}
		if resp := s.do(http.MethodGet, "/v1/enrich/status/"+id, "tenant-alpha", nil); resp.Status != http.StatusOK {
			t.Fatalf("own tenant got %d %v", resp.Status, resp.Body)
		}
	})

	// Paths the router has no route for are its to answer, in JSON with the API's
	// headers: net/http's mux used to answer them with an HTML redirect to the
	// cleaned path (/v1/enrich/status/../../admin/pool to /admin/pool).
	t.Run("UncleanPathsAreTheRoutersJSON404", func(t *testing.T) {
		t.Parallel()
		s := startService(t)
		noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, path := range []string{"/v1/enrich/status/../../admin/pool", "/v1/enrich//status/x", "/metrics/", "/./health"} {
			req, err := http.NewRequest(http.MethodGet, s.baseURL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Tenant-ID", "tenant-alpha")
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			decodeErr := json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || decodeErr != nil || body["code"] != "not_found" ||
				resp.Header.Get("X-Request-ID") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: %d %v %v (decode: %v), want the router's JSON 404", path, resp.StatusCode, resp.Header, body, decodeErr)
			}
		}
		if resp, err := http.Head(s.baseURL + "/health"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD /health: %v %v", resp, err)
		}
	})

	t.Run("JobsWithNothingToEnrichFailWithACode", func(t *testing.T) {
		t.Parallel()
		s := startService(t)
		for _, tc := range []struct {
			body map[string]any
			code string
		}{
			{map[string]any{"candidateId": "no-payload"}, "candidate_not_found"},
			{map[string]any{"candidateId": "empty-doc", "payload": map[string]any{"name": "Only A Name"}}, "invalid_candidate"},
		} {
			job := s.waitForTerminal("tenant-alpha", s.submit("tenant-alpha", tc.body))
			if job["status"] != "failed" || job["errorCode"] != tc.code || job["error"] == "" {
				t.Errorf("%v: job = %v, want failed with %s", tc.body, job, tc.code)
			}
			if job["attemptCount"] != 1.0 {
				t.Errorf("%v: attemptCount = %v: a job that cannot succeed must not be retried", tc.body, job["attemptCount"])
			}
		}
	})

	t.Run("ThousandJobsRunOnPoolSizeProcessesThatNeverChange", func(t *testing.T) {
		t.Parallel()
		s := startService(t)
		before := s.pluginPIDs()
		if len(before) != 2 {
			t.Fatalf("plugin processes = %v, want ENRICH_POOL_SIZE=2", before)
		}
		for _, id := range s.submitMany("tenant-alpha", 1000) {
			if job := s.waitForTerminal("tenant-alpha", id); job["status"] != "completed" {
				t.Fatalf("job %s = %v", id, job)
			}
		}
		if after := s.pluginPIDs(); !slices.Equal(slices.Sorted(slices.Values(before)), slices.Sorted(slices.Values(after))) {
			t.Fatalf("plugin pids changed from %v to %v", before, after)
		}
	})

	t.Run("KillNineOfAPluginLosesNoneOfAThousandJobs", func(t *testing.T) {
		t.Parallel()
		s := startService(t)
		victim := s.pluginPIDs()[0]
		ids := s.submitMany("tenant-alpha", 1000)
		// Kill once the run is under way: wait for the first job to finish.
		s.waitForTerminal("tenant-alpha", ids[0])
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if job := s.waitForTerminal("tenant-alpha", id); job["status"] != "completed" {
				t.Fatalf("job %s = %v", id, job)
			}
		}
		after := s.pluginPIDs()
		if len(after) != 2 || slices.Contains(after, victim) {
			t.Fatalf("plugin pids after the kill = %v (victim %d), want 2 fresh ones", after, victim)
		}
	})

	t.Run("OperatorRollingRestartUnderLoadFailsNoJob", func(t *testing.T) {
		t.Parallel()
		s := startService(t, "ENRICH_ADMIN_TOKEN=test-admin-token-0123456789abcdef0123")
		before := s.pluginPIDs()
		ids := s.submitMany("tenant-alpha", 1000)
		s.waitForTerminal("tenant-alpha", ids[0])
		resp := s.admin(http.MethodPost, "/admin/pool/restart", "test-admin-token-0123456789abcdef0123")
		if resp.Status != http.StatusOK {
			t.Fatalf("restart: %d %v", resp.Status, resp.Body)
		}
		for _, id := range ids {
			if job := s.waitForTerminal("tenant-alpha", id); job["status"] != "completed" {
				t.Fatalf("job %s = %v", id, job)
			}
		}
		after := s.pluginPIDs()
		if len(after) != 2 || slices.ContainsFunc(after, func(pid int) bool { return slices.Contains(before, pid) }) {
			t.Fatalf("plugin pids %v after the restart, before %v: want 2 new ones", after, before)
		}
		if resp := s.admin(http.MethodPost, "/admin/pool/restart", "wrong-token"); resp.Status != http.StatusUnauthorized {
			t.Fatalf("wrong token: %d %v", resp.Status, resp.Body)
		}
		status := s.admin(http.MethodGet, "/admin/pool", "test-admin-token-0123456789abcdef0123")
		restarts, _ := status.Body["restarts"].(map[string]any)
		if restarts["operator"] != 2.0 {
			t.Fatalf("admin status = %v, want 2 operator restarts", status.Body)
		}
	})

	t.Run("SigkillOfOneOfTwoInstancesLosesNoJob", func(t *testing.T) {
		t.Parallel()
		// Short leases keep the test short; the mechanism is the production one.
		a := startService(t, "ENRICH_LEASE_MS=2000")
		b := startServiceOn(t, a.redisAddr, "ENRICH_LEASE_MS=2000")
		ids := a.submitMany("tenant-alpha", 600)
		a.waitForTerminal("tenant-alpha", ids[0])
		if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		<-a.done
		for _, id := range ids {
			if job := b.waitForTerminal("tenant-alpha", id); job["status"] != "completed" {
				t.Fatalf("job %s = %v", id, job)
			}
		}
		t.Logf("every job completed %s after one of two instances was SIGKILLed", time.Since(killed).Round(time.Millisecond))
	})

	// A stopping instance leases nothing more, so a request waiting for a queued
	// job answers at once (202, queued) instead of holding the drain for
	// ENRICH_SYNC_WAIT_MS: before, the client got an empty reply after
	// ENRICH_SHUTDOWN_TIMEOUT_MS and the service exited 1.
	t.Run("SigtermAnswersASyncWaiterAndExitsCleanly", func(t *testing.T) {
		t.Parallel()
		s := startService(t, "ENRICH_TEST_FAULTS=1", "ENRICH_CONCURRENCY=1", "ENRICH_BATCH_SIZE=1",
			"ENRICH_SYNC_WAIT_MS=120000", "ENRICH_SHUTDOWN_TIMEOUT_MS=60000")
		// The only worker slot sleeps on one job, so the sync request's job stays queued.
		doc := candidates(t, 1)[0]
		doc["_fault"] = "sleep:1500"
		busy := s.submit("tenant-alpha", map[string]any{"candidateId": "cand-busy", "payload": doc})
		rdb := redis.NewClient(&redis.Options{Addr: s.redisAddr})
		defer rdb.Close()
		st, err := store.NewRedisStore(rdb, store.Config{})
		if err != nil {
			t.Fatal(err)
		}
		waitForCounts(t, st, func(c *store.Counts) bool { return c.Processing == 1 })
		answered := make(chan apiResponse, 1)
		go func() {
			// Not s.do: its t.Fatal may not run outside the test's goroutine.
			req, _ := http.NewRequest(http.MethodPost, s.baseURL+"/v1/enrich/profile",
				strings.NewReader(`{"candidateId":"cand-sync","async":false}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Tenant-ID", "tenant-alpha")
			var out apiResponse
			if resp, err := http.DefaultClient.Do(req); err != nil {
				out.Body = map[string]any{"transport error": err.Error()}
			} else {
				out.Status = resp.StatusCode
				_ = json.NewDecoder(resp.Body).Decode(&out.Body)
				resp.Body.Close()
			}
			answered <- out
		}()
		waitForCounts(t, st, func(c *store.Counts) bool { return c.Queued == 1 })
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		resp := <-answered
		if job, _ := resp.Body["job"].(map[string]any); resp.Status != http.StatusAccepted || job["status"] != "queued" {
			t.Fatalf("the waiting request got %d %v, want 202 with its job queued", resp.Status, resp.Body)
		}
		<-s.done
		if s.exitErr != nil {
			t.Fatalf("service exit: %v\n%s", s.exitErr, s.logs.String())
		}
		for _, noise := range []string{"cancelled at stop", "still running"} {
			if strings.Contains(s.logs.String(), noise) {
				t.Errorf("the log says %q after a clean drain:\n%s", noise, s.logs.String())
			}
		}
		// The running job finished in the drain; the waiting one stays for the next instance.
		if job, err := st.Get(context.Background(), busy); err != nil || job.Status != store.StatusCompleted {
			t.Errorf("the running job: %v %v, want completed", job, err)
		}
	})

	t.Run("SigtermDrainsRunningJobsAndLeavesTheRestQueued", func(t *testing.T) {
		t.Parallel()
		s := startService(t)
		ids := s.submitMany("tenant-alpha", 300)
		s.waitForTerminal("tenant-alpha", ids[0])
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.done:
		case <-time.After(waitTimeout):
			t.Fatal("service did not exit after SIGTERM")
		}
		if s.exitErr != nil {
			t.Fatalf("service exit: %v\n%s", s.exitErr, s.logs.String())
		}
		ctx := context.Background()
		rdb := redis.NewClient(&redis.Options{Addr: s.redisAddr})
		defer rdb.Close()
		st, err := store.NewRedisStore(rdb, store.Config{})
		if err != nil {
			t.Fatal(err)
		}
		completed := 0
		for _, id := range ids {
			job, err := st.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			switch job.Status {
			case store.StatusCompleted:
				completed++
			case store.StatusQueued:
			default:
				t.Fatalf("after the drain job %s is %s, want completed or queued", id, job.Status)
			}
		}
		t.Logf("drained with %d of %d jobs completed, the rest queued", completed, len(ids))
		// A new instance on the same Redis finishes what the first left queued.
		s2 := startServiceOn(t, s.redisAddr)
		for _, id := range ids {
			if job := s2.waitForTerminal("tenant-alpha", id); job["status"] != "completed" {
				t.Fatalf("job %s = %v", id, job)
			}
		}
	})
}

// waitForCounts polls the store's job counts until ok holds.
func waitForCounts(t *testing.T, st *store.RedisStore, ok func(*store.Counts) bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		c, err := st.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job counts still %+v after %s", c, waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
