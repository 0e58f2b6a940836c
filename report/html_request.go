package report

import (
	"fmt"
	"slices"
	"strings"
)

// Request mode in the HTML report: headline tiles, charts over time and
// percentile curves for what one streamed answer per request measures
// (requests, goodput, tokens, TTFT, ITL, TPOT, E2E).

// requestDistMetrics get a percentile curve each; the connection phases
// stay in the table only.
var requestDistMetrics = []string{MetricTTFT, MetricTTFTSent, MetricITL, MetricTPOT, MetricE2E, MetricE2ESent}

func requestFacts(r *Result) []factView {
	c := r.Counters
	share := func(n int64) float64 {
		if c.Requests == 0 {
			return 0
		}
		return float64(n) / float64(c.Requests)
	}
	failed := c.Requests - c.RequestsOK
	facts := []factView{
		{Label: "Requests", Value: groupDigits(c.Requests),
			Sub: fmt.Sprintf("ok %s · failed %s%s", groupDigits(c.RequestsOK), groupDigits(failed), cutText(c)), Class: badIf(failed > 0)},
		{Label: "Goodput", Value: fmtPercent(share(c.RequestsGood)),
			Sub: groupDigits(c.RequestsGood) + " good" + sloText(r), Class: badIf(c.Requests > 0 && c.RequestsGood < c.Requests)},
		{Label: "Request rate", Value: fmtRate(perSecond(c.Requests, sendWindow(r))) + "/s", Sub: "sent over " + fmtSeconds(sendWindow(r))},
		{Label: "Output tokens/s", Value: fmtRate(perSecond(c.Tokens, r.DurationS)) + "/s", Sub: tokensSub(c)},
	}
	if m := r.Metrics[MetricTTFT]; m.Count > 0 {
		sub := "from schedule · p50 " + FormatMS(m.P50MS) + " · max " + FormatMS(m.MaxMS)
		if s := r.Metrics[MetricTTFTSent]; s.Count > 0 {
			sub += " · from send p99 " + FormatMS(s.P99MS)
		}
		facts = append(facts, factView{Label: "TTFT p99", Value: FormatMS(m.P99MS), Sub: sub})
	}
	if m := r.Metrics[MetricTPOT]; m.Count > 0 {
		facts = append(facts, factView{Label: "TPOT p50", Value: FormatMS(m.P50MS), Sub: "p99 " + FormatMS(m.P99MS) + " · " + fmtRate(1000/max(m.P50MS, 0.001)) + " tokens/s per answer"})
	}
	if m := r.Metrics[MetricITL]; m.Count > 0 {
		facts = append(facts, factView{Label: "ITL p99", Value: FormatMS(m.P99MS), Sub: "p50 " + FormatMS(m.P50MS) + " · max " + FormatMS(m.MaxMS)})
	}
	facts = append(facts, factView{Label: "Duration", Value: fmtSeconds(r.DurationS), Sub: "mode request"})
	return facts
}

// tokensSub says what the throughput counted and what it left out.
func tokensSub(c Counters) string {
	sub := groupDigits(c.Tokens) + " tokens in ok answers"
	if c.TokensCut > 0 || c.TokensFailed > 0 {
		sub += fmt.Sprintf(" · not counted: %s cut, %s failed", groupDigits(c.TokensCut), groupDigits(c.TokensFailed))
	}
	return sub
}

func requestTimeCharts(r *Result) []chartView {
	tsr := newTimeSeries(r.Timeseries)
	x := tsr.xAxis()
	msAxis := Axis{Label: "latency", Format: FormatAxisMS}
	type chart struct {
		c    Chart
		desc string
	}
	var charts []chart
	// In flight only when the generator recorded it (open requests).
	if slices.ContainsFunc(r.Timeseries, func(p Point) bool { return p.Open > 0 }) {
		series := []Series{colored(tsr.gauge("in flight", func(p Point) float64 { return float64(p.Open) }), Palette[0])}
		if slices.ContainsFunc(r.Timeseries, func(p Point) bool { return p.Target > 0 }) {
			target := tsr.gauge("concurrency", func(p Point) float64 { return float64(p.Target) })
			target.Color, target.Dash = "#64748b", true
			series = append([]Series{target}, series...)
		}
		charts = append(charts, chart{Chart{ID: "in-flight", Title: "Requests in flight", X: x, Y: Axis{Label: "requests"}, Series: series},
			"Requests sent and not yet answered at each second: with an open-loop rate, a slower server shows here and in TTFT."})
	}
	charts = append(charts,
		chart{Chart{ID: "requests-rate", Title: "Requests and errors per second", X: x, Y: Axis{Label: "per second"},
			Series: []Series{
				colored(tsr.perSec("requests/s", func(p Point) int64 { return p.Requests }), Palette[0]),
				colored(tsr.perSec("errors/s", func(p Point) int64 { return p.Errors }), Palette[1]),
			}},
			"Requests sent in each second, and requests that failed or ended abnormally."},
		chart{Chart{ID: "tokens-rate", Title: "Output tokens per second", X: x, Y: Axis{Label: "tokens/s"},
			Series: []Series{colored(tsr.perSec("tokens/s", func(p Point) int64 { return p.Tokens }), Palette[2])}},
			"Output tokens of the answers that ended normally in each second (output throughput); cut and failed answers are not counted."},
		chart{Chart{ID: "ttft-latency", Title: "Time to first token", X: x, Y: msAxis,
			Series: []Series{
				colored(tsr.lat("p50", func(p Point) float64 { return p.TTFTP50MS }), Palette[0]),
				colored(tsr.lat("p99", func(p Point) float64 { return p.TTFTP99MS }), Palette[4]),
			}, Lines: thresholdLines(r, MetricTTFT)},
			"Scheduled request → first token, for the answers whose first token came in each second."},
		chart{Chart{ID: "itl-latency", Title: "Inter-token latency p99", X: x, Y: msAxis,
			Series: []Series{colored(tsr.lat("p99", func(p Point) float64 { return p.ITLP99MS }), Palette[3])},
			Lines:  thresholdLines(r, MetricITL)},
			"Gap between consecutive token events of one answer, for the gaps that ended in each second."},
	)
	out := make([]chartView, 0, len(charts))
	for _, c := range charts {
		out = append(out, chartView{ID: c.c.ID, Title: c.c.Title, Desc: c.desc, SVG: c.c.SVG()})
	}
	return out
}

func requestMetricViews(r *Result) ([]metricView, []chartView) {
	return metricViewsOf(r, metricOrder(r.Metrics, RequestMetricNames), func(name string) bool {
		return slices.Contains(requestDistMetrics, name)
	})
}

// requestScenarioSummary describes a request-mode scenario: its load
// (open loop at a rate, or closed loop at a concurrency), how an answer
// ends and how tokens are counted.
func requestScenarioSummary(s *scenarioJSON, add func(k, v string)) {
	q := s.Request
	var shape []string
	open := q.Rate > 0 || q.Concurrency == 0
	// Rates are constant within a stage; concurrency ramps linearly from
	// the previous stage's (a zero-length stage is a step).
	prev := 0
	for _, st := range s.Stages {
		switch {
		case open:
			shape = append(shape, fmt.Sprintf("%g req/s for %s", st.Rate, st.Duration))
		case st.Duration == "" || st.Duration == "0s":
			shape = append(shape, fmt.Sprintf("step to %d in flight", st.Target))
		case st.Target == prev:
			shape = append(shape, fmt.Sprintf("hold %d in flight for %s", st.Target, st.Duration))
		default:
			shape = append(shape, fmt.Sprintf("%d → %d in flight over %s", prev, st.Target, st.Duration))
		}
		prev = st.Target
	}
	if len(shape) == 0 {
		switch {
		case q.Concurrency > 0:
			shape = append(shape, fmt.Sprintf("%d in flight for %s", q.Concurrency, s.Duration))
		case q.Rate > 0:
			shape = append(shape, fmt.Sprintf("%g req/s for %s", q.Rate, s.Duration))
		}
	}
	kind := "closed loop"
	if open {
		arrival := q.Arrival
		if arrival == "" {
			arrival = "constant"
		}
		kind = "open loop, " + arrival + " arrivals"
	}
	if len(shape) > 0 {
		add("Load shape", kind+": "+strings.Join(shape, ", then "))
	}
	if q.Count > 0 {
		add("Requests", fmt.Sprintf("at most %d", q.Count))
	}
	if q.MaxInFlight > 0 && open {
		add("Max in flight", fmt.Sprint(q.MaxInFlight))
	}
	if q.Dataset != "" {
		order := q.Order
		if order == "" {
			order = "sequential"
		}
		add("Dataset", q.Dataset+" ("+order+")")
	}
	var ends []string
	if q.End.Data != "" && q.End.Data != "none" {
		ends = append(ends, fmt.Sprintf("data %q", q.End.Data))
	}
	if q.End.Event != "" {
		ends = append(ends, "event "+q.End.Event)
	}
	ends = append(ends, "server close")
	if q.End.MaxDuration != "" {
		ends = append(ends, "at most "+q.End.MaxDuration)
	}
	add("Answer ends on", strings.Join(ends, ", "))
	var tok []string
	if q.Tokens.DeltaPath != "" {
		count := q.Tokens.Count
		if count == "" {
			count = "words"
		}
		tok = append(tok, "delta "+q.Tokens.DeltaPath+" counted as "+count)
	}
	if q.Tokens.UsagePath != "" {
		tok = append(tok, "usage "+q.Tokens.UsagePath)
	}
	add("Tokens", strings.Join(tok, "; "))
}
