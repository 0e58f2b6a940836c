package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/report"
)

// TestDemoExplainsItself: the demo's summary says what each metric group
// means, that streams closed at the end are not failures, and (--llm)
// repeats what the simulator was set to produce, before the thresholds.
func TestDemoExplainsItself(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	dir := t.TempDir()
	code, stdout, stderr := runCLI("demo", "--connections", "20", "--duration", "2s", "--quiet", "--out", filepath.Join(dir, "demo.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	legend := section(t, stdout, "  what the figures mean", "  thresholds")
	for _, want := range []string{
		"    connect, headers, first_byte, first_event: scheduled attempt → TCP (and TLS) connected, response headers, first body byte, first event\n",
		"    delivery: " + report.MetricDesc(report.MetricDelivery) + "\n",
		"    publish_delivery: " + report.MetricDesc(report.MetricPublishDelivery) + "\n",
		"    schedule_lag: " + report.MetricDesc(report.MetricLag) + "\n",
		"    ends cancelled: closed at the end of the run (or when the target shrank) by ssebench (not a failure)\n",
	} {
		if !strings.Contains(legend, want) {
			t.Errorf("legend lacks %q:\n%s", want, legend)
		}
	}
	// One line per group: the four phases of opening a stream share one.
	if n := strings.Count(legend, "first_event"); n != 1 {
		t.Errorf("first_event on %d legend lines, want 1:\n%s", n, legend)
	}

	code, stdout, stderr = runCLI("demo", "--llm", "--duration", "2s", "--quiet", "--out", filepath.Join(dir, "llm.json"))
	if code != 0 {
		t.Fatalf("demo --llm: exit %d: %s", code, stderr)
	}
	expected := section(t, stdout, "  expected\n", "  thresholds")
	for _, want := range []string{
		"    server: TTFT 200ms, 50 tokens/s per answer, 64 tokens per answer, 1 per chunk, no concurrency limit\n",
		"    expect: TTFT ≈ 200ms, ITL ≈ 20ms, TPOT ≈ 20ms, e2e ≈ 1.46s",
	} {
		if !strings.Contains(expected, want) {
			t.Errorf("the final summary does not repeat %q:\n%s", want, stdout)
		}
	}
	legend = section(t, stdout, "  what the figures mean", "  expected\n")
	for _, want := range []string{"    ttft, ttft_sent: ", "    e2e, e2e_sent: ", "    ends sentinel: "} {
		if !strings.Contains(legend, want) {
			t.Errorf("--llm legend lacks %q:\n%s", want, legend)
		}
	}
}

// section is the text of out from the line starting with from up to the
// next occurrence of to.
func section(t *testing.T, out, from, to string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, from)
	if !ok {
		t.Fatalf("output lacks %q:\n%s", from, out)
	}
	s, _, ok := strings.Cut(rest, to)
	if !ok {
		t.Fatalf("output lacks %q after %q:\n%s", to, from, out)
	}
	return s
}
