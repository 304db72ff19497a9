package adminui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The charts are SVG drawn by the server: no chart library, no script. Each is
// a figure with a text alternative (its latest values) and a legend that tells
// series apart by dash pattern and name as well as by colour.

// Chart geometry, in viewBox units; the SVG scales to its container.
const (
	chartWidth  = 640
	chartHeight = 234
	plotLeft    = 76
	plotRight   = 624
	plotTop     = 12
	plotBottom  = 190
)

// chart is what the chart template draws.
type chart struct {
	ID      string
	Title   string
	Caption string
	Width   int
	Height  int
	Left    string
	Right   string
	Top     string
	Bottom  string
	MidX    string // where "no data" goes
	MidY    string
	YTicks  []tick
	XTicks  []tick
	Series  []line
	Empty   bool   // no value in the window: the figure says so
	Summary string // the text alternative
}

type tick struct {
	Pos    string // x or y in viewBox units
	Label  string
	Anchor string // text-anchor of an x tick: the last one ends at the plot's edge
}

type line struct {
	Name     string
	Class    string   // s0…s5: colour and dash pattern
	Segments []string // polyline points; a gap (no value) splits a line
	Dots     []point  // values with no neighbour to join: drawn as dots
	Latest   string
}

type point struct{ X, Y string }

// series is one line's data before scaling.
type series struct {
	Name   string
	Values []float64 // one per sample, NaN where unknown
}

// axis says how values map to the y axis and how they read.
type axis struct {
	minMax float64              // the y axis reaches at least this
	fixed  []float64            // fixed tick values (breaker states); nil: 0, max/2, max
	format func(float64) string // latest-value labels, and tick labels without tickFormat
	// tickFormat labels the y ticks when they need shorter words. Optional.
	tickFormat func(float64) string
}

// newChart scales series sampled at times into the window [end-window, end].
func newChart(id, title, caption string, times []time.Time, end time.Time, window time.Duration, ss []series, ax axis) chart {
	c := chart{ID: id, Title: title, Caption: caption, Width: chartWidth, Height: chartHeight,
		Left: num(plotLeft), Right: num(plotRight), Top: num(plotTop), Bottom: num(plotBottom),
		MidX: num((plotLeft + plotRight) / 2), MidY: num((plotTop + plotBottom) / 2), Empty: true}
	top := ax.minMax
	for _, s := range ss {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				c.Empty = false
				top = max(top, v)
			}
		}
	}
	top = niceCeil(top)
	start := end.Add(-window)
	x := func(t time.Time) float64 {
		return plotLeft + (plotRight-plotLeft)*float64(t.Sub(start))/float64(window)
	}
	y := func(v float64) float64 { return plotBottom - (plotBottom-plotTop)*v/top }
	c.YTicks = yTicks(top, ax, y)
	c.XTicks = xTicks(window, func(ago time.Duration) float64 { return x(end.Add(-ago)) })
	var summary []string
	for i, s := range ss {
		l := line{Name: s.Name, Class: "s" + strconv.Itoa(i%6), Latest: latest(s.Values, ax.format)}
		l.Segments, l.Dots = segments(times, s.Values, start, x, y)
		c.Series = append(c.Series, l)
		summary = append(summary, l.Name+" "+l.Latest)
	}
	c.Summary = fmt.Sprintf("%s over the last %d minutes. Latest: %s.", title, int(window.Minutes()), strings.Join(summary, "; "))
	return c
}

// segments turns values into polylines, split wherever a value is missing; a
// value alone between gaps becomes a dot.
func segments(times []time.Time, values []float64, start time.Time, x func(time.Time) float64, y func(float64) float64) ([]string, []point) {
	var lines []string
	var dots []point
	var cur []point
	flush := func() {
		switch len(cur) {
		case 0:
		case 1:
			dots = append(dots, cur[0])
		default:
			pairs := make([]string, len(cur))
			for i, p := range cur {
				pairs[i] = p.X + "," + p.Y
			}
			lines = append(lines, strings.Join(pairs, " "))
		}
		cur = nil
	}
	for i, v := range values {
		if i >= len(times) || math.IsNaN(v) || math.IsInf(v, 0) || times[i].Before(start) {
			flush()
			continue
		}
		cur = append(cur, point{X: num(x(times[i])), Y: num(y(v))})
	}
	flush()
	return lines, dots
}

func yTicks(top float64, ax axis, y func(float64) float64) []tick {
	values := ax.fixed
	if values == nil {
		values = []float64{0, top / 2, top}
	}
	format := ax.format
	if ax.tickFormat != nil {
		format = ax.tickFormat
	}
	ticks := make([]tick, 0, len(values))
	for _, v := range values {
		ticks = append(ticks, tick{Pos: num(y(v)), Label: format(v)})
	}
	return ticks
}

// xTicks marks every quarter of the window, labelled by how long ago.
func xTicks(window time.Duration, x func(ago time.Duration) float64) []tick {
	var ticks []tick
	for i := 4; i >= 0; i-- {
		ago := window * time.Duration(i) / 4
		t := tick{Pos: num(x(ago)), Label: "now", Anchor: "end"}
		if ago > 0 {
			t.Label, t.Anchor = "−"+strconv.Itoa(int(ago.Minutes()))+" min", "middle"
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// latest formats the newest known value, or says there is none.
func latest(values []float64, format func(float64) string) string {
	for i := len(values) - 1; i >= 0; i-- {
		if !math.IsNaN(values[i]) {
			return format(values[i])
		}
	}
	return "no data"
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten (at least 1e-9).
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*exp*(1+1e-9) {
			return m * exp
		}
	}
	return 10 * exp
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// Label formats for chart values.

func formatRate(v float64) string { return strconv.FormatFloat(v, 'f', rateDigits(v), 64) + "/s" }

func rateDigits(v float64) int {
	if v >= 10 || v == 0 {
		return 0
	}
	return 1
}

func formatCount(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

func formatPercent(v float64) string { return strconv.FormatFloat(v*100, 'f', 0, 64) + "%" }

// formatSeconds shows a latency in ms below a second, in seconds above.
func formatSeconds(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 0.01:
		return strconv.FormatFloat(v*1000, 'f', 2, 64) + " ms"
	case v < 1:
		return strconv.FormatFloat(v*1000, 'f', 0, 64) + " ms"
	default:
		return strconv.FormatFloat(v, 'f', 2, 64) + " s"
	}
}

// breakerTick is breakerName in a word short enough for the axis.
func breakerTick(v float64) string {
	if v > 0 && v < 1 {
		return "half"
	}
	return breakerName(v)
}

// breakerName reads a breaker value (0, 0.5, 1) as its state.
func breakerName(v float64) string {
	switch {
	case math.IsNaN(v):
		return "off"
	case v >= 1:
		return "open"
	case v > 0:
		return "half-open"
	default:
		return "closed"
	}
}
