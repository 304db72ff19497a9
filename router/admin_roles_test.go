package router

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/store"
)

// rolesBundle is the API in gateway mode with a real Redis store behind the
// queue routes, a recording pool and a static admin token, and one token per role.
type rolesBundle struct {
	*authBundle
	pool                                *recordingPool
	store                               *store.RedisStore
	tenantAdmin, orglessAdmin, operator string
}

func setupRoles(t *testing.T) *rolesBundle {
	t.Helper()
	rb := &rolesBundle{pool: &recordingPool{status: pool.Status{Size: 1, Ready: 1, Circuit: "closed",
		Processes: []pool.ProcessInfo{{ID: 0, PID: 100, State: pool.StateReady,
			LastError: "rpc error: code = Unknown desc = ValueError: Quillon Vantablack <quillon@canary.example>"}}}},
		store: setup(t).store}
	rb.authBundle = setupAuth(t, AuthModeGateway, func(_ *AuthConfig, rc *Config) {
		rc.Pool, rc.Queue, rc.AdminToken = rb.pool, rb.store, "s3cret-admin"
	})
	sign := func(claims map[string]any) string {
		return rb.gateway.sign("gw-rsa", rb.gateway.claims(testAudience, claims))
	}
	rb.tenantAdmin = sign(map[string]any{"scope": "enrich:admin", "org_id": "acme"})
	rb.orglessAdmin = sign(map[string]any{"scope": "enrich:admin", "org_id": nil})
	rb.operator = sign(map[string]any{"scope": "enrich:operator", "org_id": nil})
	return rb
}

func TestPoolRoutesAreForOperatorsOnly(t *testing.T) {
	t.Parallel()
	rb := setupRoles(t)
	routes := []struct{ method, path string }{
		{http.MethodGet, "/admin/pool"},
		{http.MethodPost, "/admin/pool/restart"},
		{http.MethodPost, "/admin/pool/processes/0/restart"},
	}
	for _, r := range routes {
		for name, token := range map[string]string{"TenantAdmin": rb.tenantAdmin, "AdminWithoutOrg": rb.orglessAdmin} {
			if resp := rb.request(t, r.method, r.path, bearer(token), ""); resp.status != http.StatusForbidden || resp.body["code"] != CodeForbidden {
				t.Errorf("%s %s as %s: %d %v, want 403 forbidden", r.method, r.path, name, resp.status, resp.body)
			}
		}
	}
	if got := rb.pool.restarted; len(got) != 0 {
		t.Fatalf("a tenant admin restarted %v", got)
	}
	for name, token := range map[string]string{"StaticToken": "s3cret-admin", "OperatorScope": rb.operator} {
		for _, r := range routes {
			if resp := rb.request(t, r.method, r.path, bearer(token), ""); resp.status != http.StatusOK {
				t.Errorf("%s %s as %s: %d %v, want 200", r.method, r.path, name, resp.status, resp.body)
			}
		}
	}
}

func TestAnAdminTokenWithoutAnOrganizationIsRefusedEverywhere(t *testing.T) {
	t.Parallel()
	rb := setupRoles(t)
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/admin/queue"},
		{http.MethodGet, "/admin/queue?tenant=acme"},
		{http.MethodPost, "/admin/jobs/0123456789abcdef/requeue"},
		{http.MethodGet, "/admin/pool"},
	} {
		resp := rb.request(t, r.method, r.path, withHeader(bearer(rb.orglessAdmin), "X-Tenant-ID", "acme"), "")
		if resp.status != http.StatusForbidden {
			t.Errorf("%s %s: %d %v, want 403", r.method, r.path, resp.status, resp.body)
		}
	}
}

func TestATenantAdminSeesOnlyItsTenantsFigures(t *testing.T) {
	t.Parallel()
	rb := setupRoles(t)
	ctx := context.Background()
	for _, sub := range []store.SubmitRequest{{TenantID: "acme", CandidateID: "c1"}, {TenantID: "globex", CandidateID: "c1"},
		{TenantID: "globex", CandidateID: "c2"}} {
		if _, _, err := rb.store.Submit(ctx, sub); err != nil {
			t.Fatal(err)
		}
	}
	resp := rb.request(t, http.MethodGet, "/admin/queue", bearer(rb.tenantAdmin), "")
	depth, _ := resp.body["depthByTenant"].(map[string]any)
	if resp.status != http.StatusOK || resp.body["tenant"] != "acme" || resp.body["queued"] != 1.0 || len(depth) != 1 || depth["acme"] != 1.0 {
		t.Fatalf("tenant admin: %d %v", resp.status, resp.body)
	}
	for _, global := range []string{"totals", "delayed", "processing"} {
		if _, ok := resp.body[global]; ok {
			t.Errorf("a tenant admin got the instance-wide %q: %v", global, resp.body)
		}
	}
	if other := rb.request(t, http.MethodGet, "/admin/queue?tenant=globex", bearer(rb.tenantAdmin), ""); other.status != http.StatusNotFound {
		t.Fatalf("another tenant's queue: %d %v", other.status, other.body)
	}
	op := rb.request(t, http.MethodGet, "/admin/queue", bearer("s3cret-admin"), "")
	if op.status != http.StatusOK || op.body["queued"] != 3.0 || op.body["totals"] == nil {
		t.Fatalf("operator: %d %v", op.status, op.body)
	}
}

func TestProcessErrorsAreShownWithoutCandidateData(t *testing.T) {
	t.Parallel()
	rb := setupRoles(t)
	for _, path := range []string{"/admin/pool", "/health/detailed"} {
		rec := serve(t, rb.handler, withAuth(httpRequest(http.MethodGet, path), "s3cret-admin"))
		body := rec.Body.String()
		if rec.Code != http.StatusOK || strings.Contains(body, "Quillon") || strings.Contains(body, "canary.example") ||
			!strings.Contains(body, "rpc error: code = Unknown (details withheld)") {
			t.Errorf("%s: %d %s", path, rec.Code, body)
		}
	}
}

func TestHealthAnswersStatusesOnlyToAnonymousCallers(t *testing.T) {
	t.Parallel()
	rb := setupRoles(t)
	anon := rb.request(t, http.MethodGet, "/health/detailed", nil, "")
	components, _ := anon.body["components"].(map[string]any)
	poolPart, _ := components["pool"].(map[string]any)
	if anon.status != http.StatusOK || len(poolPart) != 1 || poolPart["status"] != "ok" {
		t.Fatalf("anonymous /health/detailed: %d %v", anon.status, anon.body)
	}
	for _, path := range []string{"/health", "/healthz", "/readyz"} {
		if resp := rb.request(t, http.MethodGet, path, nil, ""); resp.status != http.StatusOK || resp.body["pool"] != nil {
			t.Errorf("anonymous %s: %d %v, want a status without the pool's counts", path, resp.status, resp.body)
		}
	}
	for name, token := range map[string]string{"TenantAdmin": rb.tenantAdmin} {
		if resp := rb.request(t, http.MethodGet, "/health", bearer(token), ""); resp.status != http.StatusOK || resp.body["pool"] != nil {
			t.Errorf("%s /health: %d %v, want statuses only", name, resp.status, resp.body)
		}
	}
	op := rb.request(t, http.MethodGet, "/health/detailed", bearer(rb.operator), "")
	components, _ = op.body["components"].(map[string]any)
	poolPart, _ = components["pool"].(map[string]any)
	if op.status != http.StatusOK || poolPart["processes"] == nil {
		t.Fatalf("operator /health/detailed: %d %v", op.status, op.body)
	}
	wrong := rb.request(t, http.MethodGet, "/health/detailed", bearer("a-wrong-token"), "")
	components, _ = wrong.body["components"].(map[string]any)
	if poolPart, _ = components["pool"].(map[string]any); wrong.status != http.StatusOK || len(poolPart) != 1 {
		t.Fatalf("a wrong credential on /health/detailed: %d %v, want statuses only", wrong.status, wrong.body)
	}
}

func TestWrongCredentialsOnHealthCountAgainstTheAddress(t *testing.T) {
	t.Parallel()
	rb := setupRoles(t)
	for i := range GuardBurstDefault {
		if rec := serve(t, rb.handler, withAuth(httpRequest(http.MethodGet, "/health/detailed"), fmt.Sprint("guess-", i))); rec.Code != http.StatusOK {
			t.Fatalf("guess %d: %d, want 200 with statuses", i, rec.Code)
		}
	}
	// The address is blocked now: the right token gets statuses only on health,
	// and 429 on the admin routes.
	rec := serve(t, rb.handler, withAuth(httpRequest(http.MethodGet, "/health/detailed"), "s3cret-admin"))
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "processes") {
		t.Fatalf("blocked address, right token, /health/detailed: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(t, rb.handler, withAuth(httpRequest(http.MethodGet, "/admin/pool"), "s3cret-admin")); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("blocked address, right token, /admin/pool: %d", rec.Code)
	}
}

func TestWrongAdminCredentialsAreThrottledPerAddress(t *testing.T) {
	t.Parallel()
	rb := setupRoles(t)
	from := func(addr, token string) *http.Request {
		req := withAuth(httpRequest(http.MethodGet, "/admin/pool"), token)
		req.RemoteAddr = addr + ":4711"
		return req
	}
	for i := range GuardBurstDefault {
		if rec := serve(t, rb.handler, from("192.0.2.7", "guess-"+string(rune('a'+i)))); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, rec.Code)
		}
	}
	// Blocked now, even with the right token: the guess is not even checked.
	rec := serve(t, rb.handler, from("192.0.2.7", "s3cret-admin"))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), CodeRateLimited) {
		t.Fatalf("after %d wrong guesses: %d %v %s", GuardBurstDefault, rec.Code, rec.Header(), rec.Body)
	}
	if rec := serve(t, rb.handler, from("192.0.2.8", "s3cret-admin")); rec.Code != http.StatusOK {
		t.Fatalf("another address: %d, want 200", rec.Code)
	}
}

func TestClientAddressTrustsOnlyTheConfiguredProxyHops(t *testing.T) {
	t.Parallel()
	req := httpRequest(http.MethodGet, "/")
	req.RemoteAddr = "10.0.0.1:5000"
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.9")
	if got := NewCredentialGuard(GuardConfig{}).ClientAddress(req); got != "10.0.0.1" {
		t.Errorf("no trusted proxy: %s, want the connection's address", got)
	}
	if got := NewCredentialGuard(GuardConfig{TrustedProxyHops: 1}).ClientAddress(req); got != "203.0.113.9" {
		t.Errorf("one trusted proxy: %s, want the entry it added", got)
	}
}

func httpRequest(method, path string) *http.Request {
	req, _ := http.NewRequest(method, "http://svc.test"+path, nil) // constant URLs parse
	req.RemoteAddr = "192.0.2.1:1234"
	return req
}

func withAuth(req *http.Request, token string) *http.Request {
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
