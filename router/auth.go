package router

// Tokens are verified with github.com/lestrrat-go/jwx/v3, chosen because one
// well-kept library covers every step: JWKS fetching behind a cache that refreshes
// in the background (jwk.Cache), JWS verification through a key-provider hook where
// the accepted algorithms are pinned, and JWT validation (issuer, expiry, not-before,
// skew, custom validators). No crypto and no key parsing is written here. The
// alternative, golang-jwt/jwt/v5, needs a second library (MicahParks/keyfunc) for
// the JWKS half.

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/httprc/v3/errsink"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// AuthMode says which bearer tokens the API accepts (REFERENCE §2, AUTH_MODE).
type AuthMode string

const (
	// AuthModeHybrid accepts Firebase ID tokens and gateway JWTs. The default.
	AuthModeHybrid AuthMode = "hybrid"
	// AuthModeGateway accepts gateway JWTs only.
	AuthModeGateway AuthMode = "gateway"
	// AuthModeFirebase accepts Firebase ID tokens only.
	AuthModeFirebase AuthMode = "firebase"
	// AuthModeNone reads no token and trusts the tenant header. Only for a service
	// behind a gateway that authenticates, or a local demo.
	AuthModeNone AuthMode = "none"
)

// Defaults and special values of AuthConfig.
const (
	// FirebaseJWKSURLDefault publishes the keys that sign Firebase ID tokens.
	FirebaseJWKSURLDefault = "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
	// FirebaseIssuerPrefix + project id is the issuer of a project's Firebase ID tokens.
	FirebaseIssuerPrefix = "https://securetoken.google.com/"
	ClockSkewDefault     = 30 * time.Second
	// NoClockSkew as AuthConfig.ClockSkew allows no skew at all (zero means the default).
	NoClockSkew          time.Duration = -1
	AdminScopeDefault                  = "enrich:admin"
	OperatorScopeDefault               = "enrich:operator"
	// AdminScopeNone as AuthConfig.AdminScope gives no token admin rights: only
	// Config.AdminToken opens the admin routes.
	AdminScopeNone        = "none"
	TokenCacheSizeDefault = 10_000
	JWKSMinRefreshDefault = 30 * time.Second
	JWKSMaxRefreshDefault = time.Hour
	JWKSStartWaitDefault  = 5 * time.Second
	jwksFetchTimeout      = 10 * time.Second
	jwksWorkers           = 2
)

// GatewayAlgorithmsDefault are the signature algorithms gateway tokens may use.
var GatewayAlgorithmsDefault = []string{"RS256", "ES256"}

// firebaseAlgorithms: Google signs Firebase ID tokens with RS256 only.
var firebaseAlgorithms = []string{"RS256"}

// acceptableAlgorithms are the asymmetric JWS algorithms a configuration may pin.
// HS* is never acceptable: with a public JWKS, an HMAC "key" is public too.
var acceptableAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Issuer is a trusted issuer of gateway tokens and where its signing keys are.
type Issuer struct {
	// Issuer must equal a token's iss claim exactly: no slash is added or
	// removed (REFERENCE W20).
	Issuer string
	// JWKSURL serves the issuer's JSON Web Key Set. Empty: Issuer +
	// "/.well-known/jwks.json" (one slash between them).
	JWKSURL string
}

// jwksURL is the issuer's key set address.
func (i Issuer) jwksURL() string {
	if i.JWKSURL != "" {
		return i.JWKSURL
	}
	return strings.TrimSuffix(i.Issuer, "/") + "/.well-known/jwks.json"
}

// AuthConfig configures an Authenticator (REFERENCE §2).
type AuthConfig struct {
	// Mode picks the accepted tokens (AUTH_MODE). Default hybrid.
	Mode AuthMode
	// GatewayIssuers are the trusted gateway issuers (ALLOWED_TOKEN_ISSUERS /
	// ISSUER_CONFIGS). Required in gateway and hybrid modes.
	GatewayIssuers []Issuer
	// GatewayAudiences: a gateway token's aud must name one of them
	// (GATEWAY_AUDIENCE). Required in gateway and hybrid modes.
	GatewayAudiences []string
	// GatewayAlgorithms pins the JWS algorithms of gateway tokens; only asymmetric
	// ones are accepted. Default RS256 and ES256.
	GatewayAlgorithms []string
	// FirebaseProjectID: Firebase ID tokens must have iss FirebaseIssuerPrefix+id
	// and aud id. Required in firebase and hybrid modes.
	FirebaseProjectID string
	// FirebaseJWKSURL serves the Firebase signing keys. Default FirebaseJWKSURLDefault.
	FirebaseJWKSURL string
	// ClockSkew is the tolerance on exp, nbf and iat (TOKEN_CLOCK_SKEW_SECONDS).
	// Zero means ClockSkewDefault (30 s); NoClockSkew means none.
	ClockSkew time.Duration
	// AdminScope in a token's scope or scp claim opens the admin routes
	// (ENRICH_ADMIN_SCOPE) to the admin of the token's own organization. Default
	// enrich:admin; AdminScopeNone turns it off.
	AdminScope string
	// OperatorScope in a token's scope or scp claim makes it an operator, as the
	// static admin token is: every tenant, and the shared plugin pool
	// (ENRICH_OPERATOR_SCOPE). Default enrich:operator; AdminScopeNone turns it off.
	OperatorScope string
	// TokenCacheTTL keeps a verified token's principal, keyed by a hash of the
	// token, until its expiry or this long, whichever is sooner
	// (TOKEN_CACHE_TTL_SECONDS). Zero: no cache.
	TokenCacheTTL time.Duration
	// TokenCacheSize bounds the token cache (least recently used go first).
	// Default 10,000.
	TokenCacheSize int
	// JWKSMinRefresh is the shortest time between two fetches of one key set,
	// forced ones (unknown kid, failed fetch) included. Default 30 s.
	JWKSMinRefresh time.Duration
	// JWKSMaxRefresh is the longest a key set is kept before it is fetched again,
	// whatever its Cache-Control says. Default 1 h.
	JWKSMaxRefresh time.Duration
	// JWKSStartWait is how long Start waits for the first fetch of every key set.
	// Default 5 s; keys still missing then are logged and fetched on demand.
	JWKSStartWait time.Duration
	// HTTPClient fetches key sets. Default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock tokens are checked against. Default time.Now.
	Now    func() time.Time
	Logger hclog.Logger
}

func (c AuthConfig) withDefaults() AuthConfig {
	c.Mode = cmp.Or(c.Mode, AuthModeHybrid)
	if len(c.GatewayAlgorithms) == 0 {
		c.GatewayAlgorithms = GatewayAlgorithmsDefault
	}
	c.FirebaseJWKSURL = cmp.Or(c.FirebaseJWKSURL, FirebaseJWKSURLDefault)
	switch c.ClockSkew {
	case 0:
		c.ClockSkew = ClockSkewDefault
	case NoClockSkew:
		c.ClockSkew = 0
	}
	c.AdminScope = cmp.Or(c.AdminScope, AdminScopeDefault)
	c.OperatorScope = cmp.Or(c.OperatorScope, OperatorScopeDefault)
	c.TokenCacheSize = cmp.Or(c.TokenCacheSize, TokenCacheSizeDefault)
	c.JWKSMinRefresh = cmp.Or(c.JWKSMinRefresh, JWKSMinRefreshDefault)
	c.JWKSMaxRefresh = cmp.Or(c.JWKSMaxRefresh, JWKSMaxRefreshDefault)
	c.JWKSStartWait = cmp.Or(c.JWKSStartWait, JWKSStartWaitDefault)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: jwksFetchTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = hclog.Default()
	}
	return c
}

// Validate returns every problem of c (after defaults) at once, so that one
// failed start shows them all; nil when c is usable.
func (c AuthConfig) Validate() error { return c.withDefaults().validate() }

// validate lists every problem at once, so one failed start shows them all.
func (c AuthConfig) validate() error {
	var errs []error
	switch c.Mode {
	case AuthModeNone:
		return nil
	case AuthModeGateway, AuthModeFirebase, AuthModeHybrid:
	default:
		return fmt.Errorf("router: unknown auth mode %q (want hybrid, gateway, firebase or none)", c.Mode)
	}
	if c.Mode != AuthModeFirebase {
		errs = append(errs, c.validateGateway()...)
	}
	if c.Mode != AuthModeGateway {
		if c.FirebaseProjectID == "" {
			errs = append(errs, fmt.Errorf("router: auth mode %s needs a Firebase project id (FIREBASE_PROJECT_ID)", c.Mode))
		}
		errs = append(errs, validateFetchURL("Firebase JWKS URL", c.FirebaseJWKSURL))
	}
	if c.ClockSkew < 0 || c.TokenCacheTTL < 0 || c.TokenCacheSize < 0 || c.JWKSMinRefresh < 0 ||
		c.JWKSMaxRefresh < c.JWKSMinRefresh || c.JWKSStartWait < 0 {
		errs = append(errs, errors.New("router: auth durations and sizes must be ≥ 0, JWKSMaxRefresh ≥ JWKSMinRefresh"))
	}
	return errors.Join(errs...)
}

func (c AuthConfig) validateGateway() []error {
	var errs []error
	if len(c.GatewayIssuers) == 0 {
		errs = append(errs, fmt.Errorf("router: auth mode %s needs at least one gateway issuer "+
			"(ALLOWED_TOKEN_ISSUERS or ISSUER_CONFIGS: a comma list of issuer|jwksUri)", c.Mode))
	}
	if len(c.GatewayAudiences) == 0 {
		errs = append(errs, fmt.Errorf("router: auth mode %s needs at least one gateway audience (GATEWAY_AUDIENCE)", c.Mode))
	}
	for _, iss := range c.GatewayIssuers {
		if strings.TrimSpace(iss.Issuer) == "" {
			errs = append(errs, errors.New("router: a gateway issuer is empty"))
			continue
		}
		errs = append(errs, validateFetchURL("JWKS URL of issuer "+iss.Issuer, iss.jwksURL()))
	}
	for _, alg := range c.GatewayAlgorithms {
		if !slices.Contains(acceptableAlgorithms, alg) {
			errs = append(errs, fmt.Errorf("router: token algorithm %q is not accepted (want asymmetric ones: %s)",
				alg, strings.Join(acceptableAlgorithms, ", ")))
		}
	}
	return errs
}

func validateFetchURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("router: %s %q is not an http(s) URL", what, raw)
	}
	return nil
}

// Authenticator verifies bearer tokens against the configured issuers and keeps
// their signing keys fresh in the background. Start it before serving and Stop it
// after; in mode none it reads no token and starts nothing.
type Authenticator struct {
	cfg       AuthConfig
	log       hclog.Logger
	verifiers []*verifier  // Firebase first, then gateway issuers: the hybrid order
	sources   []*keySource // one per distinct JWKS URL
	tokens    *lru.Cache[[sha256.Size]byte, cachedPrincipal]

	mu      sync.Mutex // guards jwks and stopped
	jwks    *jwk.Cache
	stopped bool
}

type cachedPrincipal struct {
	principal *Principal
	until     time.Time
}

// NewAuthenticator checks cfg and returns an Authenticator that is not started.
// The error lists every problem of cfg.
func NewAuthenticator(cfg AuthConfig) (*Authenticator, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Authenticator{cfg: cfg, log: cfg.Logger.Named("auth")}
	a.buildVerifiers()
	if cfg.TokenCacheTTL > 0 && cfg.Mode != AuthModeNone {
		a.tokens, _ = lru.New[[sha256.Size]byte, cachedPrincipal](cfg.TokenCacheSize) // size > 0 by withDefaults
	}
	return a, nil
}

func (a *Authenticator) buildVerifiers() {
	byURL := map[string]*keySource{}
	source := func(u string) *keySource {
		if src, ok := byURL[u]; ok {
			return src
		}
		src := newKeySource(u, a.cfg)
		byURL[u] = src
		a.sources = append(a.sources, src)
		return src
	}
	mode := a.cfg.Mode
	if mode == AuthModeFirebase || mode == AuthModeHybrid {
		a.verifiers = append(a.verifiers, newVerifier(sourceFirebase, FirebaseIssuerPrefix+a.cfg.FirebaseProjectID,
			[]string{a.cfg.FirebaseProjectID}, firebaseAlgorithms, source(a.cfg.FirebaseJWKSURL), a.cfg))
	}
	if mode == AuthModeGateway || mode == AuthModeHybrid {
		for _, iss := range a.cfg.GatewayIssuers {
			a.verifiers = append(a.verifiers, newVerifier(sourceGateway, iss.Issuer,
				a.cfg.GatewayAudiences, a.cfg.GatewayAlgorithms, source(iss.jwksURL()), a.cfg))
		}
	}
}

// Mode is the configured auth mode.
func (a *Authenticator) Mode() AuthMode { return a.cfg.Mode }

// Start begins fetching every key set and waits up to JWKSStartWait for the first
// fetches; a key set still missing then is logged, and requests that need it get
// 503 until a fetch succeeds. It fails when called twice or after Stop. The
// fetchers run until Stop or until ctx ends.
func (a *Authenticator) Start(ctx context.Context) error {
	if len(a.sources) == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.jwks != nil || a.stopped {
		return errors.New("router: Authenticator started twice or after Stop")
	}
	client := httprc.NewClient(httprc.WithWorkers(jwksWorkers),
		httprc.WithErrorSink(errsink.NewFunc(func(_ context.Context, err error) {
			a.log.Warn("fetching token signing keys failed", "error", err)
		})))
	cache, err := jwk.NewCache(ctx, client)
	if err != nil {
		return fmt.Errorf("router: start the JWKS cache: %w", err)
	}
	a.jwks = cache
	for _, src := range a.sources {
		if err := src.register(ctx, cache); err != nil {
			return err
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, a.cfg.JWKSStartWait)
	defer cancel()
	for _, src := range a.sources {
		if err := src.ready(waitCtx); err != nil {
			a.log.Warn("token signing keys not fetched yet; requests that need them get 503 until they are",
				"url", src.url, "error", err)
		}
	}
	return nil
}

// Stop ends the key fetchers and waits for them, within ctx. It is safe before
// Start and twice.
func (a *Authenticator) Stop(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	if a.jwks == nil {
		return nil
	}
	for _, src := range a.sources {
		src.detach()
	}
	cache := a.jwks
	a.jwks = nil
	if err := cache.Shutdown(ctx); err != nil {
		return fmt.Errorf("router: stop the JWKS cache: %w", err)
	}
	return nil
}

// Authenticate verifies the request's bearer token and returns who sent it; the
// Principal may be shared with other requests bearing the same token, so it is
// read-only. In mode none it returns (nil, nil) without reading any header.
// Failures are *Error values: 401 unauthorized for a missing or invalid token or
// one without a subject, 503 unavailable while the signing keys cannot be fetched.
func (a *Authenticator) Authenticate(ctx context.Context, h http.Header) (*Principal, error) {
	if a.cfg.Mode == AuthModeNone {
		return nil, nil
	}
	token := bearerToken(h)
	if token == "" {
		return nil, newError(CodeUnauthorized, "Missing bearer token.", nil).
			withHeader("WWW-Authenticate", `Bearer realm="hh-enrich-svc"`)
	}
	p, err := a.verify(ctx, token)
	switch {
	case errors.Is(err, errKeysUnavailable):
		a.log.Warn("token not verified: signing keys unavailable", "error", err)
		return nil, newError(CodeUnavailable, "Token signing keys are unavailable; try again shortly.", nil).
			withHeader("Retry-After", strconv.Itoa(int(keysUnavailableRetry/time.Second)))
	case err != nil:
		a.log.Debug("token rejected", "error", err)
		return nil, invalidToken(a.invalidTokenMessage())
	case p.UID == "":
		return nil, invalidToken("Token is missing subject claim.")
	}
	return p, nil
}

func invalidToken(message string) *Error {
	return newError(CodeUnauthorized, message, nil).
		withHeader("WWW-Authenticate", `Bearer realm="hh-enrich-svc", error="invalid_token"`)
}

// invalidTokenMessage keeps the reference's wording: its last step, gateway
// verification, speaks for a failed token unless gateway tokens are off.
func (a *Authenticator) invalidTokenMessage() string {
	if a.cfg.Mode == AuthModeFirebase {
		return "Invalid authentication token."
	}
	return "Invalid gateway token."
}

// bearerToken reads the token from Authorization ("Bearer " is case-sensitive, as
// in the reference), else the raw x-firebase-auth or x-id-token header.
func bearerToken(h http.Header) string {
	if t, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer "); ok && strings.TrimSpace(t) != "" {
		return strings.TrimSpace(t)
	}
	for _, name := range []string{"X-Firebase-Auth", "X-Id-Token"} {
		if t := strings.TrimSpace(h.Get(name)); t != "" {
			return t
		}
	}
	return ""
}

// verify checks token with the verifiers of its issuer, in order (Firebase before
// gateway for hybrid), and caches the principal of a token that passes.
func (a *Authenticator) verify(ctx context.Context, token string) (*Principal, error) {
	key := sha256.Sum256([]byte(token))
	now := a.cfg.Now()
	if a.tokens != nil {
		if c, ok := a.tokens.Get(key); ok && now.Before(c.until) {
			return c.principal, nil
		}
	}
	// The unverified iss only picks which issuer's keys to try; the verifier then
	// requires that exact issuer on the verified token.
	unverified, err := jwt.ParseInsecure([]byte(token))
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	iss, _ := unverified.Issuer()
	var errs []error
	for _, v := range a.verifiers {
		if v.issuer != iss {
			continue
		}
		p, err := v.verify(ctx, []byte(token))
		if err == nil {
			a.remember(key, p, now)
			return p, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("issuer %q is not accepted", iss)
	}
	return nil, errors.Join(errs...)
}

func (a *Authenticator) remember(key [sha256.Size]byte, p *Principal, now time.Time) {
	if a.tokens == nil {
		return
	}
	until := now.Add(a.cfg.TokenCacheTTL)
	if !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(until) {
		until = p.ExpiresAt
	}
	a.tokens.Add(key, cachedPrincipal{principal: p, until: until})
}

// adminScope is the scope that opens the admin routes, or "" when none does.
func (a *Authenticator) adminScope() string {
	if a.cfg.Mode == AuthModeNone || a.cfg.AdminScope == AdminScopeNone {
		return ""
	}
	return a.cfg.AdminScope
}

// operatorScope is the scope that makes a token an operator, or "" when none does.
func (a *Authenticator) operatorScope() string {
	if a.cfg.Mode == AuthModeNone || a.cfg.OperatorScope == AdminScopeNone {
		return ""
	}
	return a.cfg.OperatorScope
}

// signatureAlgorithms maps pinned names to jwx algorithms; validate has already
// checked every name.
func signatureAlgorithms(names []string) []jwa.SignatureAlgorithm {
	out := make([]jwa.SignatureAlgorithm, 0, len(names))
	for _, name := range names {
		if alg, ok := jwa.LookupSignatureAlgorithm(name); ok {
			out = append(out, alg)
		}
	}
	return out
}
