package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteSummary prints a load result's end-of-run summary, a compact table
// in the manner of k6's end-of-test summary: the latency metrics with
// their percentiles, the counters, why streams ended (with an error
// sample per abnormal end), the generator's health, the thresholds with
// ✓/✗, and a one-line verdict.
func WriteSummary(w io.Writer, r *Result) error { return WriteSummaryWith(w, r, SummaryOptions{}) }

// SummaryOptions add to a summary for someone reading one for the first
// time (the demo).
type SummaryOptions struct {
	// Legend adds what the figures mean: one line per metric group the
	// result has (MetricDesc) and one per end class it met, with its
	// description and whether it counts as a failure (EndClasses).
	Legend bool
	// Expect lines are what the run should show, repeated just before
	// the thresholds (demo --llm: the simulator's settings and the
	// figures they should produce).
	Expect []string
}

// WriteSummaryWith is WriteSummary with opt's additions.
func WriteSummaryWith(w io.Writer, r *Result, opt SummaryOptions) error {
	var b strings.Builder
	state := "complete"
	switch {
	case r.Unreachable:
		state = "STOPPED EARLY (" + r.PartialReason + ")"
	case r.Partial:
		state = "PARTIAL (" + r.PartialReason + ")"
	}
	fmt.Fprintf(&b, "\nssebench %s: %s, %.1fs, %s\n", r.Version, r.Target, r.DurationS, state)
	if r.Shard != "" {
		fmt.Fprintf(&b, "shard %s of the test\n", r.Shard)
	}
	if r.Merged > 1 {
		fmt.Fprintf(&b, "merged from %d results\n", r.Merged)
	}
	b.WriteString("\n")
	if r.IsRequestMode() {
		writeRequestSummary(&b, r)
	} else {
		writeStreamSummary(&b, r)
	}
	writeGeneratorSummary(&b, r)
	if opt.Legend {
		writeLegend(&b, r)
	}
	if len(opt.Expect) > 0 {
		b.WriteString("\n  expected\n")
		for _, l := range opt.Expect {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	writeThresholdSummary(&b, r)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	fmt.Fprintf(&b, "\n%s\n", summaryVerdict(r))
	_, err := io.WriteString(w, b.String())
	return err
}

// MetricDesc says in a line what a metric measures ("" for a name this
// version does not know): the HTML report's and the summary legend's text.
func MetricDesc(name string) string { return metricDesc[name] }

// metricGroups are the metrics a legend explains together, in report
// order: the phases of opening a stream, the events, the stream's life,
// and the generator's own lag; in request mode the answer's timings.
var metricGroups = [][]string{
	{MetricConnect, MetricHeaders, MetricFirstByte, MetricFirstEvent},
	{MetricInterEvent},
	{MetricDelivery},
	{MetricPublishDelivery},
	{MetricReconnect},
	{MetricLifetime},
	{MetricTTFT, MetricTTFTSent},
	{MetricITL},
	{MetricTPOT},
	{MetricE2E, MetricE2ESent},
	{MetricLag},
}

// writeLegend says what the result's figures mean: one line per metric
// group with samples, from the metrics' descriptions (descriptions that
// start alike, "scheduled attempt → ...", share the start), then one per
// end class met.
func writeLegend(b *strings.Builder, r *Result) {
	b.WriteString("\n  what the figures mean (time from → to; pNN: NN% of samples took at most this)\n")
	order := MetricNames
	if r.IsRequestMode() {
		order = RequestMetricNames
	}
	var groups [][]string // in the order of the metric table
	for _, n := range order {
		for _, g := range metricGroups {
			if g[0] == n {
				groups = append(groups, g)
			}
		}
	}
	for _, g := range groups {
		var names, descs []string
		for _, n := range g {
			if r.Metrics[n].Count > 0 {
				names, descs = append(names, n), append(descs, MetricDesc(n))
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(b, "    %s: %s\n", strings.Join(names, ", "), joinDescs(descs))
		}
	}
	for _, k := range sortedByCount(r.Counters.Ends) {
		verdict := "not a failure"
		if EndIsError(r.Mode, k) {
			verdict = "counts as a failure"
		}
		fmt.Fprintf(b, "    ends %s: %s (%s)\n", k, EndDesc(r.Mode, k), verdict)
	}
}

// joinDescs joins descriptions with "; ", or, when all start the same up
// to their arrow ("scheduled attempt → "), as that start and the ends:
// "scheduled attempt → connected, response headers".
func joinDescs(descs []string) string {
	const arrow = "→ "
	if len(descs) > 1 {
		from, _, ok := strings.Cut(descs[0], arrow)
		same := ok
		var tos []string
		for _, d := range descs {
			f, to, ok := strings.Cut(d, arrow)
			same = same && ok && f == from
			tos = append(tos, to)
		}
		if same {
			return from + arrow + strings.Join(tos, ", ")
		}
	}
	return strings.Join(descs, "; ")
}

// writeMetricTable writes one right-aligned row per metric with samples
// (name, count, then cols as latencies), the name column at least
// minWidth wide, or a line saying nothing was measured.
func writeMetricTable(b *strings.Builder, metrics map[string]Metric, names []string, minWidth int,
	cols []string, values func(Metric) []float64) {
	width := minWidth
	for _, n := range names {
		width = max(width, len(n))
	}
	var tb strings.Builder
	tw := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tcount\t%s\t\n", width, "metric", strings.Join(cols, "\t"))
	rows := 0
	for _, name := range names {
		m := metrics[name]
		if m.Count == 0 {
			continue
		}
		rows++
		fmt.Fprintf(tw, "%-*s\t%d", width, name, m.Count)
		for _, v := range values(m) {
			fmt.Fprintf(tw, "\t%s", FormatMS(v))
		}
		fmt.Fprint(tw, "\t\n")
	}
	tw.Flush()
	if rows > 0 {
		b.WriteString(tb.String())
	} else {
		b.WriteString("  no latency was measured\n")
	}
}

// writeStreamSummary is the subscribe-mode body: every latency metric,
// then streams, events and why streams ended.
func writeStreamSummary(b *strings.Builder, r *Result) {
	writeMetricTable(b, r.Metrics, metricOrder(r.Metrics, MetricNames), len("metric"),
		[]string{"p50", "p90", "p99", "p99.9", "max"},
		func(m Metric) []float64 { return []float64{m.P50MS, m.P90MS, m.P99MS, m.P999MS, m.MaxMS} })

	c := r.Counters
	attempts := c.StreamsOpened + c.StreamsFailed
	failRate := 0.0
	if attempts > 0 {
		failRate = float64(c.StreamsFailed) / float64(attempts)
	}
	evRate := r.EventRate()
	fmt.Fprintf(b, "\n  streams  opened %d  failed %d (%s)  reconnects %d\n", c.StreamsOpened, c.StreamsFailed, fmtPercent(failRate), c.Reconnects)
	fmt.Fprintf(b, "  events   %d (%.0f/s)  lost %d  duplicated %d  comments %d  bytes %s\n",
		c.Events, evRate, c.EventsLost, c.EventsDuplicated, c.Comments, fmtBytes(c.Bytes))
	if c.Publishes+c.PublishErrors > 0 {
		fmt.Fprintf(b, "  publish  ok %d  failed %d\n", c.Publishes, c.PublishErrors)
	}
	writeEventNames(b, r)
	writeEnds(b, r, "  ends    ")
	for _, w := range CounterWarnings(c) {
		fmt.Fprintf(b, "  warning  %s\n", w)
	}
}

// summaryTopNames is how many names a summary line lists before "+N more".
const summaryTopNames = 5

// writeEventNames lists the most frequent event types, and type_field
// values, with their counts: a run whose every event is an unnamed
// "message" has no line.
func writeEventNames(b *strings.Builder, r *Result) {
	c := r.Counters
	var other, otherField *EventCount
	if c.EventsOther != nil {
		other, otherField = c.EventsOther.Type, c.EventsOther.Field
	}
	if _, plain := c.EventsByType["message"]; !(len(c.EventsByType) == 1 && plain && other == nil) && len(c.EventsByType) > 0 {
		fmt.Fprintf(b, "  types    %s\n", topNames(c.EventsByType, other))
	}
	if len(c.EventsByField) > 0 || c.TypeFieldMissing > 0 {
		line := topNames(c.EventsByField, otherField)
		if c.TypeFieldMissing > 0 {
			line += fmt.Sprintf("  (without the field %d)", c.TypeFieldMissing)
		}
		label := "by field"
		if f := typeFieldOf(r.Scenario); f != "" {
			label = "by " + f
		}
		fmt.Fprintf(b, "  %s  %s\n", label, strings.TrimSpace(line))
	}
}

// topNames renders the most frequent names with their counts, then how
// many more names there were and the events past the bound on names.
func topNames(counts map[string]EventCount, other *EventCount) string {
	names := TopEventNames(counts)
	var parts []string
	for i, n := range names {
		if i == summaryTopNames {
			parts = append(parts, fmt.Sprintf("+%d more", len(names)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", oneLine(n), counts[n].Count))
	}
	if other != nil {
		parts = append(parts, fmt.Sprintf("(other names, past %d: %d events)", MaxEventNames, other.Count))
	}
	return strings.Join(parts, "  ")
}

// CounterWarnings are the counters that cast doubt on a run's figures, as
// sentences: the summary and the HTML report show the same ones.
func CounterWarnings(c Counters) []string {
	var w []string
	if c.ClockSkew > 0 {
		w = append(w, fmt.Sprintf("%d events were stamped in the future (clock skew between server and generator); they give no delivery sample", c.ClockSkew))
	}
	if c.Unstamped > 0 {
		w = append(w, fmt.Sprintf("%d events had no usable send time in the latency field, so no delivery sample; check --latency-field (path and format)", c.Unstamped))
	}
	if c.DeliveryOverHour > 0 {
		w = append(w, fmt.Sprintf("%d delivery samples are over an hour: is the stamp's unit right? (--latency-field FIELD:unix_ms, unix_s, unix_us, unix_ns or rfc3339)", c.DeliveryOverHour))
	}
	if n := c.Ends[EndTooLarge]; n > 0 {
		w = append(w, fmt.Sprintf("%d streams ended on an event over the per-stream size limit; --max-event-size raises it", n))
	}
	if n := c.Ends[EndNoHeaders] + c.Ends[EndNoFirstEvent]; n > 0 {
		w = append(w, fmt.Sprintf("%d streams were still waiting for headers or a first event when the run ended; they count as failed, with the time they waited as their first_event sample", n))
	}
	return w
}

// writeEnds writes why streams (or answers) ended, most frequent first,
// then which of those ends count as errors (EndIsError) and an error
// sample per class.
func writeEnds(b *strings.Builder, r *Result, label string) {
	c := r.Counters
	if len(c.Ends) > 0 {
		b.WriteString(label)
		for _, k := range sortedByCount(c.Ends) {
			fmt.Fprintf(b, " %s %d", k, c.Ends[k])
		}
		b.WriteString("\n")
		if errs := ErrorEnds(r); len(errs) > 0 {
			fmt.Fprintf(b, "           errors: %s\n", endCounts(c.Ends, errs))
		}
	}
	writeErrorSamples(b, c)
}

// endCounts renders classes with their counts: "reset 3, http_503 2".
func endCounts(ends map[string]int64, classes []string) string {
	parts := make([]string, len(classes))
	for i, k := range classes {
		parts[i] = fmt.Sprintf("%s %d", k, ends[k])
	}
	return strings.Join(parts, ", ")
}

func writeErrorSamples(b *strings.Builder, c Counters) {
	for _, k := range sortedKeys(c.ErrorSamples) {
		fmt.Fprintf(b, "           %s e.g.: %s\n", k, oneLine(clip(c.ErrorSamples[k], 300)))
	}
}

func writeGeneratorSummary(b *strings.Builder, r *Result) {
	g := r.Generator
	cpu := fmt.Sprintf("%.1fs", g.CPUSeconds)
	if r.DurationS > 0 && g.Procs > 0 {
		cpu += fmt.Sprintf(" (%.0f%% of %d cores)", 100*g.CPUSeconds/(r.DurationS*float64(g.Procs)), g.Procs)
	}
	fmt.Fprintf(b, "  generator  CPU %s  peak RSS %s  max timer lag %s  peak goroutines %d\n",
		cpu, fmtBytes(g.PeakRSSBytes), FormatMS(g.MaxLagMS), g.PeakGoroutines)
	if g.Saturated {
		fmt.Fprintf(b, "           SATURATED: %s (latencies may reflect the generator, not the server)\n", g.SaturatedReason)
	}
}

func writeThresholdSummary(b *strings.Builder, r *Result) {
	if len(r.Thresholds) > 0 {
		b.WriteString("\n  thresholds\n")
		ew := 0
		for _, t := range r.Thresholds {
			ew = max(ew, len([]rune(t.Expr)))
		}
		for _, t := range r.Thresholds {
			mark := "✓"
			if !t.Passed {
				mark = "✗"
			}
			val := ShownValue(t)
			if t.Note != "" {
				val = t.Note
			}
			pad := strings.Repeat(" ", ew-len([]rune(t.Expr)))
			fmt.Fprintf(b, "    %s %s%s  %s\n", mark, t.Expr, pad, val)
		}
	}
}

// summaryVerdict is the last line: what a person or a CI log wants first.
// It is Verdict's, as the exit code is.
func summaryVerdict(r *Result) string {
	v := Verdict(r)
	var parts []string
	switch v.Kind {
	case VerdictPassed:
		parts = append(parts, "✓ PASSED: "+v.Headline)
	case VerdictCompleted:
		parts = append(parts, "done (no thresholds set)")
	case VerdictInterrupted:
		parts = append(parts, "! PARTIAL: "+v.Headline)
	default:
		parts = append(parts, "✗ FAILED: "+v.Headline)
	}
	if r.Generator.Saturated {
		parts = append(parts, "generator saturated")
	}
	return strings.Join(parts, "; ")
}

// WriteCheckSummary prints a conformance report in brief: the verdict,
// then each failed check with its reason and fix, then diagnose's
// findings. The full table is in the HTML and JUnit outputs.
func WriteCheckSummary(w io.Writer, r *CheckReport) error {
	var b strings.Builder
	var pass, fail, skip int
	for _, c := range r.Checks {
		switch c.Status {
		case StatusPass:
			pass++
		case StatusFail:
			fail++
		default:
			skip++
		}
	}
	cmd := r.Command
	if cmd == "" {
		cmd = "check"
	}
	target := r.Target
	if r.Via != "" {
		target += " via " + r.Via
	}
	fmt.Fprintf(&b, "\nssebench %s %s: %s, %.1fs\n", r.Version, cmd, target, r.DurationS)
	fmt.Fprintf(&b, "  %d passed, %d failed, %d skipped\n", pass, fail, skip)
	for _, c := range r.Checks {
		if c.Status != StatusFail {
			continue
		}
		mark := "✗"
		if c.Severity != SeverityError {
			mark = "!"
		}
		fmt.Fprintf(&b, "  %s %s (%s): %s\n", mark, c.ID, c.Severity, c.Title)
		if c.Reason != "" {
			fmt.Fprintf(&b, "      %s\n", oneLine(clip(c.Reason, 300)))
		}
		if c.Fix != "" {
			fmt.Fprintf(&b, "      fix: %s\n", oneLine(clip(c.Fix, 300)))
		}
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  finding %s: %s\n", f.Kind, oneLine(f.Summary))
		if f.Culprit != "" {
			fmt.Fprintf(&b, "      likely: %s\n", oneLine(f.Culprit))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	if r.Passed {
		b.WriteString("\n✓ PASSED\n")
	} else {
		b.WriteString("\n✗ FAILED\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine folds a multi-line text from a server onto one terminal line,
// so it cannot fake further output lines.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// FormatMS renders a time in milliseconds for people: µs below 1 ms, ms
// with two decimals below 100 ms, whole ms below 10 s, then seconds with
// one decimal. Every summary, HTML, JUnit and check text uses it (or
// FormatDuration), so one time reads the same in each.
func FormatMS(ms float64) string {
	switch {
	case ms == 0:
		return "0"
	case ms < 0:
		return "-" + FormatMS(-ms)
	case ms < 1:
		return fmt.Sprintf("%.0fµs", ms*1000)
	case ms < 100:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.1fs", ms/1000)
}

// FormatDuration is FormatMS of d.
func FormatDuration(d time.Duration) string {
	return FormatMS(float64(d) / float64(time.Millisecond))
}

// allPassed says that n thresholds all passed.
func allPassed(n int) string {
	if n == 1 {
		return "the threshold passed"
	}
	return fmt.Sprintf("all %d thresholds passed", n)
}
