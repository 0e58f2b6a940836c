package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// serve starts the reference server on a real loopback socket.
func serve(t *testing.T) string {
	t.Helper()
	srv, err := fixtures.New(fixtures.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts.URL
}

// scenario builds a normalized, valid scenario holding n streams for d.
func scenario(t *testing.T, url string, n int, d time.Duration, edit func(*scenarios.Scenario)) *scenarios.Scenario {
	t.Helper()
	s := &scenarios.Scenario{URLs: []string{url}, Connections: n, Duration: scenarios.Duration(d), Ramp: scenarios.Duration(time.Millisecond)}
	if edit != nil {
		edit(s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s.Normalize()
	return s
}

func run(t *testing.T, s *scenarios.Scenario) *report.Result {
	t.Helper()
	res, err := Run(context.Background(), s, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	checkEnds(t, res)
	return res
}

func TestCountsAddUp(t *testing.T) {
	// Timing-sensitive: not parallel.
	url := serve(t)
	const streams, perStream = 40, 8
	d := 3 * time.Second
	if testing.Short() {
		d = 2 * time.Second // the streams end after 8 events (0.4 s); two points of time series still; the full suite runs 3 s
	}
	s := scenario(t, url+"/events?rate=20&count="+strconv.Itoa(perStream), streams, d, func(s *scenarios.Scenario) {
		s.Reconnect.Policy = "never"
		s.Expect.Sequence = true
	})
	res := run(t, s)
	c := res.Counters
	if c.StreamsOpened != streams || c.Events != streams*perStream || c.Ends["eof"] != streams || c.StreamsFailed != 0 {
		t.Fatalf("counters %+v, want %d streams × %d events, all ended by clean EOF", c, streams, perStream)
	}
	if c.EventsLost != 0 || c.EventsDuplicated != 0 || c.Reconnects != 0 {
		t.Fatalf("lost %d dup %d reconnects %d, want none", c.EventsLost, c.EventsDuplicated, c.Reconnects)
	}
	m := res.Metrics
	if m["delivery"].Count != c.Events || m["first_event"].Count != streams || m["inter_event"].Count != streams*(perStream-1) {
		t.Fatalf("metric counts: delivery %d first_event %d inter_event %d", m["delivery"].Count, m["first_event"].Count, m["inter_event"].Count)
	}
	if d := m["delivery"]; d.P50MS <= 0 || d.P99MS > 500 || d.HDR == "" {
		t.Fatalf("delivery latency not plausible on loopback: %+v", d)
	}
	// 20 events/s: the gap between events is about 50 ms.
	if ie := m["inter_event"]; ie.P50MS < 30 || ie.P50MS > 80 {
		t.Fatalf("inter-event p50 %.1fms, want about 50ms", ie.P50MS)
	}
	if c.Bytes <= 0 || len(res.Timeseries) < 2 || res.Schema != report.ResultSchema {
		t.Fatalf("bytes %d, %d points, schema %q", c.Bytes, len(res.Timeseries), res.Schema)
	}
	var tsEvents int64
	for _, p := range res.Timeseries {
		tsEvents += p.Events
	}
	if tsEvents != c.Events {
		t.Fatalf("time series holds %d events, counters %d", tsEvents, c.Events)
	}
	h, err := m["delivery"].Hist()
	if err != nil || h.TotalCount() != c.Events {
		t.Fatalf("encoded histogram: %v, count %d", err, h.TotalCount())
	}
}

func TestReconnectResumesWithLastEventID(t *testing.T) {
	// Timing-sensitive: not parallel.
	url := serve(t)
	// The server ends each response after 5 events and asks for a 100 ms
	// retry; browser-policy clients resume with Last-Event-ID, so nothing
	// is lost or repeated.
	d := 3 * time.Second
	if testing.Short() {
		d = 1500 * time.Millisecond // still about 6 reconnects per stream, 3 times the 20 asked for; the full suite runs 3 s
	}
	s := scenario(t, url+"/events?rate=50&retry=100&fault=close-every=5&topic=resume", 10, d, func(s *scenarios.Scenario) {
		s.Expect.Sequence = true
	})
	res := run(t, s)
	c := res.Counters
	if c.Reconnects < 20 || c.Ends["eof"] < 20 {
		t.Fatalf("reconnects %d, eof ends %d: want several per stream", c.Reconnects, c.Ends["eof"])
	}
	if c.EventsLost != 0 || c.EventsDuplicated != 0 {
		t.Fatalf("lost %d duplicated %d with Last-Event-ID resumption", c.EventsLost, c.EventsDuplicated)
	}
	rc := res.Metrics["reconnect"]
	if rc.Count < 20 || rc.P50MS < 100 || rc.P50MS > 1000 {
		t.Fatalf("reconnect metric %+v: want the server's 100 ms retry plus one event gap", rc)
	}
}

func TestIgnoredLastEventIDCountsDuplicates(t *testing.T) {
	t.Parallel()
	url := serve(t)
	s := scenario(t, url+"/events?rate=50&retry=50&fault=close-every=5,ignore-last-event-id&topic=dups", 5, 2*time.Second, func(s *scenarios.Scenario) {
		s.Expect.Sequence = true
	})
	res := run(t, s)
	c := res.Counters
	if c.EventsDuplicated < 10 || c.Reconnects < 5 {
		t.Fatalf("duplicated %d reconnects %d: a server restarting at seq 1 must show duplicates", c.EventsDuplicated, c.Reconnects)
	}
}

func TestSequenceGapsCountAsLost(t *testing.T) {
	t.Parallel()
	// Ids 1,2,5,6,10: 2 + 3 = 5 events lost.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, id := range []int{1, 2, 5, 6, 10} {
			fmt.Fprintf(w, "id: %d\ndata: x\n\n", id)
		}
	})
	ts := httptest.NewServer(h)
	defer ts.Close()
	s := scenario(t, ts.URL, 3, time.Second, func(s *scenarios.Scenario) {
		s.Reconnect.Policy = "never"
		s.Expect.Sequence = true
	})
	c := run(t, s).Counters
	if c.EventsLost != 3*5 || c.Events != 3*5 {
		t.Fatalf("lost %d events %d, want 15 and 15", c.EventsLost, c.Events)
	}
}

func TestBrowserPolicyStopsOn204(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	s := scenario(t, ts.URL, 7, 1500*time.Millisecond, nil)
	res := run(t, s)
	if n := hits.Load(); n != 7 {
		t.Fatalf("%d requests: a 204 must stop each client for good (want 7)", n)
	}
	if res.Counters.Ends["http_204"] != 7 || res.Counters.Reconnects != 0 {
		t.Fatalf("ends %v reconnects %d", res.Counters.Ends, res.Counters.Reconnects)
	}
}

func TestBrowserPolicyGivesUpOnErrorAlwaysRetries(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer ts.Close()
	res := run(t, scenario(t, ts.URL, 4, time.Second, nil))
	if hits.Load() != 4 || res.Counters.Ends["http_503"] != 4 || res.Counters.StreamsFailed != 4 {
		t.Fatalf("browser policy: %d requests, ends %v", hits.Load(), res.Counters.Ends)
	}
	hits.Store(0)
	res = run(t, scenario(t, ts.URL, 4, 1500*time.Millisecond, func(s *scenarios.Scenario) {
		s.Reconnect.Policy = "always"
		s.Reconnect.BaseDelay = scenarios.Duration(20 * time.Millisecond)
		s.Reconnect.MaxDelay = scenarios.Duration(100 * time.Millisecond)
	}))
	if hits.Load() < 12 || res.Counters.Reconnects < 8 {
		t.Fatalf("always policy: %d requests, %d reconnects: want retries with backoff", hits.Load(), res.Counters.Reconnects)
	}
}

func TestPublisherMeasuresPublishToDelivery(t *testing.T) {
	// Timing-sensitive: not parallel.
	url := serve(t)
	s := scenario(t, url+"/events?rate=0.001&topic=pub", 20, 2500*time.Millisecond, func(s *scenarios.Scenario) {
		s.Publisher = &scenarios.Publisher{URL: url + "/publish?topic=pub", Rate: 10}
	})
	res := run(t, s)
	c := res.Counters
	pd := res.Metrics["publish_delivery"]
	if c.Publishes < 15 || c.PublishErrors != 0 {
		t.Fatalf("publishes %d errors %d", c.Publishes, c.PublishErrors)
	}
	// Every subscriber sees (nearly) every publish after it connected.
	if pd.Count < 15*20/2 || pd.P99MS > 500 {
		t.Fatalf("publish_delivery %+v for %d publishes to 20 subscribers", pd, c.Publishes)
	}
}

func TestChaosDropReconnects(t *testing.T) {
	t.Parallel()
	url := serve(t)
	s := scenario(t, url+"/events?rate=20&retry=50&topic=chaos", 20, 3*time.Second, func(s *scenarios.Scenario) {
		s.Chaos.Drop = &scenarios.Drop{Percent: 50, Every: scenarios.Duration(500 * time.Millisecond)}
		s.Expect.Sequence = true
	})
	res := run(t, s)
	c := res.Counters
	if c.Ends["chaos_drop"] < 10 || c.Reconnects < 10 {
		t.Fatalf("chaos drops %d reconnects %d", c.Ends["chaos_drop"], c.Reconnects)
	}
	if c.EventsLost != 0 {
		t.Fatalf("%d events lost although clients resume with Last-Event-ID", c.EventsLost)
	}
}

func TestUnreachableTargetIsClassified(t *testing.T) {
	t.Parallel()
	res := run(t, scenario(t, "http://127.0.0.1:1/events", 3, 500*time.Millisecond, nil))
	if res.Counters.Ends["connect_error"] < 3 || res.Counters.StreamsOpened != 0 {
		t.Fatalf("ends %v", res.Counters.Ends)
	}
}

func TestCancelGivesPartialResult(t *testing.T) {
	t.Parallel()
	url := serve(t)
	s := scenario(t, url+"/events?rate=10", 10, time.Minute, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	began := time.Now()
	res, err := Run(ctx, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || res.Counters.Events == 0 || time.Since(began) > 10*time.Second {
		t.Fatalf("partial %v events %d after %v", res.Partial, res.Counters.Events, time.Since(began))
	}
	if res.Counters.Ends["cancelled"] != 10 {
		t.Fatalf("ends %v: every open stream ends as cancelled", res.Counters.Ends)
	}
}

func TestRampFollowsTarget(t *testing.T) {
	// Timing-sensitive: not parallel.
	url := serve(t)
	s := &scenarios.Scenario{URLs: []string{url + "/events?rate=1"}, Stages: []scenarios.Stage{
		{Duration: scenarios.Duration(2 * time.Second), Target: 60},
		{Duration: scenarios.Duration(time.Second), Target: 60},
		{Duration: scenarios.Duration(time.Second), Target: 10},
	}}
	s.Normalize()
	res := run(t, s)
	var peak, last int64
	for _, p := range res.Timeseries {
		peak = max(peak, p.Open)
		last = p.Open
	}
	if peak < 55 || peak > 60 || last > 15 {
		t.Fatalf("open streams peaked at %d and ended at %d; want 60 then 10: %+v", peak, last, res.Timeseries)
	}
	if res.Counters.StreamsOpened != 60 {
		t.Fatalf("opened %d streams, want 60 (a shrinking target cancels, it does not reopen)", res.Counters.StreamsOpened)
	}
}

func TestExtractStamp(t *testing.T) {
	t.Parallel()
	ns := time.Unix(1763751000, 123456789)
	cases := []struct {
		data, field, format string
		want                time.Time
		ok                  bool
	}{
		{`{"seq":1,"ts":1763751000123456789,"pad":""}`, "ts", "unix_ns", ns, true},
		{`{"ts" : 1763751000123, "x":1}`, "ts", "unix_ms", time.UnixMilli(1763751000123), true},
		{`{"sent":1763751000.5}`, "sent", "unix_s", time.Unix(1763751000, 5e8), true},
		{`{"at":"2025-11-21T18:50:00.25Z"}`, "at", "rfc3339", time.Date(2025, 11, 21, 18, 50, 0, 25e7, time.UTC), true},
		{`{"meta":{"ts":1763751000123456789}}`, "meta.ts", "unix_ns", ns, true},
		{`{"xts":5,"pad":"\"ts\""}`, "ts", "unix_ns", time.Time{}, false},
		{`not json`, "ts", "unix_ns", time.Time{}, false},
	}
	for _, tc := range cases {
		path, err := parseJSONPath(tc.field)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := extractStamp([]byte(tc.data), path, tc.format)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%s %s: got %v %v, want %v %v", tc.data, tc.field, got, ok, tc.want, tc.ok)
		}
	}
}
