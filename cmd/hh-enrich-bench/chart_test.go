package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// chartResults is a run with latencies for two modes and rates for three.
func chartResults() *Results {
	var fast, slow []time.Duration
	for i := range 500 {
		fast = append(fast, time.Duration(1000+i*10)*time.Microsecond)
		slow = append(slow, time.Duration(40+i%20)*time.Millisecond)
	}
	return &Results{
		StartedAt: "2026-11-28T15:00:00Z",
		Host:      HostInfo{CPUs: 2, LoadBefore: "1.00 <&> 0.5"},
		Modes: []*ModeResult{
			{Mode: ModeLimit, Status: StatusOK, JobsPerSecond: 6800},
			{Mode: ModeSpawn, Status: StatusOK, JobsPerSecond: 24.5, latencies: slow},
			{Mode: ModeSync, Status: StatusOK, JobsPerSecond: 900, latencies: fast},
			{Mode: ModeBatch, Status: StatusUnavailable},
		},
	}
}

// svgElements parses the chart as XML and counts its elements by name, failing t
// when it is not well formed.
func svgElements(t *testing.T, svg []byte) map[string]int {
	t.Helper()
	counts := map[string]int{}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return counts
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, svg)
		}
		if start, ok := tok.(xml.StartElement); ok {
			counts[start.Name.Local]++
			if counts["svg"] == 0 {
				t.Fatalf("root element is %s, want svg", start.Name.Local)
			}
		}
	}
}

func TestWriteChart(t *testing.T) {
	t.Parallel()
	t.Run("IsWellFormedSVGWithACurvePerModeWithLatencies", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		if err := WriteChart(&buf, chartResults()); err != nil {
			t.Fatal(err)
		}
		els := svgElements(t, buf.Bytes())
		if els["svg"] != 1 || els["polyline"] != 2 {
			t.Errorf("got %d svg and %d polyline elements, want 1 and 2", els["svg"], els["polyline"])
		}
		for _, mode := range []string{ModeLimit, ModeSpawn, ModeSync} {
			if !strings.Contains(buf.String(), `<rect data-mode="`+mode+`"`) {
				t.Errorf("no throughput bar for %s", mode)
			}
		}
		if strings.Contains(buf.String(), `data-mode="batch"`) {
			t.Error("an unavailable mode got a bar")
		}
	})
	t.Run("SaysSoWhenNothingWasMeasured", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		if err := WriteChart(&buf, &Results{}); err != nil {
			t.Fatal(err)
		}
		svgElements(t, buf.Bytes())
		if !strings.Contains(buf.String(), "no latencies measured") || !strings.Contains(buf.String(), "no throughput measured") {
			t.Errorf("empty chart does not say so:\n%s", buf.String())
		}
	})
}

func TestLogAxis(t *testing.T) {
	t.Parallel()
	a := newLogAxis(0.7, 230, 0, 300) // 0.1 … 1000: four decades of 75 units
	for v, want := range map[float64]float64{0.1: 0, 1: 75, 10: 150, 1000: 300, 5000: 300} {
		if got := a.pos(v); got < want-1e-9 || got > want+1e-9 {
			t.Errorf("pos(%v) = %v, want %v", v, got, want)
		}
	}
	if got := len(a.decades()); got != 5 {
		t.Errorf("%d decades, want 5", got)
	}
}
