package localstack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRouteMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"UnknownRouteOfTheService", 404, `{"code":"not_found","message":"No such route."}`, true},
		{"MethodNotAllowed", 405, `{"code":"method_not_allowed"}`, true},
		{"PlainTextNotFound", 404, "404 page not found", true},
		{"MissingJobIsNotAMissingRoute", 404, `{"code":"not_found","message":"Job not found."}`, false},
		{"Accepted", 202, `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := routeMissing(tt.status, []byte(tt.body)); got != tt.want {
				t.Errorf("routeMissing(%d, %s) = %v, want %v", tt.status, tt.body, got, tt.want)
			}
		})
	}
}

func TestClientSubmitBatch(t *testing.T) {
	t.Parallel()
	t.Run("ReportsAMissingRouteAsErrRouteMissing", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"code":"not_found","message":"No such route."}`))
		}))
		defer srv.Close()
		c := NewClient(srv.URL, 2)
		defer c.Close()
		_, err := c.SubmitBatch(context.Background(), "t", BatchBody{Candidates: []BatchCandidate{{CandidateID: "a"}}})
		if !errors.Is(err, ErrRouteMissing) {
			t.Errorf("err = %v, want ErrRouteMissing", err)
		}
	})
	t.Run("SendsTheTenantAndDecodesTheBatch", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Tenant-ID") != "t1" || r.URL.Path != "/v1/enrich/batch" {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"batchId":"b1","jobs":[{"jobId":"j1","status":"queued"}]}`))
		}))
		defer srv.Close()
		c := NewClient(srv.URL, 2)
		defer c.Close()
		b, err := c.SubmitBatch(context.Background(), "t1", BatchBody{Candidates: []BatchCandidate{{CandidateID: "a"}}})
		if err != nil {
			t.Fatal(err)
		}
		if b.BatchID != "b1" || len(b.Jobs) != 1 || b.Jobs[0].JobID != "j1" {
			t.Errorf("batch %+v", b)
		}
	})
}
