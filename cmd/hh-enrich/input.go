package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// candidateIDPattern is the API's (router/openapi.yaml, SubmitRequest.candidateId):
// checked here so that one bad line is reported with its line number before anything
// is sent, instead of the service refusing a whole chunk.
var candidateIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

// maxLineBytes bounds one input line: a candidate document with a long résumé.
const maxLineBytes = 16 << 20

// maxCandidateBytes is the most one candidate may take in a batch request: the
// service's limit of a single submission (router.MaxBodyBytesDefault). Checked
// here, so that the line is named before anything is sent; the service would
// refuse its whole chunk, on every rerun.
const maxCandidateBytes = 1 << 20

// apiShapeFields are the keys of an input line in the API's shape.
var apiShapeFields = []string{"candidateId", "payload", "idempotencyKey"}

// idempotencyKeyPrefix marks the keys this tool derives, so they are told apart
// from a client's own in the service's records.
const idempotencyKeyPrefix = "hh-enrich-cli:"

// inputCandidate is one line of the input, ready to submit.
type inputCandidate struct {
	Line int // 1-based line number in the input file
	BatchCandidate
}

// parseCandidateLine reads one input line. Two shapes are accepted:
//
//   - the API's: {"candidateId": "...", "payload": {...}, "idempotencyKey": "..."}
//     (payload and idempotencyKey optional);
//   - a candidate document as Firestore holds it (the data set's shape):
//     {"candidate_id": "...", "name": ..., "resume_text": ..., ...}, sent whole as
//     the payload.
//
// The payload is sent in canonical form (keys sorted, numbers as written), and
// without an idempotencyKey of its own the candidate gets one derived from the
// tenant, the candidate id and that payload: the same line submitted again, by a
// rerun after an interruption, dedupes to the same job.
func parseCandidateLine(tenant string, line []byte) (BatchCandidate, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(line, &doc); err != nil {
		return BatchCandidate{}, fmt.Errorf("not a JSON object: %w", err)
	}
	c, err := candidateOf(doc, line)
	if err != nil {
		return BatchCandidate{}, err
	}
	if !candidateIDPattern.MatchString(c.CandidateID) {
		return BatchCandidate{}, fmt.Errorf("candidate id %q: want 1-128 of A-Z a-z 0-9 . _ : @ -, starting with a letter or digit", c.CandidateID)
	}
	if c.Payload, err = canonicalJSON(c.Payload); err != nil {
		return BatchCandidate{}, fmt.Errorf("payload: %w", err)
	}
	if c.IdempotencyKey == "" {
		c.IdempotencyKey = idempotencyKey(tenant, c.CandidateID, c.Payload)
	} else if n := utf8.RuneCountInString(c.IdempotencyKey); n < 8 || n > 128 {
		return BatchCandidate{}, fmt.Errorf("idempotencyKey: want 8-128 characters, got %d", n)
	}
	if encoded, _ := json.Marshal(c); len(encoded) > maxCandidateBytes {
		return BatchCandidate{}, fmt.Errorf("the candidate takes %d bytes once encoded; the service takes at most %d a candidate: shorten it or leave it out", len(encoded), maxCandidateBytes)
	}
	return c, nil
}

// candidateOf picks the candidate id, payload and key out of either input shape.
func candidateOf(doc map[string]json.RawMessage, line []byte) (BatchCandidate, error) {
	var c BatchCandidate
	if raw, ok := doc["candidateId"]; ok {
		// Any other key would be dropped on the way (a document's fields beside
		// candidateId, a "force"): the line would not mean what it says.
		for key := range doc {
			if !slices.Contains(apiShapeFields, key) {
				return c, fmt.Errorf("unknown field %q in a line of the API's shape (%s); a candidate document goes whole, with \"candidate_id\" and no \"candidateId\"",
					key, strings.Join(apiShapeFields, ", "))
			}
		}
		if err := json.Unmarshal(raw, &c.CandidateID); err != nil {
			return c, errors.New(`"candidateId" must be a string`)
		}
		if raw, ok := doc["idempotencyKey"]; ok {
			if err := json.Unmarshal(raw, &c.IdempotencyKey); err != nil {
				return c, errors.New(`"idempotencyKey" must be a string`)
			}
		}
		c.Payload = doc["payload"]
		if len(c.Payload) > 0 && c.Payload[0] != '{' && !bytes.Equal(c.Payload, []byte("null")) {
			return c, errors.New(`"payload" must be an object`)
		}
		return c, nil
	}
	if raw, ok := doc["candidate_id"]; ok {
		if err := json.Unmarshal(raw, &c.CandidateID); err != nil {
			return c, errors.New(`"candidate_id" must be a string`)
		}
		c.Payload = line
		return c, nil
	}
	return c, errors.New(`no "candidateId" (API shape) or "candidate_id" (candidate document)`)
}

// canonicalJSON re-encodes raw with object keys sorted and numbers kept as
// written, so equal documents hash equally whatever their key order. null and an
// absent payload both become absent.
func canonicalJSON(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// idempotencyKey is "hh-enrich-cli:" and the first 32 hex digits of
// sha256(tenant, candidate id, canonical payload).
func idempotencyKey(tenant, candidateID string, payload []byte) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(tenant), []byte(candidateID), payload} {
		// Length-prefixed, so that no two different triples hash the same input.
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	return idempotencyKeyPrefix + hex.EncodeToString(h.Sum(nil))[:32]
}

var utf8BOM = []byte("\xef\xbb\xbf")

// scanLines calls fn with each non-blank line of r and its 1-based number; fn's
// error stops the scan. Lines may be up to maxLineBytes long.
func scanLines(r io.Reader, fn func(n int, line []byte) error) error {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64<<10), maxLineBytes)
	for n := 1; scanner.Scan(); n++ {
		line := scanner.Bytes()
		if n == 1 {
			line = bytes.TrimPrefix(line, utf8BOM) // editors on Windows start files with one
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	if err := scanner.Err(); err != nil {
		return fmt.Errorf("reading the input: %w", err)
	}
	return nil
}
