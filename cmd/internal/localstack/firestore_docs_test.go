package localstack

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFirestoreValues(t *testing.T) {
	t.Parallel()
	t.Run("DecodeReadsWhatEncodeWrote", func(t *testing.T) {
		t.Parallel()
		fields := map[string]any{"name": "Acme", "active": true, "score": 0.5, "none": nil,
			"meta": map[string]any{"processed_at": "2026-01-02T03:04:05Z"}, "tags": []any{"a", "b"}}
		raw, err := json.Marshal(encodeFields(fields))
		if err != nil {
			t.Fatal(err)
		}
		var encoded map[string]json.RawMessage
		if err := json.Unmarshal(raw, &encoded); err != nil {
			t.Fatal(err)
		}
		got := map[string]any{}
		for name, v := range encoded {
			got[name] = decodeValue(v)
		}
		if diff := cmp.Diff(fields, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
	t.Run("TimestampsAndIntegersDecodeAsStringsAndNumbers", func(t *testing.T) {
		t.Parallel()
		if got := decodeValue(json.RawMessage(`{"timestampValue":"2026-01-02T03:04:05.123Z"}`)); got != "2026-01-02T03:04:05.123Z" {
			t.Errorf("timestamp = %v", got)
		}
		if got := decodeValue(json.RawMessage(`{"integerValue":"42"}`)); got != 42.0 {
			t.Errorf("integer = %v", got)
		}
	})
}
