package router

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/lestrrat-go/jwx/v3/jwa"
)

// authCase is one request and the answer it must get.
type authCase struct {
	name    string
	tenant  string                                // X-Tenant-ID; "" sends none
	headers func(b *authBundle) map[string]string // the token headers
	status  int
	code    string
	message string // checked when set
}

// runAuthCases runs each case through the API. reasons, by case name, are
// substrings of the verification error, so a token refused for the wrong reason
// fails its case.
func runAuthCases(t *testing.T, b *authBundle, cases []authCase, reasons map[string]string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			headers := tc.headers(b)
			if reason, ok := reasons[tc.name]; ok {
				h := http.Header{}
				for k, v := range headers {
					h.Set(k, v)
				}
				if _, err := b.auth.verify(t.Context(), bearerToken(h)); err == nil || !strings.Contains(err.Error(), reason) {
					t.Errorf("refused for %v, want a reason containing %q", err, reason)
				}
			}
			resp := b.submitAs(t, tc.tenant, headers)
			if resp.status != tc.status || (tc.code != "" && resp.body["code"] != tc.code) ||
				(tc.message != "" && resp.body["message"] != tc.message) {
				t.Fatalf("got %d %v, want %d %s %q", resp.status, resp.body, tc.status, tc.code, tc.message)
			}
			if resp.status == http.StatusUnauthorized && !strings.HasPrefix(resp.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %v", resp.header)
			}
		})
	}
}

// gatewayToken signs a gateway token with kid, claims overridden as given.
func gatewayToken(kid string, overrides map[string]any) func(b *authBundle) map[string]string {
	return func(b *authBundle) map[string]string {
		return bearer(b.gateway.sign(kid, b.gateway.claims(testAudience, overrides)))
	}
}

func firebaseToken(overrides map[string]any) func(b *authBundle) map[string]string {
	return func(b *authBundle) map[string]string {
		return bearer(b.firebase.sign("fb-rsa", b.firebase.claims(testProject, overrides)))
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, AuthModeHybrid, nil)
	now := time.Now()
	const invalid = "Invalid gateway token."
	runAuthCases(t, b, []authCase{
		{"ValidGatewayTokenRS256", "acme", gatewayToken("gw-rsa", nil), 202, "", ""},
		{"ValidGatewayTokenES256", "acme", gatewayToken("gw-ec", nil), 202, "", ""},
		{"ValidFirebaseToken", "acme", firebaseToken(nil), 202, "", ""},
		{"TokenInXFirebaseAuth", "acme", func(b *authBundle) map[string]string {
			return map[string]string{"X-Firebase-Auth": b.firebase.sign("fb-rsa", b.firebase.claims(testProject, nil))}
		}, 202, "", ""},
		{"TokenInXIDToken", "acme", func(b *authBundle) map[string]string {
			return map[string]string{"X-Id-Token": b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, nil))}
		}, 202, "", ""},
		{"MissingToken", "acme", func(*authBundle) map[string]string { return nil }, 401, CodeUnauthorized, "Missing bearer token."},
		{"LowercaseBearerIsNoToken", "acme", func(b *authBundle) map[string]string {
			return map[string]string{"Authorization": "bearer " + b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, nil))}
		}, 401, CodeUnauthorized, "Missing bearer token."},
		{"GarbageToken", "acme", func(*authBundle) map[string]string { return bearer("not.a.jwt") }, 401, CodeUnauthorized, invalid},
		{"Expired", "acme", gatewayToken("gw-rsa", map[string]any{"exp": now.Add(-time.Hour)}), 401, CodeUnauthorized, invalid},
		{"ExpiredWithinClockSkew", "acme", gatewayToken("gw-rsa", map[string]any{"exp": now.Add(-10 * time.Second)}), 202, "", ""},
		{"NotYetValid", "acme", gatewayToken("gw-rsa", map[string]any{"nbf": now.Add(time.Hour)}), 401, CodeUnauthorized, invalid},
		{"IssuedInTheFuture", "acme", gatewayToken("gw-rsa", map[string]any{"iat": now.Add(time.Hour)}), 401, CodeUnauthorized, invalid},
		{"WithoutExpiry", "acme", gatewayToken("gw-rsa", map[string]any{"exp": nil}), 401, CodeUnauthorized, invalid},
		{"WrongIssuer", "acme", gatewayToken("gw-rsa", map[string]any{"iss": "https://issuer.example"}), 401, CodeUnauthorized, invalid},
		{"IssuerWithASlashTheConfigDoesNotHave", "acme", func(b *authBundle) map[string]string {
			return bearer(b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"iss": b.gateway.iss + "/"})))
		}, 401, CodeUnauthorized, invalid},
		{"WrongAudience", "acme", gatewayToken("gw-rsa", map[string]any{"aud": "someone-else"}), 401, CodeUnauthorized, invalid},
		{"AnotherConfiguredAudience", "acme", gatewayToken("gw-rsa", map[string]any{"aud": "other-audience"}), 202, "", ""},
		{"AudienceListNamingOneConfigured", "acme", gatewayToken("gw-rsa", map[string]any{"aud": []string{"x", testAudience}}), 202, "", ""},
		{"FirebaseTokenForAnotherProject", "acme", firebaseToken(map[string]any{"aud": "other-project"}), 401, CodeUnauthorized, invalid},
		{"BadSignature", "acme", func(b *authBundle) map[string]string {
			forged := privateJWK(t, testKeys().otherRSA, "gw-rsa", jwa.RS256()) // the right kid, another key
			return bearer(signWith(t, forged, b.gateway.claims(testAudience, nil)))
		}, 401, CodeUnauthorized, invalid},
		{"AlgNone", "acme", func(b *authBundle) map[string]string {
			return bearer(unsignedToken(t, "gw-rsa", b.gateway.claims(testAudience, nil)))
		}, 401, CodeUnauthorized, invalid},
		{"HS256KeyedWithThePublicKey", "acme", func(b *authBundle) map[string]string {
			return bearer(hmacWithPublicKey(t, "gw-rsa", &testKeys().rsa.PublicKey, b.gateway.claims(testAudience, nil)))
		}, 401, CodeUnauthorized, invalid},
		{"UnknownKeyID", "acme", func(b *authBundle) map[string]string {
			stranger := privateJWK(t, testKeys().otherRSA, "nobody", jwa.RS256())
			return bearer(signWith(t, stranger, b.gateway.claims(testAudience, nil)))
		}, 401, CodeUnauthorized, invalid},
		{"MissingSubject", "acme", gatewayToken("gw-rsa", map[string]any{"sub": nil}), 401, CodeUnauthorized, "Token is missing subject claim."},
		{"UIDInsteadOfSubject", "acme", gatewayToken("gw-rsa", map[string]any{"sub": nil, "uid": "u-1"}), 202, "", ""},
		{"ClientIDInsteadOfSubject", "acme", gatewayToken("gw-rsa", map[string]any{"sub": nil, "client_id": "svc-1"}), 202, "", ""},
		{"MissingOrgClaim", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil}), 403, CodeForbidden, "Token missing org_id claim."},
		{"TenantMismatch", "globex", gatewayToken("gw-rsa", nil), 403, CodeForbidden,
			"Tenant header does not match authenticated user organization."},
		{"MissingTenantHeader", "", gatewayToken("gw-rsa", nil), 400, CodeMissingTenant, "Missing X-Tenant-ID header."},
		{"InactiveTenant", "sleepy", gatewayToken("gw-rsa", map[string]any{"org_id": "sleepy"}), 404, CodeNotFound, "Tenant is not active."},
		{"UnknownTenant", "ghost", gatewayToken("gw-rsa", map[string]any{"org_id": "ghost"}), 404, CodeNotFound, "Tenant not found."},
	}, map[string]string{
		"Expired":                              "token is expired",
		"NotYetValid":                          "not yet valid",
		"IssuedInTheFuture":                    `"iat" not satisfied`,
		"WithoutExpiry":                        `required claim "exp"`,
		"WrongIssuer":                          `issuer "https://issuer.example" is not accepted`,
		"IssuerWithASlashTheConfigDoesNotHave": "/\" is not accepted",
		"WrongAudience":                        "audience",
		"FirebaseTokenForAnotherProject":       "audience",
		"BadSignature":                         "verification error",
		"AlgNone":                              `algorithm "none" is not accepted`,
		"HS256KeyedWithThePublicKey":           `algorithm "HS256" is not accepted`,
		"UnknownKeyID":                         `no signing key "nobody"`,
	})
}

func TestOrgClaimLookup(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, AuthModeGateway, nil)
	runAuthCases(t, b, []authCase{
		{"OrgID", "acme", gatewayToken("gw-rsa", nil), 202, "", ""},
		{"OrgIDCamel", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil, "orgId": "acme"}), 202, "", ""},
		{"TenantID", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil, "tenant_id": "acme"}), 202, "", ""},
		{"TenantIDCamel", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil, "tenantId": "acme"}), 202, "", ""},
		{"OrganizationID", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil, "organization_id": "acme"}), 202, "", ""},
		{"OrganizationIDCamel", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil, "organizationId": "acme"}), 202, "", ""},
		{"OrgAsString", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil, "org": "acme"}), 202, "", ""},
		{"OrgDotID", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil, "org": map[string]any{"id": "acme"}}), 202, "", ""},
		{"TenantDotID", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil, "tenant": map[string]any{"id": "acme"}}), 202, "", ""},
		{"TenantDotTenantID", "acme", gatewayToken("gw-rsa",
			map[string]any{"org_id": nil, "tenant": map[string]any{"tenant_id": "acme"}}), 202, "", ""},
		{"FirebaseIdentities", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": nil,
			"firebase": map[string]any{"identities": map[string]any{"org_id": []any{"acme"}}}}), 202, "", ""},
		{"FirstLocationWins", "acme", gatewayToken("gw-rsa", map[string]any{"orgId": "globex"}), 202, "", ""},
		{"TenantIDBeforeOrgDotID", "acme", gatewayToken("gw-rsa",
			map[string]any{"org_id": nil, "org": map[string]any{"id": "globex"}, "tenant_id": "acme"}), 202, "", ""},
		{"EmptyStringIsNoClaim", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": "", "orgId": "acme"}), 202, "", ""},
		{"NumberIsNoClaim", "acme", gatewayToken("gw-rsa", map[string]any{"org_id": 42}), 403, CodeForbidden, "Token missing org_id claim."},
	}, nil)
}

func TestAuthModes(t *testing.T) {
	t.Parallel()

	t.Run("GatewayRefusesFirebaseTokens", func(t *testing.T) {
		t.Parallel()
		b := setupAuth(t, AuthModeGateway, nil)
		runAuthCases(t, b, []authCase{
			{"Gateway", "acme", gatewayToken("gw-rsa", nil), 202, "", ""},
			{"Firebase", "acme", firebaseToken(nil), 401, CodeUnauthorized, "Invalid gateway token."},
		}, nil)
	})

	t.Run("FirebaseRefusesGatewayTokens", func(t *testing.T) {
		t.Parallel()
		b := setupAuth(t, AuthModeFirebase, nil)
		runAuthCases(t, b, []authCase{
			{"Firebase", "acme", firebaseToken(nil), 202, "", ""},
			{"Gateway", "acme", gatewayToken("gw-rsa", nil), 401, CodeUnauthorized, "Invalid authentication token."},
		}, nil)
	})

	t.Run("HybridTriesFirebaseThenTheGatewayForOneIssuer", func(t *testing.T) {
		t.Parallel()
		// The same issuer configured both ways: a token that fails Firebase's
		// audience is still accepted by the gateway rules.
		b := setupAuth(t, AuthModeHybrid, func(ac *AuthConfig, _ *Config) {
			ac.GatewayIssuers = []Issuer{{Issuer: FirebaseIssuerPrefix + testProject, JWKSURL: ac.FirebaseJWKSURL}}
		})
		runAuthCases(t, b, []authCase{
			{"FirebaseAudience", "acme", firebaseToken(nil), 202, "", ""},
			{"GatewayAudience", "acme", firebaseToken(map[string]any{"aud": testAudience}), 202, "", ""},
			{"NeitherAudience", "acme", firebaseToken(map[string]any{"aud": "x"}), 401, CodeUnauthorized, ""},
		}, nil)
	})

	t.Run("NoneTrustsTheTenantHeader", func(t *testing.T) {
		t.Parallel()
		b := setupAuth(t, AuthModeNone, nil)
		runAuthCases(t, b, []authCase{
			{"NoToken", "globex", func(*authBundle) map[string]string { return nil }, 202, "", ""},
			{"DirectoryStillApplies", "sleepy", func(*authBundle) map[string]string { return nil }, 404, CodeNotFound, "Tenant is not active."},
		}, nil)
	})

	t.Run("IssuerIsMatchedExactlyAsConfigured", func(t *testing.T) {
		t.Parallel()
		var issuer string
		b := setupAuth(t, AuthModeGateway, func(ac *AuthConfig, _ *Config) {
			issuer = ac.GatewayIssuers[0].Issuer + "/"
			ac.GatewayIssuers = []Issuer{{Issuer: issuer}} // the JWKS URL gets one slash, not two
		})
		runAuthCases(t, b, []authCase{
			{"WithTheSlash", "acme", gatewayToken("gw-rsa", map[string]any{"iss": issuer}), 202, "", ""},
			{"WithoutIt", "acme", gatewayToken("gw-rsa", nil), 401, CodeUnauthorized, ""},
		}, nil)
	})
}

func TestSigningKeys(t *testing.T) {
	t.Parallel()

	t.Run("PicksUpARotatedKey", func(t *testing.T) {
		t.Parallel()
		b := setupAuth(t, AuthModeGateway, nil)
		before := b.gateway.fetches.Load()
		b.gateway.addKey("gw-new", jwa.ES256(), testKeys().ec)
		if resp := b.submitAs(t, "acme", gatewayToken("gw-new", nil)(b)); resp.status != 202 {
			t.Fatalf("token signed with the new key: %d %v", resp.status, resp.body)
		}
		if b.gateway.fetches.Load() != before+1 {
			t.Fatalf("JWKS fetched %d times for one new key, want 1", b.gateway.fetches.Load()-before)
		}
	})

	t.Run("UnknownKeyIDsCannotHammerTheIssuer", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		b := setupAuth(t, AuthModeGateway, func(ac *AuthConfig, _ *Config) { ac.Now = clock.Now })
		before := b.gateway.fetches.Load()
		for range 5 {
			forged := privateJWK(t, testKeys().otherRSA, "made-up", jwa.RS256())
			if resp := b.submitAs(t, "acme", bearer(signWith(t, forged, b.gateway.claims(testAudience, nil)))); resp.status != 401 {
				t.Fatalf("got %d %v", resp.status, resp.body)
			}
		}
		if n := b.gateway.fetches.Load() - before; n > 1 {
			t.Fatalf("5 unknown key ids fetched the JWKS %d times within JWKSMinRefresh, want ≤ 1", n)
		}
	})

	t.Run("UnreachableKeysAnswer503UntilTheyCome", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		gw := newTestIssuer(t, "")
		gw.addKey("gw-rsa", jwa.RS256(), testKeys().rsa)
		gw.failing.Store(true) // down from the start
		auth, err := NewAuthenticator(AuthConfig{Mode: AuthModeGateway, Now: clock.Now, JWKSStartWait: 50 * time.Millisecond,
			GatewayIssuers: []Issuer{{Issuer: gw.iss}}, GatewayAudiences: []string{testAudience}, Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if err := auth.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = auth.Stop(context.Background()) })
		h, err := New(Config{Store: memStore{}, Auth: auth, Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		b := &authBundle{testBundle: &testBundle{handler: h}, gateway: gw}
		resp := b.submitAs(t, "acme", gatewayToken("gw-rsa", nil)(b))
		if resp.status != http.StatusServiceUnavailable || resp.body["code"] != CodeUnavailable || resp.header.Get("Retry-After") == "" {
			t.Fatalf("keys down: got %d %v %v", resp.status, resp.body, resp.header)
		}
		gw.failing.Store(false)
		// A client that honours Retry-After gets in then, not JWKSMinRefresh later.
		retryAfter, err := strconv.Atoi(resp.header.Get("Retry-After"))
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Duration(retryAfter) * time.Second)
		if resp := b.submitAs(t, "acme", gatewayToken("gw-rsa", nil)(b)); resp.status != 202 {
			t.Fatalf("keys back, %d s later: got %d %v", retryAfter, resp.status, resp.body)
		}
	})
}

func TestTokenCache(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := setupAuth(t, AuthModeGateway, func(ac *AuthConfig, _ *Config) {
		ac.Now, ac.TokenCacheTTL = clock.Now, 5*time.Minute
	})
	token := b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"exp": clock.Now().Add(time.Minute)}))

	t.Run("ReusesTheVerifiedPrincipal", func(t *testing.T) {
		first, err := b.auth.Authenticate(t.Context(), http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatal(err)
		}
		again, err := b.auth.Authenticate(t.Context(), http.Header{"Authorization": {"Bearer " + token}})
		if err != nil || again != first {
			t.Fatalf("second call: %p %v, want the cached %p", again, err, first)
		}
	})

	t.Run("NeverPastTheTokensExpiry", func(t *testing.T) {
		clock.Advance(2 * time.Minute) // past exp + skew, well within the cache TTL
		if _, err := b.auth.Authenticate(t.Context(), http.Header{"Authorization": {"Bearer " + token}}); err == nil {
			t.Fatal("an expired token was served from the cache")
		}
	})
}

func TestAdminScope(t *testing.T) {
	t.Parallel()
	rp := &recordingPool{}
	b := setupAuth(t, AuthModeHybrid, func(_ *AuthConfig, rc *Config) {
		rc.Pool, rc.AdminToken = rp, "s3cret-admin"
	})
	admin := func(headers map[string]string) response {
		return b.request(t, http.MethodGet, "/admin/pool", headers, "")
	}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
		code    string
	}{
		{"OperatorScopeClaim", bearer(b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"scope": "openid enrich:operator"}))), 200, ""},
		{"OperatorScpList", bearer(b.firebase.sign("fb-rsa", b.firebase.claims(testProject, map[string]any{"scp": []string{"enrich:operator"}}))), 200, ""},
		{"TenantAdminIsNoOperator", bearer(b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"scope": "openid enrich:admin"}))), 403, CodeForbidden},
		{"AdminWithoutOrgIsRefused", bearer(b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"org_id": nil, "scope": "enrich:admin"}))), 403, CodeForbidden},
		{"StaticTokenStillWorks", bearer("s3cret-admin"), 200, ""},
		{"WithoutTheScope", bearer(b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, map[string]any{"scope": "enrich:read"}))), 403, CodeForbidden},
		{"ExpiredScopedToken", bearer(b.gateway.sign("gw-rsa", b.gateway.claims(testAudience,
			map[string]any{"scope": "enrich:admin", "exp": time.Now().Add(-time.Hour)}))), 401, CodeUnauthorized},
		{"NoToken", nil, 401, CodeUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := admin(tc.headers)
			if resp.status != tc.status || (tc.code != "" && resp.body["code"] != tc.code) {
				t.Fatalf("got %d %v, want %d %s", resp.status, resp.body, tc.status, tc.code)
			}
		})
	}

	t.Run("OffWithoutTokenOrScope", func(t *testing.T) {
		off := setupAuth(t, AuthModeGateway, func(ac *AuthConfig, rc *Config) {
			ac.AdminScope, ac.OperatorScope, rc.Pool = AdminScopeNone, AdminScopeNone, rp
		})
		token := off.gateway.sign("gw-rsa", off.gateway.claims(testAudience, map[string]any{"scope": AdminScopeDefault}))
		if resp := off.request(t, http.MethodGet, "/admin/pool", bearer(token), ""); resp.status != 403 || resp.body["code"] != CodeAdminDisabled {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
	})
}

func TestAuthConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  AuthConfig
		want []string // substrings of the error; none: valid
	}{
		{"NoneNeedsNothing", AuthConfig{Mode: AuthModeNone}, nil},
		{"DefaultIsHybridAndNeedsEverything", AuthConfig{}, []string{"gateway issuer", "gateway audience", "Firebase project"}},
		{"GatewayNeedsIssuersAndAudiences", AuthConfig{Mode: AuthModeGateway}, []string{"gateway issuer", "gateway audience"}},
		{"FirebaseNeedsAProject", AuthConfig{Mode: AuthModeFirebase}, []string{"Firebase project"}},
		{"UnknownMode", AuthConfig{Mode: "magic"}, []string{"unknown auth mode"}},
		{"SymmetricAlgorithmsAreRefused", AuthConfig{Mode: AuthModeGateway, GatewayIssuers: []Issuer{{Issuer: "https://i"}},
			GatewayAudiences: []string{"a"}, GatewayAlgorithms: []string{"HS256", "none"}}, []string{`"HS256"`, `"none"`}},
		{"JWKSMustBeHTTP", AuthConfig{Mode: AuthModeGateway, GatewayIssuers: []Issuer{{Issuer: "i", JWKSURL: "file:///etc/keys"}},
			GatewayAudiences: []string{"a"}}, []string{"not an http(s) URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewAuthenticator(tc.cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}

	t.Run("DefaultJWKSURLGetsOneSlash", func(t *testing.T) {
		t.Parallel()
		for iss, want := range map[string]string{
			"https://auth.example":  "https://auth.example/.well-known/jwks.json",
			"https://auth.example/": "https://auth.example/.well-known/jwks.json",
		} {
			if got := (Issuer{Issuer: iss}).jwksURL(); got != want {
				t.Errorf("%s: %s, want %s", iss, got, want)
			}
		}
	})

	t.Run("StopIsSafeBeforeStartAndTwice", func(t *testing.T) {
		t.Parallel()
		a, err := NewAuthenticator(AuthConfig{Mode: AuthModeGateway, GatewayIssuers: []Issuer{{Issuer: "https://i"}},
			GatewayAudiences: []string{"a"}, Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := a.Stop(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Start(t.Context()); err == nil {
			t.Fatal("Start after Stop succeeded")
		}
	})
}
