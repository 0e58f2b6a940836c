// Package capacity is the capacity search: how many concurrent subscribe
// streams a server holds while every SLO holds, found up a staircase of
// steps in one continuous load run (package loadgen), each step judged on
// its hold, with the server's cost per stream from package observe. The
// settings are the scenario's (scenarios.Capacity); the result is a
// report.CapacityResult.
package capacity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/observe"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// Options are what a search takes besides its scenario: who gets its
// figures live, and how the server under test is watched.
type Options struct {
	// Observer, when set, samples the server under test every
	// ObserveEvery (default 1s) for the whole search.
	Observer     observe.Observer
	ObserveEvery time.Duration

	Version string
	// Progress gets every second of both runs (as loadgen.Options.Progress).
	Progress func(loadgen.Progress)
	// OnStep gets each step as soon as it is judged.
	OnStep func(report.CapacityStep)
	// Live, when set, gets every second of both runs with its Metrics
	// filled in (as loadgen.Options.Check does): the --metrics-addr
	// endpoint's feed.
	Live func(loadgen.Progress)
	// Stripes is loadgen.Options.Stripes.
	Stripes int

	// health, in tests, replaces each second's generator health, so a
	// saturated generator can be shown without saturating the machine.
	health func(loadgen.Progress) loadgen.Health
}

const (
	// capacityTail keeps the run going past the last hold so the second
	// that ends it is still judged; the judge stops the run before it ends.
	capacityTail = 5 * time.Second
	// stepGap holds each step's streams one second past its judged hold
	// before the next ramp starts: the second that ends the hold is
	// measured a few ms after it ends, and must not hold any of the next
	// step's connections.
	stepGap = time.Second
)

// setupMetrics are judged over a whole step, ramp included: they measure
// the connections the step opened. Every other metric is judged over the
// hold only, so opening connections does not pollute delivery.
var setupMetrics = []string{report.MetricConnect, report.MetricHeaders, report.MetricFirstByte, report.MetricFirstEvent, report.MetricLag}

// Resolve makes a normalized mode capacity scenario ready to search on
// this machine: Max, when not given, becomes what one process holds here
// (its open-file limit), and a Max above that is refused (a search runs
// in one process); no thresholds means scenarios.DefaultCapacitySLOs.
// Every other setting was validated with the scenario. It is idempotent:
// Search calls it too.
func Resolve(s *scenarios.Scenario) error {
	if s.Mode != scenarios.ModeCapacity {
		return fmt.Errorf("mode %s: a capacity search runs a mode capacity scenario", s.Mode)
	}
	c := &s.Capacity
	limit := MaxStreams(s)
	if c.Max == 0 {
		if c.Start > limit {
			return fmt.Errorf("--start %d: above what one process holds here (about %d streams, from its open-file limit), which is the default --max; lower --start or raise ulimit -n", c.Start, limit)
		}
		c.Max = limit
	}
	if c.Max > limit {
		return fmt.Errorf("--max %d: above what one process holds here (about %d streams, from its open-file limit); capacity runs in one process, so lower --max (capacity.max) or raise ulimit -n", c.Max, limit)
	}
	if n := len(c.Staircase()); n > scenarios.MaxCapacitySteps {
		return fmt.Errorf("--start %d to --max %d makes more than %d steps; use a larger --step or --factor", c.Start, c.Max, scenarios.MaxCapacitySteps)
	}
	if len(s.Thresholds) == 0 {
		s.Thresholds = slices.Clone(scenarios.DefaultCapacitySLOs)
	}
	if _, err := report.ParseThresholds(s.Thresholds); err != nil {
		return fmt.Errorf("--slo: %w", err)
	}
	return nil
}

// refinePoints are the steps between good and bad, evenly spaced.
func refinePoints(good, bad, n int) []int {
	var out []int
	for k := 1; k <= n; k++ {
		p := good + int(math.Round(float64(bad-good)*float64(k)/float64(n+1)))
		if p > good && p < bad && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// MaxStreams is the most streams one process can hold for s: a
// capacity search runs in one process.
func MaxStreams(s *scenarios.Scenario) int {
	n := loadgen.FDStreamsPerProcess()
	if s != nil && s.HTTP2 {
		n *= max(1, s.StreamsPerConn)
	}
	return n
}

// errStepJudged stops a run once its last step is judged (or one broke).
var errStepJudged = errors.New("capacity: the step was judged")

// window is one judged step of a run, in time since the run started.
type window struct {
	streams                       int
	refine                        bool
	rampStart, holdStart, holdEnd time.Duration
}

// stairs builds a run's stages and the windows of its judged steps.
// prelude stages (refinement: ramp to the last good step and settle) come
// first and are not judged.
func stairs(prelude []scenarios.Stage, points []int, ramp, hold time.Duration, refine bool) ([]scenarios.Stage, []window) {
	stages := slices.Clone(prelude)
	var at time.Duration
	for _, st := range prelude {
		at += st.Duration.D()
	}
	var ws []window
	for _, n := range points {
		w := window{streams: n, refine: refine, rampStart: at, holdStart: at + ramp, holdEnd: at + ramp + hold}
		stages = append(stages,
			scenarios.Stage{Duration: scenarios.Duration(ramp), Target: n},
			scenarios.Stage{Duration: scenarios.Duration(hold + stepGap), Target: n})
		ws = append(ws, w)
		at = w.holdEnd + stepGap
	}
	last := 0
	if len(points) > 0 {
		last = points[len(points)-1]
	}
	stages = append(stages, scenarios.Stage{Duration: scenarios.Duration(capacityTail), Target: last})
	return stages, ws
}

// Search runs the search s (a mode capacity scenario, normalized; its
// Capacity block the settings, its thresholds the SLOs): one continuous
// run up the staircase, judging each step's SLOs on its hold, stopping at
// the first step that breaks one (or at Max); then, when a knee was found
// and Refine > 0, a second run that ramps straight to the last good step
// and climbs a finer staircase to the first bad one. It returns the
// result even when ctx is cancelled part way (marked partial). The error
// is non-nil only when the search could not start (bad settings, a
// scenario that cannot run).
func Search(ctx context.Context, s *scenarios.Scenario, opt Options) (*report.CapacityResult, error) {
	sc := *s
	if err := Resolve(&sc); err != nil {
		return nil, err
	}
	cfg := sc.Capacity
	ramp, hold, refine := cfg.Ramp.D(), cfg.Hold.D(), *cfg.Refine
	slos := sc.Thresholds
	ths, _ := report.ParseThresholds(slos) // resolved above
	// The search's streams are subscribe streams; it makes their stages.
	base := sc
	base.Mode, base.Capacity = scenarios.DefaultMode, scenarios.Capacity{}
	red := base.Redacted()
	res := &report.CapacityResult{
		Schema: report.CapacitySchema, Version: opt.Version, GoVersion: runtime.Version(), Target: red.URLs[0],
		Start: time.Now(), SLOs: slices.Clone(slos),
		Config: report.CapacityConfig{Start: cfg.Start, Step: cfg.Step, Factor: cfg.Factor, Max: cfg.Max,
			HoldS: hold.Seconds(), RampS: ramp.Seconds(), Refine: refine,
			ServerPID: cfg.ServerPID, ServerMetrics: scenarios.RedactURL(cfg.ServerMetrics)},
		Steps: []report.CapacityStep{}, Runs: []report.CapacityRun{},
	}
	res.Host, _ = os.Hostname()
	if b, err := json.Marshal(red); err == nil {
		res.Scenario = b
	}
	t0 := res.Start

	var sw *serverWatch
	if opt.Observer != nil {
		sw = startServerWatch(ctx, opt.Observer, opt.ObserveEvery, t0)
	}

	// The search.
	stages, ws := stairs(nil, cfg.Staircase(), ramp, hold, false)
	if err := runJudged(ctx, &base, opt, ths, stages, ws, "search", t0, sw, res); err != nil {
		if sw != nil {
			sw.stop()
		}
		return nil, err
	}

	// Refinement between the last good and the first bad step.
	if v := report.CapacityVerdictOf(res.Steps, slos, cfg.Max, nil); refine > 0 && v.Found && v.Holds > 0 && ctx.Err() == nil {
		if pts := refinePoints(v.Holds, v.BreaksAt, refine); len(pts) > 0 {
			k := slices.Index(cfg.Staircase(), v.Holds) + 1
			preRamp := ramp * time.Duration(min(max(k, 1), 4))
			settle := min(hold, 5*time.Second)
			prelude := []scenarios.Stage{
				{Duration: scenarios.Duration(preRamp), Target: v.Holds},
				{Duration: scenarios.Duration(settle), Target: v.Holds},
			}
			stages, ws := stairs(prelude, pts, ramp, hold, true)
			if err := runJudged(ctx, &base, opt, ths, stages, ws, "refine", t0, sw, res); err != nil {
				res.Notes = append(res.Notes, "refinement could not run: "+err.Error())
			}
		}
	}

	if sw != nil {
		sw.stop()
		res.ServerSamples = sw.points()
		res.Notes = append(res.Notes, sw.notes()...)
		res.ServerCost = report.FitServerCost(scenarios.RedactURL(opt.Observer.Source()), res.Steps, res.ServerSamples)
	}
	if ctx.Err() != nil {
		res.Partial = true
		res.PartialReason = "interrupted after " + time.Since(t0).Round(time.Second).String()
	}
	res.Verdict = report.CapacityVerdictOf(res.Steps, slos, cfg.Max, res.ServerCost)
	if v := &res.Verdict; res.Partial && v.Reason == report.ReasonStoppedEarly {
		v.Reason = "interrupted"
		v.Sentence = strings.Replace(v.Sentence, report.ReasonStoppedEarly, "interrupted before a step failed or --max was reached", 1)
	}
	if res.Verdict.Inconclusive && strings.Contains(res.Verdict.Reason, "generator") {
		res.Notes = append(res.Notes, "The generator, not the server, ran out of room: give it more cores (GOMAXPROCS, a bigger machine), keep it off the server's cores (taskset -c on both), or run capacity from another machine against the server.")
	}
	res.End = time.Now()
	res.DurationS = res.End.Sub(res.Start).Seconds()
	return res, nil
}

// runJudged makes one load run over stages, judging the windows' steps
// live, and appends the steps and the run to res.
func runJudged(ctx context.Context, base *scenarios.Scenario, opt Options, ths []report.Threshold,
	stages []scenarios.Stage, ws []window, kind string, t0 time.Time, sw *serverWatch, res *report.CapacityResult) error {
	s := *base
	s.Stages = stages
	s.Profile = scenarios.ProfileCustom
	s.Connections, s.Ramp, s.Duration, s.ArrivalRate = 0, 0, 0, 0
	s.Thresholds, s.AbortOnFail = nil, false

	runStart := time.Now()
	j := &judge{opt: &opt, ths: ths, windows: ws, offset: runStart.Sub(t0).Seconds(), sw: sw, first: len(res.Steps) == 0}
	rr, err := loadgen.Run(ctx, &s, loadgen.Options{Version: opt.Version, Progress: opt.Progress, Stripes: opt.Stripes, Check: j.check})
	if err != nil {
		return err
	}
	res.Steps = append(res.Steps, j.steps...)
	run := report.CapacityRun{Kind: kind, StartS: j.offset, DurationS: rr.DurationS, Generator: rr.Generator}
	switch {
	case j.stopped:
		run.StoppedReason = j.stopReason
	case rr.Partial:
		run.StoppedReason = rr.PartialReason
	}
	res.Runs = append(res.Runs, run)
	for _, n := range rr.Notes {
		if !slices.Contains(res.Notes, n) {
			res.Notes = append(res.Notes, n)
		}
	}
	if !j.stopped && ctx.Err() == nil && j.i < len(ws) {
		res.Notes = append(res.Notes, fmt.Sprintf("%s run: the step at %d streams was not judged: the run ended before its hold did (the generator was too late)", kind, ws[j.i].streams))
	}
	return nil
}

// snap is the run's cumulative state at one second.
type snap struct {
	el        time.Duration
	open      int64
	wall      time.Time
	metrics   map[string]report.Metric
	totals    report.Counters
	saturated string
}

func snapOf(p loadgen.Progress) snap {
	return snap{el: p.Elapsed, open: p.Point.Open, wall: time.Now(), metrics: p.Metrics, totals: p.Totals, saturated: p.Health.Saturated}
}

// judge follows one run second by second (loadgen.Options.Check),
// judging each step when its hold ends. It runs on the aggregator
// goroutine only.
type judge struct {
	opt     *Options
	ths     []report.Threshold
	windows []window
	offset  float64 // seconds from the search's start to this run's
	sw      *serverWatch
	first   bool // the search's first run: a first step with no stream is "cannot run"

	i      int   // the step being followed
	base   snap  // at the step's ramp start (the previous step's end)
	hold   *snap // at its hold start
	last   *snap // the latest second within its hold
	errs   map[string]int64
	health report.StepGenerator // summed over the hold until judged
	late   int                  // hold seconds with a timer lag over lagLimit
	steps  []report.CapacityStep

	stopped    bool
	stopReason string
}

// tickSlack is how far before a step boundary a once-a-second tick may
// fall and still count as on it (the ticks run a few ms late).
const tickSlack = 100 * time.Millisecond

// check follows the run's seconds. A hold ends at the first second at or
// after its end that comes before the next ramp (stepGap later); a tick
// later than that (a stalled machine) is not used, since its second holds
// the next step's connections: the step then ends at the tick before, a
// shorter but clean window.
func (j *judge) check(p loadgen.Progress) error {
	if j.opt.health != nil {
		p.Health = j.opt.health(p)
	}
	if j.opt.Live != nil {
		j.opt.Live(p)
	}
	for j.i < len(j.windows) {
		w := j.windows[j.i]
		if j.i == 0 && p.Elapsed <= w.rampStart+tickSlack {
			// Refinement's prelude: the first step counts from its end.
			j.base = snapOf(p)
			return nil
		}
		if j.hold == nil {
			j.errs = report.AddCounts(j.errs, p.Point.ErrorsByKind)
			if p.Elapsed < w.holdStart-tickSlack {
				return nil
			}
			// This second was still the ramp's; the hold starts now.
			h := snapOf(p)
			j.hold, j.last = &h, nil
			return nil
		}
		if p.Elapsed < w.holdEnd+stepGap-tickSlack {
			j.errs = report.AddCounts(j.errs, p.Point.ErrorsByKind)
			j.addHealth(p.Health)
			s := snapOf(p)
			j.last = &s
			if p.Elapsed < w.holdEnd-tickSlack {
				return nil
			}
			return j.finish(w)
		}
		// p came after the hold ended: the step ends at the last second
		// within it, and p's second belongs to the next step.
		if err := j.finish(w); err != nil {
			return err
		}
	}
	return nil
}

// finish judges the followed step, ending at j.last.
func (j *judge) finish(w window) error {
	end := *j.hold // no second inside the hold: an empty window
	if j.last != nil {
		end = *j.last
	}
	st := j.judgeStep(w, end)
	j.steps = append(j.steps, st)
	if j.opt.OnStep != nil {
		j.opt.OnStep(st)
	}
	j.base, j.hold, j.last, j.errs, j.health, j.late = end, nil, nil, nil, report.StepGenerator{}, 0
	j.i++
	switch {
	case st.Inconclusive:
		j.stopped, j.stopReason = true, fmt.Sprintf("step at %d streams inconclusive: %s", st.Streams, st.Reason)
		return errStepJudged
	case !st.Passed:
		j.stopped, j.stopReason = true, fmt.Sprintf("step at %d streams broke an SLO", st.Streams)
		return errStepJudged
	case j.i == len(j.windows):
		j.stopped, j.stopReason = true, "every step judged"
		return errStepJudged
	}
	return nil
}

func (j *judge) addHealth(h loadgen.Health) {
	g := &j.health
	g.Seconds++
	g.CPUShare += h.CPUShare // a sum until judged
	g.MaxCPUShare = max(g.MaxCPUShare, h.CPUShare)
	if h.CPUShare >= loadgen.CPUHotShare {
		g.HotSeconds++
	}
	g.MaxLagMS = max(g.MaxLagMS, float64(h.Lag.Microseconds())/1000)
	if h.Lag > loadgen.LagLimit {
		j.late++
	}
	if h.Saturated != "" && j.base.saturated == "" && g.Saturated == "" {
		g.Saturated = h.Saturated
	}
}

func (j *judge) judgeStep(w window, end snap) report.CapacityStep {
	hold := *j.hold
	st := report.CapacityStep{
		Streams: w.streams, Open: end.open, Refine: w.refine,
		StartS: j.offset + w.rampStart.Seconds(), HoldStartS: j.offset + w.holdStart.Seconds(), EndS: j.offset + w.holdEnd.Seconds(),
		Metrics: map[string]report.Metric{},
	}
	var notes []string
	for name, m := range end.metrics {
		from := hold.metrics[name]
		if slices.Contains(setupMetrics, name) {
			from = j.base.metrics[name]
		}
		d, err := report.MetricDelta(m, from)
		if err != nil {
			notes = append(notes, name+": "+err.Error())
			continue
		}
		st.Metrics[name] = d
	}
	c := report.CountersDelta(end.totals, j.base.totals)
	holdS := (end.el - hold.el).Seconds()
	st.Counters = report.StepCounters{
		Opened: c.StreamsOpened, Failed: c.StreamsFailed, Events: c.Events, Reconnects: c.Reconnects, EventsLost: c.EventsLost,
		Ends: c.Ends, ErrorsByKind: maps.Clone(j.errs),
	}
	if len(st.Counters.Ends) == 0 {
		st.Counters.Ends = nil
	}
	if holdS > 0 {
		st.Counters.EventsPerS = float64(end.totals.Events-hold.totals.Events) / holdS
	}

	st.Passed = true
	noSamples, realFail := []string{}, false
	for _, t := range j.ths {
		r, err := t.Evaluate(st.Metrics, c)
		if err != nil {
			r = report.ThresholdResult{Expr: t.Expr, Unit: t.Unit, Note: err.Error()}
		}
		st.SLOs = append(st.SLOs, r)
		if r.Passed {
			continue
		}
		st.Passed = false
		if r.Note != "" {
			noSamples = append(noSamples, r.Note)
		} else {
			realFail = true
		}
	}

	g := j.health
	if g.Seconds > 0 {
		g.CPUShare /= float64(g.Seconds)
	}
	st.Generator = g
	var why []string
	if g.Seconds > 0 && 2*g.HotSeconds > g.Seconds {
		why = append(why, fmt.Sprintf("generator CPU at %.0f%% or more of %d cores for %d of %d s", loadgen.CPUHotShare*100, runtime.GOMAXPROCS(0), g.HotSeconds, g.Seconds))
	}
	if g.MaxLagMS > 1000 || (g.Seconds > 0 && 2*j.late > g.Seconds) {
		why = append(why, fmt.Sprintf("generator timer up to %s late", fmtLag(g.MaxLagMS)))
	}
	if g.Saturated != "" {
		why = append(why, "generator saturated: "+g.Saturated)
	}
	switch {
	case j.first && j.i == 0 && c.StreamsOpened == 0 && c.StreamsFailed > 0:
		st.Inconclusive = true
		st.Reason = "no stream could be opened (" + report.TopEnd(c.Ends) + "): is the target up?"
	case len(why) > 0:
		st.Inconclusive = true
		st.Reason = strings.Join(why, "; ")
	case !realFail && len(noSamples) > 0:
		st.Inconclusive = true
		st.Reason = strings.Join(noSamples, "; ") + " in the hold (do the events carry a send timestamp? is the hold long enough for the event rate?)"
	}
	if len(notes) > 0 {
		st.Reason = strings.TrimPrefix(st.Reason+"; "+strings.Join(notes, "; "), "; ")
	}
	if j.sw != nil {
		st.Server = j.sw.step(hold.wall, end.wall, st.Counters.EventsPerS)
	}
	return st
}

func fmtLag(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Millisecond).String()
}

// serverWatch samples the server under test for the whole search. Safe
// for concurrent use: Watch's goroutine writes, the judge reads.
type serverWatch struct {
	src    string
	t0     time.Time
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	samples  []observe.ServerSample
	firstErr string
	errs     int
	okAfter  int // good samples after the first error
}

func startServerWatch(ctx context.Context, o observe.Observer, every time.Duration, t0 time.Time) *serverWatch {
	wctx, cancel := context.WithCancel(ctx)
	w := &serverWatch{src: o.Source(), t0: t0, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		observe.Watch(wctx, o, every, w.add)
	}()
	return w
}

func (w *serverWatch) add(s observe.ServerSample, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.errs == 0 {
			w.firstErr = fmt.Sprintf("%.0fs into the search: %v", time.Since(w.t0).Seconds(), err)
		}
		w.errs++
		return
	}
	if w.errs > 0 {
		w.okAfter++
	}
	w.samples = append(w.samples, s)
}

func (w *serverWatch) stop() {
	w.cancel()
	<-w.done
}

func (w *serverWatch) notes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.errs == 0 {
		return nil
	}
	n := fmt.Sprintf("server observation (%s) failed %d times, first %s", w.src, w.errs, w.firstErr)
	if w.okAfter == 0 {
		n += "; no sample after that, so later steps have no server figures"
	}
	return []string{n}
}

func (w *serverWatch) points() []report.ServerPoint {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]report.ServerPoint, 0, len(w.samples))
	for _, s := range w.samples {
		out = append(out, report.ServerPoint{T: s.At.Sub(w.t0).Seconds(), RSSBytes: s.RSSBytes, CPUSeconds: s.CPUSeconds,
			OpenFDs: s.OpenFDs, Threads: s.Threads, Extra: s.Extra})
	}
	return out
}

// step averages the samples of one hold. Samples up to half a second
// outside it count, since they are taken once a second.
func (w *serverWatch) step(from, to time.Time, eventsPerS float64) *report.StepServer {
	w.mu.Lock()
	defer w.mu.Unlock()
	lo, hi := from.Add(-500*time.Millisecond), to.Add(500*time.Millisecond)
	var in []observe.ServerSample
	for _, s := range w.samples {
		if !s.At.Before(lo) && !s.At.After(hi) {
			in = append(in, s)
		}
	}
	if len(in) == 0 {
		return nil
	}
	sv := &report.StepServer{Samples: len(in), CPUPerS: -1, OpenFDs: -1, Threads: -1}
	mean := func(f func(observe.ServerSample) int64) int64 {
		var sum, n int64
		for _, s := range in {
			if v := f(s); v >= 0 {
				sum += v
				n++
			}
		}
		if n == 0 {
			return -1
		}
		return sum / n
	}
	sv.RSSBytes = mean(func(s observe.ServerSample) int64 { return s.RSSBytes })
	sv.OpenFDs = mean(func(s observe.ServerSample) int64 { return s.OpenFDs })
	sv.Threads = mean(func(s observe.ServerSample) int64 { return s.Threads })
	a, b := in[0], in[len(in)-1]
	if dt := b.At.Sub(a.At).Seconds(); dt > 0 && a.CPUSeconds >= 0 && b.CPUSeconds >= 0 {
		sv.CPUPerS = (b.CPUSeconds - a.CPUSeconds) / dt
		if eventsPerS > 0 {
			sv.CPUPer1kEvents = sv.CPUPerS / eventsPerS * 1000
		}
	}
	return sv
}
