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
	} {
		f.Add(seed)
	}
	b := setup(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/enrich/profile", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Tenant-ID", "tenant-alpha")
		rec := httptest.NewRecorder()
		b.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"code"`) {
			t.Fatalf("body %q: %d without a code: %s", body, rec.Code, rec.Body.String())
		}
	})
}
