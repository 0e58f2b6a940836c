package conformance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

func run(t *testing.T, cfg Config) *report.CheckReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run(%s): %v", cfg.URL, err)
	}
	return rep
}

// TestCleanDefaults runs every check with the default settings (50
// clients, 200 churn cycles, a 10 s window) against a clean reference
// stream: every check passes or is skipped with a reason, and the run
// takes about 11 s.
func TestCleanDefaults(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	start := time.Now()
	rep := run(t, Config{URL: r.events(topicName(t), "")})
	took := time.Since(start)
	t.Logf("default run against serve: %v\n%s", took.Round(time.Millisecond), table(rep))
	expectFailing(t, rep, nil)
	if took > 30*time.Second {
		t.Errorf("a default run took %v, want about 11 s", took)
	}
	if len(rep.Checks) != len(catalogue) || rep.Schema != report.CheckSchema || rep.Command != "check" {
		t.Errorf("%d checks, schema %q, command %q", len(rep.Checks), rep.Schema, rep.Command)
	}
	if c := result(rep, "concurrent"); !strings.Contains(c.Evidence, "50 clients") {
		t.Errorf("concurrent evidence: %q", c.Evidence)
	}
	if c := result(rep, "churn"); !strings.Contains(c.Evidence, "200 open/close cycles") {
		t.Errorf("churn evidence: %q", c.Evidence)
	}
}

// capped answers at most n streams at once and 503 beyond, like a server
// with a client limit.
func capped(n int64, next http.Handler) http.Handler {
	var open atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if open.Add(1) > n {
			open.Add(-1)
			http.Error(w, "too many streams", http.StatusServiceUnavailable)
			return
		}
		defer open.Add(-1)
		next.ServeHTTP(w, r)
	})
}

func TestConcurrentFindsAClientCap(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	ts := httptest.NewServer(capped(20, r.srv.Handler()))
	t.Cleanup(ts.Close)
	rep := run(t, Config{URL: ts.URL + "/events?rate=10&topic=" + topicName(t), Window: 4 * time.Second, Only: []string{"status", "concurrent"}})
	expectFailing(t, rep, []string{"concurrent"})
	if c := result(rep, "concurrent"); !strings.Contains(c.Evidence, "503") {
		t.Errorf("concurrent evidence lacks the 503s: %q", c.Evidence)
	}
}

// leaky streams events every second but only notices a client gone when
// a write fails (every 3 s), and caps open streams at 50: quick open/close
// cycles use the slots up.
func leaky() http.Handler {
	var open atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if open.Add(1) > 50 {
			open.Add(-1)
			http.Error(w, "too many streams", http.StatusServiceUnavailable)
			return
		}
		defer open.Add(-1)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		rc := http.NewResponseController(w)
		for i := 1; ; i++ {
			if _, err := fmt.Fprintf(w, "id: %d\ndata: tick\n\n", i); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			time.Sleep(time.Second) // no select on r.Context(): the leak
		}
	})
}

func TestChurnFindsLeakedStreams(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(leaky())
	t.Cleanup(ts.Close)
	rep := run(t, Config{URL: ts.URL + "/events", Window: 3 * time.Second, Only: []string{"status", "churn"}})
	expectFailing(t, rep, []string{"churn"})
	if c := result(rep, "churn"); !strings.Contains(c.Evidence, "503") {
		t.Errorf("churn evidence lacks the 503s: %q", c.Evidence)
	}
}

func TestRequestHeadersRefused(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	h := r.srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.Header.Get("Accept"), "text/event-stream") {
			http.Error(w, "not acceptable", http.StatusNotAcceptable)
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(ts.Close)
	rep := run(t, Config{URL: ts.URL + "/events?rate=10&topic=" + topicName(t), Window: 2 * time.Second,
		Only: []string{"status", "request-headers", "content-type", "resume-unknown-id"}})
	expectFailing(t, rep, []string{"status", "request-headers"})
}

// zoo writes a hand-made stream with framing problems the reference
// server does not make, then stays open.
const zoo = ": hello\n" +
	"retry: 500\n" +
	"id: a\x01b\n" +
	"data: one\n\n" +
	"event: x\nid: 7\n\n" + // dropped: no data
	"foo: bar\n" + // unknown field
	"data: two\n\n" +
	"data: three\n\n"

func serveText(text string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		io.WriteString(w, text)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
}

func TestFramingZoo(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(serveText(zoo))
	t.Cleanup(ts.Close)
	rep := run(t, Config{URL: ts.URL, Window: 2 * time.Second,
		Only: []string{"utf8", "bom", "line-endings", "fields", "dataless", "id-null", "id-safe", "retry-valid", "event-size", "retry-hint", "ids", "terminated"}})
	expectFailing(t, rep, []string{"dataless", "fields", "id-safe", "retry-valid"})
	checks := map[string]string{
		"dataless":    `event: x\nid: 7`,
		"fields":      `"foo" ×1`,
		"id-safe":     `"a\x01b"`,
		"retry-valid": "500 ms",
		"retry-hint":  "retry: 500",
	}
	for id, want := range checks {
		c := result(rep, id)
		if !strings.Contains(c.Reason+c.Evidence, want) {
			t.Errorf("%s: want %q in %q / %q", id, want, c.Reason, c.Evidence)
		}
	}
	if c := result(rep, "terminated"); c.Status != report.StatusSkip {
		t.Errorf("terminated on a stream that stays open: %s", c.Status)
	}
}

// TestHostileServers: each hostile server ends as failed checks within a
// bounded time, never a hang.
func TestHostileServers(t *testing.T) {
	t.Parallel()
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: ")
		block := strings.Repeat("x", 64<<10)
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, block); err != nil {
				return
			}
		}
	}))
	t.Cleanup(endless.Close)

	// Slowloris: a status line sent a byte at a time, never finished.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				// Read the request first, as a server does: bytes before
				// it would be an unsolicited response to the client.
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				go io.Copy(io.Discard, br)
				for _, b := range []byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Slow: " + strings.Repeat("z", 1000)) {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
	})
	r := startRef(t)

	cases := []struct {
		name   string
		cfg    Config
		expect []string
		evid   map[string]string
	}{
		// 8 MiB rather than the 64 MiB default: the bound must hold in the
		// window even on a slow (race-instrumented) build.
		{"endless line", Config{URL: endless.URL, Window: 3 * time.Second, MaxSize: 8 << 20, Only: []string{"status", "event-size", "first-event", "end-kind"}},
			[]string{"event-size", "first-event"}, map[string]string{"event-size": fmt.Sprintf("longer than %d bytes", 8<<20)}},
		{"slowloris headers", Config{URL: "http://" + ln.Addr().String() + "/events", Window: 2 * time.Second, Only: []string{"status", "headers-prompt", "content-type", "churn"}},
			[]string{"status", "headers-prompt"}, map[string]string{"status": "no status line and headers within"}},
		// A 2 MiB event is legal and read whole: only the line length
		// that breaks line-scanning clients is reported. The concurrent
		// clients keep a load run's 1 MiB bound each, and still count
		// the event as delivered.
		{"huge event", Config{URL: r.events(topicName(t)+"-whole", "rate=10&fault=huge-event=2MiB"), Window: 3 * time.Second, Clients: 10,
			Only: []string{"status", "event-size", "end-kind", "first-event", "concurrent"}},
			[]string{"event-size"}, map[string]string{"event-size": "a line of 2.0 MiB", "concurrent": "10 of 10 got an event"}},
		{"huge event over --max-size", Config{URL: r.events(topicName(t)+"-bounded", "rate=10&fault=huge-event=2MiB"), Window: 3 * time.Second, MaxSize: 1 << 20, Only: []string{"status", "event-size", "end-kind"}},
			[]string{"event-size"}, map[string]string{"event-size": "over 1.0 MiB"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			rep := run(t, tc.cfg)
			if took := time.Since(start); took > tc.cfg.Window+5*time.Second {
				t.Errorf("took %v with a window of %v", took, tc.cfg.Window)
			}
			expectFailing(t, rep, tc.expect)
			for id, want := range tc.evid {
				c := result(rep, id)
				if !strings.Contains(c.Reason+" "+c.Evidence, want) {
					t.Errorf("%s: want %q in %q %q", id, want, c.Reason, c.Evidence)
				}
			}
		})
	}
}

func TestTLSAndHTTP2(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	h2 := httptest.NewUnstartedServer(r.srv.Handler())
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h2.Close)
	// Keep-Alive is connection-specific; Go's HTTP/2 server passes it on
	// (it drops only Connection and Transfer-Encoding).
	hop := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Keep-Alive", "timeout=5")
		r.srv.Handler().ServeHTTP(w, req)
	}))
	hop.EnableHTTP2 = true
	hop.StartTLS()
	t.Cleanup(hop.Close)
	h1 := httptest.NewTLSServer(r.srv.Handler()) // HTTP/1.1 only
	t.Cleanup(h1.Close)

	only := []string{"status", "http2", "h2-hop-by-hop", "content-length"}
	path := "/events?rate=10&topic=" + topicName(t)
	reps := runAll(t, []Config{
		{URL: h2.URL + path, Insecure: true, Window: 2 * time.Second, Only: only},
		{URL: hop.URL + path, Insecure: true, Window: 2 * time.Second, Only: only},
		{URL: h1.URL + path, Insecure: true, Window: 2 * time.Second, Only: only},
	}, 3)
	expectFailing(t, reps[0], nil)
	if c := result(reps[0], "content-length"); !strings.Contains(c.Evidence, "HTTP/2.0") {
		t.Errorf("content-length over h2: %q", c.Evidence)
	}
	expectFailing(t, reps[1], []string{"h2-hop-by-hop"})
	expectFailing(t, reps[2], []string{"http2"})
	if c := result(reps[2], "h2-hop-by-hop"); c.Status != report.StatusSkip {
		t.Errorf("h2-hop-by-hop over HTTP/1.1: %s", c.Status)
	}

	// Without --insecure the test certificate is refused: unreachable.
	_, err := Run(context.Background(), Config{URL: h2.URL + path, Window: 2 * time.Second, Only: only})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "--insecure") {
		t.Errorf("untrusted certificate: %v, want ErrUnreachable with a --insecure hint", err)
	}
}

func TestUnreachableAndBadUsage(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rep, err := Run(context.Background(), Config{URL: "http://127.0.0.1:1/events"})
	if !errors.Is(err, ErrUnreachable) || rep == nil || rep.Passed {
		t.Fatalf("err %v rep %+v: want ErrUnreachable and a report that did not pass", err, rep)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("an unreachable target took %v", took)
	}
	_, err = Run(context.Background(), Config{URL: "http://127.0.0.1:1/events", Only: []string{"nope"}})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `unknown check "nope"`) {
		t.Errorf("unknown --only: %v", err)
	}
}

func TestPOSTEndpoint(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || string(body) != `{"prompt":"hi"}` || r.Header.Get("Authorization") != "Bearer t" {
			http.Error(w, "want POST with the body and token", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		bw := bufio.NewWriter(w)
		rc := http.NewResponseController(w)
		for i := range 5 {
			fmt.Fprintf(bw, "data: {\"token\":%d}\n\n", i)
			bw.Flush()
			rc.Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}))
	t.Cleanup(ts.Close)
	rep := run(t, Config{URL: ts.URL, Method: "post", Body: []byte(`{"prompt":"hi"}`), Header: http.Header{"Authorization": {"Bearer t"}},
		Window: 2 * time.Second, Only: []string{"status", "content-type", "first-event", "terminated", "reconnect-storm", "ids"}})
	// A completion stream without ids: ids is the only warning.
	expectFailing(t, rep, []string{"ids"})
	if c := result(rep, "reconnect-storm"); c.Status != report.StatusSkip {
		t.Errorf("reconnect-storm on a POST stream: %s", c.Status)
	}
	if c := result(rep, "terminated"); c.Status != report.StatusPass {
		t.Errorf("terminated: %s %s", c.Status, c.Reason)
	}
}
