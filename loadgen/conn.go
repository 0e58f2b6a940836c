package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// endpoint is one target URL, prepared once: the address to dial and the
// fixed part of every request, so a connection attempt builds nothing.
type endpoint struct {
	hash     uint32 // distinguishes endpoints in the HTTP/2 pool
	url      *url.URL
	addr     string // host:port
	tls      *tls.Config
	method   string
	reqHead  []byte // request line and fixed headers, without the final CRLF
	body     []byte
	bodyHead []byte // Content-Length header when there is a body
	// redirected is the target of the last redirect from here, prepared
	// once and shared by every stream sent there (nil until one).
	redirected atomic.Pointer[redirectTarget]
}

// redirectTarget is a redirect's resolved Location, the method it is
// followed with, and its endpoint.
type redirectTarget struct {
	url, method string
	ep          *endpoint
}

func newEndpoint(raw, method string, header http.Header, body []byte, insecure bool, userAgent string) (*endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: scheme must be http or https", raw)
	}
	if method == "" {
		method = http.MethodGet
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	ep := &endpoint{url: u, addr: net.JoinHostPort(u.Hostname(), port), method: method, body: body, hash: crc32.ChecksumIEEE([]byte(raw))}
	if u.Scheme == "https" {
		ep.tls = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure, NextProtos: []string{"http/1.1"}}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, u.RequestURI(), u.Host)
	fixed := http.Header{
		"User-Agent":    {userAgent},
		"Accept":        {"text/event-stream"},
		"Cache-Control": {"no-cache"},
	}
	for k, vs := range header {
		fixed[http.CanonicalHeaderKey(k)] = vs
	}
	fixed.Del("Host")
	fixed.Del("Content-Length")
	fixed.Del("Last-Event-Id")
	if err := fixed.Write(&b); err != nil {
		return nil, err
	}
	ep.reqHead = []byte(b.String())
	if len(body) > 0 {
		ep.bodyHead = []byte("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	return ep, nil
}

// timings of one connection attempt, as offsets in monotonic time.
type timings struct {
	connected time.Time // TCP (and TLS) up
	headers   time.Time // response headers parsed
}

// conn is one live stream over HTTP/1.1. Its reads happen on the stream's
// own goroutine: no reader or writer goroutine per connection.
type conn struct {
	nc    net.Conn
	br    *bufio.Reader
	resp  *http.Response
	stop  func() bool // unregisters the context watcher
	drain *drainer
}

// drainWindow is how long a stream goes on reading after the run (or its
// lifetime) ends: events already received by the socket are counted, not
// dropped with it. The run's end waits at most this long for them.
const drainWindow = 250 * time.Millisecond

// drainer lets a stream's end drain its socket instead of closing it at
// once. Until streaming is set (headers are in and the body is being
// read), the end of the context closes the socket; after, it sets a read
// deadline drainWindow away, which firstByteReader keeps.
type drainer struct {
	streaming atomic.Bool
	deadline  atomic.Int64 // unix ns of the drain deadline; 0 until the end
}

// end starts the drain, or closes nc when the stream is not reading yet.
func (d *drainer) end(nc net.Conn) {
	if !d.streaming.Load() {
		nc.Close()
		return
	}
	dl := time.Now().Add(drainWindow)
	d.deadline.Store(dl.UnixNano())
	nc.SetReadDeadline(dl)
}

// keep re-applies the drain deadline once the drain has begun: a read that
// set its own deadline at the same time must not outlive the drain.
func (d *drainer) keep(nc net.Conn) bool {
	if d == nil {
		return false
	}
	if ns := d.deadline.Load(); ns != 0 {
		nc.SetReadDeadline(time.Unix(0, ns))
		return true
	}
	return false
}

var bufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1024) }}

// errHeadersTimeout marks a response that did not arrive in time.
var errHeadersTimeout = errors.New("response headers timeout")

// dialBody is dial with a body of this request's own (request mode, where
// a template is rendered per request); nil means the endpoint's body.
//
// The socket is read through net.Conn. A raw reader that skips the read
// Go's poller makes to learn a drained socket is empty would save a
// syscall per event, but it is unsound: starting a raw read resets the
// poller's remembered readiness, so data that arrived while nobody was
// reading would wait for the next packet (TestDataArrivingBetweenReads).
func (ep *endpoint) dialBody(ctx context.Context, d *net.Dialer, lastEventID string, body []byte, headersTimeout time.Duration, tm *timings) (*conn, error) {
	nc, err := d.DialContext(ctx, "tcp", ep.addr)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, drain: &drainer{}}
	// Closing the socket (or, once streaming, a short read deadline) is how
	// a cancelled stream unblocks its reader; AfterFunc starts no
	// goroutine until ctx is done.
	c.stop = context.AfterFunc(ctx, func() { c.drain.end(nc) })
	if headersTimeout > 0 {
		nc.SetDeadline(time.Now().Add(headersTimeout))
	}
	if ep.tls != nil {
		tc := tls.Client(nc, ep.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return c.fail(ctx, fmt.Errorf("tls: %w", err))
		}
		c.nc = tc
	}
	tm.connected = time.Now()
	c.br = bufPool.Get().(*bufio.Reader)
	c.br.Reset(c.nc)
	return ep.request(ctx, c, lastEventID, body, tm)
}

// follow sends ep's request on c, the connection a redirect from the same
// server came on (c.reusable said so), as a browser reuses a kept-alive
// connection: a redirect costs no new connection. On error c is closed.
func (ep *endpoint) follow(ctx context.Context, c *conn, lastEventID string, headersTimeout time.Duration, tm *timings) (*conn, error) {
	c.resp = nil
	if headersTimeout > 0 {
		c.nc.SetDeadline(time.Now().Add(headersTimeout))
	}
	return ep.request(ctx, c, lastEventID, nil, tm)
}

// request writes ep's request on c, whose deadline covers the wait for
// headers, and reads the response headers. On error c is closed.
func (ep *endpoint) request(ctx context.Context, c *conn, lastEventID string, body []byte, tm *timings) (*conn, error) {
	bodyHead := ep.bodyHead
	if body == nil {
		body = ep.body
	} else {
		bodyHead = nil
	}
	req := make([]byte, 0, len(ep.reqHead)+len(bodyHead)+len(lastEventID)+len(body)+64)
	req = append(req, ep.reqHead...)
	req = append(req, bodyHead...)
	if bodyHead == nil && (len(body) > 0 || ep.method == http.MethodPost || ep.method == http.MethodPut || ep.method == http.MethodPatch) {
		req = append(req, "Content-Length: "...)
		req = strconv.AppendInt(req, int64(len(body)), 10)
		req = append(req, "\r\n"...)
	}
	if lastEventID != "" {
		req = append(req, "Last-Event-ID: "...)
		req = append(req, sanitizeHeaderValue(lastEventID)...)
		req = append(req, "\r\n"...)
	}
	req = append(req, "\r\n"...)
	req = append(req, body...)
	if _, err := c.nc.Write(req); err != nil {
		return c.fail(ctx, err)
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: ep.method})
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = errHeadersTimeout
		}
		return c.fail(ctx, err)
	}
	tm.headers = time.Now()
	c.nc.SetDeadline(time.Time{})
	c.resp = resp
	return c, nil
}

// fail closes c after a failed attempt; the error is ctx's when ctx ended.
func (c *conn) fail(ctx context.Context, err error) (*conn, error) {
	c.close()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, err
}

// redirectBodyMax bounds what is read of a redirect's body so that its
// connection can carry the next request; a longer body closes it.
const redirectBodyMax = 64 << 10

// reusable reports whether c, holding a redirect from endpoint from, can
// carry the request to endpoint to: the same server (scheme, host and
// port), a response that keeps the connection open, and a body read to
// its end within redirectBodyMax (and timeout) with nothing after it.
// Reading the body is part of the check, so a false answer leaves c to be
// closed.
func (c *conn) reusable(from, to *endpoint, timeout time.Duration) bool {
	if c.resp == nil || c.resp.Close || from.addr != to.addr || from.url.Scheme != to.url.Scheme ||
		c.resp.ContentLength > redirectBodyMax {
		return false
	}
	if timeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(timeout))
	}
	n, err := io.CopyN(io.Discard, c.resp.Body, redirectBodyMax+1)
	return err == io.EOF && n <= redirectBodyMax && c.br.Buffered() == 0
}

// staleConn reports whether a request on a reused connection failed
// because the server had closed it (as an idle keep-alive connection may
// be at any time): the request is then sent again on a new connection.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// opened is c as the stream reads it.
func (c *conn) opened() *opened {
	return &opened{resp: c.resp, nc: c.nc, kill: c.nc, cleanup: c.close, drain: c.drain, conn: c}
}

// close ends the connection and returns its buffer.
func (c *conn) close() {
	if c.stop != nil {
		c.stop()
	}
	c.nc.Close()
	if c.br != nil {
		c.br.Reset(nil)
		bufPool.Put(c.br)
		c.br = nil
	}
}

// sanitizeHeaderValue keeps a server-chosen id from splitting the request.
func sanitizeHeaderValue(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", "", "\n", "").Replace(s)
	}
	return s
}

// errReadTimeout ends a stream silent for longer than timeout.read.
var errReadTimeout = errors.New("read timeout: the stream was silent too long")

// firstByteReader notes when the first body byte arrives and, with a read
// timeout, ends a silent stream: by socket deadline on HTTP/1.1, by timer
// (closing the stream) on HTTP/2, where streams share a socket.
type firstByteReader struct {
	r           io.Reader
	nc          net.Conn // nil over HTTP/2
	drain       *drainer // nil over HTTP/2
	readTimeout time.Duration
	first       time.Time
	timer       *time.Timer
	timedOut    atomic.Bool
}

func newFirstByteReader(r io.Reader, nc net.Conn, drain *drainer, readTimeout time.Duration, closer io.Closer) *firstByteReader {
	f := &firstByteReader{r: r, nc: nc, drain: drain, readTimeout: readTimeout}
	if readTimeout > 0 && nc == nil {
		f.timer = time.AfterFunc(readTimeout, func() { f.timedOut.Store(true); closer.Close() })
	}
	return f
}

func (f *firstByteReader) Read(p []byte) (int, error) {
	if f.readTimeout > 0 {
		if f.nc != nil {
			if f.drain == nil || f.drain.deadline.Load() == 0 {
				f.nc.SetReadDeadline(time.Now().Add(f.readTimeout))
				f.drain.keep(f.nc) // the drain began meanwhile: its deadline wins
			}
		} else {
			f.timer.Reset(f.readTimeout)
		}
	}
	n, err := f.r.Read(p)
	if n > 0 && f.first.IsZero() {
		f.first = time.Now()
	}
	if err != nil && f.timedOut.Load() {
		err = errReadTimeout
	}
	return n, err
}

func (f *firstByteReader) stop() {
	if f.timer != nil {
		f.timer.Stop()
	}
}
