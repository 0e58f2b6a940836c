package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// Options are the run settings that are not part of the scenario.
type Options struct {
	// Version is written into the result.
	Version string
	// Progress, when set, gets one call per second from the aggregator
	// with the last interval and the run's totals so far.
	Progress func(Progress)
	// Shard, when set, runs only this process's share of the scenario's
	// streams and arrival rate; only shard 0 publishes.
	Shard Shard
	// Snapshots, when set, gets one NDJSON Snapshot per second and a final
	// one: how a shard process reports to its parent.
	Snapshots io.Writer
	// Stripes is the number of recording stripes (not shard processes: see Shard); 0 means 2 per CPU. Each
	// holds a histogram per metric (~230 KB each), so more stripes cost
	// memory; at one lock per event, contention is negligible.
	Stripes int
	// Check, when set, gets the same once-a-second Progress (with Metrics
	// filled in) after Progress; an error stops the run early, and the
	// result is marked partial with the error as the reason. It is how
	// abort_on_fail thresholds are evaluated live.
	Check func(Progress) error
	// Live, when set, gets the same once-a-second Progress with Hists set:
	// the run's cumulative histograms themselves, valid only during the
	// call (the aggregator goes on recording into them afterwards), and
	// no Metrics, so nothing is encoded for it. It is how --metrics-addr
	// reads the run without slowing it.
	Live func(Progress)
	// FailFast stops the run early, marked unreachable, when every
	// attempt of its first seconds failed with the same connect or TLS
	// error and none succeeded (see failFast): a run that can reach
	// nothing need not last its whole duration to say so.
	FailFast bool
}

// failFastAfter is how long a run goes before it judges whether anything
// can connect: long enough for the first attempts to end.
const failFastAfter = 2 * time.Second

// failFast decides once, at the first once-a-second progress at or past
// failFastAfter in which an attempt has ended, whether nothing can
// connect. Not safe for concurrent use (the aggregator calls it).
type failFast struct {
	armed    bool
	insecure bool // certificates were not verified: no --insecure hint
}

// check returns the cause when the run should stop: every attempt that
// ended failed with the same connect or TLS error, and none opened a
// stream (or, in request mode, was answered).
func (f *failFast) check(p Progress) error {
	if !f.armed || p.Elapsed < failFastAfter {
		return nil
	}
	t := p.Totals
	var ended int64
	for _, n := range t.Ends {
		ended += n
	}
	if ended == 0 {
		return nil // nothing has ended yet (a slow connect): look again next second
	}
	f.armed = false
	if t.StreamsOpened > 0 || t.RequestsOK > 0 || len(t.Ends) != 1 {
		return nil
	}
	var class string // the one class
	for c := range t.Ends {
		class = c
	}
	if class != report.EndConnectError && class != report.EndTLSError {
		return nil
	}
	which := fmt.Sprintf("all %d attempts", ended)
	if ended == 1 {
		which = "the one attempt"
	}
	cause := fmt.Sprintf("nothing could connect: %s in the first %v failed with %s", which, p.Elapsed.Round(time.Second), class)
	if sample := t.ErrorSamples[class]; sample != "" {
		cause += ": " + report.WithHint(sample, class, f.insecure)
	}
	return errors.New(cause)
}

// Progress is what the live progress line shows.
type Progress struct {
	Elapsed, Total time.Duration
	Point          report.Point
	Totals         report.Counters
	// Metrics summarises the run's histograms so far; only filled in for
	// Options.Check (it costs an encode per metric).
	Metrics map[string]report.Metric
	// Hists are the run's cumulative histograms by metric name, only for
	// Options.Live and only during its call.
	Hists map[string]*hdrhistogram.Histogram
	// Health is the generator's own state over the last interval (in a
	// sharded run: the parent's, which does not drive streams).
	Health Health
	// Mode is the scenario's mode ("request" shows a request line).
	Mode string
}

// gen is one running load test.
type gen struct {
	sc        *scenarios.Scenario
	endpoints []*endpoint
	dialers   []*net.Dialer
	rec       *recorder
	pub       *publisher
	h2        *h2pool // nil on HTTP/1.1
	// matchPublishes looks for publish nonces in every event; set when a
	// publisher runs here or in a sibling shard.
	matchPublishes bool
	stamp          *jsonPath // where events carry the send time; nil: no delivery latency
	stampFormat    string
	names          *eventNamer // what events are counted by, and what closes a client

	shard Shard
	req   *reqConfig // request mode; nil in subscribe mode

	// newEndpoint prepares a request to another URL (a redirect's target)
	// the way the scenario's targets were prepared.
	newEndpoint func(url, method string) (*endpoint, error)

	mu    sync.Mutex
	slots map[int]*slot
	dead  int // clients that gave up; they keep their place in the target
}

// Run executes the scenario until its stages end or ctx is cancelled, and
// returns the result. A cancelled run still returns everything measured,
// marked partial. The error is non-nil only when the run could not start.
func Run(ctx context.Context, s *scenarios.Scenario, opt Options) (*report.Result, error) {
	header, err := s.ExpandedHeaders()
	if err != nil {
		return nil, err
	}
	pool, err := scenarios.ParseAddrPool(s.SourceAddrs)
	if err != nil {
		return nil, err
	}
	var notes []string
	if len(pool) == 0 {
		if pool = autoPool(s); len(pool) > 0 {
			notes = append(notes, fmt.Sprintf("source addresses %s-%s chosen automatically: %d streams per target exceed one address's ephemeral ports",
				pool[0], pool[len(pool)-1], s.MaxTarget()/max(1, len(s.URLs))))
		}
	}
	ds, err := dialers(pool, s.Timeout.Connect.D())
	if err != nil {
		return nil, err
	}
	g := &gen{sc: s, dialers: ds, slots: map[int]*slot{}, shard: opt.Shard}
	if lf := s.Expect.LatencyField; lf.Format != "none" {
		if g.stamp, err = parseJSONPath(lf.Field); err != nil {
			return nil, fmt.Errorf("latency_field: %w", err)
		}
		g.stampFormat = lf.Format
	}
	ua := "ssebench/" + opt.Version
	body := []byte(s.Body)
	maxStreams := opt.Shard.share(s.MaxTarget())
	request := s.Mode == scenarios.ModeRequest
	if request {
		if g.req, err = newReqConfig(s, opt.Shard); err != nil {
			return nil, err
		}
		body = g.req.static
		if !g.req.closed {
			maxStreams = int(g.req.maxInFlight)
		}
	}
	g.newEndpoint = func(u, method string) (*endpoint, error) {
		b := body
		if method != s.Method {
			b = nil // 303 turns the request into a GET without a body
		}
		return newEndpoint(u, method, header, b, s.Insecure, ua)
	}
	for _, u := range s.URLs {
		ep, err := g.newEndpoint(u, s.Method)
		if err != nil {
			return nil, err
		}
		g.endpoints = append(g.endpoints, ep)
	}
	if len(g.endpoints) == 0 {
		return nil, fmt.Errorf("no target url")
	}
	if s.HTTP2 {
		g.h2 = newH2Pool(maxStreams, s.StreamsPerConn, s.Insecure, s.Timeout.Headers.D(), ua, s.Method, header, body)
		defer g.h2.close()
	}
	nstripes := opt.Stripes
	if nstripes <= 0 {
		nstripes = 2 * runtime.GOMAXPROCS(0)
	}
	g.rec = newModeRecorder(nstripes, s.Mode)
	if opt.Snapshots != nil {
		g.rec.ivNames = &report.EventTallies{}
	}
	if g.names, err = newEventNamer(s); err != nil {
		return nil, err
	}

	res := &report.Result{
		Schema: report.ResultSchema, Version: opt.Version, GoVersion: runtime.Version(),
		Target: s.Redacted().URLs[0], Start: time.Now(), Shard: opt.Shard.String(),
	}
	if request {
		res.Mode = s.Mode // subscribe results stay as they were
	}
	res.Host, _ = os.Hostname()
	res.Notes = append(res.Notes, notes...)
	if b, err := json.Marshal(s.Redacted()); err == nil {
		res.Scenario = b
	}

	total := s.TotalDuration()
	runCtx, stopRun := context.WithTimeout(ctx, total)
	if request && total <= 0 {
		stopRun()
		runCtx, stopRun = context.WithCancel(ctx) // request.count alone bounds the run
	}
	defer stopRun()
	// Requests in flight when the schedule ends finish (each bounded by
	// end.max_duration); only an interrupt or an abort cuts them.
	reqCtx, cancelReqs := context.WithCancel(ctx)
	defer cancelReqs()
	start := time.Now()
	mon := newMonitor(opt.Shard.Count)
	g.matchPublishes = s.Publisher != nil
	if s.Publisher != nil && opt.Shard.Index == 0 {
		ph, err := s.PublisherHeaders()
		if err != nil {
			return nil, err
		}
		g.pub, err = newPublisher(s.Publisher, ph, ua, start)
		if err != nil {
			return nil, err
		}
	}

	var bg sync.WaitGroup
	if g.pub != nil {
		bg.Go(func() { g.pub.run(runCtx, g.rec) })
	}
	if d := s.Chaos.Drop; d != nil && d.Every > 0 && d.Percent > 0 {
		bg.Go(func() { g.chaos(runCtx, d.Percent, d.Every.D()) })
	}
	aggDone := make(chan struct{})
	var abort, unreachable error // set by the aggregator's checks; read after bg.Wait
	ff := &failFast{armed: opt.FailFast, insecure: s.Insecure}
	check := func(p Progress) {
		if abort != nil || unreachable != nil || runCtx.Err() != nil {
			return // the run is over: the final evaluation decides
		}
		if unreachable = ff.check(p); unreachable != nil {
			stopRun()
			cancelReqs()
			return
		}
		if opt.Live != nil {
			lp := p
			lp.Hists = g.rec.hists()
			opt.Live(lp)
		}
		if opt.Check == nil {
			return
		}
		p.Metrics = g.rec.metrics()
		if abort = opt.Check(p); abort != nil {
			stopRun()
			cancelReqs()
		}
	}
	var snaps *snapshotWriter
	if opt.Snapshots != nil {
		snaps = newSnapshotWriter(opt.Snapshots)
	}
	bg.Go(func() { g.aggregate(runCtx, start, total, mon, res, opt.Progress, check, snaps, aggDone) })

	var streams sync.WaitGroup
	if request {
		g.requests(runCtx, reqCtx, start, total, &streams, mon)
	} else {
		g.control(runCtx, start, total, &streams, mon)
	}
	stopRun()
	streams.Wait()
	close(aggDone)
	bg.Wait()

	res.End = time.Now()
	res.DurationS = res.End.Sub(res.Start).Seconds()
	res.EndedEarly(unreachable, abort, ctx.Err() != nil, time.Since(start))
	res.Metrics = g.rec.metrics()
	res.Counters = g.rec.resultCounters()
	res.Generator = mon.result()
	if snaps != nil {
		gen := res.Generator
		snaps.write(&Snapshot{Shard: opt.Shard.String(), Wall: time.Now(), Final: true, Partial: res.Partial,
			Generator: &gen, Notes: res.Notes, Counters: report.Counters{Ends: map[string]int64{}}})
	}
	return res, nil
}

// control starts and stops clients to follow the stages. Arrivals are open
// loop: each attempt has a scheduled time, and latencies count from it, so
// a late generator shows as lag rather than hiding a slow server.
func (g *gen) control(ctx context.Context, start time.Time, total time.Duration, wg *sync.WaitGroup, mon *monitor) {
	p := newTargetPacer(start, total, g.targetAt, g.rateAt)
	nextID := 0
	p.tick(ctx, mon.lag, func(now time.Time) bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		need := p.need(now, len(g.slots)+g.dead)
		for _, due := range p.dues(now, need) {
			sctx, cancel := context.WithCancel(ctx)
			sl := &slot{id: nextID, cancel: cancel}
			nextID++
			g.slots[sl.id] = sl
			wg.Go(func() {
				replace := g.runSlot(sctx, sl, due)
				g.mu.Lock()
				if _, mine := g.slots[sl.id]; mine {
					delete(g.slots, sl.id)
					if !replace && sctx.Err() == nil {
						g.dead++
					}
				}
				g.mu.Unlock()
				cancel()
			})
		}
		for excess := -need; excess > 0; excess-- {
			if g.dead > 0 {
				g.dead--
				continue
			}
			for id, sl := range g.slots {
				delete(g.slots, id)
				sl.cancel()
				break
			}
		}
		return true
	})
}

// chaos abruptly drops a share of the open streams every interval.
func (g *gen) chaos(ctx context.Context, percent float64, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.mu.Lock()
		var victims []*slot
		for _, sl := range g.slots {
			if sl.isLive() && rand.Float64()*100 < percent {
				victims = append(victims, sl)
			}
		}
		g.mu.Unlock()
		for _, sl := range victims {
			sl.drop()
		}
	}
}

// lifetime draws one client's lifetime; 0 means the whole run.
func (g *gen) lifetime() time.Duration {
	lo, hi := g.sc.Lifetime.Min.D(), g.sc.Lifetime.Max.D()
	if hi <= 0 {
		return lo
	}
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rand.Int64N(int64(hi-lo)+1))
}

// aggregate drains the stripes once a second into the time series and the
// progress callback, and once more at the end.
func (g *gen) aggregate(ctx context.Context, start time.Time, total time.Duration, mon *monitor, res *report.Result,
	progress func(Progress), check func(Progress), snaps *snapshotWriter, done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	flush := func(now time.Time, last bool) {
		el := now.Sub(start)
		iv := g.rec.drain()
		mon.sample()
		target := g.targetAt(min(el, total))
		p := g.rec.point(el, target, iv)
		// The last flush after the duration is the streams being closed
		// (request mode waits for its answers instead: that is load).
		p.Teardown = last && el >= total && g.sc.Mode != scenarios.ModeRequest
		res.Timeseries = appendPoint(res.Timeseries, p)
		if snaps != nil {
			snaps.write(g.rec.intervalSnapshot(g.shard, now, p, iv))
		}
		pr := Progress{Elapsed: el, Total: total, Point: p, Totals: g.rec.counters(), Health: mon.health(), Mode: g.sc.Mode}
		if progress != nil {
			progress(pr)
		}
		check(pr)
	}
	for {
		select {
		case now := <-t.C:
			flush(now, false)
		case <-done:
			// The streams' last records, as a final (possibly short) point.
			flush(time.Now(), true)
			return
		}
	}
}

// maxPoints bounds the time series; past it, neighbouring points merge.
const maxPoints = 7200

// appendPoint adds p, halving the resolution when the series is full so a
// long soak keeps bounded memory.
func appendPoint(ts []report.Point, p report.Point) []report.Point {
	ts = append(ts, p)
	if len(ts) < maxPoints {
		return ts
	}
	out := ts[:0]
	for i := 0; i+1 < len(ts); i += 2 {
		a, b := ts[i], ts[i+1]
		a.Add(b)
		a.T, a.Open, a.Target = b.T, b.Open, b.Target
		out = append(out, a)
	}
	return out
}
