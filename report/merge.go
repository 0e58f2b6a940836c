package report

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Merge combines load results from several generator processes or
// machines (the shards of one test, or the same test run from several
// places) into one, exactly where the data allows:
//
//   - every latency metric is the HdrHistogram merge of the inputs'
//     histograms, re-summarized, so percentiles are those of the union
//     (an error if a histogram is missing or the bounds differ);
//   - counters, end classes and error samples are summed (the first
//     sample per class is kept); per-name event counts are summed and
//     their delivery histograms merged, up to MaxEventNames names per
//     table (the events of any further name go to EventsOther);
//   - time series are aligned by wall clock: each point goes into the
//     second since the earliest start that MergedSecond gives it (the
//     input's own seconds, so tick jitter makes no dip, and its teardown
//     in a second of its own, still marked); counts are summed, open
//     and target are the sum of each input's latest value (carried
//     forward over a second an input has no point in), and the per-second
//     percentiles are the highest input value: an upper bound, since
//     per-second histograms are not kept (a note in the result says so);
//   - generator: peak RSS and lag are the maxima, CPU seconds, GOMAXPROCS
//     and goroutines are summed, saturated if any input was (with reasons).
//
// Every input must be of the same mode (subscribe or request).
// Thresholds are dropped: evaluate them again on the merged result.
// The inputs are not changed.
func Merge(results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("merge: no results")
	}
	for i, r := range results {
		if r == nil {
			return nil, fmt.Errorf("merge: result %d is nil", i+1)
		}
		if r.Schema != ResultSchema {
			return nil, fmt.Errorf("merge: result %d has schema %q, want %q", i+1, r.Schema, ResultSchema)
		}
	}
	first := results[0]
	for i, r := range results[1:] {
		if modeOf(r) != modeOf(first) {
			return nil, fmt.Errorf("merge: result %d is a %s-mode run but result 1 is %s mode: they measure different things", i+2, modeOf(r), modeOf(first))
		}
	}
	out := &Result{
		Schema: ResultSchema, Version: joinUnique(results, func(r *Result) string { return r.Version }),
		GoVersion: joinUnique(results, func(r *Result) string { return r.GoVersion }),
		Host:      joinUnique(results, func(r *Result) string { return r.Host }),
		Command:   first.Command,
		Mode:      first.Mode,
		Target:    joinUnique(results, func(r *Result) string { return r.Target }),
		Scenario:  slices.Clone(first.Scenario),
	}
	for _, r := range results {
		if out.Start.IsZero() || r.Start.Before(out.Start) {
			out.Start = r.Start
		}
		if r.End.After(out.End) {
			out.End = r.End
		}
	}
	out.DurationS = out.End.Sub(out.Start).Seconds()

	var reasons []string
	for i, r := range results {
		if r.Partial {
			out.Partial = true
			reasons = append(reasons, label(r, i)+": "+r.PartialReason)
		}
		out.Aborted = out.Aborted || r.Aborted
		out.Unreachable = out.Unreachable || r.Unreachable
	}
	out.PartialReason = strings.Join(reasons, "; ")

	var err error
	if out.Metrics, err = mergeMetrics(results); err != nil {
		return nil, err
	}
	out.Counters = mergeCounters(results)
	var names EventTallies
	for i, r := range results {
		if err := names.Merge(&r.Counters); err != nil {
			return nil, fmt.Errorf("merge: result %d: %w", i+1, err)
		}
	}
	names.Fill(&out.Counters, true)
	out.Timeseries = mergeTimeseries(out.Start, results)
	out.Generator = mergeGenerators(results)

	var shards []string
	for i, r := range results {
		shards = append(shards, label(r, i))
		for _, n := range r.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
	}
	for i := 1; i < len(results); i++ {
		if string(results[i].Scenario) != string(first.Scenario) {
			out.Notes = append(out.Notes, "the merged results ran different scenarios; the first one's is shown")
			break
		}
	}
	out.Merged = len(results)
	if len(results) > 1 {
		out.Notes = append(out.Notes, fmt.Sprintf("merged from %d results (%s); per-second latency percentiles are the highest of the inputs for that second, an upper bound",
			len(results), strings.Join(shards, ", ")))
	}
	return out, nil
}

// label names one input in notes and reasons.
func label(r *Result, i int) string {
	switch {
	case r.Shard != "" && r.Host != "":
		return fmt.Sprintf("shard %s on %s", r.Shard, r.Host)
	case r.Shard != "":
		return "shard " + r.Shard
	case r.Host != "":
		return fmt.Sprintf("#%d on %s", i+1, r.Host)
	}
	return fmt.Sprintf("#%d", i+1)
}

func joinUnique(rs []*Result, f func(*Result) string) string {
	var seen []string
	for _, r := range rs {
		if v := f(r); v != "" && !slices.Contains(seen, v) {
			seen = append(seen, v)
		}
	}
	return strings.Join(seen, ", ")
}

func mergeMetrics(results []*Result) (map[string]Metric, error) {
	names := map[string]bool{}
	for _, r := range results {
		for n := range r.Metrics {
			names[n] = true
		}
	}
	out := make(map[string]Metric, len(names))
	for _, name := range sortedKeys(names) {
		sum := NewHist()
		for i, r := range results {
			m, ok := r.Metrics[name]
			if !ok || m.Count == 0 {
				continue
			}
			if m.HDR == "" {
				return nil, fmt.Errorf("merge: %s of result %d has %d samples but no histogram: it cannot be merged exactly", name, i+1, m.Count)
			}
			h, err := m.Hist()
			if err != nil {
				return nil, fmt.Errorf("merge: %s of result %d: %w", name, i+1, err)
			}
			if h.LowestTrackableValue() != sum.LowestTrackableValue() || h.HighestTrackableValue() != sum.HighestTrackableValue() ||
				h.SignificantFigures() != sum.SignificantFigures() {
				return nil, fmt.Errorf("merge: %s of result %d: histogram bounds [%d, %d] with %d digits differ from ssebench's [%d, %d] with %d",
					name, i+1, h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(),
					sum.LowestTrackableValue(), sum.HighestTrackableValue(), sum.SignificantFigures())
			}
			if h.TotalCount() != m.Count {
				return nil, fmt.Errorf("merge: %s of result %d: the histogram holds %d samples but the count says %d", name, i+1, h.TotalCount(), m.Count)
			}
			if err := MergeInto(sum, h); err != nil {
				return nil, fmt.Errorf("merge: %s of result %d: %w", name, i+1, err)
			}
		}
		out[name] = Summarize(sum)
	}
	return out, nil
}

func mergeCounters(results []*Result) Counters {
	var c Counters
	c.Ends = map[string]int64{}
	for _, r := range results {
		o := r.Counters
		c.StreamsOpened += o.StreamsOpened
		c.StreamsFailed += o.StreamsFailed
		c.Events += o.Events
		c.Comments += o.Comments
		c.Bytes += o.Bytes
		c.Reconnects += o.Reconnects
		c.EventsLost += o.EventsLost
		c.EventsDuplicated += o.EventsDuplicated
		c.Publishes += o.Publishes
		c.PublishErrors += o.PublishErrors
		c.ClockSkew += o.ClockSkew
		c.Unstamped += o.Unstamped
		c.DeliveryOverHour += o.DeliveryOverHour
		c.Redirects += o.Redirects
		c.Requests += o.Requests
		c.RequestsOK += o.RequestsOK
		c.RequestsGood += o.RequestsGood
		c.Tokens += o.Tokens
		c.RequestsCut += o.RequestsCut
		c.TokensCut += o.TokensCut
		c.TokensFailed += o.TokensFailed
		c.TypeFieldMissing += o.TypeFieldMissing
		for k, v := range o.Ends {
			c.Ends[k] += v
		}
		for _, k := range sortedKeys(o.ErrorSamples) {
			if _, ok := c.ErrorSamples[k]; !ok {
				if c.ErrorSamples == nil {
					c.ErrorSamples = map[string]string{}
				}
				c.ErrorSamples[k] = o.ErrorSamples[k]
			}
		}
	}
	return c
}

func mergeTimeseries(start time.Time, results []*Result) []Point {
	type slot struct {
		p        Point
		last     time.Time // latest wall time that fell in this second
		teardown bool      // every point in it is a teardown point
	}
	buckets := map[int]*slot{}
	type span struct{ from, to int }
	spans := make([]span, len(results))
	// last gauge values of each input, per bucket, for the carry-forward
	gauges := make([]map[int][2]int64, len(results))
	for i, r := range results {
		gauges[i] = map[int][2]int64{}
		spans[i] = span{math.MaxInt, math.MinInt}
		ts := r.Timeseries
		if load := LoadPoints(ts); len(load) < len(ts) {
			// a teardown told by shape in an older result: mark it
			ts = slices.Clone(ts)
			ts[len(ts)-1].Teardown = true
		}
		for _, p := range ts {
			wall := r.Start.Add(time.Duration(p.T * float64(time.Second)))
			sec := MergedSecond(r.Start.Sub(start), p)
			spans[i].from, spans[i].to = min(spans[i].from, sec), max(spans[i].to, sec)
			s := buckets[sec]
			if s == nil {
				s = &slot{teardown: true}
				buckets[sec] = s
			}
			s.teardown = s.teardown && p.Teardown
			if wall.After(s.last) {
				s.last = wall
			}
			s.p.Add(p)
			gauges[i][sec] = [2]int64{p.Open, p.Target} // a later point in the same second wins
		}
	}
	secs := slices.Sorted(maps.Keys(buckets))
	out := make([]Point, 0, len(secs))
	cur := make([][2]int64, len(results))
	for _, sec := range secs {
		s := buckets[sec]
		p := s.p
		p.Teardown = s.teardown
		p.T = float64(sec)
		if s.teardown {
			p.T = math.Round(s.last.Sub(start).Seconds()*1e6) / 1e6 // when the last input closed
		}
		for i := range results {
			if g, ok := gauges[i][sec]; ok {
				cur[i] = g
			} else if sec < spans[i].from || sec > spans[i].to {
				continue // before this input started or after it ended
			}
			p.Open += cur[i][0]
			p.Target += cur[i][1]
		}
		out = append(out, p)
	}
	return out
}

func mergeGenerators(results []*Result) Generator {
	var g Generator
	var reasons []string
	for i, r := range results {
		o := r.Generator
		g.PeakRSSBytes = max(g.PeakRSSBytes, o.PeakRSSBytes)
		g.CPUSeconds += o.CPUSeconds
		g.MaxLagMS = max(g.MaxLagMS, o.MaxLagMS)
		g.PeakGoroutines += o.PeakGoroutines
		g.Procs += o.Procs
		if o.Saturated {
			g.Saturated = true
			reason := o.SaturatedReason
			if len(results) > 1 {
				reason = label(r, i) + ": " + reason
			}
			reasons = append(reasons, reason)
		}
	}
	g.SaturatedReason = strings.Join(reasons, "; ")
	return g
}
