package pool

import (
	"strings"
	"testing"
)

func TestRedactErrorKeepsTheKindAndDropsCandidateData(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]string{
		"": "",
		"rpc error: code = Unknown desc = ValueError: Jane Roe <jane@x.example> has no resume": "rpc error: code = Unknown (details withheld)",
		"plugin call timed out: enriching Jane Roe":                                            "plugin call timed out (details withheld)",
		"Jane Roe, Senior Go engineer: bad output":                                             "error (details withheld)",
		"no colon but Jane Roe":                                                                "error (details withheld)",
	} {
		got := RedactError(msg)
		if got != want {
			t.Errorf("RedactError(%q) = %q, want %q", msg, got, want)
		}
		if strings.Contains(got, "Jane") || strings.Contains(got, "jane@") {
			t.Errorf("RedactError(%q) kept candidate data: %q", msg, got)
		}
	}
	st := Status{Processes: []ProcessInfo{{ID: 1, LastError: "rpc error: code = Internal desc = Jane"}}}
	if got := st.Redacted(); got.Processes[0].LastError != "rpc error: code = Internal (details withheld)" ||
		st.Processes[0].LastError != "rpc error: code = Internal desc = Jane" {
		t.Fatalf("Redacted = %+v, original %+v", got.Processes, st.Processes)
	}
}
