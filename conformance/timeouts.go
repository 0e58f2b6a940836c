package conformance

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// Timeout kinds.
const (
	// KindIdle is cut after a silence: heartbeats avoid it.
	KindIdle = "idle"
	// KindLifetime is cut after a total duration, whatever flows:
	// heartbeats do not help.
	KindLifetime = "lifetime"
)

// Timeout is one known default that cuts long-lived HTTP responses. The
// table is the one place these facts live; TIMEOUTS.md in this directory
// is the same table for people (a test keeps the two in step).
type Timeout struct {
	Product string        // e.g. "nginx"
	Setting string        // the setting that controls it
	Default time.Duration // its default
	Kind    string        // KindIdle or KindLifetime
	Fix     string        // how to raise or avoid it
	// Detect recognises the product from response headers, if it leaves
	// a trace (nil: it cannot be recognised, only its default matched).
	Detect func(h http.Header) bool
}

func headerHas(name, sub string) func(http.Header) bool {
	return func(h http.Header) bool {
		for _, v := range h.Values(name) {
			if strings.Contains(strings.ToLower(v), sub) {
				return true
			}
		}
		return false
	}
}

func headerPresent(names ...string) func(http.Header) bool {
	return func(h http.Header) bool {
		for _, n := range names {
			if h.Get(n) != "" {
				return true
			}
		}
		return false
	}
}

func anyOf(fs ...func(http.Header) bool) func(http.Header) bool {
	return func(h http.Header) bool {
		for _, f := range fs {
			if f(h) {
				return true
			}
		}
		return false
	}
}

// Timeouts lists the known defaults, most common first.
var Timeouts = []Timeout{
	{"nginx", "proxy_read_timeout", 60 * time.Second, KindIdle,
		"location /events { proxy_read_timeout 1h; proxy_buffering off; }  # Kubernetes ingress-nginx: nginx.ingress.kubernetes.io/proxy-read-timeout: \"3600\"; and send heartbeats well inside it",
		headerHas("Server", "nginx")},
	{"AWS Application Load Balancer", "idle_timeout.timeout_seconds", 60 * time.Second, KindIdle,
		"aws elbv2 modify-load-balancer-attributes --load-balancer-arn ARN --attributes Key=idle_timeout.timeout_seconds,Value=3600; and send heartbeats every 15-30 s",
		anyOf(headerHas("Server", "awselb"), headerHas("Set-Cookie", "awsalb"))},
	{"AWS Classic Load Balancer", "ConnectionSettings.IdleTimeout", 60 * time.Second, KindIdle,
		"aws elb modify-load-balancer-attributes --load-balancer-name NAME --load-balancer-attributes '{\"ConnectionSettings\":{\"IdleTimeout\":3600}}'",
		headerHas("Set-Cookie", "awselb")},
	{"Traefik", "entryPoints.NAME.transport.respondingTimeouts.readTimeout (60 s since v3)", 60 * time.Second, KindLifetime,
		"--entryPoints.websecure.transport.respondingTimeouts.readTimeout=0 (static configuration)",
		nil},
	{"Apache httpd mod_proxy", "ProxyTimeout (defaults to Timeout, 60 s)", 60 * time.Second, KindIdle,
		"ProxyPass /events http://origin/events flushpackets=on timeout=3600",
		headerHas("Server", "apache")},
	{"Fly.io proxy", "idle connection timeout", 60 * time.Second, KindIdle,
		"send a heartbeat comment every 15-30 s (the limit cannot be raised)",
		anyOf(headerHas("Server", "fly/"), headerPresent("Fly-Request-Id"))},
	{"Heroku router", "55 s rolling idle window (after a 30 s first-byte limit)", 55 * time.Second, KindIdle,
		"send a heartbeat comment every 15-30 s (the router's limit cannot be changed)",
		anyOf(headerHas("Via", "vegur"), headerHas("Via", "heroku"))},
	{"HAProxy", "timeout server (with timeout client; timeout tunnel for WebSocket) (50 s in Debian's default haproxy.cfg)", 50 * time.Second, KindIdle,
		"timeout server 1h; timeout client 1h; timeout tunnel 1h (in defaults or the stream's frontend and backend); and send heartbeats",
		nil},
	{"Cloudflare", "proxy read timeout (100 s, error 524)", 100 * time.Second, KindIdle,
		"send a heartbeat comment every 15-30 s (Enterprise plans can raise proxy_read_timeout)",
		anyOf(headerHas("Server", "cloudflare"), headerPresent("Cf-Ray"))},
	{"Google Cloud Application Load Balancer", "backend service timeout (30 s)", 30 * time.Second, KindLifetime,
		"gcloud compute backend-services update NAME --global --timeout=3600s",
		headerHas("Via", "google")},
	{"Azure Front Door", "origin response timeout (30 s classic, 60 s Standard/Premium)", 30 * time.Second, KindIdle,
		"az afd profile update --profile-name NAME --resource-group RG --origin-response-timeout-seconds 240; and send heartbeats",
		headerPresent("X-Azure-Ref")},
	{"AWS CloudFront", "origin response (read) timeout (30 s)", 30 * time.Second, KindIdle,
		"raise the origin's Response timeout in the distribution (up to 60 s, more by quota request) and send heartbeats every 15 s",
		anyOf(headerPresent("X-Amz-Cf-Id"), headerHas("Via", "cloudfront"))},
	{"Gunicorn (sync workers)", "--timeout (30 s)", 30 * time.Second, KindLifetime,
		"run streams on async workers (gevent, uvicorn.workers.UvicornWorker) or raise --timeout",
		headerHas("Server", "gunicorn")},
	{"AWS API Gateway", "integration timeout (29 s REST, 30 s HTTP API)", 29 * time.Second, KindLifetime,
		"API Gateway cannot hold a stream: serve it from an ALB, a Lambda function URL with response streaming, or directly",
		headerPresent("X-Amz-Apigw-Id", "X-Amzn-Requestid")},
	{"Azure Application Gateway", "backend request timeout (20 s)", 20 * time.Second, KindIdle,
		"az network application-gateway http-settings update --gateway-name GW --resource-group RG --name SETTINGS --timeout 3600",
		headerHas("Server", "microsoft-azure-application-gateway")},
	{"Envoy", "route timeout (15 s)", 15 * time.Second, KindLifetime,
		"route: { timeout: 0s } on the stream's route (Istio: VirtualService http.timeout: 0s); keep stream_idle_timeout above the heartbeat interval",
		anyOf(headerHas("Server", "envoy"), headerPresent("X-Envoy-Upstream-Service-Time"))},
	{"Fastly", "between_bytes_timeout (10 s)", 10 * time.Second, KindIdle,
		"raise between_bytes_timeout on the backend (and pass the stream without caching); send heartbeats",
		anyOf(headerPresent("X-Fastly-Request-Id"), headerHas("X-Served-By", "cache-"))},
	{"Akamai", "read timeout (120 s)", 120 * time.Second, KindIdle,
		"raise the origin read timeout in the property (Origin Timeout behavior) and send heartbeats",
		headerHas("Server", "akamaighost")},
	{"Azure Load Balancer", "TCP idle timeout (4 min)", 4 * time.Minute, KindIdle,
		"raise the idle timeout (up to 30 min) or send heartbeats",
		nil},
	{"Envoy / Istio", "stream_idle_timeout (5 min)", 5 * time.Minute, KindIdle,
		"raise stream_idle_timeout in the HTTP connection manager, or send heartbeats",
		anyOf(headerHas("Server", "envoy"), headerHas("Server", "istio"))},
	{"Node.js http.Server", "server.requestTimeout (300 s since Node 18)", 5 * time.Minute, KindLifetime,
		"server.requestTimeout = 0 (and keep server.headersTimeout as is)",
		headerHas("X-Powered-By", "express")},
	{"Google Cloud Run", "request timeout (300 s)", 5 * time.Minute, KindLifetime,
		"gcloud run services update SERVICE --timeout=3600",
		headerHas("Server", "google frontend")},
	{"Caddy", "reverse_proxy transport http read_timeout (none by default)", 0, KindIdle,
		"remove read_timeout from reverse_proxy's transport http block (Caddy sets none by default), or raise it well above the longest silence; and send heartbeats",
		headerHas("Server", "caddy")},
	{"AWS Network Load Balancer", "TCP idle timeout (350 s)", 350 * time.Second, KindIdle,
		"send heartbeats (or TCP keepalives) more often than every 350 s",
		nil},
}

// timeoutMatch is a Timeout that may explain a cut.
type timeoutMatch struct {
	Timeout
	byDefault bool   // the cut came at its default
	byHeader  bool   // the response headers name the product
	byProxy   string // how diagnose told the proxy apart, when not by its headers
}

// named says whether the product was recognised, not only its default.
func (m timeoutMatch) named() bool { return m.byHeader || m.byProxy != "" }

func (m timeoutMatch) describe(cut time.Duration) string {
	var why []string
	if m.byHeader {
		why = append(why, "the response headers show "+m.Product)
	}
	if m.byProxy != "" {
		why = append(why, "the proxy is "+m.Product+": "+m.byProxy)
	}
	switch {
	case m.Default == 0:
		why = append(why, fmt.Sprintf("none by default, so it is set here to about %s", fmtSeconds(cut)))
	case m.byDefault:
		why = append(why, "the cut matches its default of "+fmtSeconds(m.Default))
	default:
		why = append(why, fmt.Sprintf("default %s, here about %s", fmtSeconds(m.Default), fmtSeconds(cut)))
	}
	return fmt.Sprintf("%s %s (%s)", m.Product, m.Setting, strings.Join(why, "; "))
}

// matchTimeouts returns the table entries that may explain a cut after d
// of the given kind ("" when it is not known whether idle or lifetime):
// first those the headers name, then those whose default is within
// max(1.5 s, 8%) of d.
func matchTimeouts(d time.Duration, kind string, h http.Header) []timeoutMatch {
	return matchTimeoutsNamed(d, kind, h, proxyID{})
}

// matchTimeoutsNamed is matchTimeouts with the proxy told apart by other
// means (pid): its entries count as named.
func matchTimeoutsNamed(d time.Duration, kind string, h http.Header, pid proxyID) []timeoutMatch {
	tol := max(1500*time.Millisecond, time.Duration(0.08*float64(d)))
	var byHeader, byDefault []timeoutMatch
	for _, to := range Timeouts {
		kindOK := kind == "" || to.Kind == kind
		near := to.Default > 0 && time.Duration(math.Abs(float64(d-to.Default))) <= tol
		named := to.Detect != nil && h != nil && to.Detect(h)
		m := timeoutMatch{Timeout: to, byHeader: named, byDefault: near}
		if !named && pid.name != "" && productOf(to.Product) == pid.name {
			m.byProxy = pid.how
		}
		switch {
		case m.named() && kindOK:
			byHeader = append(byHeader, m)
		case near && kindOK:
			m.byDefault = true
			byDefault = append(byDefault, m)
		}
	}
	return append(byHeader, byDefault...)
}

// productOf maps a Timeouts product to the name diagnose gives the proxy.
func productOf(product string) string {
	if strings.HasPrefix(product, "Apache httpd") {
		return nameApache
	}
	return product
}

func fmtSeconds(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	if d >= 10*time.Second {
		return fmt.Sprintf("%.0f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
