package metrics

import (
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

func gather(t *testing.T, e *Exporter) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// The series are the run's figures: counters as given, ends by class with
// the registry's error flag, and a histogram read out of the HdrHistogram
// at the bucket bounds (100 samples at 1 ms and 10 at 300 ms land in the
// buckets that hold those values, and nowhere else).
func TestExporterSeries(t *testing.T) {
	h := report.NewHist()
	for range 100 {
		report.RecordDuration(h, time.Millisecond)
	}
	for range 10 {
		report.RecordDuration(h, 300*time.Millisecond)
	}
	// The histogram comes the Live way (the run's own, read during the
	// call) or the Check way (encoded in Metrics): the series are the same.
	for _, live := range []bool{true, false} {
		p := loadgen.Progress{
			Elapsed: 3 * time.Second,
			Point:   report.Point{Open: 7, Target: 9},
			Totals:  report.Counters{StreamsOpened: 11, StreamsFailed: 2, Events: 1234, Ends: map[string]int64{report.EndEOF: 3, report.EndReset: 1}},
			Health:  loadgen.Health{CPUShare: 0.5, Saturated: "timer late"},
		}
		if live {
			p.Hists = map[string]*hdrhistogram.Histogram{report.MetricDelivery: h}
		} else {
			p.Metrics = map[string]report.Metric{report.MetricDelivery: report.Summarize(h)}
		}
		t.Run(map[bool]string{true: "live", false: "check"}[live], func(t *testing.T) { exporterSeries(t, p) })
	}
}

func exporterSeries(t *testing.T, p loadgen.Progress) {
	e := New(Labels{Run: "r", Shard: "1/4", Target: "example.test:443"}, scenarios.DefaultMode)
	e.Update(p)
	f := gather(t, e)
	val := func(name string) float64 {
		t.Helper()
		fam, ok := f[name]
		if !ok || len(fam.GetMetric()) != 1 {
			t.Fatalf("no single series %s", name)
		}
		m := fam.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["run"] != "r" || labels["shard"] != "1/4" || labels["target"] != "example.test:443" {
			t.Errorf("%s labels %v", name, labels)
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		}
		return -1
	}
	for name, want := range map[string]float64{
		"ssebench_streams_opened_total": 11, "ssebench_streams_failed_total": 2, "ssebench_events_total": 1234,
		OpenName: 7, TargetName: 9, ElapsedName: 3, SaturatedName: 1, CPUName: 0.5, DoneName: 0,
	} {
		if got := val(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for _, m := range f[EndsName].GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		want := map[string]float64{report.EndEOF: 3, report.EndReset: 1}[l["class"]]
		wantErr := map[string]string{report.EndEOF: "false", report.EndReset: "true"}[l["class"]]
		if m.GetCounter().GetValue() != want || l["error"] != wantErr {
			t.Errorf("ends %v = %v", l, m.GetCounter().GetValue())
		}
	}
	hist := f[HistogramName(report.MetricDelivery)].GetMetric()[0].GetHistogram()
	if hist.GetSampleCount() != 110 {
		t.Fatalf("delivery count %d, want 110", hist.GetSampleCount())
	}
	if s := hist.GetSampleSum(); s < 3.0 || s > 3.2 { // 100 × 1 ms + 10 × 300 ms = 3.1 s
		t.Errorf("delivery sum %v s, want about 3.1", s)
	}
	for _, b := range hist.GetBucket() {
		ub, n := b.GetUpperBound(), b.GetCumulativeCount()
		var want uint64
		switch {
		case ub >= 0.3*1.001: // past 300 ms (and the HdrHistogram's 0.1% precision)
			want = 110
		case ub >= 0.001*1.001 && ub < 0.3*0.999:
			want = 100
		case ub < 0.001*0.999:
			want = 0
		default:
			continue // a bound within precision of a value
		}
		if n != want {
			t.Errorf("bucket le=%v: %d, want %d", ub, n, want)
		}
	}
	if _, ok := f[HistogramName(report.MetricConnect)]; ok {
		t.Error("a metric the run did not measure has a series")
	}

	// Final: the result's figures, marked done.
	e.Final(&report.Result{Counters: report.Counters{Events: 2000, Ends: map[string]int64{report.EndEOF: 20}}, DurationS: 6})
	f = gather(t, e)
	if val("ssebench_events_total") != 2000 || val(DoneName) != 1 || val(OpenName) != 0 || val(ElapsedName) != 6 {
		t.Errorf("final: events %v done %v open %v elapsed %v", val("ssebench_events_total"), val(DoneName), val(OpenName), val(ElapsedName))
	}
}
