package loadgen

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

// h2Server streams 5 events per request over HTTP/2 and counts the TCP
// connections and the non-h2 requests it sees.
type h2Server struct {
	mu      sync.Mutex
	conns   int
	notH2   int
	streams int
}

func (h *h2Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.streams++
	if r.ProtoMajor != 2 {
		h.notH2++
	}
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(w, "id: %d\ndata: {\"ts\":%d}\n\n", i, time.Now().UnixNano())
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (h *h2Server) start(t *testing.T, tls bool) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			h.mu.Lock()
			h.conns++
			h.mu.Unlock()
		}
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true)
	ts.Config.Protocols = &protos
	ts.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 1000}
	if tls {
		ts.EnableHTTP2 = true
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts
}

func TestHTTP2MultiplexesStreams(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"h2c", false}, {"h2-tls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &h2Server{}
			ts := h.start(t, tc.tls)
			s := scenario(t, ts.URL, 50, 1500*time.Millisecond, func(s *scenarios.Scenario) {
				s.HTTP2 = true
				s.StreamsPerConn = 25
				s.Insecure = true
				s.Reconnect.Policy = "never"
				s.Expect.Sequence = true
			})
			res := run(t, s)
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.conns != 2 || h.notH2 != 0 || h.streams != 50 {
				t.Fatalf("server saw %d connections, %d streams, %d not over h2: want 50 streams on 2 connections", h.conns, h.streams, h.notH2)
			}
			c := res.Counters
			if c.StreamsOpened != 50 || c.Events != 250 || c.EventsLost != 0 || res.Metrics["headers"].Count != 50 || res.Metrics["delivery"].Count != 250 {
				t.Fatalf("counters %+v", c)
			}
		})
	}
}

func TestHTTP2AgainstHTTP1OnlyServerFails(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
	}))
	defer ts.Close()
	res := run(t, scenario(t, ts.URL, 2, 500*time.Millisecond, func(s *scenarios.Scenario) {
		s.HTTP2 = true
		s.Reconnect.Policy = "never"
	}))
	if res.Counters.StreamsOpened != 0 || res.Counters.StreamsFailed != 2 {
		t.Fatalf("counters %+v: an HTTP/1.1-only server must fail h2c streams", res.Counters)
	}
}
