package conformance

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ssebench/ssebench/report"
)

// Areas group the checks in the catalogue and the reports.
const (
	AreaResponse   = "response"
	AreaFraming    = "framing"
	AreaStreaming  = "streaming"
	AreaResumption = "resumption"
	AreaClients    = "clients"
)

// Check is one entry of the catalogue. IDs are stable: they are what
// --only, --skip, JSON consumers and CI configs name, so an ID is never
// renamed or reused.
type Check struct {
	ID       string
	Title    string
	Area     string
	Severity string // report.SeverityError, SeverityWarning or SeverityInfo
	Ref      string // the spec section or source that justifies the check
	Fix      string // how to fix a failure
}

const (
	refSSE        = "WHATWG HTML §9.2 Server-sent events, https://html.spec.whatwg.org/multipage/server-sent-events.html"
	refProcessing = "WHATWG HTML §9.2.3 Processing model (status 200 and text/event-stream, else fail the connection), https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model"
	refParsing    = "WHATWG HTML §9.2.5 Parsing an event stream (UTF-8 only, one optional BOM, CR/LF/CRLF), https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream"
	refInterpret  = "WHATWG HTML §9.2.6 Interpreting an event stream, https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation"
	refAuthoring  = "WHATWG HTML §9.2.7 Authoring notes (comments every ~15 s keep proxies from timing out; chunked and unbuffered), https://html.spec.whatwg.org/multipage/server-sent-events.html#authoring-notes"
	refLastID     = "WHATWG HTML §9.2.4 The Last-Event-ID header, https://html.spec.whatwg.org/multipage/server-sent-events.html#the-last-event-id-header"
)

// catalogue is every check, in report order. Append new checks; never
// rename or reorder an ID's meaning.
var catalogue = []Check{
	// response
	{"status", "the stream is answered 200 OK", AreaResponse, report.SeverityError, refProcessing,
		"Answer the stream request with 200. Browsers fail the connection on any other status and, except for network errors, never reconnect."},
	{"content-type", "Content-Type is text/event-stream", AreaResponse, report.SeverityError, refProcessing,
		"Set Content-Type: text/event-stream before writing the body (e.g. Go: w.Header().Set(\"Content-Type\", \"text/event-stream\"); Express: res.setHeader(...)). EventSource refuses any other type."},
	{"charset", "Content-Type has no charset other than utf-8", AreaResponse, report.SeverityWarning, refParsing,
		"Drop the charset parameter or make it charset=utf-8: event streams are always UTF-8, and clients that honour another charset decode the text wrongly."},
	{"cache-control", "Cache-Control forbids caching (no-cache or no-store)", AreaResponse, report.SeverityWarning, refAuthoring,
		"Send Cache-Control: no-cache (or no-store) so caches and CDNs neither hold nor replay the stream."},
	{"content-length", "no Content-Length on an open-ended stream", AreaResponse, report.SeverityError, "RFC 9110 §8.6 Content-Length (a length makes the body end there), https://www.rfc-editor.org/rfc/rfc9110#section-8.6",
		"Do not set Content-Length on a stream; let the server use chunked encoding (HTTP/1.1) or DATA frames (HTTP/2). Look for middleware that buffers and measures responses."},
	{"compression", "no Content-Encoding on the stream", AreaResponse, report.SeverityWarning, refAuthoring,
		"Do not compress text/event-stream: nginx: remove it from gzip_types (or `gzip off;` in the stream's location); Express compression: filter it out or call res.flush() after each event. A compressor that does not flush per event delays events, and clients that do not inflate see binary bytes."},
	{"x-accel-buffering", "X-Accel-Buffering: no is sent (tells nginx not to buffer)", AreaResponse, report.SeverityInfo, "nginx proxy_buffering and the X-Accel-Buffering header, https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_buffering",
		"Send X-Accel-Buffering: no with the stream: an nginx in front then passes each event on at once even where proxy_buffering is on."},
	{"headers-prompt", "status and headers arrive within 1 s, before the first event", AreaResponse, report.SeverityWarning, refProcessing,
		"Write and flush the status and headers as soon as the stream opens (Go: http.NewResponseController(w).Flush(); PHP: flush() after headers; disable output buffering), so clients see the open event and proxies do not time out the first byte."},
	{"request-headers", "a browser-like request (Accept: text/event-stream, Cache-Control: no-cache) is answered 200", AreaResponse, report.SeverityError, refProcessing,
		"Accept the headers EventSource sends (Accept: text/event-stream, Cache-Control: no-cache, Last-Event-ID): do not answer them with 406, 400 or a redirect."},
	{"cors", "cross-origin: Access-Control-Allow-Origin matches --origin", AreaResponse, report.SeverityError, "Fetch Standard, CORS protocol, https://fetch.spec.whatwg.org/#http-cors-protocol",
		"Answer the stream with Access-Control-Allow-Origin: <the page's origin> (and Access-Control-Allow-Credentials: true for withCredentials). nginx: add_header Access-Control-Allow-Origin $http_origin always; after checking the origin."},
	{"cors-preflight", "cross-origin: a preflight allowing Last-Event-ID is answered", AreaResponse, report.SeverityWarning, "Fetch Standard, CORS preflight; Last-Event-ID (whatwg/fetch#1788), https://fetch.spec.whatwg.org/#cors-preflight-fetch",
		"Answer OPTIONS on the stream URL with 204, Access-Control-Allow-Origin and Access-Control-Allow-Headers including Last-Event-ID (fetch-based SSE clients such as fetch-event-source set it on resume, and a header set by the page is not CORS-safelisted; EventSource's own reconnects need no preflight)."},
	{"h2-hop-by-hop", "over HTTP/2, no connection-specific headers", AreaResponse, report.SeverityError, "RFC 9113 §8.2.2 Connection-Specific Header Fields, https://www.rfc-editor.org/rfc/rfc9113#section-8.2.2",
		"Do not send Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding or Upgrade over HTTP/2: browsers treat the response as malformed (ERR_HTTP2_PROTOCOL_ERROR). Stop setting Connection: keep-alive by hand; let the server handle connections."},

	// framing
	{"utf8", "the stream is valid UTF-8", AreaFraming, report.SeverityError, refParsing,
		"Encode the stream as UTF-8 and never cut multi-byte characters (truncate by characters, not bytes). Clients replace invalid bytes with U+FFFD."},
	{"bom", "no UTF-16 BOM, and no second BOM", AreaFraming, report.SeverityError, refParsing,
		"Write at most one UTF-8 BOM (better none) and never a UTF-16 one: clients strip only one UTF-8 BOM, so a second one makes the first field's name start with U+FEFF and it is ignored."},
	{"line-endings", "line endings are consistent (LF or CRLF)", AreaFraming, report.SeverityInfo, refParsing,
		"Use LF (or CRLF) throughout. CR, LF and CRLF are all valid, but mixing them, or lone CRs, breaks the many non-browser clients that split lines only on LF."},
	{"fields", "only data, event, id, retry fields and comments", AreaFraming, report.SeverityWarning, refInterpret,
		"Use only the fields data:, event:, id: and retry:, and ':' for comments. Unknown fields are ignored by clients, so whatever they carry is lost."},
	{"terminated", "when the server ends the stream, the last event is complete", AreaFraming, report.SeverityError, refInterpret,
		"End every event with a blank line before closing the response: clients discard an event that is not terminated."},
	{"dataless", "no events with event or id but no data (browsers drop them)", AreaFraming, report.SeverityWarning, refInterpret,
		"Give every event at least one data: line (data: with an empty value is enough): browsers silently drop an event block without data."},
	{"id-null", "ids contain no U+0000 NULL", AreaFraming, report.SeverityError, refInterpret,
		"Never put U+0000 in an id: the spec ignores such an id, so the client's last event ID never changes and resumption cannot work. Look for C-string or raw-byte ids."},
	{"id-safe", "ids are at most 128 bytes and printable ASCII", AreaFraming, report.SeverityWarning, refLastID + "; RFC 9110 §5.5 Field Values (control characters are invalid; non-ASCII is obs-text, read as Latin-1 by many servers), https://www.rfc-editor.org/rfc/rfc9110#section-5.5",
		"Keep ids short (at most 128 bytes) and printable ASCII: a reconnecting client sends the id back verbatim as the Last-Event-ID header, and servers that read header bytes as Latin-1 (Node.js) or proxies that refuse control characters cannot match it. Encode other ids (base64url, percent-encoding) before sending."},
	{"retry-valid", "retry values are digits only, between 1 and 60 s", AreaFraming, report.SeverityWarning, refInterpret,
		"Write retry as ASCII digits in milliseconds (retry: 3000); clients ignore \"3s\" or \"1.5\". Values under 1 s make reconnect storms, over 60 s make clients look dead."},
	{"event-size", "events and lines fit common client limits (64 KiB lines)", AreaFraming, report.SeverityWarning, "Go bufio.Scanner's 64 KiB default token limit, used by many SSE clients; proxy and browser memory",
		"Keep each line under 64 KiB and each event well under 1 MiB: send large payloads by reference (a URL to fetch) or in several events."},

	// streaming
	{"first-event", "an event arrives within the probe window", AreaStreaming, report.SeverityWarning, refSSE,
		"Send an event soon after the stream opens (the current state, or a comment is not enough for clients that wait for data). For a quiet stream, pass --publish URL so ssebench can trigger one."},
	{"buffering", "events arrive promptly, one by one, not in bursts", AreaStreaming, report.SeverityError, refAuthoring,
		"Flush after every event, and turn buffering off in every proxy on the way: nginx `proxy_buffering off;` (or send X-Accel-Buffering: no), Apache ProxyPass ... flushpackets=on, HAProxy no http-buffer-request on the stream, IIS/ARR responseBufferLimit=\"0\"; no compression middleware without per-event flush."},
	{"heartbeat", "some bytes at least every 30 s (heartbeat comments)", AreaStreaming, report.SeverityWarning, refAuthoring,
		"Send a comment line (\": keep-alive\\n\\n\") every 15-30 s when there are no events, so proxies and load balancers with idle timeouts (nginx and ALB 60 s, Heroku 55 s, Cloudflare 100 s) keep the stream."},
	{"idle-timeout", "a held stream is not cut (idle timeouts, lifetime caps)", AreaStreaming, report.SeverityError, "Proxy and load balancer timeouts: conformance/TIMEOUTS.md",
		"Raise the idle timeout named in the evidence and send heartbeats well inside it; a lifetime cap cannot be fixed by heartbeats: raise the cap or let clients resume with Last-Event-ID."},
	{"end-kind", "the stream is not cut abruptly (truncated chunk or reset)", AreaStreaming, report.SeverityWarning, refSSE,
		"End streams cleanly (final chunk) when they must end; an abrupt cut usually is a proxy timeout or a crash: run with --hold to see which."},

	// resumption
	{"ids", "events carry ids", AreaResumption, report.SeverityWarning, refLastID,
		"Give events an id: (a sequence number or timestamp) so a reconnecting client can send Last-Event-ID and resume without losing events."},
	{"resume", "reconnecting with Last-Event-ID continues right after it (no gap, no duplicate)", AreaResumption, report.SeverityError, refLastID,
		"Read Last-Event-ID on connect and replay the events after it from a buffer or log (and pass the header through proxies): no event lost, none repeated."},
	{"resume-replay", "a resumed event carries the data first sent with its id (replayed, not regenerated)", AreaResumption, report.SeverityInfo, refLastID,
		"Nothing is lost: the ids continue correctly. If resumed clients must see the events exactly as first sent (the same send time, the same payload), keep recent events and replay them after Last-Event-ID instead of generating them anew."},
	{"resume-unknown-id", "an unknown Last-Event-ID is answered 200", AreaResumption, report.SeverityError, refProcessing,
		"Answer an unknown or expired Last-Event-ID with 200 and the stream from now (optionally an event telling the client to resync): a 4xx or 5xx stops browsers for good."},
	{"retry-hint", "the stream sets a retry hint", AreaResumption, report.SeverityInfo, refInterpret,
		"Optionally send retry: <ms> at stream start to set how long clients wait before reconnecting (browsers default to about 3 s)."},
	{"reconnect-storm", "streams are not ended so often that clients hammer the server", AreaResumption, report.SeverityWarning, refSSE,
		"Keep streams open for minutes, not seconds; when they must end often (serverless time limits), send a larger retry: so reconnects spread out."},
	{"stop-204", "204 No Content is used only to stop clients on purpose", AreaResumption, report.SeverityInfo, refProcessing,
		"A 204 tells browsers to stop reconnecting for good; answer 200 unless that is what you mean."},

	// clients
	{"concurrent", "many clients at once all receive events", AreaClients, report.SeverityError, refSSE,
		"Raise the server's connection limits (worker connections, max clients, file descriptors, per-process stream caps) and make sure every stream gets every event."},
	{"churn", "after many quick open/close cycles the server still answers promptly", AreaClients, report.SeverityError, refSSE,
		"Release a stream's resources when the client goes away (watch the request context / close notification), so abandoned streams do not pile up."},
	{"http2", "HTTP/2 is offered (browsers allow only 6 HTTP/1.1 connections per host)", AreaClients, report.SeverityInfo, "RFC 9113 HTTP/2; browsers limit HTTP/1.1 to 6 connections per host, https://developer.mozilla.org/en-US/docs/Web/API/EventSource",
		"Serve the stream over HTTP/2 (TLS with ALPN h2): over HTTP/1.1 a browser can keep only 6 connections per host, so a 7th tab's EventSource waits."},
}

// Lookup returns the check with the given ID.
func Lookup(id string) (Check, bool) {
	for _, c := range catalogue {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// IDs returns every check ID, in report order.
func IDs() []string {
	ids := make([]string, len(catalogue))
	for i, c := range catalogue {
		ids[i] = c.ID
	}
	return ids
}

// UnknownCheckError names IDs given to --only or --skip that are not in the
// catalogue.
type UnknownCheckError struct {
	Flag string
	IDs  []string
}

func (e *UnknownCheckError) Error() string {
	return fmt.Sprintf("--%s: unknown check %s (known: %s)", e.Flag, strings.Join(quoteAll(e.IDs), ", "), strings.Join(IDs(), ", "))
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// selectChecks applies --only and --skip (each entry an ID or a
// comma-separated list) and returns the selected IDs as a set.
func selectChecks(only, skip []string) (map[string]bool, error) {
	parse := func(flag string, list []string) ([]string, error) {
		var ids, bad []string
		for _, item := range list {
			for id := range strings.SplitSeq(item, ",") {
				id = strings.TrimSpace(id)
				if id == "" {
					continue
				}
				if _, ok := Lookup(id); !ok {
					bad = append(bad, id)
					continue
				}
				ids = append(ids, id)
			}
		}
		if len(bad) > 0 {
			return nil, &UnknownCheckError{Flag: flag, IDs: bad}
		}
		return ids, nil
	}
	o, err := parse("only", only)
	if err != nil {
		return nil, err
	}
	s, err := parse("skip", skip)
	if err != nil {
		return nil, err
	}
	sel := make(map[string]bool, len(catalogue))
	for _, c := range catalogue {
		sel[c.ID] = len(o) == 0 || slices.Contains(o, c.ID)
	}
	for _, id := range s {
		sel[id] = false
	}
	return sel, nil
}
