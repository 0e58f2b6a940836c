package progress

import (
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

func TestRequestProgressLine(t *testing.T) {
	t.Parallel()
	line := Line(loadgen.Progress{Elapsed: 3 * time.Second, Total: 10 * time.Second, Mode: scenarios.ModeRequest,
		Point:  report.Point{Open: 7, Requests: 5, Tokens: 250, TTFTP50MS: 200, TTFTP99MS: 420, ITLP99MS: 25},
		Totals: report.Counters{Requests: 15, RequestsOK: 14}})
	for _, want := range []string{"in flight 7", "req/s 5", "tok/s 250", "ttft p50 200ms p99 420ms", "itl p99 25.00ms", "sent 15 ok 14"} {
		if !strings.Contains(line, want) {
			t.Fatalf("%q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "draining") {
		t.Fatalf("%q says draining within the duration", line)
	}
	// Past the duration the run waits for the requests in flight.
	for _, tc := range []struct {
		el   time.Duration
		want string
	}{
		{8*time.Second + 300*time.Millisecond, "[   8s/8s] in flight 2"}, // the last tick, a little late
		{9 * time.Second, "[   9s/8s draining] in flight 2"},
	} {
		line := Line(loadgen.Progress{Elapsed: tc.el, Total: 8 * time.Second, Mode: scenarios.ModeRequest, Point: report.Point{Open: 2}})
		if !strings.HasPrefix(line, tc.want) {
			t.Fatalf("at %v: %q, want it to start with %q", tc.el, line, tc.want)
		}
	}
}

// The teardown (streams closing after the duration, marked so by the
// run and by the shard merge) is not load: the printer skips it, and
// prints the load second before it.
func TestPrinterSkipsTeardown(t *testing.T) {
	var out strings.Builder
	pp := &Printer{W: &out}
	pp.Print(loadgen.Progress{Elapsed: 3 * time.Second, Total: 2 * time.Second, Point: report.Point{T: 2.25, Open: 0, Target: 10, Events: 7, Teardown: true}})
	if out.Len() != 0 {
		t.Fatalf("progress printed the teardown as load: %q", out.String())
	}
	pp.Print(loadgen.Progress{Elapsed: 2 * time.Second, Total: 2 * time.Second, Point: report.Point{T: 2, Open: 10, Target: 10, Events: 50}})
	if !strings.Contains(out.String(), "open 10/10") {
		t.Fatalf("progress line %q: want the load second printed", out.String())
	}
}
