package router

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func batchBody(n int) string {
	var items []string
	for i := range n {
		items = append(items, fmt.Sprintf(`{"candidateId":"cand-%d","payload":{"resume_text":"Go developer %d"}}`, i, i))
	}
	return `{"candidates":[` + strings.Join(items, ",") + `]}`
}

func TestBatch(t *testing.T) {
	t.Parallel()

	t.Run("SubmitsEveryCandidateAndReadsTheBatchBack", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, batchBody(3))
		jobs, _ := resp.body["jobs"].([]any)
		if resp.status != http.StatusAccepted || len(jobs) != 3 || resp.body["batchId"] == "" {
			t.Fatalf("submit: %d %v", resp.status, resp.body)
		}
		if jobs[2].(map[string]any)["candidateId"] != "cand-2" {
			t.Fatalf("jobs out of request order: %v", jobs)
		}
		got := b.request(t, http.MethodGet, "/v1/enrich/batch/"+resp.body["batchId"].(string), jsonTenant, "")
		counts, _ := got.body["counts"].(map[string]any)
		if got.status != http.StatusOK || got.body["total"] != 3.0 || counts["queued"] != 3.0 || counts["completed"] != 0.0 {
			t.Fatalf("get: %d %v", got.status, got.body)
		}
	})

	t.Run("AnotherTenantsBatchIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, batchBody(1))
		other := b.request(t, http.MethodGet, "/v1/enrich/batch/"+resp.body["batchId"].(string), withHeader(jsonTenant, "X-Tenant-ID", "tenant-beta"), "")
		if other.status != http.StatusNotFound || other.body["code"] != CodeNotFound {
			t.Fatalf("other tenant: %d %v", other.status, other.body)
		}
	})

	t.Run("OneInvalidCandidateRefusesTheBatchAndNamesIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		body := `{"candidates":[{"candidateId":"ok-1"},{"candidateId":"a/b"}]}`
		resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, body)
		details, _ := resp.body["details"].(map[string]any)
		if resp.status != http.StatusBadRequest || details["field"] != "candidates[1].candidateId" || details["index"] != 1.0 {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
	})

	t.Run("RejectsEmptyOversizedAndMalformedBatches", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for name, body := range map[string]string{
			"Empty":        `{"candidates":[]}`,
			"Missing":      `{"force":true}`,
			"TooMany":      batchBody(1001),
			"UnknownField": `{"candidates":[{"candidateId":"c1","priority":1}]}`,
			"NotAnArray":   `{"candidates":{"candidateId":"c1"}}`,
			// encoding/json alone would take the first as c2 and the last as one batch of both.
			"CandidateFieldInAnotherCase": `{"candidates":[{"candidateId":"c1","CandidateID":"c2"}]}`,
			"CandidateFieldTwice":         `{"candidates":[{"candidateId":"c1","candidateId":"c2"}]}`,
			"CandidatesTwice":             `{"candidates":[{"candidateId":"c1"}],"candidates":[{"candidateId":"c2"}]}`,
			"ForceTwice":                  `{"candidates":[{"candidateId":"c1"}],"force":false,"force":true}`,
		} {
			resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, body)
			if resp.status != http.StatusBadRequest || resp.body["code"] == nil || resp.body["message"] == "" {
				t.Errorf("%s: got %d %v, want 400 with a code and a message", name, resp.status, resp.body)
			}
		}
	})

	// A candidate's own fault names the candidate and, where there is one, its field.
	t.Run("ACandidatesFaultNamesItAndItsField", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for body, want := range map[string]string{
			`{"candidates":[{"candidateId":"c0"},{"candidateId":"c1","priority":1}]}`:   "candidates[1].priority",
			`{"candidates":[{"candidateId":"c1","CandidateID":"c2"}]}`:                  "candidates[0].CandidateID",
			`{"candidates":[{"candidateId":"c1","candidateId":"c2"}]}`:                  "candidates[0].candidateId",
			`{"candidates":[{"candidateId":"c0"},{"candidateId":"c1","payload":{}},1]}`: "candidates[2]",
			`{"candidates":[{"candidateId":"c0"},{"candidateId":42}]}`:                  "candidates[1].candidateId",
		} {
			resp := b.request(t, http.MethodPost, "/v1/enrich/batch", jsonTenant, body)
			details, _ := resp.body["details"].(map[string]any)
			if resp.status != http.StatusBadRequest || resp.body["code"] != CodeInvalidField || details["field"] != want ||
				!strings.HasPrefix(resp.body["message"].(string), "Candidate ") {
				t.Errorf("%s: got %d %v, want 400 invalid_field naming %s", body, resp.status, resp.body, want)
			}
		}
	})
}
