package conformance

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssebench/ssebench/fixtures/proxies"
)

// The proxies ssebench is tested through (fixtures/proxies), by the name
// diagnose prints.
const (
	nameNginx   = "nginx"
	nameHAProxy = "HAProxy"
	nameApache  = "Apache httpd"
	nameCaddy   = "Caddy"
)

// proxyKinds maps those names to their configs in fixtures/proxies.
var proxyKinds = map[string]string{
	nameNginx:   proxies.Nginx,
	nameHAProxy: proxies.HAProxy,
	nameApache:  proxies.Apache,
	nameCaddy:   proxies.Caddy,
}

// proxyID is a proxy told apart, and how.
type proxyID struct {
	name string // "" when unknown
	how  string // "the response's Server header", ...
}

// headFingerprint is what the proxy's HTTP/1.1 response head shows that
// Go's client hides: the header names as the proxy wrote them.
type headFingerprint struct {
	names []string
	err   error
}

// lowercase says whether every header name was written in lower case, as
// HAProxy 2 writes them on HTTP/1.1 (it stores names in lower case and
// restores no case unless told to with h1-case-adjust); nginx, Apache,
// Caddy and Go-based servers write them Capitalised-Like-This.
func (f headFingerprint) lowercase() bool {
	letters := 0
	for _, n := range f.names {
		if n != strings.ToLower(n) {
			return false
		}
		if strings.ContainsAny(n, "abcdefghijklmnopqrstuvwxyz") {
			letters++
		}
	}
	return letters >= 2
}

// fetchHead requests rawURL once over HTTP/1.1 with the probe's headers
// and reads only the status line and header names, within wait.
func fetchHead(ctx context.Context, cfg Config, wait time.Duration) headFingerprint {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return headFingerprint{err: err}
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"https": "443"}[u.Scheme]+map[string]string{"http": "80"}[u.Scheme])
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	var conn net.Conn
	if u.Scheme == "https" {
		td := &tls.Dialer{NetDialer: d, Config: &tls.Config{InsecureSkipVerify: cfg.Insecure, NextProtos: []string{"http/1.1"}, ServerName: u.Hostname()}}
		conn, err = td.DialContext(ctx, "tcp", host)
	} else {
		conn, err = d.DialContext(ctx, "tcp", host)
	}
	if err != nil {
		return headFingerprint{err: err}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req, err := http.NewRequest(cfg.Method, cfg.URL, strings.NewReader(string(cfg.Body)))
	if err != nil {
		return headFingerprint{err: err}
	}
	if len(cfg.Body) == 0 {
		req.Body = nil
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", "ssebench-check")
	for k, vs := range cfg.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	req.Close = true
	if err := req.Write(conn); err != nil {
		return headFingerprint{err: err}
	}
	br := bufio.NewReader(conn)
	if _, err := br.ReadString('\n'); err != nil {
		return headFingerprint{err: err}
	}
	var f headFingerprint
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			f.err = err
			return f
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return f
		}
		if name, _, ok := strings.Cut(line, ":"); ok && len(f.names) < 100 {
			f.names = append(f.names, strings.TrimSpace(name))
		}
	}
}

// identifyProxy names the proxy from its response headers, or else from
// the way it writes them.
func identifyProxy(h http.Header, f headFingerprint) proxyID {
	if name := proxyName(h); name != "" {
		return proxyID{name: name, how: "the response's Server header"}
	}
	if h != nil && h.Get("Server") == "" && f.lowercase() {
		names := f.names
		if len(names) > 3 {
			names = append(names[:3:3], "…")
		}
		return proxyID{name: nameHAProxy, how: fmt.Sprintf("no Server header and every header name in lower case (%s), as HAProxy writes them", strings.Join(names, ", "))}
	}
	return proxyID{}
}

// holdDiagnosis is the hold probe's timeout diagnosis, with the proxy
// told apart by its raw response head when its headers do not name it.
func (t *target) holdDiagnosis() timeoutDiagnosis {
	d := t.hold.diagnose()
	if !d.cut || t.head == nil {
		return d
	}
	if pid := identifyProxy(d.header, *t.head); pid.name != "" {
		d.matches = matchTimeoutsNamed(d.after, d.kind, d.header, pid)
	}
	return d
}

// proxySnippet is the tested fix for a named proxy: the SSE part of its
// correct config in fixtures/proxies, which the proxy tests run ("" for
// other proxies).
func proxySnippet(name string) string {
	kind, ok := proxyKinds[name]
	if !ok {
		return ""
	}
	return proxies.Snippet(kind)
}
