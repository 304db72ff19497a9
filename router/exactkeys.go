package router

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// encoding/json matches an object's keys to fields without regard to case, and a
// key that comes twice overwrites the first: {"candidateId":"c1","CandidateId":"c2"}
// would be a job for c2, and two "candidates" arrays one batch of both. A request
// that says two things is refused instead (400 invalid_field), as any key that is
// not exactly a field's name is.

// exactKeys checks the top-level keys of raw, a JSON object, against fields: each
// exactly a field's name, none twice. Every other fault (syntax, types) is the
// decoder's to report.
func exactKeys(raw []byte, fields map[string]bool) error {
	var seen []string
	var err error
	eachKey(raw, func(key string) bool {
		switch {
		case !fields[key]:
			err = newError(CodeInvalidField, fmt.Sprintf("Unknown field %q.", key), map[string]any{"field": key})
		case slices.Contains(seen, key):
			err = newError(CodeInvalidField, fmt.Sprintf("Field %q appears more than once.", key), map[string]any{"field": key})
		}
		seen = append(seen, key)
		return err == nil
	})
	return err
}

// eachKey calls yield with each top-level key of the JSON object raw, in order,
// until it returns false. It skips values without decoding them, in one pass,
// and stops quietly at anything malformed: whether raw is
// valid JSON is the decoder's question, not this one's.
func eachKey(raw []byte, yield func(key string) bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return
	}
	for i++; ; i++ { // i++: past '{' or ','
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] != '"' {
			return // '}' or malformed
		}
		end := stringEnd(raw, i)
		quoted := raw[i:end]
		var key string
		if bytes.IndexByte(quoted, '\\') < 0 && utf8.Valid(quoted) {
			key = string(quoted[1 : len(quoted)-1])
		} else if json.Unmarshal(quoted, &key) != nil {
			return
		}
		if !yield(key) {
			return
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return
		}
		i = skipSpace(raw, valueEnd(raw, skipSpace(raw, i+1)))
		if i >= len(raw) || raw[i] != ',' {
			return
		}
	}
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that opens at raw[i].
func stringEnd(raw []byte, i int) int {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(raw)
}

// valueEnd returns the index just past the value that starts at raw[i].
func valueEnd(raw []byte, i int) int {
	depth := 0
	for j := i; j < len(raw); j++ {
		switch raw[j] {
		case '"':
			j = stringEnd(raw, j) - 1
			if depth == 0 {
				return j + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j // the enclosing object's end, after a scalar
			}
			if depth--; depth == 0 {
				return j + 1
			}
		case ',':
			if depth == 0 {
				return j
			}
		}
	}
	return len(raw)
}

// fieldNames is the set of JSON names of struct type t's fields, cached by type.
func fieldNames(t reflect.Type) map[string]bool {
	if names, ok := fieldNameCache.Load(t); ok {
		return names.(map[string]bool)
	}
	names := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		names[cmp.Or(name, f.Name)] = true
	}
	fieldNameCache.Store(t, names)
	return names
}

var fieldNameCache sync.Map // reflect.Type → map[string]bool
