package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/headhunter/hh-enrich-svc/router"
)

// HTTPConfig is the API's side of the configuration: authentication, tenancy,
// rate limits, request logging and CORS (REFERENCE §2 and §8 names).
type HTTPConfig struct {
	// Auth is passed to router.NewAuthenticator; Now and Logger are set by Main.
	Auth router.AuthConfig
	// CheckRevoked records AUTH_CHECK_REVOKED=true, which this build cannot honour
	// (revocation needs the Firebase Admin SDK): Main says so in its log.
	CheckRevoked bool
	// TenantCacheTTL keeps tenant lookups (COMMON_CACHE_TTL, seconds).
	TenantCacheTTL time.Duration
	// RateLimit is each tenant's requests per second on /v1 (GATEWAY_GLOBAL_RPS);
	// 0 turns the limit off. Burst is GATEWAY_TENANT_BURST (default: the rate).
	RateLimit float64
	Burst     int
	// RequestLogging writes one access log line per request (ENABLE_REQUEST_LOGGING).
	RequestLogging bool
	TraceHeader    string
	CORS           router.CORSConfig
	// TrustedProxyHops is how many proxies append to X-Forwarded-For in front of
	// the service (ENRICH_TRUSTED_PROXY_HOPS): the credential guard's client address.
	TrustedProxyHops int
}

// parseHTTPConfig reads the HTTP settings; problems go to e.errs, every one of
// them, with the variable names to fix.
func parseHTTPConfig(e *envReader, authMode string) HTTPConfig {
	project := e.first("", "FIREBASE_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")
	h := HTTPConfig{
		Auth: router.AuthConfig{
			Mode:              router.AuthMode(authMode),
			GatewayIssuers:    e.issuers(),
			GatewayAudiences:  e.list("GATEWAY_AUDIENCE"),
			GatewayAlgorithms: e.list("GATEWAY_TOKEN_ALGORITHMS"),
			FirebaseProjectID: project,
			FirebaseJWKSURL:   e.str("FIREBASE_JWKS_URL", router.FirebaseJWKSURLDefault),
			AdminScope:        e.str("ENRICH_ADMIN_SCOPE", router.AdminScopeDefault),
			OperatorScope:     e.str("ENRICH_OPERATOR_SCOPE", router.OperatorScopeDefault),
		},
		CheckRevoked:     e.boolean("AUTH_CHECK_REVOKED", false),
		TenantCacheTTL:   e.seconds("COMMON_CACHE_TTL", router.TenantCacheTTLDefault, time.Second),
		RateLimit:        float64(e.integer("GATEWAY_GLOBAL_RPS", 50, 0)),
		Burst:            e.integer("GATEWAY_TENANT_BURST", 0, 0),
		RequestLogging:   e.boolean("ENABLE_REQUEST_LOGGING", true),
		TraceHeader:      e.str("TRACE_HEADER", router.TraceHeaderDefault),
		TrustedProxyHops: e.integer("ENRICH_TRUSTED_PROXY_HOPS", 0, 0),
		CORS: router.CORSConfig{
			AllowedOrigins:   corsOrigins(project, e.str("NODE_ENV", ""), e.origins("CORS_ALLOWED_ORIGINS")),
			AllowCredentials: e.boolean("CORS_CREDENTIALS", true),
		},
	}
	// 0 s is a real choice here (no tolerance), which router spells NoClockSkew.
	if skew := e.seconds("TOKEN_CLOCK_SKEW_SECONDS", router.ClockSkewDefault, 0); skew == 0 {
		h.Auth.ClockSkew = router.NoClockSkew
	} else {
		h.Auth.ClockSkew = skew
	}
	if e.boolean("ENABLE_TOKEN_CACHE", true) {
		h.Auth.TokenCacheTTL = e.seconds("TOKEN_CACHE_TTL_SECONDS", 300*time.Second, time.Second)
	}
	// The reference refuses to start when its mode needs gateway tokens that
	// ENABLE_GATEWAY_TOKENS turned off; so do we.
	needsGateway := authMode == string(router.AuthModeGateway) || authMode == string(router.AuthModeHybrid)
	if needsGateway && !e.boolean("ENABLE_GATEWAY_TOKENS", true) {
		e.errs = append(e.errs, fmt.Errorf("AUTH_MODE=%s verifies gateway tokens, but ENABLE_GATEWAY_TOKENS=false", authMode))
	}
	if err := h.Auth.Validate(); err != nil {
		e.errs = append(e.errs, fmt.Errorf("AUTH_MODE=%s: %w", authMode, err))
	}
	return h
}

// list reads a comma-separated variable; empty items are dropped.
func (e *envReader) list(name string) []string {
	var out []string
	for _, item := range strings.Split(e.str(name, ""), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// issuers reads ISSUER_CONFIGS (or ALLOWED_TOKEN_ISSUERS): "issuer|jwksUri,...".
// The issuer is kept exactly as written: no slash is added (REFERENCE W20).
func (e *envReader) issuers() []router.Issuer {
	name := "ISSUER_CONFIGS"
	raw := e.str(name, "")
	if raw == "" {
		name, raw = "ALLOWED_TOKEN_ISSUERS", e.str("ALLOWED_TOKEN_ISSUERS", "")
	}
	var out []router.Issuer
	for _, item := range strings.Split(raw, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		iss, jwks, _ := strings.Cut(item, "|")
		iss, jwks = strings.TrimSpace(iss), strings.TrimSpace(jwks)
		if iss == "" {
			e.errs = append(e.errs, fmt.Errorf("%s item %q: want issuer|jwksUri", name, item))
			continue
		}
		out = append(out, router.Issuer{Issuer: iss, JWKSURL: jwks})
	}
	return out
}

// origins reads a list of exact origins (scheme://host[:port]). A wildcard is
// refused: with credentials allowed it would let any site act for a user.
func (e *envReader) origins(name string) []string {
	var out []string
	for _, origin := range e.list(name) {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Contains(origin, "*") {
			e.errs = append(e.errs, fmt.Errorf("%s item %q: want an origin such as https://app.example.com", name, origin))
			continue
		}
		out = append(out, strings.TrimSuffix(origin, "/"))
	}
	return out
}

// corsOrigins are REFERENCE §2's: the project's Firebase Hosting origins, local
// dev servers unless NODE_ENV is production, and CORS_ALLOWED_ORIGINS.
func corsOrigins(project, nodeEnv string, extra []string) []string {
	var out []string
	if project != "" {
		out = append(out, "https://"+project+".web.app", "https://"+project+".firebaseapp.com")
	}
	if nodeEnv != "production" {
		out = append(out, "http://localhost:3000", "http://localhost:5173", "http://localhost:4173")
	}
	return append(out, extra...)
}

// AdminTokenMinBytes is the shortest ENRICH_ADMIN_TOKEN accepted outside a local
// run: the token opens every tenant's data and the pool.
const AdminTokenMinBytes = 32

// checkAdminTokenLength refuses a short admin token outside the local profile
// (ENRICH_PROFILE=local: `make run`, tests).
func checkAdminTokenLength(e *envReader, token string, local bool) {
	if token == "" || local || len(token) >= AdminTokenMinBytes {
		return
	}
	e.errs = append(e.errs, fmt.Errorf("ENRICH_ADMIN_TOKEN is %d bytes: want at least %d (e.g. openssl rand -hex 32); "+
		"only the local profile (ENRICH_PROFILE=local) accepts a shorter one", len(token), AdminTokenMinBytes))
}
