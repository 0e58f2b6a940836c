package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// CapacitySchema names the version of the capacity result JSON.
const CapacitySchema = "ssebench/capacity/v1"

// CapacityResult is one capacity search (`ssebench capacity`): a staircase
// of concurrent streams, each step judged on its SLOs, the knee it found,
// and what each stream cost the server. It is the JSON every capacity
// rendering comes from. Not safe for concurrent use while being built.
type CapacityResult struct {
	Schema    string          `json:"schema"`
	Version   string          `json:"version"`
	GoVersion string          `json:"go_version"`
	Host      string          `json:"host"`
	Command   string          `json:"command,omitempty"`
	Target    string          `json:"target"`             // redacted
	Scenario  json.RawMessage `json:"scenario,omitempty"` // the base scenario (target, headers, timeouts), redacted
	Start     time.Time       `json:"start"`
	End       time.Time       `json:"end"`
	DurationS float64         `json:"duration_s"`
	SLOs      []string        `json:"slos"`
	Config    CapacityConfig  `json:"config"`
	// Steps are in the order they ran: the search staircase, then the
	// refinement steps (Refine true) between the last good and first bad.
	Steps   []CapacityStep  `json:"steps"`
	Verdict CapacityVerdict `json:"verdict"`
	// ServerCost is the server's cost per stream and per event, fitted
	// across steps; nil when the server was not observed.
	ServerCost    *ServerCost   `json:"server_cost,omitempty"`
	ServerSamples []ServerPoint `json:"server_samples,omitempty"`
	// Runs are the load runs the search made (search, then refine).
	Runs          []CapacityRun `json:"runs"`
	Notes         []string      `json:"notes,omitempty"`
	Partial       bool          `json:"partial"`
	PartialReason string        `json:"partial_reason,omitempty"`
}

// CapacityConfig is how the search was set up.
type CapacityConfig struct {
	Start  int     `json:"start"`            // streams at the first step
	Step   int     `json:"step,omitempty"`   // streams added per step (or Factor)
	Factor float64 `json:"factor,omitempty"` // streams multiplied per step (or Step)
	Max    int     `json:"max"`              // the last step at most
	HoldS  float64 `json:"hold_s"`           // seconds each step is held (and judged on)
	RampS  float64 `json:"ramp_s"`           // seconds each step's new streams are opened over
	Refine int     `json:"refine"`           // refinement steps between last good and first bad
	// ServerPID or ServerMetrics is how the server was observed.
	ServerPID     int    `json:"server_pid,omitempty"`
	ServerMetrics string `json:"server_metrics,omitempty"`
}

// CapacityStep is one step of the staircase.
type CapacityStep struct {
	Streams int   `json:"streams"` // the step's target
	Open    int64 `json:"open"`    // streams open at the end of the hold
	Refine  bool  `json:"refine,omitempty"`
	// Times in seconds since the search started.
	StartS     float64 `json:"start_s"`      // ramp start
	HoldStartS float64 `json:"hold_start_s"` // ramp end, hold start
	EndS       float64 `json:"end_s"`        // hold end
	// Metrics: delivery-side latencies (delivery, inter_event,
	// publish_delivery, reconnect, lifetime) over the hold only, so
	// connection setup does not pollute them; setup latencies (connect,
	// headers, first_byte, first_event, schedule_lag) over the whole step,
	// ramp included, since that is when this step's streams connected.
	Metrics  map[string]Metric `json:"metrics"`
	Counters StepCounters      `json:"counters"`
	SLOs     []ThresholdResult `json:"slos"`
	Passed   bool              `json:"passed"` // every SLO met
	// Inconclusive: the step cannot be counted for or against the server
	// (the generator was saturated, or an SLO had nothing to measure).
	Inconclusive bool          `json:"inconclusive,omitempty"`
	Reason       string        `json:"reason,omitempty"`
	Generator    StepGenerator `json:"generator"`
	Server       *StepServer   `json:"server,omitempty"`
}

// StepCounters are one step's counts, over the whole step (its ramp made
// the step's connection attempts), except EventsPerS, over the hold.
type StepCounters struct {
	Opened       int64            `json:"opened"`
	Failed       int64            `json:"failed"`
	Events       int64            `json:"events"`
	EventsPerS   float64          `json:"events_per_s"` // over the hold
	Reconnects   int64            `json:"reconnects"`
	EventsLost   int64            `json:"events_lost,omitempty"`
	Ends         map[string]int64 `json:"ends,omitempty"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind,omitempty"`
}

// StepGenerator is how the generator itself fared during a step's hold.
type StepGenerator struct {
	CPUShare    float64 `json:"cpu_share"`     // mean CPU over the hold, as a share of all cores
	MaxCPUShare float64 `json:"max_cpu_share"` // busiest second
	HotSeconds  int     `json:"hot_seconds"`   // seconds at or above 95% CPU
	Seconds     int     `json:"seconds"`       // seconds sampled
	MaxLagMS    float64 `json:"max_lag_ms"`    // worst timer lag
	Saturated   string  `json:"saturated,omitempty"`
}

// StepServer is the observed server during a step's hold.
type StepServer struct {
	RSSBytes       int64   `json:"rss_bytes"`         // mean resident memory
	CPUPerS        float64 `json:"cpu_per_s"`         // CPU-seconds per second (1 = one core busy)
	CPUPer1kEvents float64 `json:"cpu_per_1k_events"` // CPU-seconds per 1,000 events delivered here
	OpenFDs        int64   `json:"open_fds"`          // mean; -1 unknown
	Threads        int64   `json:"threads"`           // mean; -1 unknown
	Samples        int     `json:"samples"`
}

// CapacityVerdict is the answer.
type CapacityVerdict struct {
	// Found: a step broke an SLO while the generator was healthy.
	Found bool `json:"found"`
	// Holds is the most streams a step held with every SLO met (0: none).
	Holds int `json:"holds"`
	// BreaksAt is the first step that broke an SLO (0: none did).
	BreaksAt int               `json:"breaks_at,omitempty"`
	BrokenBy []ThresholdResult `json:"broken_by,omitempty"`
	// HeldMax: every step up to --max met every SLO.
	HeldMax      bool   `json:"held_max,omitempty"`
	Inconclusive bool   `json:"inconclusive,omitempty"`
	Reason       string `json:"reason,omitempty"`
	Sentence     string `json:"sentence"`
}

// Answered says whether the search has an answer (a knee, or every step
// up to --max held) and ran to its end: what exit code 0 and a passing
// JUnit case mean for a capacity result.
func (r *CapacityResult) Answered() bool {
	return !r.Partial && (r.Verdict.Found || r.Verdict.HeldMax)
}

// ServerCost is the server's cost, fitted by least squares across steps.
type ServerCost struct {
	Source string `json:"source"` // "pid 1234 (ssebench)" or the metrics URL
	// Memory: RSS = BaseRSSBytes + BytesPerStream × open streams, fitted
	// over the search's steps (the refinement's when the search has fewer
	// than two observed).
	BytesPerStream float64 `json:"bytes_per_stream"`
	BaseRSSBytes   float64 `json:"base_rss_bytes"`
	RSSR2          float64 `json:"rss_r2"`
	// CPU: CPU-seconds per second = BaseCPUPerS + CPUPer1kEvents/1000 × events/s.
	CPUPer1kEvents float64 `json:"cpu_per_1k_events"`
	BaseCPUPerS    float64 `json:"base_cpu_per_s"`
	CPUR2          float64 `json:"cpu_r2"`
	// FDsPerStream is the slope of open files against streams (about 1
	// for a server that holds one socket per stream).
	FDsPerStream float64 `json:"fds_per_stream,omitempty"`
	Points       int     `json:"points"` // steps the fit used
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	PeakFDs      int64   `json:"peak_fds,omitempty"`
	PeakThreads  int64   `json:"peak_threads,omitempty"`
}

// MinFitR2 is the least R² for a fitted cost to be headlined (the verdict
// sentence, the HTML's key figures): below it the line explains little of
// how the server's memory or CPU moved, and its slope is noise, shown only
// in the detail with its R² and a word of warning.
const MinFitR2 = 0.5

// MemoryFits says whether the memory-per-stream fit is fit to headline:
// two observed steps or more, and an R² of at least MinFitR2.
func (c *ServerCost) MemoryFits() bool {
	return c != nil && c.Points >= 2 && c.RSSR2 >= MinFitR2
}

// CPUFits says the same of the CPU-per-event fit.
func (c *ServerCost) CPUFits() bool {
	return c != nil && c.CPUPer1kEvents != 0 && c.CPUR2 >= MinFitR2
}

// weakFit is the warning after a fit's R² when it is below MinFitR2.
func weakFit(r2 float64) string {
	if r2 >= MinFitR2 {
		return ""
	}
	return ": a weak fit, not a cost per stream"
}

// ServerPoint is one server sample, T seconds after the search started.
// -1 means unknown.
type ServerPoint struct {
	T          float64            `json:"t"`
	RSSBytes   int64              `json:"rss_bytes"`
	CPUSeconds float64            `json:"cpu_seconds"`
	OpenFDs    int64              `json:"open_fds"`
	Threads    int64              `json:"threads"`
	Extra      map[string]float64 `json:"extra,omitempty"`
}

// CapacityRun is one load run of the search.
type CapacityRun struct {
	Kind          string    `json:"kind"` // "search" or "refine"
	StartS        float64   `json:"start_s"`
	DurationS     float64   `json:"duration_s"`
	StoppedReason string    `json:"stopped_reason,omitempty"`
	Generator     Generator `json:"generator"`
}

// MetricDelta is the histogram of what end recorded after start: end and
// start are summaries of one growing histogram, taken at two moments, so
// subtracting them bucket by bucket leaves exactly the values recorded in
// between. Both must carry their HDR (an empty start is fine).
func MetricDelta(end, start Metric) (Metric, error) {
	he, err := end.Hist()
	if err != nil {
		return Metric{}, err
	}
	hs, err := start.Hist()
	if err != nil {
		return Metric{}, err
	}
	d, err := SubtractHist(he, hs)
	if err != nil {
		return Metric{}, err
	}
	return Summarize(d), nil
}

// SubtractHist returns a histogram of a's counts less b's, bucket by
// bucket. Both must have the same bounds, and b must be an earlier state
// of a (no bucket of b above a's); otherwise it is an error.
func SubtractHist(a, b *hdrhistogram.Histogram) (*hdrhistogram.Histogram, error) {
	sa, sb := a.Export(), b.Export()
	if b.TotalCount() == 0 {
		return hdrhistogram.Import(sa), nil
	}
	if sa.LowestTrackableValue != sb.LowestTrackableValue || sa.HighestTrackableValue != sb.HighestTrackableValue ||
		sa.SignificantFigures != sb.SignificantFigures || len(sa.Counts) != len(sb.Counts) {
		return nil, fmt.Errorf("subtract histograms: bounds differ")
	}
	for i, c := range sb.Counts {
		if c > sa.Counts[i] {
			return nil, fmt.Errorf("subtract histograms: bucket %d has %d, more than the later %d", i, c, sa.Counts[i])
		}
		sa.Counts[i] -= c
	}
	return hdrhistogram.Import(sa), nil
}

// CountersDelta is what end counted after start (both totals of one run).
func CountersDelta(end, start Counters) Counters {
	d := Counters{
		StreamsOpened: end.StreamsOpened - start.StreamsOpened, StreamsFailed: end.StreamsFailed - start.StreamsFailed,
		Events: end.Events - start.Events, Comments: end.Comments - start.Comments, Bytes: end.Bytes - start.Bytes,
		Reconnects: end.Reconnects - start.Reconnects, EventsLost: end.EventsLost - start.EventsLost,
		EventsDuplicated: end.EventsDuplicated - start.EventsDuplicated, Publishes: end.Publishes - start.Publishes,
		PublishErrors: end.PublishErrors - start.PublishErrors, ClockSkew: end.ClockSkew - start.ClockSkew,
		Unstamped: end.Unstamped - start.Unstamped, DeliveryOverHour: end.DeliveryOverHour - start.DeliveryOverHour,
		Redirects: end.Redirects - start.Redirects,
		Requests:  end.Requests - start.Requests, RequestsOK: end.RequestsOK - start.RequestsOK,
		RequestsGood: end.RequestsGood - start.RequestsGood, Tokens: end.Tokens - start.Tokens,
		Ends: map[string]int64{},
	}
	for k, v := range end.Ends {
		if n := v - start.Ends[k]; n != 0 {
			d.Ends[k] = n
		}
	}
	return d
}

// Fit is a least-squares line y = Intercept + Slope·x.
type Fit struct {
	Slope, Intercept, R2 float64
	N                    int
}

// FitLine fits a straight line to the points by least squares. ok is
// false with fewer than two points or when every x is the same. R2 is the
// share of y's variance the line explains (1 when y does not vary).
func FitLine(xs, ys []float64) (f Fit, ok bool) {
	n := min(len(xs), len(ys))
	if n < 2 {
		return Fit{N: n}, false
	}
	var mx, my float64
	for i := range n {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxx, sxy, syy float64
	for i := range n {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return Fit{N: n}, false
	}
	f = Fit{Slope: sxy / sxx, N: n}
	f.Intercept = my - f.Slope*mx
	f.R2 = 1
	if syy > 0 {
		var ssr float64
		for i := range n {
			r := ys[i] - (f.Intercept + f.Slope*xs[i])
			ssr += r * r
		}
		f.R2 = math.Max(0, 1-ssr/syy)
	}
	return f, true
}

// FitServerCost fits the server's memory against open streams and its CPU
// against events per second, over the steps that have server samples.
// It returns nil when no step was observed.
func FitServerCost(source string, steps []CapacityStep, samples []ServerPoint) *ServerCost {
	c := &ServerCost{Source: source}
	// Memory is fitted over the search staircase alone when it has two
	// observed steps: the refinement ramps up a server whose heap already
	// grew to the first bad step (runtimes rarely give memory back at
	// once), which would flatten the slope.
	searchRSS := 0
	for _, st := range steps {
		if !st.Refine && st.Server != nil && st.Server.RSSBytes > 0 {
			searchRSS++
		}
	}
	var sx, srss, ex, ecpu, fx, ffd []float64
	for _, st := range steps {
		sv := st.Server
		if sv == nil {
			continue
		}
		if sv.RSSBytes > 0 && (!st.Refine || searchRSS < 2) {
			sx, srss = append(sx, float64(st.Open)), append(srss, float64(sv.RSSBytes))
		}
		if sv.CPUPerS >= 0 && sv.Samples >= 2 {
			ex, ecpu = append(ex, st.Counters.EventsPerS), append(ecpu, sv.CPUPerS)
		}
		if sv.OpenFDs >= 0 {
			fx, ffd = append(fx, float64(st.Open)), append(ffd, float64(sv.OpenFDs))
		}
	}
	for _, p := range samples {
		c.PeakRSSBytes = max(c.PeakRSSBytes, p.RSSBytes)
		c.PeakFDs = max(c.PeakFDs, p.OpenFDs)
		c.PeakThreads = max(c.PeakThreads, p.Threads)
	}
	if len(sx) == 0 && len(ex) == 0 && len(samples) == 0 {
		return nil
	}
	if f, ok := FitLine(sx, srss); ok {
		c.BytesPerStream, c.BaseRSSBytes, c.RSSR2 = f.Slope, f.Intercept, f.R2
	}
	c.Points = len(sx)
	if f, ok := FitLine(ex, ecpu); ok {
		c.CPUPer1kEvents, c.BaseCPUPerS, c.CPUR2 = f.Slope*1000, f.Intercept, f.R2
	}
	if f, ok := FitLine(fx, ffd); ok {
		c.FDsPerStream = f.Slope
	}
	return c
}

// ReasonStoppedEarly is the verdict's reason when the steps end before
// a failing step or --max, with nothing inconclusive (e.g. interrupted).
const ReasonStoppedEarly = "the search stopped before a step failed or --max was reached"

// CapacityVerdictOf decides the answer from the steps (search and
// refinement, in any order). maxStreams is the search's --max. The knee
// is the lowest step that broke an SLO with a healthy generator; it
// holds the highest passing step below that. A step that was
// inconclusive (generator saturated) never counts as the server's limit:
// with no failing step, it makes the verdict inconclusive.
func CapacityVerdictOf(steps []CapacityStep, slos []string, maxStreams int, cost *ServerCost) CapacityVerdict {
	var v CapacityVerdict
	var firstBad, firstInc *CapacityStep
	for i := range steps {
		st := &steps[i]
		switch {
		case st.Inconclusive:
			if firstInc == nil || st.Streams < firstInc.Streams {
				firstInc = st
			}
		case !st.Passed:
			if firstBad == nil || st.Streams < firstBad.Streams {
				firstBad = st
			}
		}
	}
	for _, st := range steps {
		if st.Passed && !st.Inconclusive && (firstBad == nil || st.Streams < firstBad.Streams) {
			v.Holds = max(v.Holds, st.Streams)
		}
	}
	var stopper *CapacityStep
	switch {
	case firstBad != nil:
		v.Found = true
		v.BreaksAt = firstBad.Streams
		for _, r := range firstBad.SLOs {
			if !r.Passed {
				v.BrokenBy = append(v.BrokenBy, r)
			}
		}
	case firstInc != nil:
		stopper = firstInc
		v.Inconclusive = true
		v.Reason = firstInc.Reason
	case len(steps) == 0:
		v.Inconclusive = true
		v.Reason = "no step completed"
	case v.Holds >= maxStreams:
		v.HeldMax = true
	default:
		v.Inconclusive = true
		v.Reason = ReasonStoppedEarly
	}
	v.Sentence = capacitySentence(v, slos, maxStreams, stopper, cost)
	return v
}

// capacitySentence is the answer in one sentence, e.g. "holds 38,000
// streams at delivery p99 under 250ms; breaks at 42,000 on delivery.p99 =
// 610ms; server memory ~21 KiB per stream".
func capacitySentence(v CapacityVerdict, slos []string, maxStreams int, stopper *CapacityStep, cost *ServerCost) string {
	var parts []string
	slo := sloPhrase(slos)
	switch {
	case v.Holds > 0:
		parts = append(parts, fmt.Sprintf("holds %s streams at %s", groupDigits(int64(v.Holds)), slo))
	case v.Found:
		parts = append(parts, "no step met "+slo)
	}
	switch {
	case v.Found:
		var on []string
		for _, r := range v.BrokenBy {
			on = append(on, sloValueOver(r))
		}
		at := "breaks at " + groupDigits(int64(v.BreaksAt))
		if v.Holds == 0 {
			at = "breaks already at the first step, " + groupDigits(int64(v.BreaksAt)) + " streams,"
		}
		parts = append(parts, at+" on "+strings.Join(on, " and "))
	case v.HeldMax:
		parts = append(parts, fmt.Sprintf("no knee up to --max %s streams", groupDigits(int64(maxStreams))))
	case v.Inconclusive:
		at := ""
		if stopper != nil {
			at = " at " + groupDigits(int64(stopper.Streams)) + " streams"
		}
		parts = append(parts, "knee not found: "+firstLower(v.Reason)+at)
	}
	if cost.MemoryFits() && cost.BytesPerStream > 0 {
		parts = append(parts, "server memory ~"+fmtSizeApprox(cost.BytesPerStream)+" per stream")
	}
	if cost.CPUFits() && cost.CPUPer1kEvents > 0 {
		parts = append(parts, fmt.Sprintf("CPU ~%s per 1,000 events", FormatMS(cost.CPUPer1kEvents*1000)))
	}
	return strings.Join(parts, "; ")
}

// sloPhrase writes the SLOs in words: "delivery p99 under 250ms and
// streams_failed.rate under 0.1%".
func sloPhrase(slos []string) string {
	var out []string
	for _, e := range slos {
		t, err := ParseThreshold(e)
		if err != nil {
			out = append(out, e)
			continue
		}
		subj := t.Subject
		if t.kind == kindMetric && t.agg != "count" {
			subj = strings.Replace(subj, ".", " ", 1)
		}
		op := map[string]string{"<": "under", "<=": "at most", ">": "over", ">=": "at least", "==": "=", "!=": "≠"}[t.Op]
		phrase := subj + " " + op + " " + FormatValue(t.Bound, t.Unit)
		if base := stepRateBase[t.Subject]; base != "" {
			phrase += " of each step's " + base
		}
		out = append(out, phrase)
	}
	if len(out) == 0 {
		return "every SLO"
	}
	return strings.Join(out, " and ")
}

// stepRateBase says what a share SLO of a step is a share of. A step's
// counters run from its ramp's start to its hold's end, so
// streams_failed.rate is over the connection attempts the step made (the
// streams it added and any reconnects), not over all the streams it holds.
var stepRateBase = map[string]string{
	"streams_failed.rate":    "connection attempts (new streams and reconnects)",
	"publish_errors.rate":    "publishes",
	"events_lost.rate":       "events",
	"events_duplicated.rate": "events",
}

// sloValue writes a threshold result as "delivery.p99 = 610ms".
func sloValue(r ThresholdResult) string {
	t, err := ParseThreshold(r.Expr)
	subj := r.Expr
	if err == nil {
		subj = t.Subject
	}
	if r.Note != "" {
		return subj + " (" + r.Note + ")"
	}
	return subj + " = " + ShownValue(r)
}

// sloValueOver is sloValue with what a share is a share of, for the
// verdict sentence: "streams_failed.rate = 2.0% of the step's connection
// attempts (new streams and reconnects)".
func sloValueOver(r ThresholdResult) string {
	v := sloValue(r)
	if t, err := ParseThreshold(r.Expr); err == nil && r.Note == "" && stepRateBase[t.Subject] != "" {
		v += " of the step's " + stepRateBase[t.Subject]
	}
	return v
}

func firstLower(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// fmtSizeApprox writes a fitted byte figure to two significant digits, in
// the binary units every other size here uses: 21 KiB, 1.5 MiB.
func fmtSizeApprox(b float64) string {
	switch {
	case b >= 1<<30:
		return trimFloat(roundSig(b/(1<<30), 2)) + " GiB"
	case b >= 1<<20:
		return trimFloat(roundSig(b/(1<<20), 2)) + " MiB"
	case b >= 1<<10:
		return trimFloat(roundSig(b/(1<<10), 2)) + " KiB"
	}
	return trimFloat(math.Round(b)) + " B"
}

// CapacityPlan is the line a search prints before it starts: its steps,
// how each is opened and held, and the SLOs it judges them on.
func CapacityPlan(steps []int, ramp, hold time.Duration, slos []string) string {
	return fmt.Sprintf("capacity: %d steps from %s to %s streams, each opened over %v and held %v; SLOs: %s",
		len(steps), groupDigits(int64(steps[0])), groupDigits(int64(steps[len(steps)-1])), ramp, hold, strings.Join(slos, "; "))
}

// StepLine is one step as a terminal line, printed as it completes.
func StepLine(st CapacityStep, slos []string) string {
	metric := sloMetric(slos)
	m := st.Metrics[metric]
	status := "PASS"
	switch {
	case st.Inconclusive:
		status = "INCONCLUSIVE (" + st.Reason + ")"
	case !st.Passed:
		var bad []string
		for _, r := range st.SLOs {
			if !r.Passed {
				bad = append(bad, sloValue(r))
			}
		}
		status = "FAIL " + strings.Join(bad, ", ")
	}
	tag := "step"
	if st.Refine {
		tag = "refine"
	}
	line := fmt.Sprintf("%-6s %8s streams  open %-8s %s p99 %-8s events/s %-8s failed %-6s cpu %3.0f%%",
		tag, groupDigits(int64(st.Streams)), groupDigits(st.Open), metric, dashIfZero(m.Count, FormatMS(m.P99MS)),
		groupDigits(int64(math.Round(st.Counters.EventsPerS))), groupDigits(st.Counters.Failed), st.Generator.CPUShare*100)
	if sv := st.Server; sv != nil && sv.RSSBytes > 0 {
		line += "  server " + fmtBytes(sv.RSSBytes)
	}
	return line + "  " + status
}

func dashIfZero(n int64, s string) string {
	if n == 0 {
		return "-"
	}
	return s
}

// sloMetric is the latency metric the SLOs are about (the first named),
// delivery when none is.
func sloMetric(slos []string) string {
	for _, e := range slos {
		if t, err := ParseThreshold(e); err == nil && t.kind == kindMetric {
			return t.metric
		}
	}
	return MetricDelivery
}

// WriteCapacitySummary writes the steps table and the verdict for a
// terminal.
func WriteCapacitySummary(w io.Writer, r *CapacityResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "capacity: %s\n", r.Target)
	fmt.Fprintf(&b, "SLOs: %s\n", strings.Join(r.SLOs, "; "))
	for _, st := range sortedSteps(r.Steps) {
		b.WriteString("  " + StepLine(st, r.SLOs) + "\n")
	}
	if c := r.ServerCost; c != nil {
		fmt.Fprintf(&b, "server %s: ", c.Source)
		if c.Points >= 2 {
			fmt.Fprintf(&b, "memory %s per stream + %s base (R² %.2f%s)", fmtSignedBytes(c.BytesPerStream), fmtSignedBytes(c.BaseRSSBytes), c.RSSR2, weakFit(c.RSSR2))
		} else {
			b.WriteString("too few observed steps to fit a cost per stream")
		}
		if c.CPUPer1kEvents > 0 {
			fmt.Fprintf(&b, "; CPU %s per 1,000 events (R² %.2f%s)", FormatMS(c.CPUPer1kEvents*1000), c.CPUR2, weakFit(c.CPUR2))
		}
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	label := "KNEE"
	switch {
	case r.Verdict.HeldMax:
		label = "HELD"
	case r.Verdict.Inconclusive:
		label = "INCONCLUSIVE"
	}
	if r.Partial {
		label += " (partial: " + r.PartialReason + ")"
	}
	fmt.Fprintf(&b, "\n%s: %s\n", label, r.Verdict.Sentence)
	_, err := io.WriteString(w, b.String())
	return err
}

// sortedSteps orders steps by streams (refined ones fall between).
func sortedSteps(steps []CapacityStep) []CapacityStep {
	out := slices.Clone(steps)
	slices.SortStableFunc(out, func(a, b CapacityStep) int { return a.Streams - b.Streams })
	return out
}

// fmtSignedBytes writes a fitted byte figure, which can come out negative.
func fmtSignedBytes(b float64) string {
	if b < 0 {
		return "-" + fmtBytes(int64(math.Round(-b)))
	}
	return fmtBytes(int64(math.Round(b)))
}
