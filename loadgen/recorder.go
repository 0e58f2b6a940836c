package loadgen

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/report"
)

// metric indexes report.MetricNames.
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
	numMetrics
)

// counts are additive totals; a shard holds the current interval's, the
// aggregator the run's.
type counts struct {
	opened, failed, events, comments, bytes, reconnects int64
	lost, dup, publishes, publishErrors, clockSkew      int64
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

// shard is where a group of streams records. Each stream always uses the
// same shard, so a shard's lock is contended only by its own streams; the
// aggregator drains every shard once a second.
type shard struct {
	mu sync.Mutex
	h  [numMetrics]*hdrhistogram.Histogram
	c  counts
}

func (s *shard) record(m metric, d time.Duration) { report.RecordDuration(s.h[m], d) }

func (s *shard) end(class string, abnormal bool) {
	if s.c.ends == nil {
		s.c.ends = map[string]int64{}
	}
	s.c.ends[class]++
	if abnormal {
		s.fail(class)
	}
}

// sample keeps the first error text of a class.
func (s *shard) sample(class string, err error) {
	if err == nil {
		return
	}
	if _, ok := s.c.samples[class]; ok {
		return
	}
	if s.c.samples == nil {
		s.c.samples = map[string]string{}
	}
	s.c.samples[class] = err.Error()
}

func (s *shard) fail(class string) {
	if s.c.errs == nil {
		s.c.errs = map[string]int64{}
	}
	s.c.errs[class]++
}

// recorder owns the shards and the aggregated totals. Only the aggregator
// goroutine calls drain.
type recorder struct {
	shards []*shard
	total  [numMetrics]*hdrhistogram.Histogram
	ival   [numMetrics]*hdrhistogram.Histogram
	tot    counts
	open   atomic.Int64 // streams open right now
}

func newRecorder(nshards int) *recorder {
	r := &recorder{shards: make([]*shard, nshards)}
	for i := range r.shards {
		s := &shard{}
		for m := range s.h {
			s.h[m] = report.NewHist()
		}
		r.shards[i] = s
	}
	for m := range r.total {
		r.total[m] = report.NewHist()
		r.ival[m] = report.NewHist()
	}
	return r
}

func (r *recorder) shard(id int) *shard { return r.shards[id%len(r.shards)] }

// drain moves every shard's interval into the totals and returns the
// interval's counts; r.ival holds the interval's histograms until the next
// drain.
func (r *recorder) drain() counts {
	for _, h := range r.ival {
		h.Reset()
	}
	var iv counts
	for _, s := range r.shards {
		s.mu.Lock()
		for m, h := range s.h {
			if h.TotalCount() > 0 {
				_ = report.MergeInto(r.ival[m], h) // same bounds everywhere: nothing drops
				h.Reset()
			}
		}
		iv.add(&s.c)
		s.c = counts{}
		s.mu.Unlock()
	}
	for m, h := range r.ival {
		if h.TotalCount() > 0 {
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
		FirstEventP50MS: report.Quantile(r.ival[mFirstEvent], 50),
		FirstEventP99MS: report.Quantile(r.ival[mFirstEvent], 99),
		DeliveryP50MS:   report.Quantile(r.ival[mDelivery], 50),
		DeliveryP99MS:   report.Quantile(r.ival[mDelivery], 99),
		DeliveryMaxMS:   report.Quantile(r.ival[mDelivery], 100),
	}
	for _, v := range iv.errs {
		p.Errors += v
	}
	if len(iv.errs) > 0 {
		p.ErrorsByKind = maps.Clone(iv.errs)
	}
	return p
}

// counters is the run's totals in result form.
func (r *recorder) counters() report.Counters {
	t := r.tot
	ends := maps.Clone(t.ends)
	if ends == nil {
		ends = map[string]int64{}
	}
	return report.Counters{
		StreamsOpened: t.opened, StreamsFailed: t.failed, Events: t.events, Comments: t.comments,
		Bytes: t.bytes, Reconnects: t.reconnects, EventsLost: t.lost, EventsDuplicated: t.dup,
		Publishes: t.publishes, PublishErrors: t.publishErrors, ClockSkew: t.clockSkew, Ends: ends,
		ErrorSamples: maps.Clone(t.samples),
	}
}

// metrics summarises the totals.
func (r *recorder) metrics() map[string]report.Metric {
	out := make(map[string]report.Metric, numMetrics)
	for m, h := range r.total {
		out[report.MetricNames[m]] = report.Summarize(h)
	}
	return out
}
