package pool

import (
	"regexp"
	"strings"
)

// errorWithheld marks where a process error's text was cut.
const errorWithheld = " (details withheld)"

// safeErrorHead is the part of an error kept for display: a Go-style lower-case
// prefix such as "plugin call timed out", never the plugin's own message, which
// can quote the candidate it was enriching.
var safeErrorHead = regexp.MustCompile(`^[a-z][a-z0-9 _./-]{0,63}$`)

// grpcCode finds the status code of a gRPC error ("rpc error: code = Unknown desc = …").
var grpcCode = regexp.MustCompile(`rpc error: code = ([A-Za-z]+)`)

// Redacted returns s with every process's LastError cut to its kind, for the
// admin API, the console and logs shown to people: the text after the first
// ":" (or a gRPC error's description) may carry candidate data.
func (s Status) Redacted() Status {
	out := s
	out.Processes = make([]ProcessInfo, len(s.Processes))
	for i, p := range s.Processes {
		p.LastError = RedactError(p.LastError)
		out.Processes[i] = p
	}
	if s.Processes == nil {
		out.Processes = nil
	}
	return out
}

// RedactError keeps the kind of a process error and drops its detail.
func RedactError(msg string) string {
	if msg == "" {
		return ""
	}
	if m := grpcCode.FindStringSubmatch(msg); m != nil {
		return "rpc error: code = " + m[1] + errorWithheld
	}
	head, _, _ := strings.Cut(msg, ":")
	if head = strings.TrimSpace(head); safeErrorHead.MatchString(head) {
		return head + errorWithheld
	}
	return "error" + errorWithheld
}
