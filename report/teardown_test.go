package report

import (
	"strings"
	"testing"
	"time"
)

// steadyRun is 4 s of 50 open streams at 250 events/s, then the teardown:
// 0.25 s in which the streams close (open 0) and 100 more events arrive.
func steadyRun(marked bool) *Result {
	r := &Result{Schema: ResultSchema, Target: "http://127.0.0.1/events", DurationS: 4.25,
		Counters: Counters{StreamsOpened: 50, Events: 4*250 + 100, Ends: map[string]int64{"cancelled": 50}}}
	for s := 1; s <= 4; s++ {
		r.Timeseries = append(r.Timeseries, Point{T: float64(s) + 0.0002, Open: 50, Target: 50, Events: 250})
	}
	r.Timeseries = append(r.Timeseries, Point{T: 4.25, Open: 0, Target: 50, Events: 100, Teardown: marked})
	return r
}

func TestTeardownIsNotLoad(t *testing.T) {
	for _, marked := range []bool{true, false} { // false: a result saved before points were marked
		r := steadyRun(marked)
		if got := len(LoadPoints(r.Timeseries)); got != 4 {
			t.Fatalf("marked %v: %d load points, want 4 (the teardown left out)", marked, got)
		}
		if got := r.EventRate(); got < 249 || got > 251 {
			t.Errorf("marked %v: event rate %.1f/s, want 250 (events over duration would say %.0f)", marked, got, float64(r.Counters.Events)/r.DurationS)
		}
		var sum strings.Builder
		if err := WriteSummary(&sum, r); err != nil {
			t.Fatal(err)
		}
		if s := sum.String(); !strings.Contains(s, "(250/s)") {
			t.Errorf("marked %v: summary does not print the load's 250/s:\n%s", marked, s)
		}
		ts := newTimeSeries(r.Timeseries)
		open := ts.gauge("open", func(p Point) float64 { return float64(p.Open) })
		ev := ts.perSec("events/s", func(p Point) int64 { return p.Events })
		for _, s := range []Series{open, ev} {
			last := s.Points[len(s.Points)-1]
			if len(s.Points) != 4 || last.Y == 0 || last.Y > 250 {
				t.Errorf("marked %v: %s ends at %+v over %d points, want 4 points ending at the load's value", marked, s.Name, last, len(s.Points))
			}
		}
	}
}

// A shard that started just before a second boundary has ticks that
// jitter across it; its teardown comes a quarter second after its last
// tick. Merged, every second holds one point of each shard and open
// streams hold steady to the end.
func TestMergeAlignsShardsWithoutADip(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	shard := func(startOff time.Duration, jitter []float64) *Result {
		r := &Result{Schema: ResultSchema, Start: t0.Add(startOff), End: t0.Add(startOff + 4250*time.Millisecond)}
		for i, j := range jitter {
			r.Timeseries = append(r.Timeseries, Point{T: float64(i+1) + j, Open: 10, Target: 10, Events: 100})
		}
		r.Timeseries = append(r.Timeseries, Point{T: 4.25, Open: 0, Target: 10, Events: 20, Teardown: true})
		return r
	}
	a := shard(0, []float64{0.0001, 0.0001, 0.0001, 0.0001})
	b := shard(999*time.Millisecond, []float64{0.0002, 0.0015, 0.0001, 0.003}) // ticks cross wall-second boundaries
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	load := LoadPoints(m.Timeseries)
	if n := len(m.Timeseries); n == 0 || !m.Timeseries[n-1].Teardown || len(load) != n-1 {
		t.Fatalf("merged series %+v: want its last point, and only that, marked teardown", m.Timeseries)
	}
	// Started within the same second, the shards share their seconds.
	wantOpen := []int64{20, 20, 20, 20}
	wantEvents := []int64{200, 200, 200, 200}
	if len(load) != len(wantOpen) {
		t.Fatalf("load points %+v, want %d", load, len(wantOpen))
	}
	for i, p := range load {
		if p.Open != wantOpen[i] {
			t.Errorf("second %d: open %d, want %d (a dip or a collapse)", i+1, p.Open, wantOpen[i])
		}
		if p.Events != wantEvents[i] {
			t.Errorf("second %d: events %d, want %d (two ticks of one shard in one second, or none)", i+1, p.Events, wantEvents[i])
		}
	}
}
