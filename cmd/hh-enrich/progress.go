package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows a batch's advance on stderr: a bar with the rate and the time
// left (schollz/progressbar), or, with --progress=false, a log line every
// logEvery. Either way it warns when nothing has finished for stallAfter, which is
// what a service without a running worker looks like from here.
type progress struct {
	w          io.Writer
	bar        *progressbar.ProgressBar // nil: log lines
	total      int
	done       int
	start      time.Time
	lastLog    time.Time
	lastChange time.Time
	lastWarn   time.Time
	logEvery   time.Duration
	stallAfter time.Duration
}

// newProgress returns the progress of total candidates, started at now.
func newProgress(w io.Writer, total int, bar bool, now time.Time) *progress {
	p := &progress{w: w, total: total, start: now, lastLog: now, lastChange: now,
		logEvery: 5 * time.Second, stallAfter: time.Minute}
	if bar && total > 0 {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("enriching"),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("candidates"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			// Redrawing at most ten times a second keeps a fast run's stderr small.
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { _, _ = io.WriteString(w, "\n") }),
		)
	}
	return p
}

// Add records n more candidates done at now.
func (p *progress) Add(n int, now time.Time) {
	p.done += n
	p.lastChange = now
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

// Tick is called about once a second: it writes the periodic log line and the
// stall warning.
func (p *progress) Tick(now time.Time) {
	if p.bar == nil && now.Sub(p.lastLog) >= p.logEvery {
		p.lastLog = now
		fmt.Fprintf(p.w, "hh-enrich: %s\n", p.summary(now))
	}
	if p.done < p.total && now.Sub(p.lastChange) >= p.stallAfter && now.Sub(p.lastWarn) >= p.stallAfter {
		p.lastWarn = now
		if p.bar != nil {
			_, _ = io.WriteString(p.w, "\n")
		}
		fmt.Fprintf(p.w, "hh-enrich: warning: no candidate finished in the last %s: are the service's workers running? "+
			"(`hh-enrich admin queue`, and README \"Troubleshooting\": jobs stuck queued)\n", now.Sub(p.lastChange).Round(time.Second))
	}
}

// summary is "done/total (pct), rate/s, ETA".
func (p *progress) summary(now time.Time) string {
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed
	}
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.done) / float64(p.total)
	}
	eta := "unknown"
	if rate > 0 {
		eta = time.Duration(float64(p.total-p.done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%d/%d candidates (%.0f%%), %.1f/s, ETA %s", p.done, p.total, pct, rate, eta)
}

// Finish ends the bar (a run that stops early leaves it where it was).
func (p *progress) Finish() {
	if p.bar != nil {
		if p.done >= p.total {
			_ = p.bar.Finish()
		} else {
			_, _ = io.WriteString(p.w, "\n")
		}
	}
}
