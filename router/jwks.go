package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// errKeysUnavailable: a key set has never been fetched (or the authenticator is
// not running), so no token of its issuer can be checked. Requests get 503, not
// 401: the token may be fine.
var errKeysUnavailable = errors.New("token signing keys unavailable")

// keysUnavailableRetry is the Retry-After of a 503 for unavailable keys, and how
// often a fetch is forced until the first one succeeds.
const keysUnavailableRetry = 5 * time.Second

// jwksRefetchTimeout bounds a forced key set fetch made on a request's behalf.
const jwksRefetchTimeout = 5 * time.Second

// keySource is one JWKS URL: the set jwk.Cache keeps fresh in the background, plus
// forced fetches when a token names a key the set lacks.
type keySource struct {
	url        string
	minRefresh time.Duration
	maxRefresh time.Duration
	httpClient *http.Client
	now        func() time.Time
	// refetches allows one forced fetch per minRefresh, so tokens with made-up key
	// ids cannot make us hammer the issuer; flight makes concurrent requests share it.
	refetches *rate.Limiter
	// firstFetches paces forced fetches while no set was ever fetched: every token
	// waits for one then, and its 503 tells the client to come back after
	// keysUnavailableRetry, so a fetch must be allowed by then (not minRefresh later).
	firstFetches *rate.Limiter
	flight       singleflight.Group

	cache atomic.Pointer[jwk.Cache]
	res   atomic.Pointer[httprc.ResourceBase[jwk.Set]]
}

func newKeySource(u string, cfg AuthConfig) *keySource {
	return &keySource{
		url:          u,
		minRefresh:   cfg.JWKSMinRefresh,
		maxRefresh:   cfg.JWKSMaxRefresh,
		httpClient:   cfg.HTTPClient,
		now:          cfg.Now,
		refetches:    rate.NewLimiter(rate.Every(cfg.JWKSMinRefresh), 1),
		firstFetches: rate.NewLimiter(rate.Every(min(cfg.JWKSMinRefresh, keysUnavailableRetry)), 1),
	}
}

// register hands the URL to cache without waiting for the first fetch.
func (k *keySource) register(ctx context.Context, cache *jwk.Cache) error {
	err := cache.Register(ctx, k.url,
		jwk.WithWaitReady(false),
		jwk.WithMinInterval(k.minRefresh),
		jwk.WithMaxInterval(k.maxRefresh),
		// The library's wrapper keeps its protections (no https→http redirects).
		jwk.WithHTTPClient(jwk.WrapHTTPClientDefaults(k.httpClient)))
	if err != nil {
		return fmt.Errorf("router: register JWKS %s: %w", k.url, err)
	}
	res, err := cache.LookupResource(ctx, k.url)
	if err != nil {
		return fmt.Errorf("router: JWKS %s: %w", k.url, err)
	}
	k.res.Store(res)
	k.cache.Store(cache)
	return nil
}

func (k *keySource) detach() {
	k.cache.Store(nil)
	k.res.Store(nil)
}

// ready waits for the first successful fetch, within ctx.
func (k *keySource) ready(ctx context.Context) error {
	res := k.res.Load()
	if res == nil {
		return errKeysUnavailable
	}
	return res.Ready(ctx)
}

// current is the last fetched set, or nil before the first successful fetch.
func (k *keySource) current() jwk.Set {
	if res := k.res.Load(); res != nil {
		return res.Resource()
	}
	return nil
}

// key returns the key named kid (with no kid, the set's only key). A key the set
// lacks may be a rotation newer than our last fetch: the set is fetched again,
// rate-limited, before the token is refused.
func (k *keySource) key(ctx context.Context, kid string) (jwk.Key, error) {
	if set := k.current(); set != nil {
		if key, ok := pickKey(set, kid); ok {
			return key, nil
		}
	}
	_, err, _ := k.flight.Do("refetch", func() (any, error) { return nil, k.refetch(ctx) })
	set := k.current()
	if set == nil {
		return nil, fmt.Errorf("%w: %s: %w", errKeysUnavailable, k.url, err)
	}
	if key, ok := pickKey(set, kid); ok {
		return key, nil
	}
	return nil, fmt.Errorf("no signing key %q at %s", kid, k.url)
}

var errRefetchThrottled = errors.New("key set fetched too recently")

func (k *keySource) refetch(ctx context.Context) error {
	limiter := k.refetches
	if k.current() == nil {
		limiter = k.firstFetches
	}
	if !limiter.AllowN(k.now(), 1) {
		return errRefetchThrottled
	}
	cache := k.cache.Load()
	if cache == nil {
		return errors.New("authenticator not running")
	}
	ctx, cancel := context.WithTimeout(ctx, jwksRefetchTimeout)
	defer cancel()
	_, err := cache.Refresh(ctx, k.url)
	return err
}

func pickKey(set jwk.Set, kid string) (jwk.Key, bool) {
	if kid == "" {
		if set.Len() != 1 {
			return nil, false
		}
		return set.Key(0)
	}
	return set.LookupKeyID(kid)
}

const (
	sourceFirebase = "firebase"
	sourceGateway  = "gateway"
)

// verifier checks tokens of one issuer: signature by a key of its JWKS with a
// pinned algorithm, exact issuer, an accepted audience, exp present and not past,
// nbf and iat not in the future, each within the clock skew.
type verifier struct {
	source    string
	issuer    string
	audiences []string
	algs      []jwa.SignatureAlgorithm
	keys      *keySource
	skew      time.Duration
	now       func() time.Time
}

func newVerifier(source, issuer string, audiences, algs []string, keys *keySource, cfg AuthConfig) *verifier {
	return &verifier{source: source, issuer: issuer, audiences: audiences, algs: signatureAlgorithms(algs),
		keys: keys, skew: cfg.ClockSkew, now: cfg.Now}
}

// verify returns the principal of a valid token. An error wraps
// errKeysUnavailable when the token could not be checked at all.
func (v *verifier) verify(ctx context.Context, token []byte) (*Principal, error) {
	// jws may rewrap what the key provider returns, so its own error is kept here.
	var keyErr error
	provider := jws.KeyProviderFunc(func(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		key, alg, err := v.keyFor(ctx, sig.ProtectedHeaders())
		if err != nil {
			keyErr = err
			return err
		}
		sink.Key(alg, key)
		return nil
	})
	tok, err := jwt.Parse(token,
		jwt.WithKeyProvider(provider),
		jwt.WithContext(ctx),
		jwt.WithIssuer(v.issuer),
		jwt.WithValidator(jwt.ValidatorFunc(v.checkAudience)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(v.skew),
		jwt.WithClock(jwt.ClockFunc(v.now)))
	if errors.Is(keyErr, errKeysUnavailable) {
		return nil, keyErr
	}
	if err != nil {
		return nil, fmt.Errorf("%s token from %s: %w", v.source, v.issuer, err)
	}
	return newPrincipal(tok, v.source)
}

// keyFor is where algorithms are pinned: a header alg outside the list (none, HS*,
// anything not configured) gets no key, so nothing is verified with it.
func (v *verifier) keyFor(ctx context.Context, h jws.Headers) (jwk.Key, jwa.SignatureAlgorithm, error) {
	alg, ok := h.Algorithm()
	if !ok || !slices.ContainsFunc(v.algs, func(a jwa.SignatureAlgorithm) bool { return a.String() == alg.String() }) {
		return nil, alg, fmt.Errorf("algorithm %q is not accepted", alg)
	}
	kid, _ := h.KeyID()
	key, err := v.keys.key(ctx, kid)
	if err != nil {
		return nil, alg, err
	}
	// A key published for one algorithm verifies no other (RFC 7517 §4.4).
	if keyAlg, ok := key.Algorithm(); ok && keyAlg.String() != alg.String() {
		return nil, alg, fmt.Errorf("key %q is for %s, not %s", kid, keyAlg, alg)
	}
	return key, alg, nil
}

func (v *verifier) checkAudience(_ context.Context, tok jwt.Token) error {
	auds, _ := tok.Audience()
	for _, aud := range auds {
		if slices.Contains(v.audiences, aud) {
			return nil
		}
	}
	return fmt.Errorf("audience %q is not accepted", auds)
}

// claimsOf returns every claim of a verified token, private ones included.
func claimsOf(tok jwt.Token) (map[string]any, error) {
	raw, err := json.Marshal(tok)
	if err != nil {
		return nil, fmt.Errorf("encode claims: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	return claims, nil
}
