package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// exported is every series name a scrape of an exporter shows when every
// metric was measured, read from a real gather (not from a list that
// could drift from Collect).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	h := report.NewHist()
	report.RecordDuration(h, time.Millisecond)
	all := map[string]report.Metric{}
	for _, m := range HistogramMetrics {
		all[m] = report.Summarize(h)
	}
	e := New(Labels{Run: "r", Shard: "0/1", Target: "t:1"}, scenarios.DefaultMode)
	e.Update(loadgen.Progress{Totals: report.Counters{Ends: map[string]int64{report.EndEOF: 1}}, Metrics: all})
	names := map[string]bool{}
	for name, f := range gather(t, e) {
		names[name] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, sfx := range []string{"_bucket", "_sum", "_count"} {
				names[name+sfx] = true
			}
		}
	}
	return names
}

// Every query of the Grafana dashboard names only series the exporter
// really exports, uses the run variable, and every panel has a query.
func TestDashboardQueriesExportedSeries(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "ssebench.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	have := exported(t)
	series := regexp.MustCompile(`\bssebench_[a-z0-9_]+`)
	used := map[string]bool{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			names := series.FindAllString(q.Expr, -1)
			if len(names) == 0 || !strings.Contains(q.Expr, `run=~"$run"`) {
				t.Errorf("panel %q: query %q names no ssebench series or ignores the run variable", p.Title, q.Expr)
			}
			for _, n := range names {
				used[n] = true
				if !have[n] {
					t.Errorf("panel %q queries %s, which the exporter does not export", p.Title, n)
				}
			}
		}
	}
	// The dashboard shows what the issue asks for.
	for _, n := range []string{OpenName, TargetName, "ssebench_events_total", HistogramName(report.MetricDelivery) + "_bucket", EndsName, CPUName, LagName, SaturatedName} {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
	if len(used) < 10 || !slices.Contains([]string{"ssebench"}, d.Title) {
		t.Errorf("dashboard %q uses %d series", d.Title, len(used))
	}
}
