package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// HTML reports are one self-contained file each: html/template (so
// anything a server sent is escaped), inline CSS, charts as inline SVG
// built in Go, no script and no external resource, so the file opens from
// file:// offline and prints as it shows.

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"ms":       FormatMS,
	"pct":      fmtPercent,
	"count":    func(n int64) string { return groupDigits(n) },
	"value":    FormatValue,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"dateTime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}).ParseFS(templateFS, "templates/*.tmpl"))

// maxHTMLText bounds one text taken from a server (evidence, an error
// sample) in the page.
const maxHTMLText = 64 << 10

// Verdict is a report's headline.
type verdictView struct {
	Class    string // pass, fail, warn, info
	Label    string // PASSED, FAILED, PARTIAL, DONE
	Headline string
	Details  []string
}

type kv struct {
	Key, Value string
	Class      string
}

type factView struct {
	Label, Value, Sub, Class string
}

type chartView struct {
	ID, Title, Desc string
	SVG             template.HTML
}

type metricView struct {
	Name, Desc                    string
	Count                         int64
	Min, Mean, P50, P90, P99, Max string
	P999                          string
	Chart                         template.HTML
	Err                           string
}

type endView struct {
	Class, Desc, Share, Sample string
	Count                      int64
	Abnormal                   bool
}

// eventNamesView is one table of per-name event counts.
type eventNamesView struct {
	Title, Desc string
	Rows        []eventNameRow
	Delivery    bool // some row has delivery samples
}

type eventNameRow struct {
	Name, Share, P50, P99, Max string
	Count                      int64
	Other                      bool // the events past the bound on names
}

type thresholdView struct {
	Expr, Value, Note string
	Passed            bool
}

type loadView struct {
	Title       string
	Verdict     verdictView
	R           *Result
	Facts       []factView
	Thresholds  []thresholdView
	TimeCharts  []chartView
	Metrics     []metricView
	DistCharts  []chartView
	Ends        []endView
	Samples     []kv // error samples of classes not in Ends
	Counters    []kv
	EventNames  []eventNamesView
	Generator   []kv
	Saturated   string
	Scenario    []kv
	Subtitle    []string
	Run         []kv
	Notes       []string
	SeriesNotes []string
	Words       wordsView
}

// wordsView names what a run's streams are: long-lived streams in
// subscribe mode, requests (one streamed answer each) in request mode.
type wordsView struct {
	Section, SectionID, EndsTitle, EndsUnit, NoEnds string
}

var streamWords = wordsView{Section: "Streams and events", SectionID: "streams", EndsTitle: "Why streams ended",
	EndsUnit: "Streams", NoEnds: "No stream ended during the run."}

var requestWords = wordsView{Section: "Requests and tokens", SectionID: "requests", EndsTitle: "Why answers ended",
	EndsUnit: "Requests", NoEnds: "No answer ended during the run."}

// WriteHTML renders a load result as a self-contained HTML page.
func WriteHTML(w io.Writer, r *Result) error {
	v := buildLoadView(r)
	return templates.ExecuteTemplate(w, "load.html.tmpl", v)
}

func buildLoadView(r *Result) *loadView {
	v := &loadView{R: r, Title: "ssebench load report: " + r.Target, Words: streamWords}
	c := r.Counters
	for _, t := range r.Thresholds {
		tv := thresholdView{Expr: t.Expr, Value: ShownValue(t), Note: t.Note, Passed: t.Passed}
		if t.Note != "" {
			tv.Value = "—"
		}
		v.Thresholds = append(v.Thresholds, tv)
	}

	// The banner is Verdict's, as the summary and the exit code are.
	verdict := Verdict(r)
	vd := verdictView{Label: verdict.Label, Headline: verdict.Headline}
	switch verdict.Kind {
	case VerdictPassed:
		vd.Class = "pass"
	case VerdictCompleted:
		vd.Class = "info"
	case VerdictInterrupted:
		vd.Class = "warn"
	default:
		vd.Class = "fail"
	}
	if r.Partial {
		vd.Details = append(vd.Details, "Partial run: "+r.PartialReason+". Everything measured until then is shown.")
	}
	if r.Generator.Saturated {
		vd.Details = append(vd.Details, "Generator saturated: "+r.Generator.SaturatedReason+
			". Latencies may reflect the load generator rather than the server; use more generator processes (--shard).")
	}
	if lost := c.EventsLost + c.EventsDuplicated; lost > 0 {
		vd.Details = append(vd.Details, fmt.Sprintf("%s events lost and %s duplicated (sequence gaps and repeats).",
			groupDigits(c.EventsLost), groupDigits(c.EventsDuplicated)))
	}
	for _, w := range CounterWarnings(c) {
		vd.Details = append(vd.Details, w+".")
	}
	v.Verdict = vd

	// Key numbers.
	var peakOpen, peakTarget int64
	for _, p := range LoadPoints(r.Timeseries) {
		peakOpen = max(peakOpen, p.Open)
		peakTarget = max(peakTarget, p.Target)
	}
	attempts := c.StreamsOpened + c.StreamsFailed
	failShare := 0.0
	if attempts > 0 {
		failShare = float64(c.StreamsFailed) / float64(attempts)
	}
	evRate := r.EventRate()
	openClass := ""
	if peakTarget > 0 && peakOpen < peakTarget*95/100 {
		openClass = "bad"
	}
	v.Facts = []factView{
		{Label: "Peak open streams", Value: groupDigits(peakOpen), Sub: "target " + groupDigits(peakTarget), Class: openClass},
		{Label: "Streams failed", Value: groupDigits(c.StreamsFailed), Sub: fmtPercent(failShare) + " of " + groupDigits(attempts) + " attempts", Class: badIf(c.StreamsFailed > 0)},
		{Label: "Events received", Value: groupDigits(c.Events), Sub: fmt.Sprintf("%s/s", groupDigits(int64(math.Round(evRate))))},
		{Label: "Events lost / duplicated", Value: groupDigits(c.EventsLost) + " / " + groupDigits(c.EventsDuplicated), Class: badIf(c.EventsLost+c.EventsDuplicated > 0)},
	}
	for _, name := range []string{MetricFirstEvent, MetricDelivery, MetricPublishDelivery} {
		if m := r.Metrics[name]; m.Count > 0 {
			v.Facts = append(v.Facts, factView{Label: name + " p99", Value: FormatMS(m.P99MS), Sub: "p50 " + FormatMS(m.P50MS) + " · max " + FormatMS(m.MaxMS)})
		}
	}
	v.Facts = append(v.Facts, factView{Label: "Duration", Value: fmtSeconds(r.DurationS), Sub: "reconnects " + groupDigits(c.Reconnects)})

	v.TimeCharts = timeCharts(r)
	v.Metrics, v.DistCharts = metricViews(r)
	if r.IsRequestMode() {
		v.Words = requestWords
		v.Facts = requestFacts(r)
		v.TimeCharts = requestTimeCharts(r)
		v.Metrics, v.DistCharts = requestMetricViews(r)
	}
	if r.Merged > 1 {
		v.SeriesNotes = append(v.SeriesNotes, "Per-second latency percentiles of a merged result are the highest of the inputs' values for that second: an upper bound, since per-second histograms are not kept.")
	}

	// Why streams ended.
	var ends int64
	for _, n := range c.Ends {
		ends += n
	}
	for _, k := range sortedByCount(c.Ends) {
		n := c.Ends[k]
		e := endView{Class: k, Count: n, Desc: EndDesc(r.Mode, k), Sample: serverText(c.ErrorSamples[k]), Abnormal: EndIsError(r.Mode, k)}
		if ends > 0 {
			e.Share = fmtPercent(float64(n) / float64(ends))
		}
		v.Ends = append(v.Ends, e)
	}
	for _, k := range sortedKeys(c.ErrorSamples) {
		if _, ok := c.Ends[k]; !ok {
			v.Samples = append(v.Samples, kv{Key: k, Value: serverText(c.ErrorSamples[k])})
		}
	}
	rate := func(num, den int64) string {
		if den == 0 {
			return ""
		}
		return fmtPercent(float64(num) / float64(den))
	}
	if r.IsRequestMode() {
		v.Counters = []kv{
			{Key: "requests", Value: groupDigits(c.Requests)},
			{Key: "requests_ok", Value: groupDigits(c.RequestsOK), Class: rate(c.RequestsOK, c.Requests)},
			{Key: "requests_good", Value: groupDigits(c.RequestsGood), Class: rate(c.RequestsGood, c.Requests)},
			{Key: "requests_failed", Value: groupDigits(c.Requests - c.RequestsOK), Class: rate(c.Requests-c.RequestsOK, c.Requests)},
			{Key: "requests_cut", Value: groupDigits(c.RequestsCut), Class: rate(c.RequestsCut, c.Requests)},
			{Key: "tokens", Value: groupDigits(c.Tokens) + " (answers that ended normally)"},
			{Key: "tokens_cut", Value: groupDigits(c.TokensCut) + " (cut answers, not in throughput)"},
			{Key: "tokens_failed", Value: groupDigits(c.TokensFailed) + " (failed answers, not in throughput)"},
			{Key: "events", Value: groupDigits(c.Events)},
			{Key: "comments", Value: groupDigits(c.Comments)},
			{Key: "bytes", Value: groupDigits(c.Bytes) + " (" + fmtBytes(c.Bytes) + ")"},
		}
	} else {
		v.Counters = []kv{
			{Key: "streams_opened", Value: groupDigits(c.StreamsOpened)},
			{Key: "streams_failed", Value: groupDigits(c.StreamsFailed), Class: rate(c.StreamsFailed, attempts)},
			{Key: "reconnects", Value: groupDigits(c.Reconnects)},
			{Key: "events", Value: groupDigits(c.Events)},
			{Key: "events_lost", Value: groupDigits(c.EventsLost), Class: rate(c.EventsLost, c.Events+c.EventsLost)},
			{Key: "events_duplicated", Value: groupDigits(c.EventsDuplicated), Class: rate(c.EventsDuplicated, c.Events)},
			{Key: "comments", Value: groupDigits(c.Comments)},
			{Key: "bytes", Value: groupDigits(c.Bytes) + " (" + fmtBytes(c.Bytes) + ")"},
			{Key: "publishes", Value: groupDigits(c.Publishes)},
			{Key: "publish_errors", Value: groupDigits(c.PublishErrors), Class: rate(c.PublishErrors, c.Publishes+c.PublishErrors)},
			{Key: "clock_skew", Value: groupDigits(c.ClockSkew)},
		}
	}

	v.EventNames = eventNamesViews(r)

	g := r.Generator
	cpuShare := ""
	if r.DurationS > 0 && g.Procs > 0 {
		cpuShare = fmt.Sprintf(" (%.0f%% of %d cores)", 100*g.CPUSeconds/(r.DurationS*float64(g.Procs)), g.Procs)
	}
	v.Generator = []kv{
		{Key: "CPU", Value: fmt.Sprintf("%.1f s", g.CPUSeconds) + cpuShare},
		{Key: "Peak memory (RSS)", Value: fmtBytes(g.PeakRSSBytes)},
		{Key: "Worst timer lag", Value: FormatMS(g.MaxLagMS)},
	}
	if m := r.Metrics[MetricLag]; m.Count > 0 {
		v.Generator = append(v.Generator, kv{Key: "Connection start lag p99 / max", Value: FormatMS(m.P99MS) + " / " + FormatMS(m.MaxMS)})
	}
	v.Generator = append(v.Generator,
		kv{Key: "Peak goroutines", Value: groupDigits(int64(g.PeakGoroutines))},
		kv{Key: "GOMAXPROCS", Value: fmt.Sprint(g.Procs)},
	)
	if g.Saturated {
		v.Saturated = g.SaturatedReason
	}

	v.Scenario = scenarioSummary(r.Scenario)
	for _, kv := range v.Scenario {
		if kv.Key == "Name" || kv.Key == "Load shape" {
			v.Subtitle = append(v.Subtitle, kv.Value)
		}
	}
	v.Subtitle = append(v.Subtitle,
		fmtSeconds(r.DurationS)+" from "+r.Start.UTC().Format("2006-01-02 15:04:05 UTC"),
		"ssebench "+r.Version+" ("+r.GoVersion+")")
	if r.Shard != "" {
		v.Subtitle = append(v.Subtitle, "shard "+r.Shard)
	}
	if r.Merged > 1 {
		v.Subtitle = append(v.Subtitle, fmt.Sprintf("merged from %d results", r.Merged))
	}
	v.Run = []kv{{Key: "Target", Value: r.Target}}
	if r.Command != "" {
		v.Run = append(v.Run, kv{Key: "Command", Value: "ssebench " + r.Command})
	}
	v.Run = append(v.Run,
		kv{Key: "Start", Value: r.Start.UTC().Format("2006-01-02 15:04:05 UTC")},
		kv{Key: "Duration", Value: fmtSeconds(r.DurationS)},
	)
	if r.Shard != "" {
		v.Run = append(v.Run, kv{Key: "Shard", Value: r.Shard})
	}
	if r.Merged > 1 {
		v.Run = append(v.Run, kv{Key: "Merged", Value: fmt.Sprintf("%d results", r.Merged)})
	}
	v.Run = append(v.Run,
		kv{Key: "Generator host", Value: r.Host},
		kv{Key: "ssebench", Value: r.Version},
		kv{Key: "Go", Value: r.GoVersion},
	)
	v.Notes = r.Notes
	return v
}

func badIf(b bool) string {
	if b {
		return "bad"
	}
	return ""
}

// interval returns each point's length in seconds (the first from 0).
func intervals(ts []Point) []float64 {
	out := make([]float64, len(ts))
	prev := 0.0
	for i, p := range ts {
		out[i] = p.T - prev
		prev = p.T
	}
	return out
}

// timeSeries turns a result's time series into chart lines. The teardown
// point (streams closing at the end) is not load: it is left out of every
// line, or open streams would collapse to 0 and rates dip at the end.
type timeSeries struct {
	ts  []Point
	dts []float64
}

func newTimeSeries(ts []Point) timeSeries {
	ts = LoadPoints(ts)
	return timeSeries{ts: ts, dts: intervals(ts)}
}

// gauge is a value sampled each second.
func (t timeSeries) gauge(name string, f func(Point) float64) Series {
	s := Series{Name: name}
	for _, p := range t.ts {
		s.Points = append(s.Points, XY{p.T, f(p)})
	}
	return s
}

// perSec is a count per second; a short interval (a run interrupted
// between ticks) would read as a spike or a dip, so it is left out of
// rate lines.
func (t timeSeries) perSec(name string, f func(Point) int64) Series {
	s := Series{Name: name}
	for i, p := range t.ts {
		if t.dts[i] < 0.5 {
			continue
		}
		s.Points = append(s.Points, XY{p.T, float64(f(p)) / t.dts[i]})
	}
	return s
}

// lat is a latency line; it skips seconds with no sample rather than
// dropping to 0.
func (t timeSeries) lat(name string, f func(Point) float64) Series {
	s := Series{Name: name}
	for _, p := range t.ts {
		if y := f(p); y > 0 {
			s.Points = append(s.Points, XY{p.T, y})
		}
	}
	return s
}

// xAxis spans the whole run on every time chart, so they line up by eye.
func (t timeSeries) xAxis() Axis {
	x := Axis{Scale: Time, Label: "time since start"}
	if n := len(t.ts); n > 0 && t.ts[n-1].T > 0 {
		x.Max = t.ts[n-1].T
	}
	return x
}

func timeCharts(r *Result) []chartView {
	tsr := newTimeSeries(r.Timeseries)
	series, perSec, lat := tsr.gauge, tsr.perSec, tsr.lat
	x := tsr.xAxis()
	count := Axis{Label: "streams"}
	msAxis := Axis{Label: "latency", Format: FormatAxisMS}
	target := series("target", func(p Point) float64 { return float64(p.Target) })
	target.Color, target.Dash = "#64748b", true
	open := series("open", func(p Point) float64 { return float64(p.Open) })
	open.Color = Palette[0]

	charts := []struct {
		c    Chart
		desc string
	}{
		{Chart{ID: "open-streams", Title: "Open streams vs target", X: x, Y: count, Series: []Series{target, open}},
			"Streams open at each second, against the number the schedule asked for."},
		{Chart{ID: "connects-failures", Title: "Connects and failures per second", X: x, Y: Axis{Label: "per second"},
			Series: []Series{
				colored(perSec("connects/s", func(p Point) int64 { return p.Connects }), Palette[2]),
				colored(perSec("failures/s", func(p Point) int64 { return p.Failures }), Palette[1]),
			}},
			"New streams (answered 200 text/event-stream) and connection attempts that did not become a stream."},
		{Chart{ID: "events", Title: "Events per second", X: x, Y: Axis{Label: "events/s"},
			Series: []Series{colored(perSec("events/s", func(p Point) int64 { return p.Events }), Palette[0])}},
			"Events dispatched across all streams."},
		{Chart{ID: "first-event-latency", Title: "First-event latency", X: x, Y: msAxis,
			Series: []Series{
				colored(lat("p50", func(p Point) float64 { return p.FirstEventP50MS }), Palette[0]),
				colored(lat("p99", func(p Point) float64 { return p.FirstEventP99MS }), Palette[4]),
			}, Lines: thresholdLines(r, MetricFirstEvent)},
			"Scheduled connection attempt → first event, for the streams that started in each second."},
		{Chart{ID: "delivery-latency", Title: "Delivery latency", X: x, Y: msAxis,
			Series: []Series{
				colored(lat("p50", func(p Point) float64 { return p.DeliveryP50MS }), Palette[0]),
				colored(lat("p99", func(p Point) float64 { return p.DeliveryP99MS }), Palette[4]),
				colored(lat("max", func(p Point) float64 { return p.DeliveryMaxMS }), Palette[1]),
			}, Lines: thresholdLines(r, MetricDelivery)},
			"Server send timestamp → event parsed here, for the events of each second."},
		{Chart{ID: "reconnects-errors", Title: "Reconnects and errors per second", X: x, Y: Axis{Label: "per second"},
			Series: []Series{
				colored(perSec("reconnects/s", func(p Point) int64 { return p.Reconnects }), Palette[3]),
				colored(perSec("errors/s", func(p Point) int64 { return p.Errors }), Palette[1]),
			}},
			"Attempts made after a stream ended, and failures plus abnormal stream ends."},
	}
	out := make([]chartView, 0, len(charts))
	for _, c := range charts {
		out = append(out, chartView{ID: c.c.ID, Title: c.c.Title, Desc: c.desc, SVG: c.c.SVG()})
	}
	return out
}

func colored(s Series, c string) Series { s.Color = c; return s }

// thresholdLines draws a metric's upper-bound latency thresholds.
func thresholdLines(r *Result, metric string) []RefLine {
	var out []RefLine
	for _, tr := range r.Thresholds {
		t, err := ParseThreshold(tr.Expr)
		if err != nil || t.kind != kindMetric || t.metric != metric || t.Unit != UnitMS || (t.Op != "<" && t.Op != "<=") {
			continue
		}
		out = append(out, RefLine{Y: t.Bound, Label: "threshold " + t.Expr})
	}
	return out
}

func metricViews(r *Result) ([]metricView, []chartView) {
	return metricViewsOf(r, metricOrder(r.Metrics, MetricNames), func(string) bool { return true })
}

// metricViewsOf gives a table row for each of names and a percentile
// chart for those with samples that dist accepts.
func metricViewsOf(r *Result, names []string, dist func(string) bool) ([]metricView, []chartView) {
	var rows []metricView
	var charts []chartView
	for _, name := range names {
		m := r.Metrics[name]
		row := metricView{Name: name, Desc: metricDesc[name], Count: m.Count}
		if m.Count == 0 {
			row.Min, row.Mean, row.P50, row.P90, row.P99, row.P999, row.Max = "—", "—", "—", "—", "—", "—", "—"
			rows = append(rows, row)
			continue
		}
		row.Min, row.Mean, row.P50, row.P90 = FormatMS(m.MinMS), FormatMS(m.MeanMS), FormatMS(m.P50MS), FormatMS(m.P90MS)
		row.P99, row.P999, row.Max = FormatMS(m.P99MS), FormatMS(m.P999MS), FormatMS(m.MaxMS)
		rows = append(rows, row)
		if !dist(name) {
			continue
		}
		cv := chartView{ID: "dist-" + name, Title: name, Desc: metricDesc[name]}
		h, err := m.Hist()
		if err != nil || m.HDR == "" {
			if err == nil {
				err = fmt.Errorf("no histogram in this result")
			}
			cv.Desc = "percentile curve unavailable: " + err.Error()
			charts = append(charts, cv)
			continue
		}
		n := CurveNines(h.TotalCount())
		c := Chart{ID: "dist-" + name, Title: name + " latency by percentile", Width: 560, Height: 240,
			X:      Axis{Scale: Nines, Max: 100 * (1 - math.Pow(10, -n)), Label: "percentile"},
			Y:      Axis{Label: "latency", Format: FormatAxisMS},
			Series: []Series{{Name: name, Points: PercentileCurve(h, n), Color: Palette[0]}},
		}
		c.Lines = thresholdLines(r, name)
		cv.SVG = c.SVG()
		charts = append(charts, cv)
	}
	return rows, charts
}

// metricOrder lists the result's metrics: those in first, in that order,
// then any other, sorted.
func metricOrder(ms map[string]Metric, first []string) []string {
	var out []string
	for _, n := range first {
		if _, ok := ms[n]; ok {
			out = append(out, n)
		}
	}
	for _, n := range sortedKeys(ms) {
		if !slices.Contains(first, n) {
			out = append(out, n)
		}
	}
	return out
}

var metricDesc = map[string]string{
	MetricConnect:         "scheduled attempt → TCP (and TLS) connected",
	MetricHeaders:         "scheduled attempt → response headers",
	MetricFirstByte:       "scheduled attempt → first body byte",
	MetricFirstEvent:      "scheduled attempt → first event",
	MetricInterEvent:      "gap between consecutive events on one stream",
	MetricDelivery:        "server send timestamp → event parsed here",
	MetricPublishDelivery: "ssebench publish → event parsed by each subscriber",
	MetricReconnect:       "stream ended → first event of the next connection",
	MetricLifetime:        "connected → stream ended",
	MetricLag:             "scheduled attempt → attempt started (generator health)",
	MetricTTFT:            "scheduled request → first token (first event with content)",
	MetricTTFTSent:        "request sent → first token (as vLLM and LLMPerf time TTFT)",
	MetricITL:             "gap between consecutive token events of one answer",
	MetricTPOT:            "per answer: (e2e − ttft) / (output tokens − 1)",
	MetricE2E:             "scheduled request → end of the answer",
	MetricE2ESent:         "request sent → end of the answer (as vLLM and LLMPerf time E2E)",
}

// scenarioJSON is the part of a scenario (as run, redacted) the report
// shows. It is decoded here, not imported, so report stays independent of
// the scenarios package.
type scenarioJSON struct {
	Name        string            `json:"name"`
	Profile     string            `json:"profile"`
	URLs        []string          `json:"url"`
	Method      string            `json:"method"`
	Headers     map[string]string `json:"headers"`
	Connections int               `json:"connections"`
	ArrivalRate float64           `json:"arrival_rate"`
	Stages      []struct {
		Duration string  `json:"duration"`
		Target   int     `json:"target"`
		Rate     float64 `json:"rate"`
	} `json:"stages"`
	Lifetime struct {
		Min string `json:"min"`
		Max string `json:"max"`
	} `json:"lifetime"`
	Reconnect struct {
		Policy string `json:"policy"`
		Max    int    `json:"max"`
	} `json:"reconnect"`
	Chaos struct {
		Drop *struct {
			Percent float64 `json:"percent"`
			Every   string  `json:"every"`
		} `json:"drop"`
	} `json:"chaos"`
	Expect struct {
		LatencyField struct {
			Field  string `json:"field"`
			Format string `json:"format"`
		} `json:"latency_field"`
		Sequence  bool   `json:"sequence"`
		TypeField string `json:"type_field"`
	} `json:"expect"`
	CloseOn struct {
		Event string `json:"event"`
		Data  string `json:"data"`
	} `json:"close_on"`
	Publisher *struct {
		URL  string  `json:"url"`
		Rate float64 `json:"rate"`
	} `json:"publisher"`
	Thresholds  []string `json:"thresholds"`
	AbortOnFail bool     `json:"abort_on_fail"`
	Mode        string   `json:"mode"`
	Duration    string   `json:"duration"`
	Request     struct {
		Rate        float64 `json:"rate"`
		Arrival     string  `json:"arrival"`
		Concurrency int     `json:"concurrency"`
		MaxInFlight int     `json:"max_in_flight"`
		Count       int64   `json:"count"`
		Dataset     string  `json:"dataset"`
		Order       string  `json:"order"`
		End         struct {
			Data        string `json:"data"`
			Event       string `json:"event"`
			MaxDuration string `json:"max_duration"`
		} `json:"end"`
		Tokens struct {
			DeltaPath string `json:"delta_path"`
			Count     string `json:"count"`
			UsagePath string `json:"usage_path"`
		} `json:"tokens"`
	} `json:"request"`
}

func scenarioSummary(raw json.RawMessage) []kv {
	if len(raw) == 0 {
		return nil
	}
	var s scenarioJSON
	if err := json.Unmarshal(raw, &s); err != nil {
		return []kv{{Key: "Scenario", Value: "unreadable: " + err.Error()}}
	}
	var out []kv
	add := func(k, v string) {
		if v != "" {
			out = append(out, kv{Key: k, Value: v})
		}
	}
	add("Name", s.Name)
	add("Profile", s.Profile)
	for i, u := range s.URLs {
		k := "URL"
		if len(s.URLs) > 1 {
			k = fmt.Sprintf("URL %d", i+1)
		}
		add(k, u)
	}
	if s.Method != "" && s.Method != "GET" {
		add("Method", s.Method)
	}
	for _, h := range sortedKeys(s.Headers) {
		add("Header", h+": "+s.Headers[h])
	}
	if s.Mode == ModeRequest {
		add("Mode", "request (one streamed answer per request)")
		requestScenarioSummary(&s, add)
		addThresholds(&s, add)
		return out
	}
	var shape []string
	prev := 0
	for _, st := range s.Stages {
		step := ""
		if st.Target == prev {
			step = fmt.Sprintf("hold %s for %s", groupDigits(int64(st.Target)), st.Duration)
		} else {
			step = fmt.Sprintf("%s → %s over %s", groupDigits(int64(prev)), groupDigits(int64(st.Target)), st.Duration)
		}
		if st.Rate > 0 {
			step += fmt.Sprintf(" (≤ %g attempts/s)", st.Rate)
		}
		shape = append(shape, step)
		prev = st.Target
	}
	add("Load shape", strings.Join(shape, ", then "))
	if s.Lifetime.Min != "" || s.Lifetime.Max != "" {
		lt := s.Lifetime.Min
		if s.Lifetime.Max != "" && s.Lifetime.Max != s.Lifetime.Min {
			lt = fmt.Sprintf("%s to %s", s.Lifetime.Min, s.Lifetime.Max)
		}
		add("Stream lifetime", lt)
	}
	if p := s.Reconnect.Policy; p != "" {
		if s.Reconnect.Max > 0 {
			p += fmt.Sprintf(", at most %d per stream", s.Reconnect.Max)
		}
		add("Reconnect", p)
	}
	if d := s.Chaos.Drop; d != nil {
		add("Chaos", fmt.Sprintf("drop %g%% of open streams every %s", d.Percent, d.Every))
	}
	if lf := s.Expect.LatencyField; lf.Format != "" && lf.Format != "none" {
		add("Send timestamp", fmt.Sprintf("data field %q (%s)", lf.Field, lf.Format))
	}
	if s.Expect.Sequence {
		add("Sequence check", "on (ids are increasing integers)")
	}
	if f := s.Expect.TypeField; f != "" {
		add("Type field", fmt.Sprintf("events also counted per value of data field %q", f))
	}
	var closeOn []string
	if e := s.CloseOn.Event; e != "" {
		closeOn = append(closeOn, fmt.Sprintf("an event of type %q", e))
	}
	if d := s.CloseOn.Data; d != "" {
		closeOn = append(closeOn, fmt.Sprintf("data %q", d))
	}
	add("Client closes on", strings.Join(closeOn, " or "))
	if p := s.Publisher; p != nil {
		add("Publisher", fmt.Sprintf("%g/s to %s", p.Rate, p.URL))
	}
	addThresholds(&s, add)
	return out
}

// eventNamesViews are the tables of events per event: type and per
// type_field value, most frequent first, with their delivery latency when
// the events were stamped. A run whose every event is an unnamed
// "message" has no type table.
func eventNamesViews(r *Result) []eventNamesView {
	c := r.Counters
	var other, otherField *EventCount
	if c.EventsOther != nil {
		other, otherField = c.EventsOther.Type, c.EventsOther.Field
	}
	var out []eventNamesView
	if _, plain := c.EventsByType["message"]; len(c.EventsByType) > 0 && !(len(c.EventsByType) == 1 && plain && other == nil) {
		out = append(out, eventNamesTable("Events by type", "The SSE event field of each event (message: no event: line, as EventSource dispatches it).",
			c.EventsByType, other, c.Events))
	}
	if len(c.EventsByField) > 0 || c.TypeFieldMissing > 0 {
		f := typeFieldOf(r.Scenario)
		v := eventNamesTable("Events by "+f, fmt.Sprintf("The value of the data's JSON field %q in each event.", f), c.EventsByField, otherField, c.Events)
		if n := c.TypeFieldMissing; n > 0 {
			row := eventNameRow{Name: "(without the field)", Count: n, Other: true, Share: fmtPercent(float64(n) / float64(max(c.Events, 1)))}
			if v.Delivery {
				row.P50, row.P99, row.Max = "—", "—", "—"
			}
			v.Rows = append(v.Rows, row)
		}
		out = append(out, v)
	}
	return out
}

func eventNamesTable(title, desc string, counts map[string]EventCount, other *EventCount, events int64) eventNamesView {
	v := eventNamesView{Title: title, Desc: desc}
	row := func(name string, c EventCount, isOther bool) eventNameRow {
		r := eventNameRow{Name: serverText(name), Count: c.Count, Other: isOther}
		if events > 0 {
			r.Share = fmtPercent(float64(c.Count) / float64(events))
		}
		if d := c.Delivery; d != nil && d.Count > 0 {
			v.Delivery = true
			r.P50, r.P99, r.Max = FormatMS(d.P50MS), FormatMS(d.P99MS), FormatMS(d.MaxMS)
		}
		return r
	}
	for _, n := range TopEventNames(counts) {
		v.Rows = append(v.Rows, row(n, counts[n], false))
	}
	if other != nil {
		v.Rows = append(v.Rows, row(fmt.Sprintf("(other names, past the first %d)", MaxEventNames), *other, true))
	}
	for i := range v.Rows {
		if v.Delivery && v.Rows[i].P50 == "" {
			v.Rows[i].P50, v.Rows[i].P99, v.Rows[i].Max = "—", "—", "—"
		}
	}
	return v
}

func addThresholds(s *scenarioJSON, add func(k, v string)) {
	if len(s.Thresholds) > 0 {
		th := strings.Join(s.Thresholds, "; ")
		if s.AbortOnFail {
			th += " (abort on fail)"
		}
		add("Thresholds", th)
	}
}

// Check reports.

type checkRowView struct {
	CheckResult
	Evidence string
	RefURL   string
}

type areaView struct {
	Name                 string
	Checks               []checkRowView
	Pass, Fail, Skip     int
	ErrorFails, Warnings int
}

type findingView struct {
	Finding
	Evidence string
}

type checkView struct {
	Title    string
	Verdict  verdictView
	R        *CheckReport
	Facts    []factView
	Findings []findingView
	Areas    []areaView
	Run      []kv
	Notes    []string
}

// WriteCheckHTML renders a conformance (check or diagnose) report as a
// self-contained HTML page: the verdict, diagnose's findings spelled out,
// and every check grouped by area with its status, severity, evidence and
// fix.
func WriteCheckHTML(w io.Writer, r *CheckReport) error {
	return templates.ExecuteTemplate(w, "check.html.tmpl", buildCheckView(r))
}

func buildCheckView(r *CheckReport) *checkView {
	cmd := r.Command
	if cmd == "" {
		cmd = "check"
	}
	v := &checkView{R: r, Title: "ssebench " + cmd + " report: " + r.Target}
	var pass, fail, skip, errFails, warns int
	for _, area := range checkAreas(r.Checks) {
		av := areaView{Name: area}
		for _, c := range r.Checks {
			if checkArea(c) != area {
				continue
			}
			row := checkRowView{CheckResult: c, Evidence: serverText(c.Evidence)}
			if (strings.HasPrefix(c.Ref, "https://") || strings.HasPrefix(c.Ref, "http://")) && !strings.ContainsAny(c.Ref, " \n") {
				row.RefURL = c.Ref // a link to a spec; html/template still checks it
			}
			switch c.Status {
			case StatusPass:
				av.Pass++
			case StatusFail:
				av.Fail++
				if c.Severity == SeverityError {
					av.ErrorFails++
				} else {
					av.Warnings++
				}
			default:
				av.Skip++
			}
			av.Checks = append(av.Checks, row)
		}
		pass, fail, skip = pass+av.Pass, fail+av.Fail, skip+av.Skip
		errFails, warns = errFails+av.ErrorFails, warns+av.Warnings
		v.Areas = append(v.Areas, av)
	}
	for _, f := range r.Findings {
		v.Findings = append(v.Findings, findingView{Finding: f, Evidence: serverText(f.Evidence)})
	}

	vd := verdictView{}
	switch {
	case !r.Passed:
		vd.Class, vd.Label = "fail", "FAILED"
		switch {
		case errFails > 0:
			vd.Headline = plural(errFails, "error-severity check") + " failed"
		case len(r.Findings) > 0:
			vd.Headline = plural(len(r.Findings), "problem") + " found"
		default:
			vd.Headline = "the gate failed"
		}
	case warns > 0:
		vd.Class, vd.Label = "warn", "PASSED"
		vd.Headline = "no error-severity failure; " + plural(warns, "warning") + " to look at"
	default:
		vd.Class, vd.Label = "pass", "PASSED"
		vd.Headline = fmt.Sprintf("all %d checks that ran passed", pass)
	}
	if cmd == "diagnose" && len(r.Findings) > 0 {
		vd.Details = append(vd.Details, plural(len(r.Findings), "finding")+" about the proxy: see below for the likely setting and the fix.")
	}
	v.Verdict = vd
	v.Facts = []factView{
		{Label: "Passed", Value: fmt.Sprint(pass)},
		{Label: "Failed (error)", Value: fmt.Sprint(errFails), Class: badIf(errFails > 0)},
		{Label: "Failed (warning/info)", Value: fmt.Sprint(warns), Class: warnIf(warns > 0)},
		{Label: "Skipped", Value: fmt.Sprint(skip)},
	}
	if cmd == "diagnose" || len(r.Findings) > 0 {
		v.Facts = append(v.Facts, factView{Label: "Findings", Value: fmt.Sprint(len(r.Findings)), Class: badIf(len(r.Findings) > 0)})
	}
	v.Facts = append(v.Facts, factView{Label: "Duration", Value: fmtSeconds(r.DurationS)})

	v.Run = []kv{{Key: "Target", Value: r.Target}}
	if r.Via != "" {
		v.Run = append(v.Run, kv{Key: "Via (proxy)", Value: r.Via})
	}
	v.Run = append(v.Run,
		kv{Key: "Command", Value: "ssebench " + cmd},
		kv{Key: "Start", Value: r.Start.UTC().Format("2006-01-02 15:04:05 UTC")},
		kv{Key: "Duration", Value: fmtSeconds(r.DurationS)},
		kv{Key: "Host", Value: r.Host},
		kv{Key: "ssebench", Value: r.Version},
		kv{Key: "Go", Value: r.GoVersion},
	)
	v.Notes = r.Notes
	return v
}

// serverText prepares bytes a server sent for the page: bounded, with
// invalid UTF-8 as U+FFFD and control characters written as \x1b, so a
// reader sees what was sent rather than a blank or a box.
func serverText(s string) string {
	s = strings.ToValidUTF8(clip(s, maxHTMLText), "\uFFFD")
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }

func warnIf(b bool) string {
	if b {
		return "warn"
	}
	return ""
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// groupDigits writes 1234567 as "1,234,567".
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtBytes(n int64) string {
	f := float64(n)
	switch {
	case f >= 1<<30:
		return fmt.Sprintf("%.2f GiB", f/(1<<30))
	case f >= 1<<20:
		return fmt.Sprintf("%.1f MiB", f/(1<<20))
	case f >= 1<<10:
		return fmt.Sprintf("%.1f KiB", f/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// fmtSeconds renders a run length: 950ms, 12.3s, 5m02s, 1h05m.
func fmtSeconds(s float64) string {
	switch {
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1000)
	case s < 60:
		return fmt.Sprintf("%.1fs", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}
