package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
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

// newBar returns a bar of max steps on w, or a silent one when w is nil. The bar
// has a known length, so the library starts no goroutine of its own, and it redraws
// at most ten times a second, so drawing never costs the machine under test much.
func newBar(w io.Writer, max int, description string) progress {
	if w == nil {
		return quietBar{}
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
