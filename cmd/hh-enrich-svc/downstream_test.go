package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/headhunter/hh-enrich-svc/store/firestore/firestoretest"
)

// emulatorDocs reads and writes documents through the Firestore emulator's REST
// API, so tests need no process-wide FIRESTORE_EMULATOR_HOST.
type emulatorDocs struct {
	t       *testing.T
	host    string
	project string
}

func (d emulatorDocs) url(id string) string {
	if !strings.Contains(id, "/") {
		id = "candidates/" + id
	}
	return fmt.Sprintf("http://%s/v1/projects/%s/databases/(default)/documents/%s", d.host, d.project, id)
}

// put writes a document of string fields; an id without a collection is a candidate.
func (d emulatorDocs) put(id string, fields map[string]string) {
	d.t.Helper()
	doc := map[string]any{"fields": map[string]any{}}
	for k, v := range fields {
		doc["fields"].(map[string]any)[k] = map[string]string{"stringValue": v}
	}
	raw, _ := json.Marshal(doc)
	req, _ := http.NewRequest(http.MethodPatch, d.url(id), bytes.NewReader(raw))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		d.t.Fatalf("seeding %s: %d %s", id, resp.StatusCode, body)
	}
}

// get returns the document's fields in the emulator's typed JSON form.
func (d emulatorDocs) get(id string) map[string]any {
	d.t.Helper()
	resp, err := http.Get(d.url(id))
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Fields map[string]any `json:"fields"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		d.t.Fatal(err)
	}
	return doc.Fields
}

// upsertRecorder stands in for hh-embed-svc.
type upsertRecorder struct {
	mu      sync.Mutex
	bodies  []map[string]any
	headers []http.Header
}

func (u *upsertRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	u.mu.Lock()
	u.bodies = append(u.bodies, body)
	u.headers = append(u.headers, r.Header.Clone())
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"vectorId":"3f1c","dimensions":768}`))
}

func TestServiceDownstream(t *testing.T) {
	t.Parallel()
	host := firestoretest.Start(t)
	docs := emulatorDocs{t: t, host: host, project: "e2e-downstream"}
	docs.put("organizations/tenant-alpha", map[string]string{"name": "Alpha", "status": "active"})
	docs.put("organizations/tenant-gone", map[string]string{"name": "Gone", "status": "suspended"})
	docs.put("tenant-alpha_cand-fs", map[string]string{
		"name":               "Ada Lovelace",
		"org_id":             "tenant-alpha",
		"resume_text":        "Senior Backend Engineer, Stripe (2019 - present)\n- Led a team of 6 engineers. Go, PostgreSQL, Kafka.",
		"recruiter_comments": "Strong technical depth.",
	})
	recorder := &upsertRecorder{}
	embedSvc := httptest.NewServer(recorder)
	defer embedSvc.Close()

	s := startService(t, "FIREBASE_PROJECT_ID="+docs.project, "FIRESTORE_EMULATOR_HOST="+host,
		"ENRICH_EMBED_ENABLED=true", "ENRICH_EMBED_BASE_URL="+embedSvc.URL)
	for tenant, want := range map[string]int{"tenant-gone": http.StatusNotFound, "tenant-unknown": http.StatusNotFound} {
		if resp := s.do(http.MethodPost, "/v1/enrich/profile", tenant, map[string]any{"candidateId": "x"}); resp.Status != want {
			t.Fatalf("%s: %d %v, want %d (organizations/{id} must exist and be active)", tenant, resp.Status, resp.Body, want)
		}
	}
	job := s.waitForTerminal("tenant-alpha", s.submit("tenant-alpha", map[string]any{"candidateId": "cand-fs"}))
	if job["status"] != "completed" {
		t.Fatalf("job = %v", job)
	}
	if result := job["result"].(map[string]any); result["embeddingUpserted"] != true {
		t.Fatalf("result = %v, want the embedding upserted", result)
	}

	fields := docs.get("tenant-alpha_cand-fs")
	for _, f := range []string{"resume_analysis", "recruiter_insights", "overall_score", "processing_metadata", "enriched_at", "updated_at"} {
		if fields[f] == nil {
			t.Errorf("the document lacks %s after the job: %v", f, fields)
		}
	}
	if fields["status"].(map[string]any)["stringValue"] != "enriched" || fields["name"].(map[string]any)["stringValue"] != "Ada Lovelace" {
		t.Errorf("status %v, name %v", fields["status"], fields["name"])
	}
	if _, ok := fields["updated_at"].(map[string]any)["timestampValue"]; !ok {
		t.Errorf("updated_at = %v, want a server timestamp", fields["updated_at"])
	}

	recorder.mu.Lock()
	defer recorder.mu.Unlock()
	if len(recorder.bodies) != 1 {
		t.Fatalf("embed service got %d upserts, want 1", len(recorder.bodies))
	}
	body, header := recorder.bodies[0], recorder.headers[0]
	text, _ := body["text"].(string)
	if body["entityId"] != "cand-fs" || header.Get("X-Tenant-ID") != "tenant-alpha" ||
		!strings.Contains(text, "Go") || len(text) > 6000 {
		t.Fatalf("upsert = %v, tenant header %q", body, header.Get("X-Tenant-ID"))
	}
	if meta, _ := body["metadata"].(map[string]any); meta["tenantId"] != "tenant-alpha" {
		t.Fatalf("upsert metadata = %v", body["metadata"])
	}
}
