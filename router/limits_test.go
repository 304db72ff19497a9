package router

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// setupLimits builds the API on a real store with cfg's limits.
func setupLimits(t *testing.T, edit func(*Config)) *testBundle {
	t.Helper()
	b := setup(t)
	cfg := Config{Store: b.store, Batches: b.store, Queue: b.store, Auth: noAuth(t), Logger: hclog.NewNullLogger()}
	edit(&cfg)
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.handler = h
	return b
}

func TestEveryBatchCandidateIsHeldToTheSingleRoutesLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	big := strings.Repeat("x", MaxBodyBytesDefault+1)
	body := `{"candidates":[{"candidateId":"small"},{"candidateId":"big","payload":{"resume_text":"` + big + `"}}]}`
	resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, body)
	details, _ := resp.body["details"].(map[string]any)
	if resp.status != http.StatusRequestEntityTooLarge || resp.body["code"] != CodeBodyTooLarge || details["index"] != 1.0 {
		t.Fatalf("a candidate over the single route's limit: %d %v", resp.status, resp.body)
	}
	// Just under the limit is accepted, as POST /v1/enrich/profile would accept it.
	fits := strings.Repeat("x", MaxBodyBytesDefault-200)
	ok := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant,
		`{"candidates":[{"candidateId":"fits","payload":{"resume_text":"`+fits+`"}}]}`)
	if ok.status != http.StatusAccepted {
		t.Fatalf("a candidate within the limit: %d %v", ok.status, ok.body)
	}
}

func TestTheBatchBodyLimitIsSizedFromTheSingleRoutes(t *testing.T) {
	t.Parallel()
	b := setupLimits(t, func(c *Config) { c.MaxBodyBytes = 1 << 10 })
	item := `{"candidateId":"c-%d","payload":{"resume_text":"` + strings.Repeat("y", 900) + `"}}`
	var items []string
	for i := range BatchBodyFactor + 8 { // each fits 1 KiB; together past 32 KiB
		items = append(items, fmt.Sprintf(item, i))
	}
	body := `{"candidates":[` + strings.Join(items, ",") + `]}`
	// Undeclared length: the stream is cut at the cap.
	req := httptest.NewRequest(http.MethodPost, "/v1/enrich/batch", io.MultiReader(strings.NewReader(body)))
	req.ContentLength = -1
	for k, v := range jsonTenant {
		req.Header.Set(k, v)
	}
	rec := serve(t, b.handler, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), fmt.Sprint(BatchBodyFactor<<10)) {
		t.Fatalf("a streamed body past %d × the single limit: %d %s", BatchBodyFactor, rec.Code, rec.Body)
	}
	// Declared length: refused before a byte is read.
	if resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, body); resp.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a declared body past the cap: %d %v", resp.status, resp.body)
	}
}

func TestTheTenantRateLimitCountsCandidates(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := setupLimits(t, func(c *Config) { c.TenantRateLimit, c.TenantBurst, c.Now = 10, 10, clock.Now })
	if resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, batchBody(6)); resp.status != http.StatusAccepted {
		t.Fatalf("6 candidates of a burst of 10: %d %v", resp.status, resp.body)
	}
	resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, batchBody(6))
	if resp.status != http.StatusTooManyRequests || resp.body["code"] != CodeRateLimited || resp.header.Get("Retry-After") == "" {
		t.Fatalf("6 more candidates with 4 tokens left: %d %v", resp.status, resp.body)
	}
	// A big batch is accepted on a full bucket and paid for afterwards: the
	// tenant's next request waits until 40 candidates' worth of time has passed.
	clock.Advance(10 * time.Second)
	if resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, batchBody(40)); resp.status != http.StatusAccepted {
		t.Fatalf("40 candidates on a full bucket: %d %v", resp.status, resp.body)
	}
	clock.Advance(2 * time.Second)
	if resp := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c1"}`); resp.status != http.StatusTooManyRequests {
		t.Fatalf("2 s after 40 candidates at 10/s: %d %v, want 429", resp.status, resp.body)
	}
	clock.Advance(3 * time.Second)
	if resp := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c1"}`); resp.status != http.StatusAccepted {
		t.Fatalf("once the candidates are paid for: %d %v", resp.status, resp.body)
	}
	// Other tenants are unaffected.
	if resp := b.request(t, http.MethodPost, "/v1/enrich/batch", withHeader(jsonTenant, "X-Tenant-ID", "tenant-beta"), batchBody(10)); resp.status != http.StatusAccepted {
		t.Fatalf("another tenant: %d %v", resp.status, resp.body)
	}
}

func TestATenantsBytesInFlightAreBounded(t *testing.T) {
	t.Parallel()
	b := setupLimits(t, func(c *Config) { c.MaxBodyBytes, c.MaxBatchBodyBytes, c.TenantInFlightBytes = 4096, 4096, 4096 })
	body := `{"candidateId":"slow","payload":{"resume_text":"` + strings.Repeat("z", 3000) + `"}}`
	pr, pw := io.Pipe()
	slow := httptest.NewRequest(http.MethodPost, "/v1/enrich/profile", pr)
	slow.ContentLength = int64(len(body))
	for k, v := range jsonTenant {
		slow.Header.Set(k, v)
	}
	done := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		b.handler.ServeHTTP(rec, slow)
		done <- rec.Code
	}()
	// The handler reads the first byte only once it holds the body's bytes.
	if _, err := pw.Write([]byte(body[:1])); err != nil {
		t.Fatal(err)
	}
	resp := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c2","payload":{"n":"`+strings.Repeat("w", 1200)+`"}}`)
	if resp.status != http.StatusTooManyRequests || resp.body["code"] != CodeInFlightLimit || resp.header.Get("Retry-After") == "" {
		t.Fatalf("while 3 KiB of a 4 KiB budget are in flight: %d %v", resp.status, resp.body)
	}
	if other := b.request(t, http.MethodPost, "/v1/enrich/profile", withHeader(jsonTenant, "X-Tenant-ID", "tenant-beta"), `{"candidateId":"c2"}`); other.status != http.StatusAccepted {
		t.Fatalf("another tenant: %d %v", other.status, other.body)
	}
	if _, err := pw.Write([]byte(body[1:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if code := <-done; code != http.StatusAccepted {
		t.Fatalf("the slow request: %d", code)
	}
	if resp := b.request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c3"}`); resp.status != http.StatusAccepted {
		t.Fatalf("after the slow body was answered: %d %v", resp.status, resp.body)
	}
}
