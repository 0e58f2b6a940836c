package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

// seedServer starts one of the seed-style Node servers in testdata/node
// (real Express, as test.sh installs it) and returns its base URL. A
// missing node or node_modules fails the test: the point is the real
// server.
func seedServer(t *testing.T, script string, env ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (test.sh installs Node.js): %v", err)
	}
	dir := filepath.Join("testdata", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("testdata/node/node_modules is missing (test.sh runs npm ci there): %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
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

// runResult runs `run` in-process and reads its result.
func runResult(t *testing.T, args ...string) *report.Result {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI(append([]string{"run", "--quiet", "--out", out}, args...)...)
	if code != report.ExitOK {
		t.Fatalf("run %s: exit %d: %s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The Express push endpoint of the seed (express-push.js): its page
// listens for sseEvent and calls close() when the data says contDnd. With
// --close-on-data contDnd each client ends there, as client_close, after
// END events and the contDnd one, and never reconnects; the server's
// retry: 5000 plays no part.
func TestSeedPushClosesOnData(t *testing.T) {
	t.Parallel()
	url := seedServer(t, "express-push.js", "INTERVAL_MS=40", "END=5") + "/events"
	res := runResult(t, "--url", url, "--connections", "3", "--duration", "3s", "--close-on-data", "contDnd",
		"--threshold", "events.type.sseEvent > 0", "--threshold", "ends.client_close > 0")
	c := res.Counters
	closed := c.Ends[report.EndClientClose]
	// Every stream opened and not closed by its client was cut by the
	// run's end (cancelled); an attempt the end cancels before it opens
	// is cancelled too, so cancelled may be one more per connection.
	if closed < 3 || c.Reconnects != 0 || closed > c.StreamsOpened || c.StreamsOpened-closed > c.Ends[report.EndCancelled] {
		t.Errorf("ends %v, opened %d, reconnects %d: want every stream closed by its client on contDnd, none reconnected", c.Ends, c.StreamsOpened, c.Reconnects)
	}
	if len(c.EventsByType) != 1 {
		t.Errorf("types %v: the server sends only sseEvent", c.EventsByType)
	}
	// 5 numbered events and the contDnd one per closed stream; a stream
	// cut by the run's end has at most that many.
	if got := c.EventsByType["sseEvent"].Count; got < 6*closed || got > 6*c.StreamsOpened {
		t.Errorf("%d sseEvent events for %d client closes of %d streams: want 6 per closed stream", got, closed, c.StreamsOpened)
	}
}

// The Express demo that sends `event: close` and ends the response
// (express-close.js): browsers reconnect every time, and so does run
// without a marker; with --close-on-event close the clients end there.
func TestSeedCloseEvent(t *testing.T) {
	t.Parallel()
	url := seedServer(t, "express-close.js", "CLOSE_AFTER_MS=300", "INTERVAL_MS=50") + "/events"
	res := runResult(t, "--url", url, "--connections", "2", "--duration", "4s", "--close-on-event", "close")
	c := res.Counters
	closed := c.Ends[report.EndClientClose]
	if closed < 2 || c.Reconnects != 0 || c.Ends[report.EndEOF] != 0 || c.EventsByType["close"].Count != closed {
		t.Errorf("with --close-on-event: ends %v, reconnects %d, close events %d", c.Ends, c.Reconnects, c.EventsByType["close"].Count)
	}
	if c.EventsByType["message"].Count == 0 {
		t.Errorf("types %v: the server's data events are of type message", c.EventsByType)
	}
	// Without it: the server's end is an eof, reconnected after the
	// default retry of 3 s.
	res = runResult(t, "--url", url, "--connections", "2", "--duration", "4s", "--threshold", "events.type.close > 0")
	c = res.Counters
	if c.Reconnects == 0 || c.Ends[report.EndEOF] == 0 || c.Ends[report.EndClientClose] != 0 {
		t.Errorf("without a marker: reconnects %d, ends %v; want the browser's reconnects", c.Reconnects, c.Ends)
	}
}

// The multiplexed stream (multiplexed.js): POST with a bearer token, every
// event of type message, told apart by messageType, stamped in ms. Each
// client sees the same broadcast, cycling chat, presence, notification.
func TestSeedMultiplexedTypeField(t *testing.T) {
	t.Parallel()
	url := seedServer(t, "multiplexed.js", "INTERVAL_MS=30", "TOKEN=tok") + "/stream"
	res := runResult(t, "--url", url, "-X", "POST", "-H", "Authorization: Bearer tok", "-H", "Content-Type: application/json",
		"--body", "{}", "--connections", "2", "--duration", "3s", "--reconnect", "never",
		"--type-field", "messageType", "--latency-field", "ts:unix_ms", "--threshold", "events.field.chat > 0")
	c := res.Counters
	if len(c.EventsByType) != 1 || c.EventsByType["message"].Count != c.Events || c.Events < 30 {
		t.Errorf("types %v of %d events: want every event of type message", c.EventsByType, c.Events)
	}
	if c.TypeFieldMissing != 0 || len(c.EventsByField) != 3 {
		t.Fatalf("field values %v, %d without: want chat, presence, notification on every event", c.EventsByField, c.TypeFieldMissing)
	}
	var sum int64
	for _, v := range []string{"chat", "presence", "notification"} {
		n := c.EventsByField[v]
		sum += n.Count
		// The types cycle, so on each of the 2 streams they differ by at
		// most one event.
		if d := n.Count - c.Events/3; d < -2 || d > 2 {
			t.Errorf("%s: %d of %d events, want a third give or take one per stream", v, n.Count, c.Events)
		}
		if n.Delivery == nil || n.Delivery.Count != n.Count {
			t.Errorf("%s: delivery %+v, want a sample per event (stamped ts in ms)", v, n.Delivery)
		}
	}
	if sum != c.Events {
		t.Errorf("the values count %d events of %d", sum, c.Events)
	}
}
