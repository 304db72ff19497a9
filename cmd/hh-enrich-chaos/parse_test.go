package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFuzzExecs(t *testing.T) {
	t.Parallel()
	out := `fuzz: elapsed: 0s, gathering baseline coverage: 0/16 completed
fuzz: elapsed: 0s, gathering baseline coverage: 16/16 completed, now fuzzing with 2 workers
fuzz: elapsed: 3s, execs: 53245 (17748/sec), new interesting: 5 (total: 21)
fuzz: elapsed: 6s, execs: 100000 (15584/sec), new interesting: 7 (total: 23)
PASS`
	if got := parseFuzzExecs(out); got != 100000 {
		t.Errorf("got %d, want the last count, 100000", got)
	}
	if got := parseFuzzExecs("ok  \tgithub.com/x/router\t0.5s"); got != 0 {
		t.Errorf("got %d from a run without fuzzing", got)
	}
}

func TestParseTCPListeners(t *testing.T) {
	t.Parallel()
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 20 4 30 10 -1
`
	got := parseTCPListeners(strings.NewReader(tcp))
	want := map[string]string{"111": "127.0.0.1:8080", "222": "0.0.0.0:80"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listeners (-want +got):\n%s", diff)
	}
	tcp6 := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0000000000000000 100 0 0 10 0
`
	got = parseTCPListeners(strings.NewReader(tcp6))
	want = map[string]string{"444": "[::]:8080", "555": "[::1]:8081"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tcp6 listeners (-want +got):\n%s", diff)
	}
}

func TestIsLoopbackListener(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{"127.0.0.1:80": true, "[::1]:80": true, "127.0.0.2:1": true,
		"0.0.0.0:80": false, "[::]:80": false, "10.0.0.5:80": false, "garbage": false} {
		if got := isLoopbackListener(addr); got != want {
			t.Errorf("isLoopbackListener(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestParseUnixSockets(t *testing.T) {
	t.Parallel()
	table := `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 41234 /tmp/hh-enrich-plugin-abc/plugin.sock
0000000000000000: 00000003 00000000 00000000 0001 03 41235
0000000000000000: 00000002 00000000 00010000 0001 01 41236 @abstract
`
	got := parseUnixSockets(strings.NewReader(table))
	want := map[string]string{"41234": "/tmp/hh-enrich-plugin-abc/plugin.sock"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sockets (-want +got):\n%s", diff)
	}
}

func TestDocumentMismatch(t *testing.T) {
	t.Parallel()
	stamp := "2026-01-02T03:04:05.123456789Z"
	snapshot, _ := json.Marshal(map[string]any{"enriched_at": stamp})
	doc := func(status, enrichedAt, processedAt string) map[string]any {
		return map[string]any{"status": status, "enriched_at": enrichedAt,
			"processing_metadata": map[string]any{"processed_at": processedAt}}
	}
	tests := []struct {
		name string
		doc  map[string]any
		want string
	}{
		{"MatchesTheJobsOwnWrite", doc("enriched", stamp, stamp), ""},
		{"NotEnriched", doc("pending_enrichment", stamp, stamp), "status pending_enrichment"},
		{"StampedTwice", doc("enriched", stamp, "2026-01-02T03:04:06Z"), "enriched_at " + stamp + " but processed_at 2026-01-02T03:04:06Z"},
		{"WrittenByAnotherRun", doc("enriched", "2026-01-02T03:04:06Z", "2026-01-02T03:04:06Z"),
			"enriched_at 2026-01-02T03:04:06Z, the job's " + stamp},
		{"NoMetadata", map[string]any{"status": "enriched", "enriched_at": stamp}, "no processing_metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := documentMismatch(tt.doc, snapshot); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
