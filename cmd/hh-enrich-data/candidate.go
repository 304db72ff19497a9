package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// field is one key of a document; documents keep their keys in a fixed order
// (encoding/json would sort a map's), so the file reads like an export.
type field struct {
	key   string
	value any
}

type document []field

// encode writes the document as one JSON object, non-ASCII as is and without
// escaping <, > and & (as most exporters write them).
func (d document) encode(buf *bytes.Buffer) error {
	buf.WriteByte('{')
	for i, f := range d {
		if i > 0 {
			buf.WriteString(", ")
		}
		if err := encodeValue(buf, f.key); err != nil {
			return err
		}
		buf.WriteString(": ")
		if err := encodeValue(buf, f.value); err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
	}
	buf.WriteByte('}')
	return nil
}

func encodeValue(buf *bytes.Buffer, v any) error {
	if d, ok := v.(document); ok {
		return d.encode(buf)
	}
	var one bytes.Buffer
	enc := json.NewEncoder(&one)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Write(bytes.TrimSuffix(one.Bytes(), []byte("\n")))
	return nil
}

// candidate is document i of the data set.
func candidate(seed uint64, i int) document {
	r := newRNG(seed, i)
	t := tracks[weighted(r, 22, 14, 16, 9, 9, 8, 5, 9, 8)]
	c := newCareer(r, t)
	name, emailLocal := personName(r)
	doc := document{
		{"candidate_id", fmt.Sprintf("cand-%05d", i)},
		{"name", name},
		{"email", emailLocal + "@" + pick(r, []string{"example.com", "example.org", "mail.example.net"})},
		{"resume_text", resume(r, c, name)},
		{"recruiter_comments", comments(r)},
		{"org_id", tenants[weighted(r, 40, 30, 20, 10)]},
		{"uploaded_at", uploadedAt(r)},
		{"status", []string{"pending_enrichment", "new", "enriched"}[weighted(r, 85, 10, 5)]},
		{"metadata", metadata(r, c)},
	}
	return withEdgeCases(r, doc)
}

// withEdgeCases blanks, nulls or drops fields the way real exports do: a few
// percent of documents have no resume, no comments, or neither.
func withEdgeCases(r *rng, doc document) document {
	switch weighted(r, 880, 30, 10, 10, 20, 20, 10, 20) {
	case 1:
		doc = doc.set("resume_text", "")
	case 2:
		doc = doc.set("resume_text", nil)
	case 3:
		doc = doc.set("resume_text", " \n\t ")
	case 4:
		doc = doc.drop("recruiter_comments")
	case 5:
		doc = doc.set("recruiter_comments", nil)
	case 6: // nothing to enrich at all
		doc = doc.set("resume_text", "").drop("recruiter_comments")
	case 7: // exported from Windows
		text, _ := doc.get("resume_text").(string)
		doc = doc.set("resume_text", strings.ReplaceAll(text, "\n", "\r\n"))
	}
	if r.chance(0.02) {
		doc = doc.set("email", "")
	}
	return doc
}

func (d document) get(key string) any {
	for _, f := range d {
		if f.key == key {
			return f.value
		}
	}
	return nil
}

func (d document) set(key string, value any) document {
	out := append(document(nil), d...)
	for i := range out {
		if out[i].key == key {
			out[i].value = value
		}
	}
	return out
}

func (d document) drop(key string) document {
	var out document
	for _, f := range d {
		if f.key != key {
			out = append(out, f)
		}
	}
	return out
}

// personName returns a display name and the local part of an email for it.
func personName(r *rng) (string, string) {
	if r.chance(0.06) {
		n := pick(r, nativeNames)
		return n[0], n[1]
	}
	given, family := pick(r, givenNames), pick(r, familyNames)
	name := given + " " + family
	local := strings.ToLower(given + "." + strings.ReplaceAll(family, " ", ""))
	if r.chance(0.8) { // most mail systems fold accents; some addresses keep them
		local = asciiFold.Replace(local)
	}
	return name, strings.ReplaceAll(local, "'", "")
}

var asciiFold = strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ö", "o", "ü", "u",
	"ø", "o", "å", "a", "ä", "a", "ã", "a", "ç", "c", "ñ", "n", "ł", "l", "ś", "s", "ź", "z", "ż", "z",
	"ō", "o", "è", "e", "ë", "e", "ï", "i")

func uploadedAt(r *rng) string {
	y, mo, d, h, mi, s := 2026, r.between(1, 11), r.between(1, 28), r.between(0, 23), r.between(0, 59), r.between(0, 59)
	switch weighted(r, 70, 20, 10) {
	case 0:
		return fmt.Sprintf("%d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s)
	case 1:
		return fmt.Sprintf("%d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s, r.intn(1000))
	default:
		return fmt.Sprintf("%d-%02d-%02dT%02d:%02d:%02d-03:00", y, mo, d, h, mi, s)
	}
}

// metadata is free-form, as in Firestore: a few keys always, varied extras.
func metadata(r *rng, c career) document {
	m := document{{"source", pick(r, sources)}, {"track", c.track.name}, {"seniority", c.level.name}}
	if r.chance(0.3) {
		m = append(m, field{"ats_id", r.between(100000, 999999)})
	}
	if r.chance(0.2) {
		m = append(m, field{"tags", sample(r, []string{"remote-ok", "priority", "rehire", "diversity-sourcing", "silver-medalist"}, r.between(1, 3))})
	}
	if r.chance(0.1) {
		m = append(m, field{"consent", r.chance(0.8)})
	}
	return m
}
