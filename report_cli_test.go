package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSecretsNeverReachAnOutput runs a load with credentials in a header,
// in headers read from the environment (subscriber and publisher) and in
// a URL, then looks for them in every output: result JSON, HTML, JUnit,
// the summary on stdout and the progress on stderr.
func TestSecretsNeverReachAnOutput(t *testing.T) {
	base := startServe(t)
	const (
		bearer   = "sekrit-bearer-8f14e45fceea167a"
		apiKey   = "sekrit-apikey-c9f0f895fb98ab91"
		traceEnv = "sekrit-traceenv-45c48cce2e2d7fbd"
		pubEnv   = "sekrit-pubenv-d3d9446802a44259"
		urlToken = "sekrit-urltoken-6512bd43d9caa6e0"
	)
	secrets := []string{bearer, apiKey, traceEnv, pubEnv, urlToken}
	t.Setenv("SSEBENCH_TEST_API_KEY", apiKey)
	t.Setenv("SSEBENCH_TEST_TRACE", traceEnv)
	t.Setenv("SSEBENCH_TEST_PUB", pubEnv)
	dir := t.TempDir()
	out, html, junit := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html"), filepath.Join(dir, "r.xml")
	code, stdout, stderr := runCLI("run",
		"--url", base+"/events?rate=10&topic=secret&access_token="+urlToken,
		"-H", "Authorization: Bearer "+bearer,
		"-H", "X-Api-Key: ${SSEBENCH_TEST_API_KEY}",
		"-H", "X-Trace: trace-${SSEBENCH_TEST_TRACE}", // not a credential name, but from the environment
		"--publish-url", base+"/publish?topic=secret", "--publish-rate", "5",
		"--publish-header", "Authorization: Bearer ${SSEBENCH_TEST_PUB}",
		"--connections", "5", "--ramp", "100ms", "--duration", "2s",
		"--threshold", "events > 0", "--threshold", "first_event.p99 < 1ms",
		"--out", out, "--html", html, "--junit", junit)
	if code != 1 { // the second threshold fails on purpose: the failure text goes everywhere too
		t.Fatalf("exit %d, want 1 (a failed threshold)\n%s\n%s", code, stdout, stderr)
	}
	outputs := map[string]string{
		"stdout": stdout, "stderr": stderr,
		"json": readFile(t, out), "html": readFile(t, html), "junit": readFile(t, junit),
	}
	for name, text := range outputs {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contains the secret %q", name, s)
			}
		}
	}
	for _, name := range []string{"json", "html"} {
		if n := strings.Count(outputs[name], "[redacted]"); n < 4 {
			t.Errorf("%s shows [redacted] %d times, want the 3 headers, the publisher's and the URL token", name, n)
		}
	}
	if !strings.Contains(outputs["json"], `"X-Trace": "[redacted]"`) {
		t.Error("an environment-sourced header value is not redacted in the JSON")
	}
	if !strings.Contains(stderr, "[") || !strings.Contains(stdout, "first_event.p99 < 1ms") {
		t.Errorf("the run printed no progress or summary:\n%s\n%s", stdout, stderr)
	}
}

// countingServer answers nothing useful but counts requests, to prove a
// bad command line sends no load.
func countingServer(t *testing.T) (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func TestBadThresholdIsExit2BeforeAnyLoad(t *testing.T) {
	url, hits := countingServer(t)
	for _, args := range [][]string{
		{"run", "--url", url, "--connections", "5", "--duration", "2s", "--threshold", "first_event.p99 < 500"},
		{"run", "--url", url, "--connections", "5", "--duration", "2s", "--threshold", "events_lost = 0"},
		{"run", "--url", url, "--connections", "5", "--duration", "2s", "--threshold", "bogus.p99 < 1s", "--threshold", "events < lots"},
		{"demo", "--connections", "5", "--duration", "2s", "--threshold", "nope"},
	} {
		out := filepath.Join(t.TempDir(), "r.json")
		code, _, stderr := runCLI(append(args, "--quiet", "--out", out)...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "threshold \"") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line naming the threshold", args, code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: a result was written for a run that must not start", args)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests reached the target", hits.Load())
	}
	if _, _, stderr := runCLI("run", "--url", url, "--connections", "5", "--duration", "2s",
		"--threshold", "first_event.p99 < 500", "--threshold", "bogus < 1"); !strings.Contains(stderr, "give 500 a unit, e.g. 500ms") || !strings.Contains(stderr, `"bogus < 1"`) {
		t.Errorf("the error does not name both bad thresholds and what is wrong: %q", stderr)
	}
}

func TestThresholdsGateTheRun(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	base := startServe(t)
	dir := t.TempDir()
	out, junit := filepath.Join(dir, "r.json"), filepath.Join(dir, "j.xml")
	code, stdout, stderr := runCLI("run", "--url", base+"/events?rate=10&topic=gate", "--connections", "5", "--ramp", "100ms", "--duration", "2s",
		"--sequence", "--threshold", "events_lost == 0", "--threshold", "streams_failed.rate < 1%", "--threshold", "first_event.p99 < 5s",
		"--quiet", "--out", out, "--junit", junit)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Thresholds) != 3 || !allPassed(res.Thresholds) {
		t.Fatalf("thresholds in the result: %+v", res.Thresholds)
	}
	if !strings.Contains(stdout, "✓ first_event.p99 < 5s") || !strings.Contains(stdout, "✓ PASSED: all 3 thresholds passed") {
		t.Errorf("summary:\n%s", stdout)
	}
	if j := readFile(t, junit); !strings.Contains(j, `tests="4" failures="0"`) {
		t.Errorf("junit:\n%s", j)
	}

	code, stdout, stderr = runCLI("run", "--url", base+"/events?rate=10&topic=gate2", "--connections", "5", "--ramp", "100ms", "--duration", "2s",
		"--threshold", "events < 10", "--quiet", "--out", out)
	if code != 1 || !strings.Contains(stderr, "events < 10 (was ") || !strings.Contains(stdout, "✗ events < 10") {
		t.Fatalf("a failed threshold: exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	if res, _ := report.ReadResult(out); res == nil || res.Thresholds[0].Passed {
		t.Fatal("the failed threshold is not in the result")
	}
}

func TestAbortOnFailStopsTheRun(t *testing.T) {
	base := startServe(t)
	out := filepath.Join(t.TempDir(), "r.json")
	start := time.Now()
	// Every stream ends cleanly after 2 events: "ends.eof < 1" fails for
	// good within the first seconds of a 60 s run.
	code, _, stderr := runCLI("run", "--url", base+"/events?rate=20&topic=abort&fault=close-every=2", "--connections", "5", "--ramp", "100ms",
		"--duration", "60s", "--threshold", "ends.eof < 1", "--threshold", "streams_opened >= 1000000", "--abort-on-fail", "--quiet", "--out", out)
	took := time.Since(start)
	if code != 1 || !strings.Contains(stderr, "threshold failed: ends.eof < 1") {
		t.Fatalf("exit %d, stderr %q: want 1 naming the threshold", code, stderr)
	}
	if took > 15*time.Second {
		t.Fatalf("the run went on for %v after the threshold failed", took)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || !strings.Contains(res.PartialReason, "ends.eof < 1") || res.Counters.Ends["eof"] == 0 {
		t.Fatalf("partial %v reason %q ends %v", res.Partial, res.PartialReason, res.Counters.Ends)
	}
}

// TestReportMergesShards runs the same test twice, as two generators would,
// then merges and re-gates the results with `report`.
func TestReportMergesShards(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	base := startServe(t)
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
	// In-process CLIs share the command table, so the two "generators" run
	// one after the other; the merge aligns them by wall clock either way.
	for _, p := range paths {
		code, _, stderr := runCLI("run", "--url", base+"/events?rate=10&topic=merge", "--connections", "4", "--ramp", "100ms",
			"--duration", "2s", "--quiet", "--out", p, "--threshold", "events > 0")
		if code != 0 {
			t.Fatalf("run exited %d: %s", code, stderr)
		}
	}
	a, _ := report.ReadResult(paths[0])
	b, _ := report.ReadResult(paths[1])
	merged, html, junit := filepath.Join(dir, "m.json"), filepath.Join(dir, "m.html"), filepath.Join(dir, "m.xml")
	code, stdout, stderr := runCLI("report", "--json", merged, "--html", html, "--junit", junit,
		"--threshold", "streams_opened == 8", paths[0], paths[1])
	if code != 0 {
		t.Fatalf("report: exit %d: %s\n%s", code, stderr, stdout)
	}
	m, err := report.ReadResult(merged)
	if err != nil {
		t.Fatal(err)
	}
	if m.Counters.StreamsOpened != 8 || m.Counters.Events != a.Counters.Events+b.Counters.Events || m.Merged != 2 {
		t.Fatalf("merged counters %+v from %+v and %+v", m.Counters, a.Counters, b.Counters)
	}
	for _, name := range report.MetricNames {
		if m.Metrics[name].Count != a.Metrics[name].Count+b.Metrics[name].Count {
			t.Errorf("%s: merged count %d, want %d + %d", name, m.Metrics[name].Count, a.Metrics[name].Count, b.Metrics[name].Count)
		}
	}
	if len(m.Thresholds) != 1 || !m.Thresholds[0].Passed || !strings.Contains(stdout, "merged from 2 results") {
		t.Fatalf("thresholds %+v; summary:\n%s", m.Thresholds, stdout)
	}
	if !strings.Contains(readFile(t, html), "merged from 2 results") || !strings.Contains(readFile(t, junit), "streams_opened == 8") {
		t.Error("the HTML or JUnit is not the merged result")
	}
	// Without --threshold the scenario's own are evaluated again.
	if code, stdout, _ := runCLI("report", paths[0], paths[1]); code != 0 || !strings.Contains(stdout, "✓ events > 0") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := runCLI("report", "--threshold", "streams_opened > 8", paths[0], paths[1]); code != 1 || !strings.Contains(stderr, "streams_opened > 8 (was 8)") {
		t.Fatalf("a failed threshold on merged results: exit %d, %q", code, stderr)
	}
}

func TestReportCommandInputs(t *testing.T) {
	dir := t.TempDir()
	check := filepath.Join("report", "testdata", "check-report.json")
	load := filepath.Join("report", "testdata", "load-result.json")
	html, junit := filepath.Join(dir, "c.html"), filepath.Join(dir, "c.xml")
	code, stdout, _ := runCLI("report", "--html", html, "--junit", junit, check)
	if code != 1 || !strings.Contains(stdout, "✗ content-type (error)") || !strings.Contains(stdout, "✗ FAILED") {
		t.Fatalf("a failed check report: exit %d\n%s", code, stdout)
	}
	if !strings.Contains(readFile(t, html), `data-check="content-type"`) || !strings.Contains(readFile(t, junit), `<testsuites name="ssebench check"`) {
		t.Error("check report not rendered")
	}
	code, stdout, _ = runCLI("report", "--html", html, load)
	if code != 1 || !strings.Contains(stdout, "✗ streams_failed.rate < 1%") || !strings.Contains(readFile(t, html), `data-chart="open-streams"`) {
		t.Fatalf("re-rendering a saved load result: exit %d\n%s", code, stdout)
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema":"something/else"}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "give one or more RESULT.json"},
		{[]string{check, load}, "render them separately"},
		{[]string{check, check}, "one at a time"},
		{[]string{bad}, `schema "something/else"`},
		{[]string{filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"--threshold", "nope", load}, `threshold "nope"`},
		{[]string{"--threshold", "events > 0", check}, "applies to load results"},
	} {
		code, _, stderr := runCLI(append([]string{"report"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("report %v: exit %d, stderr %q; want 2 and one line containing %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestDemoWritesHTMLReport(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.json")
	code, stdout, stderr := runCLI("demo", "--connections", "20", "--duration", "2s", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := filepath.Join(dir, "report.html")
	if !strings.HasSuffix(strings.TrimSpace(stdout), "Open the report in a browser: "+want) {
		t.Fatalf("demo does not end by pointing at %s:\n%s", want, stdout)
	}
	page := readFile(t, want)
	for _, s := range []string{`data-verdict="pass"`, "all 4 thresholds passed", "events_lost == 0", `data-chart="open-streams"`, `data-chart="dist-publish_delivery"`} {
		if !strings.Contains(page, s) {
			t.Errorf("demo report lacks %s", s)
		}
	}
	custom := filepath.Join(dir, "custom.html")
	if code, stdout, _ := runCLI("demo", "--connections", "10", "--duration", "2s", "--quiet", "--out", out, "--html", custom,
		"--threshold", "events > 0"); code != 0 || !strings.Contains(stdout, custom) || !strings.Contains(stdout, "✓ PASSED: the threshold passed") {
		t.Fatalf("demo --html: exit %d\n%s", code, stdout)
	}
}

// allPassed reports whether every threshold of a result passed.
func allPassed(rs []report.ThresholdResult) bool {
	for _, r := range rs {
		if !r.Passed {
			return false
		}
	}
	return len(rs) > 0
}
