package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// writeRequestSummary is the request-mode body: requests and goodput,
// output tokens, the per-request latencies, and why answers ended.
func writeRequestSummary(b *strings.Builder, r *Result) {
	writeMetricTable(b, r.Metrics, metricOrder(r.Metrics, RequestMetricNames), len("schedule_lag"),
		[]string{"p50", "p90", "p99", "max", "mean"},
		func(m Metric) []float64 { return []float64{m.P50MS, m.P90MS, m.P99MS, m.MaxMS, m.MeanMS} })
	if _, ok := r.Metrics[MetricTTFTSent]; ok {
		b.WriteString("  ttft, e2e from each request's scheduled time; ttft_sent, e2e_sent from its send\n")
	}

	c := r.Counters
	share := func(n int64) string {
		if c.Requests == 0 {
			return "—"
		}
		return fmtPercent(float64(n) / float64(c.Requests))
	}
	win := sendWindow(r)
	fmt.Fprintf(b, "\n  requests  sent %d in %s (%s/s)  ok %d (%s)  failed %d%s\n",
		c.Requests, fmtSeconds(win), fmtRate(perSecond(c.Requests, win)), c.RequestsOK, share(c.RequestsOK), c.Requests-c.RequestsOK, cutText(c))
	fmt.Fprintf(b, "  goodput   %d good (%s)%s\n", c.RequestsGood, share(c.RequestsGood), sloText(r))
	if c.Tokens+c.TokensCut+c.TokensFailed > 0 {
		line := fmt.Sprintf("  tokens    %d output in ok answers (%s/s)", c.Tokens, fmtRate(perSecond(c.Tokens, r.DurationS)))
		if c.RequestsOK > 0 {
			line += fmt.Sprintf("  %s per ok answer", fmtRate(float64(c.Tokens)/float64(c.RequestsOK)))
		}
		if m := r.Metrics[MetricTPOT]; m.Count > 0 && m.P50MS > 0 {
			line += fmt.Sprintf("  per answer %s/s (1/tpot p50)", fmtRate(1000/m.P50MS))
		}
		b.WriteString(line + "\n")
		if c.TokensCut > 0 || c.TokensFailed > 0 {
			fmt.Fprintf(b, "            not in throughput: %d in cut answers, %d in failed answers\n", c.TokensCut, c.TokensFailed)
		}
	} else {
		b.WriteString("  tokens    none counted (set request.tokens.delta_path or usage_path)\n")
	}
	fmt.Fprintf(b, "  events    %d  comments %d  bytes %s\n", c.Events, c.Comments, fmtBytes(c.Bytes))
	writeEnds(b, r, "  ends     ")
}

// cutText splits the failed requests into those ssebench cut (at
// end.max_duration or the run's end) and the others, when any were cut.
func cutText(c Counters) string {
	if c.RequestsCut == 0 {
		return ""
	}
	return fmt.Sprintf(" (cut %d, other %d)", c.RequestsCut, c.Requests-c.RequestsOK-c.RequestsCut)
}

// sloText says what "good" meant in this run, from its thresholds.
func sloText(r *Result) string {
	exprs := make([]string, 0, len(r.Thresholds))
	for _, t := range r.Thresholds {
		exprs = append(exprs, t.Expr)
	}
	slos, err := GoodputSLOs(exprs)
	if err != nil || len(slos) == 0 {
		return "  (no ttft/tpot/e2e threshold: good = ok)"
	}
	var parts []string
	for _, m := range goodputMetrics {
		if d, ok := slos[m]; ok {
			parts = append(parts, fmt.Sprintf("%s ≤ %s", m, fmtDuration(d)))
		}
	}
	return "  within " + strings.Join(parts, ", ")
}

// fmtDuration renders an SLO bound as it is usually written: 1s, 50ms.
func fmtDuration(d time.Duration) string { return d.String() }

func perSecond(n int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / seconds
}

// sendWindow is how long requests were being sent, in seconds: the
// scenario's schedule, or up to the last second in which a request was
// sent, whichever is shorter (a request.count run ends its schedule
// early), and never more than the run. The run itself lasts longer: the
// answers in flight when the schedule ends are read to their end, so a
// request rate over the whole run would understate the rate requests
// were sent at.
func sendWindow(r *Result) float64 {
	win := r.DurationS
	if d := scheduledSeconds(r.Scenario); d > 0 {
		win = min(win, d)
	}
	last := 0.0
	for _, p := range r.Timeseries {
		if p.Requests > 0 {
			last = p.T
		}
	}
	if last > 0 {
		win = min(win, last)
	}
	return win
}

// scheduledSeconds is the total of a scenario's stages, 0 when unknown.
func scheduledSeconds(raw json.RawMessage) float64 {
	var s struct {
		Stages []struct {
			Duration string `json:"duration"`
		} `json:"stages"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return 0
	}
	var total time.Duration
	for _, st := range s.Stages {
		d, err := time.ParseDuration(st.Duration)
		if err != nil {
			return 0
		}
		total += d
	}
	return total.Seconds()
}
