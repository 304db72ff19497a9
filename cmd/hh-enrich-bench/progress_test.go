package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressIsAPlainLineEveryFewSecondsOutsideATerminal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if _, ok := newBar(&out, 10, "throughput").(*lineProgress); !ok {
		t.Fatal("newBar drew a bar into a buffer")
	}
	clock := time.Unix(1000, 0)
	p := newLineProgress(&out, 10, "throughput", func() time.Time { return clock })
	_ = p.Add(3)
	if out.Len() != 0 {
		t.Fatalf("a line before %s passed: %q", lineEvery, out.String())
	}
	clock = clock.Add(lineEvery)
	_ = p.Add(2)
	clock = clock.Add(time.Second)
	_ = p.Set(10)
	_ = p.Finish()
	_ = p.Finish()
	want := "bench: throughput 5/10 jobs (50%) after 5.0 s\nbench: throughput 10/10 jobs (100%) after 6.0 s\n"
	if out.String() != want || strings.Contains(out.String(), "\r") {
		t.Errorf("lines %q, want %q", out.String(), want)
	}
}
