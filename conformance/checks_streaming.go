package conformance

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ssebench/ssebench/report"
)

// Checks of the streaming: when events arrive and how streams end.

func (t *target) checkFirstEvent() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	m := t.main
	if m.status != http.StatusOK {
		return skip(fmt.Sprintf("answered %s (see status)", m.statusTxt))
	}
	evs := m.eventsOnly()
	if len(evs) > 0 {
		ev := fmt.Sprintf("first event after %s (headers after %s)", report.FormatDuration(evs[0].at), report.FormatDuration(m.headersAt))
		if len(t.lone) > 0 && strings.Contains(evs[0].data, "ssebench-") {
			ev += ", published by ssebench"
		}
		return pass(ev)
	}
	ev := fmt.Sprintf("%s of body, %s, %s; %s", fmtBytes(m.wire.bytes), plural(m.nComment, "comment", "comments"), plural(m.nEvents, "event", "events"), m.describeEnd())
	for _, le := range t.lone {
		if le.err != nil {
			ev += "\n" + errText(le.err)
		}
	}
	if m.end == report.EndTooLarge {
		return fail("the first event was too large to read (see event-size)", ev)
	}
	reason := fmt.Sprintf("no event within %s", report.FormatDuration(m.endAt))
	switch {
	case m.wire.bytes == 0:
		reason += ": nothing at all arrived after the headers (a quiet stream, or a buffer holding it back)"
	case m.text != nil && m.text.total == 0:
		reason += fmt.Sprintf(": %s of %s arrived and nothing decodes (see buffering)", fmtBytes(m.wire.bytes), m.encoding)
	}
	if t.pub == nil {
		reason += "; if the stream is quiet, pass --publish URL so ssebench can trigger one"
	}
	return fail(reason, ev)
}

func (t *target) checkBuffering() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	if t.main.status != http.StatusOK {
		return skip(fmt.Sprintf("answered %s (see status)", t.main.statusTxt))
	}
	b := analyzeBuffering(t.main, t.lone)
	ev := strings.Join(b.evidence, "\n")
	switch b.outcome {
	case bufBuffered:
		v := fail(b.reason, ev)
		v.fix = bufferingFix(t.main.header)
		return v
	case bufUnknown:
		return skip(b.reason)
	}
	return pass(ev)
}

// bufferingFix names the fix for the proxy the headers point at, with
// its tested config (fixtures/proxies) for the proxies ssebench is tested
// through.
func bufferingFix(h http.Header) string {
	c, _ := Lookup("buffering")
	proxy := proxyName(h)
	for _, l := range bufferingFixes {
		if l.proxy == proxy {
			return fmt.Sprintf("%s (the response's Server header): %s; as in the config ssebench's tests run through %s:\n%s\n%s", proxy, l.text, proxy, indent(proxySnippet(proxy)), c.Fix)
		}
	}
	return c.Fix
}

func (t *target) checkHeartbeat() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	m := t.main
	var held *stream
	if t.hold != nil {
		held = t.hold.get(holdAsIs)
	}
	if held != nil && held.ok() && held.wire != nil {
		quiet := maxSilence(held)
		ev := fmt.Sprintf("held %s: %s, %s, longest silence %s", report.FormatDuration(held.endAt-held.headersAt), plural(held.nEvents, "event", "events"), plural(held.nComment, "comment", "comments"), report.FormatDuration(quiet))
		if quiet > HeartbeatMax {
			return fail(fmt.Sprintf("the stream was silent for %s (more than %s): idle timeouts of proxies and load balancers cut such streams", report.FormatDuration(quiet), report.FormatDuration(HeartbeatMax)), ev)
		}
		if held.endAt-held.headersAt >= HeartbeatMax {
			return pass(ev)
		}
	}
	if q := maxSilence(m); q > HeartbeatMax {
		return fail(fmt.Sprintf("the stream was silent for %s (more than %s)", report.FormatDuration(q), report.FormatDuration(HeartbeatMax)), fmt.Sprintf("%s, %s", plural(m.nEvents, "event", "events"), plural(m.nComment, "comment", "comments")))
	}
	beats, greeting := heartbeats(m)
	note := ""
	if greeting != nil {
		note = fmt.Sprintf(" (not counting the greeting %q with the headers)", ":"+greeting.comment)
	}
	switch {
	case len(beats) >= 2:
		every := (beats[len(beats)-1].at - beats[0].at) / time.Duration(len(beats)-1)
		return pass(fmt.Sprintf("%s in %s, about every %s%s: the server sends heartbeat comments",
			plural(len(beats), "heartbeat comment", "heartbeat comments"), report.FormatDuration(m.endAt), report.FormatDuration(every), note))
	case len(beats) == 1:
		return skip(fmt.Sprintf("one heartbeat comment in %s, after %s%s: one comment does not tell the interval; run with --window or --hold over twice the interval to measure it",
			report.FormatDuration(m.endAt), report.FormatDuration(beats[0].at), note))
	case greeting != nil:
		return skip(fmt.Sprintf("only a greeting comment %q with the headers in %s, no heartbeat yet (longest silence %s): cannot tell the heartbeat interval; run with --hold of at least %s to see whether bytes flow every %s",
			":"+greeting.comment, report.FormatDuration(m.endAt), report.FormatDuration(maxSilence(m)), report.FormatDuration(HeartbeatMax+10*time.Second), report.FormatDuration(HeartbeatMax)))
	}
	return skip(fmt.Sprintf("no heartbeat comment in %s (longest silence %s): run with --hold of at least %s to see whether bytes flow every %s",
		report.FormatDuration(m.endAt), report.FormatDuration(maxSilence(m)), report.FormatDuration(HeartbeatMax+10*time.Second), report.FormatDuration(HeartbeatMax)))
}

func (t *target) checkIdleTimeout() verdict {
	if t.cfg.Hold == 0 {
		return skip("needs --hold DURATION (e.g. --hold 2m) to hold streams open")
	}
	if t.hold == nil {
		return skip("not probed")
	}
	if v, ok := t.needResponse(); !ok {
		return v
	}
	d := t.holdDiagnosis()
	if !d.cut {
		ev := d.evidence
		ev += fmt.Sprintf("\ncuts after more than %s would not show: common defaults are 30-100 s, so hold for 2m to cover them", report.FormatDuration(t.cfg.Hold))
		if !t.hold.refServer {
			ev += "\n(compared: the stream as served; ssebench's reference server also gets a silent and a heartbeat-only stream)"
		}
		return pass(ev)
	}
	v := fail(d.summary, d.evidence+"\nlikely culprit: "+d.culprit())
	v.fix = d.fix()
	return v
}

func (t *target) checkEndKind() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	m := t.main
	if m.end == report.EndTooLarge {
		return skip("ssebench stopped reading at a line or event over the size limit (see event-size)")
	}
	ev := m.describeEnd()
	if t.reconnect != nil && t.reconnect.err == nil && t.reconnect.wire != nil {
		ev += "\nreconnected: " + t.reconnect.describeEnd()
	}
	if m.abrupt() {
		reason := "the stream was cut: " + m.describeEnd()
		if t.cfg.Hold == 0 {
			reason += "; run with --hold to see which timeout"
		}
		return fail(reason, ev)
	}
	if t.reconnect != nil && t.reconnect.abrupt() {
		return fail("the reconnected stream was cut: "+t.reconnect.describeEnd(), ev)
	}
	if m.end == report.EndReadError {
		return fail("reading the stream failed: "+errText(m.endErr), ev)
	}
	return pass(ev)
}

// greetingWindow is how soon after the headers a first comment counts as
// a greeting (koa-sse-stream's ": ok", a "connected" comment), sent once
// on connect, not as a heartbeat.
const greetingWindow = 200 * time.Millisecond

// heartbeats returns the stream's comments that may be heartbeats, and
// the greeting it left out: the first comment when it came with the
// headers, before any event.
func heartbeats(s *stream) (beats []item, greeting *item) {
	cs := s.comments()
	if len(cs) == 0 {
		return nil, nil
	}
	evs := s.eventsOnly()
	if cs[0].at-s.headersAt <= greetingWindow && (len(evs) == 0 || evs[0].at >= cs[0].at) {
		g := cs[0]
		return cs[1:], &g
	}
	return cs, nil
}
