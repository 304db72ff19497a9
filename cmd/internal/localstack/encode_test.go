package localstack

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEncodeBody checks the hand-written encoders against encoding/json.
func TestEncodeBody(t *testing.T) {
	t.Parallel()
	wait := false
	doc := json.RawMessage(`{"name":"Ada \"the\" first","resume_text":"Go\nSQL"}`)
	bodies := map[string]any{
		"SubmitWithEverything": SubmitBody{CandidateID: "c-1", Async: &wait, IdempotencyKey: "key-12345", Force: true, Payload: doc},
		"SubmitBare":           SubmitBody{CandidateID: `odd"id`},
		"Batch": BatchBody{Force: true, Candidates: []BatchCandidate{
			{CandidateID: "a", Payload: doc}, {CandidateID: "b", IdempotencyKey: "key-67890"},
		}},
		"EmptyBatch": BatchBody{Candidates: []BatchCandidate{}},
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := encodeBody(body)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, got)
			}
			if err := json.Unmarshal(want, &wantV); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantV, gotV); diff != "" {
				t.Errorf("encodeBody (-json.Marshal +ours):\n%s", diff)
			}
		})
	}
}
