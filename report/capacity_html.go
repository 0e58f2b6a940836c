package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// capacityView is what templates/capacity.html.tmpl renders.
type capacityView struct {
	Title    string
	R        *CapacityResult
	Verdict  verdictView
	Facts    []factView
	Subtitle []string
	Charts   []chartView
	Missing  []string // why a chart is absent
	Steps    []capacityStepView
	Cost     []kv
	Run      []kv
	Notes    []string
}

type capacityStepView struct {
	Streams, Open, P50, P90, P99, EventsPerS, Failed, Errors string
	GenCPU, GenLag, ServerRSS, ServerCPU, ServerCPU1k        string
	SLOs                                                     []thresholdView
	Status, StatusClass, Reason                              string
	Refine, Knee                                             bool
}

// WriteCapacityHTML renders a capacity result as a self-contained page:
// the verdict sentence, the knee (latency percentiles against streams),
// failures, server memory and CPU with the fitted cost, and every step.
func WriteCapacityHTML(w io.Writer, r *CapacityResult) error {
	return templates.ExecuteTemplate(w, "capacity.html.tmpl", buildCapacityView(r))
}

func buildCapacityView(r *CapacityResult) *capacityView {
	v := &capacityView{R: r, Title: "ssebench capacity report: " + r.Target}
	vd := r.Verdict
	switch {
	case vd.Found:
		v.Verdict = verdictView{Class: "info", Label: "KNEE FOUND", Headline: vd.Sentence}
	case vd.HeldMax:
		v.Verdict = verdictView{Class: "pass", Label: "HELD --max", Headline: vd.Sentence}
	default:
		v.Verdict = verdictView{Class: "warn", Label: "INCONCLUSIVE", Headline: vd.Sentence}
		if vd.Reason != "" {
			v.Verdict.Details = append(v.Verdict.Details, vd.Reason)
		}
	}
	if r.Partial {
		v.Verdict.Details = append(v.Verdict.Details, "Partial: "+r.PartialReason)
	}
	for _, b := range vd.BrokenBy {
		t := thresholdView{Expr: b.Expr, Value: FormatValue(b.Value, b.Unit), Note: b.Note}
		v.Verdict.Details = append(v.Verdict.Details, fmt.Sprintf("broken by %s: measured %s%s", t.Expr, t.Value, suffix(" — ", t.Note)))
	}

	holds := "none"
	if vd.Holds > 0 {
		holds = groupDigits(int64(vd.Holds))
	}
	breaks, breaksSub := "—", "no step broke an SLO"
	if vd.Found {
		breaks = groupDigits(int64(vd.BreaksAt))
		var on []string
		for _, b := range vd.BrokenBy {
			on = append(on, sloValue(b))
		}
		breaksSub = "on " + strings.Join(on, ", ")
	}
	v.Facts = []factView{
		{Label: "Holds (every SLO met)", Value: holds, Sub: "streams"},
		{Label: "Breaks at", Value: breaks, Sub: breaksSub, Class: badIf(vd.Found)},
	}
	switch c := r.ServerCost; {
	case c.MemoryFits():
		v.Facts = append(v.Facts, factView{Label: "Server memory per stream", Value: fmtSizeApprox(c.BytesPerStream),
			Sub: fmt.Sprintf("%s base, R² %.2f", fmtSignedBytes(c.BaseRSSBytes), c.RSSR2)})
	case c != nil && c.Points >= 2:
		v.Facts = append(v.Facts, factView{Label: "Server memory per stream", Value: "—",
			Sub: fmt.Sprintf("memory did not follow the streams (R² %.2f)", c.RSSR2)})
	default:
		v.Facts = append(v.Facts, factView{Label: "Server memory per stream", Value: "—", Sub: "server not observed"})
	}
	if c := r.ServerCost; c.CPUFits() && c.CPUPer1kEvents > 0 {
		v.Facts = append(v.Facts, factView{Label: "Server CPU per 1,000 events", Value: FormatMS(c.CPUPer1kEvents * 1000),
			Sub: fmt.Sprintf("R² %.2f", c.CPUR2)})
	} else {
		v.Facts = append(v.Facts, factView{Label: "Steps judged", Value: fmt.Sprint(len(r.Steps)), Sub: fmt.Sprintf("%s hold each", fmtSeconds(r.Config.HoldS))})
	}
	v.Subtitle = []string{"SLOs: " + strings.Join(r.SLOs, " · "), fmt.Sprintf("%d steps", len(r.Steps)),
		"ran " + fmtSeconds(r.DurationS), r.Start.UTC().Format("2006-01-02 15:04 UTC")}

	v.Charts, v.Missing = capacityCharts(r)
	for _, st := range sortedSteps(r.Steps) {
		v.Steps = append(v.Steps, stepView(st, r))
	}
	if c := r.ServerCost; c != nil {
		v.Cost = []kv{{Key: "source", Value: c.Source}}
		if c.Points >= 2 {
			v.Cost = append(v.Cost,
				kv{Key: "memory per stream", Value: fmt.Sprintf("%s (fit over %d steps, R² %.3f%s)", fmtSignedBytes(c.BytesPerStream), c.Points, c.RSSR2, weakFit(c.RSSR2))},
				kv{Key: "memory base", Value: fmtSignedBytes(c.BaseRSSBytes)})
		}
		if c.CPUPer1kEvents > 0 {
			v.Cost = append(v.Cost,
				kv{Key: "CPU per 1,000 events", Value: fmt.Sprintf("%s (R² %.3f%s)", FormatMS(c.CPUPer1kEvents*1000), c.CPUR2, weakFit(c.CPUR2))},
				kv{Key: "CPU at rest", Value: fmt.Sprintf("%.1f%% of a core", c.BaseCPUPerS*100)})
		}
		if c.FDsPerStream != 0 {
			v.Cost = append(v.Cost, kv{Key: "open files per stream", Value: fmt.Sprintf("%.2f", c.FDsPerStream)})
		}
		v.Cost = append(v.Cost, kv{Key: "peak memory", Value: fmtBytes(c.PeakRSSBytes)})
		if c.PeakFDs > 0 {
			v.Cost = append(v.Cost, kv{Key: "peak open files", Value: groupDigits(c.PeakFDs)})
		}
		if c.PeakThreads > 0 {
			v.Cost = append(v.Cost, kv{Key: "peak threads", Value: groupDigits(c.PeakThreads)})
		}
		if vd.Holds > 0 && c.MemoryFits() && c.BytesPerStream > 0 {
			v.Cost = append(v.Cost, kv{Key: fmt.Sprintf("memory at %s streams", groupDigits(int64(vd.Holds))),
				Value: fmtBytes(int64(c.BaseRSSBytes + c.BytesPerStream*float64(vd.Holds)))})
		}
	}
	cf := r.Config
	stepText := fmt.Sprintf("+%s", groupDigits(int64(cf.Step)))
	if cf.Factor > 0 {
		stepText = fmt.Sprintf("×%g", cf.Factor)
	}
	v.Run = []kv{
		{Key: "staircase", Value: fmt.Sprintf("%s to %s streams, %s per step", groupDigits(int64(cf.Start)), groupDigits(int64(cf.Max)), stepText)},
		{Key: "each step", Value: fmt.Sprintf("opened over %s, held %s", fmtSeconds(cf.RampS), fmtSeconds(cf.HoldS))},
		{Key: "refinement", Value: refineText(cf.Refine)},
		{Key: "started", Value: r.Start.UTC().Format("2006-01-02 15:04:05 UTC")},
		{Key: "duration", Value: fmtSeconds(r.DurationS)},
		{Key: "host", Value: r.Host},
		{Key: "ssebench", Value: r.Version + " (" + r.GoVersion + ")"},
	}
	for _, run := range r.Runs {
		g := run.Generator
		text := fmt.Sprintf("%s; generator CPU %.1fs over %d cores, worst lag %s", fmtSeconds(run.DurationS), g.CPUSeconds, g.Procs, FormatMS(g.MaxLagMS))
		if g.Saturated {
			text += "; saturated: " + g.SaturatedReason
		}
		if run.StoppedReason != "" {
			text += "; stopped: " + run.StoppedReason
		}
		v.Run = append(v.Run, kv{Key: run.Kind + " run", Value: text})
	}
	v.Notes = r.Notes
	return v
}

func refineText(n int) string {
	if n == 0 {
		return "off"
	}
	return fmt.Sprintf("%d steps between the last good and the first bad", n)
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

func stepView(st CapacityStep, r *CapacityResult) capacityStepView {
	metric := sloMetric(r.SLOs)
	m := st.Metrics[metric]
	lat := func(v float64) string { return dashIfZero(m.Count, FormatMS(v)) }
	sv := capacityStepView{
		Streams: groupDigits(int64(st.Streams)), Open: groupDigits(st.Open), Refine: st.Refine,
		P50: lat(m.P50MS), P90: lat(m.P90MS), P99: lat(m.P99MS),
		EventsPerS: groupDigits(int64(math.Round(st.Counters.EventsPerS))), Failed: groupDigits(st.Counters.Failed),
		GenCPU: fmt.Sprintf("%.0f%%", st.Generator.CPUShare*100), GenLag: FormatMS(st.Generator.MaxLagMS), Reason: st.Reason,
		Knee: r.Verdict.Found && st.Streams == r.Verdict.BreaksAt,
	}
	var errs []string
	for _, k := range sortedByCount(st.Counters.ErrorsByKind) {
		errs = append(errs, fmt.Sprintf("%s ×%d", k, st.Counters.ErrorsByKind[k]))
	}
	sv.Errors = strings.Join(errs, ", ")
	for _, t := range st.SLOs {
		tv := thresholdView{Expr: t.Expr, Value: ShownValue(t), Note: t.Note, Passed: t.Passed}
		if t.Note != "" {
			tv.Value = "—"
		}
		sv.SLOs = append(sv.SLOs, tv)
	}
	switch {
	case st.Inconclusive:
		sv.Status, sv.StatusClass = "INCONCLUSIVE", "warn"
	case st.Passed:
		sv.Status, sv.StatusClass = "PASS", "pass"
	default:
		sv.Status, sv.StatusClass = "FAIL", "fail"
	}
	sv.ServerRSS, sv.ServerCPU, sv.ServerCPU1k = "—", "—", "—"
	if s := st.Server; s != nil {
		if s.RSSBytes >= 0 {
			sv.ServerRSS = fmtBytes(s.RSSBytes)
		}
		if s.CPUPerS >= 0 {
			sv.ServerCPU = fmt.Sprintf("%.0f%%", s.CPUPerS*100)
		}
		if s.CPUPer1kEvents > 0 {
			sv.ServerCPU1k = FormatMS(s.CPUPer1kEvents * 1000)
		}
	}
	return sv
}

// capacityCharts draws the knee and the server's cost against streams.
// Steps are plotted by their target streams, refinement steps included.
func capacityCharts(r *CapacityResult) ([]chartView, []string) {
	steps := sortedSteps(r.Steps)
	vd := r.Verdict
	x := Axis{Label: "concurrent streams"}
	// The knee: a dashed vertical line at the first failing step.
	knee := func(top float64) []Series {
		if !vd.Found || top <= 0 {
			return nil
		}
		k := float64(vd.BreaksAt)
		return []Series{{Name: "breaks at " + groupDigits(int64(vd.BreaksAt)), Points: []XY{{k, 0}, {k, top}}, Color: "#dc2626", Dash: true}}
	}
	var out []chartView
	var missing []string
	add := func(c Chart, desc string) {
		out = append(out, chartView{ID: c.ID, Title: c.Title, Desc: desc, SVG: c.SVG()})
	}

	// Latency percentiles against streams, with the SLO lines.
	metric := sloMetric(r.SLOs)
	var p50, p90, p99 Series
	p50 = Series{Name: "p50", Color: Palette[0]}
	p90 = Series{Name: "p90", Color: Palette[2]}
	p99 = Series{Name: "p99", Color: Palette[4]}
	top := 0.0
	for _, st := range steps {
		m := st.Metrics[metric]
		if m.Count == 0 {
			continue
		}
		xv := float64(st.Streams)
		p50.Points = append(p50.Points, XY{xv, m.P50MS})
		p90.Points = append(p90.Points, XY{xv, m.P90MS})
		p99.Points = append(p99.Points, XY{xv, m.P99MS})
		top = math.Max(top, m.P99MS)
	}
	lines := sloLines(r.SLOs, metric)
	for _, l := range lines {
		top = math.Max(top, l.Y)
	}
	if len(p99.Points) > 0 {
		c := Chart{ID: "latency-vs-streams", Title: upperFirst(metric) + " latency against concurrent streams", X: x,
			Y: Axis{Label: metric + " latency", Format: FormatAxisMS}, Series: append([]Series{p50, p90, p99}, knee(top)...), Lines: lines}
		add(c, fmt.Sprintf("%s percentiles over each step's hold (HdrHistogram of the hold alone), against the step's streams; the dashed red line is the first step that broke an SLO.", metric))
	} else {
		missing = append(missing, "No "+metric+" latency was measured, so the latency chart is left out.")
	}

	// Failures against streams.
	fail := Series{Name: "failed attempts %", Color: Palette[1]}
	errs := Series{Name: "errors per 1,000 streams", Color: Palette[3]}
	ftop := 0.0
	for _, st := range steps {
		c := st.Counters
		att := c.Opened + c.Failed
		share := 0.0
		if att > 0 {
			share = 100 * float64(c.Failed) / float64(att)
		}
		var e int64
		for _, n := range c.ErrorsByKind {
			e += n
		}
		perK := 1000 * float64(e) / float64(max(1, st.Streams))
		fail.Points = append(fail.Points, XY{float64(st.Streams), share})
		errs.Points = append(errs.Points, XY{float64(st.Streams), perK})
		ftop = math.Max(ftop, math.Max(share, perK))
	}
	var flines []RefLine
	for _, e := range r.SLOs {
		if t, err := ParseThreshold(e); err == nil && t.kind == kindRate && t.counter == "streams_failed" && (t.Op == "<" || t.Op == "<=") {
			flines = append(flines, RefLine{Y: t.Bound * 100, Label: "SLO " + t.Expr})
		}
	}
	if len(steps) > 0 {
		add(Chart{ID: "failures-vs-streams", Title: "Failures against concurrent streams", X: x, Y: Axis{Label: "per step"},
			Series: append([]Series{fail, errs}, knee(math.Max(ftop, 1))...), Lines: flines},
			"Share of the step's connection attempts that did not become a stream, and errors (failures plus abnormal ends) per 1,000 streams, over each whole step.")
	}

	// Server memory against streams, with the fitted line.
	c := r.ServerCost
	if c == nil {
		missing = append(missing, "The server was not observed: run with --server-pid PID (local) or --server-metrics URL (Prometheus) to measure its memory and CPU per stream.")
		return out, missing
	}
	rss := Series{Name: "server RSS", Color: Palette[0]}
	var xs []float64
	searchOnly := 0
	for _, st := range steps {
		if !st.Refine && st.Server != nil && st.Server.RSSBytes > 0 {
			searchOnly++
		}
	}
	for _, st := range steps {
		if st.Server != nil && st.Server.RSSBytes > 0 && (!st.Refine || searchOnly < 2) {
			rss.Points = append(rss.Points, XY{float64(st.Open), float64(st.Server.RSSBytes) / (1 << 20)})
			xs = append(xs, float64(st.Open))
		}
	}
	if len(rss.Points) > 0 {
		series := []Series{rss}
		if c.Points >= 2 && len(xs) > 0 {
			lo, hi := slicesMin(xs), slicesMax(xs)
			series = append(series, Series{Name: fmt.Sprintf("fit: %s per stream", fmtSizeApprox(c.BytesPerStream)), Color: "#64748b", Dash: true,
				Points: []XY{{lo, (c.BaseRSSBytes + c.BytesPerStream*lo) / (1 << 20)}, {hi, (c.BaseRSSBytes + c.BytesPerStream*hi) / (1 << 20)}}})
		}
		add(Chart{ID: "server-rss-vs-streams", Title: "Server memory against open streams", X: Axis{Label: "open streams"},
			Y: Axis{Label: "RSS (MiB)"}, Series: series},
			fmt.Sprintf("Mean resident memory of %s over each hold of the search; the dashed line is the least-squares fit whose slope is the memory one stream costs. Refinement steps are in the table, not here: by then the server's memory had already grown to the first bad step.", c.Source))
	} else {
		missing = append(missing, "No server memory sample fell in a hold, so the memory chart is left out.")
	}

	cpu := Series{Name: "server CPU", Color: Palette[3]}
	var ex []float64
	for _, st := range steps {
		if st.Server != nil && st.Server.CPUPerS >= 0 && st.Server.Samples >= 2 {
			cpu.Points = append(cpu.Points, XY{st.Counters.EventsPerS, st.Server.CPUPerS * 100})
			ex = append(ex, st.Counters.EventsPerS)
		}
	}
	sortXY(cpu.Points)
	if len(cpu.Points) > 0 {
		series := []Series{cpu}
		if c.CPUPer1kEvents > 0 && len(ex) > 0 {
			lo, hi := slicesMin(ex), slicesMax(ex)
			k := c.CPUPer1kEvents / 1000
			series = append(series, Series{Name: fmt.Sprintf("fit: %s per 1,000 events", FormatMS(c.CPUPer1kEvents*1000)), Color: "#64748b", Dash: true,
				Points: []XY{{lo, (c.BaseCPUPerS + k*lo) * 100}, {hi, (c.BaseCPUPerS + k*hi) * 100}}})
		}
		add(Chart{ID: "server-cpu-vs-events", Title: "Server CPU against events delivered per second", X: Axis{Label: "events/s (delivered here)"},
			Y: Axis{Label: "CPU (% of one core)"}, Series: series},
			"CPU time the server used per second over each hold, against the events per second this generator received; the dashed fit's slope is the CPU per 1,000 events.")
	} else {
		missing = append(missing, "Too few server CPU samples per hold (need two) for the CPU chart.")
	}
	return out, missing
}

func sortXY(p []XY) {
	slices.SortStableFunc(p, func(a, b XY) int { return cmp.Compare(a.X, b.X) })
}

func slicesMin(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

func slicesMax(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// sloLines draws a latency metric's upper-bound SLOs.
func sloLines(slos []string, metric string) []RefLine {
	var out []RefLine
	for _, e := range slos {
		t, err := ParseThreshold(e)
		if err != nil || t.kind != kindMetric || t.metric != metric || t.Unit != UnitMS || (t.Op != "<" && t.Op != "<=") {
			continue
		}
		out = append(out, RefLine{Y: t.Bound, Label: "SLO " + t.Expr})
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
