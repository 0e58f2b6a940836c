package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummaryGolden(t *testing.T) {
	res := loadFixture(t)
	res.Thresholds, _ = EvaluateThresholds(res, res.ScenarioThresholds())
	out := render(t, func(b *bytes.Buffer) error { return WriteSummary(b, res) })
	golden(t, "load.summary.golden", out)
	for _, want := range []string{
		"  first_event         246  1.46ms   126ms   201ms   202ms   202ms\n", // metric rows
		"streams  opened 248  failed 717 (74.3%)  reconnects 913",
		"✗ streams_failed.rate < 1%  74.3%", "✓ events_lost == 0          0",
		"http_503 e.g.: GET http://127.0.0.1:8080/events: 503",
		"✗ FAILED: 1 of 5 thresholds failed",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("summary lacks %q", want)
		}
	}

	cr := checkFixture(t, "check-report.json")
	out = render(t, func(b *bytes.Buffer) error { return WriteCheckSummary(b, cr) })
	golden(t, "check.summary.golden", out)
	// A server's control bytes never reach the terminal.
	if bytes.ContainsAny(out, "\x1b\x00") {
		t.Error("control bytes from evidence reached the terminal summary")
	}
}
