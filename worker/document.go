package worker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// members are a JSON object's top-level members, each value kept as its encoded
// bytes. The candidate and the plugin's enrichment travel as members: the job
// result and the plugin's request are written from them without decoding and
// re-encoding every nested value (a map round trip cost the worker more CPU than
// anything else it does for a job).
type members map[string]json.RawMessage

// objectMembers splits raw, a JSON object, into its members; the values are
// slices of raw, not copies. JSON null gives none (and no error); anything else
// but an object is an error. Text that is not valid UTF-8 is decoded and encoded
// again, as a map round trip would: the replacement characters it gets keep the
// result's JSON valid for every client.
func objectMembers(raw []byte) (members, error) {
	if !json.Valid(raw) {
		var probe map[string]any // for encoding/json's own words on what is wrong
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, err
		}
		return nil, errors.New("invalid JSON")
	}
	if !utf8.Valid(raw) {
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, err
		}
		return encodeMembers(doc)
	}
	return splitObject(raw)
}

// splitObject splits valid JSON into the members of its top-level object. It
// only finds where each member starts and ends (strings, nesting): one pass over
// the bytes that json.Valid has checked already.
func splitObject(raw []byte) (members, error) {
	i := skipSpace(raw, 0)
	if bytes.HasPrefix(raw[i:], []byte("null")) {
		return nil, nil
	}
	if raw[i] != '{' {
		return nil, fmt.Errorf("a JSON object is wanted, not %.20s", raw[i:])
	}
	m := members{}
	i = skipSpace(raw, i+1)
	for raw[i] != '}' {
		keyEnd := valueEnd(raw, i)
		key, err := memberKey(raw[i:keyEnd])
		if err != nil {
			return nil, err
		}
		start := skipSpace(raw, skipSpace(raw, keyEnd)+1) // past the colon
		end := valueEnd(raw, start)
		m[key] = raw[start:end:end]
		i = skipSpace(raw, end)
		if raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return m, nil
}

// memberKey is a member's name from its quoted form.
func memberKey(quoted []byte) (string, error) {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1 : len(quoted)-1]), nil
	}
	var key string
	err := json.Unmarshal(quoted, &key)
	return key, err
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// valueEnd is the index just past the JSON value that starts at raw[i].
func valueEnd(raw []byte, i int) int {
	switch raw[i] {
	case '"':
		return stringEnd(raw, i)
	case '{', '[':
		depth := 0
		for ; i < len(raw); i++ {
			switch raw[i] {
			case '"':
				i = stringEnd(raw, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // a number, true, false or null
		for i < len(raw) && !endsScalar(raw[i]) {
			i++
		}
		return i
	}
}

func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// stringEnd is the index just past the string whose opening quote is raw[i].
func stringEnd(raw []byte, i int) int {
	for i++; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// encodeMembers encodes each value of doc on its own.
func encodeMembers(doc map[string]any) (members, error) {
	m := make(members, len(doc))
	for k, v := range doc {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		m[k] = raw
	}
	return m, nil
}

// set encodes v as the member k, replacing any; v is a string, number, map or
// struct that cannot fail to encode.
func (m members) set(k string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("worker: encoding %s: %v", k, err))
	}
	m[k] = raw
}

// overlay returns m's members with over's on top (over wins a shared key).
func (m members) overlay(over members) members {
	out := make(members, len(m)+len(over)+4)
	for k, v := range m {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// encode writes the members as one JSON object with its keys in sorted order, as
// encoding/json writes a map: the top level of a document reads the same whether
// its members came from a client, Firestore or the plugin.
func (m members) encode() json.RawMessage {
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.Grow(size)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeKey(&b, k)
		b.WriteByte(':')
		b.Write(m[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// writeKey writes k quoted: as it is when nothing in it needs escaping (every key
// the service writes), else as encoding/json quotes it.
func writeKey(b *bytes.Buffer, k string) {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			key, _ := json.Marshal(k) // a string always encodes
			b.Write(key)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(k)
	b.WriteByte('"')
}

// decode is the members as one decoded document.
func (m members) decode() (map[string]any, error) {
	doc := make(map[string]any, len(m))
	for k, v := range m {
		var value any
		if err := json.Unmarshal(v, &value); err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		doc[k] = value
	}
	return doc, nil
}
