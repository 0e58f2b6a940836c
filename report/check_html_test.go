package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestCheckHTMLFailuresFirst wants the check page to open with its
// failures, as the terminal's Failures list does: each failed check (and
// no other) in report order, before the findings and the full table.
func TestCheckHTMLFailuresFirst(t *testing.T) {
	for _, name := range []string{"check", "diagnose"} {
		t.Run(name, func(t *testing.T) {
			cr := checkFixture(t, name+"-report.json")
			page := string(render(t, func(b *bytes.Buffer) error { return WriteCheckHTML(b, cr) }))
			var want []string
			for _, c := range cr.Checks {
				if c.Status == StatusFail {
					want = append(want, c.ID)
				}
			}
			var got []string
			for _, m := range regexp.MustCompile(`data-failure="([^"]+)"`).FindAllStringSubmatch(page, -1) {
				got = append(got, m[1])
			}
			if len(want) == 0 {
				t.Fatalf("fixture %s has no failed check", name)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("failures listed %v, want %v", got, want)
			}
			failures, checks := strings.Index(page, `id="failures"`), strings.Index(page, `id="checks"`)
			if failures < 0 || failures > checks {
				t.Errorf("Failures at %d, Checks at %d: want the failures first", failures, checks)
			}
			if f := strings.Index(page, `id="findings"`); f >= 0 && f < failures {
				t.Errorf("Findings before Failures: want the order of the terminal (failures, findings)")
			}
		})
	}
}

// TestCheckHTMLInterrupted wants an interrupted report shown as such,
// never as passed.
func TestCheckHTMLInterrupted(t *testing.T) {
	cr := checkFixture(t, "check-report.json")
	cr.Checks = cr.Checks[:1]
	cr.Checks[0].Status = StatusPass
	cr.Passed, cr.Interrupted = false, true
	page := string(render(t, func(b *bytes.Buffer) error { return WriteCheckHTML(b, cr) }))
	if !strings.Contains(page, `data-verdict="interrupted"`) || strings.Contains(page, "PASSED") {
		t.Errorf("interrupted report: want the INTERRUPTED banner and no PASSED")
	}
}
