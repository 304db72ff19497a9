package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/pyplugin/enrichv1"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/store/firestore"
)

// objectCorpus are JSON texts splitObject must split as encoding/json does.
var objectCorpus = []string{
	`{}`,
	` { } `,
	`{"a":1}`,
	`{"a":1,"b":"two","c":null,"d":true,"e":false,"f":-1.5e+3}`,
	"{\n  \"a\" : [ 1 , { \"b\" : \"}]\" } ] ,\t\"c\":{\"d\":{\"e\":[]}}\r\n}",
	`{"quote\"key":"va\"l\\ue","slash\\":"\\","brace}":"{[","uni\u00e9":"\u00fc"}`,
	`{"dup":1,"dup":2}`,
	`{"s":"a,b}c]d"}`,
	`{"n":0,"m":[[],[[]],{}]}`,
	`{"html":"<script>&</script>","ü":"ß"}`,
}

func TestSplitObjectSplitsAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, text := range objectCorpus {
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		got, err := objectMembers([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d members, want %d", text, len(got), len(want))
		}
		for k, v := range want {
			var compact bytes.Buffer
			_ = json.Compact(&compact, v)
			var gotCompact bytes.Buffer
			if err := json.Compact(&gotCompact, got[k]); err != nil || gotCompact.String() != compact.String() {
				t.Errorf("%s: member %q = %q, want %q", text, k, got[k], v)
			}
		}
	}
}

func TestObjectMembersRefusesWhatIsNotAnObject(t *testing.T) {
	t.Parallel()
	for _, text := range []string{``, `{`, `{"a":}`, `{"a":1,}`, `[1,2]`, `"text"`, `12`, `{"a":tru}`, `{"a":1}x`} {
		if m, err := objectMembers([]byte(text)); err == nil {
			t.Errorf("%q split into %v", text, m)
		}
	}
	if m, err := objectMembers([]byte(" null ")); err != nil || m != nil {
		t.Errorf("null: %v, %v; want no members and no error", m, err)
	}
	// Invalid UTF-8 comes out as encoding/json's round trip leaves it: replaced.
	m, err := objectMembers([]byte("{\"a\":\"x\xffy\"}"))
	if err != nil || string(m["a"]) != "\"x\uFFFDy\"" {
		t.Errorf("invalid UTF-8: %q, %v", m["a"], err)
	}
}

func FuzzSplitObject(f *testing.F) {
	for _, text := range objectCorpus {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var want map[string]any
		wantErr := json.Unmarshal([]byte(text), &want)
		m, err := objectMembers([]byte(text))
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: err %v, encoding/json's %v", text, err, wantErr)
		}
		if err != nil {
			return
		}
		got, err := m.decode()
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = map[string]any{} // null: no members
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded %v, want %v", text, got, want)
		}
		if back := decodeJSON(t, m.encode()); !reflect.DeepEqual(back, want) {
			t.Fatalf("%q: encoded back as %v", text, back)
		}
	})
}

func decodeJSON(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return v
}

// The map round trip the result was made by before the snapshot passed the
// candidate's and the plugin's JSON through: kept here to prove the shape.

func mapRoundTripSnapshot(t *testing.T, job *store.Job, resp *enrichv1.EnrichResponse, at time.Time) map[string]any {
	t.Helper()
	candidate := map[string]any{}
	if err := json.Unmarshal(job.Payload, &candidate); err != nil {
		t.Fatal(err)
	}
	candidate["candidate_id"] = job.CandidateID
	candidate["org_id"] = job.TenantID
	var enrichment map[string]any
	if err := json.Unmarshal(resp.GetEnrichmentJson(), &enrichment); err != nil {
		t.Fatal(err)
	}
	snapshot := map[string]any{}
	for k, v := range candidate {
		snapshot[k] = v
	}
	for k, v := range enrichment {
		snapshot[k] = v
	}
	stamp := at.UTC().Format(time.RFC3339Nano)
	snapshot["processing_metadata"] = map[string]any{
		"processed_at": stamp, "model_version": resp.GetModelVersion(), "prompt_version": resp.GetPromptVersion(),
		"enricher": resp.GetEnricher(), "processing_time": resp.GetProcessingSeconds(), "token_usage": tokenUsage(resp),
	}
	snapshot["status"] = firestore.StatusEnriched
	snapshot["enriched_at"] = stamp
	snapshot["updated_at"] = stamp
	return snapshot
}

// topLevelKeys are the keys of a JSON object in the order they are written.
func topLevelKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestResultJSONKeepsItsShape(t *testing.T) {
	t.Parallel()
	leases, rules := completionInputs(t, 200)
	// An enrichment that writes over candidate fields and over the stamped ones,
	// with what encoding/json writes differently (escapes, number forms), and
	// token usage, as the LLM path reports it.
	overlapping := &enrichv1.EnrichResponse{
		EnrichmentJson: []byte(`{"resume_analysis":{"b":1.0,"a":[1e2,"\u00e9<&>"]},"recruiter_insights":{},` +
			`"overall_score":0.5,"name":"Renamed","status":"pending","headline":"Go \u2028 engineer"}`),
		ModelVersion: "m", PromptVersion: "p", Enricher: "together", ProcessingSeconds: 1.25,
		TokenUsage: &enrichv1.TokenUsage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15},
	}
	odd := &store.Lease{Job: &store.Job{ID: "job", TenantID: "tenant-a", CandidateID: "cand-odd", Attempts: 2,
		Payload: []byte(`{"candidate_id":"spoofed","big":12345678901234567,"html":"<b>&amp;</b>","nested":{"z":1,"a":[true,null]},"ünï":"ok"}`)}}
	at := time.Date(2026, 12, 5, 8, 0, 0, 123456789, time.UTC)
	r := &Runner{cfg: Config{Embedder: &textEmbedder{}, SkipCheckpoint: true, Now: func() time.Time { return at }}.withDefaults(),
		log: hclog.NewNullLogger()}
	for i, lease := range append(leases, odd) {
		for _, resp := range []*enrichv1.EnrichResponse{rules, overlapping} {
			a, err := r.prepare(context.Background(), lease)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.checkpoint(context.Background(), a, resp); err != nil {
				t.Fatal(err)
			}
			result, err := r.finish(context.Background(), a, resp)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeResult(result)
			if err != nil {
				t.Fatal(err)
			}
			// The same result with the snapshot a map, as it was made before.
			want, err := json.Marshal(legacyResult(t, result, mapRoundTripSnapshot(t, lease.Job, resp, at)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(decodeJSON(t, want), decodeJSON(t, got)); diff != "" {
				t.Fatalf("candidate %d: result JSON differs from the map round trip's (-before +after):\n%s", i, diff)
			}
			// Field order too: the result's, then the snapshot's (sorted, as a map's).
			if !slices.Equal(topLevelKeys(t, got), topLevelKeys(t, want)) {
				t.Fatalf("result keys %v, before %v", topLevelKeys(t, got), topLevelKeys(t, want))
			}
			var gotSnap, wantSnap struct{ CandidateSnapshot json.RawMessage }
			_ = json.Unmarshal(got, &gotSnap)
			_ = json.Unmarshal(want, &wantSnap)
			if !slices.Equal(topLevelKeys(t, gotSnap.CandidateSnapshot), topLevelKeys(t, wantSnap.CandidateSnapshot)) {
				t.Fatalf("snapshot keys %v, before %v", topLevelKeys(t, gotSnap.CandidateSnapshot), topLevelKeys(t, wantSnap.CandidateSnapshot))
			}
		}
	}
}

// legacyResult is result with its snapshot a map, as Result was encoded before.
func legacyResult(t *testing.T, result *Result, snapshot map[string]any) any {
	t.Helper()
	// Result's fields in Result's order, the snapshot's type a map.
	v := reflect.ValueOf(*result)
	fields := make([]reflect.StructField, 0, v.NumField())
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Name == "CandidateSnapshot" {
			f.Type = reflect.TypeFor[map[string]any]()
		}
		fields = append(fields, f)
	}
	out := reflect.New(reflect.StructOf(fields)).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).Name == "CandidateSnapshot" {
			out.Field(i).Set(reflect.ValueOf(snapshot))
		} else {
			out.Field(i).Set(v.Field(i))
		}
	}
	return out.Interface()
}

// recordingEmbedder keeps the document and text of the last upsert.
type recordingEmbedder struct {
	doc  map[string]any
	text string
}

func (e *recordingEmbedder) Upsert(_ context.Context, req embed.UpsertRequest) (embed.Outcome, error) {
	e.doc, e.text = req.Candidate, embed.SearchableText(req.Candidate)
	return embed.Outcome{Upserted: true}, nil
}

func TestEmbeddingTextDecodesOnlyWhatItReads(t *testing.T) {
	t.Parallel()
	leases, resp := completionInputs(t, 1)
	emb := &recordingEmbedder{}
	r := &Runner{cfg: Config{Embedder: emb, SkipCheckpoint: true}.withDefaults(), log: hclog.NewNullLogger()}
	a, err := r.prepare(context.Background(), leases[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.finish(context.Background(), a, resp); err != nil {
		t.Fatal(err)
	}
	if emb.doc["resume_analysis"] == nil || emb.doc["resume_text"] == nil || emb.doc["email"] != nil || emb.doc["status"] != nil {
		t.Errorf("the embedder got %v", emb.doc)
	}
	if !strings.Contains(emb.text, "Technical Skills: ") {
		t.Errorf("text %q", emb.text)
	}
}
