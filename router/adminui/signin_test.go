package adminui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSignIn(t *testing.T) {
	t.Parallel()

	t.Run("EveryPageSendsAStrangerToTheSignInForm", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		for _, path := range []string{"/admin/ui", "/admin/ui/", "/admin/ui/overview", "/admin/ui/pool", "/admin/ui/jobs?id=x",
			"/admin/ui/tenants", "/admin/ui/no-such-page"} {
			p := br.get(path)
			want := "/admin/ui/signin?next=" + url.QueryEscape(path)
			if p.status != http.StatusSeeOther || p.location != want {
				t.Errorf("GET %s: %d %q, want 303 to %s", path, p.status, p.location, want)
			}
		}
		if p := br.get("/admin/ui/pool?partial=1"); p.status != http.StatusUnauthorized || strings.Contains(p.body, "data-pid") {
			t.Errorf("partial refresh without a session: %d", p.status)
		}
	})

	t.Run("ActionsWithoutASessionDoNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.jobs.add(failedJob("0123456789abcdef0123456789abcdef", "tenant-a", "candidate_not_found", "no", b.clock.Now()))
		br := b.browser(t)
		for path, form := range map[string]url.Values{
			"/admin/ui/pool/restart":  {"target": {"all"}, "confirm": {"yes"}},
			"/admin/ui/jobs/requeue":  {"tenant": {"tenant-a"}, "job": {"0123456789abcdef0123456789abcdef"}},
			"/admin/ui/signout":       {},
			"/admin/ui/overview":      {},
			"/admin/ui/pool/restart/": {},
		} {
			if p := br.post(path, form); p.status != http.StatusUnauthorized {
				t.Errorf("POST %s without a session: %d, want 401", path, p.status)
			}
		}
		if got := b.pool.restarts(); len(got) != 0 {
			t.Fatalf("restarts without a session: %v", got)
		}
		if dead, _ := b.jobs.DeadLetters(t.Context(), "tenant-a", 10); len(dead) != 1 {
			t.Fatal("a dead letter was requeued without a session")
		}
	})

	t.Run("RefusesAWrongOrMissingCredential", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		for _, credential := range []string{"wrong", "", "   ", operatorToken + "x", strings.ToUpper(operatorToken)} {
			p := br.post("/admin/ui/signin", url.Values{"credential": {credential}})
			if p.status != http.StatusUnauthorized || p.header.Get("Set-Cookie") != "" || !strings.Contains(p.body, `role="alert"`) {
				t.Errorf("credential %q: %d, Set-Cookie %q", credential, p.status, p.header.Get("Set-Cookie"))
			}
			if strings.Contains(p.body, credential) && strings.TrimSpace(credential) != "" {
				t.Errorf("the refused credential %q is echoed in the page", credential)
			}
		}
		if p := br.get("/admin/ui/overview"); p.status != http.StatusSeeOther {
			t.Fatalf("after refused sign-ins the overview answered %d", p.status)
		}
	})

	t.Run("SetsASignedHttpOnlyStrictCookieAndGoesBackToWhereItWasAsked", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		p := br.post("/admin/ui/signin", url.Values{"credential": {operatorToken}, "next": {"/admin/ui/jobs?id=abc"}})
		cookie := p.header.Get("Set-Cookie")
		for _, want := range []string{sessionCookie + "=", "Path=/admin/ui", "HttpOnly", "SameSite=Strict", "Max-Age=28800"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("Set-Cookie %q lacks %s", cookie, want)
			}
		}
		if strings.Contains(cookie, "Secure") || strings.Contains(cookie, operatorToken) {
			t.Errorf("Set-Cookie %q: Secure over plain HTTP, or the token in the cookie", cookie)
		}
		if p.status != http.StatusSeeOther || p.location != "/admin/ui/jobs?id=abc" {
			t.Fatalf("sign-in: %d to %q", p.status, p.location)
		}
		if p := br.get("/admin/ui/overview"); p.status != http.StatusOK || !strings.Contains(p.body, "Signed in as <strong>operator</strong>") {
			t.Fatalf("overview after sign-in: %d", p.status)
		}
	})

	t.Run("CookieIsSecureBehindAnHTTPSProxy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		req, _ := http.NewRequest(http.MethodPost, b.server.URL+"/admin/ui/signin", strings.NewReader("credential="+operatorToken))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		if p := br.do(req); !strings.Contains(p.header.Get("Set-Cookie"), "Secure") {
			t.Fatalf("Set-Cookie %q behind https lacks Secure", p.header.Get("Set-Cookie"))
		}
	})

	t.Run("ATamperedCookieIsNoSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(tenantJWT)
		value := br.sessionCookie()
		payload, sig, _ := strings.Cut(value, ".")
		for _, forged := range []string{payload + "x." + sig, payload + "." + strings.Repeat("A", len(sig)), "garbage"} {
			req, _ := http.NewRequest(http.MethodGet, b.server.URL+"/admin/ui/pool", nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: forged})
			if p := b.browser(t).do(req); p.status != http.StatusSeeOther {
				t.Errorf("forged cookie %q: %d, want 303 to sign in", forged, p.status)
			}
		}
	})

	t.Run("SessionEndsAfterItsTTL", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *Config) { c.SessionTTL = time.Hour })
		br := b.browser(t)
		br.signIn(operatorToken)
		b.clock.advance(59 * time.Minute)
		if p := br.get("/admin/ui/pool"); p.status != http.StatusOK {
			t.Fatalf("before expiry: %d", p.status)
		}
		b.clock.advance(time.Minute)
		if p := br.get("/admin/ui/pool"); p.status != http.StatusSeeOther {
			t.Fatalf("after expiry: %d, want 303 to sign in", p.status)
		}
	})

	t.Run("SignOutEndsTheSessionEvenForACopyOfTheCookie", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		copied := br.sessionCookie()
		p := br.post("/admin/ui/signout", url.Values{"csrf": {br.csrf()}})
		if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Set-Cookie"), "Max-Age=0") {
			t.Fatalf("sign-out: %d, Set-Cookie %q", p.status, p.header.Get("Set-Cookie"))
		}
		req, _ := http.NewRequest(http.MethodGet, b.server.URL+"/admin/ui/overview", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: copied})
		if p := b.browser(t).do(req); p.status != http.StatusSeeOther {
			t.Fatalf("the signed-out cookie still works: %d", p.status)
		}
	})

	t.Run("NextCannotLeaveTheConsole", func(t *testing.T) {
		t.Parallel()
		for _, next := range []string{"https://evil.example/", "//evil.example/admin/ui/pool", "/admin/pool", "/\\evil.example",
			"javascript:alert(1)", "/admin/ui/signin", "/admin/ui/../../v1/enrich/profile", ""} {
			if got := safeNext(next); got != "/admin/ui" {
				t.Errorf("safeNext(%q) = %q, want the console's home", next, got)
			}
		}
		if got := safeNext("/admin/ui/jobs?id=1"); got != "/admin/ui/jobs?id=1" {
			t.Errorf("safeNext kept no console page: %q", got)
		}
	})

	t.Run("ASignedInAdminSkipsTheForm", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		if p := br.get("/admin/ui/signin?next=/admin/ui/tenants"); p.status != http.StatusSeeOther || p.location != "/admin/ui/tenants" {
			t.Fatalf("sign-in form when signed in: %d %q", p.status, p.location)
		}
	})
}
