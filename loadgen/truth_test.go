package loadgen

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// Each test here holds one figure to a server that knows what it did.

func flushWrite(w http.ResponseWriter, s string) {
	fmt.Fprint(w, s)
	w.(http.Flusher).Flush()
}

func eventStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

// A stream cut at T0, followed by an outage of 503s and then a working
// server: reconnect time runs from T0 to the first event after the outage,
// across every failed attempt in between.
func TestReconnectSpansTheWholeOutage(t *testing.T) {
	// Timing-sensitive: not parallel.
	const outage = 1500 * time.Millisecond
	var mu sync.Mutex
	var cutAt time.Time
	var conns atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := conns.Add(1)
		mu.Lock()
		inOutage := !cutAt.IsZero() && time.Since(cutAt) < outage
		mu.Unlock()
		if inOutage {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		eventStream(w)
		flushWrite(w, "id: "+strconv.FormatInt(n, 10)+"\ndata: x\n\n")
		if n == 1 {
			mu.Lock()
			cutAt = time.Now()
			mu.Unlock()
			return // the cut
		}
		<-r.Context().Done()
	}))
	defer ts.Close()
	s := scenario(t, ts.URL, 1, 3*time.Second, func(s *scenarios.Scenario) {
		s.Reconnect.Policy = "always"
		s.Reconnect.BaseDelay = scenarios.Duration(50 * time.Millisecond)
		s.Reconnect.MaxDelay = scenarios.Duration(100 * time.Millisecond)
	})
	res := run(t, s)
	rc := res.Metrics["reconnect"]
	if rc.Count != 1 {
		t.Fatalf("reconnect count %d, want 1 (one outage)", rc.Count)
	}
	if rc.P50MS < float64(outage.Milliseconds()) || rc.P50MS > float64(outage.Milliseconds())+300 {
		t.Fatalf("reconnect %.0f ms, want the outage (%v) plus at most one retry delay", rc.P50MS, outage)
	}
	if res.Counters.Reconnects < 3 {
		t.Fatalf("reconnects %d: the outage should have taken several attempts", res.Counters.Reconnects)
	}
}

// A first dial that fails is not a reconnect: the stream that finally
// opens records no reconnect time.
func TestFirstStreamAfterFailedDialIsNotAReconnect(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		eventStream(w)
		flushWrite(w, "data: x\n\n")
		<-r.Context().Done()
	}))
	defer ts.Close()
	res := run(t, scenario(t, ts.URL, 1, 1500*time.Millisecond, func(s *scenarios.Scenario) {
		s.Reconnect.Policy = "always"
		s.Reconnect.BaseDelay = scenarios.Duration(20 * time.Millisecond)
		s.Reconnect.MaxDelay = scenarios.Duration(40 * time.Millisecond)
	}))
	if res.Metrics["first_event"].Count != 1 || res.Metrics["reconnect"].Count != 0 {
		t.Fatalf("first_event %d reconnect %d, want 1 and 0", res.Metrics["first_event"].Count, res.Metrics["reconnect"].Count)
	}
}

// Per the standard, an event without an id line carries the last event ID
// over; only events whose own block set an id take part in gap and repeat
// accounting.
func TestSequenceIgnoresEventsWithoutTheirOwnID(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStream(w)
		flushWrite(w, "id: 1\ndata: a\n\ndata: b\n\ndata: c\n\nid: 2\ndata: d\n\ndata: e\n\nid: 4\ndata: f\n\n")
		<-r.Context().Done()
	}))
	defer ts.Close()
	res := run(t, scenario(t, ts.URL, 5, time.Second, func(s *scenarios.Scenario) { s.Expect.Sequence = true }))
	c := res.Counters
	if c.Events != 5*6 || c.EventsDuplicated != 0 || c.EventsLost != 5 {
		t.Fatalf("events %d dup %d lost %d, want 30, 0 and 5 (id 3 skipped on each stream)", c.Events, c.EventsDuplicated, c.EventsLost)
	}
}

// On an idle generator every attempt starts on time: connect and
// schedule_lag on loopback are well under the 10 ms controller tick.
func TestArrivalsStartOnTime(t *testing.T) {
	// Timing-sensitive: not parallel.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStream(w)
		flushWrite(w, "data: x\n\n")
		<-r.Context().Done()
	}))
	defer ts.Close()
	s := scenario(t, ts.URL, 50, 1500*time.Millisecond, func(s *scenarios.Scenario) {
		s.Ramp = scenarios.Duration(time.Second)
	})
	s.Normalize()
	res := run(t, s)
	lag, conn := res.Metrics["schedule_lag"], res.Metrics["connect"]
	if lag.Count != 50 || lag.P50MS > 2 || conn.P50MS > 3 {
		t.Fatalf("schedule_lag p50 %.2f ms (n=%d), connect p50 %.2f ms: attempts start late", lag.P50MS, lag.Count, conn.P50MS)
	}
}

// Streams still waiting when the run ends are failures with their own end
// class, and their wait shows in first_event instead of vanishing.
func TestHangingStreamsCountAsFailed(t *testing.T) {
	// Timing-sensitive: not parallel.
	var n atomic.Int64
	const streams = 20
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch k := n.Add(1); {
		case k%10 == 1: // 10%: never answers
			<-r.Context().Done()
			return
		case k%10 == 2: // 10%: headers, then silence
			eventStream(w)
		default:
			eventStream(w)
			flushWrite(w, "data: x\n\n")
		}
		<-r.Context().Done()
	}))
	defer ts.Close()
	res := run(t, scenario(t, ts.URL, streams, 1500*time.Millisecond, func(s *scenarios.Scenario) {
		s.Timeout.Read = scenarios.Duration(time.Minute)
	}))
	c := res.Counters
	if c.Ends[report.EndNoHeaders] != 2 || c.Ends[report.EndNoFirstEvent] != 2 || c.StreamsFailed != 4 {
		t.Fatalf("ends %v failed %d, want 2 no_headers, 2 no_first_event, 4 failed", c.Ends, c.StreamsFailed)
	}
	if fe := res.Metrics["first_event"]; fe.Count != streams || fe.P99MS < 1300 {
		t.Fatalf("first_event n=%d p99 %.0f ms, want all %d streams with the hung ones near 1.5 s", fe.Count, fe.P99MS, streams)
	}
}

// Events with no usable stamp are counted, stamps in the future are clock
// skew, and neither gives a delivery sample.
func TestStampsThatGiveNoSampleAreCounted(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStream(w)
		now := time.Now().UnixNano()
		flushWrite(w, fmt.Sprintf("data: {\"ts\":%d}\n\ndata: {\"x\":1}\n\ndata: {\"ts\":\"soon\"}\n\ndata: {\"ts\":%d}\n\n", now, now+int64(time.Hour)))
		<-r.Context().Done()
	}))
	defer ts.Close()
	res := run(t, scenario(t, ts.URL, 3, time.Second, nil))
	c := res.Counters
	if c.Events != 12 || c.Unstamped != 6 || c.ClockSkew != 3 || res.Metrics["delivery"].Count != 3 {
		t.Fatalf("events %d unstamped %d clock_skew %d delivery samples %d, want 12, 6, 3, 3",
			c.Events, c.Unstamped, c.ClockSkew, res.Metrics["delivery"].Count)
	}
}

// Redirects are followed like EventSource does, keeping Last-Event-ID.
func TestRedirectsAreFollowedWithLastEventID(t *testing.T) {
	t.Parallel()
	var sawID atomic.Value
	sawID.Store("")
	var streamsSeen atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			sawID.Store(id)
		}
		eventStream(w)
		if streamsSeen.Add(1) == 1 {
			flushWrite(w, "retry: 10\nid: 41\ndata: x\n\n")
			return
		}
		flushWrite(w, "id: 42\ndata: y\n\n")
		<-r.Context().Done()
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	res := run(t, scenario(t, ts.URL+"/old", 1, time.Second, nil))
	c := res.Counters
	if c.Events != 2 || c.Redirects != 2 || c.StreamsFailed != 0 || sawID.Load() != "41" {
		t.Fatalf("events %d redirects %d failed %d, Last-Event-ID after the redirect %q; want 2, 2, 0, 41 (ends %v)",
			c.Events, c.Redirects, c.StreamsFailed, sawID.Load(), c.Ends)
	}
}

// A retry too large for a time.Duration is clamped, not a reconnect storm;
// bytes count every line, retry lines included; and a client still waiting
// to reconnect when the run ends made no reconnect.
func TestHugeRetryAndCounters(t *testing.T) {
	t.Parallel()
	const body = "id: 1\nevent: e\nretry: 99999999999999999\n: hi\ndata: x\n\n"
	var conns atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Add(1)
		eventStream(w)
		flushWrite(w, body) // then close: the client waits retry before reconnecting
	}))
	defer ts.Close()
	res := run(t, scenario(t, ts.URL, 4, time.Second, nil))
	c := res.Counters
	if conns.Load() != 4 || c.Reconnects != 0 || c.Bytes != 4*int64(len(body)) {
		t.Fatalf("server saw %d connections, reconnects %d, bytes %d; want 4, 0, %d", conns.Load(), c.Reconnects, c.Bytes, 4*len(body))
	}
}

// The per-stream event bound is the scenario's, and hitting it names the
// flag that raises it.
func TestMaxEventSizeBoundsAStreamAndIsNamed(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 4096)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStream(w)
		flushWrite(w, "data: small\n\ndata: "+big+"\n\n")
		<-r.Context().Done()
	}))
	defer ts.Close()
	for _, tc := range []struct {
		limit    int
		events   int64
		tooLarge int64
	}{{1024, 1, 2}, {8192, 2, 0}} {
		res := run(t, scenario(t, ts.URL, 2, 500*time.Millisecond, func(s *scenarios.Scenario) {
			s.MaxEventSize = tc.limit
			s.Reconnect.Policy = "never"
		}))
		c := res.Counters
		if c.Events != 2*tc.events || c.Ends[report.EndTooLarge] != tc.tooLarge {
			t.Fatalf("limit %d: events %d too_large %d, want %d and %d", tc.limit, c.Events, c.Ends[report.EndTooLarge], 2*tc.events, tc.tooLarge)
		}
		warned := strings.Contains(strings.Join(report.CounterWarnings(c), "\n"), "--max-event-size")
		if warned != (tc.tooLarge > 0) {
			t.Fatalf("limit %d: warning naming --max-event-size shown %v, want %v", tc.limit, warned, tc.tooLarge > 0)
		}
	}
}

// A redirect to the same server is followed on the connection it came on
// (as a browser reuses a kept-alive connection): one connection per
// stream, not two. Two per stream doubled the connects and, at 10,000
// churning streams, overflowed the server's accept queue.
func TestRedirectReusesTheConnection(t *testing.T) {
	t.Parallel()
	var conns, olds, news atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		olds.Add(1)
		http.Redirect(w, r, "/new", http.StatusTemporaryRedirect) // with a short HTML body
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		n := news.Add(1)
		eventStream(w)
		flushWrite(w, "retry: 10\nid: "+strconv.FormatInt(n, 10)+"\ndata: x\n\n") // then end: the client reconnects through /old
	})
	ts := httptest.NewUnstartedServer(mux)
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	res := run(t, scenario(t, ts.URL+"/old", 3, time.Second, nil))
	ts.Close() // every handler done: the server's counts are final
	c := res.Counters
	t.Logf("server: %d connections, %d redirects, %d streams; client: %d events, %d redirects, %d failed, ends %v",
		conns.Load(), olds.Load(), news.Load(), c.Events, c.Redirects, c.StreamsFailed, c.Ends)
	// The run's end may cut a stream between the server's 307 and the
	// client reading it: at most one such redirect per cancelled end.
	cut := c.Ends[report.EndCancelled]
	if news.Load() < 6 || olds.Load()-news.Load() < 0 || olds.Load()-news.Load() > cut || c.Redirects < news.Load() || c.Redirects > olds.Load() ||
		c.Events != news.Load() || c.StreamsFailed != 0 {
		t.Fatalf("want several streams each reached through one redirect, none failed")
	}
	// A connection opened just as the run ended may carry no request yet
	// (cancelled while sending it): at most one per cancelled end.
	if extra := conns.Load() - news.Load(); extra < 0 || extra > cut {
		t.Fatalf("%d connections for %d redirected streams (%d cancelled at the end): want one connection per stream, the redirect's reused",
			conns.Load(), news.Load(), c.Ends[report.EndCancelled])
	}
}

// A redirect whose connection the server closes (saying so, or not) is
// followed on a new connection: a kept-alive connection can be closed at
// any moment, and the stream must not fail for it.
func TestRedirectOnAClosedConnectionRedials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, header string
	}{
		{"closed without a word", ""},
		{"Connection: close", "Connection: close\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var conns atomic.Int64
			done := make(chan struct{})
			defer close(done)
			go func() {
				for {
					nc, err := ln.Accept()
					if err != nil {
						return
					}
					conns.Add(1)
					go func() {
						defer nc.Close()
						req, err := http.ReadRequest(bufio.NewReader(nc))
						if err != nil {
							return
						}
						if req.URL.Path == "/old" {
							fmt.Fprintf(nc, "HTTP/1.1 307 Temporary Redirect\r\nLocation: /new\r\nContent-Length: 0\r\n%s\r\n", tc.header)
							return // closed after the redirect
						}
						fmt.Fprint(nc, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 1\ndata: x\n\n")
						<-done
					}()
				}
			}()
			defer ln.Close()
			res := run(t, scenario(t, "http://"+ln.Addr().String()+"/old", 1, 500*time.Millisecond, nil))
			c := res.Counters
			if c.Events != 1 || c.Redirects != 1 || c.StreamsFailed != 0 || conns.Load() != 2 {
				t.Fatalf("events %d redirects %d failed %d (ends %v), server saw %d connections; want 1, 1, 0 and 2",
					c.Events, c.Redirects, c.StreamsFailed, c.Ends, conns.Load())
			}
		})
	}
}
