package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCapacityReportInChromium opens a capacity report from file:// in
// real headless Chromium, like TestReportInChromium does for the load
// report: it must load nothing, log no error, show the verdict sentence
// on the first screen and draw every chart readably. It fails (never
// skips) without chromium.
func TestCapacityReportInChromium(t *testing.T) {
	r := capacityFixture(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "capacity.html")
	if err := os.WriteFile(name, render(t, func(b *bytes.Buffer) error { return WriteCapacityHTML(b, r) }), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t)
	u := "file://" + name
	p := b.openPage(u, 1366, 768)
	var pr probe
	p.eval(chartProbe, &pr)
	problems, requests := p.problems()
	for _, pb := range problems {
		t.Errorf("page problem: %s", pb)
	}
	if len(requests) != 1 || requests[0] != u || len(pr.Resources) != 0 {
		t.Errorf("requests %q, resources %q: want only the page itself", requests, pr.Resources)
	}
	if pr.Verdict != "info" || !pr.VerdictVisible || !strings.Contains(pr.VerdictText, "KNEE FOUND") ||
		!strings.Contains(pr.VerdictText, "holds 200 streams") || !strings.Contains(pr.VerdictText, "breaks at 217") {
		t.Errorf("verdict %q %q, visible on first screen %v", pr.Verdict, pr.VerdictText, pr.VerdictVisible)
	}
	if pr.OverflowX {
		t.Error("the page is wider than a 1366 px screen")
	}
	want := []string{"latency-vs-streams", "failures-vs-streams", "server-rss-vs-streams", "server-cpu-vs-events"}
	checkCharts(t, pr.Charts, want, 2)
	// Every step is a row, and the table fits the screen without scrolling.
	var rows struct {
		Rows     int
		Scrolled bool
	}
	p.eval(`(() => { const w = document.querySelector('.tablewrap');
	  return {rows: document.querySelectorAll('tr[data-step]').length, scrolled: w.scrollWidth > w.clientWidth + 1}; })()`, &rows)
	if rows.Rows != len(r.Steps) || rows.Scrolled {
		t.Errorf("%d step rows (want %d); table needs horizontal scrolling: %v", rows.Rows, len(r.Steps), rows.Scrolled)
	}
	if pdf := p.pdf(); !bytes.HasPrefix(pdf, []byte("%PDF")) || len(pdf) < 10_000 {
		t.Errorf("printing gave %d bytes", len(pdf))
	}
	if shots := os.Getenv("SSEBENCH_SCREENSHOTS"); shots != "" {
		if err := p.screenshots(shots, "capacity"); err != nil {
			t.Error(err)
		}
	}
}
