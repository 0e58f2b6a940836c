package report

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestAxisTicks(t *testing.T) {
	cases := []struct {
		name  string
		ax    Axis
		data  []float64
		ticks []string
	}{
		{"counts round up", Axis{}, []float64{0, 117}, []string{"0", "50", "100", "150"}},
		{"small fractions", Axis{}, []float64{0, 0.7}, []string{"0", "0.2", "0.4", "0.6", "0.8"}},
		{"thousands", Axis{}, []float64{0, 14500}, []string{"0", "5k", "10k", "15k"}},
		{"time ends with the data", Axis{Scale: Time}, []float64{1, 12.004}, []string{"0s", "5s", "10s"}},
		{"long time", Axis{Scale: Time}, []float64{0, 3700}, []string{"0s", "15m", "30m", "45m", "1h"}},
		{"latency", Axis{Format: FormatAxisMS}, []float64{0.2, 1900}, []string{"0", "500ms", "1s", "1.5s", "2s"}},
		{"sub-ms latency", Axis{Format: FormatAxisMS}, []float64{0, 0.9}, []string{"0", "200µs", "400µs", "600µs", "800µs", "1ms"}},
		{"nines", Axis{Scale: Nines, Max: 99.99}, []float64{0, 99.99}, []string{"0%", "90%", "99%", "99.9%", "99.99%"}},
		{"log", Axis{Scale: Log}, []float64{3, 4000}, []string{"1", "10", "100", "1k", "10k"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.ax.settle(func(see func(float64)) {
				for _, v := range tc.data {
					see(v)
				}
			}, nil)
			var got []string
			for _, tk := range m.ticks {
				got = append(got, m.format(tk))
			}
			if strings.Join(got, " ") != strings.Join(tc.ticks, " ") {
				t.Fatalf("ticks %q, want %q", got, tc.ticks)
			}
		})
	}
}

func TestChartSVG(t *testing.T) {
	c := Chart{ID: "x<y", Title: `a "title" <b>`, X: Axis{Scale: Time, Label: "time"}, Y: Axis{Label: "streams"},
		Series: []Series{
			{Name: "open</text><script>", Points: []XY{{1, 5}, {2, 7}, {3, math.NaN()}, {4, 9}}},
			{Name: "empty"},
		},
		Lines: []RefLine{{Y: 8, Label: "limit"}},
	}
	svg := string(c.SVG())
	for _, want := range []string{
		`<svg class="chart" data-chart="x&lt;y"`, `<title>a &#34;title&#34; &lt;b&gt;</title>`,
		`data-series="open&lt;/text&gt;&lt;script&gt;"`, `d="M`, `class="refline"`, ">limit</text>", `class="axis-label x"`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %s:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<script") || strings.Contains(svg, "NaN") {
		t.Errorf("unescaped or invalid output:\n%s", svg)
	}
	if strings.Count(svg, `class="series"`) != 1 {
		t.Error("an empty series was drawn")
	}
	if empty := string((&Chart{ID: "e"}).SVG()); !strings.Contains(empty, "no data") {
		t.Error("an empty chart does not say so")
	}
}

func TestDecimateKeepsSpikes(t *testing.T) {
	var pts []XY
	for i := 0; i < 100000; i++ {
		y := 1.0
		if i == 54321 {
			y = 1000
		}
		pts = append(pts, XY{float64(i), y})
	}
	out := decimate(pts, 500)
	if len(out) > 1002 {
		t.Fatalf("%d points after decimation", len(out))
	}
	peak := 0.0
	for _, p := range out {
		peak = max(peak, p.Y)
	}
	if peak != 1000 {
		t.Fatal("the spike was lost")
	}
}

func TestPercentileCurve(t *testing.T) {
	h := NewHist()
	for i := 1; i <= 1000; i++ {
		RecordDuration(h, time.Duration(i)*time.Millisecond)
	}
	n := CurveNines(h.TotalCount())
	if n != 3 {
		t.Fatalf("CurveNines(1000) = %v", n)
	}
	c := PercentileCurve(h, n)
	first, last := c[0], c[len(c)-1]
	if first.X != 0 || math.Abs(first.Y-1) > 0.01 || math.Abs(last.X-99.9) > 1e-9 || math.Abs(last.Y-1000.447) > 0.001 {
		t.Fatalf("curve from %+v to %+v", first, last)
	}
	for i := 1; i < len(c); i++ {
		if c[i].X < c[i-1].X || c[i].Y < c[i-1].Y {
			t.Fatalf("the curve goes back at %d: %+v then %+v", i, c[i-1], c[i])
		}
	}
	if PercentileCurve(NewHist(), 3) != nil {
		t.Fatal("an empty histogram has a curve")
	}
}
