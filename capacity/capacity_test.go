package capacity

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/observe"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// serveWith starts the reference server with cfg on a real loopback socket.
func serveWith(t *testing.T, cfg fixtures.Config) string {
	t.Helper()
	srv, err := fixtures.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts.URL
}

// search is the mode capacity scenario the capacity command builds: a
// target, the staircase c and the SLOs, validated and normalized as the
// command does.
func search(t *testing.T, url string, c scenarios.Capacity, slos ...string) *scenarios.Scenario {
	t.Helper()
	s := &scenarios.Scenario{Mode: scenarios.ModeCapacity, URLs: []string{url}, Capacity: c, Thresholds: slos}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s.Normalize()
	return s
}

func dur(d time.Duration) *scenarios.Duration { v := scenarios.Duration(d); return &v }
func num(n int) *int                          { return &n }

// healthy stands in for the generator's health in the knee tests: the
// machine these run on is shared with other builds, and these tests are
// about finding the server's knee, not about the generator monitor (which
// TestCapacityGeneratorSaturationIsInconclusive covers).
func healthy(loadgen.Progress) loadgen.Health { return loadgen.Health{CPUShare: 0.1} }

func stepAt(steps []report.CapacityStep, n int) *report.CapacityStep {
	for i := range steps {
		if steps[i].Streams == n {
			return &steps[i]
		}
	}
	return nil
}

func streamsOf(steps []report.CapacityStep) []int {
	var out []int
	for _, s := range steps {
		out = append(out, s.Streams)
	}
	return out
}

// A server that refuses streams past 250 (503): the search climbs
// 100, 200, 300, breaks at 300 on failed streams, and the refinement run
// tries 250, which holds: the answer is exact.
func TestCapacityFindsStreamCap(t *testing.T) {
	if testing.Short() {
		t.Skip("a capacity search holds several steps for seconds each (the full suite runs it)")
	}
	t.Parallel()
	url := serveWith(t, fixtures.Config{MaxStreams: 250})
	s := search(t, url+"/events?rate=5", scenarios.Capacity{Start: 100, Step: 100, Max: 500, Hold: scenarios.Duration(2 * time.Second), Ramp: dur(time.Second), Refine: num(1)})
	var live []int
	opt := Options{Version: "test", health: healthy, OnStep: func(st report.CapacityStep) { live = append(live, st.Streams) }}
	res, err := Search(context.Background(), s, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := streamsOf(res.Steps); !slices.Equal(got, []int{100, 200, 300, 250}) || !slices.Equal(live, got) {
		t.Fatalf("steps %v (reported live %v), want 100 200 300 then the refinement at 250", got, live)
	}
	// The search alone: holds 200, breaks at 300.
	if v := report.CapacityVerdictOf(res.Steps[:3], scenarios.DefaultCapacitySLOs, 500, nil); !v.Found || v.Holds != 200 || v.BreaksAt != 300 {
		t.Fatalf("search verdict %+v, want holds 200, breaks at 300", v)
	}
	v := res.Verdict
	if !v.Found || v.Holds != 250 || v.BreaksAt != 300 || len(v.BrokenBy) != 1 || v.BrokenBy[0].Expr != "streams_failed.rate < 0.1%" {
		t.Fatalf("verdict %+v, want holds 250, breaks at 300 on streams_failed.rate", v)
	}
	if !strings.HasPrefix(v.Sentence, "holds 250 streams at delivery p99 under 250ms") || !strings.Contains(v.Sentence, "breaks at 300 on streams_failed.rate = ") {
		t.Fatalf("sentence %q", v.Sentence)
	}
	bad := stepAt(res.Steps, 300)
	if bad.Counters.Failed != 50 || bad.Counters.ErrorsByKind["http_503"] != 50 || bad.Counters.Opened != 50 || bad.Refine {
		t.Fatalf("step 300 counters %+v: want 50 opened and 50 refused with 503 (the step's own attempts only)", bad.Counters)
	}
	if r := stepAt(res.Steps, 250); !r.Refine || !r.Passed || r.Counters.Opened != 50 || r.Counters.Failed != 0 {
		t.Fatalf("refinement step %+v: want 50 more streams from the settled 200, all opened", r)
	}
	// Latencies are the hold's alone: 5 events/s per stream for a 2 s
	// hold, not everything since the run started.
	for _, st := range res.Steps {
		want := float64(st.Open) * 5 * 2 // 5 events/s over a 2 s hold
		if c := float64(st.Metrics["delivery"].Count); c < 0.4*want || c > 1.25*want {
			t.Errorf("step %d: %v delivery samples, want about %v (the hold's events only)", st.Streams, c, want)
		}
		if st.Metrics["delivery"].HDR == "" {
			t.Errorf("step %d: no histogram in the step's delivery metric", st.Streams)
		}
	}
	if len(res.Runs) != 2 || res.Runs[0].Kind != "search" || res.Runs[1].Kind != "refine" || res.Partial {
		t.Fatalf("runs %+v partial %v", res.Runs, res.Partial)
	}
}

// A fan-out that spends 2 ms per stream per event: the k-th stream gets
// each event about 2k ms late, so delivery p99 is about 2 ms × streams and
// crosses 250 ms at 125 streams. The search must break at 150, hold 100.
func TestCapacityFindsDeliveryKnee(t *testing.T) {
	if testing.Short() {
		t.Skip("a capacity search holds several steps for seconds each (the full suite runs it)")
	}
	// Timing-sensitive: not parallel (its knee is a delivery figure).
	url := serveWith(t, fixtures.Config{EventCost: 2 * time.Millisecond})
	s := search(t, url+"/events?rate=2", scenarios.Capacity{Start: 50, Step: 50, Max: 300, Hold: scenarios.Duration(2 * time.Second), Ramp: dur(time.Second), Refine: num(0)}, "delivery.p99 < 250ms")
	res, err := Search(context.Background(), s, Options{Version: "test", health: healthy})
	if err != nil {
		t.Fatal(err)
	}
	v := res.Verdict
	if !v.Found || v.Holds != 100 || v.BreaksAt != 150 || v.BrokenBy[0].Expr != "delivery.p99 < 250ms" {
		t.Fatalf("verdict %+v (steps %v), want holds 100, breaks at 150 on delivery.p99", v, streamsOf(res.Steps))
	}
	// The knee is the server's: latency grows with streams step by step.
	p99 := func(n int) float64 { return stepAt(res.Steps, n).Metrics["delivery"].P99MS }
	if !(p99(50) < p99(100) && p99(100) < p99(150)) || p99(150) < 250 || p99(50) > 200 {
		t.Fatalf("delivery p99 at 50/100/150 streams: %.0f/%.0f/%.0f ms, want rising about 2 ms per stream", p99(50), p99(100), p99(150))
	}
	if len(res.Runs) != 1 {
		t.Fatalf("%d runs with refinement off", len(res.Runs))
	}
}

// A generator that is saturated cannot find the server's limit: the step
// where it is saturated is inconclusive even though the server (capped at
// 150) really fails it, and the verdict says the knee was not found.
func TestCapacityGeneratorSaturationIsInconclusive(t *testing.T) {
	if testing.Short() {
		t.Skip("a capacity search holds several steps for seconds each (the full suite runs it)")
	}
	t.Parallel()
	url := serveWith(t, fixtures.Config{MaxStreams: 150})
	s := search(t, url+"/events?rate=5", scenarios.Capacity{Start: 100, Step: 100, Max: 400, Hold: scenarios.Duration(2 * time.Second), Ramp: dur(time.Second), Refine: num(2)})
	hot := func(p loadgen.Progress) loadgen.Health {
		if p.Elapsed > 3500*time.Millisecond { // from the second step's hold on
			return loadgen.Health{CPUShare: 0.97}
		}
		return loadgen.Health{CPUShare: 0.2}
	}
	res, err := Search(context.Background(), s, Options{Version: "test", health: hot})
	if err != nil {
		t.Fatal(err)
	}
	if got := streamsOf(res.Steps); !slices.Equal(got, []int{100, 200}) {
		t.Fatalf("steps %v, want the search to stop at the inconclusive step 200", got)
	}
	st := res.Steps[1]
	if !st.Inconclusive || st.Passed || !strings.Contains(st.Reason, "generator CPU") || st.Generator.HotSeconds < 2 {
		t.Fatalf("step 200 %+v: want inconclusive on generator CPU (its SLO failed too, which must not count)", st)
	}
	v := res.Verdict
	if v.Found || !v.Inconclusive || v.Holds != 100 || v.BreaksAt != 0 || !strings.Contains(v.Sentence, "knee not found: generator CPU") {
		t.Fatalf("verdict %+v", v)
	}
	if len(res.Runs) != 1 || !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "taskset") }) {
		t.Fatalf("runs %d, notes %q: want no refinement and advice on freeing the generator", len(res.Runs), res.Notes)
	}

	// Saturation detected by the monitor during a step counts the same.
	sat := func(p loadgen.Progress) loadgen.Health {
		if p.Elapsed > 1500*time.Millisecond {
			return loadgen.Health{CPUShare: 0.5, Saturated: "generator timer 1.2s late"}
		}
		return loadgen.Health{CPUShare: 0.2}
	}
	s.Capacity.Max = 200
	res, err = Search(context.Background(), s, Options{Version: "test", health: sat})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 1 || !res.Steps[0].Inconclusive || !strings.Contains(res.Steps[0].Reason, "timer 1.2s late") || res.Verdict.Holds != 0 || !res.Verdict.Inconclusive {
		t.Fatalf("steps %+v verdict %+v", res.Steps, res.Verdict)
	}
}

// Observing a server: per-step figures and a fit. The "server" here is a
// child process that dies part way: that is a note, never a crash, and the
// steps before it keep their figures.
func TestCapacityServerObservationSurvivesExit(t *testing.T) {
	if testing.Short() {
		t.Skip("a capacity search holds several steps for seconds each (the full suite runs it)")
	}
	t.Parallel()
	url := serveWith(t, fixtures.Config{})
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	obs, err := observe.NewProcObserver(child.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(6500*time.Millisecond, func() { child.Process.Kill(); child.Wait() })

	s := search(t, url+"/events?rate=5", scenarios.Capacity{Start: 20, Step: 20, Max: 60, Hold: scenarios.Duration(2 * time.Second), Ramp: dur(time.Second), Refine: num(0), ServerPID: child.Process.Pid})
	res, err := Search(context.Background(), s, Options{Version: "test", health: healthy, Observer: obs, ObserveEvery: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 3 || !res.Verdict.HeldMax || !strings.Contains(res.Verdict.Sentence, "no knee up to --max 60 streams") {
		t.Fatalf("steps %v verdict %+v, want every step to hold", streamsOf(res.Steps), res.Verdict)
	}
	if s := res.Steps[0].Server; s == nil || s.RSSBytes <= 0 || s.Samples < 4 || s.Threads < 1 || s.OpenFDs < 0 || s.CPUPerS < 0 {
		t.Fatalf("first step's server figures %+v", s)
	}
	if res.Steps[2].Server != nil {
		t.Fatalf("the last step has server figures %+v from a server that had exited", res.Steps[2].Server)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "has exited") }) {
		t.Fatalf("notes %q: want the server's exit reported", res.Notes)
	}
	c := res.ServerCost
	if c == nil || !strings.Contains(c.Source, "sleep") || c.Points != 2 || c.PeakRSSBytes <= 0 || len(res.ServerSamples) < 8 {
		t.Fatalf("server cost %+v, %d samples", c, len(res.ServerSamples))
	}
}

func TestRefinePoints(t *testing.T) {
	if got := refinePoints(300, 400, 2); !slices.Equal(got, []int{333, 367}) {
		t.Errorf("refine 300..400 by 2: %v", got)
	}
	if got := refinePoints(10, 12, 5); !slices.Equal(got, []int{11}) {
		t.Errorf("refine 10..12 by 5: %v", got)
	}
}

// Resolve: what the scenario's validation cannot know (this machine's
// limit) and the SLOs. The settings' own rules are the scenario's
// (scenarios' TestCapacityValidation).
func TestResolve(t *testing.T) {
	limit := MaxStreams(nil)
	cases := []struct {
		c    scenarios.Capacity
		slos []string
		msg  string
	}{
		{scenarios.Capacity{Start: 100, Max: limit + 1}, nil, "open-file limit"},
		{scenarios.Capacity{Start: limit + 1}, nil, "which is the default --max"},
		{scenarios.Capacity{Start: 1, Step: 1}, nil, "makes more than 1000 steps"},
		{scenarios.Capacity{Start: 100, Max: 1000}, []string{"delivery.p99 < 250"}, "--slo: "},
	}
	for _, tc := range cases {
		s := search(t, "http://127.0.0.1:1/events", tc.c, tc.slos...)
		if err := Resolve(s); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v %q: error %v, want it to contain %q", tc.c, tc.slos, err, tc.msg)
		}
		if _, err := Search(context.Background(), s, Options{}); err == nil {
			t.Errorf("%+v: Search ran what Resolve refused", tc.c)
		}
	}
	s := search(t, "http://127.0.0.1:1/events", scenarios.Capacity{Start: 100})
	if err := Resolve(s); err != nil {
		t.Fatal(err)
	}
	if s.Capacity.Max != limit || !slices.Equal(s.Thresholds, scenarios.DefaultCapacitySLOs) {
		t.Errorf("resolved to max %d, SLOs %q: want %d (this process's limit) and the default SLOs", s.Capacity.Max, s.Thresholds, limit)
	}
	if err := Resolve(s); err != nil || s.Capacity.Max != limit {
		t.Errorf("a second Resolve: %v, max %d", err, s.Capacity.Max)
	}
}

// The judge ends a hold at the last second within it: a late tick (a busy
// machine) belongs to the next step's ramp and must not be measured as
// part of this hold.
func TestCapacityJudgeIgnoresLateTick(t *testing.T) {
	delivery := report.NewHist() // the run's cumulative delivery histogram
	var steps []report.CapacityStep
	opt := &Options{health: healthy, OnStep: func(st report.CapacityStep) { steps = append(steps, st) }}
	ths, _ := report.ParseThresholds([]string{"delivery.p99 < 100ms"})
	_, ws := stairs(nil, []int{10, 20}, time.Second, 2*time.Second, false)
	j := &judge{opt: opt, ths: ths, windows: ws, first: true}
	tick := func(el time.Duration, lat time.Duration, n int) error {
		for range n {
			report.RecordDuration(delivery, lat)
		}
		m := map[string]report.Metric{report.MetricDelivery: report.Summarize(delivery)}
		return j.check(loadgen.Progress{Elapsed: el, Metrics: m, Point: report.Point{Open: 10}})
	}
	for _, tk := range []struct {
		el  time.Duration
		lat time.Duration
	}{{1010 * time.Millisecond, 500 * time.Millisecond}, {2010 * time.Millisecond, 5 * time.Millisecond}} {
		if err := tick(tk.el, tk.lat, 100); err != nil {
			t.Fatal(err)
		}
	}
	// The tick that should end the hold (3 s) comes at 4.2 s, after the
	// next ramp started (at 4 s), with that ramp's slow events in it.
	if err := tick(4200*time.Millisecond, 900*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 {
		t.Fatalf("%d steps judged, want the first", len(steps))
	}
	st := steps[0]
	if d := st.Metrics["delivery"]; d.Count != 100 || d.P99MS > 10 || !st.Passed {
		t.Fatalf("step 10: delivery %+v passed %v: want only the hold's 100 fast events (ramp before, late tick after excluded)", d, st.Passed)
	}
}
