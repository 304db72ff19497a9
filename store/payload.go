package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unicode/utf8"
)

// A submit reads its payload once, in one pass (payloadReader): it checks that
// the payload is JSON, makes the compact form the job stores (byte for byte
// what json.Compact makes) and the canonical form dedupe hashes (byte for
// byte what encoding/json's Marshal makes of the payload decoded into an
// `any` with UseNumber: object keys sorted at every depth, duplicates resolved
// to the last, strings re-encoded, numbers as written). Dedupe keys made before
// this reader existed stay valid because the bytes are the same; the fuzz
// test FuzzPayloadReaderMatchesEncodingJSON holds it to that.
//
// It exists because decoding a 2 KB candidate into maps and marshalling it
// back cost a submit more CPU than its whole Redis round trip.

// maxPayloadDepth is encoding/json's nesting limit, kept so that the same
// payloads are refused.
const maxPayloadDepth = 10000

var errPayloadDepth = errors.New("exceeded max depth")

// readPayload validates payload and returns its compact and canonical forms;
// both are nil when there is no payload (absent or JSON null).
func readPayload(payload json.RawMessage) (compact, canonical []byte, err error) {
	compact, err = readPayloadWith(payload, func(c []byte) { canonical = bytes.Clone(c) })
	return compact, canonical, err
}

// readPayloadWith is readPayload for a caller that only reads the canonical
// form: use gets it (nil for no payload) in a buffer that is reused after
// use returns, which saves a submit its largest allocations.
func readPayloadWith(payload json.RawMessage, use func(canonical []byte)) (compact []byte, err error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		use(nil)
		return nil, nil
	}
	r := payloadReaders.Get().(*payloadReader)
	defer r.release()
	r.in = trimmed
	if err := r.value(); err != nil {
		return nil, fmt.Errorf("store: invalid payload JSON: %w", err)
	}
	if r.skipSpace(); r.pos < len(r.in) {
		return nil, fmt.Errorf("store: invalid payload JSON: %w", r.unexpected("after top-level value"))
	}
	use(r.out)
	return r.compacted(), nil
}

// payloadReaders keeps readers, with the buffers they grew, between submits.
var payloadReaders = sync.Pool{New: func() any { return new(payloadReader) }}

// release empties r, keeping its buffers unless a huge payload grew them,
// and puts it back in payloadReaders.
func (r *payloadReader) release() {
	const keepBytes = 64 << 10
	if cap(r.out) > keepBytes || cap(r.scratch) > keepBytes {
		return
	}
	*r = payloadReader{out: r.out[:0], scratch: r.scratch[:0], members: r.members[:0]}
	payloadReaders.Put(r)
}

// payloadReader is a recursive-descent JSON reader that writes the canonical
// form to out as it goes and copies the input, minus insignificant
// whitespace, to compact.
type payloadReader struct {
	in    []byte
	pos   int
	depth int
	out   []byte // canonical form
	// compact gets in[flushed:start] at each run of whitespace; it stays nil
	// when there is none, and the input is then its own compact form.
	compact  []byte
	flushed  int
	sawSpace bool
	members  []member // a stack: the members of the objects being read
	scratch  []byte   // where an object's members are copied to be reordered
}

// member is one `"key":value` of an object, at out[start:end].
type member struct {
	key        []byte // as decoded: what encoding/json sorts by
	start, end int
}

func (r *payloadReader) compacted() []byte {
	if !r.sawSpace {
		return bytes.Clone(r.in)
	}
	return append(r.compact, r.in[r.flushed:]...)
}

func (r *payloadReader) skipSpace() {
	start := r.pos
	for r.pos < len(r.in) && isJSONSpace(r.in[r.pos]) {
		r.pos++
	}
	if r.pos > start {
		if !r.sawSpace {
			r.compact = make([]byte, 0, len(r.in))
			r.sawSpace = true
		}
		r.compact = append(r.compact, r.in[r.flushed:start]...)
		r.flushed = r.pos
	}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (r *payloadReader) unexpected(context string) error {
	if r.pos >= len(r.in) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("invalid character %q %s", r.in[r.pos], context)
}

func (r *payloadReader) value() error {
	r.skipSpace()
	if r.pos >= len(r.in) {
		return r.unexpected("")
	}
	switch c := r.in[r.pos]; {
	case c == '{':
		return r.object()
	case c == '[':
		return r.array()
	case c == '"':
		token, _, form, err := r.stringToken()
		if err != nil {
			return err
		}
		r.out = appendCanonicalString(r.out, token, form)
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	}
	return r.unexpected("looking for beginning of value")
}

func (r *payloadReader) enter() error {
	if r.depth++; r.depth > maxPayloadDepth {
		return errPayloadDepth
	}
	return nil
}

// object reads an object and writes it with its members sorted by decoded
// key, the last of equal keys winning, as a decoded map marshals.
func (r *payloadReader) object() error {
	r.pos++ // '{'
	if err := r.enter(); err != nil {
		return err
	}
	r.out = append(r.out, '{')
	if r.skipSpace(); r.pos < len(r.in) && r.in[r.pos] == '}' {
		r.pos++
		r.depth--
		r.out = append(r.out, '}')
		return nil
	}
	base, start := len(r.members), len(r.out)
	for {
		if err := r.member(); err != nil {
			return err
		}
		r.skipSpace()
		if r.pos >= len(r.in) || (r.in[r.pos] != ',' && r.in[r.pos] != '}') {
			return r.unexpected("after object key:value pair")
		}
		r.pos++
		if r.in[r.pos-1] == '}' {
			break
		}
	}
	r.sortMembers(base, start)
	r.members = r.members[:base]
	r.depth--
	r.out = append(r.out, '}')
	return nil
}

// member reads one `"key":value` and pushes it onto r.members; the
// separating commas are written by sortMembers.
func (r *payloadReader) member() error {
	if r.skipSpace(); r.pos >= len(r.in) || r.in[r.pos] != '"' {
		return r.unexpected("looking for beginning of object key string")
	}
	token, escaped, form, err := r.stringToken()
	if err != nil {
		return err
	}
	start := len(r.out)
	r.out = appendCanonicalString(r.out, token, form)
	if r.skipSpace(); r.pos >= len(r.in) || r.in[r.pos] != ':' {
		return r.unexpected("after object key")
	}
	r.pos++
	r.out = append(r.out, ':')
	if err := r.value(); err != nil {
		return err
	}
	r.members = append(r.members, member{key: decodedKey(token, escaped), start: start, end: len(r.out)})
	return nil
}

// sortMembers rewrites out[start:] (the members r.members[base:], back to
// back) in key order, comma-separated, keeping the last of equal keys.
func (r *payloadReader) sortMembers(base, start int) {
	members := r.members[base:]
	slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	r.scratch = append(r.scratch[:0], r.out[start:]...)
	r.out = r.out[:start]
	for i, m := range members {
		if i+1 < len(members) && bytes.Equal(members[i+1].key, m.key) {
			continue // a later duplicate replaces it
		}
		if len(r.out) > start {
			r.out = append(r.out, ',')
		}
		r.out = append(r.out, r.scratch[m.start-start:m.end-start]...)
	}
}

func (r *payloadReader) array() error {
	r.pos++ // '['
	if err := r.enter(); err != nil {
		return err
	}
	r.out = append(r.out, '[')
	if r.skipSpace(); r.pos < len(r.in) && r.in[r.pos] == ']' {
		r.pos++
		r.depth--
		r.out = append(r.out, ']')
		return nil
	}
	for {
		if err := r.value(); err != nil {
			return err
		}
		r.skipSpace()
		if r.pos >= len(r.in) || (r.in[r.pos] != ',' && r.in[r.pos] != ']') {
			return r.unexpected("after array element")
		}
		r.pos++
		r.out = append(r.out, r.in[r.pos-1])
		if r.in[r.pos-1] == ']' {
			break
		}
	}
	r.depth--
	return nil
}

// stringToken reads a string, quotes included, as written, and tells how
// encoding/json would write its decoded value (stringForm). One pass, since
// strings are most of a candidate's bytes.
func (r *payloadReader) stringToken() (token []byte, escaped bool, form stringForm, err error) {
	start := r.pos
	form = asWritten
	for i := r.pos + 1; i < len(r.in); {
		for i < len(r.in) && !stringSpecial[r.in[i]] {
			i++
		}
		if i == len(r.in) {
			break
		}
		switch c := r.in[i]; {
		case c == '"':
			r.pos = i + 1
			return r.in[start:r.pos], escaped, form, nil
		case c == '\\':
			n, ok := escapeLength(r.in[i:])
			if !ok {
				r.pos = min(i+1, len(r.in)-1)
				return nil, false, 0, r.unexpected("in string escape code")
			}
			if c := r.in[i+1]; c == '/' || c == 'u' { // decode to what Marshal writes otherwise
				form = reencoded
			}
			escaped = true
			i += n
		case c < 0x20:
			r.pos = i
			return nil, false, 0, r.unexpected("in string literal")
		case c == '<' || c == '>' || c == '&':
			form = max(form, htmlEscaped)
			i++
		default: // not ASCII
			rn, size := utf8.DecodeRune(r.in[i:])
			if (rn == utf8.RuneError && size == 1) || rn == '\u2028' || rn == '\u2029' {
				form = reencoded
			}
			i += size
		}
	}
	r.pos = len(r.in)
	return nil, false, 0, r.unexpected("")
}

// stringForm is how encoding/json writes a string's decoded value, compared
// with how the payload wrote it.
type stringForm int

const (
	// asWritten: valid UTF-8 without the characters Marshal escapes for HTML
	// and JavaScript, and no escapes but the ones Marshal writes the same way.
	asWritten stringForm = iota
	// htmlEscaped: the same, but for <, > and &, which Marshal writes as
	// \u003c, \u003e and \u0026.
	htmlEscaped
	// reencoded: anything else (\/, \uXXXX, invalid UTF-8, U+2028, U+2029),
	// left to encoding/json's own decode and encode.
	reencoded
)

// htmlEscapes are encoding/json's escapes of <, > and &.
var htmlEscapes = map[byte]string{'<': `\u003c`, '>': `\u003e`, '&': `\u0026`}

// stringSpecial marks the bytes stringToken must look at; it skips the rest.
var stringSpecial = func() (special [256]bool) {
	for c := range 256 {
		special[c] = c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&'
	}
	return special
}()

// escapeLength is the length of the escape sequence s starts with, or false
// when it is not one JSON allows.
func escapeLength(s []byte) (int, bool) {
	if len(s) < 2 {
		return 0, false
	}
	switch s[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		if len(s) < 6 {
			return 0, false
		}
		for _, h := range s[2:6] {
			if !isHex(h) {
				return 0, false
			}
		}
		return 6, true
	}
	return 0, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number reads a number and writes it as written (UseNumber keeps it so).
func (r *payloadReader) number() error {
	start := r.pos
	if r.in[r.pos] == '-' {
		r.pos++
	}
	switch {
	case r.pos < len(r.in) && r.in[r.pos] == '0':
		r.pos++
	case r.pos < len(r.in) && r.in[r.pos] >= '1' && r.in[r.pos] <= '9':
		r.digits()
	default:
		return r.unexpected("in numeric literal")
	}
	if r.pos < len(r.in) && r.in[r.pos] == '.' {
		r.pos++
		if !r.digits() {
			return r.unexpected("after decimal point in numeric literal")
		}
	}
	if r.pos < len(r.in) && (r.in[r.pos] == 'e' || r.in[r.pos] == 'E') {
		r.pos++
		if r.pos < len(r.in) && (r.in[r.pos] == '+' || r.in[r.pos] == '-') {
			r.pos++
		}
		if !r.digits() {
			return r.unexpected("in exponent of numeric literal")
		}
	}
	r.out = append(r.out, r.in[start:r.pos]...)
	return nil
}

// digits reads one or more digits; false when there are none.
func (r *payloadReader) digits() bool {
	start := r.pos
	for r.pos < len(r.in) && r.in[r.pos] >= '0' && r.in[r.pos] <= '9' {
		r.pos++
	}
	return r.pos > start
}

func (r *payloadReader) literal(word string) error {
	if !bytes.HasPrefix(r.in[r.pos:], []byte(word)) {
		for i := 0; i < len(word) && r.pos < len(r.in) && r.in[r.pos] == word[i]; i++ {
			r.pos++
		}
		return r.unexpected("in literal " + word)
	}
	r.pos += len(word)
	r.out = append(r.out, word...)
	return nil
}

// appendCanonicalString appends the string token (quotes included, as
// written) the way encoding/json marshals its decoded value, written in form
// (see stringToken).
func appendCanonicalString(out, token []byte, form stringForm) []byte {
	switch form {
	case asWritten:
		return append(out, token...)
	case htmlEscaped:
		for {
			i := bytes.IndexAny(token, "<>&")
			if i < 0 {
				return append(out, token...)
			}
			out = append(out, token[:i]...)
			out = append(out, htmlEscapes[token[i]]...)
			token = token[i+1:]
		}
	}
	var s string
	if err := json.Unmarshal(token, &s); err != nil {
		panic("store: a string the payload reader accepted does not decode: " + err.Error())
	}
	return appendMarshalledString(out, s)
}

// decodedKey is an object key as encoding/json decodes it: as written when
// it has no escapes and is valid UTF-8 (decoding changes nothing then).
func decodedKey(token []byte, escaped bool) []byte {
	content := token[1 : len(token)-1]
	if !escaped && utf8.Valid(content) {
		return content
	}
	var s string
	if err := json.Unmarshal(token, &s); err != nil {
		panic("store: a key the payload reader accepted does not decode: " + err.Error())
	}
	return []byte(s)
}

// appendMarshalledString appends s as encoding/json's Marshal writes it.
func appendMarshalledString(out []byte, s string) []byte {
	if isPlainASCII(s) {
		out = append(out, '"')
		out = append(out, s...)
		return append(out, '"')
	}
	encoded, err := json.Marshal(s)
	if err != nil {
		panic("store: marshal a string: " + err.Error()) // strings always marshal
	}
	return append(out, encoded...)
}

// isPlainASCII reports whether s is printable ASCII that encoding/json
// writes as it is.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
