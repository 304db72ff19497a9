package main

import (
	"strings"
	"testing"
)

func TestParseCandidateLine(t *testing.T) {
	t.Parallel()
	doc := `{"candidate_id":"cand-1","name":"Ada","resume_text":"Go engineer","score":1.50}`
	parse := func(t *testing.T, tenant, line string) BatchCandidate {
		t.Helper()
		c, err := parseCandidateLine(tenant, []byte(line))
		if err != nil {
			t.Fatalf("parse %s: %v", line, err)
		}
		return c
	}

	t.Run("SendsACandidateDocumentWholeAsThePayload", func(t *testing.T) {
		c := parse(t, "tenant-a", doc)
		if c.CandidateID != "cand-1" {
			t.Errorf("candidate id %q", c.CandidateID)
		}
		// Canonical: keys sorted, the number kept as written.
		want := `{"candidate_id":"cand-1","name":"Ada","resume_text":"Go engineer","score":1.50}`
		if string(c.Payload) != want {
			t.Errorf("payload %s, want %s", c.Payload, want)
		}
	})

	t.Run("ReadsTheAPIShape", func(t *testing.T) {
		c := parse(t, "tenant-a", `{"candidateId":"c-2","payload":{"name":"Bo"},"idempotencyKey":"client-key-1"}`)
		if c.CandidateID != "c-2" || string(c.Payload) != `{"name":"Bo"}` || c.IdempotencyKey != "client-key-1" {
			t.Errorf("got %+v", c)
		}
		if c := parse(t, "tenant-a", `{"candidateId":"c-3"}`); c.Payload != nil || c.IdempotencyKey == "" {
			t.Errorf("no payload: got %+v", c)
		}
	})

	t.Run("DerivesTheSameKeyWhateverTheKeyOrder", func(t *testing.T) {
		a := parse(t, "tenant-a", `{"candidateId":"c","payload":{"x":1,"y":[2,3]}}`)
		b := parse(t, "tenant-a", `{"payload":{"y":[2,3],"x":1},"candidateId":"c"}`)
		if a.IdempotencyKey != b.IdempotencyKey {
			t.Errorf("keys differ: %s, %s", a.IdempotencyKey, b.IdempotencyKey)
		}
		if !strings.HasPrefix(a.IdempotencyKey, idempotencyKeyPrefix) || len(a.IdempotencyKey) != len(idempotencyKeyPrefix)+32 {
			t.Errorf("key %q", a.IdempotencyKey)
		}
	})

	t.Run("DerivesAnotherKeyForAnotherTenantOrPayload", func(t *testing.T) {
		base := parse(t, "tenant-a", doc).IdempotencyKey
		if parse(t, "tenant-b", doc).IdempotencyKey == base {
			t.Error("another tenant got the same key")
		}
		if parse(t, "tenant-a", strings.Replace(doc, "Ada", "Eve", 1)).IdempotencyKey == base {
			t.Error("another payload got the same key")
		}
	})

	t.Run("RefusesBadLines", func(t *testing.T) {
		for _, line := range []string{
			`not json`,
			`["a list"]`,
			`{"name":"no id"}`,
			`{"candidateId":"a/b"}`,
			`{"candidateId":7}`,
			`{"candidateId":"c","payload":"text"}`,
			`{"candidateId":"c","idempotencyKey":"short"}`,
			`{"candidate_id":""}`,
			// The API's shape with a document's fields, or a flag, beside candidateId:
			// they would be dropped on the way.
			`{"candidateId":"c","name":"Ada","resume_text":"Go"}`,
			`{"candidateId":"c","candidate_id":"c-doc","resume_text":"Go"}`,
			`{"candidateId":"c","payload":{},"force":true}`,
			// Over the service's limit of one candidate: refused before anything is sent.
			`{"candidate_id":"big","resume_text":"` + strings.Repeat("x", maxCandidateBytes) + `"}`,
		} {
			if _, err := parseCandidateLine("tenant-a", []byte(line)); err == nil {
				t.Errorf("%s: accepted", line)
			}
		}
	})
}

func TestAnIdempotencyKeyIsCountedInCharactersAsTheAPICountsIt(t *testing.T) {
	t.Parallel()
	line := `{"candidateId":"c","idempotencyKey":"` + strings.Repeat("ж", 100) + `"}` // 200 bytes
	if _, err := parseCandidateLine("tenant-a", []byte(line)); err != nil {
		t.Errorf("a key of 100 characters refused: %v", err)
	}
}

func TestScanLinesSkipsAByteOrderMark(t *testing.T) {
	t.Parallel()
	var lines []string
	err := scanLines(strings.NewReader("\xef\xbb\xbf{\"candidate_id\":\"a\"}\r\n\n{\"candidate_id\":\"b\"}"), func(_ int, line []byte) error {
		lines = append(lines, string(line))
		return nil
	})
	if err != nil || len(lines) != 2 || lines[0] != `{"candidate_id":"a"}` {
		t.Errorf("lines %q, err %v", lines, err)
	}
}

func TestParseInterspersed(t *testing.T) {
	t.Parallel()
	m := &Main{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}, Getenv: func(string) string { return "" }}
	fs := m.newFlagSet("status")
	api := m.register(fs)
	pos, err := parseInterspersed(fs, []string{"job-1", "--tenant", "t1", "--url", "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 1 || pos[0] != "job-1" || api.tenant != "t1" || api.url != "http://x" {
		t.Errorf("positional %q, tenant %q, url %q", pos, api.tenant, api.url)
	}
}
