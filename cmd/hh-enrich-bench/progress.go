package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/console"
)

// progress is what a workload reports its advance to.
type progress interface {
	Add(n int) error
	Set(n int) error
	Finish() error
}

// quietBar is the progress of a run with -progress=false.
type quietBar struct{}

func (quietBar) Add(int) error { return nil }
func (quietBar) Set(int) error { return nil }
func (quietBar) Finish() error { return nil }

// lineEvery is how often a progress that is not a bar writes its line.
const lineEvery = 5 * time.Second

// newBar returns the progress of max steps on w: silent when w is nil, a bar when
// w is a terminal, else (a file, a pipe, a CI log) a plain line every lineEvery,
// since a bar's redraws would only pile up there. The bar has a known length, so
// the library starts no goroutine of its own, and it redraws at most ten times a
// second, so drawing never costs the machine under test much.
func newBar(w io.Writer, max int, description string) progress {
	if w == nil {
		return quietBar{}
	}
	if !console.IsTerminal(w) {
		return newLineProgress(w, max, description, time.Now)
	}
	return progressbar.NewOptions(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("jobs"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { _, _ = io.WriteString(w, "\n") }),
	)
}

// lineProgress writes "description: done/max jobs (pct)" at most every
// lineEvery, and once more when finished. Workloads report from many goroutines.
type lineProgress struct {
	w           io.Writer
	max         int
	description string
	now         func() time.Time

	mu       sync.Mutex
	done     int
	start    time.Time
	lastLine time.Time
	finished bool
}

func newLineProgress(w io.Writer, max int, description string, now func() time.Time) *lineProgress {
	start := now()
	return &lineProgress{w: w, max: max, description: description, now: now, start: start, lastLine: start}
}

func (p *lineProgress) Add(n int) error { return p.Set(-n) }

// Set records done steps; a negative n adds -n (Add's path, under one lock).
func (p *lineProgress) Set(n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < 0 {
		p.done -= n
	} else {
		p.done = n
	}
	if now := p.now(); now.Sub(p.lastLine) >= lineEvery {
		p.lastLine = now
		return p.writeLocked(now)
	}
	return nil
}

func (p *lineProgress) Finish() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return nil
	}
	p.finished = true
	return p.writeLocked(p.now())
}

func (p *lineProgress) writeLocked(now time.Time) error {
	pct := 100.0
	if p.max > 0 {
		pct = 100 * float64(p.done) / float64(p.max)
	}
	_, err := fmt.Fprintf(p.w, "bench: %s %d/%d jobs (%.0f%%) after %.1f s\n", p.description, p.done, p.max, pct,
		now.Sub(p.start).Seconds())
	return err
}
