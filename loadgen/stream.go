package loadgen

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/sse"
)

// hangGrace is how long an attempt must have waited, when the run or its
// lifetime ends, for its missing headers or first event to count against
// the server (no_headers, no_first_event): an attempt cut a moment after it
// began says nothing, one that waited this long is a hanging stream.
const hangGrace = time.Second

// maxRedirects bounds the redirects followed for one connection attempt,
// as browsers do (the Fetch standard's limit is 20).
const maxRedirects = 20

// slot is one simulated client: a stream and its reconnections.
type slot struct {
	id      int
	cancel  context.CancelFunc
	dropped atomic.Bool

	mu   sync.Mutex
	live io.Closer // the open stream, for chaos drops
}

func (sl *slot) setLive(c io.Closer) {
	sl.mu.Lock()
	sl.live = c
	sl.mu.Unlock()
}

func (sl *slot) isLive() bool {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.live != nil
}

// drop abruptly ends the open stream, if any.
func (sl *slot) drop() {
	sl.mu.Lock()
	c := sl.live
	sl.mu.Unlock()
	if c != nil {
		sl.dropped.Store(true)
		c.Close()
	}
}

// outcome of one connection.
type outcome struct {
	class  string
	fatal  bool // a browser gives up (non-200 other than 204, wrong type)
	stop   bool // 204: stop for good
	events int
	opened bool // the attempt became a stream (200 text/event-stream)
}

// runSlot runs one client until the run ends, it gives up, or its lifetime
// passes. It reports whether the controller should replace it.
func (g *gen) runSlot(ctx context.Context, sl *slot, due time.Time) (replace bool) {
	sh := g.rec.stripe(sl.id)
	var lifetimeEnd time.Time
	if lt := g.lifetime(); lt > 0 {
		lifetimeEnd = due.Add(lt)
	}
	st := streamState{retry: sse.DefaultRetry, lastSeq: -1}
	if g.sc.Reconnect.Policy == "always" {
		st.retry = g.sc.Reconnect.BaseDelay.D()
	}
	dec := sse.NewDecoder(nil, sse.Config{BufSize: 2048, MaxSize: g.sc.MaxEventSize})
	// disconnectAt is when the last stream that opened ended; it is kept
	// across failed attempts, so reconnect time covers a whole outage, and
	// cleared by the first event of the stream that replaced it.
	var disconnectAt time.Time
	failures := 0
	for attempt := 0; ; attempt++ {
		if !lifetimeEnd.IsZero() && !due.Before(lifetimeEnd) {
			return true
		}
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return false
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt > 0 {
			// Counted when the attempt is made, not when it is scheduled:
			// a client still waiting when the run ends did not reconnect.
			sh.mu.Lock()
			sh.c.reconnects++
			sh.mu.Unlock()
		}
		connCtx, cancel := ctx, context.CancelFunc(func() {})
		if !lifetimeEnd.IsZero() {
			connCtx, cancel = context.WithDeadlineCause(ctx, lifetimeEnd, errLifetime)
		}
		out := g.connectOnce(connCtx, sl, sh, dec, &st, due, &disconnectAt)
		cancel()
		now := time.Now()
		if out.opened && disconnectAt.IsZero() {
			disconnectAt = now
		}
		switch {
		case ctx.Err() != nil:
			return false
		case out.class == report.EndLifetime, out.class == report.EndClientClose:
			// Like a lifetime's end, the client's own close
			// (EventSource.close()) is never reconnected: a new
			// client takes its place.
			return true
		case out.stop, g.sc.Reconnect.Policy == "never":
			return false
		case out.fatal && g.sc.Reconnect.Policy != "always":
			return false
		case g.sc.Reconnect.Max > 0 && attempt >= g.sc.Reconnect.Max:
			return false
		}
		var delay time.Duration
		if g.sc.Reconnect.Policy == "always" {
			if out.events > 0 {
				failures = 0
			}
			delay = backoff(g.sc.Reconnect.BaseDelay.D(), g.sc.Reconnect.MaxDelay.D(), failures)
			failures++
		} else {
			delay = st.retry
		}
		due = now.Add(delay)
	}
}

// backoff is exponential with full jitter: uniform in [0, min(max, base·2ⁿ)].
func backoff(base, maxDelay time.Duration, n int) time.Duration {
	if base <= 0 {
		base = time.Second
	}
	d := base << min(n, 30)
	if d <= 0 || (maxDelay > 0 && d > maxDelay) {
		d = maxDelay
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// streamState is what a client keeps across its connections.
type streamState struct {
	lastID  string
	retry   time.Duration
	lastSeq int64 // -1 until the first sequenced event
}

// connectOnce makes one connection attempt, following redirects, and reads
// the stream to its end. *disconnectAt, when set, is when the stream this
// attempt replaces ended: its first event records the reconnect time and
// clears it.
func (g *gen) connectOnce(ctx context.Context, sl *slot, sh *stripe, dec *sse.Decoder, st *streamState,
	due time.Time, disconnectAt *time.Time) outcome {
	started := time.Now()
	sh.mu.Lock()
	sh.record(mLag, started.Sub(due))
	sh.mu.Unlock()
	var tm timings
	var ep *endpoint // nil: the slot's own target
	var op *opened
	var keep *conn // the connection a redirect came on, for the next request
	for redirects := 0; ; redirects++ {
		var err error
		if keep != nil {
			op, err = g.follow(ctx, sl, keep, ep, st.lastID, &tm)
			keep = nil
		} else {
			op, err = g.open(ctx, sl, ep, st.lastID, &tm)
		}
		if err != nil {
			class := ClassifyDialErr(ctx, err)
			sh.mu.Lock()
			switch {
			case (class == report.EndCancelled || class == report.EndLifetime) && time.Since(due) < hangGrace:
				sh.end(class) // cut while starting: not a verdict on the server (not an error end)
				sh.mu.Unlock()
				return outcome{class: class}
			case class == report.EndCancelled || class == report.EndLifetime:
				// Still waiting for an answer when the run or lifetime
				// ended: a hanging server, not a normal end.
				class = report.EndNoHeaders
				g.censored(sh, due, true)
			default:
				sh.sample(class, err)
			}
			sh.c.failed++
			sh.end(class)
			sh.mu.Unlock()
			return outcome{class: class}
		}
		base := ep
		if base == nil {
			base = g.endpoints[sl.id%len(g.endpoints)]
		}
		next, ok := g.redirect(op.resp, base)
		if !ok {
			break
		}
		if op.conn != nil && redirects < maxRedirects && op.conn.reusable(base, next, g.sc.Timeout.Headers.D()) {
			keep = op.conn
		} else {
			op.cleanup()
		}
		sh.mu.Lock()
		sh.c.redirects++
		if redirects+1 > maxRedirects {
			sh.c.failed++
			sh.end(report.EndTooManyRedirects)
			sh.mu.Unlock()
			return outcome{class: report.EndTooManyRedirects, fatal: true}
		}
		sh.mu.Unlock()
		ep = next
	}
	defer op.cleanup()
	resp := op.resp
	sh.mu.Lock()
	sh.record(mConnect, tm.connected.Sub(due))
	sh.record(mHeaders, tm.headers.Sub(due))
	sh.mu.Unlock()
	if resp.StatusCode != http.StatusOK || !sse.IsEventStream(resp.Header.Get("Content-Type")) {
		out := outcome{class: report.EndHTTP(resp.StatusCode), fatal: true}
		switch {
		case resp.StatusCode == http.StatusNoContent:
			out = outcome{class: report.EndHTTP204, stop: true}
		case resp.StatusCode == http.StatusOK:
			out.class = report.EndContentType
		}
		sh.mu.Lock()
		if !out.stop {
			sh.c.failed++
		}
		sh.end(out.class)
		sh.mu.Unlock()
		return out
	}
	g.rec.open.Add(1)
	defer g.rec.open.Add(-1)
	sl.setLive(op.kill)
	defer sl.setLive(nil)
	sh.mu.Lock()
	sh.c.opened++
	sh.mu.Unlock()

	fb := newFirstByteReader(resp.Body, op.nc, op.drain, g.sc.Timeout.Read.D(), op.kill)
	defer fb.stop()
	var body io.Reader = fb
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(fb)
		if err != nil {
			return g.endStream(sh, tm, report.EndProtocolError, 0, 0)
		}
		body = zr
	}
	dec.Reset(body)
	dec.SetLastEventID(st.lastID)
	if op.drain != nil {
		op.drain.streaming.Store(true) // from here, the end of the run drains what arrived
	}
	var prev time.Time
	var consumed int64
	var scratch []byte // unescaped JSON strings (type_field, close_on.data)
	closed := false    // the client's end marker arrived (close_on)
	events := 0
read:
	for dec.Next() {
		now := time.Now()
		n := dec.Consumed() - consumed
		consumed += n
		switch dec.Kind() {
		case sse.KindEvent:
			events++
			data := dec.Data()
			var pubOK bool
			var pubDelivery time.Duration
			stamp := stampNone
			var delivery time.Duration
			if g.stamp != nil {
				stamp = stampMissing
				if ts, ok := extractStamp(data, g.stamp, g.stampFormat); ok {
					delivery = now.Sub(ts)
					stamp = classifyDelivery(delivery)
				}
			}
			if g.matchPublishes {
				pubDelivery, pubOK = matchNonce(data, now)
			}
			lost, dup := int64(0), int64(0)
			if g.sc.Expect.Sequence && dec.HasID() {
				lost, dup = st.sequence(dec)
			}
			typ := dec.EventType()
			deliveryUS := int64(-1)
			if stamp == stampOK || stamp == stampHuge {
				deliveryUS = delivery.Microseconds()
			}
			typeName, typeKept := g.rec.typeTab.internString(typ)
			var field []byte
			fieldOK := false
			tf := g.names.typeField()
			if tf != nil {
				field, fieldOK, scratch = scalar(tf, data, scratch)
			}
			fieldName, fieldKept := "", false
			if fieldOK {
				fieldName, fieldKept = g.rec.fieldTab.intern(field)
			}
			sh.mu.Lock()
			sh.types.add(typeName, typeKept, deliveryUS)
			switch {
			case fieldOK:
				sh.fields.add(fieldName, fieldKept, deliveryUS)
			case tf != nil:
				sh.c.typeFieldMissing++
			}
			if prev.IsZero() {
				sh.record(mFirstEvent, now.Sub(due))
				if fb.first.IsZero() {
					fb.first = now
				}
				sh.record(mFirstByte, fb.first.Sub(due))
				if !disconnectAt.IsZero() {
					sh.record(mReconnect, now.Sub(*disconnectAt))
					*disconnectAt = time.Time{}
				}
			} else {
				sh.record(mInterEvent, now.Sub(prev))
			}
			switch stamp {
			case stampOK:
				sh.record(mDelivery, delivery)
			case stampFuture:
				sh.c.clockSkew++
			case stampMissing:
				sh.c.unstamped++
			case stampHuge:
				sh.record(mDelivery, delivery)
				sh.c.deliveryOverHour++
			}
			if pubOK {
				sh.record(mPublishDelivery, max(pubDelivery, 0))
			}
			sh.c.events++
			sh.c.bytes += n
			sh.c.lost += lost
			sh.c.dup += dup
			sh.mu.Unlock()
			prev = now
			if g.names.closing() {
				if closed, scratch = g.names.closes(typ, data, scratch); closed {
					break read
				}
			}
		case sse.KindComment:
			sh.mu.Lock()
			sh.c.comments++
			sh.c.bytes += n
			sh.mu.Unlock()
		case sse.KindRetry:
			sh.mu.Lock()
			sh.c.bytes += n // the retry line and any id or event lines before it
			sh.mu.Unlock()
			if g.sc.Reconnect.Policy != "always" {
				st.retry = dec.RetryDuration()
			}
		}
	}
	st.lastID = dec.LastEventID()
	tail := dec.Consumed() - consumed
	class := g.classifyEnd(ctx, sl, dec.Err())
	if closed {
		class = report.EndClientClose
	}
	if events == 0 && (class == report.EndCancelled || class == report.EndLifetime) && time.Since(due) >= hangGrace {
		class = report.EndNoFirstEvent
		sh.mu.Lock()
		sh.c.failed++
		g.censored(sh, due, false)
		if fb.first.IsZero() {
			sh.record(mFirstByte, time.Since(due))
		} else {
			sh.record(mFirstByte, fb.first.Sub(due))
		}
		sh.mu.Unlock()
	}
	if sh.isError(class) {
		sh.mu.Lock()
		sh.sample(class, dec.Err())
		sh.mu.Unlock()
	}
	out := g.endStream(sh, tm, class, tail, events)
	out.opened = true
	return out
}

// censored records, for a stream the end of the run (or of its lifetime)
// cut while it still waited, the time it had waited as its first-event
// sample (and its headers and first-byte samples when none came): a lower
// bound of the true value, so a hanging share shows in the percentiles
// instead of vanishing from them. Called with sh.mu held.
func (g *gen) censored(sh *stripe, due time.Time, noHeaders bool) {
	waited := time.Since(due)
	sh.record(mFirstEvent, waited)
	if noHeaders {
		sh.record(mHeaders, waited)
		sh.record(mFirstByte, waited)
	}
}

// redirect is where a redirect response sends the request next, as
// EventSource follows it: 301, 302, 303, 307 and 308 with a Location.
// The request keeps its headers, including Last-Event-ID.
func (g *gen) redirect(resp *http.Response, from *endpoint) (*endpoint, bool) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, false
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, false
	}
	u, err := from.url.Parse(loc)
	if err != nil {
		return nil, false
	}
	method := g.sc.Method
	if resp.StatusCode == http.StatusSeeOther {
		method = http.MethodGet
	}
	target := u.String()
	if rt := from.redirected.Load(); rt != nil && rt.url == target && rt.method == method {
		return rt.ep, true
	}
	ep, err := g.newEndpoint(target, method)
	if err != nil {
		return nil, false
	}
	from.redirected.Store(&redirectTarget{url: target, method: method, ep: ep})
	return ep, true
}

// follow sends the request to ep on c, the kept-alive connection a
// redirect from the same server came on, so a redirect costs no new
// connection (as in a browser). When the server had closed c meanwhile,
// the request goes out again on a new connection.
func (g *gen) follow(ctx context.Context, sl *slot, c *conn, ep *endpoint, lastID string, tm *timings) (*opened, error) {
	c, err := ep.follow(ctx, c, lastID, g.sc.Timeout.Headers.D(), tm)
	if err == nil {
		return c.opened(), nil
	}
	if ctx.Err() != nil || !staleConn(err) {
		return nil, err
	}
	return g.open(ctx, sl, ep, lastID, tm)
}

// endStream records a stream's end.
func (g *gen) endStream(sh *stripe, tm timings, class string, tail int64, events int) outcome {
	now := time.Now()
	sh.mu.Lock()
	sh.record(mLifetime, now.Sub(tm.connected))
	sh.c.bytes += tail
	sh.end(class)
	sh.mu.Unlock()
	return outcome{class: class, events: events}
}

// sequence counts gaps and repeats in integer ids across reconnects.
func (st *streamState) sequence(dec *sse.Decoder) (lost, dup int64) {
	id, ok := atoi(dec.LastEventIDBytes())
	if !ok {
		return 0, 0
	}
	switch {
	case st.lastSeq < 0:
	case id == st.lastSeq+1:
	case id > st.lastSeq+1:
		lost = id - st.lastSeq - 1
	default:
		dup = 1
	}
	if id > st.lastSeq {
		st.lastSeq = id
	}
	return lost, dup
}

// errLifetime is the cause of a stream's context ending at its lifetime.
var errLifetime = errors.New("stream lifetime reached")

// ClassifyDialErr names the end class of an attempt that failed before
// streaming (connect, TLS, headers): the one dial classifier of load runs
// and of tap.
func ClassifyDialErr(ctx context.Context, err error) string {
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		// The dial gave up at ctx's deadline ("i/o timeout") a moment
		// before ctx's own timer marks it done: wait for that, so the run's
		// end (or the lifetime) is not taken for a connect error.
		<-ctx.Done()
	}
	switch {
	case context.Cause(ctx) == errLifetime:
		return report.EndLifetime
	case ctx.Err() != nil:
		return report.EndCancelled
	case errors.Is(err, errHeadersTimeout):
		return report.EndHeadersTimeout
	case isTLSErr(err):
		return report.EndTLSError
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return report.EndConnectError
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return report.EndReset
	}
	return report.EndProtocolError
}

// isTLSErr reports whether err is a failed TLS handshake: a certificate
// that did not verify, an alert, a plain-HTTP answer, or the "tls:"
// errors of crypto/tls, also when net/http wrapped them ("Get URL: tls:
// ...", as tap's client does).
func isTLSErr(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		rerr tls.RecordHeaderError
		aerr tls.AlertError
	)
	if errors.As(err, &verr) || errors.As(err, &rerr) || errors.As(err, &aerr) {
		return true
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "tls:") || strings.Contains(msg, ": tls:")
}

// classifyEnd names why a readable stream ended.
func (g *gen) classifyEnd(ctx context.Context, sl *slot, err error) string {
	switch {
	case sl.dropped.Swap(false):
		return report.EndChaosDrop
	case context.Cause(ctx) == errLifetime:
		return report.EndLifetime
	case ctx.Err() != nil:
		return report.EndCancelled
	case err == nil:
		return report.EndEOF
	case errors.Is(err, sse.ErrTooLarge):
		return report.EndTooLarge
	case errors.Is(err, errReadTimeout):
		return report.EndReadTimeout
	case errors.Is(err, io.ErrUnexpectedEOF):
		return report.EndEOFMidEvent
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return report.EndReset
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return report.EndReadTimeout
	}
	return report.EndReadError
}
