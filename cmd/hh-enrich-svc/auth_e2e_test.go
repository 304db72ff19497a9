package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// testIssuer serves an ES256 key as a JWKS over HTTP and signs tokens with it.
type testIssuer struct {
	t      *testing.T
	issuer string // no trailing slash: matched as written
	jwks   string
	key    jwk.Key
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	_ = key.Set(jwk.KeyIDKey, "k1")
	_ = key.Set(jwk.AlgorithmKey, jwa.ES256())
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	return &testIssuer{t: t, issuer: srv.URL + "/issuer", jwks: srv.URL + "/jwks.json", key: key}
}

// sign returns a token valid for an hour for audience hh-enrich-api, with claims added.
func (i *testIssuer) sign(claims map[string]any) string {
	i.t.Helper()
	tok := jwt.New()
	now := time.Now()
	for k, v := range map[string]any{"iss": i.issuer, "aud": "hh-enrich-api", "sub": "u1", "iat": now, "exp": now.Add(time.Hour)} {
		_ = tok.Set(k, v)
	}
	for k, v := range claims {
		_ = tok.Set(k, v)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), i.key))
	if err != nil {
		i.t.Fatal(err)
	}
	return string(signed)
}

// TestServiceInGatewayMode runs the binary with AUTH_MODE=gateway against a JWKS
// served by the test over HTTP, and talks to it with real signed tokens.
func TestServiceInGatewayMode(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	s := startService(t, "AUTH_MODE=gateway", "GATEWAY_AUDIENCE=hh-enrich-api",
		"ALLOWED_TOKEN_ISSUERS="+iss.issuer+"|"+iss.jwks)
	sign := iss.sign
	call := func(method, path, tenant, token, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, s.baseURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if tenant != "" {
			req.Header.Set("X-Tenant-ID", tenant)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	job := `{"candidateId":"cand-auth","payload":{"name":"Ada","resume_text":"Go engineer"}}`
	for _, tc := range []struct {
		name, method, path, tenant, token string
		status                            int
	}{
		{"NoTokenIs401", http.MethodPost, "/v1/enrich/profile", "acme", "", 401},
		{"ValidTokenIsAccepted", http.MethodPost, "/v1/enrich/profile", "acme", sign(map[string]any{"org_id": "acme"}), 202},
		{"AnotherTenantIs403", http.MethodPost, "/v1/enrich/profile", "globex", sign(map[string]any{"org_id": "acme"}), 403},
		{"ExpiredTokenIs401", http.MethodPost, "/v1/enrich/profile", "acme",
			sign(map[string]any{"org_id": "acme", "exp": time.Now().Add(-time.Hour)}), 401},
		{"OperatorScopeOpensThePoolRoutes", http.MethodGet, "/admin/pool", "", sign(map[string]any{"scope": "enrich:operator"}), 200},
		{"ATenantAdminMayNotTouchThePool", http.MethodPost, "/admin/pool/restart", "", sign(map[string]any{"scope": "enrich:admin", "org_id": "acme"}), 403},
		{"ATenantAdminSeesItsQueue", http.MethodGet, "/admin/queue", "", sign(map[string]any{"scope": "enrich:admin", "org_id": "acme"}), 200},
		{"HealthNeedsNoToken", http.MethodGet, "/health", "", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := call(tc.method, tc.path, tc.tenant, tc.token, job); status != tc.status {
				t.Fatalf("got %d %v, want %d", status, body, tc.status)
			}
		})
	}
	if !strings.Contains(s.logs.String(), `"route":"/v1/enrich/profile"`) {
		t.Errorf("no access log line with the route pattern:\n%s", s.logs.String())
	}
}
