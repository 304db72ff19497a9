package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
)

// badInput is one malformed request.
type badInput struct {
	method, path string
	header       http.Header
	body         []byte
}

// validBodies are well-formed submissions the mutations start from.
var validBodies = []string{
	`{"candidateId":"c1","payload":{"name":"N","resume_text":"Go engineer"}}`,
	`{"candidateId":"c2","async":false,"force":true,"idempotencyKey":"key-12345","payload":{"a":[1,{"b":null}]}}`,
	`{"candidates":[{"candidateId":"b1","payload":{"resume_text":"x"}},{"candidateId":"b2"}],"force":false}`,
}

// oddValues are JSON values of the wrong type, size or content for any field.
var oddValues = []string{
	`null`, `true`, `-1`, `1e999`, `0.5`, `""`, `"a/b"`, `"../../etc/passwd"`, `"\u0000"`, `"\ud800"`,
	`"` + strings.Repeat("x", 300) + `"`, `[]`, `{}`, `[[[[[[[[[[]]]]]]]]]]`, `"é€😀"`, `"<script>"`,
	`{"$ne":null}`, `"c1\r\nX-Injected: 1"`,
}

// badInputs makes n malformed requests from rng: mutated valid bodies, fields of
// the wrong type, random bytes, wrong routes, methods and headers. canary is
// candidate data that some bodies carry, for the log check.
func badInputs(rng *rand.Rand, n int, canary string) []badInput {
	out := make([]badInput, 0, n)
	for len(out) < n {
		in := badInput{method: http.MethodPost, path: "/v1/enrich/profile", header: http.Header{
			"Content-Type": {"application/json"}, "X-Tenant-Id": {"tenant-alpha"}}}
		switch rng.IntN(6) {
		case 0:
			in.body = mutate(rng, []byte(validBodies[rng.IntN(len(validBodies))]))
		case 1:
			field := []string{"candidateId", "payload", "async", "force", "idempotencyKey", "candidates", "extra"}[rng.IntN(7)]
			in.body = []byte(fmt.Sprintf(`{"candidateId":"c1",%q:%s}`, field, oddValues[rng.IntN(len(oddValues))]))
		case 2:
			in.body = randomBytes(rng, rng.IntN(512))
		case 3:
			in.body = []byte(`{"candidateId":"c1","payload":{"name":` + fmt.Sprintf("%q", canary) + `,"resume_text":`)
		case 4:
			in.method = []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodPost}[rng.IntN(5)]
			in.path = []string{"/v1/enrich/status/" + url.PathEscape(string(randomBytes(rng, 8))), "/v1/enrich/batch/%00", "/v1/enrich/batch",
				"/v1/enrich/status/" + strings.Repeat("9", 2000), "/v1/enrich//profile", "/admin/jobs/x/requeue"}[rng.IntN(6)]
			in.body = mutate(rng, []byte(validBodies[rng.IntN(len(validBodies))]))
		default:
			in.header.Set([]string{"X-Tenant-Id", "Content-Type", "X-Request-Id", "Authorization"}[rng.IntN(4)],
				[]string{"", "a b", strings.Repeat("t", 300), "text/plain", "tenant/../x", "Bearer x.y.z"}[rng.IntN(6)])
			in.body = []byte(validBodies[rng.IntN(2)])
		}
		out = append(out, in)
	}
	return out
}

// structural are the bytes whose insertion breaks JSON in interesting ways.
const structural = "{}[]\",:\\0e-"

// mutate flips, inserts, deletes bytes of body or cuts it short.
func mutate(rng *rand.Rand, body []byte) []byte {
	b := append([]byte(nil), body...)
	for range 1 + rng.IntN(4) {
		if len(b) == 0 {
			break
		}
		i := rng.IntN(len(b))
		switch rng.IntN(4) {
		case 0:
			b[i] = byte(rng.IntN(256))
		case 1:
			b = append(b[:i], append([]byte{structural[rng.IntN(len(structural))]}, b[i:]...)...)
		case 2:
			b = append(b[:i], b[i+1:]...)
		default:
			b = b[:i]
		}
	}
	return b
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return b
}
