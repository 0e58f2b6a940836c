package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// A small chart builder that renders line charts as inline SVG, so a
// report is one self-contained file with no script library: it opens from
// file://, needs no network, and prints like the screen. Each chart is an
// <svg class="chart" data-chart="ID"> with axes, tick labels, an axis
// unit and a legend; each series is a <path class="series" data-series>.

// Scale is how an axis maps values to positions.
type Scale uint8

const (
	// Linear from the axis minimum (0 unless set) to a nice maximum.
	Linear Scale = iota
	// Time is Linear over seconds, with ticks on round seconds or minutes
	// and labels like "30s", "2m", "1m30s".
	Time
	// Log is base-10 logarithmic; values at or below zero sit on the floor.
	Log
	// Nines is for percentiles (values in percent, 0 to 100): the position
	// is the number of nines, -log10(1 - p/100), so 90%, 99%, 99.9% are
	// evenly spaced, as in HdrHistogram plots.
	Nines
)

// Axis describes one axis of a Chart.
type Axis struct {
	Label  string               // unit or name, drawn at the axis end: "seconds", "latency"
	Scale  Scale                // Linear by default
	Format func(float64) string // tick labels; nil gives plain numbers (1.5k, 2M)
	// Min and Max fix the range when Max > Min; otherwise it comes from the
	// data (a linear axis then starts at 0 and ends on a round value).
	Min, Max float64
}

// XY is one data point.
type XY struct{ X, Y float64 }

// Series is one line.
type Series struct {
	Name   string
	Points []XY
	Color  string // CSS color; "" picks the palette colour for the series' index
	Dash   bool   // dashed, for reference series such as a target
}

// RefLine is a horizontal reference line, such as a threshold.
type RefLine struct {
	Y     float64
	Label string
	Color string // "" is red
}

// Chart is one line chart. Build it, then call SVG. The zero size is
// 560×250 (a viewBox; the SVG scales to its container's width).
type Chart struct {
	ID     string // stable identifier: the data-chart attribute and element id
	Title  string // accessible name (<title>); the page shows its own heading
	X, Y   Axis
	Series []Series
	Lines  []RefLine
	Width  float64
	Height float64
}

// Palette is the series colours in order: distinguishable for common
// colour-vision deficiencies and in greyscale print (by lightness).
var Palette = []string{"#2563eb", "#dc2626", "#059669", "#9333ea", "#d97706", "#0891b2", "#475569", "#db2777"}

const (
	chartFont    = 12.0
	charWidth    = 6.8 // average glyph width at chartFont, for layout estimates
	legendSwatch = 18.0
)

func textWidth(s string) float64 { return float64(len([]rune(s))) * charWidth }

// axisMap is an axis after its range and ticks are settled.
type axisMap struct {
	lo, hi   float64 // in transformed units
	scale    Scale
	ticks    []float64 // in data units
	format   func(float64) string
	from, to float64 // pixel range
}

func (a *axisMap) tf(v float64) float64 {
	switch a.scale {
	case Log:
		if v <= 0 {
			return a.lo
		}
		return math.Log10(v)
	case Nines:
		return nines(v)
	}
	return v
}

func (a *axisMap) pos(v float64) float64 {
	t := a.tf(v)
	if a.hi == a.lo {
		return a.from
	}
	f := (t - a.lo) / (a.hi - a.lo)
	f = math.Max(-0.02, math.Min(1.02, f)) // clamp outliers just past the frame
	return a.from + f*(a.to-a.from)
}

// nines is the number of nines of a percentile: 90 → 1, 99 → 2, 99.9 → 3.
func nines(p float64) float64 {
	if p >= 100 {
		return 9
	}
	if p <= 0 {
		return 0
	}
	return -math.Log10(1 - p/100)
}

func (ax Axis) settle(points func(yield func(float64)), extra []float64) *axisMap {
	m := &axisMap{scale: ax.Scale, format: ax.Format}
	lo, hi := math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		if ax.Scale == Log && v <= 0 {
			return
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	points(see)
	for _, v := range extra {
		see(v)
	}
	if ax.Max > ax.Min {
		lo, hi = ax.Min, ax.Max
	} else if math.IsInf(lo, 1) {
		lo, hi = 0, 1
		if ax.Scale == Log {
			lo, hi = 1, 10
		}
	}
	switch ax.Scale {
	case Log:
		a, b := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if b <= a {
			b = a + 1
		}
		m.lo, m.hi = a, b
		steps := []float64{1}
		if b-a <= 2 {
			steps = []float64{1, 2, 5}
		}
		for e := a; e <= b; e++ {
			for _, s := range steps {
				if v := s * math.Pow(10, e); math.Log10(v) <= b+1e-9 {
					m.ticks = append(m.ticks, v)
				}
			}
		}
	case Nines:
		if ax.Max <= ax.Min {
			lo, hi = 0, math.Max(1, math.Ceil(nines(hi)-1e-9))
		} else {
			lo, hi = nines(lo), nines(hi)
		}
		m.lo, m.hi = lo, hi
		for n := math.Ceil(lo); n <= hi+1e-9; n++ {
			m.ticks = append(m.ticks, 100*(1-math.Pow(10, -n)))
		}
		if m.format == nil {
			m.format = formatPercentile
		}
	default:
		if ax.Max <= ax.Min {
			lo = math.Min(0, lo)
			if hi <= lo {
				hi = lo + 1
			}
		}
		step := niceStep((hi-lo)/5, ax.Scale == Time)
		// Values round up to a tick; time runs to the end of the data.
		if ax.Max <= ax.Min && ax.Scale != Time {
			hi = math.Ceil(hi/step-1e-9) * step
		}
		m.lo, m.hi = lo, hi
		for i := math.Ceil(lo/step - 1e-9); i*step <= hi+step*1e-9; i++ {
			m.ticks = append(m.ticks, roundTo(i*step, step))
		}
		if m.format == nil && ax.Scale == Time {
			m.format = formatSeconds
		}
	}
	if m.format == nil {
		m.format = formatCount
	}
	return m
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten
// (or, for time, to round seconds and minutes).
func niceStep(raw float64, time bool) float64 {
	if raw <= 0 || math.IsNaN(raw) {
		return 1
	}
	if time && raw >= 1 {
		for _, s := range []float64{1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400} {
			if s >= raw {
				return s
			}
		}
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// roundTo removes float noise from a multiple of step (0.30000000000000004).
func roundTo(v, step float64) float64 {
	d := math.Max(0, -math.Floor(math.Log10(step))+1)
	p := math.Pow(10, d)
	return math.Round(v*p) / p
}

// SVG renders the chart as an inline <svg> element.
func (c *Chart) SVG() template.HTML {
	w, h := c.Width, c.Height
	if w <= 0 {
		w = 560
	}
	if h <= 0 {
		h = 250
	}
	// A reference line far above the data would squash the data into the
	// bottom of the chart: such a line is named at the top instead.
	dataMax := math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0) {
				dataMax = math.Max(dataMax, p.Y)
			}
		}
	}
	var refYs []float64
	var shown, above []RefLine
	for _, l := range c.Lines {
		if c.Y.Max > c.Y.Min || math.IsInf(dataMax, -1) || l.Y <= 2*dataMax {
			refYs = append(refYs, l.Y)
			shown = append(shown, l)
		} else {
			above = append(above, l)
		}
	}
	xa := c.X.settle(func(see func(float64)) {
		for _, s := range c.Series {
			for _, p := range s.Points {
				see(p.X)
			}
		}
	}, nil)
	ya := c.Y.settle(func(see func(float64)) {
		for _, s := range c.Series {
			for _, p := range s.Points {
				see(p.Y)
			}
		}
	}, refYs)

	// Layout: y tick labels on the left, the y unit and the legend above
	// the plot (wrapping onto more rows rather than overlapping), x tick
	// labels and the x unit below.
	yLabelW := 0.0
	for _, t := range ya.ticks {
		yLabelW = math.Max(yLabelW, textWidth(ya.format(t)))
	}
	left := math.Max(40, yLabelW+14)
	right := 18.0
	type legendItem struct {
		x, y  float64
		name  string
		color string
		dash  bool
	}
	var legend []legendItem
	lx, row := left, 0
	if c.Y.Label != "" {
		lx = left + textWidth(c.Y.Label) + 10
	}
	for i, s := range c.Series {
		if s.Name == "" {
			continue
		}
		iw := legendSwatch + 6 + textWidth(s.Name) + 16
		if lx+iw > w-right && lx > left {
			row++
			lx = left
		}
		legend = append(legend, legendItem{x: lx, y: float64(row), name: s.Name, color: seriesColor(s, i), dash: s.Dash})
		lx += iw
	}
	// Reference lines above the data are named in the legend rows, right
	// aligned after the last entry or on a row of their own.
	type note struct {
		x, y  float64
		text  string
		color string
	}
	var notes []note
	for _, l := range above {
		text := "↑ " + l.Label + " (above the chart)"
		tw := textWidth(text)
		if lx+tw > w-right {
			row++
			lx = left
		}
		col := l.Color
		if col == "" {
			col = "#dc2626"
		}
		notes = append(notes, note{x: w - right, y: float64(row), text: text, color: col})
		lx = w - right
	}
	top := 26 + 16*float64(row)
	bottom := 40.0
	if c.X.Label == "" {
		bottom = 24
	}
	xa.from, xa.to = left, w-right
	ya.from, ya.to = h-bottom, top

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" id="chart-%s" viewBox="0 0 %s %s" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" font-size="%g">`,
		esc(c.ID), esc(c.ID), num(w), num(h), esc(c.Title), chartFont)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))

	// Grid and y ticks.
	b.WriteString(`<g class="grid">`)
	for _, t := range ya.ticks {
		y := ya.pos(t)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(left), num(y), num(w-right), num(y))
	}
	b.WriteString(`</g><g class="ticks y">`)
	for _, t := range ya.ticks {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`,
			num(left-6), num(ya.pos(t)), esc(ya.format(t)))
	}
	b.WriteString(`</g>`)
	// X ticks, skipping labels that would overlap the previous one.
	b.WriteString(`<g class="ticks x">`)
	lastEnd := math.Inf(-1)
	for _, t := range xa.ticks {
		x := xa.pos(t)
		label := xa.format(t)
		lw := textWidth(label)
		anchor, start := "middle", x-lw/2
		if x+lw/2 > w-2 {
			anchor, start = "end", x-lw
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x), num(h-bottom), num(x), num(h-bottom+4))
		if start < lastEnd+6 {
			continue
		}
		lastEnd = start + lw
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="%s">%s</text>`, num(x), num(h-bottom+16), anchor, esc(label))
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(&b, `<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(left), num(h-bottom), num(w-right), num(h-bottom))
	if c.X.Label != "" {
		fmt.Fprintf(&b, `<text class="axis-label x" x="%s" y="%s" text-anchor="middle">%s</text>`,
			num((left+w-right)/2), num(h-6), esc(c.X.Label))
	}
	if c.Y.Label != "" {
		fmt.Fprintf(&b, `<text class="axis-label y" x="%s" y="14">%s</text>`, num(left), esc(c.Y.Label))
	}

	// Reference lines, then the series on top.
	for _, l := range shown {
		col := l.Color
		if col == "" {
			col = "#dc2626"
		}
		y := ya.pos(l.Y)
		fmt.Fprintf(&b, `<g class="refline"><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="2 3"/>`,
			num(left), num(y), num(w-right), num(y), esc(col))
		if l.Label != "" {
			// Above the line, unless that would run into the legend row.
			ty := y - 5
			if ty-chartFont < top {
				ty = y + chartFont + 2
			}
			fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" style="fill:%s">%s</text>`, num(w-right-2), num(ty), esc(col), esc(l.Label))
		}
		b.WriteString(`</g>`)
	}
	drawn := 0
	fmt.Fprintf(&b, `<g class="plot">`)
	for i, s := range c.Series {
		pts := decimate(s.Points, int(w-left-right))
		if len(pts) == 0 {
			continue
		}
		drawn++
		col := seriesColor(s, i)
		dash := ""
		if s.Dash {
			dash = ` stroke-dasharray="6 4"`
		}
		var d strings.Builder
		for j, p := range pts {
			if j == 0 {
				d.WriteString("M")
			} else {
				d.WriteString(" L")
			}
			d.WriteString(num(xa.pos(p.X)))
			d.WriteString(" ")
			d.WriteString(num(ya.pos(p.Y)))
		}
		fmt.Fprintf(&b, `<path class="series" data-series="%s" d="%s" fill="none" stroke="%s" stroke-width="1.8" stroke-linejoin="round" stroke-linecap="round"%s/>`,
			esc(s.Name), d.String(), esc(col), dash)
		if len(pts) == 1 {
			fmt.Fprintf(&b, `<circle class="dot" cx="%s" cy="%s" r="2.5" fill="%s"/>`, num(xa.pos(pts[0].X)), num(ya.pos(pts[0].Y)), esc(col))
		}
	}
	b.WriteString(`</g>`)
	if drawn == 0 {
		fmt.Fprintf(&b, `<text class="nodata" x="%s" y="%s" text-anchor="middle">no data</text>`,
			num((left+w-right)/2), num((top+h-bottom)/2))
	}

	// Legend.
	b.WriteString(`<g class="legend">`)
	for _, it := range legend {
		y := 10 + 16*it.y
		dash := ""
		if it.dash {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`,
			num(it.x), num(y), num(it.x+legendSwatch), num(y), esc(it.color), dash)
		fmt.Fprintf(&b, `<text x="%s" y="%s" dominant-baseline="middle">%s</text>`, num(it.x+legendSwatch+6), num(y), esc(it.name))
	}
	for _, n := range notes {
		fmt.Fprintf(&b, `<text class="refnote" x="%s" y="%s" text-anchor="end" dominant-baseline="middle" style="fill:%s">%s</text>`,
			num(n.x), num(10+16*n.y), esc(n.color), esc(n.text))
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String())
}

func seriesColor(s Series, i int) string {
	if s.Color != "" {
		return s.Color
	}
	return Palette[i%len(Palette)]
}

// decimate keeps at most about two points per pixel column (the column's
// lowest and highest, in order), so a long soak stays a small file
// without hiding spikes.
func decimate(pts []XY, width int) []XY {
	var clean []XY
	for _, p := range pts {
		if !math.IsNaN(p.X) && !math.IsNaN(p.Y) && !math.IsInf(p.X, 0) && !math.IsInf(p.Y, 0) {
			clean = append(clean, p)
		}
	}
	if width < 50 {
		width = 50
	}
	if len(clean) <= 2*width {
		return clean
	}
	x0, x1 := clean[0].X, clean[len(clean)-1].X
	if x1 <= x0 {
		return clean[:2*width]
	}
	out := make([]XY, 0, 2*width+2)
	col := -1
	var lo, hi XY
	flush := func() {
		if col < 0 {
			return
		}
		if lo.X <= hi.X {
			out = append(out, lo)
			if hi != lo {
				out = append(out, hi)
			}
		} else {
			out = append(out, hi, lo)
		}
	}
	for _, p := range clean {
		c := int(float64(width) * (p.X - x0) / (x1 - x0))
		if c != col {
			flush()
			col, lo, hi = c, p, p
			continue
		}
		if p.Y < lo.Y {
			lo = p
		}
		if p.Y > hi.Y {
			hi = p
		}
	}
	flush()
	return out
}

// PercentileCurve samples a histogram for a Nines x axis: X is the
// percentile (0 to 100), Y the value in milliseconds, from p0 up to the
// highest percentile the sample count can tell apart, then flat at the
// maximum to the axis end (maxNines). Empty for an empty histogram.
func PercentileCurve(h *hdrhistogram.Histogram, maxNines float64) []XY {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	end := math.Min(maxNines, math.Log10(float64(n)))
	const step = 0.025
	var out []XY
	for t := 0.0; t <= end+1e-9; t += step {
		p := 100 * (1 - math.Pow(10, -t))
		out = append(out, XY{p, Quantile(h, p)})
	}
	// The largest value is reached at the last resolvable percentile: a
	// step up there, then flat to the axis end.
	maxMS := usToMS(h.Max())
	if last := out[len(out)-1]; last.Y < maxMS {
		out = append(out, XY{last.X, maxMS})
	}
	if end < maxNines {
		out = append(out, XY{100 * (1 - math.Pow(10, -maxNines)), maxMS})
	}
	return out
}

// CurveNines is the Nines axis length that fits a histogram of n samples:
// one more nine than n can resolve is pointless, fewer hides the tail.
func CurveNines(n int64) float64 {
	if n <= 10 {
		return 1
	}
	return math.Min(6, math.Ceil(math.Log10(float64(n))))
}

func esc(s string) string { return html.EscapeString(s) }

// num writes a coordinate with one decimal, trimmed ("12", "12.5").
func num(f float64) string {
	s := strconv.FormatFloat(math.Round(f*10)/10, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

// formatPercentile labels a Nines tick: 0%, 90%, 99%, 99.9%, 99.99%.
func formatPercentile(p float64) string {
	if p <= 0 {
		return "0%"
	}
	switch n := int(math.Round(nines(p))); {
	case n <= 1:
		return "90%"
	case n == 2:
		return "99%"
	default:
		return "99." + strings.Repeat("9", n-2) + "%"
	}
}

// formatSeconds labels a Time tick: 45s, 2m, 1m30s, 1h, 1h30m.
func formatSeconds(s float64) string {
	sec := int64(math.Round(s))
	switch {
	case sec < 60:
		return strconv.FormatInt(sec, 10) + "s"
	case sec < 3600:
		if sec%60 == 0 {
			return strconv.FormatInt(sec/60, 10) + "m"
		}
		return fmt.Sprintf("%dm%02ds", sec/60, sec%60)
	}
	if sec%3600 == 0 {
		return strconv.FormatInt(sec/3600, 10) + "h"
	}
	return fmt.Sprintf("%dh%02dm", sec/3600, sec%3600/60)
}

// FormatAxisMS labels a latency tick given in milliseconds: 0, 500µs,
// 250ms, 1.5s.
func FormatAxisMS(ms float64) string {
	switch {
	case ms == 0:
		return "0"
	case math.Abs(ms) < 1:
		return trimFloat(roundSig(ms*1000, 3)) + "µs"
	case math.Abs(ms) < 1000:
		return trimFloat(roundSig(ms, 3)) + "ms"
	case math.Abs(ms) < 120_000:
		return trimFloat(roundSig(ms/1000, 3)) + "s"
	}
	return trimFloat(roundSig(ms/60000, 3)) + "m"
}

// formatCount labels a count tick: 0, 750, 1.5k, 20k, 1.2M.
func formatCount(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimFloat(roundSig(v/1e9, 3)) + "G"
	case a >= 1e6:
		return trimFloat(roundSig(v/1e6, 3)) + "M"
	case a >= 1e4 || a >= 1e3 && v == math.Trunc(v/100)*100:
		return trimFloat(roundSig(v/1e3, 3)) + "k"
	}
	return trimFloat(roundSig(v, 3))
}

func roundSig(v float64, digits int) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}
