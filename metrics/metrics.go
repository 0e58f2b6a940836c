// Package metrics serves a load run's figures live on a Prometheus
// endpoint (--metrics-addr), built on github.com/prometheus/client_golang.
//
// Nothing is recorded twice: the run keeps its histograms and counters as
// always, and once a second the exporter is handed the run's state
// (loadgen.Progress, the same one thresholds are checked on live); a
// scrape turns the latest one into Prometheus series. So the hot path is
// untouched, and the scraped figures are the result JSON's figures: the
// counters equal its counters, and each latency histogram is its
// HdrHistogram read out at fixed bucket bounds.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
)

// Namespace prefixes every series.
const Namespace = "ssebench"

// Labels are put on every series: which run, which shard of it, and
// which host it loads (a host, never a URL: no path, query or secret).
type Labels struct {
	Run    string // the run's name (--metrics-run, default the scenario file's base name or "run")
	Shard  string // "0/1" in one process; "i/n" in a shard
	Target string // the target's host:port
}

func (l Labels) names() []string  { return []string{"run", "shard", "target"} }
func (l Labels) values() []string { return []string{l.Run, l.Shard, l.Target} }

// Buckets are the upper bounds, in seconds, of every latency histogram:
// from 50 µs to 20 minutes, 25% apart, so a quantile read from them (for
// example histogram_quantile(0.99, ...)) is within 25% of the run's own
// figure at any scale from a loopback connect to a reconnect storm.
var Buckets = prometheus.ExponentialBucketsRange(50e-6, 1200, 77)

// counter is one cumulative count of the run.
type counter struct {
	name, help string
	get        func(report.Counters) int64
}

// Counters are the run's counters exported as Prometheus counters, named
// ssebench_<name>_total.
var Counters = []counter{
	{"streams_opened", "Connections answered 200 text/event-stream.", func(c report.Counters) int64 { return c.StreamsOpened }},
	{"streams_failed", "Connection attempts that did not become a stream.", func(c report.Counters) int64 { return c.StreamsFailed }},
	{"events", "Events dispatched.", func(c report.Counters) int64 { return c.Events }},
	{"comments", "Comment lines (heartbeats).", func(c report.Counters) int64 { return c.Comments }},
	{"bytes", "Body bytes parsed.", func(c report.Counters) int64 { return c.Bytes }},
	{"reconnects", "Attempts made after a stream ended.", func(c report.Counters) int64 { return c.Reconnects }},
	{"events_lost", "Sequence gaps (with sequence: true).", func(c report.Counters) int64 { return c.EventsLost }},
	{"events_duplicated", "Sequence repeats (with sequence: true).", func(c report.Counters) int64 { return c.EventsDuplicated }},
	{"publishes", "Publishes answered 2xx.", func(c report.Counters) int64 { return c.Publishes }},
	{"publish_errors", "Publishes that failed.", func(c report.Counters) int64 { return c.PublishErrors }},
	{"requests", "Request mode: arrivals (requests sent plus skipped ones).", func(c report.Counters) int64 { return c.Requests }},
	{"requests_ok", "Request mode: answers that ended normally.", func(c report.Counters) int64 { return c.RequestsOK }},
	{"requests_good", "Request mode: answers that also met every per-request SLO (goodput).", func(c report.Counters) int64 { return c.RequestsGood }},
	{"tokens", "Request mode: output tokens of the answers that ended normally.", func(c report.Counters) int64 { return c.Tokens }},
}

// EndsName is the labelled counter of why streams ended, by end class
// (report's registry: label "class", and "error" true or false).
const EndsName = Namespace + "_ends_total"

// Gauges of the latest second.
const (
	OpenName      = Namespace + "_streams_open"   // streams (request mode: requests) open now
	TargetName    = Namespace + "_streams_target" // streams the schedule wants open now
	ElapsedName   = Namespace + "_elapsed_seconds"
	DoneName      = Namespace + "_run_done" // 1 once the run has ended (the figures are final)
	CPUName       = Namespace + "_generator_cpu_share"
	LagName       = Namespace + "_generator_schedule_lag_seconds"
	SaturatedName = Namespace + "_generator_saturated"
)

// HistogramName is the series of one latency metric of report's
// (connect, delivery, ttft, ...): ssebench_<metric>_seconds.
func HistogramName(metric string) string { return Namespace + "_" + metric + "_seconds" }

// HistogramMetrics are the latency metrics exported, when the run measured
// them: every one the result JSON has.
var HistogramMetrics = func() []string {
	var out []string
	for _, n := range slices.Concat(report.MetricNames, report.RequestMetricNames) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}()

// Exporter holds the latest state of one run and turns it into series at
// each scrape. Safe for concurrent use: the run updates, scrapes read.
type Exporter struct {
	labels Labels
	mode   string // the scenario's mode, for which end classes are errors

	mu      sync.Mutex
	totals  report.Counters
	hists   map[string]bucketed // by metric name, read out at Buckets
	point   report.Point
	health  loadgen.Health
	elapsed time.Duration
	done    bool
	// wanted is set by a scrape: the next Update reads the histograms out
	// (a readout walks every HdrHistogram bucket, so it is done once per
	// scrape interval, not every second; the series are then at most a
	// second older than the scrape).
	wanted bool
}

// New returns an exporter for a run of mode (the scenario's) with these
// labels. The generator's memory and CPU are the standard process_*
// series Serve adds beside.
func New(l Labels, mode string) *Exporter {
	return &Exporter{labels: l, mode: mode}
}

// Update takes one second of the run: with its Hists (as
// loadgen.Options.Live gives them, read out here, during the call) or
// else its Metrics (as Options.Check gets them).
func (e *Exporter) Update(p loadgen.Progress) {
	e.mu.Lock()
	wanted := e.wanted || e.hists == nil
	e.mu.Unlock()
	var hists map[string]bucketed
	if wanted {
		hists = readAll(p)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.totals, e.health, e.elapsed = p.Totals, p.Health, p.Elapsed
	if wanted {
		e.hists, e.wanted = hists, false
	}
	if !p.Point.Teardown {
		e.point = p.Point
	}
}

// readAll reads every histogram of p out at Buckets: its Hists (the run's
// own, during the Live call) or else its Metrics (as Check gets them).
func readAll(p loadgen.Progress) map[string]bucketed {
	hists := map[string]bucketed{}
	for _, name := range HistogramMetrics {
		if h := p.Hists[name]; h != nil {
			if h.TotalCount() > 0 {
				hists[name] = readOut(h)
			}
		} else if m, ok := p.Metrics[name]; ok && m.Count > 0 {
			if h, err := m.Hist(); err == nil {
				hists[name] = readOut(h)
			}
		}
	}
	return hists
}

// Final takes the run's result: from then on the series are the result
// JSON's final figures, and ssebench_run_done is 1.
func (e *Exporter) Final(r *report.Result) {
	hists := map[string]bucketed{}
	for _, name := range HistogramMetrics {
		if m, ok := r.Metrics[name]; ok && m.Count > 0 {
			if h, err := m.Hist(); err == nil {
				hists[name] = readOut(h)
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.totals, e.hists, e.done = r.Counters, hists, true
	e.elapsed = time.Duration(r.DurationS * float64(time.Second))
	e.point.Open = 0
}

// Done marks the figures final without a load result (a capacity search
// ends with its own result; its last second stays as it was).
func (e *Exporter) Done() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.done, e.point.Open = true, 0
}

// Describe sends nothing: the series depend on what the run measured
// (an unchecked collector, which client_golang allows).
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect turns the latest state into series.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	totals, hists, point, health, elapsed, done := e.totals, e.hists, e.point, e.health, e.elapsed, e.done
	e.wanted = true
	e.mu.Unlock()

	names, values := e.labels.names(), e.labels.values()
	gauge := func(name, help string, v float64) {
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, prometheus.Labels(zip(names, values))), prometheus.GaugeValue, v)
	}
	for _, c := range Counters {
		desc := prometheus.NewDesc(Namespace+"_"+c.name+"_total", c.help, nil, prometheus.Labels(zip(names, values)))
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(c.get(totals)))
	}
	ends := prometheus.NewDesc(EndsName, "Why streams (request mode: answers) ended, by end class.", []string{"class", "error"}, prometheus.Labels(zip(names, values)))
	for class, n := range totals.Ends {
		ch <- prometheus.MustNewConstMetric(ends, prometheus.CounterValue, float64(n), class, fmt.Sprint(report.EndIsError(e.mode, class)))
	}
	gauge(OpenName, "Streams (request mode: requests in flight) open in the latest second.", float64(point.Open))
	gauge(TargetName, "Streams the schedule wants open in the latest second.", float64(point.Target))
	gauge(ElapsedName, "Seconds since the run started.", elapsed.Seconds())
	gauge(DoneName, "1 once the run has ended and the figures are final.", b2f(done))
	gauge(CPUName, "The generator's CPU use over the latest second, as a share of its cores (0..1).", health.CPUShare)
	gauge(LagName, "The generator's worst timer lag in the latest second.", health.Lag.Seconds())
	gauge(SaturatedName, "1 when the generator is saturated by its own measure (its figures are then suspect).", b2f(health.Saturated != ""))
	for _, name := range HistogramMetrics {
		b, ok := hists[name]
		if !ok {
			continue
		}
		desc := prometheus.NewDesc(HistogramName(name), "Latency of "+name+" (see the README's Concepts).", nil, prometheus.Labels(zip(names, values)))
		if h, err := prometheus.NewConstHistogram(desc, b.count, b.sum, b.counts); err == nil {
			ch <- h
		}
	}
}

// bucketed is one histogram read out at Buckets.
type bucketed struct {
	count  uint64
	sum    float64 // seconds
	counts map[float64]uint64
}

// readOut reads an HdrHistogram of microseconds out at Buckets.
func readOut(h *hdrhistogram.Histogram) bucketed {
	b := bucketed{count: uint64(h.TotalCount()), counts: make(map[float64]uint64, len(Buckets))}
	bars := h.Distribution()
	i := 0
	var cum uint64
	for _, le := range Buckets {
		limit := int64(math.Floor(le * 1e6)) // µs
		for i < len(bars) && bars[i].To <= limit {
			cum += uint64(bars[i].Count)
			b.sum += float64(bars[i].Count) * float64(bars[i].To) / 1e6
			i++
		}
		b.counts[le] = cum
	}
	for ; i < len(bars); i++ {
		b.sum += float64(bars[i].Count) * float64(bars[i].To) / 1e6
	}
	return b
}

func zip(k, v []string) map[string]string {
	out := make(map[string]string, len(k))
	for i := range k {
		out[k[i]] = v[i]
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Server is a running /metrics endpoint.
type Server struct {
	Addr string // the address it listens on (the port filled in for ":0")
	srv  *http.Server
	done chan struct{}
}

// Serve starts serving e at http://addr/metrics (and the Go runtime's and
// process's own standard series beside, as any client_golang program).
// A listen error is returned at once, naming --metrics-addr.
func Serve(addr string, e *Exporter) (*Server, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(e); err != nil {
		return nil, err
	}
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	s := &Server{Addr: ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the run goes on without its endpoint; a scrape will show it gone
		}
	}()
	return s, nil
}

// Close stops serving after in-flight scrapes finish (at most 2 s).
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}
