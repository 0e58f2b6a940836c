package report

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// shardResult is one synthetic generator's result: its histograms hold
// random latencies, also recorded into union.
func shardResult(t *testing.T, seed uint64, start time.Time, n int, union map[string]*hdrhistogram.Histogram) *Result {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	r := &Result{
		Schema: ResultSchema, Version: "1.0.0-test", GoVersion: "go1.26.0", Host: "gen-" + string(rune('a'+seed)),
		Target: "http://127.0.0.1:8080/events", Start: start, End: start.Add(3 * time.Second), DurationS: 3,
		Metrics: map[string]Metric{},
		Counters: Counters{
			StreamsOpened: int64(n), StreamsFailed: int64(seed), Events: int64(10 * n), Reconnects: 2,
			Ends:         map[string]int64{"cancelled": int64(n), "reset": int64(seed)},
			ErrorSamples: map[string]string{"reset": "reset by peer on " + string(rune('a'+seed))},
		},
		Generator: Generator{PeakRSSBytes: int64(seed) << 20, CPUSeconds: 1.5, MaxLagMS: float64(seed), PeakGoroutines: 100, Procs: 2},
	}
	for _, name := range []string{MetricFirstEvent, MetricDelivery, MetricLifetime} {
		h := NewHist()
		for i := 0; i < n; i++ {
			// Log-uniform from 10µs to 10s, so every bucket range is used.
			us := int64(10 * math.Pow(10, rng.Float64()*6))
			RecordDuration(h, time.Duration(us)*time.Microsecond)
			RecordDuration(union[name], time.Duration(us)*time.Microsecond)
		}
		r.Metrics[name] = Summarize(h)
	}
	r.Metrics[MetricReconnect] = Metric{} // nothing measured in either
	for s := 1; s <= 3; s++ {
		r.Timeseries = append(r.Timeseries, Point{
			T: float64(s), Open: int64(10 * s), Target: int64(10 * s), Connects: 10, Events: int64(100 * s),
			DeliveryP99MS: float64(seed*10 + uint64(s)), ErrorsByKind: map[string]int64{"reset": 1},
		})
	}
	return r
}

func TestMergeEqualsHistogramOfUnion(t *testing.T) {
	union := map[string]*hdrhistogram.Histogram{
		MetricFirstEvent: NewHist(), MetricDelivery: NewHist(), MetricLifetime: NewHist(),
	}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 200e6, time.UTC)
	a := shardResult(t, 1, t0, 5000, union)
	b := shardResult(t, 2, t0.Add(1500*time.Millisecond), 3000, union)
	b.Partial, b.PartialReason = true, "interrupted after 2s"
	b.Generator.Saturated, b.Generator.SaturatedReason = true, "generator CPU at 99%"

	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range union {
		h, err := m.Metrics[name].Hist()
		if err != nil {
			t.Fatal(err)
		}
		if !h.Equals(want) {
			t.Errorf("%s: merged histogram differs from the histogram of the union", name)
		}
		if got, w := m.Metrics[name], Summarize(want); got.Count != w.Count || got.P50MS != w.P50MS || got.P99MS != w.P99MS ||
			got.P999MS != w.P999MS || got.MaxMS != w.MaxMS || got.MinMS != w.MinMS {
			t.Errorf("%s: summary %+v, want %+v", name, got, w)
		}
	}
	if m.Metrics[MetricReconnect].Count != 0 {
		t.Errorf("empty metric: %+v", m.Metrics[MetricReconnect])
	}

	c := m.Counters
	if c.StreamsOpened != 8000 || c.StreamsFailed != 3 || c.Events != 80000 || c.Reconnects != 4 ||
		c.Ends["cancelled"] != 8000 || c.Ends["reset"] != 3 || c.ErrorSamples["reset"] != "reset by peer on b" {
		t.Errorf("counters %+v", c)
	}
	if !m.Start.Equal(t0) || !m.End.Equal(t0.Add(4500*time.Millisecond)) || m.DurationS != 4.5 {
		t.Errorf("start %v end %v duration %v", m.Start, m.End, m.DurationS)
	}
	if !m.Partial || !strings.Contains(m.PartialReason, "interrupted after 2s") {
		t.Errorf("partial %v %q", m.Partial, m.PartialReason)
	}
	g := m.Generator
	if g.PeakRSSBytes != 2<<20 || g.CPUSeconds != 3 || g.MaxLagMS != 2 || !g.Saturated ||
		!strings.Contains(g.SaturatedReason, "gen-c: generator CPU at 99%") || g.Procs != 4 {
		t.Errorf("generator %+v", g)
	}
	if m.Merged != 2 || m.Thresholds != nil {
		t.Errorf("merged %d, thresholds %v", m.Merged, m.Thresholds)
	}

	// Wall-clock alignment: a's points fall at 03:04:06.2, 07.2, 08.2;
	// b's at 07.7, 08.7, 09.7. Seconds 06..09.
	ts := m.Timeseries
	if len(ts) != 4 {
		t.Fatalf("%d merged points, want 4: %+v", len(ts), ts)
	}
	want := []struct {
		events, open, connects int64
		p99                    float64
	}{
		{100, 10, 10, 11}, // a only: b has not started
		{300, 30, 20, 21}, // both; p99 is the upper bound of the two
		{500, 50, 20, 22}, // both
		{300, 30, 10, 23}, // b only: a ended, its open streams are not carried
	}
	for i, w := range want {
		p := ts[i]
		if p.Events != w.events || p.Open != w.open || p.Connects != w.connects || p.DeliveryP99MS != w.p99 {
			t.Errorf("point %d: %+v, want events %d open %d connects %d p99 %v", i, p, w.events, w.open, w.connects, w.p99)
		}
	}
	if ts[1].ErrorsByKind["reset"] != 2 {
		t.Errorf("errors by kind %v", ts[1].ErrorsByKind)
	}
	// Merging never changes its inputs.
	if a.Counters.StreamsOpened != 5000 || a.Counters.Ends["reset"] != 1 {
		t.Errorf("input changed: %+v", a.Counters)
	}
}

func TestMergeCarriesOpenStreamsOverAMissingSecond(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	a := &Result{Schema: ResultSchema, Start: t0, End: t0.Add(4 * time.Second), Timeseries: []Point{
		{T: 1.1, Open: 5}, {T: 3.1, Open: 7}, {T: 4.1, Open: 7}, // nothing in second 2
	}}
	b := &Result{Schema: ResultSchema, Start: t0, End: t0.Add(4 * time.Second), Timeseries: []Point{
		{T: 1.2, Open: 1}, {T: 2.2, Open: 2}, {T: 3.2, Open: 3}, {T: 4.2, Open: 4},
	}}
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var open []int64
	for _, p := range m.Timeseries {
		open = append(open, p.Open)
	}
	if want := []int64{6, 7, 10, 11}; !equalInts(open, want) {
		t.Fatalf("open %v, want %v (a's 5 carried into second 2)", open, want)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMergeRefusesInexactInput(t *testing.T) {
	ok := func() *Result {
		h := NewHist()
		RecordDuration(h, time.Millisecond)
		return &Result{Schema: ResultSchema, Metrics: map[string]Metric{MetricDelivery: Summarize(h)}}
	}
	other := hdrhistogram.New(1, 1000, 2)
	other.RecordValue(5)
	enc, _ := other.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	cases := []struct {
		name string
		bad  *Result
		want string
	}{
		{"no histogram", &Result{Schema: ResultSchema, Metrics: map[string]Metric{MetricDelivery: {Count: 3}}}, "no histogram"},
		{"other bounds", &Result{Schema: ResultSchema, Metrics: map[string]Metric{MetricDelivery: {Count: 1, HDR: string(enc)}}}, "bounds"},
		{"corrupt", &Result{Schema: ResultSchema, Metrics: map[string]Metric{MetricDelivery: {Count: 1, HDR: "bm90IGEgaGlzdG9ncmFt"}}}, "decode histogram"},
		{"count mismatch", func() *Result {
			r := ok()
			m := r.Metrics[MetricDelivery]
			m.Count = 2
			r.Metrics[MetricDelivery] = m
			return r
		}(), "holds 1 samples but the count says 2"},
		{"schema", &Result{Schema: CheckSchema}, "schema"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(ok(), tc.bad)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Merge error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Merge(); err == nil {
		t.Fatal("Merge() of nothing succeeded")
	}
}
