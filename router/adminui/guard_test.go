package adminui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCSRF(t *testing.T) {
	t.Parallel()
	restartAll := func(csrf string) url.Values {
		return url.Values{"target": {"all"}, "confirm": {"yes"}, "csrf": {csrf}}
	}

	t.Run("APostWithoutTheTokenIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		for _, form := range []url.Values{restartAll(""), {"target": {"all"}, "confirm": {"yes"}}} {
			if p := br.post("/admin/ui/pool/restart", form); p.status != http.StatusForbidden {
				t.Errorf("restart without CSRF token: %d, want 403", p.status)
			}
		}
		if got := b.pool.restarts(); len(got) != 0 {
			t.Fatalf("restarted without a CSRF token: %v", got)
		}
	})

	t.Run("AnotherSessionsTokenIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		other := b.browser(t)
		other.signIn(operatorToken)
		br := b.browser(t)
		br.signIn(operatorToken)
		if p := br.post("/admin/ui/pool/restart", restartAll(other.csrf())); p.status != http.StatusForbidden {
			t.Fatalf("restart with another session's token: %d, want 403", p.status)
		}
		if got := b.pool.restarts(); len(got) != 0 {
			t.Fatalf("restarted: %v", got)
		}
	})

	t.Run("ACrossOriginPostIsRefusedEvenWithTheToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		csrf := br.csrf()
		br.origin = "https://evil.example"
		if p := br.post("/admin/ui/pool/restart", restartAll(csrf)); p.status != http.StatusForbidden {
			t.Fatalf("cross-origin restart: %d, want 403", p.status)
		}
		br.origin = ""
		req, _ := http.NewRequest(http.MethodPost, b.server.URL+"/admin/ui/pool/restart", strings.NewReader(restartAll(csrf).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Referer", "https://evil.example/page")
		if p := br.do(req); p.status != http.StatusForbidden {
			t.Fatalf("cross-site Referer: %d, want 403", p.status)
		}
		if got := b.pool.restarts(); len(got) != 0 {
			t.Fatalf("restarted: %v", got)
		}
	})

	t.Run("BehindAProxyTheForwardedHostIsTheOrigin", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		req, _ := http.NewRequest(http.MethodPost, b.server.URL+"/admin/ui/pool/restart",
			strings.NewReader(url.Values{"target": {"all"}, "csrf": {br.csrf()}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://console.example")
		req.Header.Set("X-Forwarded-Host", "console.example")
		if p := br.do(req); p.status != http.StatusOK || !strings.Contains(p.body, "confirm-restart") {
			t.Fatalf("same-origin POST through a proxy: %d", p.status)
		}
	})

	t.Run("ASignInFromAnotherOriginIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.origin = "https://evil.example"
		if p := br.post("/admin/ui/signin", url.Values{"credential": {operatorToken}}); p.status != http.StatusBadRequest || br.sessionCookie() != "" {
			t.Fatalf("cross-origin sign-in: %d, cookie %q", p.status, br.sessionCookie())
		}
	})

	t.Run("EveryFormCarriesTheToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.jobs.add(failedJob("0123456789abcdef0123456789abcdef", "tenant-a", "candidate_not_found", "no", b.clock.Now()))
		br := b.browser(t)
		br.signIn(operatorToken)
		token := br.csrf()
		for _, path := range []string{"/admin/ui/overview", "/admin/ui/pool", "/admin/ui/jobs?id=0123456789abcdef0123456789abcdef&tenant=tenant-a", "/admin/ui/tenants"} {
			body := br.get(path).body
			posts := strings.Count(body, `method="post"`)
			if posts == 0 || strings.Count(body, `name="csrf" value="`+token+`"`) != posts {
				t.Errorf("%s: %d POST forms, %d with the session's CSRF token", path, posts, strings.Count(body, token))
			}
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	signedIn := b.browser(t)
	signedIn.signIn(operatorToken)
	for _, p := range []page{b.browser(t).get("/admin/ui/signin"), signedIn.get("/admin/ui/pool")} {
		for name, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
			"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"} {
			if got := p.header.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
	}
}
