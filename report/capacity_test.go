package report

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// capacityFixture is a real search: `ssebench capacity` against `ssebench
// serve --event-cost 1ms` (delivery latency grows 1 ms per stream) with
// --server-pid, SLO delivery.p99 < 200ms, steps of 50 and a refinement.
func capacityFixture(t *testing.T) *CapacityResult {
	t.Helper()
	s, err := ReadKind(filepath.Join("testdata", "capacity-result.json"), CapacitySchema)
	if err != nil {
		t.Fatal(err)
	}
	return s.Capacity
}

func TestSubtractHist(t *testing.T) {
	a := NewHist()
	for _, us := range []int64{100, 200, 300, 5000} {
		_ = a.RecordValue(us)
	}
	before := a.Clone()
	for _, us := range []int64{50_000, 60_000, 70_000} { // what happened in between
		_ = a.RecordValue(us)
	}
	d, err := SubtractHist(a, before)
	if err != nil {
		t.Fatal(err)
	}
	if d.TotalCount() != 3 || Quantile(d, 0) < 49.9 || Quantile(d, 100) > 70.1 || math.Abs(Quantile(d, 50)-60) > 0.1 {
		t.Fatalf("delta: count %d, min %.1fms, p50 %.1fms, max %.1fms; want the three later values only",
			d.TotalCount(), Quantile(d, 0), Quantile(d, 50), Quantile(d, 100))
	}
	if a.TotalCount() != 7 || before.TotalCount() != 4 {
		t.Fatal("subtracting changed its inputs")
	}
	// An empty earlier state leaves everything.
	if d, err := SubtractHist(a, NewHist()); err != nil || d.TotalCount() != 7 {
		t.Fatalf("minus empty: %v %v", d.TotalCount(), err)
	}
	// The earlier state cannot have more than the later one.
	if _, err := SubtractHist(before, a); err == nil {
		t.Fatal("subtracting a later state from an earlier one did not fail")
	}

	// Through the JSON form, as the capacity judge uses it.
	m, err := MetricDelta(Summarize(a), Summarize(before))
	if err != nil {
		t.Fatal(err)
	}
	if m.Count != 3 || m.MinMS < 49.9 || m.MaxMS > 70.1 || m.HDR == "" {
		t.Fatalf("metric delta %+v", m)
	}
	if m, err := MetricDelta(Summarize(a), Metric{}); err != nil || m.Count != 7 {
		t.Fatalf("delta from nothing: %+v %v", m, err)
	}
}

func TestFitLine(t *testing.T) {
	f, ok := FitLine([]float64{100, 200, 300, 400}, []float64{5e6 + 21e3*100, 5e6 + 21e3*200, 5e6 + 21e3*300, 5e6 + 21e3*400})
	if !ok || math.Abs(f.Slope-21e3) > 1e-6 || math.Abs(f.Intercept-5e6) > 1e-3 || f.R2 != 1 || f.N != 4 {
		t.Fatalf("exact line: %+v %v", f, ok)
	}
	// Noisy, worked by hand: x̄ = 2.5, ȳ = 6, slope = Σdxdy/Σdx² = 8/5,
	// intercept 6 - 1.6×2.5 = 2, residuals ±0.4 and ±1.2, R² = 1 - 3.2/16.
	f, ok = FitLine([]float64{1, 2, 3, 4}, []float64{4, 4, 8, 8})
	if !ok || math.Abs(f.Slope-1.6) > 1e-9 || math.Abs(f.Intercept-2) > 1e-9 || math.Abs(f.R2-0.8) > 1e-9 {
		t.Fatalf("noisy line: %+v", f)
	}
	if _, ok := FitLine([]float64{3}, []float64{1}); ok {
		t.Fatal("one point fitted a line")
	}
	if _, ok := FitLine([]float64{3, 3, 3}, []float64{1, 2, 3}); ok {
		t.Fatal("a vertical line fitted")
	}
	if f, ok := FitLine([]float64{1, 2, 3}, []float64{7, 7, 7}); !ok || f.Slope != 0 || f.R2 != 1 {
		t.Fatalf("flat line: %+v", f)
	}
}

func TestFitServerCost(t *testing.T) {
	var steps []CapacityStep
	for _, n := range []int{1000, 2000, 3000, 4000} {
		steps = append(steps, CapacityStep{Streams: n, Open: int64(n), Counters: StepCounters{EventsPerS: float64(n)},
			Server: &StepServer{RSSBytes: 8<<20 + int64(n)*20_000, CPUPerS: 0.05 + float64(n)*0.00002, OpenFDs: int64(n + 10), Threads: 9, Samples: 5}})
	}
	steps = append(steps, CapacityStep{Streams: 5000, Open: 5000}) // not observed: left out
	// A refinement step on a server whose memory already grew: not in the
	// memory fit (the search has enough steps), but in the CPU fit.
	steps = append(steps, CapacityStep{Streams: 2500, Open: 2500, Refine: true, Counters: StepCounters{EventsPerS: 2500},
		Server: &StepServer{RSSBytes: 500 << 20, CPUPerS: 0.05 + 2500*0.00002, OpenFDs: 2510, Threads: 9, Samples: 5}})
	c := FitServerCost("pid 1", steps, []ServerPoint{{RSSBytes: 90 << 20, OpenFDs: 4010, Threads: 9}})
	if c.Points != 4 || math.Abs(c.BytesPerStream-20_000) > 0.01 || math.Abs(c.BaseRSSBytes-8<<20) > 1 || c.RSSR2 < 0.999 {
		t.Fatalf("memory fit %+v", c)
	}
	if math.Abs(c.CPUPer1kEvents-0.02) > 1e-9 || math.Abs(c.BaseCPUPerS-0.05) > 1e-9 || math.Abs(c.FDsPerStream-1) > 1e-9 {
		t.Fatalf("CPU fit %+v: want 20ms per 1,000 events over 5%% at rest, 1 fd per stream", c)
	}
	if c.PeakRSSBytes != 90<<20 || c.PeakFDs != 4010 {
		t.Fatalf("peaks %+v", c)
	}
	if FitServerCost("pid 1", []CapacityStep{{Streams: 1}}, nil) != nil {
		t.Fatal("a cost from no observation")
	}
}

// step builds a judged step for the verdict tests.
func step(n int, passed bool, slos ...ThresholdResult) CapacityStep {
	return CapacityStep{Streams: n, Open: int64(n), Passed: passed, SLOs: slos}
}

func TestCapacityVerdict(t *testing.T) {
	slos := []string{"delivery.p99 < 250ms", "streams_failed.rate < 0.1%"}
	ok := []ThresholdResult{{Expr: slos[0], Value: 80, Unit: UnitMS, Passed: true}, {Expr: slos[1], Unit: UnitRatio, Passed: true}}
	slow := []ThresholdResult{{Expr: slos[0], Value: 610, Unit: UnitMS}, {Expr: slos[1], Unit: UnitRatio, Passed: true}}
	failing := []ThresholdResult{{Expr: slos[0], Value: 80, Unit: UnitMS, Passed: true}, {Expr: slos[1], Value: 0.02, Unit: UnitRatio}}
	sat := CapacityStep{Streams: 46_000, Inconclusive: true, Reason: "generator CPU at 95% or more of 2 cores for 25 of 30 s", SLOs: slow}
	cost := &ServerCost{Source: "pid 7", BytesPerStream: 21_300, RSSR2: 0.98, Points: 5}
	noise := &ServerCost{Source: "pid 7", BytesPerStream: 21_300, RSSR2: 0.04, Points: 5, CPUPer1kEvents: 3, CPUR2: 0.01}

	cases := []struct {
		name     string
		steps    []CapacityStep
		cost     *ServerCost
		sentence string
		check    func(CapacityVerdict) bool
	}{
		{"knee", []CapacityStep{step(34_000, true, ok...), step(38_000, true, ok...), step(42_000, false, slow...)}, cost,
			"holds 38,000 streams at delivery p99 under 250ms and streams_failed.rate under 0.10% of each step's connection attempts (new streams and reconnects); breaks at 42,000 on delivery.p99 = 610ms; server memory ~21 KiB per stream",
			func(v CapacityVerdict) bool {
				return v.Found && v.Holds == 38_000 && v.BreaksAt == 42_000 && len(v.BrokenBy) == 1 && v.BrokenBy[0].Value == 610
			}},
		// R² near 0: the slope is noise, not a headline.
		{"weak fit", []CapacityStep{step(34_000, true, ok...), step(38_000, true, ok...), step(42_000, false, slow...)}, noise,
			"holds 38,000 streams at delivery p99 under 250ms and streams_failed.rate under 0.10% of each step's connection attempts (new streams and reconnects); breaks at 42,000 on delivery.p99 = 610ms",
			func(v CapacityVerdict) bool { return v.Found }},
		{"refined", []CapacityStep{step(300, true, ok...), step(400, false, slow...), step(333, true, ok...), step(367, false, slow...)}, nil,
			"holds 333 streams at delivery p99 under 250ms and streams_failed.rate under 0.10% of each step's connection attempts (new streams and reconnects); breaks at 367 on delivery.p99 = 610ms",
			func(v CapacityVerdict) bool { return v.Found && v.Holds == 333 && v.BreaksAt == 367 }},
		{"first step breaks", []CapacityStep{step(1000, false, slow...)}, nil,
			"no step met delivery p99 under 250ms and streams_failed.rate under 0.10% of each step's connection attempts (new streams and reconnects); breaks already at the first step, 1,000 streams, on delivery.p99 = 610ms",
			func(v CapacityVerdict) bool { return v.Found && v.Holds == 0 && v.BreaksAt == 1000 }},
		{"held max", []CapacityStep{step(1000, true, ok...), step(2000, true, ok...)}, nil,
			"holds 2,000 streams at delivery p99 under 250ms and streams_failed.rate under 0.10% of each step's connection attempts (new streams and reconnects); no knee up to --max 2,000 streams",
			func(v CapacityVerdict) bool { return v.HeldMax && !v.Found && !v.Inconclusive }},
		{"generator saturated", []CapacityStep{step(42_000, true, ok...), sat}, cost,
			"holds 42,000 streams at delivery p99 under 250ms and streams_failed.rate under 0.10% of each step's connection attempts (new streams and reconnects); knee not found: generator CPU at 95% or more of 2 cores for 25 of 30 s at 46,000 streams; server memory ~21 KiB per stream",
			func(v CapacityVerdict) bool {
				return v.Inconclusive && !v.Found && v.Holds == 42_000 && v.BreaksAt == 0
			}},
		// A saturated step in the refinement only blurs a knee the search found.
		{"saturated while refining", []CapacityStep{step(300, true, ok...), step(400, false, slow...), {Streams: 333, Inconclusive: true, Reason: "generator saturated"}}, nil,
			"holds 300 streams at delivery p99 under 250ms and streams_failed.rate under 0.10% of each step's connection attempts (new streams and reconnects); breaks at 400 on delivery.p99 = 610ms",
			func(v CapacityVerdict) bool { return v.Found && v.Holds == 300 && v.BreaksAt == 400 }},
		// A failure rate says what it is a share of: the step's attempts,
		// not every stream it holds.
		{"breaks on failures", []CapacityStep{step(1000, true, ok...), step(2000, false, failing...)}, nil,
			"holds 1,000 streams at delivery p99 under 250ms and streams_failed.rate under 0.10% of each step's connection attempts (new streams and reconnects); breaks at 2,000 on streams_failed.rate = 2.00% of the step's connection attempts (new streams and reconnects)",
			func(v CapacityVerdict) bool { return v.Found && v.BreaksAt == 2000 }},
		{"stopped early", []CapacityStep{step(1000, true, ok...)}, nil,
			"holds 1,000 streams at delivery p99 under 250ms and streams_failed.rate under 0.10% of each step's connection attempts (new streams and reconnects); knee not found: the search stopped before a step failed or --max was reached",
			func(v CapacityVerdict) bool { return v.Inconclusive }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := CapacityVerdictOf(tc.steps, slos, 2000, tc.cost)
			if !tc.check(v) {
				t.Errorf("verdict %+v", v)
			}
			if v.Sentence != tc.sentence {
				t.Errorf("sentence\n%q\nwant\n%q", v.Sentence, tc.sentence)
			}
		})
	}
}

func TestCapacityJSONRoundTrip(t *testing.T) {
	r := capacityFixture(t)
	if r.Schema != CapacitySchema || !r.Verdict.Found || len(r.Steps) == 0 || r.ServerCost == nil || len(r.ServerSamples) == 0 {
		t.Fatalf("fixture: %+v", r.Verdict)
	}
	if h, err := r.Steps[0].Metrics[MetricDelivery].Hist(); err != nil || h.TotalCount() != r.Steps[0].Metrics[MetricDelivery].Count {
		t.Fatalf("a step's delivery histogram does not decode to its count: %v", err)
	}
	path := filepath.Join(t.TempDir(), "cap.json")
	if err := WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	if saved, err := Read(path); err != nil || saved.Capacity == nil || saved.Result != nil || saved.Check != nil {
		t.Fatalf("Read does not know a capacity result: %+v %v", saved, err)
	}
	back, err := ReadKind(path, CapacitySchema)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Capacity, r) {
		t.Fatal("the result changed on its way through JSON")
	}
	if saved, err := Read(filepath.Join("testdata", "load-result.json")); err != nil || saved.Result == nil || saved.Capacity != nil {
		t.Fatalf("a load result not read as one: %+v %v", saved, err)
	}
	if _, err := ReadKind(filepath.Join("testdata", "load-result.json"), CapacitySchema); err == nil || !strings.Contains(err.Error(), `want "ssebench/capacity/v1"`) {
		t.Fatalf("reading a load result as capacity: %v", err)
	}
}

func TestCapacityHTML(t *testing.T) {
	r := capacityFixture(t)
	r.Notes = append(r.Notes, `<script>alert("x")</script> from a server`)
	var b bytes.Buffer
	if err := WriteCapacityHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`data-chart="latency-vs-streams"`, `data-chart="failures-vs-streams"`, `data-chart="server-rss-vs-streams"`, `data-chart="server-cpu-vs-events"`,
		`data-series="breaks at 217"`, "SLO delivery.p99 &lt; 200ms", "fit: " + fmtSizeApprox(r.ServerCost.BytesPerStream) + " per stream", r.Verdict.Sentence[:40],
		"KNEE FOUND", `&lt;script&gt;alert`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") && strings.Contains(page, "src=") {
		t.Error("the page has a script or an external resource")
	}
	if n := strings.Count(page, "<tr data-step="); n != len(r.Steps) {
		t.Errorf("%d step rows, want %d", n, len(r.Steps))
	}

	// Without server observation: the server charts say why they are absent.
	r.ServerCost, r.ServerSamples = nil, nil
	for i := range r.Steps {
		r.Steps[i].Server = nil
	}
	b.Reset()
	if err := WriteCapacityHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if page := b.String(); strings.Contains(page, "server-rss-vs-streams") || !strings.Contains(page, "run with --server-pid PID") {
		t.Error("an unobserved server's charts are drawn, or their absence is not explained")
	}
}

func TestCapacitySummary(t *testing.T) {
	r := capacityFixture(t)
	var b bytes.Buffer
	if err := WriteCapacitySummary(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "KNEE: "+r.Verdict.Sentence) || strings.Count(out, "\n  step ")+strings.Count(out, "\n  refine ") != len(r.Steps) {
		t.Fatalf("summary:\n%s", out)
	}
	// Steps print in streams order, the refinement among them.
	if i, j := strings.Index(out, "refine      217"), strings.Index(out, "step        250"); i < 0 || j < 0 || i > j {
		t.Fatalf("steps out of order:\n%s", out)
	}
}

// One unit system for sizes (binary: KiB, MiB), and a weak fit kept out of
// the key figures and marked where it is shown.
func TestCapacityUnitsAndWeakFit(t *testing.T) {
	r := capacityFixture(t)
	var b bytes.Buffer
	if err := WriteCapacityHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	var sum strings.Builder
	if err := WriteCapacitySummary(&sum, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"html": b.String(), "summary": sum.String() + r.Verdict.Sentence} {
		if regexp.MustCompile(`\d ?[KMG]B\b`).MatchString(out) {
			t.Errorf("%s mixes decimal units (KB/MB) with the binary ones: %s", name, regexp.MustCompile(`.{30}\d ?[KMG]B\b.{0,10}`).FindString(out))
		}
	}
	if got := fmtSizeApprox(21_300); got != "21 KiB" {
		t.Errorf("fmtSizeApprox(21300) = %q, want 21 KiB", got)
	}

	r.ServerCost.RSSR2, r.ServerCost.CPUR2 = 0.03, 0.02
	v := buildCapacityView(r)
	for _, f := range v.Facts {
		if strings.Contains(f.Label, "memory per stream") && f.Value != "—" {
			t.Errorf("a fit of R² 0.03 headlined: %+v", f)
		}
		if strings.Contains(f.Label, "CPU per 1,000") {
			t.Errorf("a CPU fit of R² 0.02 headlined: %+v", f)
		}
	}
	sum.Reset()
	if err := WriteCapacitySummary(&sum, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "R² 0.03: a weak fit") {
		t.Errorf("summary does not mark the weak fit:\n%s", sum.String())
	}
}

// report --junit of a capacity result: the answer case fails as the exit
// code does; steps past the knee are information, not failures.
func TestCapacityJUnit(t *testing.T) {
	r := capacityFixture(t)
	junit := func() string {
		var b bytes.Buffer
		if err := WriteCapacityJUnit(&b, r); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	page := junit()
	if !r.Answered() || !strings.Contains(page, `name="capacity answer"`) || !strings.Contains(page, `<testsuites name="ssebench capacity" tests="`+fmt.Sprint(1+len(r.Steps))+`" failures="0"`) {
		t.Fatalf("a found knee: want one answer case and one per step, none failed:\n%s", page)
	}
	if !strings.Contains(page, r.Verdict.Sentence) || !strings.Contains(page, "(broken)") {
		t.Errorf("the answer's sentence or a broken step's SLO value is missing:\n%s", page)
	}
	r.Partial, r.PartialReason = true, "interrupted after 12s"
	if page := junit(); !strings.Contains(page, `type="partial"`) || !strings.Contains(page, `failures="1"`) {
		t.Errorf("a cut-short search passes its JUnit:\n%s", page)
	}
	r.Partial = false
	r.Verdict.Found, r.Verdict.HeldMax, r.Verdict.Reason = false, false, "generator saturated"
	if page := junit(); !strings.Contains(page, `type="no-answer"`) {
		t.Errorf("a search with no answer passes its JUnit:\n%s", page)
	}
}
