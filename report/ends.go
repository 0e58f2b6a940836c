package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// End classes: why a connection attempt, a stream or a request's answer
// ended. The names are the contract of the result JSON (Counters.Ends,
// Point.ErrorsByKind, Counters.ErrorSamples); loadgen, tap and
// conformance name ends with these constants, and the summary, the HTML
// report, JUnit and thresholds read their description and error flag
// from EndClasses. No other package keeps a list of them.
const (
	EndEOF            = "eof"             // server closed cleanly between events
	EndEOFMidEvent    = "eof_mid_event"   // server closed inside an event (it was lost)
	EndTruncated      = "truncated"       // the body stopped short of its end (FIN without the final chunk)
	EndReset          = "reset"           // connection reset or broken
	EndReadTimeout    = "read_timeout"    // silent for longer than timeout.read
	EndReadError      = "read_error"      // any other read failure
	EndTooLarge       = "too_large"       // a line or event over the decoder limit
	EndCancelled      = "cancelled"       // the run ended or the target shrank
	EndLifetime       = "lifetime"        // the stream's lifetime passed (it is replaced)
	EndChaosDrop      = "chaos_drop"      // dropped on purpose by chaos.drop
	EndConnectError   = "connect_error"   // dial failed (refused, unreachable, timeout)
	EndTLSError       = "tls_error"       // TLS handshake failed
	EndHeadersTimeout = "headers_timeout" // no response headers within timeout.headers
	EndProtocolError  = "protocol_error"  // not a readable HTTP response
	EndContentType    = "content_type"    // 200 but not text/event-stream
	EndHTTP204        = "http_204"        // 204: browsers stop reconnecting
	// A stream still waiting when the run or its lifetime ended: it never
	// answered, so leaving it out would flatter every latency figure.
	EndNoHeaders        = "no_headers"         // no response headers by the end
	EndNoFirstEvent     = "no_first_event"     // opened, but no event by the end
	EndTooManyRedirects = "too_many_redirects" // more than 20 redirects in a row
	// The client's own end marker (close_on): it closed as a page
	// calling EventSource.close() does, and does not reconnect.
	EndClientClose = "client_close"

	// Request mode.
	EndSentinel    = "sentinel"     // an event whose data is end.data ("[DONE]")
	EndEventType   = "end_event"    // an event of type end.event ("close")
	EndMaxDuration = "max_duration" // still streaming after end.max_duration
	EndSkipped     = "skipped"      // an open-loop arrival over max_in_flight: not sent
	EndBodyError   = "body_error"   // the body template could not be rendered

	// tap and check.
	EndCount        = "count"         // tap: --count events arrived
	EndDuration     = "duration"      // tap: --duration passed
	EndRequestError = "request_error" // tap: the request could not be built
	EndOpen         = "open"          // check: still open when the probe's window closed
)

// endHTTPPrefix starts the class of an HTTP status other than 200 and 204:
// "http_503".
const endHTTPPrefix = "http_"

// Producers of end classes: the modes of a load result, and the two
// commands that watch single streams.
const (
	ProducerTap   = "tap"
	ProducerCheck = "check"
)

// EndClass is one reason a stream ended: what every output says about it.
type EndClass struct {
	Name  string
	Desc  string // one line for a person
	Error bool   // counts as an error: errors_by_kind, an error sample, red in the HTML, listed in JUnit
	// In lists who produces the class: ModeSubscribe and ModeRequest
	// (a load result's mode), ProducerTap, ProducerCheck. A name means
	// one thing for each producer; only http_204 means something else in
	// request mode (no answer) than for a stream (stop reconnecting).
	In []string
}

// Who produces a class, for the table below.
var (
	inSubscribe = []string{ModeSubscribe}
	inRequest   = []string{ModeRequest}
	inLoad      = []string{ModeSubscribe, ModeRequest}
	inLoadCheck = []string{ModeSubscribe, ModeRequest, ProducerCheck}
	inAll       = []string{ModeSubscribe, ModeRequest, ProducerTap, ProducerCheck}
)

var endClasses = []EndClass{
	{EndEOF, "the server closed the stream cleanly between events", false, inAll},
	{EndEOFMidEvent, "the server closed inside an event (it was lost)", true, inAll},
	{EndTruncated, "the body stopped short of its end (FIN without the final chunk, or short of Content-Length)", true, []string{ProducerCheck}},
	{EndReset, "connection reset or broken", true, inAll},
	{EndReadTimeout, "silent for longer than timeout.read", true, inLoad},
	{EndReadError, "other read failure", true, inAll},
	{EndTooLarge, "a line or event over the size limit", true, inAll},
	{EndCancelled, "closed at the end of the run (or when the target shrank) by ssebench", false, inAll},
	{EndLifetime, "the stream's lifetime passed (it was replaced)", false, inSubscribe},
	{EndChaosDrop, "dropped on purpose by chaos.drop", false, inSubscribe},
	{EndConnectError, "dial failed (refused, unreachable, timeout)", true, inAll},
	{EndTLSError, "TLS handshake failed", true, inAll},
	{EndHeadersTimeout, "no response headers within timeout.headers", true, inLoadCheck},
	{EndProtocolError, "not a readable HTTP response", true, inAll},
	{EndContentType, "200 but not text/event-stream", true, []string{ModeSubscribe, ModeRequest, ProducerTap}},
	{EndHTTP204, "204 No Content: the server says not to reconnect, and browsers stop", false, []string{ModeSubscribe, ProducerTap}},
	{EndHTTP204, "204 No Content: the request got no answer", true, inRequest},
	{EndNoHeaders, "still waiting for response headers when the run ended", true, inSubscribe},
	{EndNoFirstEvent, "opened, but no event before the run ended", true, inSubscribe},
	{EndTooManyRedirects, "more than 20 redirects in a row", true, inSubscribe},
	{EndClientClose, "the client closed on its end marker (close_on.event or close_on.data), as EventSource.close() does: no reconnect", false, inSubscribe},
	{EndSentinel, "the end-of-answer data (e.g. [DONE]) arrived", false, inRequest},
	{EndEventType, "the end event type (e.g. close) arrived", false, inRequest},
	{EndMaxDuration, "still streaming after request.end.max_duration (cut)", true, inRequest},
	{EndSkipped, "not sent: max_in_flight requests were already waiting", true, inRequest},
	{EndBodyError, "the request body template could not be rendered", true, inRequest},
	{EndCount, "the --count of events arrived", false, []string{ProducerTap}},
	{EndDuration, "the --duration passed", false, []string{ProducerTap}},
	{EndRequestError, "the request could not be built", true, []string{ProducerTap}},
	{EndOpen, "still open when the check's window closed (ssebench closed it)", false, []string{ProducerCheck}},
}

// EndClasses lists every registered end class (http_NNN other than 204
// is a family, see EndHTTP). The slice is a copy.
func EndClasses() []EndClass { return slices.Clone(endClasses) }

// EndHTTP is the class of a response with the given status that is not a
// stream: http_204, or http_NNN.
func EndHTTP(status int) string { return endHTTPPrefix + strconv.Itoa(status) }

// httpStatusClass reports whether name is http_NNN.
func httpStatusClass(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, endHTTPPrefix)
	if !ok || len(digits) != 3 {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n >= 100
}

// LookupEnd finds the class name means for a producer (a result's mode,
// ProducerTap or ProducerCheck; "" is subscribe, as in older results).
// http_NNN other than the registered http_204 is an error. ok is false
// for a name the producer never uses.
func LookupEnd(producer, name string) (EndClass, bool) {
	if producer == "" {
		producer = ModeSubscribe
	}
	for _, c := range endClasses {
		if c.Name == name && slices.Contains(c.In, producer) {
			return c, true
		}
	}
	if n, ok := httpStatusClass(name); ok && n != 204 && producer != ProducerCheck {
		return EndClass{Name: name, Desc: fmt.Sprintf("HTTP status %d (not a stream)", n), Error: true, In: []string{producer}}, true
	}
	return EndClass{}, false
}

// EndIsError reports whether an end class of a result counts as an
// error. A class this version does not know (a newer result, say) is
// one: an unexplained end must not pass for a normal one.
func EndIsError(mode, name string) bool {
	c, ok := LookupEnd(mode, name)
	return !ok || c.Error
}

// EndDesc describes an end class of a result ("" when unknown).
func EndDesc(mode, name string) string {
	c, _ := LookupEnd(mode, name)
	return c.Desc
}

// InsecureHint is the fix a certificate that failed verification
// suggests, in every command that has --insecure (run, tap, check).
const InsecureHint = "--insecure skips certificate verification"

// failureHint is what to try about a failed attempt of the class with
// the error text errText, worded once for every command: a TLS error
// that is a certificate verification failure, while certificates were
// verified (insecure false), gets InsecureHint. "" when there is nothing
// to suggest.
func failureHint(class, errText string, insecure bool) string {
	if class == EndTLSError && !insecure && (strings.Contains(errText, "x509:") || strings.Contains(errText, "certificate")) {
		return InsecureHint
	}
	return ""
}

// WithHint is the text of a failed attempt of the class followed by what
// to try about it, in parentheses, when there is something (see
// failureHint): how run, tap and check all say it.
func WithHint(text, class string, insecure bool) string {
	if h := failureHint(class, text, insecure); h != "" {
		return text + " (" + h + ")"
	}
	return text
}

// EndNames lists the registered names a producer uses, sorted (http_NNN
// stands for the family).
func EndNames(producer string) []string {
	var out []string
	for _, c := range EndClasses() {
		if slices.Contains(c.In, producer) && !slices.Contains(out, c.Name) {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	if producer != ProducerCheck {
		out = append(out, "http_NNN")
	}
	return out
}

// ErrorEnds are the classes of ends that count as errors, by count
// (most frequent first).
func ErrorEnds(r *Result) []string {
	var out []string
	for _, k := range sortedByCount(r.Counters.Ends) {
		if EndIsError(r.Mode, k) {
			out = append(out, k)
		}
	}
	return out
}

// TopEnd names the most frequent end class with its count,
// "connect_error ×100" ("no answer" when nothing ended): what a run that
// opened nothing mostly met.
func TopEnd(ends map[string]int64) string {
	ks := sortedByCount(ends)
	if len(ks) == 0 {
		return "no answer"
	}
	return fmt.Sprintf("%s ×%d", ks[0], ends[ks[0]])
}

// sortedByCount is the keys of m, most frequent first, ties by name.
func sortedByCount(m map[string]int64) []string {
	keys := sortedKeys(m)
	slices.SortStableFunc(keys, func(a, b string) int {
		switch {
		case m[a] > m[b]:
			return -1
		case m[a] < m[b]:
			return 1
		}
		return 0
	})
	return keys
}
