package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/router"
)

// env returns a getenv over vars.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestParseConfigAuth(t *testing.T) {
	t.Parallel()

	t.Run("DefaultIsHybridAndRefusesToStartUnconfigured", func(t *testing.T) {
		t.Parallel()
		_, err := ParseConfig(env(nil))
		if err == nil {
			t.Fatal("started with AUTH_MODE=hybrid and no issuers, audiences or project")
		}
		for _, want := range []string{"AUTH_MODE=hybrid", "ALLOWED_TOKEN_ISSUERS", "GATEWAY_AUDIENCE", "FIREBASE_PROJECT_ID"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %s:\n%v", want, err)
			}
		}
	})

	t.Run("NoneNeedsNothing", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none"}))
		if err != nil || cfg.HTTP.Auth.Mode != router.AuthModeNone {
			t.Fatalf("got %v %v", cfg.HTTP.Auth.Mode, err)
		}
	})

	t.Run("ReadsIssuersExactlyAsWritten", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(env(map[string]string{
			"AUTH_MODE":             "gateway",
			"ALLOWED_TOKEN_ISSUERS": "https://a.example|https://a.example/keys.json, https://b.example/",
			"GATEWAY_AUDIENCE":      "api-1, api-2",
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := []router.Issuer{{Issuer: "https://a.example", JWKSURL: "https://a.example/keys.json"}, {Issuer: "https://b.example/"}}
		if !slices.Equal(cfg.HTTP.Auth.GatewayIssuers, want) || !slices.Equal(cfg.HTTP.Auth.GatewayAudiences, []string{"api-1", "api-2"}) {
			t.Fatalf("issuers %v audiences %v", cfg.HTTP.Auth.GatewayIssuers, cfg.HTTP.Auth.GatewayAudiences)
		}
	})

	t.Run("IssuerConfigsWinsOverAllowedTokenIssuers", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(env(map[string]string{"AUTH_MODE": "gateway", "GATEWAY_AUDIENCE": "api",
			"ISSUER_CONFIGS": "https://new.example", "ALLOWED_TOKEN_ISSUERS": "https://old.example"}))
		if err != nil || len(cfg.HTTP.Auth.GatewayIssuers) != 1 || cfg.HTTP.Auth.GatewayIssuers[0].Issuer != "https://new.example" {
			t.Fatalf("got %v %v", cfg.HTTP.Auth.GatewayIssuers, err)
		}
	})

	t.Run("ListsEveryProblemAtOnce", func(t *testing.T) {
		t.Parallel()
		_, err := ParseConfig(env(map[string]string{
			"AUTH_MODE":                "gateway",
			"ALLOWED_TOKEN_ISSUERS":    "|https://keys.example",
			"GATEWAY_TOKEN_ALGORITHMS": "RS256,HS256",
			"ENABLE_GATEWAY_TOKENS":    "false",
			"CORS_ALLOWED_ORIGINS":     "*",
			"GATEWAY_GLOBAL_RPS":       "-1",
		}))
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"ALLOWED_TOKEN_ISSUERS item", "GATEWAY_AUDIENCE", `"HS256"`, "ENABLE_GATEWAY_TOKENS=false",
			"CORS_ALLOWED_ORIGINS", "GATEWAY_GLOBAL_RPS"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %s:\n%v", want, err)
			}
		}
	})

}

func TestParseConfigHTTP(t *testing.T) {
	t.Parallel()

	t.Run("FirebaseUsesTheProjectAndItsOrigins", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(env(map[string]string{"AUTH_MODE": "firebase", "GOOGLE_CLOUD_PROJECT": "proj",
			"NODE_ENV": "production", "CORS_ALLOWED_ORIGINS": "https://app.example.com/", "TOKEN_CLOCK_SKEW_SECONDS": "0",
			"AUTH_CHECK_REVOKED": "true"}))
		if err != nil {
			t.Fatal(err)
		}
		h := cfg.HTTP
		wantOrigins := []string{"https://proj.web.app", "https://proj.firebaseapp.com", "https://app.example.com"}
		if h.Auth.FirebaseProjectID != "proj" || !slices.Equal(h.CORS.AllowedOrigins, wantOrigins) || !h.CORS.AllowCredentials ||
			h.Auth.ClockSkew != router.NoClockSkew || !h.CheckRevoked {
			t.Fatalf("got %+v", h)
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none"}))
		if err != nil {
			t.Fatal(err)
		}
		h := cfg.HTTP
		if h.RateLimit != 50 || h.Burst != 0 || !h.RequestLogging || h.TenantCacheTTL != 300*time.Second ||
			h.Auth.TokenCacheTTL != 300*time.Second || h.Auth.AdminScope != router.AdminScopeDefault ||
			h.TraceHeader != router.TraceHeaderDefault || h.Auth.ClockSkew != router.ClockSkewDefault {
			t.Fatalf("got %+v", h)
		}
	})

	t.Run("OperatorScopeProxyHopsAndMetricsPort", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none"}))
		if err != nil || cfg.HTTP.Auth.OperatorScope != router.OperatorScopeDefault || cfg.HTTP.TrustedProxyHops != 0 || cfg.MetricsPort != "" {
			t.Fatalf("defaults: %+v %q %v", cfg.HTTP, cfg.MetricsPort, err)
		}
		cfg, err = ParseConfig(env(map[string]string{"AUTH_MODE": "none", "ENRICH_OPERATOR_SCOPE": "ops:all",
			"ENRICH_TRUSTED_PROXY_HOPS": "1", "METRICS_PORT": "9464"}))
		if err != nil || cfg.HTTP.Auth.OperatorScope != "ops:all" || cfg.HTTP.TrustedProxyHops != 1 || cfg.MetricsPort != "9464" {
			t.Fatalf("set: %+v %q %v", cfg.HTTP, cfg.MetricsPort, err)
		}
		if _, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none", "ENRICH_TRUSTED_PROXY_HOPS": "-1"})); err == nil {
			t.Fatal("a negative hop count was accepted")
		}
	})

	t.Run("TokenCacheCanBeTurnedOff", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none", "ENABLE_TOKEN_CACHE": "false"}))
		if err != nil || cfg.HTTP.Auth.TokenCacheTTL != 0 {
			t.Fatalf("got %v %v", cfg.HTTP.Auth.TokenCacheTTL, err)
		}
	})
}
