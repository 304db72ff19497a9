package router

import (
	"context"
	"net/http"
	"testing"

	"github.com/headhunter/hh-enrich-svc/store"
)

// deadLetter submits a job for tenant and fails it for good.
func deadLetter(t *testing.T, b *testBundle, tenant string) string {
	t.Helper()
	ctx := context.Background()
	job, _, err := b.store.Submit(ctx, store.SubmitRequest{TenantID: tenant, CandidateID: "cand-dead"})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := b.store.Lease(ctx)
	if err != nil || lease == nil || lease.Job.ID != job.ID {
		t.Fatalf("lease = %+v, %v", lease, err)
	}
	if _, err := b.store.Fail(ctx, lease, store.JobError{Code: "invalid_candidate", Message: "nothing to enrich"}); err != nil {
		t.Fatal(err)
	}
	return job.ID
}

func TestAdminQueue(t *testing.T) {
	t.Parallel()

	t.Run("ShowsCountsDepthAndATenantsDeadLetters", func(t *testing.T) {
		t.Parallel()
		b, _ := setupAdmin(t, "s3cret-admin")
		id := deadLetter(t, b, "tenant-alpha")
		resp := b.request(t, http.MethodGet, "/admin/queue?tenant=tenant-alpha", admin, "")
		dead, _ := resp.body["deadLetters"].([]any)
		totals, _ := resp.body["totals"].(map[string]any)
		if resp.status != http.StatusOK || len(dead) != 1 || dead[0].(map[string]any)["jobId"] != id || totals["failed"] != 1.0 {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
		if dead[0].(map[string]any)["errorCode"] != "invalid_candidate" {
			t.Fatalf("dead letter lacks its code: %v", dead[0])
		}
	})

	t.Run("RequeuesADeadLetterOfTheNamedTenantOnly", func(t *testing.T) {
		t.Parallel()
		b, _ := setupAdmin(t, "s3cret-admin")
		id := deadLetter(t, b, "tenant-alpha")
		other := b.request(t, http.MethodPost, "/admin/jobs/"+id+"/requeue", withHeader(admin, "X-Tenant-ID", "tenant-beta"), "")
		if other.status != http.StatusNotFound {
			t.Fatalf("cross-tenant requeue: %d %v, want 404", other.status, other.body)
		}
		resp := b.request(t, http.MethodPost, "/admin/jobs/"+id+"/requeue", withHeader(admin, "X-Tenant-ID", "tenant-alpha"), "")
		job, _ := resp.body["job"].(map[string]any)
		if resp.status != http.StatusOK || job["status"] != "queued" || job["attemptCount"] != 0.0 {
			t.Fatalf("requeue: %d %v", resp.status, resp.body)
		}
		again := b.request(t, http.MethodPost, "/admin/jobs/"+id+"/requeue", withHeader(admin, "X-Tenant-ID", "tenant-alpha"), "")
		if again.status != http.StatusNotFound {
			t.Fatalf("second requeue: %d %v, want 404 (no longer a dead letter)", again.status, again.body)
		}
	})

	t.Run("RequeueNeedsTheTenantAndTheAdminToken", func(t *testing.T) {
		t.Parallel()
		b, _ := setupAdmin(t, "s3cret-admin")
		id := deadLetter(t, b, "tenant-alpha")
		if resp := b.request(t, http.MethodPost, "/admin/jobs/"+id+"/requeue", admin, ""); resp.status != http.StatusBadRequest {
			t.Fatalf("without tenant: %d %v", resp.status, resp.body)
		}
		if resp := b.request(t, http.MethodPost, "/admin/jobs/"+id+"/requeue", map[string]string{"X-Tenant-ID": "tenant-alpha"}, ""); resp.status != http.StatusUnauthorized {
			t.Fatalf("without token: %d %v", resp.status, resp.body)
		}
		if resp := b.request(t, http.MethodGet, "/admin/queue?limit=0", admin, ""); resp.status != http.StatusBadRequest {
			t.Fatalf("bad limit: %d %v", resp.status, resp.body)
		}
	})
}

func TestAdminQueueRefusesParametersGivenEmpty(t *testing.T) {
	t.Parallel()
	b, _ := setupAdmin(t, "s3cret-admin")
	for _, query := range []string{"?limit=", "?tenant=", "?limit=&tenant=", "?tenant=a_b", "?limit=x"} {
		resp := b.request(t, http.MethodGet, "/admin/queue"+query, admin, "")
		if resp.status != http.StatusBadRequest || resp.body["code"] != CodeInvalidField {
			t.Errorf("%s: %d %v, want 400 invalid_field", query, resp.status, resp.body)
		}
	}
	if resp := b.request(t, http.MethodGet, "/admin/queue?tenant=tenant-alpha&limit=5", admin, ""); resp.status != http.StatusOK {
		t.Fatalf("valid parameters: %d %v", resp.status, resp.body)
	}
}
