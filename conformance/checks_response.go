package conformance

import (
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/sse"
)

// Checks of the response: its status and headers.

func (t *target) checkStatus() verdict {
	m := t.main
	if m.err != nil {
		switch m.errClass {
		case report.EndHeadersTimeout:
			if h := t.heldAnswer(); h != nil {
				ev := fmt.Sprintf("%s over %s after %s, on the stream held for --hold (the main probe gave up after the %s window): the headers are held back (see headers-prompt)",
					h.statusTxt, h.proto, report.FormatDuration(h.headersAt), report.FormatDuration(t.cfg.Window))
				if h.status == http.StatusOK {
					return pass(ev)
				}
				return fail(fmt.Sprintf("answered %s instead of 200", h.statusTxt), ev)
			}
			return fail(fmt.Sprintf("no status line and headers within %s", report.FormatDuration(t.cfg.Window)), "the request was sent; the server (or a proxy) held the response headers back: "+errText(m.err))
		case "cancelled":
			return skip("the run was stopped")
		}
		return fail("no readable HTTP response", errText(m.err))
	}
	ev := fmt.Sprintf("%s over %s after %s", m.statusTxt, m.proto, report.FormatDuration(m.headersAt))
	if m.status == http.StatusOK {
		return pass(ev)
	}
	ev += "\n" + headerEvidence(m.header, "Content-Type", "Location", "Retry-After")
	if m.bodyText != "" {
		ev += "\n" + bodyEvidence(m)
	}
	reason := fmt.Sprintf("answered %s instead of 200", m.statusTxt)
	if m.status == http.StatusNoContent {
		reason += ": 204 tells browsers to stop reconnecting"
	}
	return fail(reason, ev)
}

func (t *target) checkContentType() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	ct, present := t.main.header["Content-Type"]
	ev := headerEvidence(t.main.header, "Content-Type")
	if !present || len(ct) == 0 || ct[0] == "" {
		return fail("no Content-Type: EventSource refuses the stream", ev)
	}
	if sse.IsEventStream(ct[0]) {
		return pass(ev)
	}
	return fail(fmt.Sprintf("Content-Type %q is not text/event-stream: EventSource refuses the stream", ct[0]), ev)
}

func (t *target) checkCharset() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	ct := t.main.header.Get("Content-Type")
	ev := headerEvidence(t.main.header, "Content-Type")
	if ct == "" {
		return pass(ev + " (no charset)")
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fail(fmt.Sprintf("Content-Type %q does not parse: %v", ct, err), ev)
	}
	cs, ok := params["charset"]
	if !ok {
		return pass(ev + " (no charset: fine, event streams are always UTF-8)")
	}
	if strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8") {
		return pass(ev)
	}
	return fail(fmt.Sprintf("charset=%s: event streams are always UTF-8; clients that honour the charset decode the text wrongly", cs), ev)
}

func (t *target) checkCacheControl() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	ev := headerEvidence(t.main.header, "Cache-Control")
	for _, v := range t.main.header.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "no-cache" || d == "no-store" {
				return pass(ev)
			}
		}
	}
	if t.main.header.Get("Cache-Control") == "" {
		return fail("no Cache-Control: caches and CDNs may hold or replay the stream", ev)
	}
	return fail("Cache-Control allows caching: it has neither no-cache nor no-store", ev)
}

func (t *target) checkContentLength() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	m := t.main
	if cl := m.header.Get("Content-Length"); cl != "" {
		return fail(fmt.Sprintf("Content-Length: %s on a stream: the body (and the stream) ends after that many bytes", cl),
			fmt.Sprintf("Content-Length: %s\nthe stream: %s after %s", cl, m.describeEnd(), fmtBytes(m.wire.bytes)))
	}
	switch {
	case m.proto == "HTTP/2.0" || m.proto == "HTTP/3.0":
		return pass("no Content-Length (" + m.proto + " DATA frames)")
	case slices.Contains(m.transferEncoding, "chunked"):
		return pass("no Content-Length (Transfer-Encoding: chunked)")
	}
	return pass("no Content-Length (the body ends when the connection closes)")
}

func (t *target) checkCompression() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	m := t.main
	ev := headerEvidence(m.header, "Content-Encoding", "Vary") + "\nrequest: Accept-Encoding: gzip (as browsers send)"
	if t.plain != nil && t.plain.err == nil {
		pe := t.plain.header.Get("Content-Encoding")
		if pe == "" {
			pe = "none"
		}
		ev += "\nwithout Accept-Encoding: Content-Encoding " + pe
	}
	if m.encoding == "" || m.encoding == "identity" {
		return pass(ev)
	}
	if len(m.wire.head) > 0 {
		ev += fmt.Sprintf("\nfirst body bytes: % x", m.wire.head[:min(len(m.wire.head), 4)])
	}
	reason := fmt.Sprintf("the stream is %s-compressed", m.encoding)
	if m.undecodable {
		reason += " with an encoding ssebench (and many clients) cannot decode"
	} else {
		b := analyzeBuffering(m, t.lone)
		switch b.outcome {
		case bufPrompt:
			reason += "; events still arrived promptly (the compressor flushes per event), but clients that do not inflate see binary bytes, and a compressor without per-event flush would hold events back"
		case bufBuffered:
			reason += "; events were held back by it (see buffering)"
		default:
			reason += "; whether events are held back could not be timed (see buffering)"
		}
	}
	if t.plain != nil && t.plain.err == nil && t.plain.header.Get("Content-Encoding") != "" {
		reason += "; it is compressed even when the client does not accept it"
	}
	return fail(reason, ev)
}

func (t *target) checkXAccel() verdict {
	if v, ok := t.needBody(); !ok {
		return v
	}
	h := t.main.header
	ev := headerEvidence(h, "X-Accel-Buffering", "Server")
	v := strings.ToLower(strings.TrimSpace(h.Get("X-Accel-Buffering")))
	switch {
	case v == "no":
		return pass(ev)
	case v != "":
		return fail(fmt.Sprintf("X-Accel-Buffering: %s asks nginx to buffer the stream", h.Get("X-Accel-Buffering")), ev)
	case strings.Contains(strings.ToLower(h.Get("Server")), "nginx"):
		return skip("an nginx in front consumes X-Accel-* headers, so whether the origin sends it cannot be seen here (see buffering)")
	}
	return fail("no X-Accel-Buffering: no; an nginx in front would buffer the stream unless configured with proxy_buffering off", ev)
}

func (t *target) checkHeadersPrompt() verdict {
	m := t.main
	if m.err != nil {
		if m.errClass == report.EndHeadersTimeout {
			ev := "the response headers were held back the whole window"
			if h := t.heldAnswer(); h != nil {
				ev += fmt.Sprintf("; the stream held for --hold got them after %s", report.FormatDuration(h.headersAt))
			}
			return fail(fmt.Sprintf("no status and headers within %s", report.FormatDuration(t.cfg.Window)), ev)
		}
		v, _ := t.needResponse()
		return v
	}
	ev := fmt.Sprintf("status and headers after %s", report.FormatDuration(m.headersAt))
	evs := m.eventsOnly()
	if len(evs) > 0 {
		ev += fmt.Sprintf("; first event after %s", report.FormatDuration(evs[0].at))
	}
	if m.headersAt <= HeadersPrompt {
		return pass(ev)
	}
	reason := fmt.Sprintf("the headers took %s (more than %s)", report.FormatDuration(m.headersAt), report.FormatDuration(HeadersPrompt))
	if len(evs) > 0 && evs[0].at-m.headersAt < 100*time.Millisecond {
		reason += ", and came with the first event: the response is held until the body starts"
	}
	return fail(reason, ev)
}

func (t *target) checkRequestHeaders() verdict {
	if v, ok := t.needResponse(); !ok {
		return v
	}
	m := t.main
	ev := fmt.Sprintf("Accept: text/event-stream, Cache-Control: no-cache, Accept-Encoding: gzip → %s", m.statusTxt)
	if t.plain != nil {
		if t.plain.err != nil {
			ev += "\nwithout them → " + errText(t.plain.err)
		} else {
			ev += "\nwithout them → " + t.plain.statusTxt
		}
	}
	if m.status == http.StatusOK {
		return pass(ev)
	}
	if t.plain != nil && t.plain.err == nil && t.plain.status == http.StatusOK {
		return fail(fmt.Sprintf("a request with EventSource's headers is answered %s, one without them 200", m.statusTxt), ev)
	}
	return skip(fmt.Sprintf("every request is answered %s (see status)", m.statusTxt))
}

func (t *target) checkCORS() verdict {
	if t.cfg.Origin == "" {
		return skip("no --origin given")
	}
	c := t.cors
	if c == nil {
		return skip("not probed")
	}
	if c.err != nil {
		return fail("the request with an Origin failed: "+errText(c.err), "Origin: "+t.cfg.Origin)
	}
	ev := "request Origin: " + t.cfg.Origin + " → " + c.statusTxt + "\n" + headerEvidence(c.header, "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Vary")
	if c.status != http.StatusOK {
		return fail(fmt.Sprintf("with Origin %s the stream is answered %s", t.cfg.Origin, c.statusTxt), ev)
	}
	acao := c.header.Get("Access-Control-Allow-Origin")
	switch {
	case acao == t.cfg.Origin:
		return pass(ev)
	case acao == "*":
		if strings.EqualFold(c.header.Get("Access-Control-Allow-Credentials"), "true") {
			return fail("Access-Control-Allow-Origin: * with credentials: browsers refuse it for withCredentials", ev)
		}
		return pass(ev + "\n(* works only without withCredentials)")
	case acao == "":
		return fail("no Access-Control-Allow-Origin: a page on "+t.cfg.Origin+" cannot read the stream", ev)
	}
	return fail(fmt.Sprintf("Access-Control-Allow-Origin %q does not match %s", acao, t.cfg.Origin), ev)
}

func (t *target) checkPreflight() verdict {
	if t.cfg.Origin == "" {
		return skip("no --origin given")
	}
	p := t.preflight
	if p == nil {
		return skip("not probed")
	}
	req := fmt.Sprintf("OPTIONS with Origin: %s, Access-Control-Request-Method: %s, Access-Control-Request-Headers: last-event-id", t.cfg.Origin, t.cfg.Method)
	if p.err != nil {
		return fail("the preflight failed: "+errText(p.err), req)
	}
	ev := req + " → " + p.status + "\n" + headerEvidence(p.header, "Access-Control-Allow-Origin", "Access-Control-Allow-Headers", "Access-Control-Allow-Methods")
	var missing []string
	if p.code < 200 || p.code >= 300 {
		missing = append(missing, "a 2xx status")
	}
	if acao := p.header.Get("Access-Control-Allow-Origin"); acao != t.cfg.Origin && acao != "*" {
		missing = append(missing, "Access-Control-Allow-Origin")
	}
	allowed := false
	for _, v := range p.header.Values("Access-Control-Allow-Headers") {
		for h := range strings.SplitSeq(v, ",") {
			h = strings.TrimSpace(h)
			if strings.EqualFold(h, "last-event-id") || h == "*" {
				allowed = true
			}
		}
	}
	if !allowed {
		missing = append(missing, "Last-Event-ID in Access-Control-Allow-Headers")
	}
	if m := t.cfg.Method; m != http.MethodGet && m != http.MethodHead && m != http.MethodPost {
		if am := p.header.Get("Access-Control-Allow-Methods"); !strings.Contains(strings.ToUpper(am), m) && am != "*" {
			missing = append(missing, m+" in Access-Control-Allow-Methods")
		}
	}
	if len(missing) > 0 {
		return fail("the preflight lacks "+strings.Join(missing, ", "), ev)
	}
	return pass(ev)
}

// hopByHop are the connection-specific headers HTTP/2 forbids.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"}

func (t *target) checkH2HopByHop() verdict {
	m := t.main
	if m.err != nil {
		if strings.Contains(errText(m.err), "http2") && m.tls {
			return fail("the HTTP/2 response was refused: "+errText(m.err), "")
		}
		v, _ := t.needResponse()
		return v
	}
	if m.proto != "HTTP/2.0" {
		return skip("not HTTP/2 (" + m.proto + ")")
	}
	return hopByHopVerdict(m.header)
}

func hopByHopVerdict(h http.Header) verdict {
	var found []string
	for _, name := range hopByHop {
		if v := h.Values(name); len(v) > 0 {
			found = append(found, name+": "+strings.Join(v, ", "))
		}
	}
	if len(found) > 0 {
		return fail("connection-specific headers over HTTP/2: "+strings.Join(found, "; "), strings.Join(found, "\n"))
	}
	return pass("HTTP/2 response without Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding or Upgrade")
}

// heldAnswer is the held stream's response when it got one: with --hold,
// the headers the main probe gave up on may still come.
func (t *target) heldAnswer() *stream {
	if t.hold == nil {
		return nil
	}
	h := t.hold.get(holdAsIs)
	if h == nil || h.err != nil || h.status == 0 {
		return nil
	}
	return h
}
