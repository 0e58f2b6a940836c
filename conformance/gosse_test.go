package conformance

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gosse "github.com/tmaxmax/go-sse"

	"github.com/ssebench/ssebench/report"
)

// goSSE is a github.com/tmaxmax/go-sse server as its README sets one up:
// a Server on the Joe provider with a FiniteReplayer (auto ids), every
// event published to every subscriber. POST /publish publishes its body;
// every, when not 0, publishes {"n":N} on a ticker, the first one after
// first. go-sse writes the headers with the first event (Upgrade sends
// nothing), and sends no Cache-Control, heartbeat or retry.
func goSSE(t *testing.T, every, first time.Duration) string {
	t.Helper()
	replayer, err := gosse.NewFiniteReplayer(100, true)
	if err != nil {
		t.Fatal(err)
	}
	srv := &gosse.Server{Provider: &gosse.Joe{Replayer: replayer}}
	publish := func(data string) {
		m := &gosse.Message{}
		m.AppendData(data)
		srv.Publish(m)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /events", srv)
	mux.HandleFunc("POST /publish", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		publish(fmt.Sprintf("%q", b))
		w.WriteHeader(http.StatusAccepted)
	})
	ts := httptest.NewServer(mux)
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() {
		close(stop)
		<-done
		srv.Shutdown(t.Context())
		ts.Close()
	})
	go func() {
		defer close(done)
		if every == 0 {
			return
		}
		timer := time.NewTimer(first)
		defer timer.Stop()
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			case <-timer.C:
			}
			publish(fmt.Sprintf(`{"n":%d}`, n))
			timer.Reset(every)
		}
	}()
	return ts.URL
}

// TestGoSSE: go-sse v0.12.0's FiniteReplayer resumes from a
// Last-Event-ID in its buffer, except the newest one: its queue then
// walks the whole ring (queue.each with startAt == tail), so a client
// that missed nothing gets every buffered event again. ssebench resumes
// from the id it has just seen, which is the newest, and sees the
// repeat. An unknown id replays nothing.
func TestGoSSE(t *testing.T) {
	t.Parallel()
	// 950 ms apart: A's second id comes within resume's 1 s wait, and B
	// (which connects a few ms after it) still has most of a second
	// before the next event, even on a loaded machine.
	base := goSSE(t, 950*time.Millisecond, 700*time.Millisecond)
	cfg := Config{URL: base + "/events", Window: 5 * time.Second}
	few(&cfg)
	rep := run(t, cfg)
	t.Log("\n" + table(rep))
	expectFailing(t, rep, []string{"cache-control", "resume", "x-accel-buffering"})
	if c := result(rep, "resume"); !strings.Contains(c.Reason, `replayed`) || !strings.Contains(c.Reason, `from id "0"`) {
		t.Errorf("resume: %q, want the buffer from id 0 again", c.Reason)
	}
	for _, id := range []string{"resume-unknown-id", "ids"} {
		if c := result(rep, id); c.Status != report.StatusPass {
			t.Errorf("%s: %s %q", id, c.Status, c.Reason)
		}
	}
}

// TestHeldBackHeaders: a quiet go-sse stream answers only with its first
// event. With --publish, ssebench publishes one when the headers have
// not come within a second, and the checks run; without it, --hold waits
// for the headers the main probe gave up on (an event comes after 3 s).
func TestHeldBackHeaders(t *testing.T) {
	t.Parallel()
	quiet := goSSE(t, 0, 0)
	late := goSSE(t, time.Hour, 3*time.Second)
	reps := runAll(t, []Config{
		{URL: quiet + "/events", Publish: quiet + "/publish", Window: 4 * time.Second, Clients: 5,
			Only: []string{"status", "content-type", "headers-prompt", "first-event", "buffering", "ids", "concurrent"}},
		{URL: late + "/events", Window: 2 * time.Second, Hold: 5 * time.Second,
			Only: []string{"status", "headers-prompt", "idle-timeout"}},
	}, 2)
	for _, rep := range reps {
		t.Log("\n" + table(rep))
	}
	expectFailing(t, reps[0], []string{"headers-prompt"})
	for _, id := range []string{"status", "content-type", "first-event", "buffering", "ids", "concurrent"} {
		if c := result(reps[0], id); c.Status != report.StatusPass {
			t.Errorf("%s on held-back headers with --publish: %s %q", id, c.Status, c.Reason)
		}
	}
	expectFailing(t, reps[1], []string{"headers-prompt"})
	if c := result(reps[1], "status"); !strings.Contains(c.Evidence, "on the stream held for --hold") {
		t.Errorf("status with --hold: %s %q", c.Status, c.Evidence)
	}
}
