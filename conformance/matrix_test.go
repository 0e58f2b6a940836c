package conformance

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures"
)

// matrixCase is one row of the fault matrix: a stream of the reference
// server with a fault, and exactly the checks that must fail on it.
type matrixCase struct {
	name   string
	query  string // added to /events?topic=<own topic>
	expect []string
	noCORS bool // through a server that ignores Origin (see ignoreOrigin)
	tune   func(*Config, *ref, string)
	long   bool // needs over 30 s of silence: left out with -short
}

// The fault matrix. Every fault of `ssebench serve` appears at least once
// (TestFaultMatrixCoversEveryFault), with the checks it must fail and
// nothing else: every other check must pass or be skipped with a reason.
// rate and size are chosen so that each fault shows within the window
// (e.g. 8 KiB buffer blocks fill in under 2 s; Go's deflate emits its
// first block after about 16k tokens, 3-4 s of 100-byte events at 400/s).
var matrix = []matrixCase{
	{name: "clean", query: "rate=10"},
	{name: "clean default rate", query: ""},
	{name: "clean with retry", query: "rate=10&retry=2500"},
	{name: "buffer", query: "rate=20&size=200&fault=buffer", expect: []string{"buffering"}},
	// Deflate blocks come every few seconds, later on a loaded machine:
	// a longer window makes sure at least one arrives.
	{name: "gzip", query: "rate=400&size=100&fault=gzip", expect: []string{"compression", "buffering"},
		tune: func(c *Config, _ *ref, _ string) { c.Window = 12 * time.Second }},
	{name: "gzip never flushed", query: "rate=1&fault=gzip", expect: []string{"compression", "buffering", "first-event"}},
	{name: "late-headers", query: "rate=0.5&fault=late-headers", expect: []string{"headers-prompt"}},
	{name: "content-type=text/plain", query: "rate=10&fault=content-type=text/plain", expect: []string{"content-type"}},
	{name: "content-type empty", query: "rate=10&fault=content-type=", expect: []string{"content-type"}},
	{name: "content-type charset", query: "rate=10&fault=content-type=text/event-stream%3B%20charset=iso-8859-1", expect: []string{"charset"}},
	{name: "no-cache-control", query: "rate=10&fault=no-cache-control", expect: []string{"cache-control"}},
	{name: "content-length", query: "rate=10&fault=content-length", expect: []string{"content-length"}},
	{name: "ignore-last-event-id", query: "rate=10&fault=ignore-last-event-id", expect: []string{"resume"}},
	{name: "cut", query: "rate=10&fault=cut=2s", expect: []string{"end-kind", "reconnect-storm"}},
	{name: "cut held", query: "rate=10&fault=cut=3s", expect: []string{"end-kind", "reconnect-storm", "idle-timeout"},
		tune: func(c *Config, _ *ref, _ string) { c.Hold = 5 * time.Second }},
	// A quiet stream (rate=0) without heartbeats: ssebench publishes the
	// events it needs, and a 40 s hold shows more than 30 s of silence
	// once its own publishes (in the first seconds) are over.
	{name: "idle", query: "rate=0&fault=idle", expect: []string{"heartbeat"},
		tune: func(c *Config, r *ref, topic string) {
			c.Publish = r.ts.URL + "/publish?topic=" + topic
			c.Hold = 40 * time.Second
		}, long: true},
	// A quiet stream behind a buffer: the events ssebench publishes never
	// arrive.
	{name: "buffer quiet", query: "rate=0&fault=buffer", expect: []string{"buffering", "first-event"},
		tune: func(c *Config, r *ref, topic string) { c.Publish = r.ts.URL + "/publish?topic=" + topic }},
	{name: "line-endings=crlf", query: "rate=10&fault=line-endings=crlf"},
	{name: "line-endings=cr", query: "rate=10&fault=line-endings=cr", expect: []string{"line-endings"}},
	{name: "bom", query: "rate=10&fault=bom"},
	{name: "bom=2", query: "rate=10&fault=bom=2", expect: []string{"bom"}},
	{name: "bad-utf8", query: "rate=10&fault=bad-utf8", expect: []string{"utf8"}},
	{name: "null-id", query: "rate=10&fault=null-id", expect: []string{"id-null"}},
	{name: "bad-retry", query: "rate=10&fault=bad-retry", expect: []string{"retry-valid"}},
	{name: "retry too short", query: "rate=10&retry=500", expect: []string{"retry-valid"}},
	{name: "status=503", query: "rate=10&fault=status=503", expect: []string{"status"}},
	{name: "status=401", query: "rate=10&fault=status=401", expect: []string{"status"}},
	{name: "status=204", query: "rate=10&fault=status=204", expect: []string{"status", "stop-204"}},
	{name: "status=201", query: "rate=10&fault=status=201", expect: []string{"status"}},
	{name: "close-every", query: "rate=10&fault=close-every=3", expect: []string{"reconnect-storm"}},
	{name: "slow-headers", query: "rate=10&fault=slow-headers=2s", expect: []string{"headers-prompt"}},
	{name: "unterminated", query: "rate=10&fault=unterminated", expect: []string{"terminated", "reconnect-storm"}},
	{name: "huge-event", query: "rate=10&fault=huge-event=100KiB", expect: []string{"event-size"}},
	{name: "no cors", query: "rate=10", noCORS: true, expect: []string{"cors", "cors-preflight"},
		tune: func(c *Config, _ *ref, _ string) { c.Origin = "https://app.example.com" }},
	{name: "cors", query: "rate=10",
		tune: func(c *Config, _ *ref, _ string) { c.Origin = "https://app.example.com" }},
}

func TestFaultMatrixCoversEveryFault(t *testing.T) {
	t.Parallel()
	for _, f := range fixtures.Faults {
		found := false
		for _, c := range matrix {
			if strings.Contains(c.query, "fault="+f.Name) {
				found = true
			}
		}
		if !found {
			t.Errorf("fault %q has no row in the fault matrix", f.Name)
		}
	}
}

// TestFaultMatrix runs check against the reference server once per row,
// all rows at once, and compares the failing checks with the row's.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	rows := matrix
	if testing.Short() {
		rows = slices.DeleteFunc(slices.Clone(matrix), func(c matrixCase) bool { return c.long })
		t.Logf("-short: %d rows that hold a stream over 30 s left out", len(matrix)-len(rows))
	}
	cfgs := make([]Config, len(rows))
	for i, c := range rows {
		topic := "matrix-" + strings.NewReplacer(" ", "_", "=", "-", "/", ".").Replace(c.name)
		cfg := Config{
			URL:    r.events(topic, c.query),
			Window: 6 * time.Second,
			// Fewer clients and cycles than the defaults keep 30 runs at
			// once within a 2-core machine; TestCleanDefaults runs the
			// defaults.
			Clients: 10,
			Churn:   40,
		}
		if c.noCORS {
			cfg.URL = strings.Replace(cfg.URL, r.ts.URL, r.noCORS.URL, 1)
		}
		if c.tune != nil {
			c.tune(&cfg, r, topic)
		}
		cfgs[i] = cfg
	}
	start := time.Now()
	// Every row at once: each run is mostly waiting (its window, its
	// hold), so the wall time is the slowest row's.
	reps := runAll(t, cfgs, len(cfgs))
	t.Logf("%d runs in %v", len(reps), time.Since(start).Round(time.Millisecond))
	for i, c := range rows {
		t.Run(c.name, func(t *testing.T) {
			t.Logf("%.1fs\n%s", reps[i].DurationS, table(reps[i]))
			expectFailing(t, reps[i], c.expect)
		})
	}
}
