package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// BenchmarkDecodeBatch decodes a batch of 1,000 realistic-sized candidates (2 KB of
// resume each), the batch route's work before Redis.
func BenchmarkDecodeBatch(b *testing.B) {
	s, err := newServer(Config{Store: downStore{}, Auth: noAuth(b), Logger: hclog.NewNullLogger()})
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Replace(batchBody(1000), "Go developer", strings.Repeat("Senior Go developer, Kubernetes. ", 64), -1)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v1/enrich/batch", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if _, err := s.decodeBatch(httptest.NewRecorder(), r); err != nil {
			b.Fatal(err)
		}
	}
}
