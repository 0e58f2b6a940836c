package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/report"
)

// runDemoLLM runs demo --llm with args and returns its result.
func runDemoLLM(t *testing.T, args ...string) (res *report.Result, stdout, stderr, dir string) {
	t.Helper()
	dir = t.TempDir()
	out := filepath.Join(dir, "llm.json")
	code, stdout, stderr := runCLI(append([]string{"demo", "--llm", "--quiet", "--out", out}, args...)...)
	if code != 0 {
		t.Fatalf("demo --llm %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	res = new(report.Result)
	if err := json.Unmarshal(b, res); err != nil {
		t.Fatal(err)
	}
	return res, stdout, stderr, dir
}

// within fails unless lo <= v <= hi. The bounds are generous upwards
// (the server and the generator share a busy machine, which can only make
// things later) and tight downwards (nothing can arrive before the server
// sends it).
func within(t *testing.T, what string, v, lo, hi float64) {
	t.Helper()
	if v < lo || v > hi {
		t.Errorf("%s = %.2f, want %.2f to %.2f", what, v, lo, hi)
	}
}

// TestDemoLLM runs the request-mode demo end to end: the simulated
// inference server at its defaults (TTFT 200ms, 50 tokens/s, 64 tokens per
// answer), 5 requests/s for 6s, and checks that the measured figures are
// the configured ones, in the JSON, the summary and the HTML.
func TestDemoLLM(t *testing.T) {
	res, stdout, stderr, dir := runDemoLLM(t, "--duration", "6s")
	for _, want := range []string{
		"server: TTFT 200ms, 50 tokens/s per answer, 64 tokens per answer, 1 per chunk, no concurrency limit",
		"expect: TTFT ≈ 200ms, ITL ≈ 20ms, TPOT ≈ 20ms, e2e ≈ 1.46s",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if res.Mode != report.ModeRequest {
		t.Fatalf("mode %q", res.Mode)
	}
	c := res.Counters
	// Poisson arrivals at 5/s for 6s: 30 expected; 10 to 60 is beyond any
	// reasonable draw.
	within(t, "requests", float64(c.Requests), 10, 60)
	if c.RequestsOK != c.Requests || c.RequestsGood != c.RequestsOK || c.Ends["sentinel"] != c.Requests {
		t.Errorf("every request should end with [DONE] and be good: %+v", c)
	}
	if c.Tokens != 64*c.RequestsOK {
		t.Errorf("tokens %d, want 64 per answer (%d)", c.Tokens, 64*c.RequestsOK)
	}
	for _, name := range []string{report.MetricTTFT, report.MetricITL, report.MetricTPOT, report.MetricE2E} {
		if res.Metrics[name].Count == 0 {
			t.Errorf("no %s samples", name)
		}
	}
	m := res.Metrics
	if m[report.MetricTTFT].Count != c.RequestsOK || m[report.MetricTPOT].Count != c.RequestsOK || m[report.MetricITL].Count != 63*c.RequestsOK {
		t.Errorf("counts: ttft %d, tpot %d, itl %d for %d answers of 64 tokens",
			m[report.MetricTTFT].Count, m[report.MetricTPOT].Count, m[report.MetricITL].Count, c.RequestsOK)
	}
	within(t, "ttft p50 (ms)", m[report.MetricTTFT].P50MS, 195, 400)
	within(t, "itl p50 (ms)", m[report.MetricITL].P50MS, 18, 30)
	within(t, "tpot p50 (ms)", m[report.MetricTPOT].P50MS, 19, 30)
	within(t, "e2e p50 (ms)", m[report.MetricE2E].P50MS, 1455, 2200)
	if len(res.Thresholds) != 4 || !allPassed(res.Thresholds) {
		t.Errorf("thresholds %+v", res.Thresholds)
	}

	for _, want := range []string{"requests  sent ", "goodput   ", "within ttft ≤ 1s, tpot ≤ 100ms", "tokens    ", "✓ PASSED: all 4 thresholds passed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-verdict="pass"`, `data-chart="ttft-latency"`, `data-chart="itl-latency"`, `data-chart="tokens-rate"`,
		`data-chart="dist-ttft"`, `data-chart="dist-tpot"`, `<div class="k">Goodput</div>`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
}

// TestDemoLLMChunks checks that an answer sent 4 tokens per event is
// counted token by token: ITL is the gap between events (4 tokens at 100
// tokens/s: 40ms), TPOT the time per token ((e2e - ttft) / 63: 15 gaps of
// 40ms over 63 tokens, 9.5ms), and every token is counted.
func TestDemoLLMChunks(t *testing.T) {
	res, _, stderr, _ := runDemoLLM(t, "--duration", "3s", "--rate", "4",
		"--llm-ttft", "100ms", "--llm-token-rate", "100", "--llm-tokens-per-chunk", "4", "--threshold", "requests_failed.rate == 0")
	if !strings.Contains(stderr, "expect: TTFT ≈ 100ms, ITL ≈ 40ms, TPOT ≈ 9.52ms") {
		t.Errorf("expectations:\n%s", stderr)
	}
	c, m := res.Counters, res.Metrics
	if c.RequestsOK == 0 || c.Tokens != 64*c.RequestsOK {
		t.Fatalf("tokens %d for %d answers, want 64 each", c.Tokens, c.RequestsOK)
	}
	if m[report.MetricITL].Count != 15*c.RequestsOK {
		t.Errorf("itl count %d, want 15 gaps per answer of 16 events", m[report.MetricITL].Count)
	}
	within(t, "ttft p50 (ms)", m[report.MetricTTFT].P50MS, 95, 300)
	within(t, "itl p50 (ms)", m[report.MetricITL].P50MS, 38, 55)
	within(t, "tpot p50 (ms)", m[report.MetricTPOT].P50MS, 9.3, 14)
}

func TestDemoLLMUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--llm", "--connections", "5"}, "--connections does not apply with --llm"},
		{[]string{"demo", "--llm", "--rate", "0"}, "--rate 0"},
		{[]string{"demo", "--llm", "--duration", "1s"}, "--duration 1s"},
		{[]string{"demo", "--llm", "--threshold", "goodput >= 95"}, "goodput is a share from 0 to 1"},
		{[]string{"demo", "--llm", "--llm-tokens", "ten"}, "llm-tokens"},
		{[]string{"demo", "--rate", "3"}, "--rate only applies with --llm"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
