package router

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzEachKeyAgreesWithEncodingJSON: on every valid JSON object, eachKey yields
// the keys encoding/json's tokenizer reads, in order.
func FuzzEachKeyAgreesWithEncodingJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"a":1}`, ` { "a" : "x,}\"]" , "b":[1,{"c":"}"}], "d":null,"e":true,"f":-1.5e3 } `,
		`{"\u0061":1,"a\"b":{"x":{"y":[[]]}}}`, `{"candidateId":"c1","CandidateId":"c2"}`,
		`{"payload":{"a":[1,{"b":null}]},"candidateId":"c1"}`, "{\n\t\"a\":\r\n{}\n}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var object map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &object) != nil {
			return // eachKey is only asked about objects that decode
		}
		var got []string
		eachKey([]byte(raw), func(key string) bool {
			got = append(got, key)
			return true
		})
		if want := tokenKeys(t, raw); !slices.Equal(got, want) {
			t.Fatalf("eachKey(%q) = %q, want %q", raw, got, want)
		}
	})
}

// tokenKeys reads raw's top-level keys with encoding/json's tokenizer.
func tokenKeys(t *testing.T, raw string) []string {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skipped json.RawMessage
		if err := dec.Decode(&skipped); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
