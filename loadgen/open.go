package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/ssebench/ssebench/sse"
)

// opened is one response whose body is the stream.
type opened struct {
	resp    *http.Response
	nc      net.Conn  // the socket on HTTP/1.1; nil on HTTP/2 (shared)
	kill    io.Closer // ends the stream at once, from any goroutine
	cleanup func()    // releases everything; called once by the stream
	drain   *drainer  // nil on HTTP/2, where the end closes the stream
	conn    *conn     // the HTTP/1.1 connection (nil on HTTP/2), reused by a redirect
}

// open connects one stream: the lean HTTP/1.1 client, or an HTTP/2 stream
// on a shared connection.
// ep, when not nil, replaces the slot's target (a redirect).
func (g *gen) open(ctx context.Context, sl *slot, ep *endpoint, lastID string, tm *timings) (*opened, error) {
	return g.openAt(ctx, ep, sl.id, sl.id, lastID, nil, tm)
}

// openWith is open for stream id (which picks the endpoint and source
// address) on HTTP/2 connection group h2id, with body (nil: the
// endpoint's fixed body).
func (g *gen) openWith(ctx context.Context, id, h2id int, lastID string, body []byte, tm *timings) (*opened, error) {
	return g.openAt(ctx, nil, id, h2id, lastID, body, tm)
}

// openAt is openWith on endpoint ep (nil: stream id's own).
func (g *gen) openAt(ctx context.Context, ep *endpoint, id, h2id int, lastID string, body []byte, tm *timings) (*opened, error) {
	if ep == nil {
		ep = g.endpoints[id%len(g.endpoints)]
	}
	d := g.dialers[(id/len(g.endpoints))%len(g.dialers)]
	if g.h2 != nil {
		return g.h2.open(ctx, ep, h2id, d, lastID, body, tm)
	}
	c, err := ep.dialBody(ctx, d, lastID, body, g.sc.Timeout.Headers.D(), tm)
	if err != nil {
		return nil, err
	}
	return c.opened(), nil
}

// h2pool multiplexes streams over HTTP/2 connections: stream i uses
// connection group i mod groups, each group one http.Transport limited to
// a single connection, so StreamsPerConn streams share a TCP connection as
// they would in a browser. Safe for concurrent use.
type h2pool struct {
	mu         sync.Mutex
	groups     map[int]*http.Transport
	n          int // number of groups
	insecure   bool
	headersTTL time.Duration
	ua         string
	header     http.Header
	body       []byte
	method     string
}

func newH2Pool(streams, perConn int, insecure bool, headersTimeout time.Duration, ua, method string, header http.Header, body []byte) *h2pool {
	return &h2pool{
		groups: map[int]*http.Transport{}, n: max(1, (streams+perConn-1)/max(1, perConn)),
		insecure: insecure, headersTTL: headersTimeout, ua: ua, header: header, body: body, method: method,
	}
}

func (p *h2pool) transport(key int, ep *endpoint, d *net.Dialer) *http.Transport {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.groups[key]; t != nil {
		return t
	}
	var protos http.Protocols
	if ep.tls != nil {
		protos.SetHTTP2(true)
	} else {
		protos.SetUnencryptedHTTP2(true)
	}
	t := &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: p.insecure},
		Protocols:             &protos,
		MaxConnsPerHost:       1,
		DisableCompression:    true,
		ResponseHeaderTimeout: p.headersTTL,
		ForceAttemptHTTP2:     true,
	}
	p.groups[key] = t
	return t
}

func (p *h2pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.groups {
		t.CloseIdleConnections()
	}
}

func (p *h2pool) open(ctx context.Context, ep *endpoint, id int, d *net.Dialer, lastID string, body []byte, tm *timings) (*opened, error) {
	if body == nil {
		body = p.body
	}
	group := id % p.n
	t := p.transport(group*1_000_003+int(ep.hash), ep, d)
	trace := &httptrace.ClientTrace{
		GotConn:              func(httptrace.GotConnInfo) { tm.connected = time.Now() },
		GotFirstResponseByte: func() { tm.headers = time.Now() },
	}
	req, err := sse.NewRequest(httptrace.WithClientTrace(ctx, trace), p.method, ep.url.String(), body, p.header, lastID)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", p.ua)
	resp, err := t.RoundTrip(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			return nil, errHeadersTimeout
		}
		return nil, err
	}
	if resp.ProtoMajor != 2 {
		resp.Body.Close()
		return nil, errors.New("server did not speak HTTP/2 (" + resp.Proto + ")")
	}
	now := time.Now()
	if tm.connected.IsZero() {
		tm.connected = now
	}
	if tm.headers.IsZero() {
		tm.headers = now
	}
	return &opened{resp: resp, kill: resp.Body, cleanup: func() { resp.Body.Close() }}, nil
}
