package report

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// requestFixtureThresholds gate the request fixture: the goodput SLOs come
// from the ttft and tpot thresholds, and requests_failed.rate fails (3 of
// 100 requests fail), so the report has a failed gate to show.
var requestFixtureThresholds = []string{
	"ttft.p99 < 1s", "tpot.p50 < 50ms", "goodput >= 95%", "requests_failed.rate < 1%", "tokens_per_s >= 100",
}

// requestFixture simulates a request-mode run as the engine records it,
// so every figure in the result comes from histograms and counts, never
// hand-written numbers: n requests, one every 200ms (5/s), each a
// streamed answer of 64 tokens with a TTFT near 200ms and a gap near 20ms
// between tokens. Request 13 and 57 are answered 503, request 88 stalls
// past max_duration (cut), request 71 is reset after 20 tokens (failed),
// request 42 streams at a third of the speed (ok but not good), and
// requests 30 to 34 are sent 40ms late (ttft = schedule_lag + ttft_sent).
// Tokens count when an answer ends, and only OK answers' in Tokens.
// Seeded, so the result is the same on every run.
func requestFixture(t testing.TB, seed uint64, start time.Time, n int) *Result {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	hists := map[string]*hdrhistogram.Histogram{}
	for _, m := range RequestMetricNames {
		hists[m] = NewHist()
	}
	slos, err := GoodputSLOs(requestFixtureThresholds)
	if err != nil {
		t.Fatal(err)
	}
	const tokens = 64
	spacing := 200 * time.Millisecond
	dur := time.Duration(n)*spacing + 2*time.Second
	secs := int(math.Ceil(dur.Seconds()))
	type second struct {
		p         Point
		ttft, itl *hdrhistogram.Histogram
	}
	ts := make([]second, secs)
	for i := range ts {
		ts[i] = second{ttft: NewHist(), itl: NewHist()}
	}
	at := func(d time.Duration) *second { return &ts[min(int(d/time.Second), secs-1)] }
	inFlight := make([]int64, secs)
	c := Counters{Ends: map[string]int64{}, ErrorSamples: map[string]string{}}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	for i := 0; i < n; i++ {
		sched := time.Duration(i) * spacing
		c.Requests++
		at(sched).p.Requests++
		lag := ms(0.05 + rng.Float64()*0.2)
		if i >= 30 && i < 35 {
			lag += 40 * time.Millisecond // the generator paused: these five were sent late
		}
		RecordDuration(hists[MetricLag], lag)
		connect := lag + ms(0.2+rng.Float64()*0.3) // every phase counts from the schedule
		RecordDuration(hists[MetricConnect], connect)
		headers := connect + ms(1+rng.Float64())
		RecordDuration(hists[MetricHeaders], headers)
		if i == 13 || i == 57 {
			c.StreamsFailed++
			c.Ends["http_503"]++
			c.ErrorSamples["http_503"] = "POST http://127.0.0.1:8080/v1/chat/completions: 503 <b>overloaded</b>"
			at(sched).p.Failures++
			at(sched).p.Errors++
			continue
		}
		c.StreamsOpened++
		at(sched).p.Connects++
		// A role-only first chunk, then one token per event.
		RecordDuration(hists[MetricFirstByte], headers+ms(0.5))
		ttft := lag + ms(180+rng.ExpFloat64()*20)
		RecordDuration(hists[MetricTTFT], ttft)
		RecordDuration(hists[MetricTTFTSent], ttft-lag)
		RecordDuration(at(sched+ttft).ttft, ttft)
		now := ttft
		c.Events += 2 // role chunk and first token
		last := tokens
		switch i {
		case 88:
			last = 10 // stalls after 10 tokens
		case 71:
			last = 20 // reset after 20 tokens
		}
		for k := 2; k <= last; k++ {
			gap := ms(15 + rng.Float64()*10)
			if i == 42 {
				gap *= 3 // a slow answer: ok, but over the TPOT SLO
			}
			now += gap
			RecordDuration(hists[MetricITL], gap)
			RecordDuration(at(sched+now).itl, gap)
			c.Events++
		}
		var end string
		switch i {
		case 88:
			now = 3 * time.Second
			end = "max_duration"
			at(sched+now).p.Errors++
			c.RequestsCut++
			c.TokensCut += int64(last)
		case 71:
			end = "reset"
			at(sched+now).p.Errors++
			c.TokensFailed += int64(last)
		default:
			now += ms(1)
			end = "sentinel"
			c.Events++ // [DONE]
			c.RequestsOK++
			c.Tokens += int64(last)
			at(sched + now).p.Tokens += int64(last)
		}
		c.Ends[end]++
		e2e := now
		if end != "reset" { // a failed answer has no e2e
			RecordDuration(hists[MetricE2E], e2e)
			RecordDuration(hists[MetricE2ESent], e2e-lag)
		}
		if end == "sentinel" { // tpot and goodput only for answers that ended OK
			tpot := (e2e - ttft) / time.Duration(last-1)
			RecordDuration(hists[MetricTPOT], tpot)
			if ttft <= slos[MetricTTFT] && tpot <= slos[MetricTPOT] {
				c.RequestsGood++
			}
		}
		for s := int(sched / time.Second); s <= min(int((sched+e2e)/time.Second), secs-1); s++ {
			inFlight[s]++
		}
	}
	c.Bytes = c.Events * 180
	r := &Result{
		Schema: ResultSchema, Version: "1.0.0-test", GoVersion: "go1.26.0", Host: "fixture-host",
		Command: "run", Mode: ModeRequest, Target: "http://127.0.0.1:8080/v1/chat/completions",
		Start: start, End: start.Add(dur), DurationS: dur.Seconds(),
		Metrics:   map[string]Metric{},
		Counters:  c,
		Generator: Generator{PeakRSSBytes: 40 << 20, BaselineRSSBytes: 20 << 20, CPUSeconds: 1.2, MaxLagMS: 0.8, PeakGoroutines: 40, Procs: 2},
	}
	for name, h := range hists {
		r.Metrics[name] = Summarize(h)
	}
	for i, s := range ts {
		p := s.p
		p.T = float64(i + 1)
		p.Open = inFlight[i]
		p.TTFTP50MS, p.TTFTP99MS = Quantile(s.ttft, 50), Quantile(s.ttft, 99)
		p.ITLP99MS = Quantile(s.itl, 99)
		r.Timeseries = append(r.Timeseries, p)
	}
	scenario := map[string]any{
		"name": "llm-fixture", "mode": "request", "url": []string{r.Target}, "method": "POST",
		"headers":  map[string]string{"Authorization": "[redacted]"},
		"duration": "20s", "stages": []map[string]any{{"duration": "20s", "target": 0, "rate": 5}},
		"thresholds": requestFixtureThresholds,
		"request": map[string]any{
			"rate": 5, "arrival": "poisson", "end": map[string]any{"data": "[DONE]", "max_duration": "3s"},
			"tokens": map[string]any{"delta_path": "choices.0.delta.content", "usage_path": "usage.completion_tokens"},
		},
	}
	if r.Scenario, err = json.Marshal(scenario); err != nil {
		t.Fatal(err)
	}
	return r
}

// requestFixtureEvaluated is the fixture with its thresholds evaluated.
func requestFixtureEvaluated(t testing.TB) *Result {
	t.Helper()
	r := requestFixture(t, 1, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), 100)
	var err error
	if r.Thresholds, err = EvaluateThresholds(r, r.ScenarioThresholds()); err != nil {
		t.Fatal(err)
	}
	return r
}
