package router

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/headhunter/hh-enrich-svc/store"
)

// Test fixtures: real keys, a real JWKS over HTTP and real JWTs for
// authentication; a settable clock; in-memory store and tenant directory.

// testKeys are generated once: RSA key generation is slow under -race.
var testKeys = sync.OnceValue(func() struct {
	rsa, otherRSA *rsa.PrivateKey
	ec            *ecdsa.PrivateKey
} {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	r1, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	r2, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	return struct {
		rsa, otherRSA *rsa.PrivateKey
		ec            *ecdsa.PrivateKey
	}{r1, r2, ec}
})

// testIssuer issues tokens and serves its public keys as a JWKS over HTTP.
type testIssuer struct {
	t   testing.TB
	iss string
	srv *httptest.Server

	mu      sync.Mutex
	public  jwk.Set
	private map[string]jwk.Key // by kid

	failing atomic.Bool  // the JWKS endpoint answers 500
	fetches atomic.Int64 // JWKS requests served
}

// newTestIssuer starts the JWKS server; an empty iss means the server's URL.
func newTestIssuer(t testing.TB, iss string) *testIssuer {
	t.Helper()
	i := &testIssuer{t: t, public: jwk.NewSet(), private: map[string]jwk.Key{}}
	i.srv = httptest.NewServer(http.HandlerFunc(i.serveJWKS))
	t.Cleanup(i.srv.Close)
	i.iss = cmp.Or(iss, i.srv.URL)
	return i
}

func (i *testIssuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	i.fetches.Add(1)
	if i.failing.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	i.mu.Lock()
	body, err := json.Marshal(i.public)
	i.mu.Unlock()
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// privateJWK wraps a raw private key as a JWK with a kid and an alg.
func privateJWK(t testing.TB, raw crypto.Signer, kid string, alg jwa.SignatureAlgorithm) jwk.Key {
	t.Helper()
	key, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	if err := key.Set(jwk.AlgorithmKey, alg); err != nil {
		t.Fatal(err)
	}
	return key
}

// addKey publishes raw's public half under kid.
func (i *testIssuer) addKey(kid string, alg jwa.SignatureAlgorithm, raw crypto.Signer) {
	i.t.Helper()
	priv := privateJWK(i.t, raw, kid, alg)
	pub, err := jwk.PublicKeyOf(priv)
	if err != nil {
		i.t.Fatal(err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.public.AddKey(pub); err != nil {
		i.t.Fatal(err)
	}
	i.private[kid] = priv
}

// claims are a valid token's claims for aud, with overrides (nil deletes a claim).
func (i *testIssuer) claims(aud any, overrides map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": i.iss, "aud": aud, "sub": "user-1", "org_id": "acme",
		"iat": now.Add(-time.Minute), "exp": now.Add(time.Hour)}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign signs claims with the issuer's key kid.
func (i *testIssuer) sign(kid string, claims map[string]any) string {
	i.t.Helper()
	i.mu.Lock()
	key := i.private[kid]
	i.mu.Unlock()
	return signWith(i.t, key, claims)
}

func signWith(t testing.TB, key jwk.Key, claims map[string]any) string {
	t.Helper()
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	alg, _ := key.Algorithm()
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// unsignedToken is an "alg: none" token: header, claims, empty signature.
func unsignedToken(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	for k, v := range claims {
		if tm, ok := v.(time.Time); ok {
			claims[k] = tm.Unix()
		}
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT", "kid": kid}) + "." + enc(claims) + "."
}

// hmacWithPublicKey is the classic key-confusion forgery: HS256 keyed with the
// issuer's public RSA key, which anyone can download.
func hmacWithPublicKey(t testing.TB, kid string, pub *rsa.PublicKey, claims map[string]any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), der, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// fakeClock is a settable clock for rate limits, caches and token checks.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// memStore is an in-memory job store for tests about what happens before a
// handler runs; the handlers themselves are tested against real Redis.
type memStore struct{}

func (memStore) Submit(_ context.Context, req store.SubmitRequest) (*store.Job, bool, error) {
	now := time.Now()
	return &store.Job{ID: "0123456789abcdef", TenantID: req.TenantID, CandidateID: req.CandidateID,
		CandidateDocumentID: req.TenantID + "_" + req.CandidateID, Status: store.StatusQueued,
		CreatedAt: now, UpdatedAt: now, CorrelationID: req.CorrelationID, Priority: 5}, true, nil
}

func (memStore) Get(context.Context, string) (*store.Job, error) { return nil, store.ErrNotFound }
func (memStore) Ping(context.Context) error                      { return nil }

// memDirectory is an in-memory tenant directory that counts its reads.
type memDirectory struct {
	tenants map[string]Tenant
	err     error // returned for every lookup when set
	reads   atomic.Int64
	gate    chan struct{} // when set, each read waits for it
}

func (d *memDirectory) Lookup(ctx context.Context, id string) (Tenant, error) {
	d.reads.Add(1)
	if d.gate != nil {
		select {
		case <-d.gate:
		case <-ctx.Done():
			return Tenant{}, ctx.Err()
		}
	}
	if d.err != nil {
		return Tenant{}, d.err
	}
	t, ok := d.tenants[id]
	if !ok {
		return Tenant{}, ErrTenantNotFound
	}
	return t, nil
}

func testDirectory() *memDirectory {
	return &memDirectory{tenants: map[string]Tenant{
		"acme":   {ID: "acme", Name: "Acme", Active: true},
		"globex": {ID: "globex", Name: "Globex", Active: true},
		"sleepy": {ID: "sleepy", Name: "Sleepy", Active: false},
	}}
}

const (
	testProject  = "test-project"
	testAudience = "hh-enrich-api"
)

// authBundle is the API in a token-checking mode, with a gateway issuer and a
// Firebase issuer, each serving its keys over HTTP.
type authBundle struct {
	*testBundle
	auth     *Authenticator
	gateway  *testIssuer
	firebase *testIssuer
	dir      *memDirectory
}

// setupAuth builds the API in mode; edit may change either config before use.
func setupAuth(t testing.TB, mode AuthMode, edit func(*AuthConfig, *Config)) *authBundle {
	t.Helper()
	keys := testKeys()
	gw := newTestIssuer(t, "")
	gw.addKey("gw-rsa", jwa.RS256(), keys.rsa)
	gw.addKey("gw-ec", jwa.ES256(), keys.ec)
	fb := newTestIssuer(t, FirebaseIssuerPrefix+testProject)
	fb.addKey("fb-rsa", jwa.RS256(), keys.otherRSA)
	ac := AuthConfig{
		Mode:              mode,
		GatewayIssuers:    []Issuer{{Issuer: gw.iss}}, // JWKS at the default /.well-known/jwks.json
		GatewayAudiences:  []string{testAudience, "other-audience"},
		FirebaseProjectID: testProject,
		FirebaseJWKSURL:   fb.srv.URL + "/jwks",
		Logger:            hclog.NewNullLogger(),
	}
	b := &authBundle{gateway: gw, firebase: fb, dir: testDirectory()}
	rc := Config{Store: memStore{}, Tenants: b.dir, Logger: hclog.NewNullLogger()}
	if edit != nil {
		edit(&ac, &rc)
	}
	auth, err := NewAuthenticator(ac)
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := auth.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	rc.Auth = auth
	h, err := New(rc)
	if err != nil {
		t.Fatal(err)
	}
	b.testBundle, b.auth = &testBundle{handler: h}, auth
	return b
}

// submitAs posts a job for tenant with the given auth headers.
func (b *authBundle) submitAs(t *testing.T, tenant string, auth map[string]string) response {
	t.Helper()
	headers := map[string]string{"Content-Type": "application/json"}
	if tenant != "" {
		headers["X-Tenant-ID"] = tenant
	}
	for k, v := range auth {
		headers[k] = v
	}
	return b.request(t, http.MethodPost, "/v1/enrich/profile", headers, `{"candidateId":"c1"}`)
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// waitFor polls cond until it holds, failing t after 10 s: the one place router
// tests sleep.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
