package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// needleMin is the shortest value searched for: shorter ones would match by
// chance, and every needle is found through its first 8 bytes.
const needleMin = 8

// needle is a value no log may hold, with what it is (for the report, which
// never prints the value itself).
type needle struct {
	value, kind string
}

// needleSet finds many fixed strings in a large text in one pass: each position's
// next 8 bytes are looked up among the needles' first 8 bytes, which most
// positions miss at once (a two-byte filter first).
type needleSet struct {
	needles  []needle
	byPrefix map[uint64][]int
	first2   [1 << 16]bool
}

func newNeedleSet(needles []needle) *needleSet {
	s := &needleSet{byPrefix: map[uint64][]int{}}
	seen := map[string]bool{}
	for _, n := range needles {
		if len(n.value) < needleMin || seen[n.value] {
			continue
		}
		seen[n.value] = true
		s.needles = append(s.needles, n)
		i := len(s.needles) - 1
		key := binary.LittleEndian.Uint64([]byte(n.value[:8]))
		s.byPrefix[key] = append(s.byPrefix[key], i)
		s.first2[binary.LittleEndian.Uint16([]byte(n.value[:2]))] = true
	}
	return s
}

// len is how many needles are searched for.
func (s *needleSet) len() int { return len(s.needles) }

// scan calls found for every needle occurrence in data, with its offset.
func (s *needleSet) scan(data []byte, found func(n needle, offset int)) {
	for i := 0; i+needleMin <= len(data); i++ {
		if !s.first2[binary.LittleEndian.Uint16(data[i:])] {
			continue
		}
		for _, k := range s.byPrefix[binary.LittleEndian.Uint64(data[i:])] {
			if bytes.HasPrefix(data[i:], []byte(s.needles[k].value)) {
				found(s.needles[k], i)
			}
		}
	}
}

// logForms are the ways value can appear in a log line: as is, JSON-escaped as Go
// writes it (hclog), and JSON-escaped with every non-ASCII character as \uXXXX, as
// Python's json.dumps writes the plugins' lines.
func logForms(value string) []string {
	forms := []string{value}
	if raw, err := json.Marshal(value); err == nil {
		forms = append(forms, string(raw[1:len(raw)-1]))
	}
	return append(forms, asciiJSON(value))
}

// asciiJSON escapes s as Python's json.dumps does with ensure_ascii.
func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				r1, r2 := utf16Pair(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// piiSnippet is the part of a free text searched for: its first line, cut to 40
// bytes on a character boundary; "" when too short to tell from chance.
func piiSnippet(text string, minLen int) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.TrimSpace(line)
	for len(line) > 40 {
		_, size := utf8.DecodeLastRuneInString(line)
		line = line[:len(line)-size]
	}
	if len(line) < minLen {
		return ""
	}
	return line
}
