package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures/proxies"
	"github.com/ssebench/ssebench/report"
)

// TestNginx checks the reference server through each real nginx config:
// buffered fails buffering (and the headers it holds back), gzip fails
// compression only (nginx sync-flushes its gzip stream per chunk when not
// buffering, so events still arrive at once: see proxy_nginx_test.go), a 3 s
// proxy_read_timeout fails idle-timeout naming it, and the correct config
// passes. nginx missing is a failure, not a skip (startProxyT).
func TestNginx(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	cases := []struct {
		config string
		query  string
		hold   time.Duration
		expect []string
	}{
		// 200-byte events at 10/s fill nginx's 4 KiB buffer every ~1.8 s.
		{proxies.Buffered, "rate=10&size=200", 0, []string{"headers-prompt", "buffering"}},
		{proxies.Gzip, "", 0, []string{"compression"}},
		{proxies.ShortTimeout, "", 6 * time.Second, []string{"idle-timeout"}},
		{proxies.Correct, "", 0, nil},
	}
	cfgs := make([]Config, len(cases))
	for i, c := range cases {
		proxy := startProxyT(t, proxies.Nginx, c.config, r.ts.URL)
		u := proxy.URL() + "/events?topic=nginx-" + c.config
		if c.query != "" {
			u += "&" + c.query
		}
		cfgs[i] = Config{URL: u, Window: 6 * time.Second, Hold: c.hold, Clients: 10, Churn: 40}
	}
	reps := runAll(t, cfgs, len(cfgs))
	for i, c := range cases {
		t.Run(c.config, func(t *testing.T) {
			rep := reps[i]
			t.Log("\n" + table(rep))
			expectFailing(t, rep, c.expect)
			switch c.config {
			case proxies.Gzip:
				res := result(rep, "compression")
				if !strings.Contains(res.Reason, "promptly") || !strings.Contains(res.Evidence, "Content-Encoding: gzip") {
					t.Errorf("compression should say gzip arrived promptly:\n%+v", res)
				}
				if b := result(rep, "buffering"); b.Status != report.StatusPass {
					t.Errorf("buffering through gzip: %s (%s), want pass: nginx flushes gzip per chunk", b.Status, b.Reason)
				}
			case proxies.Buffered:
				if fix := result(rep, "buffering").Fix; !strings.Contains(fix, "proxy_buffering off") {
					t.Errorf("buffering fix does not name proxy_buffering off: %q", fix)
				}
			case proxies.ShortTimeout:
				checkShortTimeout(t, rep)
			}
		})
	}
}

// checkShortTimeout wants the 3 s proxy_read_timeout found as an idle cut
// near 3 s, blamed on nginx's proxy_read_timeout.
func checkShortTimeout(t *testing.T, rep *report.CheckReport) {
	t.Helper()
	res := result(rep, "idle-timeout")
	if !strings.Contains(res.Reason, "idle cut") || !strings.Contains(res.Evidence, "proxy_read_timeout") || !strings.Contains(res.Fix, "proxy_read_timeout") {
		t.Errorf("idle-timeout should be an idle cut blamed on proxy_read_timeout:\n%+v", res)
	}
	if len(rep.Findings) != 1 {
		t.Fatalf("findings %+v, want one", rep.Findings)
	}
	f := rep.Findings[0]
	if f.Kind != "idle-cut" || !strings.Contains(f.Culprit, "nginx proxy_read_timeout") {
		t.Errorf("finding %+v: want an idle-cut naming nginx proxy_read_timeout", f)
	}
	cut := cutSeconds(t, f.Summary)
	if cut < 2.5 || cut > 4.5 {
		t.Errorf("cut after %.1fs, want about %v (%s)", cut, proxies.ShortReadTimeout, f.Summary)
	}
}

// cutSeconds reads the first "after N ms" or "after N.Ns" of s.
func cutSeconds(t *testing.T, s string) float64 {
	t.Helper()
	_, rest, ok := strings.Cut(s, "after ")
	if !ok {
		t.Fatalf("no duration in %q", s)
	}
	word, _, _ := strings.Cut(rest, " ")
	word = strings.TrimRight(word, ",:;")
	d, err := time.ParseDuration(word)
	if err != nil {
		t.Fatalf("duration %q in %q: %v", word, s, err)
	}
	return d.Seconds()
}
