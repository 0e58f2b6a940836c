package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures/proxies"
	"github.com/ssebench/ssebench/report"
)

// startPlainOrigin is an SSE origin written the way tutorials write one
// (the seed-style Express handler): text/event-stream, no-cache, a small
// event every interval, flushed, and no X-Accel-Buffering header, so an
// nginx with its defaults buffers it.
func startPlainOrigin(t *testing.T, every time.Duration) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
			if _, err := fmt.Fprintf(w, "id: %d\ndata: {\"n\":%d}\n\n", n, n); err != nil {
				return
			}
			_ = rc.Flush()
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

// proxyCase is one proxy configuration and what diagnose and check must
// say about it. The README's table "What ssebench says about the proxies
// users run" lists these rows.
type proxyCase struct {
	kind, config string
	plain        bool   // the origin is startPlainOrigin, not the reference server
	query        string // added to the reference server's stream URL
	hold         time.Duration
	finding      string   // diagnose's one finding kind ("" for none)
	culprit      string   // in its culprit
	fix          []string // in its fix
	checkFails   []string // the checks that fail through the proxy
}

var proxyCases = []proxyCase{
	{kind: proxies.Nginx, config: proxies.Buffered, plain: true, finding: "buffering",
		culprit: "if it is nginx: proxy_buffering (on by default), which the origin could turn off for the stream with X-Accel-Buffering: no", fix: []string{"proxy_buffering off;", "X-Accel-Buffering: no"}},
	{kind: proxies.HAProxy, config: proxies.Gzip, finding: "compression",
		culprit: "HAProxy compression with text/event-stream in compression type", fix: []string{"remove text/event-stream from `compression type`", "timeout server 1h"},
		checkFails: []string{"buffering", "compression"}},
	{kind: proxies.HAProxy, config: proxies.ShortTimeout, hold: 6 * time.Second, finding: "idle-cut",
		culprit: "HAProxy timeout server", fix: []string{"timeout server 1h", "timeout client 1h"}, checkFails: []string{"idle-timeout"}},
	{kind: proxies.HAProxy, config: proxies.Correct, hold: 6 * time.Second},
	{kind: proxies.Apache, config: proxies.Gzip, finding: "compression",
		culprit: "Apache httpd mod_deflate", fix: []string{"SetEnvIfNoCase Accept text/event-stream no-gzip"}, checkFails: []string{"compression"}},
	{kind: proxies.Apache, config: proxies.ShortTimeout, hold: 6 * time.Second, finding: "idle-cut",
		culprit: "Apache httpd mod_proxy ProxyTimeout", fix: []string{"timeout=3600"}, checkFails: []string{"idle-timeout"}},
	{kind: proxies.Apache, config: proxies.Correct, hold: 6 * time.Second},
	// Caddy's encode sends small events uncompressed, but only once the
	// first has come: it holds the headers until then (2.5 s at this rate,
	// well past headers-prompt's 1 s).
	{kind: proxies.Caddy, config: proxies.Gzip, query: "rate=0.4", finding: "buffering",
		culprit: "Caddy encode on the stream", fix: []string{"@notsse not header Accept text/event-stream*", "encode @notsse gzip"}, checkFails: []string{"headers-prompt"}},
	{kind: proxies.Caddy, config: proxies.ShortTimeout, hold: 6 * time.Second, finding: "idle-cut",
		culprit: "Caddy reverse_proxy transport http read_timeout", fix: []string{"remove read_timeout", "flush_interval -1"}, checkFails: []string{"idle-timeout"}},
	{kind: proxies.Caddy, config: proxies.Correct, hold: 6 * time.Second},
}

func (c proxyCase) name() string {
	n := c.kind + "/" + c.config
	if c.plain {
		n += "/plain-origin"
	}
	return n
}

// TestDiagnoseProxies runs diagnose through each real proxy in each
// configuration (fixtures/proxies) and wants the one finding the config
// causes, blamed on that proxy's setting, with its fix; the correct
// configs, held as long as the short timeouts, pass with no finding.
func TestDiagnoseProxies(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	plain := startPlainOrigin(t, time.Second)
	for _, c := range proxyCases {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			origin, path := r.ts.URL, "/events?topic=diagnose-"+c.kind+"-"+c.config
			if c.query != "" {
				path += "&" + c.query
			}
			if c.plain {
				origin, path = plain.URL, "/events"
			}
			p := startProxyT(t, c.kind, c.config, origin)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := Diagnose(ctx, DiagnoseConfig{Origin: origin + path, Via: p.URL() + path, Window: 6 * time.Second, Hold: c.hold})
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, f := range rep.Findings {
				kinds = append(kinds, f.Kind)
			}
			if c.finding == "" {
				if len(kinds) > 0 || !rep.Passed {
					t.Errorf("correct config: findings %v, passed %v, want none:\n%s", kinds, rep.Passed, table(rep))
				}
				return
			}
			if strings.Join(kinds, ",") != c.finding {
				t.Fatalf("findings %v, want [%s]:\n%s\n%+v", kinds, c.finding, table(rep), rep.Findings)
			}
			f := rep.Findings[0]
			t.Logf("culprit: %s\nfix:\n%s", f.Culprit, f.Fix)
			if !strings.Contains(f.Culprit, c.culprit) {
				t.Errorf("culprit %q, want it to name %q", f.Culprit, c.culprit)
			}
			for _, want := range c.fix {
				if !strings.Contains(f.Fix, want) {
					t.Errorf("fix lacks %q:\n%s", want, f.Fix)
				}
			}
			if strings.Contains(f.Summary, "answers  where") {
				t.Errorf("summary with a blank status: %q", f.Summary)
			}
			if c.finding == "idle-cut" {
				if cut := cutSeconds(t, f.Summary); cut < 2.5 || cut > 4.5 {
					t.Errorf("cut after %.1fs, want about %v (%s)", cut, proxies.ShortReadTimeout, f.Summary)
				}
			}
		})
	}
}

// TestCheckProxies runs check through the same proxies: exactly the checks
// the config breaks fail, and the correct configs pass everything (held
// open, as the short timeouts are, so idle-timeout passes through them).
func TestCheckProxies(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	var cases []proxyCase
	var cfgs []Config
	for _, c := range proxyCases {
		if c.plain {
			continue // check needs no origin: the reference server's rows cover it
		}
		p := startProxyT(t, c.kind, c.config, r.ts.URL)
		cases = append(cases, c)
		u := p.URL() + "/events?topic=check-" + c.kind + "-" + c.config
		if c.query != "" {
			u += "&" + c.query
		}
		cfgs = append(cfgs, Config{URL: u, Window: 6 * time.Second, Hold: c.hold})
	}
	reps := runAll(t, cfgs, len(cfgs))
	for i, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			rep := reps[i]
			expectFailing(t, rep, c.checkFails)
			if c.finding == "idle-cut" {
				res := result(rep, "idle-timeout")
				if !strings.Contains(res.Reason, "idle cut") {
					t.Errorf("idle-timeout %q: want an idle cut", res.Reason)
				}
				// check names the same setting and fix as diagnose (HAProxy
				// too, by its raw response head).
				if !strings.Contains(res.Evidence, "likely culprit: "+c.culprit) || !strings.Contains(res.Fix, c.fix[0]) {
					t.Errorf("idle-timeout should blame %q with a fix naming %q:\n%+v", c.culprit, c.fix[0], res)
				}
				if f := rep.Findings; len(f) != 1 || !strings.Contains(f[0].Culprit, c.culprit) {
					t.Errorf("findings %+v: want one naming %q", f, c.culprit)
				}
			}
			if c.finding == "" {
				if !rep.Passed {
					t.Errorf("correct config failed:\n%s", table(rep))
				}
				if res := result(rep, "idle-timeout"); res.Status != report.StatusPass {
					t.Errorf("idle-timeout through the correct config: %s (%s), want pass", res.Status, res.Reason)
				}
			}
		})
	}
}
