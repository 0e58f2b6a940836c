package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures/proxies"
	"github.com/ssebench/ssebench/report"
)

// TestDiagnoseNginx puts each real nginx config between ssebench and the
// reference server and wants diagnose to blame exactly what the config
// does, with the nginx setting and a fix snippet.
func TestDiagnoseNginx(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	cases := []struct {
		config  string
		query   string // "-": the README's plain /events (serve's default topic and rate)
		hold    time.Duration
		kinds   []string
		culprit string // in the first finding's culprit
		fix     string // in the first finding's fix
	}{
		{proxies.Buffered, "rate=10&size=200", 0, []string{"buffering"}, "proxy_buffering", "proxy_buffering off;"},
		// At 1 small event a second nothing fills nginx's buffer: no
		// status line, no headers, no event comes through in the window.
		{proxies.Buffered, "-", 0, []string{"buffering"}, "proxy_buffering (on by default)", "proxy_buffering off;"},
		{proxies.Gzip, "", 0, []string{"compression"}, "gzip_types", "gzip off;"},
		{proxies.ShortTimeout, "", 6 * time.Second, []string{"idle-cut"}, "nginx proxy_read_timeout", "proxy_read_timeout 1h"},
		{proxies.Correct, "", 0, nil, "", ""},
	}
	type outcome struct {
		rep *report.CheckReport
		err error
	}
	outs := make([]chan outcome, len(cases))
	for i, c := range cases {
		proxy := startProxyT(t, proxies.Nginx, c.config, r.ts.URL)
		path := "/events?topic=diagnose-" + c.config
		switch c.query {
		case "":
		case "-":
			path = "/events"
		default:
			path += "&" + c.query
		}
		outs[i] = make(chan outcome, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := Diagnose(ctx, DiagnoseConfig{Origin: r.ts.URL + path, Via: proxy.URL() + path, Window: 6 * time.Second, Hold: c.hold})
			outs[i] <- outcome{rep, err}
		}()
	}
	for i, c := range cases {
		o := <-outs[i]
		name := c.config
		if c.query == "-" {
			name += "-readme-url"
		}
		t.Run(name, func(t *testing.T) {
			if o.err != nil {
				t.Fatal(o.err)
			}
			rep := o.rep
			t.Log("\n" + table(rep))
			if rep.Command != "diagnose" || rep.Via == "" || !strings.Contains(rep.Via, "127.0.0.1") {
				t.Errorf("command %q via %q", rep.Command, rep.Via)
			}
			var kinds []string
			for _, f := range rep.Findings {
				kinds = append(kinds, f.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(c.kinds, ",") {
				t.Fatalf("findings %v, want %v", kinds, c.kinds)
			}
			if len(c.kinds) == 0 {
				if !rep.Passed {
					t.Errorf("correct config: report failed")
				}
				return
			}
			f := rep.Findings[0]
			if !strings.Contains(f.Culprit, c.culprit) || !strings.Contains(f.Fix, c.fix) || f.Summary == "" || f.Evidence == "" {
				t.Errorf("finding %+v: want culprit with %q and fix with %q", f, c.culprit, c.fix)
			}
			for _, ch := range rep.Checks {
				if !strings.Contains(ch.Evidence, "origin direct:") {
					t.Errorf("%s evidence lacks the origin's result: %q", ch.ID, ch.Evidence)
				}
			}
			if c.query == "-" {
				checkHeldBack(t, rep)
			}
		})
	}
}

// checkHeldBack wants a proxy that passed nothing on in the window
// diagnosed as buffering alone: the missing status line and headers are
// part of that finding (not a proxy error with an empty status), and no
// header is reported as changed to "(absent)".
func checkHeldBack(t *testing.T, rep *report.CheckReport) {
	t.Helper()
	if s := result(rep, "status"); s.Status != report.StatusFail || !strings.Contains(s.Reason, "no status line") {
		t.Errorf("status through the proxy: %s (%s), want a failure for the missing status line", s.Status, s.Reason)
	}
	f := rep.Findings[0]
	for _, want := range []string{"not even the status line and headers (status, headers-prompt)", "the origin answered 200 OK at once", "events ("} {
		if !strings.Contains(f.Summary, want) {
			t.Errorf("buffering summary %q lacks %q", f.Summary, want)
		}
	}
	for _, n := range rep.Notes {
		if strings.Contains(n, "(absent)") {
			t.Errorf("note compares headers that never came: %q", n)
		}
	}
}

func TestDiagnoseUnreachableAndUsage(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	_, err := Diagnose(context.Background(), DiagnoseConfig{Origin: r.events("x", ""), Via: "http://127.0.0.1:1/events", Window: 2 * time.Second})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "via") {
		t.Errorf("unreachable via: %v, want ErrUnreachable naming via", err)
	}
	_, err = Diagnose(context.Background(), DiagnoseConfig{Origin: "ftp://x", Via: r.events("x", "")})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "--origin") {
		t.Errorf("bad origin: %v, want a ConfigError naming --origin", err)
	}
}

// TestDiagnoseInterrupted wants a diagnosis stopped before its probes
// finished marked as partial and never passed.
func TestDiagnoseInterrupted(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	u := r.events("diagnose-interrupted", "")
	rep, err := Diagnose(ctx, DiagnoseConfig{Origin: u, Via: u, Window: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Passed || strings.Contains(table(rep), "PASS") {
		t.Errorf("interrupted %v passed %v:\n%s", rep.Interrupted, rep.Passed, table(rep))
	}
}
