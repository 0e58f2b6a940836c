package conformance

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/sse"
)

// Checks of resumption: ids, Last-Event-ID and reconnects.

func (t *target) checkIDs() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	evs := t.main.eventsOnly()
	if len(evs) == 0 {
		return skip("no events arrived")
	}
	with := 0
	for _, ev := range evs {
		if ev.id != "" {
			with++
		}
	}
	if with == 0 {
		if st := t.raw(); st.idNull > 0 && st.idNull == st.idLines {
			return skip("the events' id lines contain U+0000, so clients ignore them (see id-null)")
		}
		return fail(fmt.Sprintf("none of %s carries an id: a reconnecting client cannot resume", plural(len(evs), "event", "events")), "")
	}
	return pass(fmt.Sprintf("%d of %s had a last event ID (first %q, last %q)", with, plural(len(evs), "event", "events"), evs[0].id, evs[len(evs)-1].id))
}

func (t *target) checkResume() verdict {
	if v, ok := t.resumeProbed(); !ok {
		return v
	}
	return t.resume.verdict(analyzeBuffering(t.main, t.lone).outcome == bufBuffered)
}

func (t *target) checkResumeReplay() verdict {
	if v, ok := t.resumeProbed(); !ok {
		return v
	}
	return t.resume.replayVerdict()
}

// resumeProbed is what resume and resume-replay both need: a readable
// stream, a resumption probe, and ids clients do not ignore.
func (t *target) resumeProbed() (verdict, bool) {
	if v, ok := t.needText(); !ok {
		return v, false
	}
	if t.main.status != http.StatusOK {
		return skip(fmt.Sprintf("answered %s (see status)", t.main.statusTxt)), false
	}
	if t.resume == nil {
		return skip("not probed"), false
	}
	if st := t.raw(); st.idNull > 0 && st.idNull == st.idLines {
		return skip("the events' ids are ignored by clients (see id-null): nothing to resume from"), false
	}
	return verdict{}, true
}

func (t *target) checkResumeUnknownID() verdict {
	if v, ok := t.needResponse(); !ok {
		return v
	}
	if t.main.status != http.StatusOK {
		return skip(fmt.Sprintf("the stream itself is answered %s (see status)", t.main.statusTxt))
	}
	u := t.unknownID
	if u == nil {
		return skip("not probed")
	}
	req := fmt.Sprintf("Last-Event-ID: %s", u.spec.lastEventID)
	if u.err != nil {
		return fail("the request with an unknown Last-Event-ID failed: "+errText(u.err), req)
	}
	ev := req + " → " + u.statusTxt
	switch {
	case u.status == http.StatusOK:
		if n, fresh, storm := replayBurst(u, t.main); storm {
			v := fail(fmt.Sprintf("an unknown Last-Event-ID is answered by replaying history: %d events within %s, where a fresh stream got %d in its first %s", n, report.FormatDuration(burstWindow), fresh, report.FormatDuration(burstWindow)), ev)
			v.fix = "Answer an unknown or expired Last-Event-ID with the stream from now (optionally an event telling the client to resync), not the whole history: every client with a stale id downloads all of it at once, and reconnecting crowds make a replay storm."
			return v
		}
		return pass(ev)
	case u.status == http.StatusNoContent:
		return fail("an unknown Last-Event-ID is answered 204: browsers stop reconnecting for good", ev)
	}
	return fail(fmt.Sprintf("an unknown Last-Event-ID is answered %s: browsers do not retry after it", u.statusTxt), ev)
}

func (t *target) checkRetryHint() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	for _, it := range t.main.items {
		if it.kind == sse.KindRetry {
			return pass(fmt.Sprintf("retry: %d (clients wait %s before reconnecting)", it.retry, report.FormatDuration(time.Duration(it.retry)*time.Millisecond)))
		}
	}
	return skip("the stream sends no valid retry field: browsers wait their own default (about 3 s)")
}

// stormInterval is the shortest acceptable time between one client's
// reconnects (stream lifetime plus retry delay).
const stormInterval = 10 * time.Second

func (t *target) checkReconnectStorm() verdict {
	if t.cfg.Method != http.MethodGet {
		return skip("EventSource reconnects only GET streams")
	}
	if v, ok := t.needBody(); !ok {
		return v
	}
	m := t.main
	if m.status != http.StatusOK {
		return skip(fmt.Sprintf("answered %s (see status)", m.statusTxt))
	}
	if ct := m.header.Get("Content-Type"); !sse.IsEventStream(ct) {
		return skip(fmt.Sprintf("Content-Type %q: EventSource fails such a response and does not reconnect (see content-type)", ct))
	}
	if !m.serverEnded() {
		return pass(fmt.Sprintf("the stream stayed open for the whole %s", report.FormatDuration(m.endAt)))
	}
	retry := 3 * time.Second
	retryNote := "the browser default of about 3 s"
	for _, it := range m.items {
		if it.kind == sse.KindRetry {
			retry = time.Duration(it.retry) * time.Millisecond
			retryNote = fmt.Sprintf("the stream's retry of %s", report.FormatDuration(retry))
		}
	}
	life := lifetime(m)
	ev := fmt.Sprintf("stream 1: %s (%s)", m.describeEnd(), plural(m.nEvents, "event", "events"))
	r := t.reconnect
	second := false
	if r != nil {
		switch {
		case r.err != nil:
			ev += "\nreconnect: " + errText(r.err)
		case r.status != http.StatusOK:
			ev += "\nreconnect: answered " + r.statusTxt
		default:
			ev += fmt.Sprintf("\nstream 2: %s (%s)", r.describeEnd(), plural(r.nEvents, "event", "events"))
			second = r.serverEnded()
			if second {
				life = (life + lifetime(r)) / 2
			}
		}
	}
	every := life + retry
	ev += fmt.Sprintf("\nwith %s, each client reconnects every %s: 10,000 clients make about %.0f requests/s", retryNote, report.FormatDuration(every), 10000/every.Seconds())
	if every >= stormInterval {
		return pass(ev)
	}
	if r != nil && r.ok() && !second && lifetime(r) > lifetime(m) {
		return pass(ev + "\n(the second stream stayed open longer: the first end looks like a one-off)")
	}
	return fail(fmt.Sprintf("the server ends streams after about %s: clients reconnect every %s", report.FormatDuration(life), report.FormatDuration(every)), ev)
}

func (t *target) checkStop204() verdict {
	if v, ok := t.needResponse(); !ok {
		return v
	}
	probes := []struct {
		name string
		s    *stream
	}{{"the stream", t.main}, {"the reconnect", t.reconnect}, {"an unknown Last-Event-ID", t.unknownID}, {"a plain request", t.plain}}
	if t.resume != nil {
		probes = append(probes, struct {
			name string
			s    *stream
		}{"a resume with Last-Event-ID", t.resume.b})
	}
	var got []string
	for _, p := range probes {
		if p.s != nil && p.s.err == nil && p.s.status == http.StatusNoContent {
			got = append(got, p.name)
		}
	}
	if len(got) > 0 {
		return fail("answered 204 No Content to "+strings.Join(got, ", ")+": browsers stop reconnecting for good", "")
	}
	return pass("no request was answered 204")
}

// burstWindow is how long after its headers a stream is watched for a
// replay burst.
const burstWindow = time.Second

// replayBurst counts the events s got within burstWindow of its headers
// and those the fresh stream got in the same time: a burst of at least 20
// and four times the fresh stream's is a replay of history.
func replayBurst(s, fresh *stream) (n, base int, storm bool) {
	count := func(st *stream) int {
		c := 0
		for _, ev := range st.eventsOnly() {
			if ev.at-st.headersAt <= burstWindow {
				c++
			}
		}
		return c
	}
	if s == nil || s.wire == nil {
		return 0, 0, false
	}
	n = count(s)
	if fresh != nil && fresh.ok() {
		base = count(fresh)
	}
	return n, base, n >= 20 && n >= 4*(base+1)
}
