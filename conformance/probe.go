package conformance

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/sse"
)

// streamSpec says how a probe makes its request and how long it reads.
type streamSpec struct {
	url         string
	method      string
	body        []byte
	header      http.Header // the user's headers (-H)
	browser     bool        // EventSource's headers and Accept-Encoding: gzip, as a browser sends them
	lastEventID string
	origin      string        // sent as Origin when set
	window      time.Duration // bounds the whole probe, headers included
	headersOnly bool          // close as soon as the headers are in
	maxSize     int
	light       bool // many-client probes: small read buffer, no capture
}

// item is one thing the decoder produced, as the probe saw it.
type item struct {
	kind    sse.Kind
	at      time.Duration // since the request started
	read    int           // index of the network read that completed it
	typ     string
	id      string // the last event ID at dispatch
	data    string // at most maxDataKept bytes of the data
	size    int    // the data's full size
	comment string
	retry   int64
	sent    time.Time // the server's send time, when the data carries one
}

// A probe's stream ends with a report end class (report.EndClasses):
// EndOpen, EndEOF, EndEOFMidEvent, EndTruncated, EndReset, EndTooLarge,
// EndReadError or EndCancelled.

// stream is one probe request and everything seen on it. The probe's own
// goroutine writes it; other goroutines read events through waitEvents
// and everything else after done is closed.
type stream struct {
	spec  streamSpec
	start time.Time

	// No usable response: err says why, errClass sorts it.
	err      error
	errClass string // a report end class: connect_error, tls_error, headers_timeout, protocol_error, cancelled

	status    int
	statusTxt string
	proto     string
	header    http.Header
	tls       bool
	alpn      string
	headersAt time.Duration
	bodyText  string // the start of a non-stream body, for evidence

	encoding    string // Content-Encoding, lower case
	undecodable bool
	wire        *wireTap
	text        *textTap

	mu       sync.Mutex
	items    []item
	nEvents  int
	nComment int
	maxEvent int           // the largest event's data, in bytes
	notify   chan struct{} // pinged (non-blocking) on every event and at the end

	end              string
	endAt            time.Duration
	endErr           error // the read error behind the end, if any
	decErr           error
	cutMidEvent      bool // the body ended (however) inside an event
	transferEncoding []string

	hdr     chan struct{} // closed once the response headers are in, or the request failed
	hdrOnce sync.Once
	done    chan struct{} // closed when the probe finished
}

func newStream(spec streamSpec) *stream {
	return &stream{spec: spec, notify: make(chan struct{}, 1), hdr: make(chan struct{}), done: make(chan struct{})}
}

func (s *stream) headersIn() { s.hdrOnce.Do(func() { close(s.hdr) }) }

// waitHeaders waits for the response headers (or the request's failure)
// and reports whether they came before ctx ended. The response fields
// may be read once it returns true.
func (s *stream) waitHeaders(ctx context.Context) bool {
	select {
	case <-s.hdr:
		return true
	case <-ctx.Done():
		return false
	}
}

// prober makes the requests of one run. It is safe for concurrent use.
type prober struct {
	client *http.Client
	ua     string
}

func newProber(insecure bool, window time.Duration) *prober {
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: insecure},
		TLSHandshakeTimeout:    5 * time.Second,
		ForceAttemptHTTP2:      true,
		DisableCompression:     true, // Content-Encoding stays visible; the probe decodes it
		ResponseHeaderTimeout:  window,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        10 * time.Second,
	}
	return &prober{client: &http.Client{Transport: tr}, ua: "ssebench-check"}
}

func (p *prober) close() { p.client.CloseIdleConnections() }

// request builds a probe's request: EventSource's headers for browser
// probes (sse.NewRequest), only the user's headers otherwise.
func (p *prober) request(ctx context.Context, spec streamSpec) (*http.Request, error) {
	req, err := sse.NewRequest(ctx, spec.method, spec.url, spec.body, nil, spec.lastEventID)
	if err != nil {
		return nil, err
	}
	if spec.browser {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Del("Accept")
		req.Header.Del("Cache-Control")
	}
	req.Header.Set("User-Agent", p.ua)
	for k, vs := range spec.header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if spec.origin != "" {
		req.Header.Set("Origin", spec.origin)
	}
	if spec.lastEventID != "" {
		req.Header.Set("Last-Event-ID", spec.lastEventID)
	}
	return req, nil
}

// run makes the request and reads the stream until it ends or the
// window closes. It closes s.done when finished.
func (p *prober) run(ctx context.Context, s *stream) {
	defer close(s.done)
	defer s.ping()
	defer s.headersIn()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.spec.window)
	defer cancel()
	s.start = time.Now()
	req, err := p.request(ctx, s.spec)
	if err != nil {
		s.err, s.errClass = err, report.EndProtocolError
		return
	}
	resp, err := p.client.Do(req)
	if err != nil {
		s.err, s.errClass = err, classifyRequestErr(parent, ctx, err)
		return
	}
	defer resp.Body.Close()
	s.headersAt = time.Since(s.start)
	s.status, s.statusTxt, s.proto, s.header = resp.StatusCode, resp.Status, resp.Proto, resp.Header
	if resp.TLS != nil {
		s.tls, s.alpn = true, resp.TLS.NegotiatedProtocol
	}
	s.encoding = strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	s.headersIn()
	if s.spec.headersOnly {
		s.end, s.endAt = report.EndOpen, s.headersAt
		return
	}
	if !streams(resp) {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		s.bodyText = string(b)
		s.end, s.endAt = report.EndEOF, time.Since(s.start)
		return
	}
	identity := s.encoding == "" || s.encoding == "identity"
	bufSize, capture := wireBufSize, CaptureBytes
	if s.spec.light {
		bufSize, capture = 4096, 0
	}
	s.wire = newWireTap(resp.Body, s.start, s.headersAt, identity, bufSize)
	body, ok := decoding(s.encoding, s.wire)
	if !ok {
		s.undecodable = true
		// Read (and time) the bytes anyway: the streaming checks can
		// still see when they come.
		body = eofReader{}
		buf := make([]byte, 4096)
		for {
			if _, err := s.wire.Read(buf); err != nil {
				break
			}
		}
	}
	s.text = newTextTap(body, capture)
	dec := sse.NewDecoder(s.text, sse.Config{MaxSize: s.spec.maxSize})
	for dec.Next() {
		s.record(dec)
	}
	s.text.finish()
	s.endAt = time.Since(s.start)
	s.decErr = dec.Err()
	s.end, s.endErr = classifyEnd(parent, ctx, s.wire.err, s.decErr)
	s.cutMidEvent = errors.Is(s.decErr, io.ErrUnexpectedEOF)
	s.transferEncoding = resp.TransferEncoding
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// streams reports whether a response has a body worth reading as a
// stream: any 2xx but 204 and 205.
func streams(resp *http.Response) bool {
	return resp.StatusCode >= 200 && resp.StatusCode < 300 && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusResetContent
}

func (s *stream) record(dec *sse.Decoder) {
	it := item{kind: dec.Kind(), at: time.Since(s.start), read: s.wire.nReads - 1}
	switch it.kind {
	case sse.KindEvent:
		data := dec.Data()
		it.size = len(data)
		it.data = string(data[:min(len(data), maxDataKept)])
		it.typ = dec.EventType()
		it.id = dec.LastEventID()
		it.sent = sendTime(data, time.Now())
	case sse.KindComment:
		c := dec.CommentBytes()
		it.comment = string(c[:min(len(c), 120)])
	case sse.KindRetry:
		it.retry = dec.Retry()
	}
	s.mu.Lock()
	switch it.kind {
	case sse.KindEvent:
		s.nEvents++
		s.maxEvent = max(s.maxEvent, it.size)
	case sse.KindComment:
		s.nComment++
	}
	if len(s.items) < maxItems {
		s.items = append(s.items, it)
	}
	s.mu.Unlock()
	if it.kind == sse.KindEvent {
		s.ping()
	}
}

func (s *stream) ping() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// events returns a copy of the events seen so far.
func (s *stream) events() []item {
	s.mu.Lock()
	defer s.mu.Unlock()
	var evs []item
	for _, it := range s.items {
		if it.kind == sse.KindEvent {
			evs = append(evs, it)
		}
	}
	return evs
}

// waitEvents waits until pred holds for the events seen so far, the
// stream ends, or ctx ends. It returns the events and whether pred held.
func (s *stream) waitEvents(ctx context.Context, pred func([]item) bool) ([]item, bool) {
	for {
		evs := s.events()
		if pred(evs) {
			return evs, true
		}
		select {
		case <-s.notify:
		case <-s.done:
			evs = s.events()
			return evs, pred(evs)
		case <-ctx.Done():
			return evs, false
		}
	}
}

// ok reports whether the probe got a 200 response with a readable body.
func (s *stream) ok() bool { return s.err == nil && s.status == http.StatusOK }

// readable reports whether the probe read a body as an event stream.
func (s *stream) readable() bool { return s.err == nil && s.text != nil && !s.undecodable }

func (s *stream) eventsOnly() []item {
	var evs []item
	for _, it := range s.items {
		if it.kind == sse.KindEvent {
			evs = append(evs, it)
		}
	}
	return evs
}

func (s *stream) comments() []item {
	var cs []item
	for _, it := range s.items {
		if it.kind == sse.KindComment {
			cs = append(cs, it)
		}
	}
	return cs
}

// describeEnd says in words how the stream ended.
func (s *stream) describeEnd() string {
	at := report.FormatDuration(s.endAt)
	switch s.end {
	case report.EndOpen:
		return "still open after " + at + " (ssebench closed it)"
	case report.EndEOF:
		return "the server ended the response cleanly after " + at
	case report.EndEOFMidEvent:
		return "the server ended the response cleanly after " + at + ", inside an event"
	case report.EndTruncated:
		if s.header.Get("Content-Length") != "" {
			return "the connection closed after " + at + " short of the declared Content-Length (FIN)"
		}
		if s.proto == "HTTP/2.0" {
			return "the HTTP/2 stream ended early after " + at
		}
		return "the connection closed after " + at + " without the final chunk (FIN, truncated chunked body)"
	case report.EndReset:
		return "the connection was reset after " + at + " (RST: " + errText(s.endErr) + ")"
	case report.EndTooLarge:
		return "ssebench stopped reading after " + at + ": " + errText(s.decErr)
	case report.EndReadError:
		return "reading failed after " + at + ": " + errText(s.endErr)
	case report.EndCancelled:
		return "the run was stopped after " + at
	}
	return s.end
}

// abrupt reports whether the stream was cut rather than ended.
func (s *stream) abrupt() bool { return s.end == report.EndTruncated || s.end == report.EndReset }

// serverEnded reports whether the server (or something between) ended the
// stream within the window.
func (s *stream) serverEnded() bool {
	switch s.end {
	case report.EndEOF, report.EndEOFMidEvent, report.EndTruncated, report.EndReset:
		return true
	}
	return false
}

func classifyRequestErr(parent, ctx context.Context, err error) string {
	var tlsErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case parent.Err() != nil:
		return report.EndCancelled
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout awaiting response headers"):
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return report.EndConnectError
		}
		return report.EndHeadersTimeout
	case errors.As(err, &tlsErr), errors.As(err, &recErr), strings.Contains(err.Error(), "tls:"):
		return report.EndTLSError
	case errors.As(err, &dnsErr):
		return report.EndConnectError
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return report.EndConnectError
	case errors.Is(err, syscall.ECONNREFUSED):
		return report.EndConnectError
	}
	return report.EndProtocolError
}

// classifyEnd names how a read stream ended, from the body's error (what
// the transport saw) and the decoder's (what the parser saw).
func classifyEnd(parent, ctx context.Context, bodyErr, decErr error) (string, error) {
	var tooLarge *sse.TooLargeError
	switch {
	case errors.As(decErr, &tooLarge):
		return report.EndTooLarge, decErr
	case parent.Err() != nil:
		return report.EndCancelled, parent.Err()
	case ctx.Err() != nil:
		return report.EndOpen, nil
	case bodyErr == nil || bodyErr == io.EOF:
		if errors.Is(decErr, io.ErrUnexpectedEOF) {
			return report.EndEOFMidEvent, nil
		}
		if decErr != nil {
			return report.EndReadError, decErr // e.g. a broken gzip stream
		}
		return report.EndEOF, nil
	case errors.Is(bodyErr, io.ErrUnexpectedEOF):
		return report.EndTruncated, bodyErr
	case errors.Is(bodyErr, syscall.ECONNRESET), errors.Is(bodyErr, syscall.EPIPE),
		strings.Contains(bodyErr.Error(), "stream error"), strings.Contains(bodyErr.Error(), "connection reset"):
		return report.EndReset, bodyErr
	}
	return report.EndReadError, bodyErr
}

// errText is an error's message for reports, with credentials in URLs
// redacted (Go's errors quote the request URL).
func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return redactText(err.Error())
}

var (
	urlInText   = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)
	paramInText = regexp.MustCompile(`([?&])([^=&?\s"]+)=([^&"\s]+)`)
)

// redactText hides the credentials of URLs in s (scenarios.RedactURL) and
// the values of credential-named parameters of a bare path or query
// (GET /events?token=...), by the one policy of every output.
func redactText(s string) string {
	s = urlInText.ReplaceAllStringFunc(s, scenarios.RedactURL)
	return paramInText.ReplaceAllStringFunc(s, func(m string) string {
		p := paramInText.FindStringSubmatch(m)
		if !scenarios.IsSecretHeader(p[2]) || p[3] == scenarios.Redaction {
			return m
		}
		return p[1] + p[2] + "=" + scenarios.Redaction
	})
}

// sendTime finds the server's send time in an event's JSON data: a
// top-level number named ts, timestamp, time, sent_at or sentAt, in
// seconds, milliseconds, microseconds or nanoseconds since the epoch
// (told apart by size), or an RFC 3339 string. It must be within a day of
// now, so counters and ids are not mistaken for times.
func sendTime(data []byte, now time.Time) time.Time {
	if len(data) < 2 || len(data) > 64<<10 || data[0] != '{' {
		return time.Time{}
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return time.Time{}
	}
	for _, key := range []string{"ts", "timestamp", "time", "sent_at", "sentAt"} {
		raw, ok := obj[key]
		if !ok {
			continue
		}
		var t time.Time
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			t = epochInt(n)
		} else if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			t = epochTime(f)
		} else {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				t, _ = time.Parse(time.RFC3339Nano, str)
			}
		}
		if !t.IsZero() && math.Abs(now.Sub(t).Hours()) < 24 {
			return t
		}
	}
	return time.Time{}
}

// epochInt reads an integer time in s, ms, µs or ns, told apart by size.
func epochInt(n int64) time.Time {
	switch {
	case n > 1e17:
		return time.Unix(0, n)
	case n > 1e14:
		return time.UnixMicro(n)
	case n > 1e11:
		return time.UnixMilli(n)
	case n > 1e8:
		return time.Unix(n, 0)
	}
	return time.Time{}
}

func epochTime(f float64) time.Time {
	switch {
	case f > 1e17:
		return time.Unix(0, int64(f))
	case f > 1e14:
		return time.UnixMicro(int64(f))
	case f > 1e11:
		return time.UnixMilli(int64(f))
	case f > 1e8:
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9))
	}
	return time.Time{}
}
