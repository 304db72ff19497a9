package adminui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/headhunter/hh-enrich-svc/router"
)

func TestThePoolPageIsForOperatorsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	br.signIn(tenantJWT)
	if p := br.get("/admin/ui/pool"); p.status != http.StatusForbidden || strings.Contains(p.body, `data-pid=`) {
		t.Fatalf("a tenant admin's pool page: %d, want 403 without processes", p.status)
	}
	jobs := br.get("/admin/ui/jobs")
	if jobs.status != http.StatusOK || strings.Contains(jobs.body, `href="/admin/ui/pool"`) {
		t.Fatalf("a tenant admin's nav links the pool page (or jobs failed: %d)", jobs.status)
	}
	for _, target := range []string{"all", "0"} {
		p := br.post("/admin/ui/pool/restart", url.Values{"csrf": {br.csrf()}, "target": {target}, "confirm": {"yes"}})
		if p.status != http.StatusForbidden {
			t.Fatalf("a tenant admin's restart of %s: %d, want 403", target, p.status)
		}
	}
	if got := b.pool.restarts(); len(got) != 0 {
		t.Fatalf("a tenant admin restarted %v", got)
	}
}

func TestFailedSignInsAreThrottledPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.Guard = router.NewCredentialGuard(router.GuardConfig{}) })
	br := b.browser(t)
	for i := range router.GuardBurstDefault {
		if p := br.post("/admin/ui/signin", url.Values{"credential": {"guess-" + string(rune('a'+i))}}); p.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, p.status)
		}
	}
	p := br.post("/admin/ui/signin", url.Values{"credential": {operatorToken}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many failed sign-ins") {
		t.Fatalf("after %d failures even the right token must wait: %d %v", router.GuardBurstDefault, p.status, p.header)
	}
}

func TestSessionsEndWhenTheAdminCredentialChanges(t *testing.T) {
	t.Parallel()
	key := []byte(strings.Repeat("k", SessionKeyMinBytes))
	before := setup(t, func(c *Config) { c.SessionKey, c.CredentialEpoch = key, "old-admin-token" })
	br := before.browser(t)
	br.signIn(operatorToken)
	cookie := br.sessionCookie()
	// Another instance with the same session key: it accepts the session under the
	// same admin token, and refuses it once the token was rotated.
	for token, want := range map[string]int{"old-admin-token": http.StatusOK, "new-admin-token": http.StatusSeeOther} {
		after := setup(t, func(c *Config) { c.SessionKey, c.CredentialEpoch = key, token })
		req, _ := http.NewRequest(http.MethodGet, after.server.URL+"/admin/ui/overview", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		if p := after.browser(t).do(req); p.status != want {
			t.Errorf("admin token %s: %d, want %d", token, p.status, want)
		}
	}
	if strings.Contains(cookie, "old-admin-token") {
		t.Fatal("the cookie carries the admin token")
	}
}
