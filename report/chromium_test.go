package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chartProbe measures every chart as laid out by the browser: its size,
// its drawn series, and whether any two tick labels or legend entries
// overlap.
const chartProbe = `(() => {
  const overlaps = (els) => {
    const boxes = els.map(e => e.getBoundingClientRect()).filter(r => r.width > 0);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) return true;
    }
    return false;
  };
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const r = svg.getBoundingClientRect();
    const series = [...svg.querySelectorAll('path.series')];
    const drawn = series.filter(p => p.getTotalLength() > 0 && (p.getBBox().width > 0 || p.getBBox().height > 0));
    return {
      id: svg.dataset.chart, width: r.width, height: r.height,
      series: series.length, drawn: drawn.length,
      xTicks: svg.querySelectorAll('.ticks.x text').length, yTicks: svg.querySelectorAll('.ticks.y text').length,
      legend: svg.querySelectorAll('.legend text').length,
      tickOverlap: overlaps([...svg.querySelectorAll('.ticks.x text')]) || overlaps([...svg.querySelectorAll('.ticks.y text')]),
      legendOverlap: overlaps([...svg.querySelectorAll('.legend text, .axis-label.y')]),
      minFontPx: Math.min(...[...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().height).filter(h => h > 0)),
    };
  });
  const v = document.querySelector('.verdict');
  return {
    title: document.title,
    verdict: v ? v.dataset.verdict : '', verdictText: v ? v.innerText : '',
    verdictVisible: v ? v.getBoundingClientRect().top < window.innerHeight && v.getBoundingClientRect().height > 20 : false,
    charts,
    rows: document.querySelectorAll('tr[data-check]').length,
    overflowX: document.documentElement.scrollWidth > window.innerWidth + 1,
    resources: performance.getEntriesByType('resource').map(e => e.name),
  };
})()`

type probe struct {
	Title          string
	Verdict        string
	VerdictText    string
	VerdictVisible bool
	Charts         []chartInfo
	Rows           int
	OverflowX      bool
	Resources      []string
}

// chartInfo is what chartProbe measures of one drawn chart.
type chartInfo struct {
	ID                         string
	Width, Height              float64
	Series, Drawn              int
	XTicks, YTicks, Legend     int
	TickOverlap, LegendOverlap bool
	MinFontPx                  float64
}

// checkCharts fails t unless every chart in want was drawn, each readable:
// big enough, every series drawn, at least two ticks per axis and
// minLegend legend entries, no overlapping labels, no tiny text.
func checkCharts(t *testing.T, charts []chartInfo, want []string, minLegend int) {
	t.Helper()
	got := map[string]bool{}
	for _, c := range charts {
		got[c.ID] = true
		if c.Width < 300 || c.Height < 120 {
			t.Errorf("chart %s is %.0f×%.0f px: too small to read", c.ID, c.Width, c.Height)
		}
		if c.Series == 0 || c.Drawn != c.Series {
			t.Errorf("chart %s: %d of %d series drawn", c.ID, c.Drawn, c.Series)
		}
		if c.XTicks < 2 || c.YTicks < 2 || c.Legend < minLegend {
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
}

// TestReportInChromium opens generated reports from file:// in real
// headless Chromium, as a person would, and checks that they load
// nothing, log no error, and draw every chart readably. It fails (never
// skips) without chromium. SSEBENCH_SCREENSHOTS=DIR also saves
// screenshots of each page there.
func TestReportInChromium(t *testing.T) {
	dir := t.TempDir()
	res := loadFixture(t)
	res.Thresholds, _ = EvaluateThresholds(res, res.ScenarioThresholds())
	files := map[string]func(*bytes.Buffer) error{
		"load.html":     func(b *bytes.Buffer) error { return WriteHTML(b, res) },
		"check.html":    func(b *bytes.Buffer) error { return WriteCheckHTML(b, checkFixture(t, "check-report.json")) },
		"diagnose.html": func(b *bytes.Buffer) error { return WriteCheckHTML(b, checkFixture(t, "diagnose-report.json")) },
		// Request mode, from a simulated LLM run built from histograms.
		"request.html": func(b *bytes.Buffer) error { return WriteHTML(b, requestFixtureEvaluated(t)) },
	}
	for name, f := range files {
		if err := os.WriteFile(filepath.Join(dir, name), render(t, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := startBrowser(t)
	shots := os.Getenv("SSEBENCH_SCREENSHOTS")

	charts := map[string][]string{
		"load.html": {"open-streams", "connects-failures", "events", "first-event-latency", "delivery-latency", "reconnects-errors",
			"dist-connect", "dist-headers", "dist-first_byte", "dist-first_event", "dist-inter_event", "dist-delivery",
			"dist-publish_delivery", "dist-reconnect", "dist-lifetime", "dist-schedule_lag"},
		"request.html": {"in-flight", "requests-rate", "tokens-rate", "ttft-latency", "itl-latency",
			"dist-ttft", "dist-ttft_sent", "dist-itl", "dist-tpot", "dist-e2e", "dist-e2e_sent"},
	}
	for _, name := range []string{"load.html", "check.html", "diagnose.html", "request.html"} {
		t.Run(name, func(t *testing.T) {
			u := "file://" + filepath.Join(dir, name)
			p := b.openPage(u, 1366, 768) // a common laptop screen
			var pr probe
			p.eval(chartProbe, &pr)
			problems, requests := p.problems()
			for _, pb := range problems {
				t.Errorf("page problem: %s", pb)
			}
			if len(requests) != 1 || requests[0] != u {
				t.Errorf("requests %q: want only the page itself (%s)", requests, u)
			}
			if len(pr.Resources) != 0 {
				t.Errorf("the page loaded resources: %q", pr.Resources)
			}
			if pr.Verdict != "fail" || !pr.VerdictVisible || !strings.Contains(pr.VerdictText, "FAILED") {
				t.Errorf("verdict %q %q, visible on first screen %v", pr.Verdict, pr.VerdictText, pr.VerdictVisible)
			}
			if pr.OverflowX {
				t.Error("the page is wider than a 1366 px screen")
			}
			switch name {
			case "load.html", "request.html":
				want := charts[name]
				if len(pr.Charts) != len(want) {
					t.Errorf("%d charts, want %d", len(pr.Charts), len(want))
				}
				checkCharts(t, pr.Charts, want, 1)
			case "check.html":
				if pr.Rows != 8 {
					t.Errorf("%d check rows, want 8", pr.Rows)
				}
			}
			if pdf := p.pdf(); !bytes.HasPrefix(pdf, []byte("%PDF")) || len(pdf) < 10_000 {
				t.Errorf("printing gave %d bytes", len(pdf))
			}
			if shots != "" {
				if err := p.screenshots(shots, strings.TrimSuffix(name, ".html")); err != nil {
					t.Error(err)
				}
				// As printed on A4: print styles at the paper's width.
				p.b.call(p.session, "Emulation.setEmulatedMedia", map[string]any{"media": "print"}, nil)
				p.b.call(p.session, "Emulation.setDeviceMetricsOverride", map[string]any{
					"width": 720, "height": 1000, "deviceScaleFactor": 1, "mobile": false}, nil)
				if err := p.screenshots(shots, strings.TrimSuffix(name, ".html")+"-print"); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
