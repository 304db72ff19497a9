package adminui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// session is who signed in, carried in the signed cookie. The cookie is the
// whole session: nothing is stored server-side, so any instance that shares the
// key (ENRICH_ADMIN_SESSION_KEY) accepts it.
type session struct {
	ID        string `json:"sid"`          // random; the CSRF token is derived from it
	Subject   string `json:"sub"`          // "operator" or the token's subject, for the log
	Operator  bool   `json:"op"`           // the static token: every tenant
	Tenant    string `json:"ten"`          // a tenant's admin sees this tenant only
	Epoch     string `json:"ep,omitempty"` // the admin credential's epoch when signed in
	IssuedAt  int64  `json:"iat"`          // Unix seconds
	ExpiresAt int64  `json:"exp"`          // Unix seconds
}

// Admin is who a credential belongs to, as Config.Authorize reports it.
type Admin struct {
	// Subject names the admin in the log: "operator" for the static token, else
	// the token's subject.
	Subject string
	// Operator is true for the static admin token, which may see and act on every
	// tenant. Otherwise the admin sees only Tenant's jobs and numbers (a tenant's
	// admin), as the admin API does.
	Operator bool
	Tenant   string
	// ExpiresAt, when set, ends the session no later than the token would have.
	ExpiresAt time.Time
}

// maySee reports whether the session may see tenant's jobs and numbers.
func (s *session) maySee(tenant string) bool {
	return s.Operator || (s.Tenant != "" && s.Tenant == tenant)
}

// Errors of a session cookie; the console treats each as "not signed in".
var (
	errMalformedSession = errors.New("adminui: malformed session cookie")
	errBadSignature     = errors.New("adminui: session signature does not match")
	errSessionExpired   = errors.New("adminui: session expired")
	errStaleCredential  = errors.New("adminui: session made under another admin credential")
)

// Domain-separation labels: a MAC made for one purpose never verifies as another.
const (
	sessionMACLabel = "hh-enrich-ui.session.v1|"
	csrfMACLabel    = "hh-enrich-ui.csrf.v1|"
	epochMACLabel   = "hh-enrich-ui.epoch.v1|"
)

// sessionCodec signs and verifies session cookies and derives CSRF tokens.
type sessionCodec struct {
	key []byte
	now func() time.Time
	// epoch stands for the admin credential of the day (a MAC of it, never the
	// credential): a session made under another one is refused.
	epoch string
}

// withEpoch returns c whose sessions belong to credential's epoch; "" for none.
func (c sessionCodec) withEpoch(credential string) sessionCodec {
	c.epoch = ""
	if credential != "" {
		c.epoch = base64.RawURLEncoding.EncodeToString(c.mac(epochMACLabel + credential)[:12])
	}
	return c
}

// newSession starts a session for admin that ends after ttl, or when the
// admin's token expires if that is sooner.
func (c sessionCodec) newSession(admin Admin, ttl time.Duration) (*session, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("adminui: session id: %w", err)
	}
	now := c.now()
	exp := now.Add(ttl)
	if !admin.ExpiresAt.IsZero() && admin.ExpiresAt.Before(exp) {
		exp = admin.ExpiresAt
	}
	return &session{ID: hex.EncodeToString(id[:]), Subject: admin.Subject, Operator: admin.Operator,
		Tenant: admin.Tenant, Epoch: c.epoch, IssuedAt: now.Unix(), ExpiresAt: exp.Unix()}, nil
}

// encode returns the cookie value: base64url(JSON) "." base64url(HMAC-SHA256).
func (c sessionCodec) encode(s *session) (string, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("adminui: encode session: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + base64.RawURLEncoding.EncodeToString(c.mac(sessionMACLabel+payload)), nil
}

// decode verifies value's signature before reading it, then its expiry.
func (c sessionCodec) decode(value string) (*session, error) {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok || payload == "" {
		return nil, errMalformedSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return nil, errMalformedSession
	}
	if !hmac.Equal(got, c.mac(sessionMACLabel+payload)) {
		return nil, errBadSignature
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, errMalformedSession
	}
	var s session
	if err := json.Unmarshal(raw, &s); err != nil || s.ID == "" {
		return nil, errMalformedSession
	}
	if c.now().Unix() >= s.ExpiresAt {
		return nil, errSessionExpired
	}
	if !hmac.Equal([]byte(s.Epoch), []byte(c.epoch)) {
		return nil, errStaleCredential
	}
	return &s, nil
}

// csrfToken is the session's CSRF token: a MAC of its id, so it needs no
// storage and cannot be made without the key.
func (c sessionCodec) csrfToken(s *session) string {
	return base64.RawURLEncoding.EncodeToString(c.mac(csrfMACLabel + s.ID))
}

// validCSRF compares token with the session's in constant time.
func (c sessionCodec) validCSRF(s *session, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(c.csrfToken(s)))
}

func (c sessionCodec) mac(msg string) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(msg)) // a hash.Hash never fails to write
	return h.Sum(nil)
}
