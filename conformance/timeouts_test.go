package conformance

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

const (
	tableStart = "<!-- timeouts table: generated from Timeouts by TestTimeoutsMarkdown -->\n"
	tableEnd   = "<!-- end of timeouts table -->\n"
)

func timeoutsMarkdown() string {
	var b strings.Builder
	b.WriteString("| product | setting | default | kind | fix |\n| --- | --- | --- | --- | --- |\n")
	for _, to := range Timeouts {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", to.Product, to.Setting, fmtSeconds(to.Default), to.Kind,
			strings.ReplaceAll(to.Fix, "|", `\|`))
	}
	return b.String()
}

// TestTimeoutsMarkdown keeps TIMEOUTS.md's table equal to Timeouts
// (-update rewrites it).
func TestTimeoutsMarkdown(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("TIMEOUTS.md")
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok1 := strings.Cut(string(doc), tableStart)
	_, tail, ok2 := strings.Cut(rest, tableEnd)
	if !ok1 || !ok2 {
		t.Fatal("TIMEOUTS.md lacks the table markers")
	}
	want := head + tableStart + timeoutsMarkdown() + tableEnd + tail
	if *update {
		if err := os.WriteFile("TIMEOUTS.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(doc) != want {
		t.Errorf("TIMEOUTS.md is out of step with Timeouts: run go test -run TestTimeoutsMarkdown -update")
	}
}

func TestMatchTimeouts(t *testing.T) {
	t.Parallel()
	names := func(ms []timeoutMatch) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Product)
		}
		return strings.Join(s, ", ")
	}
	nginxHeader := http.Header{"Server": {"nginx/1.22.1"}}
	cases := []struct {
		name   string
		d      time.Duration
		kind   string
		h      http.Header
		want   []string // products, in order, that must be first
		absent []string
	}{
		{"nginx default by time", 60200 * time.Millisecond, KindIdle, nil, []string{"nginx", "AWS Application Load Balancer"}, []string{"Traefik", "Cloudflare"}},
		{"lifetime at 60 s", 61 * time.Second, KindLifetime, nil, []string{"Traefik"}, []string{"nginx"}},
		{"heroku", 55 * time.Second, KindIdle, nil, []string{"Heroku router"}, []string{"nginx"}},
		{"cloudflare", 100 * time.Second, KindIdle, nil, []string{"Cloudflare"}, nil},
		{"gcp", 30 * time.Second, KindLifetime, nil, []string{"Google Cloud Application Load Balancer", "Gunicorn (sync workers)"}, []string{"Azure Front Door"}},
		{"azure front door", 30 * time.Second, KindIdle, nil, []string{"Azure Front Door", "AWS CloudFront"}, []string{"Gunicorn (sync workers)"}},
		{"envoy", 15 * time.Second, KindLifetime, nil, []string{"Envoy"}, nil},
		{"unknown kind matches both", 30 * time.Second, "", nil, []string{"Google Cloud Application Load Balancer", "Azure Front Door"}, nil},
		{"nginx by header at 3 s", 3 * time.Second, KindIdle, nginxHeader, []string{"nginx"}, nil},
		{"nothing at 7 s", 7 * time.Second, KindIdle, nil, nil, []string{"nginx"}},
		{"nginx header does not explain a lifetime cap", 3 * time.Second, KindLifetime, nginxHeader, nil, []string{"nginx"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms := matchTimeouts(tc.d, tc.kind, tc.h)
			got := names(ms)
			for i, w := range tc.want {
				if i >= len(ms) {
					t.Fatalf("matches %q: want %q among the first", got, w)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("matches %q: want %q", got, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("matches %q: do not want %q", got, a)
				}
			}
			if len(tc.want) == 0 && tc.absent != nil && len(ms) > 0 && tc.h == nil {
				t.Errorf("matches %q: want none", got)
			}
		})
	}
	m := matchTimeouts(3*time.Second, KindIdle, nginxHeader)[0]
	if d := m.describe(3 * time.Second); !strings.Contains(d, "proxy_read_timeout") || !strings.Contains(d, "about 3.0 s") || !strings.Contains(d, "headers show nginx") {
		t.Errorf("describe: %q", d)
	}
}

// heldFake builds a finished held stream with the given timings.
func heldFake(role string, life, quiet, earlier time.Duration, end string) heldStream {
	s := newStream(streamSpec{})
	s.status, s.statusTxt, s.header = 200, "200 OK", http.Header{}
	s.headersAt = 10 * time.Millisecond
	s.endAt = s.headersAt + life
	s.end = end
	s.wire = &wireTap{lastAt: s.endAt - quiet, maxGap: earlier}
	return heldStream{role: role, s: s}
}

func TestHoldDiagnosis(t *testing.T) {
	t.Parallel()
	sec := time.Second
	cases := []struct {
		name    string
		ref     bool
		streams []heldStream
		cut     bool
		kind    string
		after   time.Duration
		summary string
	}{
		{"nothing cut", false, []heldStream{heldFake(holdAsIs, 6*sec, sec, sec, report.EndOpen)}, false, "", 0, ""},
		{"ref idle", true, []heldStream{
			heldFake(holdAsIs, 6*sec, sec, sec, report.EndOpen),
			heldFake(holdIdle, 3*sec, 3*sec, 0, report.EndTruncated),
			heldFake(holdAlive, 6*sec, sec, sec, report.EndOpen),
		}, true, KindIdle, 3 * sec, "heartbeats avoid it"},
		{"ref lifetime", true, []heldStream{
			heldFake(holdAsIs, 5*sec, 0, 100*time.Millisecond, report.EndTruncated),
			heldFake(holdIdle, 5*sec, 5*sec, 0, report.EndTruncated),
			heldFake(holdAlive, 5100*time.Millisecond, sec, sec, report.EndTruncated),
		}, true, KindLifetime, 5050 * time.Millisecond, "heartbeats do not help"},
		{"generic: cut while flowing", false, []heldStream{heldFake(holdAsIs, 60*sec, 200*time.Millisecond, sec, report.EndReset)}, true, KindLifetime, 60 * sec, "while bytes were flowing"},
		{"generic: survived longer silences", false, []heldStream{heldFake(holdAsIs, 90*sec, 10*sec, 40*sec, report.EndTruncated)}, true, KindLifetime, 90 * sec, "heartbeats would not help"},
		{"generic: cut after its longest silence", false, []heldStream{heldFake(holdAsIs, 100*sec, 55*sec, 20*sec, report.EndTruncated)}, true, KindIdle, 55 * sec, "likely an idle cut"},
		{"generic: silent throughout", false, []heldStream{heldFake(holdAsIs, 60*sec, 60*sec, 0, report.EndTruncated)}, true, "", 60 * sec, "cannot tell"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &holdResult{hold: 2 * time.Minute, refServer: tc.ref, streams: tc.streams}
			d := r.diagnose()
			if d.cut != tc.cut || d.kind != tc.kind || (tc.cut && d.after != tc.after) || !strings.Contains(d.summary, tc.summary) {
				t.Errorf("got cut=%v kind=%q after=%v summary=%q; want cut=%v kind=%q after=%v summary with %q",
					d.cut, d.kind, d.after, d.summary, tc.cut, tc.kind, tc.after, tc.summary)
			}
		})
	}
	// An idle cut at 55 s names Heroku; a silent stream cut at 60 s names
	// both nginx and the ALB (kind unknown).
	r := &holdResult{streams: []heldStream{heldFake(holdAsIs, 100*sec, 55*sec, 20*sec, report.EndTruncated)}}
	if c := r.diagnose().culprit(); !strings.Contains(c, "Heroku") {
		t.Errorf("culprit %q: want Heroku", c)
	}
	r = &holdResult{streams: []heldStream{heldFake(holdAsIs, 60*sec, 60*sec, 0, report.EndTruncated)}}
	if c := r.diagnose().culprit(); !strings.Contains(c, "nginx") || !strings.Contains(c, "Application Load Balancer") {
		t.Errorf("culprit %q: want nginx and the ALB", c)
	}
}
