package loadgen

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// metric indexes metricNames.
type metric int

const (
	mConnect metric = iota
	mHeaders
	mFirstByte
	mFirstEvent
	mInterEvent
	mDelivery
	mPublishDelivery
	mReconnect
	mLifetime
	mLag
	// Request mode only.
	mTTFT
	mITL
	mTPOT
	mE2E
	mTTFTSent
	mE2ESent
	numMetrics
)

// metricNames names each metric index in the result.
var metricNames = [numMetrics]string{
	mConnect: report.MetricConnect, mHeaders: report.MetricHeaders, mFirstByte: report.MetricFirstByte,
	mFirstEvent: report.MetricFirstEvent, mInterEvent: report.MetricInterEvent, mDelivery: report.MetricDelivery,
	mPublishDelivery: report.MetricPublishDelivery, mReconnect: report.MetricReconnect, mLifetime: report.MetricLifetime,
	mLag: report.MetricLag, mTTFT: report.MetricTTFT, mITL: report.MetricITL, mTPOT: report.MetricTPOT, mE2E: report.MetricE2E,
	mTTFTSent: report.MetricTTFTSent, mE2ESent: report.MetricE2ESent,
}

// metricIndex is the index of a metric name, or -1.
func metricIndex(name string) metric {
	for m, n := range metricNames {
		if n == name {
			return metric(m)
		}
	}
	return -1
}

// modeMetrics is the metrics a result of the given mode carries, in
// report order: subscribe results keep exactly their historical set.
func modeMetrics(mode string) []string {
	if mode == scenarios.ModeRequest {
		return report.RequestMetricNames
	}
	return report.MetricNames
}

// counts are additive totals; a stripe holds the current interval's, the
// aggregator the run's.
type counts struct {
	opened, failed, events, comments, bytes, reconnects int64
	lost, dup, publishes, publishErrors, clockSkew      int64
	unstamped, deliveryOverHour, redirects              int64
	requests, requestsOK, requestsGood, tokens          int64
	requestsCut, tokensCut, tokensFailed                int64
	typeFieldMissing                                    int64
	ends                                                map[string]int64
	errs                                                map[string]int64  // failures and abnormal ends, per class
	samples                                             map[string]string // first error text per class
}

func (c *counts) add(o *counts) {
	c.opened += o.opened
	c.failed += o.failed
	c.events += o.events
	c.comments += o.comments
	c.bytes += o.bytes
	c.reconnects += o.reconnects
	c.lost += o.lost
	c.dup += o.dup
	c.publishes += o.publishes
	c.publishErrors += o.publishErrors
	c.clockSkew += o.clockSkew
	c.unstamped += o.unstamped
	c.deliveryOverHour += o.deliveryOverHour
	c.redirects += o.redirects
	c.requests += o.requests
	c.requestsOK += o.requestsOK
	c.requestsGood += o.requestsGood
	c.tokens += o.tokens
	c.requestsCut += o.requestsCut
	c.tokensCut += o.tokensCut
	c.tokensFailed += o.tokensFailed
	c.typeFieldMissing += o.typeFieldMissing
	c.ends = report.AddCounts(c.ends, o.ends)
	c.errs = report.AddCounts(c.errs, o.errs)
	for k, v := range o.samples {
		if _, ok := c.samples[k]; !ok {
			if c.samples == nil {
				c.samples = map[string]string{}
			}
			c.samples[k] = v
		}
	}
}

// stripe is where a group of streams records. Each stream always uses the
// same stripe, so a stripe's lock is contended only by its own streams; the
// aggregator drains every stripe once a second. Only the metrics of the
// run's mode have a histogram; the others are nil and never recorded.
type stripe struct {
	mode string // the run's mode: which meaning of an end class applies (report.LookupEnd)
	mu   sync.Mutex
	h    [numMetrics]*hdrhistogram.Histogram
	c    counts
	// types and fields are the interval's events per event: type and per
	// type_field value, kept apart from c so their buffers are reused.
	types, fields stripeNames
}

// record adds d to metric m; a metric the run's mode does not report has
// no histogram and is skipped.
func (s *stripe) record(m metric, d time.Duration) {
	if h := s.h[m]; h != nil {
		report.RecordDuration(h, d)
	}
}

// end counts an end of the class, and an error when the registry says
// the class is one (report.EndIsError); it reports which. Called with
// s.mu held.
func (s *stripe) end(class string) (isError bool) {
	if s.c.ends == nil {
		s.c.ends = map[string]int64{}
	}
	s.c.ends[class]++
	isError = s.isError(class)
	if isError {
		s.fail(class)
	}
	return isError
}

// isError reports whether an end of the class counts as an error in the
// run's mode. It reads only the registry: no lock needed.
func (s *stripe) isError(class string) bool { return report.EndIsError(s.mode, class) }

// sample keeps the first error text of a class.
func (s *stripe) sample(class string, err error) {
	if err == nil {
		return
	}
	if _, ok := s.c.samples[class]; ok {
		return
	}
	if s.c.samples == nil {
		s.c.samples = map[string]string{}
	}
	s.c.samples[class] = errText(err)
}

// errText is an error's text without the repeats that wrapping at
// several layers leaves ("tls: tls: failed ...", "dial tcp: dial tcp
// 127.0.0.1:1: ..."): a part is dropped when the next one says it again
// (equal, or starting with it and a space). Every error sample is
// recorded through it.
func errText(err error) string {
	parts := strings.Split(err.Error(), ": ")
	out := parts[:0]
	for i, p := range parts {
		if i+1 < len(parts) {
			if next := parts[i+1]; next == p || strings.HasPrefix(next, p+" ") {
				continue
			}
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}

func (s *stripe) fail(class string) {
	if s.c.errs == nil {
		s.c.errs = map[string]int64{}
	}
	s.c.errs[class]++
}

// recorder owns the stripes and the aggregated totals. Only the aggregator
// goroutine calls drain.
type recorder struct {
	names   []string // the metrics this run reports (modeMetrics)
	stripes []*stripe
	total   [numMetrics]*hdrhistogram.Histogram
	ival    [numMetrics]*hdrhistogram.Histogram
	tot     counts
	// events are the run's events per name; typeTab and fieldTab bound the
	// names the stripes count by. ivNames, when kept (a shard's
	// snapshots), is the last drained interval's.
	events            report.EventTallies
	ivNames           *report.EventTallies
	typeTab, fieldTab nameTable
	open              atomic.Int64 // streams open right now
	// inFlight is requests started and not yet ended (request mode):
	// connecting, waiting for headers or streaming.
	inFlight atomic.Int64
}

// quantile of an interval histogram; 0 for a metric this mode lacks.
func (r *recorder) quantile(m metric, q float64) float64 {
	if r.ival[m] == nil {
		return 0
	}
	return report.Quantile(r.ival[m], q)
}

func (r *recorder) stripe(id int) *stripe { return r.stripes[id%len(r.stripes)] }

// drain moves every stripe's interval into the totals and returns the
// interval's counts; r.ival holds the interval's histograms until the next
// drain.
func (r *recorder) drain() counts {
	for _, h := range r.ival {
		if h != nil {
			h.Reset()
		}
	}
	var iv counts
	if r.ivNames != nil {
		r.ivNames.Type.Reset()
		r.ivNames.Field.Reset()
	}
	for _, s := range r.stripes {
		s.mu.Lock()
		if r.ivNames != nil {
			s.types.drainInto(&r.events.Type, &r.ivNames.Type)
			s.fields.drainInto(&r.events.Field, &r.ivNames.Field)
		} else {
			s.types.drainInto(&r.events.Type)
			s.fields.drainInto(&r.events.Field)
		}
		for m, h := range s.h {
			if h != nil && h.TotalCount() > 0 {
				_ = report.MergeInto(r.ival[m], h) // same bounds everywhere: nothing drops
				h.Reset()
			}
		}
		iv.add(&s.c)
		s.c = counts{}
		s.mu.Unlock()
	}
	for m, h := range r.ival {
		if h != nil && h.TotalCount() > 0 {
			_ = report.MergeInto(r.total[m], h)
		}
	}
	r.tot.add(&iv)
	return iv
}

// point builds one time-series point from an interval.
func (r *recorder) point(t time.Duration, target int, iv counts) report.Point {
	p := report.Point{
		T: t.Seconds(), Open: r.open.Load(), Target: int64(target),
		Connects: iv.opened, Failures: iv.failed, Events: iv.events, Reconnects: iv.reconnects, Bytes: iv.bytes,
		FirstEventP50MS: r.quantile(mFirstEvent, 50),
		FirstEventP99MS: r.quantile(mFirstEvent, 99),
		DeliveryP50MS:   r.quantile(mDelivery, 50),
		DeliveryP99MS:   r.quantile(mDelivery, 99),
		DeliveryMaxMS:   r.quantile(mDelivery, 100),
	}
	if r.total[mTTFT] != nil {
		p.Open = r.inFlight.Load()
		setRequestPoint(&p, iv, r.quantile(mTTFT, 50), r.quantile(mTTFT, 99), r.quantile(mITL, 99))
	}
	for _, v := range iv.errs {
		p.Errors += v
	}
	if len(iv.errs) > 0 {
		p.ErrorsByKind = maps.Clone(iv.errs)
	}
	return p
}

// counters is the run's totals in result form, the per-name counts
// without their delivery histograms (read once a second, live).
func (r *recorder) counters() report.Counters {
	c := r.tot.counters()
	if c.Ends == nil {
		c.Ends = map[string]int64{}
	}
	r.events.Fill(&c, false)
	return c
}

// resultCounters is counters with the per-name delivery histograms: the
// result's. Only the aggregator, or the run once it is over, calls it.
func (r *recorder) resultCounters() report.Counters {
	c := r.counters()
	r.events.Fill(&c, true)
	return c
}

// metrics summarises the totals of the run's metrics.
// hists are the run's cumulative histograms by name (the recorder's own:
// read them only on the aggregator's goroutine, before it records on).
func (r *recorder) hists() map[string]*hdrhistogram.Histogram {
	out := make(map[string]*hdrhistogram.Histogram, len(r.names))
	for _, n := range r.names {
		out[n] = r.total[metricIndex(n)]
	}
	return out
}

func (r *recorder) metrics() map[string]report.Metric {
	out := make(map[string]report.Metric, len(r.names))
	for _, n := range r.names {
		out[n] = report.Summarize(r.total[metricIndex(n)])
	}
	return out
}

// newModeRecorder records a run of the given mode. Each histogram costs
// ~230 KB per stripe, so only the mode's metrics get one.
func newModeRecorder(nstripes int, mode string) *recorder {
	r := &recorder{names: modeMetrics(mode), stripes: make([]*stripe, nstripes)}
	used := make([]metric, 0, len(r.names))
	for _, n := range r.names {
		used = append(used, metricIndex(n))
	}
	for i := range r.stripes {
		s := &stripe{mode: mode}
		for _, m := range used {
			s.h[m] = report.NewHist()
		}
		r.stripes[i] = s
	}
	for _, m := range used {
		r.total[m] = report.NewHist()
		r.ival[m] = report.NewHist()
	}
	return r
}
