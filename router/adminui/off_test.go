package adminui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOff(t *testing.T) {
	t.Parallel()
	h, err := Off()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/admin/ui"}, {http.MethodGet, "/admin/ui/signin"}, {http.MethodPost, "/admin/ui/signin"},
		{http.MethodGet, "/admin/ui/pool"}, {http.MethodPost, "/admin/ui/pool/restart"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader("credential=x")))
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "ENRICH_ADMIN_TOKEN") ||
			strings.Contains(rec.Body.String(), `name="credential"`) {
			t.Errorf("%s %s: %d", tc.method, tc.path, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/ui/static/console.css", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("the stylesheet: %d", rec.Code)
	}
}
