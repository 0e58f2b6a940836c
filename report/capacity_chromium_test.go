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
	got := map[string]bool{}
	for _, c := range pr.Charts {
		got[c.ID] = true
		if c.Width < 300 || c.Height < 120 {
			t.Errorf("chart %s is %.0f×%.0f px: too small to read", c.ID, c.Width, c.Height)
		}
		if c.Series == 0 || c.Drawn != c.Series {
			t.Errorf("chart %s: %d of %d series drawn", c.ID, c.Drawn, c.Series)
		}
		if c.XTicks < 2 || c.YTicks < 2 || c.Legend < 2 {
			t.Errorf("chart %s: %d x ticks, %d y ticks, %d legend entries", c.ID, c.XTicks, c.YTicks, c.Legend)
		}
		if c.TickOverlap || c.LegendOverlap {
			t.Errorf("chart %s: labels overlap (ticks %v, legend %v)", c.ID, c.TickOverlap, c.LegendOverlap)
		}
		if c.MinFontPx < 9 {
			t.Errorf("chart %s: text %.1f px high, too small", c.ID, c.MinFontPx)
		}
	}
	for _, id := range want {
		if !got[id] {
			t.Errorf("chart %s missing", id)
		}
	}
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
