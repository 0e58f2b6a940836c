package conformance

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// DiagnoseConfig is what `ssebench diagnose` compares: the same stream
// straight from the origin and through a proxy. Each field maps 1:1 to a
// flag; zero values are the defaults of Config.
type DiagnoseConfig struct {
	Origin string // the stream at the origin (--origin)
	Via    string // the same stream through the proxy (--via)
	Method string
	Body   []byte
	Header http.Header
	// Publish, when set, is POSTed to so both streams get an event
	// (--publish): for quiet streams.
	Publish  string
	Insecure bool
	// Hold adds the idle-timeout and lifetime probes (--hold).
	Hold    time.Duration
	Window  time.Duration
	MaxSize int
}

// diagnoseIDs are the checks diagnose runs on both sides: the ones a
// proxy can change.
var diagnoseIDs = []string{
	"status", "content-type", "charset", "cache-control", "content-length", "compression",
	"headers-prompt", "h2-hop-by-hop", "first-event", "buffering", "heartbeat", "idle-timeout", "end-kind", "http2",
}

// findingKind maps a check that fails only through the proxy to the kind
// of finding it becomes.
var findingKind = map[string]string{
	"status":         "proxy-error",
	"content-type":   "header-rewrite",
	"charset":        "header-rewrite",
	"cache-control":  "header-rewrite",
	"content-length": "header-rewrite",
	"h2-hop-by-hop":  "header-rewrite",
	"compression":    "compression",
	"headers-prompt": "buffering",
	"first-event":    "buffering",
	"buffering":      "buffering",
	"heartbeat":      "heartbeat",
	"end-kind":       "cut",
	"http2":          "protocol",
}

// Diagnose runs the streaming probes on the origin and through the proxy
// at the same time and attributes each difference to the proxy, naming the
// likely setting and a fix (report.Finding). The report's checks are the
// stream as clients see it through the proxy, each with the origin's
// result beside it. The error is as for Run.
func Diagnose(ctx context.Context, dc DiagnoseConfig) (*report.CheckReport, error) {
	base := Config{Method: dc.Method, Body: dc.Body, Header: dc.Header, Publish: dc.Publish, Insecure: dc.Insecure,
		Hold: dc.Hold, Window: dc.Window, MaxSize: dc.MaxSize, Only: diagnoseIDs}
	oc, vc := base, base
	oc.URL, vc.URL = dc.Origin, dc.Via
	var err error
	if oc, err = oc.withDefaults(); err != nil {
		return nil, relabel(err, "URL", "--origin")
	}
	if vc, err = vc.withDefaults(); err != nil {
		return nil, relabel(err, "URL", "--via")
	}
	sel, err := selectChecks(diagnoseIDs, nil)
	if err != nil {
		return nil, &ConfigError{err}
	}
	start := time.Now()
	origin, via := newTarget(oc, sel), newTarget(vc, sel)
	defer origin.p.close()
	defer via.p.close()
	var wg sync.WaitGroup
	wg.Go(func() { origin.probe(ctx) })
	wg.Go(func() { via.probe(ctx) })
	// The proxy's own way of writing headers names proxies that send no
	// Server header (HAProxy). One more request: for GET streams only, so
	// nothing with a body (a prompt, an order) is sent once more for it.
	// With --hold the proxy's probe reads it (via.head).
	var head headFingerprint
	if vc.Method == http.MethodGet && vc.Hold == 0 {
		wg.Go(func() { head = fetchHead(ctx, vc, min(vc.Window, 5*time.Second)) })
	}
	wg.Wait()
	if via.head != nil {
		head = *via.head
	}

	rep := newReport("diagnose", dc.Origin, start)
	rep.Via = scenarios.RedactURL(dc.Via)
	if err := origin.unreachable(); err != nil {
		rep.Notes = append(rep.Notes, "origin: "+err.Error())
		finishReport(rep, start)
		rep.Passed = false
		return rep, fmt.Errorf("origin: %w", err)
	}
	if err := via.unreachable(); err != nil {
		rep.Notes = append(rep.Notes, "via: "+err.Error())
		finishReport(rep, start)
		rep.Passed = false
		return rep, fmt.Errorf("via: %w", err)
	}
	ovs, vvs := origin.evaluate(), via.evaluate()
	rep.Checks, rep.Findings, rep.Notes = compare(origin, via, ovs, vvs, identifyProxy(via.main.header, head))
	markInterrupted(ctx, rep)
	finishReport(rep, start)
	return rep, nil
}

func relabel(err error, from, to string) error {
	return &ConfigError{fmt.Errorf("%s", strings.Replace(err.Error(), from, to, 1))}
}

// compare puts the origin's verdict beside each of the proxy's and turns
// what fails only through the proxy into findings.
func compare(origin, via *target, ovs, vvs []report.CheckResult, pid proxyID) ([]report.CheckResult, []report.Finding, []string) {
	byID := map[string]report.CheckResult{}
	for _, c := range ovs {
		byID[c.ID] = c
	}
	var notes []string
	type group struct {
		checks   []report.CheckResult
		evidence []string
	}
	groups := map[string]*group{}
	var order []string
	held := heldBack(origin, via)
	// A compressor that holds events back is one cause, not two: its
	// delays are part of the compression finding.
	compressed := compressedOnlyThrough(origin, via)
	checks := make([]report.CheckResult, len(vvs))
	for i, vc := range vvs {
		oc := byID[vc.ID]
		line := oc.Status
		if detail := firstLine(oc.Reason, oc.Evidence); detail != "" {
			line += ": " + detail
		}
		vc.Evidence = strings.TrimSpace(vc.Evidence + "\norigin direct: " + line)
		checks[i] = vc
		if vc.Status != report.StatusFail {
			if oc.Status == report.StatusFail {
				notes = append(notes, fmt.Sprintf("%s fails at the origin but not through the proxy (the proxy hides or fixes it): %s", vc.ID, oc.Reason))
			}
			continue
		}
		if oc.Status == report.StatusFail {
			notes = append(notes, fmt.Sprintf("%s fails at the origin too, so it is not the proxy's doing: fix the origin first (%s)", vc.ID, oc.Reason))
			continue
		}
		if vc.ID == "idle-timeout" {
			continue // the hold diagnosis below
		}
		kind := findingKind[vc.ID]
		if held != "" && (vc.ID == "status" || vc.ID == "headers-prompt") {
			kind = held // one cause for the missing status line and headers
		}
		if compressed && kind == "buffering" {
			kind = "compression"
		}
		g := groups[kind]
		if g == nil {
			g = &group{}
			groups[kind] = g
			order = append(order, kind)
		}
		g.checks = append(g.checks, vc)
		g.evidence = append(g.evidence, fmt.Sprintf("%s through the proxy: %s; at the origin: %s", vc.ID, firstLine(vc.Reason, vc.Evidence), line))
	}
	var findings []report.Finding
	for _, kind := range order {
		g := groups[kind]
		f := report.Finding{Kind: kind, Evidence: strings.Join(g.evidence, "\n")}
		f.Summary, f.Culprit, f.Fix = explain(kind, g.checks, pid.name, origin, via)
		if pid.name != "" {
			f.Evidence += "\nthe proxy is " + pid.name + ": " + pid.how
		}
		findings = append(findings, f)
	}
	if d, ok := holdFinding(origin, via, pid); ok {
		findings = append(findings, d)
	}
	if via.main.header == nil {
		notes = append(notes, "no response headers came through the proxy, so none could be compared with the origin's")
	} else if diff := headerDiff(origin.main.header, via.main.header); len(diff) > 0 {
		notes = append(notes, "headers the proxy changed: "+strings.Join(diff, "; "))
	}
	return checks, findings, notes
}

// heldBufferMax is how much an origin may send while the proxy passes
// nothing on for buffering to explain it: nginx's default proxy buffers
// are 8 of one memory page (4 or 8 KiB), and it passes a buffer on once it
// is full, so a buffering nginx lets something through well before this.
const heldBufferMax = 64 << 10

// heldBack says what it means when the proxy sent no status line for the
// whole window while the origin answered at once: "buffering" when the
// origin sent less than a few proxy buffers in that time (a buffering
// proxy sends the headers with its first full buffer), "proxy-error" when
// it sent more (the proxy is stuck, most likely on the origin), "" when
// the proxy did answer.
func heldBack(origin, via *target) string {
	if via.main == nil || via.main.errClass != report.EndHeadersTimeout || origin.main == nil || !origin.main.ok() {
		return ""
	}
	if sent := originBytes(origin); sent >= heldBufferMax {
		return "proxy-error"
	}
	return "buffering"
}

// compressedOnlyThrough says whether the proxy compresses a stream the
// origin sends uncompressed.
func compressedOnlyThrough(origin, via *target) bool {
	enc := func(t *target) bool { return t.main != nil && t.main.encoding != "" && t.main.encoding != "identity" }
	return enc(via) && !enc(origin)
}

// originBytes is how many body bytes the origin's main stream sent.
func originBytes(origin *target) int64 {
	if origin.main.wire == nil {
		return 0
	}
	return origin.main.wire.bytes
}

// statusText is a stream's status line for a summary, or what came
// instead of one.
func statusText(s *stream, window time.Duration) string {
	if s.statusTxt != "" {
		return s.statusTxt
	}
	if s.errClass == report.EndHeadersTimeout {
		return "no status line within " + report.FormatDuration(window)
	}
	return "no status line (" + errText(s.err) + ")"
}

// holdFinding is the timeout diagnosis of the proxy's held streams, when
// the origin's were not cut. A proxy told apart by more than its headers
// (pid) is matched by name too, and its tested config is the fix.
func holdFinding(origin, via *target, pid proxyID) (report.Finding, bool) {
	if via.hold == nil {
		return report.Finding{}, false
	}
	d := via.holdDiagnosis()
	if !d.cut {
		return report.Finding{}, false
	}
	f := d.finding()
	if snippet := proxySnippet(pid.name); snippet != "" && len(d.matches) > 0 && d.matches[0].named() {
		f.Fix += "\n" + pid.name + ", as in the config ssebench's tests run through it:\n" + indent(snippet)
	}
	if origin.hold != nil {
		if od := origin.hold.diagnose(); od.cut {
			f.Summary += fmt.Sprintf(" (the origin's own streams were cut too: %s)", od.summary)
			return f, true
		}
		f.Summary = "through the proxy only: " + f.Summary
		f.Evidence += "\nat the origin, the same streams stayed open for the whole hold"
	}
	return f, true
}

// proxyName names the proxy from its response headers ("" if unknown).
func proxyName(h http.Header) string {
	server := strings.ToLower(h.Get("Server"))
	via := strings.ToLower(strings.Join(h.Values("Via"), " "))
	switch {
	case strings.Contains(server, "nginx"), strings.Contains(server, "openresty"):
		return nameNginx
	case strings.Contains(server, "apache"):
		return nameApache
	case strings.Contains(server, "caddy"):
		return nameCaddy
	case strings.Contains(server, "envoy"), h.Get("X-Envoy-Upstream-Service-Time") != "":
		return "Envoy"
	case strings.Contains(server, "cloudflare"), h.Get("Cf-Ray") != "":
		return "Cloudflare"
	case strings.Contains(server, "awselb"):
		return "AWS ALB"
	case strings.Contains(via, "google"):
		return "Google Cloud Load Balancer"
	case strings.Contains(via, "cloudfront"), h.Get("X-Amz-Cf-Id") != "":
		return "AWS CloudFront"
	case strings.Contains(via, "vegur"):
		return "Heroku router"
	}
	return ""
}

// explain says what the proxy did, the likely setting, and a fix snippet.
func explain(kind string, checks []report.CheckResult, proxy string, origin, via *target) (summary, culprit, fix string) {
	ids := make([]string, len(checks))
	for i, c := range checks {
		ids[i] = c.ID
	}
	who := proxy
	if who == "" {
		who = "the proxy"
	}
	switch kind {
	case "buffering":
		summary = fmt.Sprintf("%s buffers the stream: events arrive late and in bursts through it, promptly at the origin (%s)", who, strings.Join(ids, ", "))
		if heldBack(origin, via) == "buffering" {
			summary = fmt.Sprintf("%s buffers the stream: for the whole %s it passed nothing on, not even the status line and headers (%s), while the origin answered %s at once and sent %d events (%s), less than a proxy buffer holds before it is passed on",
				who, report.FormatDuration(via.cfg.Window), strings.Join(ids, ", "), origin.main.statusTxt, origin.main.nEvents, fmtBytes(originBytes(origin)))
		}
		culprit = "response buffering in " + who
		hint := strings.EqualFold(origin.main.header.Get("X-Accel-Buffering"), "no")
		switch {
		case proxy == nameNginx:
			culprit = "nginx proxy_buffering (on by default)"
			if hint {
				culprit += "; the origin sends X-Accel-Buffering: no, so this nginx ignores it (proxy_ignore_headers X-Accel-Buffering) or a proxy in between strips it"
			} else {
				culprit += ", and the origin does not send X-Accel-Buffering: no, which would turn it off for the stream"
			}
		case proxy == nameApache:
			culprit = "Apache httpd: mod_proxy without flushpackets=on, or an output filter that buffers (mod_deflate)"
		case proxy == nameCaddy:
			// reverse_proxy flushes text/event-stream at once whatever
			// flush_interval says, and sends the headers at once: what
			// holds them is encode, deciding whether to compress.
			culprit = "Caddy encode on the stream: it holds the headers, and events shorter than its minimum_length (512 bytes), until it has enough to decide whether to compress (reverse_proxy itself flushes text/event-stream at once)"
		case proxy == nameHAProxy:
			culprit = "HAProxy: compression or http-buffer-request on the stream's frontend or backend (HAProxy itself does not buffer responses)"
		case proxy == "" && via.main.header == nil:
			// No headers came through to name the proxy by.
			culprit += "; if it is nginx: proxy_buffering (on by default)"
			if hint {
				culprit += ", with the origin's X-Accel-Buffering: no ignored (proxy_ignore_headers X-Accel-Buffering) or stripped by a proxy in between"
			} else {
				culprit += ", which the origin could turn off for the stream with X-Accel-Buffering: no"
			}
		}
		fix = bufferingSnippet(proxy)
	case "compression":
		summary = fmt.Sprintf("%s compresses the stream (Content-Encoding: %s), the origin does not", who, via.main.encoding)
		var held []string
		for _, id := range ids {
			if findingKind[id] == "buffering" {
				held = append(held, id)
			}
		}
		if len(held) > 0 {
			summary += fmt.Sprintf(", and its compressor holds the stream back (%s): events arrive late through it, promptly at the origin", strings.Join(held, ", "))
		}
		culprit = "response compression in " + who
		switch proxy {
		case nameNginx:
			culprit = "nginx gzip with text/event-stream in gzip_types"
		case nameApache:
			culprit = "Apache httpd mod_deflate compresses text/event-stream (AddOutputFilterByType DEFLATE, no no-gzip for the stream)"
		case nameCaddy:
			culprit = "Caddy encode gzip on the stream (it holds the headers and small events until it has enough to compress)"
		case nameHAProxy:
			culprit = "HAProxy compression with text/event-stream in compression type"
		}
		fix = compressionSnippet(proxy)
	case "header-rewrite":
		summary = fmt.Sprintf("%s changes headers the stream depends on (%s)", who, strings.Join(ids, ", "))
		if diff := headerDiff(origin.main.header, via.main.header); len(diff) > 0 {
			summary += ": " + strings.Join(diff, "; ")
		}
		culprit = "header rules in " + who + " (add_header / proxy_hide_header / a default Content-Type / a response-length filter)"
		fix = "Pass the origin's Content-Type, Cache-Control and (absent) Content-Length through unchanged; nginx: remove proxy_hide_header, more_set_headers or add_header rules for the stream's location, and do not set default_type over it."
	case "proxy-error":
		summary = fmt.Sprintf("%s answers %s where the origin answers %s", who, statusText(via.main, via.cfg.Window), statusText(origin.main, origin.cfg.Window))
		if heldBack(origin, via) == "proxy-error" {
			summary += fmt.Sprintf(" and sent %s in that time, more than a buffering proxy holds back", fmtBytes(originBytes(origin)))
		}
		culprit = who + " cannot reach or keep the origin (upstream address, TLS to the origin, or its own timeout)"
		fix = "Check the proxy's error log for this request; nginx: proxy_pass address, proxy_connect_timeout and proxy_read_timeout."
	case "cut":
		summary = fmt.Sprintf("%s cuts the stream: %s", who, firstLine(checks[0].Reason, ""))
		culprit = "a timeout in " + who + ": run with --hold 2m for the exact one"
		fix = bufferingSnippet(proxy)
	case "heartbeat":
		summary = fmt.Sprintf("through %s the stream goes silent for longer than %s while the origin's does not", who, report.FormatDuration(HeartbeatMax))
		culprit = who + " drops or delays the origin's heartbeat comments"
		fix = "Forward the stream unbuffered so comments pass at once (see buffering)."
	case "protocol":
		summary = fmt.Sprintf("%s does not offer HTTP/2", who)
		culprit = who + "'s listener has HTTP/2 off"
		fix = "nginx: listen 443 ssl; http2 on; (nginx 1.25+) or listen 443 ssl http2;"
	default:
		summary = fmt.Sprintf("%s changes %s", who, strings.Join(ids, ", "))
	}
	return summary, culprit, fix
}

// A fix line per proxy ssebench is tested through: each directive in
// backquotes is in that proxy's correct config in fixtures/proxies (a test
// holds them to it), whose SSE part follows the named proxy's line.
var (
	bufferingFixes = []fixLine{
		{nameNginx, "`proxy_buffering off;` in the stream's location, or have the origin send X-Accel-Buffering: no (and remove any proxy_ignore_headers X-Accel-Buffering)"},
		{nameApache, "`flushpackets=on` on the stream's ProxyPass, and no mod_deflate on text/event-stream"},
		{nameCaddy, "leave event streams out of encode with a named matcher: `@notsse not header Accept text/event-stream*` and `encode @notsse gzip` (reverse_proxy flushes text/event-stream at once; `flush_interval -1` does so for every response)"},
		{nameHAProxy, "it does not buffer responses itself: remove `compression` and `http-buffer-request` from the stream's frontend and backend"},
	}
	bufferingOthers = `Traefik: remove the buffering middleware from the route
IIS/ARR: responseBufferLimit="0" on the proxy rule`
	compressionFixes = []fixLine{
		{nameNginx, "`gzip off;` in the stream's location (or remove text/event-stream from gzip_types)"},
		{nameApache, "`SetEnvIfNoCase Accept text/event-stream no-gzip` (or remove text/event-stream from AddOutputFilterByType DEFLATE)"},
		{nameCaddy, "a named matcher that leaves event streams out: `@notsse not header Accept text/event-stream*` and `encode @notsse gzip`"},
		{nameHAProxy, "remove text/event-stream from `compression type` (or compression from the stream's backend)"},
	}
	compressionOthers = "Express compression(): filter out text/event-stream, or call res.flush() after each event"
)

// fixLine is one proxy's fix in a line.
type fixLine struct{ proxy, text string }

// proxyFix is the fix text: the named proxy's line and its tested config
// first (nginx's for an unknown proxy), then the other proxies' lines.
func proxyFix(proxy string, lines []fixLine, others string) string {
	first := proxy
	if proxySnippet(first) == "" {
		first = nameNginx
	}
	var head, rest []string
	for _, l := range lines {
		line := l.proxy + ": " + l.text
		if l.proxy == first {
			head = append(head, line, "  as in the config ssebench's tests run through "+l.proxy+":", indent(proxySnippet(l.proxy)))
			continue
		}
		rest = append(rest, line)
	}
	return strings.Join(append(append(head, rest...), others), "\n")
}

func bufferingSnippet(proxy string) string {
	return proxyFix(proxy, bufferingFixes, bufferingOthers)
}

func compressionSnippet(proxy string) string {
	return proxyFix(proxy, compressionFixes, compressionOthers)
}

// indent indents each line of s by four spaces.
func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// headerDiff lists the stream headers the proxy changed.
func headerDiff(o, v http.Header) []string {
	var diff []string
	for _, name := range []string{"Content-Type", "Cache-Control", "Content-Length", "Content-Encoding", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"} {
		ov, vv := strings.Join(o.Values(name), ", "), strings.Join(v.Values(name), ", ")
		if ov == vv {
			continue
		}
		show := func(s string) string {
			if s == "" {
				return "(absent)"
			}
			return s
		}
		diff = append(diff, fmt.Sprintf("%s: %s → %s", name, show(ov), show(vv)))
	}
	return diff
}

func firstLine(parts ...string) string {
	for _, p := range parts {
		if p != "" {
			line, _, _ := strings.Cut(p, "\n")
			return line
		}
	}
	return ""
}
