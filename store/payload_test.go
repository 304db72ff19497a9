package store

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// referencePayload is how a submit read its payload before readPayload:
// json.Compact for the stored form, and a decode into `any` (UseNumber)
// marshalled back for the dedupe source. readPayload must agree with it
// byte for byte, or dedupe keys written before it would stop matching.
func referencePayload(payload []byte) (compact []byte, canonical []byte, err error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, nil, err
	}
	var decoded any
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&decoded); err != nil {
		return nil, nil, err
	}
	canonical, err = json.Marshal(decoded)
	return buf.Bytes(), canonical, err
}

// referenceDedupeHash is the dedupe hash as a submit made it before dedupeHash.
func referenceDedupeHash(t testing.TB, req SubmitRequest) string {
	source := "idem:" + req.IdempotencyKey
	if req.IdempotencyKey == "" {
		_, canonical, err := referencePayload(req.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var decoded any
		if canonical != nil {
			dec := json.NewDecoder(bytes.NewReader(canonical))
			dec.UseNumber()
			if err := dec.Decode(&decoded); err != nil {
				t.Fatal(err)
			}
		}
		b, err := json.Marshal(map[string]any{"candidateId": req.CandidateID, "payload": decoded})
		if err != nil {
			t.Fatal(err)
		}
		source = string(b)
	}
	sum := sha1.Sum([]byte(source))
	return hex.EncodeToString(sum[:])
}

// payloadSeeds are payloads that take every path of the reader: escapes of
// each kind, characters encoding/json escapes, invalid UTF-8, duplicate and
// escaped keys, nesting, numbers, whitespace, and invalid JSON of each kind.
var payloadSeeds = []string{
	``, `null`, ` null `, `{}`, `[]`, `{ }`, `[ ]`, `0`, `-0.5e+10`, `1E3`, `10000000000000001`, `"x"`, `true`, `false`,
	`{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":{"z":1,"y":[3,{"d":4,"c":5}]},"A":null}`,
	"{\n  \"name\": \"Hana Sato\",\t\"tags\": [ \"go\" , \"sql\" ]\r\n}",
	`{"s":"line\nbreak \"quoted\" back\\slash tab\t"}`, `{"s":"\b\f"}`, `{"s":"a\/b"}`,
	`{"s":"\u00e9\u0041\u003c"}`, `{"s":"\ud83d\ude00 \ud800 x"}`, `{"s":"<a href=\"x\">&amp;</a>"}`,
	"{\"s\":\"Zürich — • naïve\"}", "{\"s\":\"\u2028\u2029\"}", "{\"s\":\"bad \xff utf8\"}", "{\"k\xfe\":1}",
	`{"\u0061":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"é":1,"e":2,"z":3,"Z":4}`, `{"x":"\u007f"}`,
	`[1,2,[3,[4,[]]],{}]`, `[[[[[[[[[[1]]]]]]]]]]`,
	// invalid
	`{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":1 "b":2}`, `{a:1}`, `"unterminated`, `"bad \x escape"`,
	`"\u12"`, "\"ctl \x01\"", `01`, `-`, `1.`, `1e`, `.5`, `+1`, `tru`, `nul`, `{"a":1}}`, `1 2`, `[`, `{"a":1`, `NaN`,
}

func FuzzPayloadReaderMatchesEncodingJSON(f *testing.F) {
	for _, s := range payloadSeeds {
		f.Add([]byte(s))
	}
	for _, doc := range candidateDocuments(f, 20) {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		wantCompact, wantCanonical, wantErr := referencePayload(payload)
		compact, canonical, err := readPayload(payload)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("readPayload(%q) error %v, encoding/json's %v", payload, err, wantErr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(compact, wantCompact) {
			t.Errorf("readPayload(%q) compact\n %q, json.Compact's\n %q", payload, compact, wantCompact)
		}
		if !bytes.Equal(canonical, wantCanonical) {
			t.Errorf("readPayload(%q) canonical\n %q, encoding/json's\n %q", payload, canonical, wantCanonical)
		}
	})
}

func TestPayloadNestedBeyondEncodingJSONsLimitIsRefused(t *testing.T) {
	deep := strings.Repeat("[", maxPayloadDepth) + strings.Repeat("]", maxPayloadDepth)
	if _, _, err := readPayload([]byte(deep)); err != nil {
		t.Errorf("payload nested %d deep: %v, want it accepted as encoding/json does", maxPayloadDepth, err)
	}
	deeper := "[" + deep + "]"
	if _, _, err := readPayload([]byte(deeper)); err == nil {
		t.Errorf("payload nested %d deep accepted, want encoding/json's max depth error", maxPayloadDepth+1)
	}
	if _, _, err := referencePayload([]byte(deeper)); err == nil {
		t.Errorf("encoding/json accepted %d deep: the limit moved", maxPayloadDepth+1)
	}
}

func TestDedupeHashIsUnchangedForEveryCandidateOfTheDataSet(t *testing.T) {
	docs := candidateDocuments(t, 0)
	reqs := []SubmitRequest{
		{CandidateID: "cand-1"}, {CandidateID: "cand-<&>\u2028é"}, {CandidateID: "bad-\xff", Payload: json.RawMessage(`{"a":1}`)},
		{CandidateID: "cand-1", IdempotencyKey: "key-1", Payload: json.RawMessage(`{"a":1}`)},
	}
	for i, doc := range docs {
		reqs = append(reqs, SubmitRequest{CandidateID: "cand-" + string(rune('a'+i%26)), Payload: doc})
	}
	for _, req := range reqs {
		_, canonical, err := readPayload(req.Payload)
		if err != nil {
			t.Fatalf("readPayload(%.60q): %v", req.Payload, err)
		}
		if got, want := dedupeHash(req, canonical), referenceDedupeHash(t, req); got != want {
			t.Errorf("dedupeHash(%q, %.60q) = %s, before %s", req.CandidateID, req.Payload, got, want)
		}
	}
}

// candidateDocuments reads up to n (0: all) documents of the repository's
// data set (cmd/hh-enrich-data), as clients send them.
func candidateDocuments(t testing.TB, n int) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "cmd", "hh-enrich-data", "testdata", "candidates.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs [][]byte
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() && (n == 0 || len(docs) < n) {
		docs = append(docs, append([]byte(nil), scanner.Bytes()...))
	}
	if err := scanner.Err(); err != nil || len(docs) == 0 {
		t.Fatalf("data set: %d documents, %v", len(docs), err)
	}
	return docs
}
