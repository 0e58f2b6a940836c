package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteSummary prints a load result's end-of-run summary: the latency
// metrics with their percentiles, the counters, why streams ended, the
// generator's health and the thresholds.
func WriteSummary(w io.Writer, r *Result) error {
	var b strings.Builder
	state := "complete"
	if r.Partial {
		state = "PARTIAL (" + r.PartialReason + ")"
	}
	fmt.Fprintf(&b, "\nssebench %s: %s, %.1fs, %s\n\n", r.Version, r.Target, r.DurationS, state)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tcount\tp50\tp90\tp99\tp99.9\tmax\t")
	for _, name := range MetricNames {
		m, ok := r.Metrics[name]
		if !ok || m.Count == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", name, m.Count,
			fmtMS(m.P50MS), fmtMS(m.P90MS), fmtMS(m.P99MS), fmtMS(m.P999MS), fmtMS(m.MaxMS))
	}
	tw.Flush()
	c := r.Counters
	failRate := 0.0
	if c.StreamsOpened+c.StreamsFailed > 0 {
		failRate = 100 * float64(c.StreamsFailed) / float64(c.StreamsOpened+c.StreamsFailed)
	}
	evRate := 0.0
	if r.DurationS > 0 {
		evRate = float64(c.Events) / r.DurationS
	}
	fmt.Fprintf(&b, "\nstreams  opened %d  failed %d (%.2f%%)  reconnects %d\n", c.StreamsOpened, c.StreamsFailed, failRate, c.Reconnects)
	fmt.Fprintf(&b, "events   %d (%.0f/s)  bytes %d  comments %d  lost %d  duplicated %d\n",
		c.Events, evRate, c.Bytes, c.Comments, c.EventsLost, c.EventsDuplicated)
	if c.Publishes+c.PublishErrors > 0 {
		fmt.Fprintf(&b, "publish  ok %d  failed %d\n", c.Publishes, c.PublishErrors)
	}
	if c.ClockSkew > 0 {
		fmt.Fprintf(&b, "warning  %d events were stamped in the future (clock skew); their delivery latency counts as 0\n", c.ClockSkew)
	}
	if len(c.Ends) > 0 {
		b.WriteString("ends    ")
		for _, k := range sortedKeys(c.Ends) {
			fmt.Fprintf(&b, " %s=%d", k, c.Ends[k])
		}
		b.WriteString("\n")
	}
	for _, k := range sortedKeys(c.ErrorSamples) {
		fmt.Fprintf(&b, "  %s e.g.: %s\n", k, c.ErrorSamples[k])
	}
	g := r.Generator
	fmt.Fprintf(&b, "generator  peak RSS %.1f MiB  CPU %.1fs  max timer lag %s  peak goroutines %d",
		float64(g.PeakRSSBytes)/(1<<20), g.CPUSeconds, fmtMS(g.MaxLagMS), g.PeakGoroutines)
	if g.Saturated {
		fmt.Fprintf(&b, "\n           SATURATED: %s (latencies may reflect the generator, not the server)", g.SaturatedReason)
	}
	b.WriteString("\n")
	if len(r.Thresholds) > 0 {
		b.WriteString("\nthresholds\n")
		for _, t := range r.Thresholds {
			mark := "✓"
			if !t.Passed {
				mark = "✗"
			}
			fmt.Fprintf(&b, "  %s %s (value %g)\n", mark, t.Expr, t.Value)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func fmtMS(ms float64) string {
	switch {
	case ms == 0:
		return "0"
	case ms < 1:
		return fmt.Sprintf("%.0fµs", ms*1000)
	case ms < 100:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.1fs", ms/1000)
}
