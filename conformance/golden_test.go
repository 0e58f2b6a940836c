package conformance

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

// Masks for what changes from run to run: ports, nonces, sizes, timings,
// counts and ids. What stays is the wording, the structure and the
// verdicts, which is what the golden files pin down.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`ssebench-unknown-[0-9a-f]+`), "ssebench-unknown-NONCE"},
	{regexp.MustCompile(`topic=[\w.-]+`), "topic=TOPIC"},
	{regexp.MustCompile(`\d+(\.\d+)? ?(KiB|MiB|bytes)\b`), "SIZE"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(µs|ms|s)\b`), "DUR"},
	{regexp.MustCompile(`\b[0-9a-f]{2}( [0-9a-f]{2})+\b`), "HEX"},
	{regexp.MustCompile(`×\d+`), "×N"},
	{regexp.MustCompile(`"\d+"`), `"N"`},
	{regexp.MustCompile(`\b\d+ (of|events?|lines?|reads?|comments?|id lines?|distinct ids?|clients|open/close)\b`), "N $1"},
}

func mask(s string) string {
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// normalize makes a live report deterministic for golden files.
func normalize(rep *report.CheckReport) *report.CheckReport {
	out := *rep
	out.Start, out.End, out.DurationS = time.Time{}, time.Time{}, 0
	out.Host, out.GoVersion, out.Version = "HOST", "GO", "VERSION"
	out.Target, out.Via = mask(out.Target), mask(out.Via)
	out.Checks = make([]report.CheckResult, len(rep.Checks))
	for i, c := range rep.Checks {
		c.Reason, c.Evidence = mask(c.Reason), mask(c.Evidence)
		out.Checks[i] = c
	}
	out.Notes = nil
	for _, n := range rep.Notes {
		out.Notes = append(out.Notes, mask(n))
	}
	return &out
}

func renderJSON(t *testing.T, rep *report.CheckReport) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func renderTable(t *testing.T, rep *report.CheckReport, color bool) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteTable(&b, rep, color); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// goldenIDs are the checks whose evidence has a stable shape from run to
// run (the timing checks' evidence lists however many bursts a loaded
// machine produced; the fault matrix covers their verdicts).
var goldenIDs = []string{
	"status", "content-type", "charset", "cache-control", "content-length", "compression", "x-accel-buffering",
	"request-headers", "cors", "cors-preflight", "h2-hop-by-hop",
	"utf8", "bom", "line-endings", "fields", "terminated", "dataless", "id-null", "id-safe", "retry-valid", "event-size",
	"idle-timeout", "ids", "resume-unknown-id", "retry-hint", "stop-204", "http2",
}

// TestGoldenCheck pins the terminal table and the JSON of real runs: a
// clean stream, and one with several faults (also in colour).
func TestGoldenCheck(t *testing.T) {
	t.Parallel()
	r := startRef(t)
	reps := runAll(t, []Config{
		{URL: r.events("golden-clean", "rate=10"), Window: 2 * time.Second, Only: goldenIDs},
		{URL: r.events("golden-faults", "rate=10&fault=content-type=text/plain,no-cache-control,bad-retry,null-id"), Window: 2 * time.Second, Only: goldenIDs},
	}, 2)
	clean, faults := normalize(reps[0]), normalize(reps[1])
	golden(t, "check-clean.txt.golden", renderTable(t, clean, false))
	golden(t, "check-clean.json.golden", renderJSON(t, clean))
	golden(t, "check-faults.txt.golden", renderTable(t, faults, false))
	golden(t, "check-faults.color.golden", renderTable(t, faults, true))
	golden(t, "check-faults.json.golden", renderJSON(t, faults))
}

// TestGoldenTableFindings renders a fixed diagnose report: findings with
// multi-line evidence and fixes, notes, every status and severity.
func TestGoldenTableFindings(t *testing.T) {
	t.Parallel()
	rep := &report.CheckReport{
		Schema: report.CheckSchema, Command: "diagnose", Target: "http://origin:8080/events", Via: "https://proxy.example.com/events",
		DurationS: 12.25, Passed: false,
		Checks: []report.CheckResult{
			{ID: "status", Title: "the stream is answered 200 OK", Area: AreaResponse, Severity: "error", Status: "pass", Evidence: "200 OK over HTTP/1.1 after 3ms\norigin direct: pass: 200 OK"},
			{ID: "compression", Title: "no Content-Encoding on the stream", Area: AreaResponse, Severity: "warning", Status: "fail", Reason: "the stream is gzip-compressed", Evidence: "Content-Encoding: gzip\norigin direct: pass", Fix: "gzip off;", Ref: "WHATWG HTML §9.2.7"},
			{ID: "buffering", Title: "events arrive promptly, one by one, not in bursts", Area: AreaStreaming, Severity: "error", Status: "fail", Reason: "events arrive in bursts, held back 900ms on median", Evidence: "18 events sent over 1700ms arrived in one read at 1902ms", Fix: "proxy_buffering off;", Ref: "WHATWG HTML §9.2.7"},
			{ID: "http2", Title: "HTTP/2 is offered", Area: AreaClients, Severity: "info", Status: "fail", Reason: "HTTP/2 not offered", Fix: "http2 on;", Ref: "RFC 9113"},
			{ID: "heartbeat", Title: "some bytes at least every 30 s", Area: AreaStreaming, Severity: "warning", Status: "skip", Reason: "no heartbeat comment in 6.0s: run with --hold of at least 40s to see whether bytes flow every 30s; this reason is long enough to be clipped"},
		},
		Findings: []report.Finding{
			{Kind: "buffering", Summary: "nginx buffers the stream", Evidence: "buffering through the proxy: held back 900ms\nat the origin: pass", Culprit: "nginx proxy_buffering (on by default)", Fix: "location /events {\n    proxy_buffering off;\n}"},
		},
		Notes: []string{"headers the proxy changed: Content-Encoding: (absent) → gzip"},
	}
	golden(t, "table-findings.txt.golden", renderTable(t, rep, false))
	golden(t, "table-findings.color.golden", renderTable(t, rep, true))
}
