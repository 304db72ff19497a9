package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// The chart is plain SVG written here: two panels, latency percentile curves per
// mode (log-scaled both ways, so the tail is as readable as the median) and
// throughput per mode (log-scaled, since spawn-per-job and the limit are two
// orders of magnitude apart).
const (
	chartWidth   = 1040
	chartHeight  = 440
	panelTop     = 60
	panelBottom  = 380
	latencyLeft  = 70
	latencyRight = 500
	barsLeft     = 720
	barsRight    = 1000
)

// modeColors keep a mode's colour the same in both panels.
var modeColors = map[string]string{
	ModeLimit: "#555555", ModeSpawn: "#d62728", ModeSeed: "#9467bd",
	ModeThroughput: "#1f77b4", ModeSync: "#2ca02c", ModeBatch: "#ff7f0e",
}

// curvePercentiles are where each latency curve is sampled.
var curvePercentiles = func() []float64 {
	var ps []float64
	for p := 0.0; p < 90; p += 2 {
		ps = append(ps, p)
	}
	for p := 90.0; p < 99; p += 0.5 {
		ps = append(ps, p)
	}
	for p := 99.0; p <= 99.9; p += 0.1 {
		ps = append(ps, p)
	}
	return ps
}()

// WriteChart writes the SVG chart of r to w.
func WriteChart(w io.Writer, r *Results) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, chartHeight)
	text(&b, 20, 24, 16, "start", fmt.Sprintf("hh-enrich-bench, %s, %d CPUs (load %s)", r.StartedAt, r.Host.CPUs, r.Host.LoadBefore))
	writeLatencyPanel(&b, r.Modes)
	writeThroughputPanel(&b, r.Modes)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing the chart: %w", err)
	}
	return nil
}

func text(b *strings.Builder, x, y float64, size int, anchor, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s">%s</text>`+"\n", x, y, size, anchor, html.EscapeString(s))
}

func line(b *strings.Builder, x1, y1, x2, y2 float64, stroke string) {
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x1, y1, x2, y2, stroke)
}

// percentileX places percentile p on a "nines" axis: 0, 90, 99 and 99.9 evenly apart.
func percentileX(p float64) float64 {
	nines := -math.Log10(1 - min(p, 99.9)/100) // 0 … 3
	return latencyLeft + nines/3*(latencyRight-latencyLeft)
}

// logAxis maps values in [lo, hi] (powers of ten) onto [from, to].
type logAxis struct{ lo, hi, from, to float64 }

func newLogAxis(minV, maxV, from, to float64) logAxis {
	lo := math.Pow(10, math.Floor(math.Log10(max(minV, 1e-3))))
	hi := math.Pow(10, math.Ceil(math.Log10(max(maxV, lo*10))))
	if hi <= lo {
		hi = lo * 10
	}
	return logAxis{lo: lo, hi: hi, from: from, to: to}
}

func (a logAxis) pos(v float64) float64 {
	v = min(max(v, a.lo), a.hi)
	return a.from + (math.Log10(v)-math.Log10(a.lo))/(math.Log10(a.hi)-math.Log10(a.lo))*(a.to-a.from)
}

// decades lists the powers of ten from lo to hi.
func (a logAxis) decades() []float64 {
	var out []float64
	for v := a.lo; v <= a.hi*1.0001; v *= 10 {
		out = append(out, v)
	}
	return out
}

func writeLatencyPanel(b *strings.Builder, modes []*ModeResult) {
	text(b, (latencyLeft+latencyRight)/2, panelTop-16, 14, "middle", "Latency by percentile (ms, log scale)")
	curves := map[string][]time.Duration{}
	lo, hi := math.Inf(1), 0.0
	for _, m := range modes {
		if len(m.latencies) < 2 {
			continue
		}
		sorted := slices.Clone(m.latencies)
		slices.Sort(sorted)
		curves[m.Mode] = sorted
		lo, hi = min(lo, ms(sorted[0])), max(hi, ms(sorted[len(sorted)-1]))
	}
	if len(curves) == 0 {
		text(b, (latencyLeft+latencyRight)/2, (panelTop+panelBottom)/2, 12, "middle", "no latencies measured")
		return
	}
	y := newLogAxis(lo, hi, panelBottom, panelTop)
	writeLatencyAxes(b, y)
	// The legend sits bottom right: a high percentile is never below a low one, so
	// curves seldom pass there.
	legendY := float64(panelBottom) - 18*float64(len(curves)) + 4
	fmt.Fprintf(b, `<rect x="%d" y="%.1f" width="150" height="%d" fill="white" fill-opacity="0.85"/>`+"\n",
		latencyRight-156, legendY-14, 18*len(curves)+2)
	for _, m := range modes {
		sorted, ok := curves[m.Mode]
		if !ok {
			continue
		}
		var pts []string
		for _, p := range curvePercentiles {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", percentileX(p), y.pos(ms(Percentile(sorted, p)))))
		}
		fmt.Fprintf(b, `<polyline data-mode="%s" fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n",
			m.Mode, modeColors[m.Mode], strings.Join(pts, " "))
		fmt.Fprintf(b, `<rect x="%d" y="%.1f" width="10" height="10" fill="%s"/>`+"\n", latencyRight-150, legendY-9, modeColors[m.Mode])
		text(b, latencyRight-136, legendY, 11, "start", shortName(m.Mode))
		legendY += 18
	}
}

func writeLatencyAxes(b *strings.Builder, y logAxis) {
	line(b, latencyLeft, panelTop, latencyLeft, panelBottom, "#000")
	line(b, latencyLeft, panelBottom, latencyRight, panelBottom, "#000")
	for _, v := range y.decades() {
		yy := y.pos(v)
		line(b, latencyLeft, yy, latencyRight, yy, "#e0e0e0")
		text(b, latencyLeft-6, yy+4, 11, "end", trimFloat(v))
	}
	for _, p := range []float64{0, 50, 90, 99, 99.9} {
		x := percentileX(p)
		line(b, x, panelTop, x, panelBottom, "#f0f0f0")
		text(b, x, panelBottom+16, 11, "middle", "p"+trimFloat(p))
	}
	text(b, (latencyLeft+latencyRight)/2, panelBottom+36, 12, "middle", "percentile")
}

func writeThroughputPanel(b *strings.Builder, modes []*ModeResult) {
	text(b, (barsLeft+barsRight)/2, panelTop-16, 14, "middle", "Throughput (jobs/s, log scale)")
	var shown []*ModeResult
	hi := 0.0
	for _, m := range modes {
		if m.JobsPerSecond > 0 {
			shown = append(shown, m)
			hi = max(hi, m.JobsPerSecond)
		}
	}
	if len(shown) == 0 {
		text(b, (barsLeft+barsRight)/2, (panelTop+panelBottom)/2, 12, "middle", "no throughput measured")
		return
	}
	x := newLogAxis(1, hi, barsLeft, barsRight)
	for _, v := range x.decades() {
		xx := x.pos(v)
		line(b, xx, panelTop, xx, panelBottom, "#e0e0e0")
		text(b, xx, panelBottom+16, 11, "middle", trimFloat(v))
	}
	slot := float64(panelBottom-panelTop) / float64(len(shown))
	for i, m := range shown {
		top := panelTop + float64(i)*slot + slot*0.2
		fmt.Fprintf(b, `<rect data-mode="%s" x="%d" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n",
			m.Mode, barsLeft, top, x.pos(m.JobsPerSecond)-barsLeft, slot*0.6, modeColors[m.Mode])
		text(b, barsLeft-6, top+slot*0.3+4, 11, "end", shortName(m.Mode))
		text(b, x.pos(m.JobsPerSecond)+4, top+slot*0.3+4, 11, "start", fmt.Sprintf("%.0f", m.JobsPerSecond))
	}
	line(b, barsLeft, panelTop, barsLeft, panelBottom, "#000")
}

// trimFloat prints 0.1, 1, 10, 99.9 without trailing zeros.
func trimFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
