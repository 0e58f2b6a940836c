package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/report"
)

// Shard is one process's share of a run: Index in [0, Count). The zero
// value means the whole run.
type Shard struct{ Index, Count int }

// ParseShard reads "i/n" (0-based, as Kubernetes' JOB_COMPLETION_INDEX).
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	a, err1 := strconv.Atoi(i)
	b, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || b < 1 || a < 0 || a >= b {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return Shard{Index: a, Count: b}, nil
}

func (sh Shard) String() string {
	if sh.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", sh.Index, sh.Count)
}

// share is this shard's part of total, so the parts add up to total.
func (sh Shard) share(total int) int {
	if sh.Count <= 1 {
		return total
	}
	return total*(sh.Index+1)/sh.Count - total*sh.Index/sh.Count
}

// Snapshot is one second of one shard, as a child process streams it to
// its parent (NDJSON). Counters and histograms cover the interval only, so
// the parent's merge is exact and a child that dies loses nothing it had
// already reported.
type Snapshot struct {
	Shard     string            `json:"shard"`
	Wall      time.Time         `json:"wall"`
	Point     report.Point      `json:"point"`
	Counters  report.Counters   `json:"counters"`
	HDR       map[string]string `json:"hdr,omitempty"`
	Final     bool              `json:"final,omitempty"`
	Partial   bool              `json:"partial,omitempty"`
	Generator *report.Generator `json:"generator,omitempty"`
	Notes     []string          `json:"notes,omitempty"`
}

// snapshotWriter encodes snapshots; safe for one writer goroutine.
type snapshotWriter struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

func newSnapshotWriter(w io.Writer) *snapshotWriter {
	bw := bufio.NewWriter(w)
	return &snapshotWriter{bw: bw, enc: json.NewEncoder(bw)}
}

func (sw *snapshotWriter) write(s *Snapshot) {
	if sw.enc.Encode(s) == nil {
		sw.bw.Flush()
	}
}

// intervalSnapshot captures the recorder's last drained interval.
func (r *recorder) intervalSnapshot(sh Shard, wall time.Time, p report.Point, iv counts) *Snapshot {
	s := &Snapshot{Shard: sh.String(), Wall: wall, Point: p, Counters: iv.counters(), HDR: map[string]string{}}
	if r.ivNames != nil {
		r.ivNames.Fill(&s.Counters, true)
	}
	for m, h := range r.ival {
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		if b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
			s.HDR[metricNames[m]] = string(b)
		}
	}
	return s
}

// counters turns interval counts into result form.
func (c *counts) counters() report.Counters {
	return report.Counters{
		StreamsOpened: c.opened, StreamsFailed: c.failed, Events: c.events, Comments: c.comments,
		Bytes: c.bytes, Reconnects: c.reconnects, EventsLost: c.lost, EventsDuplicated: c.dup,
		Publishes: c.publishes, PublishErrors: c.publishErrors, ClockSkew: c.clockSkew,
		Unstamped: c.unstamped, DeliveryOverHour: c.deliveryOverHour, Redirects: c.redirects,
		Requests: c.requests, RequestsOK: c.requestsOK, RequestsGood: c.requestsGood, Tokens: c.tokens,
		RequestsCut: c.requestsCut, TokensCut: c.tokensCut, TokensFailed: c.tokensFailed, TypeFieldMissing: c.typeFieldMissing,
		Ends: maps.Clone(c.ends), ErrorSamples: maps.Clone(c.samples),
	}
}

// fromCounters is the inverse of counters.
func fromCounters(c report.Counters, errs map[string]int64) counts {
	return counts{
		opened: c.StreamsOpened, failed: c.StreamsFailed, events: c.Events, comments: c.Comments,
		bytes: c.Bytes, reconnects: c.Reconnects, lost: c.EventsLost, dup: c.EventsDuplicated,
		publishes: c.Publishes, publishErrors: c.PublishErrors, clockSkew: c.ClockSkew,
		unstamped: c.Unstamped, deliveryOverHour: c.DeliveryOverHour, redirects: c.Redirects,
		requests: c.Requests, requestsOK: c.RequestsOK, requestsGood: c.RequestsGood, tokens: c.Tokens,
		requestsCut: c.RequestsCut, tokensCut: c.TokensCut, tokensFailed: c.TokensFailed, typeFieldMissing: c.TypeFieldMissing,
		ends: c.Ends, errs: errs, samples: c.ErrorSamples,
	}
}

// merger combines the snapshots of several shards into one run: exact
// totals, and a time series bucketed by wall-clock second. Safe for
// concurrent use.
type merger struct {
	mu      sync.Mutex
	names   []string // the metrics the merged result reports (modeMetrics)
	start   time.Time
	total   [numMetrics]*hdrhistogram.Histogram
	tot     counts
	events  report.EventTallies
	buckets map[int]*bucket
	gens    map[string]report.Generator
	notes   []string
	partial bool
}

// bucket is one wall-clock second across shards.
type bucket struct {
	p          report.Point
	first, del *hdrhistogram.Histogram
	ttft, itl  *hdrhistogram.Histogram // request mode
	// gauges holds each shard's latest open streams and target in this
	// second: gauges are summed across shards, never within one.
	gauges map[string][2]int64
}

// add merges one snapshot.
func (m *merger) add(s *Snapshot) error {
	hs := map[string]*hdrhistogram.Histogram{}
	for name, enc := range s.HDR {
		h, err := report.Metric{HDR: enc}.Hist()
		if err != nil {
			return fmt.Errorf("shard %s: %w", s.Shard, err)
		}
		hs[name] = h
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.events.Merge(&s.Counters); err != nil {
		return fmt.Errorf("shard %s: %w", s.Shard, err)
	}
	for i, name := range metricNames {
		if h := hs[name]; h != nil {
			if err := report.MergeInto(m.total[i], h); err != nil {
				return err
			}
		}
	}
	iv := fromCounters(s.Counters, s.Point.ErrorsByKind)
	m.tot.add(&iv)
	if s.Final {
		if s.Generator != nil {
			m.gens[s.Shard] = *s.Generator
		}
		for _, n := range s.Notes {
			if !slices.Contains(m.notes, n) {
				m.notes = append(m.notes, n)
			}
		}
		m.partial = m.partial || s.Partial
		return nil // a final snapshot carries no point of its own
	}
	sec := m.second(s)
	b := m.buckets[sec]
	if b == nil {
		b = &bucket{first: report.NewHist(), del: report.NewHist(), ttft: report.NewHist(), itl: report.NewHist(), gauges: map[string][2]int64{}}
		b.p.T = float64(sec)
		b.p.Teardown = true
		m.buckets[sec] = b
	}
	// Percentiles come from the merged histograms below (see point).
	b.p.Add(s.Point)
	b.p.Teardown = b.p.Teardown && s.Point.Teardown
	b.gauges[s.Shard] = [2]int64{s.Point.Open, s.Point.Target}
	if h := hs[report.MetricFirstEvent]; h != nil {
		report.MergeInto(b.first, h)
	}
	if h := hs[report.MetricDelivery]; h != nil {
		report.MergeInto(b.del, h)
	}
	if h := hs[report.MetricTTFT]; h != nil {
		report.MergeInto(b.ttft, h)
	}
	if h := hs[report.MetricITL]; h != nil {
		report.MergeInto(b.itl, h)
	}
	return nil
}

// second is the merged second of a shard's snapshot (report.MergedSecond:
// the shard's own seconds, offset by when it started).
func (m *merger) second(s *Snapshot) int {
	shardStart := s.Wall.Add(-time.Duration(s.Point.T * float64(time.Second)))
	return report.MergedSecond(shardStart.Sub(m.start), s.Point)
}

// point is the merged point of second sec (nil when no shard reported it).
func (m *merger) point(sec int) *report.Point {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[sec]
	if b == nil {
		return nil
	}
	p := b.p
	for _, g := range b.gauges {
		p.Open += g[0]
		p.Target += g[1]
	}
	p.FirstEventP50MS = report.Quantile(b.first, 50)
	p.FirstEventP99MS = report.Quantile(b.first, 99)
	p.DeliveryP50MS = report.Quantile(b.del, 50)
	p.DeliveryP99MS = report.Quantile(b.del, 99)
	p.DeliveryMaxMS = report.Quantile(b.del, 100)
	if b.ttft.TotalCount() > 0 || b.itl.TotalCount() > 0 {
		setRequestQuantiles(&p, report.Quantile(b.ttft, 50), report.Quantile(b.ttft, 99), report.Quantile(b.itl, 99))
	}
	return &p
}

// metrics summarises the merged histograms so far.
// withHists calls fn with the merged histograms by name, under the
// merger's lock (they are valid only during fn).
func (m *merger) withHists(fn func(map[string]*hdrhistogram.Histogram)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]*hdrhistogram.Histogram, len(m.names))
	for _, n := range m.names {
		out[n] = m.total[metricIndex(n)]
	}
	fn(out)
}

func (m *merger) metrics() map[string]report.Metric {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]report.Metric, len(m.names))
	for _, n := range m.names {
		out[n] = report.Summarize(m.total[metricIndex(n)])
	}
	return out
}

// totals is the run so far in result form, the per-name counts without
// their delivery histograms (read once a second, live).
func (m *merger) totals() report.Counters { return m.counters(false) }

// resultTotals is totals with the per-name delivery histograms.
func (m *merger) resultTotals() report.Counters { return m.counters(true) }

func (m *merger) counters(delivery bool) report.Counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.tot.counters()
	if c.Ends == nil {
		c.Ends = map[string]int64{}
	}
	m.events.Fill(&c, delivery)
	return c
}

// fill completes res from everything merged.
func (m *merger) fill(res *report.Result) {
	last := -1
	m.mu.Lock()
	for sec := range m.buckets {
		last = max(last, sec)
	}
	m.mu.Unlock()
	for sec := 0; sec <= last; sec++ {
		if p := m.point(sec); p != nil {
			res.Timeseries = appendPoint(res.Timeseries, *p)
		}
	}
	res.Metrics = m.metrics()
	m.mu.Lock()
	defer m.mu.Unlock()
	var g report.Generator
	var reasons []string
	for shard, sg := range m.gens {
		g.PeakRSSBytes += sg.PeakRSSBytes
		g.BaselineRSSBytes += sg.BaselineRSSBytes
		g.CPUSeconds += sg.CPUSeconds
		g.MaxLagMS = max(g.MaxLagMS, sg.MaxLagMS)
		g.PeakGoroutines += sg.PeakGoroutines
		g.Procs = max(g.Procs, sg.Procs)
		if sg.Saturated {
			g.Saturated = true
			reasons = append(reasons, "shard "+shard+": "+sg.SaturatedReason)
		}
	}
	g.SaturatedReason = strings.Join(reasons, "; ")
	res.Generator = g
	res.Notes = append(res.Notes, m.notes...)
}

// newModeMerger merges a run of the given mode.
func newModeMerger(start time.Time, mode string) *merger {
	m := &merger{names: modeMetrics(mode), start: start, buckets: map[int]*bucket{}, gens: map[string]report.Generator{}}
	for i := range m.total {
		m.total[i] = report.NewHist()
	}
	return m
}
