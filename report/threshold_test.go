package report

import (
	"strings"
	"testing"
	"time"
)

// thresholdFixture is a small result with known values.
func thresholdFixture(t *testing.T) *Result {
	t.Helper()
	h := NewHist()
	for i := 1; i <= 1000; i++ { // 1ms .. 1000ms
		RecordDuration(h, time.Duration(i)*time.Millisecond)
	}
	return &Result{
		Schema: ResultSchema,
		Metrics: map[string]Metric{
			MetricFirstEvent: Summarize(h),
			MetricDelivery:   {}, // nothing measured
		},
		Counters: Counters{
			StreamsOpened: 999, StreamsFailed: 1, Events: 9990, EventsLost: 10, EventsDuplicated: 5,
			Reconnects: 42, Publishes: 90, PublishErrors: 10, Bytes: 1 << 20, Comments: 7,
			Ends: map[string]int64{"reset": 3, "http_503": 2},
		},
	}
}

func TestThresholdGrammar(t *testing.T) {
	res := thresholdFixture(t)
	cases := []struct {
		expr   string
		value  float64 // in the threshold's unit
		unit   string
		passed bool
	}{
		{"first_event.p99 < 995ms", 990.207, UnitMS, true}, // HdrHistogram's value at 3 digits
		{"first_event.p99 < 500ms", 990.207, UnitMS, false},
		{"first_event.p50<=1s", 500.223, UnitMS, true},
		{"first_event.p999 <= 2s", 999.423, UnitMS, true},
		{"first_event.p99.9 <= 2s", 999.423, UnitMS, true},
		{"first_event.p95 < 0.9s", 950.271, UnitMS, false}, // not a stored field: read from the histogram
		{"first_event.p90 > 850ms", 900.095, UnitMS, true},
		{"first_event.max < 1m", 1000.447, UnitMS, true},
		{"first_event.min >= 1000us", 1, UnitMS, true},
		{"first_event.min >= 1000µs", 1, UnitMS, true},
		{"first_event.mean < 1m30s", 500.504858, UnitMS, true},
		{"first_event.avg < 400ms", 500.504858, UnitMS, false},
		{"first_event.count == 1000", 1000, UnitCount, true},
		{"delivery.count == 0", 0, UnitCount, true},
		{"streams_failed.rate < 0.1%", 0.001, UnitRatio, false}, // 1/1000 is not below 0.1%
		{"streams_failed.rate <= 0.1%", 0.001, UnitRatio, true},
		{"streams_failed.rate < 0.01", 0.001, UnitRatio, true},
		{"publish_errors.rate < 5%", 0.1, UnitRatio, false},
		{"events_lost.rate < 1%", 0.001, UnitRatio, true},
		{"events_duplicated.rate < 1%", 5.0 / 9990, UnitRatio, true},
		{"events_lost == 0", 10, UnitCount, false},
		{"events_lost != 0", 10, UnitCount, true},
		{"events_duplicated > 4", 5, UnitCount, true},
		{"reconnects < 100", 42, UnitCount, true},
		{"reconnects.count < 10", 42, UnitCount, false},
		{"streams_opened >= 1e3", 999, UnitCount, false},
		{"events >= 9990", 9990, UnitCount, true},
		{"bytes < 2000000", 1 << 20, UnitCount, true},
		{"comments == 7", 7, UnitCount, true},
		{"publishes > 0", 90, UnitCount, true},
		{"publish_errors < 1", 10, UnitCount, false},
		{"clock_skew == 0", 0, UnitCount, true},
		{"ends.reset < 10", 3, UnitCount, true},
		{"ends.http_503 == 0", 2, UnitCount, false},
		{"ends.eof == 0", 0, UnitCount, true},
		{"  streams_failed   <  5  ", 1, UnitCount, true},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := EvaluateThresholds(res, []string{tc.expr})
			if err != nil {
				t.Fatal(err)
			}
			r := got[0]
			if r.Expr != strings.TrimSpace(tc.expr) || r.Unit != tc.unit || r.Passed != tc.passed || !near(r.Value, tc.value) {
				t.Fatalf("got %+v, want value %v %s passed %v", r, tc.value, tc.unit, tc.passed)
			}
		})
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}

func TestThresholdNoSamplesFails(t *testing.T) {
	got, err := EvaluateThresholds(thresholdFixture(t), []string{"delivery.p99 < 1s", "delivery.max < 1s"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Passed || !strings.Contains(r.Note, "no delivery samples") {
			t.Errorf("%s over no samples: %+v; want a failure that says why", r.Expr, r)
		}
	}
}

func TestThresholdBadExpressions(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"first_event.p99", "no comparison"},
		{"first_event.p99 = 5ms", "use == (not =)"},
		{"first_event.p99 < ", "no value after <"},
		{"< 5ms", "nothing before <"},
		{"first_event.p99 < 500", "give 500 a unit, e.g. 500ms"},
		{"first_event.p99 < 500 ms", "500ms"}, // a space inside a duration is accepted
		{"first_event.p99 < fast", `"fast" is not a duration`},
		{"first_event.p99 < -5ms", "negative latency"},
		{"first_event < 5ms", "add an aggregate, e.g. first_event.p99"},
		{"first_event.p100 < 5ms", "use max"},
		{"first_event.median < 5ms", `unknown aggregate "median"`},
		{"first_event.pxx < 5ms", `unknown aggregate "pxx"`},
		{"first_evnt.p99 < 5ms", `unknown subject "first_evnt.p99": did you mean first_event.p99?`},
		{"event_lost == 0", "did you mean events_lost?"},
		{"first_event.p75 < 5ms", "ok"},
		{"first_event.p750 < 5ms", "write p50, p95, p99.5"},
		{"latency.p99 < 5ms", "metrics: connect, headers"},
		{"events_lost < 5ms", "is a count, not a latency"},
		{"events_lost < 5%", "% only applies to a .rate"},
		{"events_lost < lots", `"lots" is not a number`},
		{"reconnects.rate < 1%", "reconnects has no .rate"},
		{"events_lost.p99 < 1", "is a counter"},
		{"streams_failed.rate < 5", "more than 1 (write 5% for a percentage)"},
		{"streams_failed.rate < 150%", "not between 0% and 100%"},
		{"streams_failed.rate < abc%", "not a percentage"},
		{"ends. < 1", "an end class"},
		{"ends.Reset < 1", "an end class"},
		{"first_event.p99 < 5ms < 6ms", "more than one comparison"},
		{"first event.p99 < 5ms", "no spaces"},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := ParseThreshold(tc.expr)
			if tc.want == "500ms" || tc.want == "ok" { // accepted cases
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line containing %q", msg, tc.want)
			}
			if !strings.HasPrefix(msg, "threshold "+quote(strings.TrimSpace(tc.expr))) {
				t.Fatalf("error %q does not quote the expression first", msg)
			}
		})
	}
}

func quote(s string) string { return `"` + s + `"` }

func TestParseThresholdsNamesEveryBadOneOnOneLine(t *testing.T) {
	_, err := ParseThresholds([]string{"events_lost == 0", "bogus < 1", "first_event.p99 < 5"})
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, `"bogus < 1"`) || !strings.Contains(msg, `"first_event.p99 < 5"`) || strings.Contains(msg, "\n") {
		t.Fatalf("error %q: want both bad expressions, on one line", msg)
	}
}

func TestLiveGate(t *testing.T) {
	res := thresholdFixture(t)
	cases := []struct {
		expr  string
		abort bool
	}{
		{"events_lost == 0", true},            // 10 lost: a count only grows
		{"events_lost < 5", true},             // ditto
		{"ends.reset < 3", true},              // 3 resets already
		{"events == 100", true},               // already past it
		{"events_duplicated == 6", false},     // below: may still get there
		{"streams_opened >= 5000", false},     // more may open before the end
		{"streams_failed != 1", false},        // equal now, may still grow past it
		{"first_event.count < 10", true},      // a sample count only grows
		{"first_event.count > 2000", false},   // may still get there
		{"first_event.max < 500ms", true},     // a max only grows
		{"first_event.max > 5s", false},       // ... so it may still pass
		{"first_event.min > 10ms", true},      // a min only shrinks
		{"first_event.min < 0.5ms", false},    // ... so it may still pass
		{"first_event.min == 0.5ms", false},   // ... or reach it
		{"first_event.p99 < 500ms", true},     // percentiles count live (abort_on_fail)
		{"first_event.p95 < 1ms", true},       // from the histogram
		{"first_event.mean < 100ms", true},    // means too
		{"streams_failed.rate < 0.05%", true}, // and shares
		{"first_event.p99 < 2s", false},       // passing
		{"publish_errors.rate < 50%", false},  // passing
		{"delivery.p99 < 1ms", false},         // nothing measured yet
		{"delivery.count > 0", false},         // may still get there
		{"first_event.p99.9 >= 2s", true},     // failing percentile, lower bound
		{"events_lost.rate <= 0.1%", false},   // passing: 10/10000
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			g, err := NewLiveGate(ModeSubscribe, []string{tc.expr})
			if err != nil {
				t.Fatal(err)
			}
			err = g.Check(res.Metrics, res.Counters)
			if (err != nil) != tc.abort {
				t.Fatalf("Check = %v, want abort %v", err, tc.abort)
			}
			if err != nil && !strings.Contains(err.Error(), tc.expr) {
				t.Fatalf("abort error %q does not name the threshold", err)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	cases := []struct {
		v    float64
		unit string
		want string
	}{
		{0.75, UnitMS, "750µs"}, {12.5, UnitMS, "12.50ms"}, {1500, UnitMS, "1500ms"}, {25000, UnitMS, "25.0s"},
		{0.001, UnitRatio, "0.10%"}, {0, UnitRatio, "0%"}, {0.00001, UnitRatio, "0.001%"}, {0.5, UnitRatio, "50.0%"},
		{42, UnitCount, "42"}, {1.5, UnitCount, "1.5"},
	}
	for _, tc := range cases {
		if got := FormatValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("FormatValue(%v, %s) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}

// A threshold on something the run cannot produce is bad input, never a
// gate that silently passes (ends.cancelld == 0 held at 0 forever).
func TestThresholdOnWhatTheRunCannotProduce(t *testing.T) {
	for _, tc := range []struct {
		mode, expr, want string
	}{
		{ModeSubscribe, "ends.cancelld == 0", `unknown end class "cancelld": did you mean ends.cancelled?`},
		{ModeSubscribe, "ends.rest < 10", "did you mean ends.reset?"},
		{ModeSubscribe, "ends.bogus_thing == 0", `unknown end class "bogus_thing"`},
		{ModeSubscribe, "ends.sentinel > 0", "a mode subscribe run never ends with sentinel"},
		{ModeRequest, "ends.no_headers == 0", "a mode request run never ends with no_headers"},
		{ModeSubscribe, "ttft.p99 < 1s", "ttft is measured only in mode request"},
		{ModeRequest, "first_event.p99 < 1s", "first_event is measured only in mode subscribe"},
		{ModeSubscribe, "goodput >= 95%", "goodput is measured only in mode request"},
		{ModeSubscribe, "requests_failed.rate < 1%", "requests_failed is measured only in mode request"},
		{ModeRequest, "events_lost == 0", "events_lost is measured only in mode subscribe"},
		{"", "tokens_per_s > 1", "tokens_per_s is measured only in mode request"},
	} {
		_, err := ParseThresholdsFor(tc.mode, []string{tc.expr})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: err %v, want %q", tc.mode, tc.expr, err, tc.want)
		}
	}
	for _, tc := range []struct{ mode, expr string }{
		{ModeSubscribe, "ends.cancelled == 0"}, {ModeSubscribe, "ends.http_503 < 5"}, {ModeSubscribe, "ends.http_204 == 0"},
		{ModeRequest, "ends.body_error == 0"}, {ModeRequest, "ends.http_429 < 3"}, {ModeRequest, "ttft.p99 < 1s"},
		{ModeSubscribe, "streams_opened > 0"}, {ModeRequest, "streams_failed.rate < 1%"}, {"", "events_lost == 0"},
	} {
		if _, err := ParseThresholdsFor(tc.mode, []string{tc.expr}); err != nil {
			t.Errorf("%s %q: %v", tc.mode, tc.expr, err)
		}
	}
	// A saved result is checked against its own mode when re-evaluated.
	if _, err := EvaluateThresholds(&Result{Mode: ModeRequest}, []string{"reconnects < 5"}); err == nil {
		t.Error("reconnects on a request result: no error")
	}
}

// A shown value never reads as its bound when it is not: "✗ < 500ms:
// 500ms" says nothing about why it failed.
func TestShownValueDoesNotRoundAcrossTheBound(t *testing.T) {
	for _, tc := range []struct {
		expr string
		v    float64
		unit string
		want string
	}{
		{"first_event.p99 < 500ms", 500.4, UnitMS, "500.4ms"},
		{"first_event.p99 < 500ms", 499.6, UnitMS, "499.6ms"},
		{"first_event.p99 < 500ms", 500.04, UnitMS, "500.04ms"},
		{"first_event.p99 < 500ms", 812, UnitMS, "812ms"}, // far off: as usual
		{"first_event.p99 < 500ms", 500, UnitMS, "500ms"}, // equal: as usual
		{"delivery.p99 < 1s", 1000.2, UnitMS, "1000.2ms"},
		{"lifetime.max <= 20s", 20004, UnitMS, "20.004s"},
		{"streams_failed.rate < 0.1%", 0.0010004, UnitRatio, "0.10004%"},
		{"tokens_per_s >= 500", 499.8, UnitPerSecond, "499.8/s"},
	} {
		r := ThresholdResult{Expr: tc.expr, Value: tc.v, Unit: tc.unit}
		if got := ShownValue(r); got != tc.want {
			t.Errorf("%s at %v: shown %q, want %q", tc.expr, tc.v, got, tc.want)
		}
	}
	// The summary shows it so.
	res := &Result{Schema: ResultSchema, Counters: Counters{StreamsOpened: 1},
		Thresholds: []ThresholdResult{{Expr: "first_event.p99 < 500ms", Value: 500.4, Unit: UnitMS}}}
	var b strings.Builder
	if err := WriteSummary(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "✗ first_event.p99 < 500ms  500.4ms") {
		t.Errorf("summary:\n%s", b.String())
	}
}
