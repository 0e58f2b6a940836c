package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// llm is a small chat-completions-like handler: after TTFT it streams
// Tokens chunks of Words words each, ITL apart, then the usage chunk (if
// Usage > 0), then the end: "data: [DONE]", an end event, or nothing
// (the server closes). With KeepOpen it holds the connection after the
// end until the client leaves. It counts requests and concurrency.
type llm struct {
	TTFT     func(n int64) time.Duration // by arrival number; nil: 0
	ITL      time.Duration
	Tokens   int
	Words    int    // words per chunk; 0: 1
	Text     string // chunk content instead of words (a JSON string body)
	Usage    int
	End      string // "done" (default), "close" (event: close), "none"
	KeepOpen bool
	Endless  bool // stream chunks forever, never end
	Huge     int  // send one event with this many data bytes first

	arrivals atomic.Int64
	inflight atomic.Int64
	maxIn    atomic.Int64
	mu       sync.Mutex
	at       []time.Time // arrival times
	bodies   []string
}

func (h *llm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.arrivals.Add(1) - 1
	cur := h.inflight.Add(1)
	// An answer stops counting before its end is written: the client may
	// send its next request before this handler has returned.
	var once sync.Once
	finish := func() { once.Do(func() { h.inflight.Add(-1) }) }
	defer finish()
	for {
		m := h.maxIn.Load()
		if cur <= m || h.maxIn.CompareAndSwap(m, cur) {
			break
		}
	}
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.at = append(h.at, time.Now())
	h.bodies = append(h.bodies, string(body))
	h.mu.Unlock()
	ctx := r.Context()
	sleep := func(d time.Duration) bool {
		if d <= 0 {
			return ctx.Err() == nil
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	if h.TTFT != nil && !sleep(h.TTFT(n)) {
		return
	}
	if h.Huge > 0 {
		fmt.Fprintf(w, "data: %s\n\n", strings.Repeat("x", h.Huge))
		fl.Flush()
	}
	// The role chunk carries no content: it must not count as the first token.
	fmt.Fprint(w, `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`+"\n\n")
	words := max(1, h.Words)
	for i := 0; i < h.Tokens || h.Endless; i++ {
		if i > 0 && !sleep(h.ITL) {
			return
		}
		text := h.Text
		if text == "" {
			var b strings.Builder
			for j := 0; j < words; j++ {
				fmt.Fprintf(&b, "tok%d ", i*words+j)
			}
			text = b.String()
		}
		fmt.Fprintf(w, `data: {"id":"c","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}`+"\n\n", text)
		fl.Flush()
		if h.Endless && i > 10000 {
			return
		}
	}
	if h.Usage > 0 {
		fmt.Fprintf(w, `data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":%d}}`+"\n\n", h.Usage)
	}
	finish()
	switch h.End {
	case "", "done":
		fmt.Fprint(w, "data: [DONE]\n\n")
	case "close":
		fmt.Fprint(w, "event: close\ndata: {\"status\":\"ok\"}\n\n")
	}
	fl.Flush()
	if h.KeepOpen {
		<-ctx.Done()
	}
}

func (h *llm) start(t *testing.T) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL + "/v1/chat/completions"
}

func fixed(d time.Duration) func(int64) time.Duration { return func(int64) time.Duration { return d } }

// reqScenario is a valid, normalized request-mode scenario.
func reqScenario(t *testing.T, url string, edit func(*scenarios.Scenario)) *scenarios.Scenario {
	t.Helper()
	s := &scenarios.Scenario{
		Mode: scenarios.ModeRequest, URLs: []string{url}, Method: "POST",
		Body:     `{"model":"m","stream":true,"n":{{.n}}}`,
		Duration: scenarios.Duration(time.Second),
	}
	s.Request.Rate = 10
	s.Request.Tokens.DeltaPath = "choices.0.delta.content"
	if edit != nil {
		edit(s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s.Normalize()
	return s
}

func runReq(t *testing.T, s *scenarios.Scenario) *report.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, s, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Partial {
		t.Fatalf("partial result: %s", res.PartialReason)
	}
	checkEnds(t, res)
	return res
}

func TestRequestTTFTAndITLMatchTheServer(t *testing.T) {
	// Timing-sensitive: not parallel.
	h := &llm{TTFT: fixed(150 * time.Millisecond), ITL: 40 * time.Millisecond, Tokens: 6}
	url := h.start(t)
	res := runReq(t, reqScenario(t, url, nil))
	c := res.Counters
	if res.Mode != scenarios.ModeRequest {
		t.Fatalf("mode %q", res.Mode)
	}
	// Constant arrivals at 10/s for 1s: exactly 10 requests.
	if c.Requests != 10 || c.RequestsOK != 10 || c.Ends[report.EndSentinel] != 10 || h.arrivals.Load() != 10 {
		t.Fatalf("requests %d ok %d ends %v (server saw %d), want 10 ended by [DONE]", c.Requests, c.RequestsOK, c.Ends, h.arrivals.Load())
	}
	if c.Tokens != 60 || c.RequestsGood != 10 {
		t.Fatalf("tokens %d good %d, want 60 and 10 (no SLO: every OK request is good)", c.Tokens, c.RequestsGood)
	}
	var names []string
	for n := range res.Metrics {
		names = append(names, n)
	}
	want := slices.Clone(report.RequestMetricNames)
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("metrics %v, want exactly %v", names, want)
	}
	m := res.Metrics
	if m["ttft"].Count != 10 || m["itl"].Count != 50 || m["tpot"].Count != 10 || m["e2e"].Count != 10 {
		t.Fatalf("counts ttft %d itl %d tpot %d e2e %d, want 10 50 10 10", m["ttft"].Count, m["itl"].Count, m["tpot"].Count, m["e2e"].Count)
	}
	// Busy 2-core machine: generous upper bounds, firm lower bounds (a
	// server delay can only add).
	if p := m["ttft"].P50MS; p < 150 || p > 300 {
		t.Fatalf("ttft p50 %.1fms, want about 150ms", p)
	}
	if p := m["itl"].P50MS; p < 35 || p > 100 {
		t.Fatalf("itl p50 %.1fms, want about 40ms", p)
	}
	if p := m["tpot"].P50MS; p < 35 || p > 100 {
		t.Fatalf("tpot p50 %.1fms, want about 40ms (one token per chunk)", p)
	}
	if p := m["e2e"].P50MS; p < 350 || p > 600 {
		t.Fatalf("e2e p50 %.1fms, want about 150+5×40 = 350ms", p)
	}
	if m["headers"].Count != 10 || m["headers"].P50MS > m["ttft"].P50MS || m["schedule_lag"].Count != 10 {
		t.Fatalf("headers %+v schedule_lag %+v", m["headers"], m["schedule_lag"])
	}
	var reqs, toks int64
	for _, p := range res.Timeseries {
		reqs += p.Requests
		toks += p.Tokens
	}
	if reqs != 10 || toks != 60 {
		t.Fatalf("time series sums requests %d tokens %d, want 10 and 60", reqs, toks)
	}
	if !slices.ContainsFunc(res.Timeseries, func(p report.Point) bool { return p.TTFTP99MS >= 150 && p.ITLP99MS >= 35 }) {
		t.Fatalf("no point carries TTFT/ITL percentiles: %+v", res.Timeseries)
	}
	// Each request got its own rendered body.
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	for _, b := range h.bodies {
		var v struct{ N *int64 }
		if err := json.Unmarshal([]byte(b), &v); err != nil || v.N == nil {
			t.Fatalf("body %q: %v", b, err)
		}
		seen[b] = true
	}
	if len(seen) != 10 {
		t.Fatalf("bodies %q, want 10 distinct", h.bodies)
	}
}

func TestRequestTokenCounting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		h     *llm
		edit  func(*scenarios.Scenario)
		want  int64 // tokens per request
		tpot  bool
		items int64 // itl samples per request
	}{
		{name: "three words per chunk", h: &llm{Tokens: 4, Words: 3}, want: 12, items: 3},
		{name: "chars4", h: &llm{Tokens: 2, Text: "abcdefghij"}, edit: func(s *scenarios.Scenario) { s.Request.Tokens.Count = "chars4" }, want: 6, items: 1},
		{name: "events", h: &llm{Tokens: 5, Words: 3}, edit: func(s *scenarios.Scenario) { s.Request.Tokens.Count = "events" }, want: 5, items: 4},
		{name: "escapes", h: &llm{Tokens: 2, Text: `caf\u00e9\nna\u00efve\tx \"q\"`}, want: 8, items: 1},
		{name: "usage replaces the count", h: &llm{Tokens: 3, Words: 2, Usage: 40}, edit: func(s *scenarios.Scenario) {
			s.Request.Tokens.UsagePath = "usage.completion_tokens"
		}, want: 40, items: 2},
		{name: "usage path absent keeps the count", h: &llm{Tokens: 3, Words: 2}, edit: func(s *scenarios.Scenario) {
			s.Request.Tokens.UsagePath = "usage.completion_tokens"
		}, want: 6, items: 2},
		{name: "no delta path: every event but the end", h: &llm{Tokens: 3}, edit: func(s *scenarios.Scenario) {
			s.Request.Tokens.DeltaPath = ""
			s.Request.Tokens.Count = "events"
		}, want: 4, items: 3}, // the role chunk counts too: it is an event
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.h.ITL = 5 * time.Millisecond
			url := tc.h.start(t)
			s := reqScenario(t, url, func(s *scenarios.Scenario) {
				s.Request.Rate = 5
				s.Duration = scenarios.Duration(600 * time.Millisecond)
				if tc.edit != nil {
					tc.edit(s)
				}
			})
			res := runReq(t, s)
			c := res.Counters
			if c.Requests != 3 || c.RequestsOK != 3 {
				t.Fatalf("requests %d ok %d ends %v, want 3 OK", c.Requests, c.RequestsOK, c.Ends)
			}
			if c.Tokens != 3*tc.want {
				t.Fatalf("tokens %d, want 3 × %d", c.Tokens, tc.want)
			}
			if got := res.Metrics["itl"].Count; got != 3*tc.items {
				t.Fatalf("itl samples %d, want 3 × %d (one per token event after the first)", got, tc.items)
			}
			if got := res.Metrics["ttft"].Count; got != 3 {
				t.Fatalf("ttft samples %d, want 3", got)
			}
		})
	}
}

func TestRequestEnds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		h        *llm
		edit     func(*scenarios.Scenario)
		class    string
		ok       bool
		maxE2EMS float64 // the answer must end by then (no hang on a held connection)
		minE2EMS float64
	}{
		{name: "[DONE] on a held connection", h: &llm{Tokens: 3, KeepOpen: true}, class: report.EndSentinel, ok: true, maxE2EMS: 1000},
		{name: "event close on a held connection", h: &llm{Tokens: 3, End: "close", KeepOpen: true}, edit: func(s *scenarios.Scenario) {
			s.Request.End.Event = "close"
			s.Request.End.Data = "none"
		}, class: report.EndEventType, ok: true, maxE2EMS: 1000},
		{name: "server close", h: &llm{Tokens: 3, End: "none"}, class: report.EndEOF, ok: true, maxE2EMS: 1000},
		{name: "sentinel off: [DONE] is a token event, close ends", h: &llm{Tokens: 3}, edit: func(s *scenarios.Scenario) {
			s.Request.End.Data = "none"
			s.Request.Tokens.DeltaPath = ""
		}, class: report.EndEOF, ok: true, maxE2EMS: 1000},
		{name: "endless stream hits max_duration", h: &llm{Endless: true, ITL: time.Millisecond}, edit: func(s *scenarios.Scenario) {
			s.Request.End.MaxDuration = scenarios.Duration(300 * time.Millisecond)
		}, class: report.EndMaxDuration, minE2EMS: 300, maxE2EMS: 1500},
		{name: "held without end hits max_duration", h: &llm{Tokens: 2, End: "none", KeepOpen: true}, edit: func(s *scenarios.Scenario) {
			s.Request.End.MaxDuration = scenarios.Duration(300 * time.Millisecond)
		}, class: report.EndMaxDuration, minE2EMS: 300, maxE2EMS: 1500},
		{name: "huge event", h: &llm{Tokens: 2, Huge: 3 << 20, KeepOpen: true}, class: report.EndTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.h.start(t)
			s := reqScenario(t, url, func(s *scenarios.Scenario) {
				s.Request.Rate = 5
				s.Duration = scenarios.Duration(400 * time.Millisecond)
				if tc.edit != nil {
					tc.edit(s)
				}
			})
			began := time.Now()
			res := runReq(t, s)
			if el := time.Since(began); el > 10*time.Second {
				t.Fatalf("run took %v", el)
			}
			c := res.Counters
			if c.Requests != 2 || c.Ends[tc.class] != 2 {
				t.Fatalf("requests %d ends %v, want 2 × %s", c.Requests, c.Ends, tc.class)
			}
			wantOK := int64(0)
			if tc.ok {
				wantOK = 2
			}
			if c.RequestsOK != wantOK {
				t.Fatalf("requests ok %d, want %d", c.RequestsOK, wantOK)
			}
			if !tc.ok && (res.Timeseries == nil || sumErrors(res)[tc.class] != 2 || c.ErrorSamples[tc.class] == "") {
				t.Fatalf("abnormal end %s not counted as an error: %v samples %v", tc.class, sumErrors(res), c.ErrorSamples)
			}
			if tc.maxE2EMS > 0 {
				e := res.Metrics["e2e"]
				if e.Count != 2 || e.MaxMS > tc.maxE2EMS || e.MinMS < tc.minE2EMS {
					t.Fatalf("e2e %+v, want 2 within [%v, %v] ms", e, tc.minE2EMS, tc.maxE2EMS)
				}
			}
		})
	}
}

func sumErrors(res *report.Result) map[string]int64 {
	out := map[string]int64{}
	for _, p := range res.Timeseries {
		for k, v := range p.ErrorsByKind {
			out[k] += v
		}
	}
	return out
}

func TestRequestOpenLoopKeepsScheduleWhenServerSlows(t *testing.T) {
	// Timing-sensitive: not parallel.
	// Each answer's first token comes 40 ms later than the previous one's:
	// a closed-loop client would slow down; the open loop must not.
	h := &llm{TTFT: func(n int64) time.Duration { return time.Duration(20+40*n) * time.Millisecond }, Tokens: 2, ITL: 5 * time.Millisecond}
	url := h.start(t)
	s := reqScenario(t, url, func(s *scenarios.Scenario) {
		s.Request.Rate = 10
		s.Duration = scenarios.Duration(2 * time.Second)
	})
	res := runReq(t, s)
	c := res.Counters
	if c.Requests != 20 || c.RequestsOK != 20 {
		t.Fatalf("requests %d ok %d ends %v, want 20 = rate × duration", c.Requests, c.RequestsOK, c.Ends)
	}
	h.mu.Lock()
	at := slices.Clone(h.at)
	h.mu.Unlock()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	span := at[len(at)-1].Sub(at[0])
	if span < 1700*time.Millisecond || span > 2300*time.Millisecond {
		t.Fatalf("arrivals spanned %v, want about 1.9s", span)
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap > 300*time.Millisecond {
			t.Fatalf("arrival %d came %v after the previous one: the schedule slipped", i, gap)
		}
	}
	m := res.Metrics["ttft"]
	if m.MinMS < 20 || m.MaxMS < 700 || m.MaxMS > 1400 {
		t.Fatalf("ttft %+v: want min ≥ 20ms and max about 20+19×40 = 780ms", m)
	}
}

func TestRequestClosedLoopKeepsConcurrency(t *testing.T) {
	// Timing-sensitive: not parallel.
	h := &llm{TTFT: fixed(40 * time.Millisecond), Tokens: 3, ITL: 20 * time.Millisecond}
	url := h.start(t)
	s := reqScenario(t, url, func(s *scenarios.Scenario) {
		s.Request.Rate = 0
		s.Request.Concurrency = 4
		s.Duration = scenarios.Duration(1500 * time.Millisecond)
	})
	var samples, four atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(300 * time.Millisecond)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for i := 0; i < 180; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			samples.Add(1)
			if h.inflight.Load() == 4 {
				four.Add(1)
			}
		}
	})
	res := runReq(t, s)
	close(stop)
	wg.Wait()
	c := res.Counters
	if got := h.maxIn.Load(); got != 4 {
		t.Fatalf("server saw up to %d requests at once, want exactly 4", got)
	}
	// ~80ms per answer, 4 at a time, 1.5s: about 75 requests.
	if c.Requests < 30 || c.Requests != c.RequestsOK || c.Requests != h.arrivals.Load() {
		t.Fatalf("requests %d ok %d (server saw %d)", c.Requests, c.RequestsOK, h.arrivals.Load())
	}
	if share := float64(four.Load()) / float64(max(1, samples.Load())); share < 0.6 {
		t.Fatalf("4 requests in flight in only %.0f%% of %d samples", share*100, samples.Load())
	}
	if p := res.Timeseries[0]; p.Target != 4 {
		t.Fatalf("point target %d, want the concurrency 4", p.Target)
	}
}

func TestRequestMaxInFlightSkips(t *testing.T) {
	// Timing-sensitive: not parallel.
	h := &llm{TTFT: fixed(1200 * time.Millisecond), Tokens: 1}
	url := h.start(t)
	s := reqScenario(t, url, func(s *scenarios.Scenario) {
		s.Request.Rate = 20
		s.Request.MaxInFlight = 5
	})
	res := runReq(t, s)
	c := res.Counters
	if c.Requests != 20 || c.Ends[report.EndSkipped] != 15 || c.Ends[report.EndSentinel] != 5 || c.RequestsOK != 5 || h.arrivals.Load() != 5 {
		t.Fatalf("requests %d ends %v ok %d (server saw %d): want 5 sent and 15 skipped", c.Requests, c.Ends, c.RequestsOK, h.arrivals.Load())
	}
	if sumErrors(res)[report.EndSkipped] != 15 {
		t.Fatalf("skipped not counted as errors: %v", sumErrors(res))
	}
}

func TestRequestGoodput(t *testing.T) {
	t.Parallel()
	// Even arrivals answer at once, odd ones after 700ms.
	h := &llm{TTFT: func(n int64) time.Duration { return time.Duration(n%2) * 700 * time.Millisecond }, Tokens: 2}
	url := h.start(t)
	s := reqScenario(t, url, func(s *scenarios.Scenario) {
		s.Thresholds = []string{"ttft.p99 < 350ms", "goodput >= 90%"}
	})
	res := runReq(t, s)
	c := res.Counters
	if c.Requests != 10 || c.RequestsOK != 10 || c.RequestsGood != 5 {
		t.Fatalf("requests %d ok %d good %d, want 10 10 5", c.Requests, c.RequestsOK, c.RequestsGood)
	}
}

func TestRequestCountStopsEarly(t *testing.T) {
	t.Parallel()
	h := &llm{Tokens: 2}
	url := h.start(t)
	s := reqScenario(t, url, func(s *scenarios.Scenario) {
		s.Request.Rate = 50
		s.Request.Count = 7
		s.Duration = scenarios.Duration(20 * time.Second)
	})
	began := time.Now()
	res := runReq(t, s)
	if el := time.Since(began); el > 5*time.Second {
		t.Fatalf("run took %v after 7 requests at 50/s", el)
	}
	if c := res.Counters; c.Requests != 7 || c.RequestsOK != 7 || h.arrivals.Load() != 7 {
		t.Fatalf("requests %d ok %d (server saw %d), want 7", c.Requests, c.RequestsOK, h.arrivals.Load())
	}
	// A shard runs its share of the count.
	rc, err := newReqConfig(s, Shard{Index: 1, Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	total := rc.limit
	for i := 0; i < 3; i += 2 {
		o, _ := newReqConfig(s, Shard{Index: i, Count: 3})
		total += o.limit
	}
	if total != 7 || rc.limit < 2 || rc.limit > 3 {
		t.Fatalf("shard shares of count 7 add to %d (shard 1: %d)", total, rc.limit)
	}
}

func TestRequestHTTPErrorKeepsTheBody(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided"}}`)
	}))
	t.Cleanup(ts.Close)
	res := runReq(t, reqScenario(t, ts.URL, func(s *scenarios.Scenario) { s.Request.Rate = 3 }))
	c := res.Counters
	if c.Requests != 3 || c.Ends["http_401"] != 3 || c.RequestsOK != 0 || c.StreamsFailed != 3 {
		t.Fatalf("counters %+v", c)
	}
	if !strings.Contains(c.ErrorSamples["http_401"], "Incorrect API key") {
		t.Fatalf("sample %q lacks the server's reason", c.ErrorSamples["http_401"])
	}
}

func TestRequestHTTP2Bodies(t *testing.T) {
	t.Parallel()
	h := &llm{Tokens: 2}
	ts := httptest.NewUnstartedServer(h)
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	ts.Config.Protocols = &protos
	var conns atomic.Int64
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	res := runReq(t, reqScenario(t, ts.URL, func(s *scenarios.Scenario) {
		s.HTTP2 = true
		s.Request.Rate = 20
	}))
	if c := res.Counters; c.Requests != 20 || c.RequestsOK != 20 || c.Tokens != 40 {
		t.Fatalf("counters %+v", c)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	want := map[string]bool{}
	for i := range 20 {
		want[fmt.Sprintf(`{"model":"m","stream":true,"n":%d}`, i)] = true
	}
	for _, b := range h.bodies {
		delete(want, b)
	}
	if len(want) != 0 || conns.Load() != 1 {
		t.Fatalf("bodies %q not each rendered once (missing %v); %d connections", h.bodies, want, conns.Load())
	}
}

func TestRequestSnapshotsMergeExactly(t *testing.T) {
	t.Parallel()
	h := &llm{TTFT: fixed(20 * time.Millisecond), Tokens: 3, Words: 2, ITL: 10 * time.Millisecond}
	url := h.start(t)
	s := reqScenario(t, url, func(s *scenarios.Scenario) {
		s.Request.Rate = 20
		s.Duration = scenarios.Duration(1500 * time.Millisecond)
	})
	var buf bytes.Buffer
	res, err := Run(context.Background(), s, Options{Version: "test", Snapshots: &buf, Shard: Shard{Index: 0, Count: 2}})
	if err != nil {
		t.Fatal(err)
	}
	m := newModeMerger(res.Start, s.Mode)
	if _, err := readSnapshots(&buf, m.add); err != nil {
		t.Fatal(err)
	}
	got := m.totals()
	c := res.Counters
	// Shard 0 of 2 runs half the rate: 10/s for 1.5s.
	if c.Requests != 15 || got.Requests != c.Requests || got.RequestsOK != c.RequestsOK || got.RequestsGood != c.RequestsGood || got.Tokens != c.Tokens || c.Tokens != 90 {
		t.Fatalf("merged %+v, run %+v", got, c)
	}
	mm := m.metrics()
	for _, name := range report.RequestMetricNames {
		if mm[name].Count != res.Metrics[name].Count || mm[name].P99MS != res.Metrics[name].P99MS {
			t.Fatalf("%s merged %+v, run %+v", name, mm[name], res.Metrics[name])
		}
	}
	if _, ok := mm[report.MetricFirstEvent]; ok || len(mm) != len(report.RequestMetricNames) {
		t.Fatalf("merged request metrics %v", mm)
	}
	var pointReqs int64
	for sec := range 4 {
		if p := m.point(sec); p != nil {
			pointReqs += p.Requests
			if p.Requests > 0 && p.TTFTP99MS < 20 {
				t.Fatalf("merged point %+v lacks the TTFT percentiles", p)
			}
		}
	}
	if pointReqs != c.Requests {
		t.Fatalf("merged points hold %d requests, want %d", pointReqs, c.Requests)
	}
}

func TestJSONPath(t *testing.T) {
	t.Parallel()
	data := []byte(` { "id" : "x", "skip": {"a":[1,{"b":"}]\"["}], "c": null}, "choices" : [ {"index":0, "delta": {"content":"hi \u00e9\n"}}, {"delta":{"content":"two"}} ],` +
		` "usage": {"completion_tokens": 42, "f": 7.6, "s": "9"}, "k\u0065y": "esc"}`)
	for _, tc := range []struct {
		path, str string
		num       int64
		numOK     bool
	}{
		{path: "choices.0.delta.content", str: "hi é\n"},
		{path: "choices.1.delta.content", str: "two"},
		{path: "choices.2.delta.content"},
		{path: "choices.x"},
		{path: "skip.c"},
		{path: "key", str: "esc"},
		{path: "usage.completion_tokens", num: 42, numOK: true},
		{path: "usage.f", num: 8, numOK: true},
		{path: "usage.s", str: "9", num: 9, numOK: true},
		{path: "id.x"},
	} {
		jp, err := parseJSONPath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := jp.str(data, nil)
		if string(s) != tc.str {
			t.Errorf("%s: str %q, want %q", tc.path, s, tc.str)
		}
		n, ok := jp.number(data)
		if n != tc.num || ok != tc.numOK {
			t.Errorf("%s: number %d %v, want %d %v", tc.path, n, ok, tc.num, tc.numOK)
		}
	}
	for _, bad := range []string{`{"choices":[{"delta":{"content":"unterminated`, `{"choices":[`, `[1,2]`, `"x"`, ``} {
		jp, _ := parseJSONPath("choices.0.delta.content")
		if s, _ := jp.str([]byte(bad), nil); s != nil {
			t.Errorf("%q: got %q from broken data", bad, s)
		}
	}
	if _, err := parseJSONPath("a..b"); err == nil {
		t.Error("empty segment accepted")
	}
	if got := countWords([]byte("  tok1 tok2\u00a0tok3\n")); got != 3 {
		t.Errorf("words %d, want 3 (strings.Fields: %d)", got, len(strings.Fields("  tok1 tok2\u00a0tok3\n")))
	}
	if got := countChars4([]byte("héllo")); got != 2 {
		t.Errorf("chars4 %d, want 2", got)
	}
}

func FuzzJSONPath(f *testing.F) {
	f.Add([]byte(`{"choices":[{"delta":{"content":"a b"}}],"usage":{"completion_tokens":3}}`), "choices.0.delta.content")
	f.Add([]byte(`{"a":"\ud83d\ude00 \u12"}`), "a")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		jp, err := parseJSONPath(path)
		if err != nil || jp == nil {
			return
		}
		s, _ := jp.str(data, nil)
		jp.number(data)
		// A path found by the scanner in valid JSON must agree with
		// encoding/json.
		var v any
		if s == nil || json.Unmarshal(data, &v) != nil {
			return
		}
		for _, seg := range jp.segs {
			switch node := v.(type) {
			case map[string]any:
				v = node[seg.key]
			case []any:
				if seg.index < 0 || seg.index >= len(node) {
					return
				}
				v = node[seg.index]
			default:
				return
			}
		}
		if str, ok := v.(string); ok && str != string(s) && !strings.ContainsRune(str, '\uFFFD') {
			t.Fatalf("scanner %q, encoding/json %q", s, str)
		}
	})
}

var sinkTokens int64

func BenchmarkDeltaExtraction(b *testing.B) {
	data := []byte(`{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"tok17 "},"logprobs":null,"finish_reason":null}]}`)
	b.Run("scanner", func(b *testing.B) {
		jp, _ := parseJSONPath("choices.0.delta.content")
		var scratch []byte
		b.ReportAllocs()
		for b.Loop() {
			var s []byte
			s, scratch = jp.str(data, scratch)
			sinkTokens += countWords(s)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v struct {
				Choices []struct {
					Delta struct{ Content string }
				}
			}
			if json.Unmarshal(data, &v) == nil && len(v.Choices) > 0 {
				sinkTokens += int64(len(strings.Fields(v.Choices[0].Delta.Content)))
			}
		}
	})
}

func TestRequestProcsMerge(t *testing.T) {
	// Timing-sensitive: not parallel.
	h := &llm{TTFT: fixed(30 * time.Millisecond), Tokens: 4, Words: 2, ITL: 10 * time.Millisecond}
	url := h.start(t)
	s := reqScenario(t, url, func(s *scenarios.Scenario) {
		s.Request.Rate = 20
		s.Request.Count = 25
		s.Duration = scenarios.Duration(2 * time.Second)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunProcs(ctx, s, ProcOptions{Procs: 2, Command: []string{exe}}, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Counters
	// Each process runs 10/s and half the count (12 + 13).
	if res.Mode != scenarios.ModeRequest || c.Requests != 25 || c.RequestsOK != 25 || c.Tokens != 25*8 || h.arrivals.Load() != 25 {
		t.Fatalf("mode %q counters %+v (server saw %d), want 25 requests of 8 tokens", res.Mode, c, h.arrivals.Load())
	}
	if len(res.Metrics) != len(report.RequestMetricNames) || res.Metrics["ttft"].Count != 25 || res.Metrics["itl"].Count != 25*3 {
		t.Fatalf("metrics %v", res.Metrics)
	}
	if p := res.Metrics["ttft"].P50MS; p < 30 || p > 200 {
		t.Fatalf("merged ttft p50 %.1fms, want about 30ms", p)
	}
}

func TestRequestPoissonArrivals(t *testing.T) {
	t.Parallel()
	h := &llm{Tokens: 1}
	url := h.start(t)
	res := runReq(t, reqScenario(t, url, func(s *scenarios.Scenario) {
		s.Request.Rate = 60
		s.Request.Arrival = "poisson"
		s.Duration = scenarios.Duration(1500 * time.Millisecond)
	}))
	n := res.Counters.Requests
	// 90 expected; a Poisson count is within ±5σ (σ ≈ 9.5) but for 1 in 10⁶.
	if n < 45 || n > 135 || res.Counters.RequestsOK != n {
		t.Fatalf("requests %d ok %d, want about 90", n, res.Counters.RequestsOK)
	}
	h.mu.Lock()
	at := slices.Clone(h.at)
	h.mu.Unlock()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	var sum, sq float64
	for i := 1; i < len(at); i++ {
		g := at[i].Sub(at[i-1]).Seconds()
		sum += g
		sq += g * g
	}
	k := float64(len(at) - 1)
	mean := sum / k
	cv := math.Sqrt(sq/k-mean*mean) / mean
	// Exponential gaps have a coefficient of variation of 1; constant ones 0.
	if cv < 0.6 {
		t.Fatalf("arrival gaps mean %.1fms cv %.2f: not Poisson", mean*1000, cv)
	}
}

func TestRequestClosedLoopFollowsStages(t *testing.T) {
	// Timing-sensitive: not parallel.
	h := &llm{TTFT: fixed(30 * time.Millisecond), Tokens: 2, ITL: 10 * time.Millisecond}
	url := h.start(t)
	s := reqScenario(t, url, func(s *scenarios.Scenario) {
		s.Request.Rate = 0
		s.Duration = 0
		d := scenarios.Duration(700 * time.Millisecond)
		s.Stages = []scenarios.Stage{{Target: 2}, {Duration: d, Target: 2}, {Target: 5}, {Duration: d, Target: 5}}
	})
	var early atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		end := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(end) {
			early.Store(max(early.Load(), h.inflight.Load()))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	res := runReq(t, s)
	<-done
	if e, m := early.Load(), h.maxIn.Load(); e != 2 || m != 5 {
		t.Fatalf("in flight: %d in the first stage (want 2), %d at most (want 5)", e, m)
	}
	if c := res.Counters; c.Requests < 20 || c.RequestsOK != c.Requests {
		t.Fatalf("counters %+v", c)
	}
}

// reqGen is a request-mode generator for s, built as Run builds one, so
// a test can send single requests with a schedule of its choosing.
func reqGen(t *testing.T, s *scenarios.Scenario) *gen {
	t.Helper()
	ds, err := dialers(nil, s.Timeout.Connect.D())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := newReqConfig(s, Shard{})
	if err != nil {
		t.Fatal(err)
	}
	header, err := s.ExpandedHeaders()
	if err != nil {
		t.Fatal(err)
	}
	ep, err := newEndpoint(s.URLs[0], s.Method, header, rc.static, s.Insecure, "ssebench/test")
	if err != nil {
		t.Fatal(err)
	}
	return &gen{sc: s, dialers: ds, endpoints: []*endpoint{ep}, slots: map[int]*slot{}, req: rc, rec: newModeRecorder(2, s.Mode)}
}

// A generator that cannot keep its schedule (here: four requests due
// 0, 100, 200 and 300ms before they are sent) must not hide it: ttft and
// e2e count from the schedule, ttft_sent and e2e_sent from the send, and
// schedule_lag is the difference. The server knows its TTFT (80ms) and
// token gaps, so ttft_sent must come out at that TTFT.
func TestRequestSentOriginWhenTheGeneratorIsLate(t *testing.T) {
	// Timing-sensitive: not parallel.
	const serverTTFT, itl = 80 * time.Millisecond, 10 * time.Millisecond
	h := &llm{TTFT: fixed(serverTTFT), ITL: itl, Tokens: 3}
	g := reqGen(t, reqScenario(t, h.start(t), nil))
	late := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	now := time.Now()
	var wg sync.WaitGroup
	for i, l := range late {
		wg.Go(func() { g.runRequest(ctx, int64(i), now.Add(-l)) })
	}
	wg.Wait()
	g.rec.drain()
	c, m := g.rec.counters(), g.rec.metrics()
	if c.Requests != 4 || c.RequestsOK != 4 || h.arrivals.Load() != 4 {
		t.Fatalf("counters %+v (server saw %d), want 4 ok", c, h.arrivals.Load())
	}
	ttft, sent, lag := m[report.MetricTTFT], m[report.MetricTTFTSent], m[report.MetricLag]
	e2e, e2eSent := m[report.MetricE2E], m[report.MetricE2ESent]
	for name, x := range map[string]report.Metric{"ttft": ttft, "ttft_sent": sent, "schedule_lag": lag, "e2e": e2e, "e2e_sent": e2eSent} {
		if x.Count != 4 {
			t.Fatalf("%s count %d, want 4", name, x.Count)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	// From the send: the server's TTFT, whatever the lateness (a few ms
	// of loopback and scheduling on top, more on a busy machine).
	if sent.MinMS < ms(serverTTFT) || sent.P50MS > ms(serverTTFT)+10 || sent.MaxMS > ms(serverTTFT)+40 {
		t.Errorf("ttft_sent %+v, want about the server's %v", sent, serverTTFT)
	}
	if lag.MaxMS < 300 || lag.MinMS < 0 {
		t.Errorf("schedule_lag %+v, want up to the 300ms the last request was late", lag)
	}
	// From the schedule: the lateness on top.
	if ttft.MaxMS < 300+ms(serverTTFT) || ttft.MinMS < sent.MinMS {
		t.Errorf("ttft %+v, want the latest request at ≥ 300ms + %v", ttft, serverTTFT)
	}
	// Per request ttft = schedule_lag + ttft_sent (one send instant), so
	// the means add up, to the histograms' precision.
	if d := ttft.MeanMS - (lag.MeanMS + sent.MeanMS); math.Abs(d) > 1 {
		t.Errorf("ttft mean %.2f ≠ schedule_lag mean %.2f + ttft_sent mean %.2f", ttft.MeanMS, lag.MeanMS, sent.MeanMS)
	}
	if d := e2e.MeanMS - (lag.MeanMS + e2eSent.MeanMS); math.Abs(d) > 1 {
		t.Errorf("e2e mean %.2f ≠ schedule_lag mean %.2f + e2e_sent mean %.2f", e2e.MeanMS, lag.MeanMS, e2eSent.MeanMS)
	}
	// The server spent TTFT + 2 gaps on each answer.
	if min := ms(serverTTFT + 2*itl); e2eSent.MinMS < min || e2eSent.P50MS > min+15 || e2e.MaxMS < 300+min {
		t.Errorf("e2e_sent %+v e2e %+v, want e2e_sent about %.0fms and e2e up to 300ms more", e2eSent, e2e, min)
	}
}

// In a run that keeps its schedule, the two origins agree and both match
// the server; every request carries both figures.
func TestRequestSentOriginInARun(t *testing.T) {
	// Timing-sensitive: not parallel.
	h := &llm{TTFT: fixed(100 * time.Millisecond), ITL: 10 * time.Millisecond, Tokens: 3}
	res := runReq(t, reqScenario(t, h.start(t), nil))
	m := res.Metrics
	ttft, sent, e2e, e2eSent := m[report.MetricTTFT], m[report.MetricTTFTSent], m[report.MetricE2E], m[report.MetricE2ESent]
	if ttft.Count != 10 || sent.Count != 10 || e2e.Count != 10 || e2eSent.Count != 10 {
		t.Fatalf("counts ttft %d ttft_sent %d e2e %d e2e_sent %d, want 10 each", ttft.Count, sent.Count, e2e.Count, e2eSent.Count)
	}
	if sent.MinMS < 100 || sent.P50MS > 130 || ttft.MinMS < sent.MinMS || ttft.MaxMS < sent.MaxMS || e2e.MeanMS < e2eSent.MeanMS {
		t.Errorf("ttft %+v ttft_sent %+v e2e %+v e2e_sent %+v: want ttft_sent about 100ms and the schedule figures no lower", ttft, sent, e2e, e2eSent)
	}
	// The thresholds read the new names.
	trs, err := report.EvaluateThresholds(res, []string{"ttft_sent.p50 >= 100ms", "e2e_sent.max < 30s", "ttft_sent.count == 10"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range trs {
		if !tr.Passed {
			t.Errorf("threshold %s failed with %v", tr.Expr, tr.Value)
		}
	}
}

// partialLLM answers by arrival number n: n%3 == 0 a whole answer of 6
// tokens ending [DONE]; n%3 == 1 4 tokens, then silence (the client cuts
// it at max_duration); n%3 == 2 3 tokens, then the connection is
// aborted mid-body (a failed answer). It counts the tokens it sent to
// each kind.
type partialLLM struct {
	arrivals           atomic.Int64
	ok, cut, failed    atomic.Int64 // tokens sent to each kind of answer
	nOK, nCut, nFailed atomic.Int64 // answers of each kind
}

func (h *partialLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.arrivals.Add(1) - 1
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	tokens, sent := [3]int{6, 4, 3}[n%3], [3]*atomic.Int64{&h.ok, &h.cut, &h.failed}[n%3]
	[3]*atomic.Int64{&h.nOK, &h.nCut, &h.nFailed}[n%3].Add(1)
	for i := 0; i < tokens; i++ {
		fmt.Fprintf(w, `data: {"choices":[{"delta":{"content":"tok%d"}}]}`+"\n\n", i)
		fl.Flush()
		sent.Add(1)
	}
	switch n % 3 {
	case 0:
		fmt.Fprint(w, "data: [DONE]\n\n")
		fl.Flush()
	case 1:
		<-r.Context().Done()
	case 2:
		fmt.Fprint(w, `data: {"choices":[{"delta":{"content":"lost`) // half an event
		fl.Flush()
		panic(http.ErrAbortHandler) // the connection closes without the end of the body
	}
}

// Output throughput counts the tokens of answers that ended normally
// only: the server knows how many it sent to each kind of answer, and
// the cut and failed answers' tokens are reported apart.
func TestRequestThroughputCountsOnlyOKAnswers(t *testing.T) {
	t.Parallel()
	h := &partialLLM{}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	s := reqScenario(t, ts.URL+"/v1/chat/completions", func(s *scenarios.Scenario) {
		s.Request.Rate = 9
		s.Request.End.MaxDuration = scenarios.Duration(300 * time.Millisecond)
	})
	res := runReq(t, s)
	c := res.Counters
	if h.arrivals.Load() != 9 || c.Requests != 9 || h.nOK.Load() != 3 || h.nCut.Load() != 3 || h.nFailed.Load() != 3 {
		t.Fatalf("server saw %d requests (%d ok, %d cut, %d failed), counters %+v", h.arrivals.Load(), h.nOK.Load(), h.nCut.Load(), h.nFailed.Load(), c)
	}
	if c.RequestsOK != h.nOK.Load() || c.RequestsCut != h.nCut.Load() || c.Ends[report.EndMaxDuration] != h.nCut.Load() || c.Ends[report.EndEOFMidEvent] != h.nFailed.Load() {
		t.Fatalf("ok %d cut %d ends %v, want %d ok, %d cut at max_duration, %d eof_mid_event", c.RequestsOK, c.RequestsCut, c.Ends, h.nOK.Load(), h.nCut.Load(), h.nFailed.Load())
	}
	if c.Tokens != h.ok.Load() || c.TokensCut != h.cut.Load() || c.TokensFailed != h.failed.Load() {
		t.Fatalf("tokens %d cut %d failed %d, want what the server sent: %d to ok answers, %d to cut, %d to failed",
			c.Tokens, c.TokensCut, c.TokensFailed, h.ok.Load(), h.cut.Load(), h.failed.Load())
	}
	var toks int64
	for _, p := range res.Timeseries {
		toks += p.Tokens
	}
	if toks != c.Tokens {
		t.Errorf("time series tokens %d, want the ok answers' %d", toks, c.Tokens)
	}
	trs, err := report.EvaluateThresholds(res, []string{"tokens_per_s > 0", "tokens_cut == 12", "tokens_failed == 9", "requests_cut == 3"})
	if err != nil {
		t.Fatal(err)
	}
	if want := float64(h.ok.Load()) / res.DurationS; math.Abs(trs[0].Value-want) > 1e-9 {
		t.Errorf("tokens_per_s %v, want the ok answers' tokens over the run: %v", trs[0].Value, want)
	}
	for _, tr := range trs {
		if !tr.Passed {
			t.Errorf("threshold %s failed with %v", tr.Expr, tr.Value)
		}
	}
}

// Sharded constant-rate schedules interleave: shard i of n at total rate
// R sends its k-th request at k·n/R + i/R, so the merged schedule is
// evenly spaced at 1/R rather than n sends at once.
func TestRequestShardSchedulesInterleave(t *testing.T) {
	t.Parallel()
	const total = 12.0 // requests per second over all shards
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(n, " shards"), func(t *testing.T) {
			var merged []time.Duration
			for i := 0; i < n; i++ {
				a := &ratePacer{rateAt: func(time.Duration) float64 { return total / float64(n) }, total: time.Second, shard: Shard{Index: i, Count: n}}
				for k := 0; ; k++ {
					off, ok := a.next()
					if !ok {
						break
					}
					want := time.Duration((float64(k*n)/total + float64(i)/total) * float64(time.Second))
					if d := off - want; d < -time.Microsecond || d > time.Microsecond {
						t.Fatalf("shard %d/%d send %d at %v, want %v", i, n, k, off, want)
					}
					merged = append(merged, off)
				}
			}
			if len(merged) != int(total) {
				t.Fatalf("%d sends in 1s, want %v", len(merged), total)
			}
			slices.Sort(merged)
			for j := 1; j < len(merged); j++ {
				if gap := merged[j] - merged[j-1]; gap < time.Second/total-time.Microsecond || gap > time.Second/total+time.Microsecond {
					t.Fatalf("sends %d and %d %v apart, want %v: %v", j-1, j, gap, time.Second/total, merged)
				}
			}
		})
	}
}
