package conformance

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

// seqServer generates every event per connection, the way many real
// servers do: id N and data {"seq":N,"t":"<send time>"}, one every 50 ms.
// start picks the first id from the request's Last-Event-ID (0 when none):
// a correct server starts at last+1.
func seqServer(start func(last int) int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		rc := http.NewResponseController(w)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := start(last); ; n++ {
			if _, err := fmt.Fprintf(w, "id: %d\ndata: {\"seq\":%d,\"t\":%q}\n\n", n, n, time.Now().Format(time.RFC3339Nano)); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	})
}

var resumeIDs = []string{"status", "ids", "resume", "resume-replay"}

func runSeq(t *testing.T, start func(last int) int) *report.CheckReport {
	t.Helper()
	ts := httptest.NewServer(seqServer(start))
	t.Cleanup(ts.Close)
	return run(t, Config{URL: ts.URL + "/events", Window: 3 * time.Second, Only: resumeIDs})
}

// TestResumeRegeneratedEventsPass: a server that continues the ids after
// Last-Event-ID but builds each event anew (a fresh send time) resumes
// correctly; that its bytes differ is an info finding, never an error.
func TestResumeRegeneratedEventsPass(t *testing.T) {
	t.Parallel()
	rep := runSeq(t, func(last int) int { return last + 1 })
	expectFailing(t, rep, []string{"resume-replay"})
	if !rep.Passed {
		t.Errorf("the gate failed on a server that resumes correctly\n%s", table(rep))
	}
	if c := result(rep, "resume"); c.Status != report.StatusPass {
		t.Errorf("resume: %s %s\n%s", c.Status, c.Reason, c.Evidence)
	}
	c := result(rep, "resume-replay")
	if c.Severity != report.SeverityInfo || !strings.Contains(c.Reason, "regenerated, not replayed") {
		t.Errorf("resume-replay: severity %s, reason %q", c.Severity, c.Reason)
	}
	if !strings.Contains(c.Evidence, `"seq\":`) || !strings.Contains(c.Evidence, "stream A got") {
		t.Errorf("resume-replay evidence does not show both payloads: %q", c.Evidence)
	}
}

// TestResumeIgnoredLastEventIDFails: a server that starts every stream at
// id 1 whatever Last-Event-ID says.
func TestResumeIgnoredLastEventIDFails(t *testing.T) {
	t.Parallel()
	rep := runSeq(t, func(int) int { return 1 })
	c := result(rep, "resume")
	if c.Status != report.StatusFail || rep.Passed {
		t.Fatalf("resume: %s, gate passed %v\n%s", c.Status, rep.Passed, table(rep))
	}
	if !strings.Contains(c.Reason, `started over at id "1"`) || !strings.Contains(c.Reason, "ignored") {
		t.Errorf("resume reason: %q", c.Reason)
	}
	if c.Fix == "" {
		t.Error("resume failed without a fix")
	}
}

// TestResumeGapFails: a server that skips two ids after Last-Event-ID.
func TestResumeGapFails(t *testing.T) {
	t.Parallel()
	rep := runSeq(t, func(last int) int {
		if last == 0 {
			return 1
		}
		return last + 3
	})
	c := result(rep, "resume")
	if c.Status != report.StatusFail || rep.Passed {
		t.Fatalf("resume: %s, gate passed %v\n%s", c.Status, rep.Passed, table(rep))
	}
	// A resumes from its second id, 2: B starts at 5, so 3 and 4 are lost.
	if !strings.Contains(c.Reason, "(gap)") || !strings.Contains(c.Reason, "skipped 2 events") || !strings.Contains(c.Reason, "id 3, 4") {
		t.Errorf("resume reason does not name the gap: %q\n%s", c.Reason, c.Evidence)
	}
}

// TestResumeRepeatFails: a server that replays the event named by
// Last-Event-ID before going on.
func TestResumeRepeatFails(t *testing.T) {
	t.Parallel()
	rep := runSeq(t, func(last int) int { return max(last, 1) })
	c := result(rep, "resume")
	if c.Status != report.StatusFail || rep.Passed {
		t.Fatalf("resume: %s, gate passed %v\n%s", c.Status, rep.Passed, table(rep))
	}
	if !strings.Contains(c.Reason, `repeated id "2"`) || !strings.Contains(c.Reason, "(repeat)") {
		t.Errorf("resume reason does not name the repeat: %q\n%s", c.Reason, c.Evidence)
	}
}

// TestResumeReplayedEventsPass: the reference server replays stored
// events after Last-Event-ID, byte for byte.
func TestResumeReplayedEventsPass(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	rep := run(t, Config{URL: r.events(topicName(t), "rate=20"), Window: 3 * time.Second, Only: resumeIDs})
	expectFailing(t, rep, nil)
	for _, id := range []string{"resume", "resume-replay"} {
		if c := result(rep, id); c.Status != report.StatusPass {
			t.Errorf("%s: %s %s\n%s", id, c.Status, c.Reason, c.Evidence)
		}
	}
	if c := result(rep, "resume-replay"); !strings.Contains(c.Evidence, "each with the same data") {
		t.Errorf("resume-replay evidence: %q", c.Evidence)
	}
}
