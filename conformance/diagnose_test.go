package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures/nginx"
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
		query   string
		hold    time.Duration
		kinds   []string
		culprit string // in the first finding's culprit
		fix     string // in the first finding's fix
	}{
		{nginx.Buffered, "rate=10&size=200", 0, []string{"buffering"}, "proxy_buffering", "proxy_buffering off;"},
		{nginx.Gzip, "", 0, []string{"compression"}, "gzip_types", "gzip off;"},
		{nginx.ShortTimeout, "", 6 * time.Second, []string{"idle-cut"}, "nginx proxy_read_timeout", "proxy_read_timeout 1h"},
		{nginx.Correct, "", 0, nil, "", ""},
	}
	type outcome struct {
		rep *report.CheckReport
		err error
	}
	outs := make([]chan outcome, len(cases))
	for i, c := range cases {
		proxy := nginx.StartT(t, c.config, r.ts.URL)
		path := "/events?topic=diagnose-" + c.config
		if c.query != "" {
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
		t.Run(c.config, func(t *testing.T) {
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
		})
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
