package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// audience is GATEWAY_AUDIENCE of the security scenario's service.
const audience = "hh-enrich-api"

// issuer is a token issuer on loopback, as an API gateway would be: an RSA key
// whose public half it serves as a JWKS, and tokens signed with it. A second
// key with the same key id signs the forged tokens.
type issuer struct {
	URL, JWKSURL string
	key, forger  jwk.Key
	server       *http.Server
	served       chan error
}

// startIssuer makes the keys and serves the JWKS until close.
func startIssuer() (*issuer, error) {
	key, err := newRSAKey("chaos-k1")
	if err != nil {
		return nil, err
	}
	forger, err := newRSAKey("chaos-k1")
	if err != nil {
		return nil, err
	}
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	i := &issuer{URL: base + "/issuer", JWKSURL: base + "/jwks.json", key: key, forger: forger,
		server: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, served: make(chan error, 1)}
	go func() { i.served <- i.server.Serve(ln) }()
	return i, nil
}

func newRSAKey(kid string) (jwk.Key, error) {
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	if err := errors.Join(key.Set(jwk.KeyIDKey, kid), key.Set(jwk.AlgorithmKey, jwa.RS256())); err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	return key, nil
}

// claims are a valid token's claims for an hour, with extra set over them.
func (i *issuer) claims(extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": i.URL, "aud": audience, "sub": "chaos-user", "iat": now, "exp": now.Add(time.Hour)}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// sign returns a token with the issuer's claims and extra, signed by its key.
func (i *issuer) sign(extra map[string]any) (string, error) { return signToken(i.key, i.claims(extra)) }

// forge returns the same token signed by another key under the same key id.
func (i *issuer) forge(extra map[string]any) (string, error) {
	return signToken(i.forger, i.claims(extra))
}

func signToken(key jwk.Key, claims map[string]any) (string, error) {
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			return "", fmt.Errorf("claim %s: %w", k, err)
		}
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), key))
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return string(signed), nil
}

// unsigned returns the issuer's claims as an "alg": "none" token.
func (i *issuer) unsigned(extra map[string]any) string {
	claims := i.claims(extra)
	for k, v := range claims {
		if t, ok := v.(time.Time); ok {
			claims[k] = t.Unix()
		}
	}
	enc := func(v any) string {
		raw, _ := json.Marshal(v) // maps of strings and numbers always encode
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT", "kid": "chaos-k1"}) + "." + enc(claims) + "."
}

// close stops serving the JWKS.
func (i *issuer) close(ctx context.Context) error {
	err := i.server.Shutdown(ctx)
	if s := <-i.served; !errors.Is(s, http.ErrServerClosed) {
		err = errors.Join(err, s)
	}
	return err
}
