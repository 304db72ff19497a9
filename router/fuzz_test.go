package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzSubmitNeverAnswers5xx: whatever the body, the API answers a 2xx or a 4xx with
// a code, never a 500 or a panic. `go test` runs the seeds; `go test -fuzz` explores.
func FuzzSubmitNeverAnswers5xx(f *testing.F) {
	for _, seed := range []string{
		`{"candidateId":"c1"}`, `{"candidateId":"c1","payload":{"a":[1,{"b":null}]}}`,
		`{"candidateId":"c1","async":false,"force":true,"idempotencyKey":"key-12345"}`,
		`{"candidateId":"\u0000"}`, `{"candidateId":"c1","payload":{"a":1}`, `null`, `"x"`, `[]`, `{}`,
		`{"candidateId":"c1","candidateId":"c2"}`, `{"payload":1e999}`, "\xff\xfe",
		`{"candidateId":"c1","payload":null}`, `{"candidateId":"c1","async":null}`, `{"candidateId":"a_b:c@d.e-f"}`,
		`{"candidateId":"c1","idempotencyKey":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}`,
	} {
		f.Add(seed)
	}
	b := setup(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/enrich/profile", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant-ID", "tenant-alpha")
		rec := serve(t, b.handler, req)
		if rec.Code >= 500 {
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"code"`) {
			t.Fatalf("body %q: %d without a code: %s", body, rec.Code, rec.Body.String())
		}
	})
}

// FuzzTokenNeverAnswers5xx: whatever the bearer token, authentication answers 401
// (or accepts a valid token), never a 500 or a panic.
func FuzzTokenNeverAnswers5xx(f *testing.F) {
	b := setupAuth(f, AuthModeHybrid, nil)
	valid := b.gateway.sign("gw-rsa", b.gateway.claims(testAudience, nil))
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid, parts[0] + "." + parts[1] + ".", parts[0] + ".." + parts[2], unsignedToken(f, "gw-rsa", b.gateway.claims(testAudience, nil)),
		"a.b.c", "....", "eyJhbGciOiJSUzI1NiJ9.e30.", `{"payload":"e30","signatures":[]}`, "\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/enrich/profile", strings.NewReader(`{"candidateId":"c1"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant-ID", "acme")
		req.Header.Set("X-Id-Token", token)
		rec := serve(t, b.handler, req)
		if rec.Code >= 500 {
			t.Fatalf("token %q: status %d %s", token, rec.Code, rec.Body.String())
		}
	})
}
