package conformance

import (
	"bufio"
	"context"
	"github.com/ssebench/ssebench/report"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// nodeDir holds the third-party servers and their npm packages
// (test.sh runs npm ci there).
var nodeDir = filepath.Join("..", "testdata", "node")

// startNode runs testdata/node/script with node, PORT=0 and env, waits
// for its "listening PORT" line and returns http://127.0.0.1:PORT. Node
// or the packages missing is a failure, not a skip: test.sh installs
// them.
func startNode(t *testing.T, script string, env ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (test.sh installs Node.js): %v", err)
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules")); err != nil {
		t.Fatalf("testdata/node/node_modules is missing (test.sh runs npm ci there): %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), append([]string{"PORT=0"}, env...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", script, stderr.String())
		}
	})
	port := make(chan string, 1)
	wg.Go(func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- strings.TrimSpace(p)
			}
		}
	})
	select {
	case p := <-port:
		return "http://127.0.0.1:" + p
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not print \"listening PORT\" within 15 s; stderr:\n%s", script, stderr.String())
	}
	return ""
}

// The servers users run, in their libraries' documented styles. Each
// test asserts the defects a server really has and no failure on what it
// does right (expectFailing: exactly these checks fail). Windows are
// short; the servers' intervals are set so each behaviour shows in them.

var (
	few = func(c *Config) { c.Clients, c.Churn = 10, 20 }
	// The multiplexed stream's request, as fetch-event-source sends it.
	muxAuth = http.Header{"Authorization": {"Bearer secret"}, "Content-Type": {"application/json"}}
)

// TestThirdPartyExpressPush: the tutorial-style Express push endpoint.
// Express (res.setHeader, res.write) sends the status and headers with
// the first write, and the handler's counter is per connection, so
// `id:${index}` starts at 1 again on every connection and Last-Event-ID
// is ignored.
func TestThirdPartyExpressPush(t *testing.T) {
	t.Parallel()
	base := startNode(t, "express-push.js", "INTERVAL_MS=1200")
	cfg := Config{URL: base + "/events", Window: 6 * time.Second}
	few(&cfg)
	rep := run(t, cfg)
	t.Log("\n" + table(rep))
	expectFailing(t, rep, []string{"headers-prompt", "resume", "resume-replay", "x-accel-buffering"})
	if c := result(rep, "headers-prompt"); !strings.Contains(c.Reason, "came with the first event") {
		t.Errorf("headers-prompt: %q", c.Reason)
	}
	if c := result(rep, "resume"); !strings.Contains(c.Reason, `repeated id "1"`) || !strings.Contains(c.Reason, "where a fresh stream starts") {
		t.Errorf("resume: %q, want B starting over at id 1", c.Reason)
	}
	if c := result(rep, "retry-hint"); !strings.Contains(c.Evidence, "retry: 5000") {
		t.Errorf("retry-hint: %q", c.Evidence)
	}
}

// TestThirdPartyKoaSSEStream: koa-sse-stream's README: maxClients (2
// here) caps the streams, a ": ok" comment greets each client, and a
// ping comment goes to every client each pingInterval. Past the cap
// the handler gets no ctx.sse and koa answers 500. The stream is quiet:
// POST /publish (ssebench's --publish) makes progress events.
func TestThirdPartyKoaSSEStream(t *testing.T) {
	t.Parallel()
	fast := startNode(t, "koa-sse.js", "PING_MS=1000")
	slow := startNode(t, "koa-sse.js", "PING_MS=30000")
	only := []string{"status", "content-type", "cache-control", "x-accel-buffering", "first-event", "heartbeat", "concurrent"}
	reps := runAll(t, []Config{
		// the main stream and 3 clients: past the cap of 2
		{URL: fast + "/events", Publish: fast + "/publish", Window: 4 * time.Second, Clients: 3, Only: only},
		// the main stream and 1 client: within it; a ping interval
		// longer than the window
		{URL: slow + "/events", Publish: slow + "/publish", Window: 3 * time.Second, Clients: 1, Only: only},
	}, 2)
	for _, rep := range reps {
		t.Log("\n" + table(rep))
	}
	expectFailing(t, reps[0], []string{"concurrent"})
	if c := result(reps[0], "concurrent"); !strings.Contains(c.Evidence, "500 ×2") {
		t.Errorf("concurrent past the cap: %q, want two 500s (3 clients, 1 slot left)", c.Evidence)
	}
	hb := result(reps[0], "heartbeat")
	if hb.Status != report.StatusPass || !strings.Contains(hb.Evidence, `not counting the greeting ": ok"`) {
		t.Fatalf("heartbeat with pings every 1 s: %s %q %q", hb.Status, hb.Reason, hb.Evidence)
	}
	// "about every 1003ms": the measured interval is the pingInterval.
	var every time.Duration
	if _, after, ok := strings.Cut(hb.Evidence, "about every "); ok {
		every, _ = time.ParseDuration(strings.Fields(after)[0])
	}
	if every < 900*time.Millisecond || every > 1100*time.Millisecond {
		t.Errorf("heartbeat interval %v, want about 1 s: %q", every, hb.Evidence)
	}

	expectFailing(t, reps[1], nil)
	if c := result(reps[1], "heartbeat"); c.Status != report.StatusSkip || !strings.Contains(c.Reason, "only a greeting") {
		t.Errorf("heartbeat with a 30 s ping in a 3 s window: %s %q, want a skip naming the greeting", c.Status, c.Reason)
	}
	if c := result(reps[1], "concurrent"); !strings.Contains(c.Evidence, "200 ×1") {
		t.Errorf("concurrent within the cap: %q", c.Evidence)
	}
}

// TestThirdPartyExpressClose: an Express demo that ends its response
// after a few seconds with `event: close`, its page not closing the
// EventSource, so browsers reconnect each time (reconnect-storm). Its
// server.requestTimeout of 1 s (Node's bound on receiving the request)
// does not cut the 2.5 s response: the held stream's end is the app's own.
func TestThirdPartyExpressClose(t *testing.T) {
	t.Parallel()
	base := startNode(t, "express-close.js", "CLOSE_AFTER_MS=2500", "INTERVAL_MS=500", "REQUEST_TIMEOUT_MS=1000")
	cfg := Config{URL: base + "/events", Window: 4 * time.Second, Hold: 4 * time.Second}
	few(&cfg)
	rep := run(t, cfg)
	t.Log("\n" + table(rep))
	expectFailing(t, rep, []string{"reconnect-storm", "idle-timeout", "ids", "x-accel-buffering"})
	if c := result(rep, "reconnect-storm"); !strings.Contains(c.Evidence, "ended the response cleanly after 25") {
		t.Errorf("reconnect-storm: %q", c.Evidence)
	}
	c := result(rep, "idle-timeout")
	if strings.Contains(c.Evidence, "requestTimeout") || !strings.Contains(c.Evidence, "the server ended the response itself") {
		t.Errorf("idle-timeout blames a timeout for the app's own end:\n%s\nfix: %s", c.Evidence, c.Fix)
	}
	if c := result(rep, "terminated"); c.Status != report.StatusPass {
		t.Errorf("terminated: %s %q", c.Status, c.Reason)
	}
}

// TestThirdPartyMultiplexed: one stream for every message type (a
// messageType field in the JSON data), read with POST and a bearer token
// as fetch-event-source does; ids are global and a reconnect gets what it
// missed. Without the token: 401.
func TestThirdPartyMultiplexed(t *testing.T) {
	t.Parallel()
	base := startNode(t, "multiplexed.js")
	body := []byte(`{"topics":["all"]}`)
	cfg := Config{URL: base + "/stream", Method: "POST", Body: body, Header: muxAuth, Window: 4 * time.Second}
	few(&cfg)
	reps := runAll(t, []Config{cfg,
		{URL: base + "/stream", Method: "POST", Body: body, Window: 2 * time.Second, Only: []string{"status"}}}, 2)
	t.Log("\n" + table(reps[0]))
	expectFailing(t, reps[0], nil)
	if c := result(reps[0], "resume"); c.Status != report.StatusPass {
		t.Errorf("resume: %s %q", c.Status, c.Reason)
	}
	expectFailing(t, reps[1], []string{"status"})
	if c := result(reps[1], "status"); !strings.Contains(c.Reason, "401") {
		t.Errorf("status without the token: %q", c.Reason)
	}
}

// TestThirdPartyBetterSSE: better-sse's createSession sends the headers
// at once, retry 2000 and keep-alive comments every 10 s; Session.lastId
// starts at the client's Last-Event-ID, so a handler numbering from it
// resumes: B's first id is A's next. Only the per-connection timestamp
// in the data differs, which resume-replay (info) reports.
func TestThirdPartyBetterSSE(t *testing.T) {
	t.Parallel()
	base := startNode(t, "better-sse.js")
	cfg := Config{URL: base + "/sse", Window: 4 * time.Second}
	few(&cfg)
	rep := run(t, cfg)
	t.Log("\n" + table(rep))
	expectFailing(t, rep, []string{"resume-replay"})
	if c := result(rep, "resume"); c.Status != report.StatusPass {
		t.Errorf("resume: %s %q", c.Status, c.Reason)
	}
}

// TestThirdPartyFastifySSE: @fastify/sse's README patterns: a
// "Connected" greeting without an id on every connection, then
// reply.sse.replay() (the events after Last-Event-ID, or the whole
// history for an id it does not know), then live events.
func TestThirdPartyFastifySSE(t *testing.T) {
	t.Parallel()
	greet := startNode(t, "fastify-sse.js")
	// 300 events of history, replayed whole to an unknown id.
	history := startNode(t, "fastify-sse.js", "PREFILL=300")
	cfg := Config{URL: greet + "/events", Window: 4 * time.Second}
	few(&cfg)
	reps := runAll(t, []Config{cfg,
		{URL: history + "/events", Window: 3 * time.Second, Only: []string{"status", "resume-unknown-id"}},
	}, 2)
	for _, rep := range reps {
		t.Log("\n" + table(rep))
	}
	expectFailing(t, reps[0], nil)
	if c := result(reps[0], "resume"); c.Status != report.StatusPass || strings.Contains(c.Evidence, "Connected") {
		t.Errorf("resume past the greeting: %s %q\n%s", c.Status, c.Reason, c.Evidence)
	}
	expectFailing(t, reps[1], []string{"resume-unknown-id"})
	if c := result(reps[1], "resume-unknown-id"); !strings.Contains(c.Reason, "replaying history") {
		t.Errorf("resume-unknown-id: %q", c.Reason)
	}
}

// TestThirdPartyExpressSSE: express-sse's README: app.get(path,
// sse.init) and sse.send(data) to every stream. Each connection numbers
// its events itself from 0, so the same event has another id on each
// connection and Last-Event-ID means nothing.
func TestThirdPartyExpressSSE(t *testing.T) {
	t.Parallel()
	base := startNode(t, "express-sse.js")
	cfg := Config{URL: base + "/stream", Publish: base + "/publish", Window: 4 * time.Second}
	few(&cfg)
	rep := run(t, cfg)
	t.Log("\n" + table(rep))
	expectFailing(t, rep, []string{"resume", "resume-replay"})
	c := result(rep, "resume")
	if !strings.Contains(c.Reason, "numbered per connection") || strings.Contains(c.Reason, "repeat") {
		t.Errorf("resume: %q, want ids numbered per connection, no repeat", c.Reason)
	}
}

// TestReconnectStormNotOnAPlainResponse: a 200 that is not an event
// stream (a page, an error text) fails EventSource without a reconnect.
func TestReconnectStormNotOnAPlainResponse(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>not here</p>")
	}))
	t.Cleanup(ts.Close)
	rep := run(t, Config{URL: ts.URL, Window: 2 * time.Second, Only: []string{"status", "content-type", "reconnect-storm"}})
	expectFailing(t, rep, []string{"content-type"})
	if c := result(rep, "reconnect-storm"); c.Status != report.StatusSkip || !strings.Contains(c.Reason, "does not reconnect") {
		t.Errorf("reconnect-storm: %s %q", c.Status, c.Reason)
	}
}
