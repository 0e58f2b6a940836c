package conformance

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssebench/ssebench/report"
)

// Held stream roles.
const (
	holdAsIs  = "as served"
	holdIdle  = "silent"
	holdAlive = "kept alive"
)

// heldStream is one stream of the hold probe.
type heldStream struct {
	role  string
	query string // the query change that made the role, if any
	s     *stream
}

// holdResult is what the long probes saw.
type holdResult struct {
	hold      time.Duration
	refServer bool
	streams   []heldStream
}

// probeHold holds streams open for cfg.Hold. Against ssebench's reference
// server it holds three: the stream as served, a silent one (rate=0,
// heartbeat=0) and one kept alive by heartbeats only (rate=0,
// heartbeat=1s), so an idle cut and a lifetime cap tell themselves apart.
// Against other servers it holds the stream as served and reads the
// silences before the cut.
func (t *target) probeHold(ctx context.Context) *holdResult {
	r := &holdResult{hold: t.cfg.Hold}
	// The first event tells the reference server apart.
	if t.cfg.Method == http.MethodGet {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		evs, _ := t.main.waitEvents(wctx, func(evs []item) bool { return len(evs) > 0 })
		cancel()
		r.refServer = detectRefServer(t.cfg.URL, evs)
	}
	add := func(role string, kv ...string) {
		spec := t.spec()
		spec.window = t.cfg.Hold
		spec.light = true
		if len(kv) > 0 {
			spec.url = withQuery(spec.url, kv...)
		}
		r.streams = append(r.streams, heldStream{role: role, query: strings.Join(pairs(kv), "&"), s: newStream(spec)})
	}
	add(holdAsIs)
	if r.refServer {
		add(holdIdle, "rate", "0", "heartbeat", "0")
		add(holdAlive, "rate", "0", "heartbeat", "1s")
	}
	var wg sync.WaitGroup
	for _, h := range r.streams {
		// A connection of its own each: over HTTP/2 a kept-alive stream
		// on a shared connection would keep the silent one's connection
		// busy too, and hide a per-connection idle timeout.
		// Headers may take the whole hold: --hold is how a user waits
		// for a server that answers only with its first event.
		p := newProber(t.cfg.Insecure, max(t.cfg.Window, t.cfg.Hold))
		wg.Go(func() {
			defer p.close()
			p.run(ctx, h.s)
		})
	}
	wg.Wait()
	return r
}

func pairs(kv []string) []string {
	var out []string
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, kv[i]+"="+kv[i+1])
	}
	return out
}

func (r *holdResult) get(role string) *stream {
	for _, h := range r.streams {
		if h.role == role {
			return h.s
		}
	}
	return nil
}

// cutStream says whether a held stream was cut, and how.
func cutStream(s *stream) bool { return s != nil && s.err == nil && s.serverEnded() }

// lifetime is how long a held stream lived, from its headers to its end.
func lifetime(s *stream) time.Duration { return s.endAt - s.headersAt }

// silence is how long a held stream had been silent when it ended.
func silence(s *stream) time.Duration {
	if s.wire == nil {
		return lifetime(s)
	}
	return s.wire.silenceAtEnd(s.endAt)
}

// howCut names the way a stream was cut.
func howCut(s *stream) string {
	switch s.end {
	case report.EndTruncated:
		if s.proto == "HTTP/2.0" {
			return "HTTP/2 stream ended early"
		}
		if s.header.Get("Content-Length") != "" {
			return "FIN short of Content-Length"
		}
		return "FIN without the final chunk (truncated chunked body)"
	case report.EndReset:
		return "RST (" + errText(s.endErr) + ")"
	case report.EndEOF:
		return "a clean end of the response (final chunk)"
	case report.EndEOFMidEvent:
		return "a clean end of the response, inside an event"
	}
	return s.end
}

// timeoutDiagnosis is the idle-timeout verdict with its explanation.
type timeoutDiagnosis struct {
	cut      bool
	kind     string // KindIdle, KindLifetime or "" (cannot tell)
	after    time.Duration
	sure     bool
	summary  string
	evidence string
	matches  []timeoutMatch
	header   http.Header
	clean    bool // the cut stream ended cleanly (final chunk): the server's own end
}

// diagnose reads the held streams.
func (r *holdResult) diagnose() timeoutDiagnosis {
	var d timeoutDiagnosis
	var ev []string
	for _, h := range r.streams {
		s := h.s
		label := h.role
		if h.query != "" {
			label += " (" + h.query + ")"
		}
		switch {
		case s.err != nil:
			ev = append(ev, fmt.Sprintf("%s: no stream (%v)", label, s.err))
		case !s.ok():
			ev = append(ev, fmt.Sprintf("%s: answered %s", label, s.statusTxt))
		case cutStream(s):
			ev = append(ev, fmt.Sprintf("%s: cut after %s (%s silent before the cut, longest earlier silence %s) by %s",
				label, report.FormatDuration(lifetime(s)), report.FormatDuration(silence(s)), report.FormatDuration(earlierGap(s)), howCut(s)))
		default:
			ev = append(ev, fmt.Sprintf("%s: open for the whole hold of %s (%s, longest silence %s)",
				label, report.FormatDuration(r.hold), plural(s.nEvents, "event", "events")+", "+plural(s.nComment, "comment", "comments"), report.FormatDuration(maxSilence(s))))
		}
		if d.header == nil && s.header != nil {
			d.header = s.header
		}
	}
	d.evidence = strings.Join(ev, "\n")

	asIs, idle, alive := r.get(holdAsIs), r.get(holdIdle), r.get(holdAlive)
	anyCut := cutStream(asIs) || cutStream(idle) || cutStream(alive)
	if !anyCut {
		return d
	}
	d.cut = true
	if r.refServer && idle != nil && alive != nil {
		switch {
		case cutStream(idle) && !cutStream(alive) && alive.ok():
			d.kind, d.after, d.sure = KindIdle, silence(idle), true
			d.summary = fmt.Sprintf("idle cut: a silent stream was cut after %s, one with heartbeats every 1 s stayed open: heartbeats avoid it", report.FormatDuration(d.after))
		case cutStream(idle) && cutStream(alive) && near(lifetime(idle), lifetime(alive)):
			d.kind, d.after, d.sure = KindLifetime, (lifetime(idle)+lifetime(alive))/2, true
			d.summary = fmt.Sprintf("lifetime cap: streams are cut after %s whether silent or kept alive by heartbeats: heartbeats do not help", report.FormatDuration(d.after))
		case cutStream(idle) && cutStream(alive) && lifetime(idle) < lifetime(alive):
			d.kind, d.after, d.sure = KindIdle, silence(idle), true
			d.summary = fmt.Sprintf("idle cut after %s of silence (heartbeats avoid it), and a lifetime cap after %s (they do not)", report.FormatDuration(silence(idle)), report.FormatDuration(lifetime(alive)))
		case cutStream(alive):
			d.kind, d.after = KindLifetime, lifetime(alive)
			d.summary = fmt.Sprintf("the stream kept alive by heartbeats was cut after %s: a lifetime cap", report.FormatDuration(d.after))
		default:
			// Only the stream as served was cut: it is the only one
			// with the URL's own rate, so read its silences.
			return r.inferSingle(d, asIs)
		}
		d.matches = matchTimeouts(d.after, d.kind, d.header)
		return d
	}
	s := asIs
	if !cutStream(s) {
		for _, h := range r.streams {
			if cutStream(h.s) {
				s = h.s
				break
			}
		}
	}
	return r.inferSingle(d, s)
}

// inferSingle explains one cut stream from its own silences: cut while
// bytes flowed, or after surviving longer silences, is a lifetime cap; cut
// after its longest silence may be idle; silent from the start cannot be
// told.
func (r *holdResult) inferSingle(d timeoutDiagnosis, s *stream) timeoutDiagnosis {
	life, quiet, earlier := lifetime(s), silence(s), earlierGap(s)
	switch {
	case quiet < time.Second || earlier > quiet+time.Second:
		d.kind, d.after = KindLifetime, life
		d.summary = fmt.Sprintf("lifetime cap: the stream was cut after %s while bytes were flowing (%s silent before the cut, longest earlier silence %s): heartbeats would not help", report.FormatDuration(life), report.FormatDuration(quiet), report.FormatDuration(earlier))
	case quiet >= life-500*time.Millisecond:
		d.kind, d.after = "", life
		d.summary = fmt.Sprintf("cut after %s of a stream that sent nothing at all: cannot tell an idle timeout (heartbeats would avoid it) from a lifetime cap (they would not); send heartbeats and run again, or pass --publish", report.FormatDuration(life))
	default:
		d.kind, d.after = KindIdle, quiet
		d.summary = fmt.Sprintf("likely an idle cut: the stream was cut after %s of silence (lifetime %s), and never was silent that long before", report.FormatDuration(quiet), report.FormatDuration(life))
	}
	d.matches = matchTimeouts(d.after, d.kind, d.header)
	if s.end == report.EndEOF || s.end == report.EndEOFMidEvent {
		// A clean end (the final chunk) is the server ending its own
		// response; timeouts cut without it. Only a product whose default
		// the cut matches still may explain it: one named by the headers
		// alone does not (Node's requestTimeout, for one, bounds reading
		// the request, never a response that has started).
		d.clean = true
		d.matches = slices.DeleteFunc(d.matches, func(m timeoutMatch) bool { return !m.byDefault })
	}
	return d
}

// near reports whether two cut times are the same timeout.
func near(a, b time.Duration) bool {
	diff := a - b
	if diff < 0 {
		diff = -diff
	}
	return diff <= max(time.Second, time.Duration(0.1*float64(max(a, b))))
}

// maxSilence is the longest silence of a stream, its end included.
func maxSilence(s *stream) time.Duration {
	if s.wire == nil {
		return s.endAt - s.headersAt
	}
	return max(s.wire.maxGap, s.wire.silenceAtEnd(s.endAt))
}

// earlierGap is the longest silence before the last bytes of a stream.
func earlierGap(s *stream) time.Duration {
	if s.wire == nil {
		return 0
	}
	return s.wire.maxGap
}

// culprit names the most likely timeout, or says none is known.
func (d timeoutDiagnosis) culprit() string {
	if len(d.matches) == 0 && d.clean {
		return fmt.Sprintf("the server ended the response itself after %s (a clean end with the final chunk, which timeouts do not send): look for code that ends the stream (res.end(), a handler that returns) or a lifetime limit in the application", report.FormatDuration(d.after))
	}
	if len(d.matches) == 0 {
		return fmt.Sprintf("no known default matches %s: look for a timeout of about %s in every proxy, load balancer and the server itself", report.FormatDuration(d.after), fmtSeconds(d.after))
	}
	var names []string
	for _, m := range d.matches {
		names = append(names, m.describe(d.after))
	}
	return strings.Join(names, "; or ")
}

func (d timeoutDiagnosis) fix() string {
	if len(d.matches) == 0 && d.clean {
		return "keep the stream open in the application (do not end the response on a timer); if it must end, send retry: so clients reconnect later, and let them resume with Last-Event-ID"
	}
	if len(d.matches) == 0 {
		if d.kind == KindLifetime {
			return "raise the lifetime cap; clients then resume with Last-Event-ID"
		}
		return "raise the idle timeout and send a heartbeat comment well inside it (every 15-30 s)"
	}
	var fixes []string
	for _, m := range d.matches {
		fixes = append(fixes, m.Product+": "+m.Fix)
	}
	return strings.Join(fixes, "\n")
}

// finding turns the diagnosis into a report entry.
func (d timeoutDiagnosis) finding() report.Finding {
	kind := "idle-cut"
	switch d.kind {
	case KindLifetime:
		kind = "lifetime-cap"
	case "":
		kind = "cut"
	}
	return report.Finding{Kind: kind, Summary: d.summary, Evidence: d.evidence, Culprit: d.culprit(), Fix: d.fix()}
}

// timeoutFindings is the timeout diagnosis of a check run.
func (t *target) timeoutFindings() []report.Finding {
	if t.hold == nil || !t.sel["idle-timeout"] {
		return nil
	}
	d := t.holdDiagnosis()
	if !d.cut {
		return nil
	}
	return []report.Finding{d.finding()}
}
