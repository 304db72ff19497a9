package router

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestAdminUIMount(t *testing.T) {
	t.Parallel()

	t.Run("ServesTheConsoleAtAdminUIAndBelowWithTheRequestID", func(t *testing.T) {
		t.Parallel()
		console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Seen", r.Method+" "+r.URL.Path+" "+w.Header().Get(RequestIDHeaderDefault))
			w.WriteHeader(http.StatusTeapot)
		})
		h, err := New(Config{Store: memStore{}, Auth: noAuth(t), AdminUI: console, Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ method, path string }{
			{http.MethodGet, "/admin/ui"}, {http.MethodGet, "/admin/ui/pool"}, {http.MethodPost, "/admin/ui/pool/restart"},
		} {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Header.Set(RequestIDHeaderDefault, "req-1")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusTeapot || rec.Header().Get("X-Seen") != tc.method+" "+tc.path+" req-1" {
				t.Errorf("%s %s: %d, console saw %q", tc.method, tc.path, rec.Code, rec.Header().Get("X-Seen"))
			}
		}
	})

	t.Run("IsNotFoundWithoutAConsole", func(t *testing.T) {
		t.Parallel()
		h, err := New(Config{Store: memStore{}, Auth: noAuth(t), Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/admin/ui/pool", nil)); rec.Code != http.StatusNotFound {
			t.Fatalf("got %d", rec.Code)
		}
	})
}

func TestAuthorizeAdmin(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, AuthModeGateway, nil)
	code := func(err error) string {
		var apiErr *Error
		if errors.As(err, &apiErr) {
			return apiErr.Code
		}
		return ""
	}
	scoped := b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"scope": "enrich:admin", "org_id": "acme"}))
	unscoped := b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"scope": "enrich:read"}))
	orgless := b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"scope": "enrich:admin", "org_id": nil}))
	operator := b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"scope": "enrich:operator", "org_id": nil}))
	for _, tc := range []struct {
		name       string
		auth       *Authenticator
		token      string
		credential string
		wantOrg    string
		wantCode   string
	}{
		{"TheStaticTokenIsTheOperator", b.auth, "s3cret", "s3cret", "", ""},
		{"AWrongTokenIsUnauthorized", b.auth, "s3cret", "s3cret-not", "", CodeUnauthorized},
		{"AnEmptyCredentialIsUnauthorized", b.auth, "s3cret", "", "", CodeUnauthorized},
		{"AScopedJWTIsItsTenantsAdmin", b.auth, "s3cret", scoped, "acme", ""},
		{"AJWTWithoutTheScopeIsForbidden", b.auth, "s3cret", unscoped, "", CodeForbidden},
		{"AScopedJWTWithoutAnOrganizationIsForbidden", b.auth, "s3cret", orgless, "", CodeForbidden},
		{"AJWTWithTheOperatorScopeIsAnOperator", b.auth, "s3cret", operator, "", ""},
		{"WithoutAuthOnlyTheStaticTokenCounts", nil, "s3cret", scoped, "", CodeUnauthorized},
		{"OffWithNeitherTokenNorScope", noAuth(t), "", "anything", "", CodeAdminDisabled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := AuthorizeAdmin(t.Context(), tc.auth, tc.token, tc.credential)
			if code(err) != tc.wantCode || (err == nil && (a.Tenant != tc.wantOrg || a.Operator != (tc.wantOrg == ""))) {
				t.Fatalf("AuthorizeAdmin = %+v, %v; want org %q, code %q", a, err, tc.wantOrg, tc.wantCode)
			}
		})
	}
}
