package adminui

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestSessionCodec(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	codec := sessionCodec{key: []byte(strings.Repeat("k", 32)), now: clk.Now}
	s, err := codec.newSession(Admin{Subject: "operator", Operator: true}, 8*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	value, err := codec.encode(s)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("RoundTrips", func(t *testing.T) {
		t.Parallel()
		got, err := codec.decode(value)
		if err != nil || *got != *s {
			t.Fatalf("decode = %+v, %v; want %+v", got, err, s)
		}
	})

	t.Run("RefusesAnyChangeToThePayload", func(t *testing.T) {
		t.Parallel()
		payload, sig, _ := strings.Cut(value, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(payload)
		forged := strings.Replace(string(raw), `"op":true`, `"op":false`, 1)
		forged = strings.Replace(forged, `"sub":"operator"`, `"sub":"mallory"`, 1)
		for _, v := range []string{
			base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + sig,
			payload[:len(payload)-2] + "." + sig,
			payload + "." + sig[:len(sig)-2] + "AA",
			payload,
			"." + sig,
			"",
			"not base64!.also not",
		} {
			if _, err := codec.decode(v); err == nil {
				t.Errorf("decode(%q) accepted a tampered cookie", v)
			}
		}
	})

	t.Run("RefusesACookieSignedWithAnotherKey", func(t *testing.T) {
		t.Parallel()
		other := sessionCodec{key: []byte(strings.Repeat("x", 32)), now: clk.Now}
		if _, err := other.decode(value); err != errBadSignature {
			t.Fatalf("decode with another key: %v, want errBadSignature", err)
		}
	})

	t.Run("ExpiresAfterItsTTL", func(t *testing.T) {
		t.Parallel()
		later := sessionCodec{key: codec.key, now: func() time.Time { return clk.Now().Add(8 * time.Hour) }}
		if _, err := later.decode(value); err != errSessionExpired {
			t.Fatalf("decode after 8 h: %v, want errSessionExpired", err)
		}
		almost := sessionCodec{key: codec.key, now: func() time.Time { return clk.Now().Add(8*time.Hour - time.Second) }}
		if _, err := almost.decode(value); err != nil {
			t.Fatalf("decode just before expiry: %v", err)
		}
	})

	t.Run("EndsNoLaterThanTheTokenItCameFrom", func(t *testing.T) {
		t.Parallel()
		tokenExp := clk.Now().Add(20 * time.Minute)
		s, err := codec.newSession(Admin{Subject: "alice", Tenant: "tenant-a", ExpiresAt: tokenExp}, 8*time.Hour)
		if err != nil || s.ExpiresAt != tokenExp.Unix() {
			t.Fatalf("session expires at %v, want the token's %v (%v)", time.Unix(s.ExpiresAt, 0), tokenExp, err)
		}
	})

	t.Run("CSRFTokenIsBoundToTheSession", func(t *testing.T) {
		t.Parallel()
		other, _ := codec.newSession(Admin{Subject: "operator", Operator: true}, time.Hour)
		token := codec.csrfToken(s)
		switch {
		case !codec.validCSRF(s, token):
			t.Fatal("the session's own token is refused")
		case codec.validCSRF(other, token):
			t.Fatal("another session's token is accepted")
		case codec.validCSRF(s, ""):
			t.Fatal("an empty token is accepted")
		case token == base64.RawURLEncoding.EncodeToString(codec.mac(sessionMACLabel+s.ID)):
			t.Fatal("the CSRF token equals a session MAC: purposes are not separated")
		}
	})
}

func TestSessionMaySee(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s      session
		tenant string
		want   bool
	}{
		{session{Operator: true}, "tenant-b", true},
		{session{Tenant: "tenant-a"}, "tenant-a", true},
		{session{Tenant: "tenant-a"}, "tenant-b", false},
		{session{}, "", false}, // a scoped token that names no tenant sees none
	} {
		if got := tc.s.maySee(tc.tenant); got != tc.want {
			t.Errorf("%+v.maySee(%q) = %v, want %v", tc.s, tc.tenant, got, tc.want)
		}
	}
}
