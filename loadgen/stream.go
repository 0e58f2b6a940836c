package loadgen

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ssebench/ssebench/sse"
)

// End classes: why a connection attempt or a stream ended.
const (
	EndEOF            = "eof"             // server closed cleanly between events
	EndEOFMidEvent    = "eof_mid_event"   // server closed inside an event (it was lost)
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
)

// abnormal reports whether an end class counts as an error.
func abnormal(class string) bool {
	switch class {
	case EndEOF, EndCancelled, EndLifetime, EndChaosDrop, EndHTTP204:
		return false
	}
	return true
}

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
}

// runSlot runs one client until the run ends, it gives up, or its lifetime
// passes. It reports whether the controller should replace it.
func (g *gen) runSlot(ctx context.Context, sl *slot, due time.Time) (replace bool) {
	sh := g.rec.shard(sl.id)
	var lifetimeEnd time.Time
	if lt := g.lifetime(); lt > 0 {
		lifetimeEnd = due.Add(lt)
	}
	st := streamState{retry: DefaultRetry, lastSeq: -1}
	if g.sc.Reconnect.Policy == "always" {
		st.retry = g.sc.Reconnect.BaseDelay.D()
	}
	dec := sse.NewDecoder(nil, sse.Config{BufSize: 2048})
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
		connCtx, cancel := ctx, context.CancelFunc(func() {})
		if !lifetimeEnd.IsZero() {
			connCtx, cancel = context.WithDeadlineCause(ctx, lifetimeEnd, errLifetime)
		}
		out := g.connectOnce(connCtx, sl, sh, dec, &st, due, disconnectAt, attempt > 0)
		cancel()
		now := time.Now()
		switch {
		case ctx.Err() != nil:
			return false
		case out.class == EndLifetime:
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
		disconnectAt = now
		due = now.Add(delay)
		sh.mu.Lock()
		sh.c.reconnects++
		sh.mu.Unlock()
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

// connectOnce makes one connection attempt and reads the stream to its end.
func (g *gen) connectOnce(ctx context.Context, sl *slot, sh *shard, dec *sse.Decoder, st *streamState,
	due, disconnectAt time.Time, isReconnect bool) outcome {
	started := time.Now()
	sh.mu.Lock()
	sh.record(mLag, started.Sub(due))
	sh.mu.Unlock()
	var tm timings
	op, err := g.open(ctx, sl, st.lastID, &tm)
	if err != nil {
		class := classifyDialErr(ctx, err)
		sh.mu.Lock()
		if class == EndCancelled || class == EndLifetime {
			sh.end(class, false)
		} else {
			sh.c.failed++
			sh.end(class, true)
			sh.sample(class, err)
		}
		sh.mu.Unlock()
		return outcome{class: class}
	}
	defer op.cleanup()
	resp := op.resp
	sh.mu.Lock()
	sh.record(mConnect, tm.connected.Sub(due))
	sh.record(mHeaders, tm.headers.Sub(due))
	sh.mu.Unlock()
	if resp.StatusCode != http.StatusOK || !sse.IsEventStream(resp.Header.Get("Content-Type")) {
		out := outcome{class: "http_" + strconv.Itoa(resp.StatusCode), fatal: true}
		switch {
		case resp.StatusCode == http.StatusNoContent:
			out = outcome{class: EndHTTP204, stop: true}
		case resp.StatusCode == http.StatusOK:
			out.class = EndContentType
		}
		sh.mu.Lock()
		if !out.stop {
			sh.c.failed++
		}
		sh.end(out.class, abnormal(out.class))
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

	fb := newFirstByteReader(resp.Body, op.nc, g.sc.Timeout.Read.D(), op.kill)
	defer fb.stop()
	var body io.Reader = fb
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(fb)
		if err != nil {
			return g.endStream(sh, tm, EndProtocolError, 0, 0)
		}
		body = zr
	}
	dec.Reset(body)
	dec.SetLastEventID(st.lastID)
	var prev time.Time
	var consumed int64
	events := 0
	for dec.Next() {
		now := time.Now()
		n := dec.Consumed() - consumed
		consumed += n
		switch dec.Kind() {
		case sse.KindEvent:
			events++
			data := dec.Data()
			var deliveryOK, pubOK bool
			var delivery, pubDelivery time.Duration
			if g.stamp != nil {
				if ts, ok := extractStamp(data, g.stamp, g.stampFormat); ok {
					delivery, deliveryOK = now.Sub(ts), true
				}
			}
			if g.matchPublishes {
				pubDelivery, pubOK = matchNonce(data, now)
			}
			lost, dup := int64(0), int64(0)
			if g.sc.Expect.Sequence {
				lost, dup = st.sequence(dec)
			}
			sh.mu.Lock()
			if prev.IsZero() {
				sh.record(mFirstEvent, now.Sub(due))
				if fb.first.IsZero() {
					fb.first = now
				}
				sh.record(mFirstByte, fb.first.Sub(due))
				if isReconnect {
					sh.record(mReconnect, now.Sub(disconnectAt))
				}
			} else {
				sh.record(mInterEvent, now.Sub(prev))
			}
			if deliveryOK {
				if delivery < 0 {
					sh.c.clockSkew++
					delivery = 0
				}
				sh.record(mDelivery, delivery)
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
		case sse.KindComment:
			sh.mu.Lock()
			sh.c.comments++
			sh.c.bytes += n
			sh.mu.Unlock()
		case sse.KindRetry:
			if g.sc.Reconnect.Policy != "always" {
				st.retry = time.Duration(dec.Retry()) * time.Millisecond
			}
		}
	}
	st.lastID = dec.LastEventID()
	tail := dec.Consumed() - consumed
	class := g.classifyEnd(ctx, sl, dec.Err())
	if abnormal(class) {
		sh.mu.Lock()
		sh.sample(class, dec.Err())
		sh.mu.Unlock()
	}
	return g.endStream(sh, tm, class, tail, events)
}

// endStream records a stream's end.
func (g *gen) endStream(sh *shard, tm timings, class string, tail int64, events int) outcome {
	now := time.Now()
	sh.mu.Lock()
	sh.record(mLifetime, now.Sub(tm.connected))
	sh.c.bytes += tail
	sh.end(class, abnormal(class))
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

func classifyDialErr(ctx context.Context, err error) string {
	switch {
	case context.Cause(ctx) == errLifetime:
		return EndLifetime
	case ctx.Err() != nil:
		return EndCancelled
	case errors.Is(err, errHeadersTimeout):
		return EndHeadersTimeout
	case strings.HasPrefix(err.Error(), "tls:"):
		return EndTLSError
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return EndConnectError
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return EndReset
	}
	return EndProtocolError
}

// classifyEnd names why a readable stream ended.
func (g *gen) classifyEnd(ctx context.Context, sl *slot, err error) string {
	switch {
	case sl.dropped.Swap(false):
		return EndChaosDrop
	case context.Cause(ctx) == errLifetime:
		return EndLifetime
	case ctx.Err() != nil:
		return EndCancelled
	case err == nil:
		return EndEOF
	case errors.Is(err, sse.ErrTooLarge):
		return EndTooLarge
	case errors.Is(err, errReadTimeout):
		return EndReadTimeout
	case errors.Is(err, io.ErrUnexpectedEOF):
		return EndEOFMidEvent
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return EndReset
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return EndReadTimeout
	}
	return EndReadError
}
