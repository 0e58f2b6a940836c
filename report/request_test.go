package report

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// requestCounters is a request-mode result's counters with known shares.
func requestCounters() Counters {
	return Counters{
		Requests: 200, RequestsOK: 196, RequestsGood: 190, Tokens: 12_800, Events: 13_000,
		Ends: map[string]int64{"sentinel": 196, "http_503": 3, "max_duration": 1},
	}
}

func TestRequestThresholds(t *testing.T) {
	ttft := NewHist()
	for i := 1; i <= 100; i++ { // 10ms .. 1000ms
		RecordDuration(ttft, time.Duration(i)*10*time.Millisecond)
	}
	metrics := map[string]Metric{MetricTTFT: Summarize(ttft), MetricITL: {}}
	c := requestCounters()
	cases := []struct {
		expr   string
		value  float64
		unit   string
		passed bool
	}{
		{"ttft.p50 < 600ms", 500.223, UnitMS, true},
		{"ttft.p99 < 900ms", 990.207, UnitMS, false},
		{"ttft.count == 100", 100, UnitCount, true},
		{"itl.count == 0", 0, UnitCount, true},
		{"goodput >= 95%", 0.95, UnitRatio, true},
		{"goodput > 0.95", 0.95, UnitRatio, false},
		{"requests_failed.rate < 1%", 0.02, UnitRatio, false},
		{"requests_failed.rate <= 2%", 0.02, UnitRatio, true},
		{"requests_failed == 4", 4, UnitCount, true},
		{"requests >= 200", 200, UnitCount, true},
		{"requests_ok == 196", 196, UnitCount, true},
		{"requests_good < 190", 190, UnitCount, false},
		{"tokens > 10000", 12_800, UnitCount, true},
		{"tokens_per_s >= 640", 640, UnitPerSecond, true}, // 12,800 tokens over 20s
		{"tokens_per_s >= 700/s", 640, UnitPerSecond, false},
		{"ends.max_duration == 0", 1, UnitCount, false},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			th, err := ParseThreshold(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			r, err := th.EvaluateOver(metrics, c, 20)
			if err != nil {
				t.Fatal(err)
			}
			if r.Unit != tc.unit || r.Passed != tc.passed || r.Note != "" {
				t.Errorf("unit %q passed %v note %q; want %q %v", r.Unit, r.Passed, r.Note, tc.unit, tc.passed)
			}
			if diff := r.Value - tc.value; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("value %v, want %v", r.Value, tc.value)
			}
		})
	}

	// Nothing to read: a gate must not pass on nothing.
	for _, tc := range []struct {
		expr, note string
		c          Counters
		seconds    float64
	}{
		{"goodput >= 0%", "no request was sent", Counters{}, 20},
		{"tokens_per_s >= 0", "the run's duration is unknown", c, 0},
		{"itl.p99 < 1h", "no itl samples were measured", c, 20},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		r, err := th.EvaluateOver(metrics, tc.c, tc.seconds)
		if err != nil {
			t.Fatal(err)
		}
		if r.Passed || r.Note != tc.note {
			t.Errorf("%s: passed %v note %q, want a failure noting %q", tc.expr, r.Passed, r.Note, tc.note)
		}
	}

	// EvaluateThresholds divides throughputs by the run's duration.
	res := &Result{Schema: ResultSchema, Mode: ModeRequest, DurationS: 20, Metrics: metrics, Counters: c}
	rs, err := EvaluateThresholds(res, []string{"tokens_per_s >= 640"})
	if err != nil {
		t.Fatal(err)
	}
	if !ThresholdsPassed(rs) || rs[0].Value != 640 {
		t.Errorf("throughputs over the run: %+v", rs)
	}
	if got := FormatValue(rs[0].Value, rs[0].Unit); got != "640/s" {
		t.Errorf("FormatValue(640 per_s) = %q", got)
	}
	if got := FormatValue(2.456, UnitPerSecond); got != "2.46/s" {
		t.Errorf("FormatValue(2.456 per_s) = %q", got)
	}
}

func TestRequestThresholdErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"ttft < 1s", "ttft is a latency metric: add an aggregate, e.g. ttft.p99"},
		{"tpot.p99 < 50", "give 50 a unit"},
		{"goodput.rate >= 95%", "goodput is already a share of requests"},
		{"goodput >= 95", "is more than 1 (write 95% for a percentage)"},
		{"goodput >= 1s", "is not a percentage"},
		{"tokens_per_s.p99 > 1", "tokens_per_s is a throughput over the run"},
		{"tokens_per_s > fast", "is not a number (e.g. 500 or 500/s)"},
		{"tokens.rate < 1%", "tokens has no .rate"},
		{"requests_failed.rate < 1s", "is not a percentage"},
		{"goodptu >= 95%", "did you mean goodput?"},
		{"tfft.p99 < 1s", "did you mean ttft.p99?"},
		{"bogus.p99 < 1s", "ttft, ttft_sent, itl, tpot, e2e, e2e_sent"},
	} {
		_, err := ParseThreshold(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to say %q", tc.expr, err, tc.want)
		}
	}
}

func TestGoodputSLOs(t *testing.T) {
	got, err := GoodputSLOs([]string{
		"ttft.p99 < 1s", "ttft.p50 <= 200ms", // the loosest bound on a metric wins
		"tpot.mean < 50ms",
		"e2e.max <= 1m",
		"itl.p99 < 100ms",      // per gap, not per request
		"ttft.min > 1ms",       // not an upper bound
		"e2e.count >= 10",      // a count, not a bound
		"first_event.p99 < 1s", // not a request metric
		"goodput >= 95%", "requests_failed.rate < 1%",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{MetricTTFT: time.Second, MetricTPOT: 50 * time.Millisecond, MetricE2E: time.Minute}
	if len(got) != len(want) {
		t.Fatalf("GoodputSLOs = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s bound %v, want %v", k, got[k], v)
		}
	}
	if got, err := GoodputSLOs(nil); err != nil || len(got) != 0 {
		t.Errorf("no thresholds: %v, %v; want an empty map", got, err)
	}
	if got, err := GoodputSLOs([]string{"ttft.p99 < 750us"}); err != nil || got[MetricTTFT] != 750*time.Microsecond {
		t.Errorf("sub-millisecond bound: %v, %v", got, err)
	}
	if _, err := GoodputSLOs([]string{"ttft.p99 < 1s", "ttft.p99 <"}); err == nil || !strings.Contains(err.Error(), `"ttft.p99 <"`) {
		t.Errorf("a bad expression: %v", err)
	}
}

func TestLiveGateRequestsInFlight(t *testing.T) {
	g, err := NewLiveGate(ModeRequest, []string{"goodput >= 95%", "requests_failed.rate < 5%", "tokens_per_s >= 1e9"})
	if err != nil {
		t.Fatal(err)
	}
	// One second in: 10 requests sent, 4 answered (all good), 6 in flight.
	// Over every request sent, goodput would be 40% and the failed share
	// 60%; over those that ended, both thresholds hold.
	c := Counters{Requests: 10, RequestsOK: 4, RequestsGood: 4, Tokens: 100, Ends: map[string]int64{"sentinel": 4}}
	if err := g.Check(nil, c); err != nil {
		t.Errorf("in-flight requests failed the live gate: %v", err)
	}
	// Later, real failures among the ended requests abort.
	c.Ends["http_503"] = 2
	if err := g.Check(nil, c); err == nil || !strings.Contains(err.Error(), "goodput >= 95% (was 66.7%)") {
		t.Errorf("failures among ended requests: %v", err)
	}
}

func TestRequestSummary(t *testing.T) {
	res := requestFixtureEvaluated(t)
	out := string(render(t, func(b *bytes.Buffer) error { return WriteSummary(b, res) }))
	golden(t, "request.summary.golden", []byte(out))
	c := res.Counters
	if c.Requests != 100 || c.RequestsOK != 96 || c.RequestsGood == 0 || c.RequestsGood > c.RequestsOK ||
		c.RequestsCut != 1 || c.TokensCut != 10 || c.TokensFailed != 20 || c.Tokens != 96*64 {
		t.Fatalf("fixture counters %+v", c)
	}
	for _, re := range []string{
		`(?m)^  metric +count +p50 +p90 +p99 +max +mean$`,
		`(?m)^  ttft +98 +\d+ms +\d+ms +\d+ms +\d+ms +\d+ms$`, // 98 answers got a first token
		`(?m)^  itl +\d+ +\d+\.\d\dms`,
		`(?m)^  ttft_sent +98 +\d+ms +\d+ms +\d+ms +\d+ms +\d+ms$`,
		`(?m)^  tpot +96 `,                        // answers that ended OK
		`(?m)^  e2e +97 `, `(?m)^  e2e_sent +97 `, // and the one cut at max_duration
		`(?m)^  schedule_lag +100 .* 40\.\d\dms +40\.\d\dms +\d`, // five sent 40ms late
		`ttft, e2e from each request's scheduled time; ttft_sent, e2e_sent from its send`,
		`requests  sent 100 in 20\.0s \(5/s\)  ok 96 \(96\.0%\)  failed 4 \(cut 1, other 3\)`,
		`goodput   95 good \(95\.0%\)  within ttft ≤ 1s, tpot ≤ 50ms`,
		// 96 answers × 64 tokens over 22s; the cut and the failed answers' tokens stay out.
		`tokens    6144 output in ok answers \(279/s\)  64 per ok answer  per answer \d\d\.?\d?/s \(1/tpot p50\)`,
		`not in throughput: 10 in cut answers, 20 in failed answers`,
		`ends      sentinel 96 http_503 2 max_duration 1 reset 1`,
		`http_503 e\.g\.: POST http://127\.0\.0\.1:8080/v1/chat/completions: 503`,
		`✓ goodput >= 95% +\d+\.\d%`, `✗ requests_failed\.rate < 1% +4\.00%`, `✓ tokens_per_s >= 100 +279/s`,
		`✗ FAILED: 1 of 5 thresholds failed`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("summary lacks %s\n%s", re, out)
		}
	}
	// Subscribe-mode lines have no place here.
	for _, bad := range []string{"streams  opened", "events_lost", "first_event"} {
		if strings.Contains(out, bad) {
			t.Errorf("request summary shows %q", bad)
		}
	}

	// No request answered: the verdict says so.
	none := &Result{Schema: ResultSchema, Mode: ModeRequest, Target: "x", Counters: Counters{Requests: 5, Ends: map[string]int64{"connect_error": 5}}}
	out = string(render(t, func(b *bytes.Buffer) error { return WriteSummary(b, none) }))
	if !strings.Contains(out, "✗ FAILED: no request was answered normally") || !strings.Contains(out, "no latency was measured") {
		t.Errorf("no answers:\n%s", out)
	}
}

func TestRequestHTML(t *testing.T) {
	res := requestFixtureEvaluated(t)
	page := string(render(t, func(b *bytes.Buffer) error { return WriteHTML(b, res) }))
	selfContained(t, page)
	for _, want := range []string{
		`data-verdict="fail"`, "1 of 5 thresholds failed",
		`data-chart="in-flight"`, `data-chart="requests-rate"`, `data-chart="tokens-rate"`,
		`data-chart="ttft-latency"`, `data-chart="itl-latency"`,
		`data-chart="dist-ttft"`, `data-chart="dist-itl"`, `data-chart="dist-tpot"`, `data-chart="dist-e2e"`,
		`data-chart="dist-ttft_sent"`, `data-chart="dist-e2e_sent"`,
		`<span class="mono">ttft_sent</span>`, "request sent → first token", "from send p99 ",
		"6,144 tokens in ok answers · not counted: 10 cut, 20 failed",
		`<td class="mono">tokens_cut</td>`, `<td class="mono">tokens_failed</td>`, `<td class="mono">requests_cut</td>`,
		"threshold ttft.p99 &lt; 1s", // the SLO drawn on the TTFT charts
		"Requests and tokens", "Why answers ended", "sentinel", "max_duration",
		"the end-of-answer data (e.g. [DONE]) arrived",
		"503 &lt;b&gt;overloaded&lt;/b&gt;", // error sample escaped
		"open loop, poisson arrivals: 5 req/s for 20s",
		"delta choices.0.delta.content counted as words; usage usage.completion_tokens",
		`<div class="k">Goodput</div>`, `<div class="k">Output tokens/s</div>`, `<div class="k">TTFT p99</div>`, `<div class="k">TPOT p50</div>`,
		`<td class="mono">requests_good</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{`data-chart="open-streams"`, `data-chart="delivery-latency"`, `data-chart="dist-headers"`, "Why streams ended"} {
		if strings.Contains(page, bad) {
			t.Errorf("request page has %q", bad)
		}
	}
	charts := regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`).FindAllString(page, -1)
	if len(charts) != 5+6 {
		t.Fatalf("%d charts, want 5 over time and 6 distributions", len(charts))
	}
	for _, c := range charts {
		for _, part := range []string{`class="ticks y"`, `class="ticks x"`, `class="legend"`, `class="series"`} {
			if !strings.Contains(c, part) {
				t.Errorf("chart %.60s… lacks %s", c, part)
			}
		}
	}
}

func TestRequestJUnit(t *testing.T) {
	res := requestFixtureEvaluated(t)
	out := render(t, func(b *bytes.Buffer) error { return WriteJUnit(b, res) })
	var s struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(out, &s); err != nil {
		t.Fatal(err)
	}
	if s.Tests != 6 || s.Failures != 1 {
		t.Fatalf("%d tests, %d failures; want 6, 1\n%s", s.Tests, s.Failures, out)
	}
	names := map[string]bool{}
	for _, su := range s.Suites {
		for _, c := range su.Cases {
			names[c.Name] = true
			if c.Failure != nil && (c.Name != "requests_failed.rate < 1%" || !strings.Contains(c.Failure.Message, "was 4.00%") ||
				!strings.Contains(c.Failure.Text, "requests: sent 100, ok 96") || !strings.Contains(c.Failure.Text, "ttft: p50 ")) {
				t.Errorf("failed case %s: %+v", c.Name, c.Failure)
			}
		}
	}
	for _, want := range requestFixtureThresholds {
		if !names[want] {
			t.Errorf("no testcase for %q", want)
		}
	}
	if !bytes.Contains(out, []byte(`<property name="mode" value="request">`)) {
		t.Error("the run's mode is not a property")
	}
}

func TestMergeRequestResults(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	a := requestFixture(t, 1, t0, 100)
	b := requestFixture(t, 2, t0.Add(500*time.Millisecond), 60)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Mode != ModeRequest {
		t.Errorf("mode %q", m.Mode)
	}
	ca, cb, c := a.Counters, b.Counters, m.Counters
	if c.Requests != ca.Requests+cb.Requests || c.RequestsOK != ca.RequestsOK+cb.RequestsOK ||
		c.RequestsGood != ca.RequestsGood+cb.RequestsGood || c.Tokens != ca.Tokens+cb.Tokens ||
		c.Ends["sentinel"] != ca.Ends["sentinel"]+cb.Ends["sentinel"] {
		t.Errorf("counters %+v from %+v and %+v", c, ca, cb)
	}
	for _, name := range RequestMetricNames {
		ha, _ := a.Metrics[name].Hist()
		hb, _ := b.Metrics[name].Hist()
		union := NewHist()
		for _, h := range []*hdrhistogram.Histogram{ha, hb} {
			if err := MergeInto(union, h); err != nil {
				t.Fatal(err)
			}
		}
		got, err := m.Metrics[name].Hist()
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equals(union) || m.Metrics[name].Count == 0 {
			t.Errorf("%s: merged histogram is not the union of the inputs'", name)
		}
	}
	var reqs, toks, sumA, sumB int64
	for _, p := range m.Timeseries {
		reqs += p.Requests
		toks += p.Tokens
	}
	for _, p := range a.Timeseries {
		sumA += p.Requests
	}
	for _, p := range b.Timeseries {
		sumB += p.Requests
	}
	if reqs != c.Requests || sumA+sumB != c.Requests || toks != c.Tokens {
		t.Errorf("time series: %d requests and %d tokens, want %d and %d", reqs, toks, c.Requests, c.Tokens)
	}
	// The per-second TTFT of the merge is the larger input value.
	p := Point{TTFTP50MS: 10, TTFTP99MS: 50, ITLP99MS: 30, Requests: 2, Tokens: 7}
	p.Add(Point{TTFTP50MS: 20, TTFTP99MS: 40, ITLP99MS: 35, Requests: 3, Tokens: 5})
	if p.TTFTP50MS != 20 || p.TTFTP99MS != 50 || p.ITLP99MS != 35 || p.Requests != 5 || p.Tokens != 12 {
		t.Errorf("Point.Add: %+v", p)
	}
	// Goodput over the merge is recomputed from the summed counters.
	rs, err := EvaluateThresholds(m, []string{"goodput >= 0%"})
	if err != nil {
		t.Fatal(err)
	}
	if want := float64(c.RequestsGood) / float64(c.Requests); rs[0].Value != want {
		t.Errorf("merged goodput %v, want %v", rs[0].Value, want)
	}

	sub := shardResult(t, 3, t0, 10, map[string]*hdrhistogram.Histogram{
		MetricFirstEvent: NewHist(), MetricDelivery: NewHist(), MetricLifetime: NewHist(),
	})
	if _, err := Merge(a, sub); err == nil || !strings.Contains(err.Error(), "result 2 is a subscribe-mode run but result 1 is request mode") {
		t.Errorf("merging modes: %v", err)
	}
}

func TestSendWindow(t *testing.T) {
	ts := func(lastSent float64) []Point {
		var out []Point
		for s := 1.0; s <= 19; s++ {
			p := Point{T: s, Tokens: 10}
			if s <= lastSent {
				p.Requests = 8
			}
			out = append(out, p)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		scenario string
		lastSent float64
		want     float64
	}{
		// 6s of arrivals, then 13s reading the queued answers to their end.
		{"schedule", `{"stages":[{"duration":"0s","rate":8},{"duration":"6s","rate":8}]}`, 6, 6},
		// request.count ended the arrivals before the schedule did.
		{"count", `{"stages":[{"duration":"1h","rate":8}]}`, 4, 4},
		{"no scenario", ``, 5, 5},
		{"unreadable scenario", `{"stages":[{"duration":"soon"}]}`, 19, 19},
	} {
		r := &Result{Mode: ModeRequest, DurationS: 19.5, Scenario: []byte(tc.scenario), Timeseries: ts(tc.lastSent)}
		if got := sendWindow(r); got != tc.want {
			t.Errorf("%s: send window %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := sendWindow(&Result{DurationS: 3}); got != 3 {
		t.Errorf("no time series: %v, want the run's 3s", got)
	}
}
