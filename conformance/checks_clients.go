package conformance

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ssebench/ssebench/report"
)

// Checks of many clients: at once, and coming and going.

func (t *target) checkConcurrent() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	if t.main.status != http.StatusOK {
		return skip(fmt.Sprintf("answered %s (see status)", t.main.statusTxt))
	}
	c := t.conc
	if c == nil {
		return skip("not probed")
	}
	// Events are awaited only when the main stream got some: when none
	// arrive at all, that is first-event's or buffering's finding.
	needEvents := t.main.nEvents > 0
	ev := fmt.Sprintf("%d clients at once: %s", c.n, c.statusSummary())
	if c.errSample != "" {
		ev += "\ne.g. " + c.errSample
	}
	if c.pubErr != nil {
		ev += "\n" + errText(c.pubErr)
	}
	if needEvents {
		what := "an event"
		if c.published != "" {
			what = "the event ssebench published"
		}
		ev += fmt.Sprintf("\n%d of %d got %s within %s", c.withEvents, c.n, what, report.FormatDuration(c.elapsed))
	}
	if c.ok < c.n {
		return fail(fmt.Sprintf("only %d of %d simultaneous clients got a stream: a connection or client cap?", c.ok, c.n), ev)
	}
	if needEvents && c.withEvents < c.ok {
		return fail(fmt.Sprintf("%d of %d simultaneous clients got no event", c.ok-c.withEvents, c.ok), ev)
	}
	if !needEvents {
		ev += "\n(the stream sent no event to wait for: only the answers were checked)"
	}
	return pass(ev)
}

func (t *target) checkChurn() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	if t.main.status != http.StatusOK {
		return skip(fmt.Sprintf("answered %s (see status)", t.main.statusTxt))
	}
	c := t.churn
	if c == nil {
		return skip("not probed")
	}
	ev := fmt.Sprintf("%d open/close cycles in %s: %s", c.cycles, report.FormatDuration(c.elapsed), c.statusSummary())
	if c.errSample != "" {
		ev += "\ne.g. " + c.errSample
	}
	a := c.after
	base := t.main
	if a.err != nil {
		return fail("after the cycles a new stream failed: "+errText(a.err), ev)
	}
	ev += fmt.Sprintf("\nafterwards: %s, headers after %s (before: %s)", a.statusTxt, report.FormatDuration(a.headersAt), report.FormatDuration(base.headersAt))
	if a.status != http.StatusOK {
		return fail("after the cycles a new stream is answered "+a.statusTxt, ev)
	}
	if c.failures > max(1, c.cycles/100) {
		return fail(fmt.Sprintf("%d of %d cycles failed (connection errors, 5xx or 429)", c.failures, c.cycles), ev)
	}
	if limit := max(HeadersPrompt, 2*base.headersAt+500*time.Millisecond); a.headersAt > limit {
		return fail(fmt.Sprintf("after the cycles the headers took %s (before: %s)", report.FormatDuration(a.headersAt), report.FormatDuration(base.headersAt)), ev)
	}
	if bevs := base.eventsOnly(); len(bevs) > 0 {
		aevs := a.eventsOnly()
		if len(aevs) == 0 {
			return fail(fmt.Sprintf("after the cycles a new stream got no event in %s (before: the first after %s)", report.FormatDuration(a.endAt), report.FormatDuration(bevs[0].at)), ev)
		}
		ev += fmt.Sprintf("; first event after %s (before: %s)", report.FormatDuration(aevs[0].at), report.FormatDuration(bevs[0].at))
	}
	return pass(ev)
}

func (t *target) checkHTTP2() verdict {
	if v, ok := t.needResponse(); !ok {
		return v
	}
	m := t.main
	if !m.tls {
		return skip("plain http: browsers use HTTP/2 only over TLS")
	}
	if m.proto == "HTTP/2.0" || m.alpn == "h2" {
		return pass("TLS with ALPN h2: " + m.proto)
	}
	alpn := m.alpn
	if alpn == "" {
		alpn = "none"
	}
	return fail("HTTP/2 not offered: browsers then keep at most 6 streams per host across tabs", fmt.Sprintf("%s over TLS, ALPN %s", m.proto, alpn))
}
