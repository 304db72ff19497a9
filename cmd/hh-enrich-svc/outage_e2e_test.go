package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// TestRedisOutageAnswers503WithRetryAfterOnEveryRouteThatNeedsRedis stops
// Redis under the running binary and calls every route that reads or writes
// the job store: each answers 503 "unavailable" with a Retry-After, never a
// 500, and the service answers again once Redis is back.
func TestRedisOutageAnswers503WithRetryAfterOnEveryRouteThatNeedsRedis(t *testing.T) {
	t.Parallel()
	redisServer := redistest.StartServer(t, redistest.ServerConfig{AppendOnly: true})
	s := startServiceOn(t, redisServer.Addr(), "ENRICH_ADMIN_TOKEN=test-admin-token")
	id := s.submit("tenant-alpha", map[string]any{"candidateId": "before-outage", "payload": map[string]any{"name": "A"}})
	redisServer.Stop()

	const unknownID = "0123456789abcdef0123456789abcdef"
	for _, route := range []struct {
		method, path string
		body         any
		admin        bool
	}{
		{http.MethodPost, "/v1/enrich/profile", map[string]any{"candidateId": "c1"}, false},
		{http.MethodPost, "/v1/enrich/profile", map[string]any{"candidateId": "c2", "async": false}, false},
		{http.MethodGet, "/v1/enrich/status/" + id, nil, false},
		{http.MethodPost, "/v1/enrich/batch", map[string]any{"candidates": []map[string]any{{"candidateId": "c3"}}}, false},
		{http.MethodGet, "/v1/enrich/batch/" + unknownID, nil, false},
		{http.MethodGet, "/admin/queue", nil, true},
		{http.MethodPost, "/admin/jobs/" + id + "/requeue", nil, true},
	} {
		token := ""
		if route.admin {
			token = "test-admin-token"
		}
		resp, retryAfter := s.callForRetryAfter(route.method, route.path, token, route.body)
		if resp.Status != http.StatusServiceUnavailable || resp.Body["code"] != "unavailable" || retryAfter == "" {
			t.Errorf("%s %s during the outage: %d %v (Retry-After %q), want 503 unavailable with a Retry-After",
				route.method, route.path, resp.Status, resp.Body, retryAfter)
		}
	}
	if err := redisServer.Start(); err != nil {
		t.Fatal(err)
	}
	// As a client told Retry-After would: the service's client redials on its
	// own schedule after failed dials.
	eventuallyTrue(t, "the API answering again after the outage", func() bool {
		resp, _ := s.callForRetryAfter(http.MethodGet, "/v1/enrich/status/"+id, "", nil)
		return resp.Status == http.StatusOK
	})
	if job := s.waitForTerminal("tenant-alpha", id); job["status"] != "completed" && job["status"] != "failed" {
		t.Fatalf("after the outage the job is %v", job)
	}
}

// callForRetryAfter calls the API as tenant-alpha, with an admin bearer token
// when token is set, and returns the response and its Retry-After header.
func (s *service) callForRetryAfter(method, path, token string, body any) (apiResponse, string) {
	s.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	req, err := http.NewRequest(method, s.baseURL+path, bytes.NewReader(raw))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant-ID", "tenant-alpha")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := apiResponse{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&out.Body); err != nil {
		s.t.Fatalf("%s %s: status %d, undecodable body: %v", method, path, resp.StatusCode, err)
	}
	return out, resp.Header.Get("Retry-After")
}
