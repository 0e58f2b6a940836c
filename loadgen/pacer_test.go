package loadgen

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

const msec = time.Millisecond

// stagesGen is a gen whose schedule is stages, as shard sh of the run.
func stagesGen(mode string, sh Shard, stages ...scenarios.Stage) *gen {
	return &gen{sc: &scenarios.Scenario{Mode: mode, Stages: stages}, shard: sh}
}

func stage(d time.Duration, target int, rate float64) scenarios.Stage {
	return scenarios.Stage{Duration: scenarios.Duration(d), Target: target, Rate: rate}
}

// offsets drains a ratePacer.
func offsets(p *ratePacer) []time.Duration {
	var out []time.Duration
	for {
		off, ok := p.next()
		if !ok {
			return out
		}
		out = append(out, off)
		if len(out) > 1e6 {
			panic("ratePacer never ends")
		}
	}
}

// Constant arrivals: N arrivals over a stage at rate R land at k/R from
// the stage's start; a stage's rate holds from its first arrival on; a
// stage without a rate holds arrivals back; the last arrival is the one
// before the end.
func TestRatePacerConstant(t *testing.T) {
	t.Parallel()
	var (
		twoRates, gap, thirds, shard []time.Duration
	)
	for k := range 10 {
		twoRates = append(twoRates, time.Duration(k)*100*msec)
	}
	for k := range 20 {
		twoRates = append(twoRates, time.Second+time.Duration(k)*50*msec)
	}
	for k := range 4 {
		gap = append(gap, 500*msec+time.Duration(k)*250*msec)
	}
	thirds = []time.Duration{0, time.Second / 3, 2 * time.Second / 3}
	for k := range 5 {
		shard = append(shard, 100*msec+time.Duration(k)*200*msec) // 5/s, starting 1/10s in
	}
	for _, c := range []struct {
		name  string
		g     *gen
		shard Shard
		want  []time.Duration
	}{
		{"10/s then 20/s", stagesGen(scenarios.ModeRequest, Shard{}, stage(time.Second, 0, 10), stage(time.Second, 0, 20)), Shard{}, twoRates},
		{"none for 500ms, then 4/s", stagesGen(scenarios.ModeRequest, Shard{}, stage(500*msec, 0, 0), stage(time.Second, 0, 4)), Shard{}, gap},
		{"3/s for 1s: the fourth is at the end, outside", stagesGen(scenarios.ModeRequest, Shard{}, stage(time.Second, 0, 3)), Shard{}, thirds},
		{"shard 1/2 of 10/s", stagesGen(scenarios.ModeRequest, Shard{Index: 1, Count: 2}, stage(time.Second, 0, 10)), Shard{Index: 1, Count: 2}, shard},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &ratePacer{rateAt: c.g.rateAt, total: c.g.sc.TotalDuration(), shard: c.shard}
			got := offsets(p)
			if len(got) != len(c.want) {
				t.Fatalf("%d arrivals %v, want %d %v", len(got), got, len(c.want), c.want)
			}
			for i := range got {
				if d := got[i] - c.want[i]; d < -time.Microsecond || d > time.Microsecond {
					t.Fatalf("arrival %d at %v, want %v", i, got[i], c.want[i])
				}
			}
		})
	}
}

// Without an end, a pacer with no rate ends at once rather than looking
// for an arrival forever.
func TestRatePacerNoRateNoEnd(t *testing.T) {
	t.Parallel()
	p := &ratePacer{rateAt: func(time.Duration) float64 { return 0 }}
	if off, ok := p.next(); ok {
		t.Fatalf("arrival at %v, want none", off)
	}
}

// Poisson arrivals keep the rate on average, with exponential gaps (their
// spread equals their mean), and none is due at the start itself.
func TestRatePacerPoisson(t *testing.T) {
	t.Parallel()
	const rate, secs = 1000.0, 10
	p := &ratePacer{rateAt: func(time.Duration) float64 { return rate }, total: secs * time.Second, poisson: true}
	got := offsets(p)
	// The count is Poisson: mean and variance rate·secs (σ = 100).
	if want := rate * secs; math.Abs(float64(len(got))-want) > 5*math.Sqrt(want) {
		t.Fatalf("%d arrivals in %ds at %v/s", len(got), secs, rate)
	}
	if got[0] <= 0 {
		t.Errorf("first arrival at %v, want after the start", got[0])
	}
	var sum, sq float64
	for i := 1; i < len(got); i++ {
		g := (got[i] - got[i-1]).Seconds()
		if g < 0 {
			t.Fatalf("arrival %d at %v before arrival %d at %v", i, got[i], i-1, got[i-1])
		}
		sum += g
		sq += g * g
	}
	n := float64(len(got) - 1)
	mean := sum / n
	sd := math.Sqrt(sq/n - mean*mean)
	if math.Abs(mean-1/rate) > 0.05/rate || math.Abs(sd-1/rate) > 0.1/rate {
		t.Errorf("gaps: mean %v sd %v, want both %v", mean, sd, 1/rate)
	}
}

// run fires each arrival at start plus its offset, not before it, and
// stops when fire says so or ctx ends.
func TestRatePacerRun(t *testing.T) {
	t.Parallel()
	every := func(time.Duration) float64 { return 1000 }
	start := time.Now()
	var dues []time.Time
	lags := 0
	p := &ratePacer{rateAt: every, total: 20 * msec}
	p.run(context.Background(), start, func(time.Duration) { lags++ }, func(due time.Time) bool {
		if now := time.Now(); now.Before(due) {
			t.Errorf("fired at %v, before its due time %v", now.Sub(start), due.Sub(start))
		}
		dues = append(dues, due)
		return true
	})
	if len(dues) != 20 || lags != 20 {
		t.Fatalf("%d fired, %d lags, want 20 each", len(dues), lags)
	}
	for k, due := range dues {
		if want := start.Add(time.Duration(k) * msec); !due.Equal(want) {
			t.Fatalf("fire %d due at %v, want %v", k, due.Sub(start), want.Sub(start))
		}
	}

	fired := 0
	p = &ratePacer{rateAt: every, total: time.Hour}
	p.run(context.Background(), time.Now(), func(time.Duration) {}, func(time.Time) bool { fired++; return fired < 3 })
	if fired != 3 {
		t.Errorf("fire returned false at 3, fired %d", fired)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p = &ratePacer{rateAt: every, total: time.Hour}
	p.run(ctx, time.Now(), func(time.Duration) {}, func(time.Time) bool { t.Error("fired after ctx ended"); return true })
}

// need follows the stages' target: linear within a ramp, a step at a
// zero-length stage, the last target past the end, this shard's share.
func TestTargetPacerNeed(t *testing.T) {
	t.Parallel()
	start := time.Now()
	ramp := stagesGen(scenarios.DefaultMode, Shard{}, stage(10*time.Second, 100, 0), stage(0, 40, 0), stage(5*time.Second, 40, 0))
	third := stagesGen(scenarios.DefaultMode, Shard{Index: 2, Count: 3}, stage(10*time.Second, 100, 0))
	for _, c := range []struct {
		g    *gen
		at   time.Duration
		open int
		want int
	}{
		{ramp, 0, 0, 0},
		{ramp, 2500 * msec, 10, 15}, // 25 wanted
		{ramp, 5 * time.Second, 60, -10},
		{ramp, 9990 * msec, 0, 100}, // 99.9 rounds to 100
		{ramp, 10 * time.Second, 50, -10},
		{ramp, time.Minute, 40, 0},
		{third, 10 * time.Second, 0, 34}, // 100·3/3 - 100·2/3
		{third, 5 * time.Second, 0, 17},  // of 50
	} {
		t.Run(fmt.Sprint(c.at, " open ", c.open), func(t *testing.T) {
			p := newTargetPacer(start, c.g.sc.TotalDuration(), c.g.targetAt, nil)
			if got := p.need(start.Add(c.at), c.open); got != c.want {
				t.Errorf("need = %d, want %d", got, c.want)
			}
		})
	}
}

// dues spreads a tick's starts over the next tick, evenly, and never
// before a start already handed out.
func TestTargetPacerDuesSpread(t *testing.T) {
	t.Parallel()
	start := time.Now()
	p := newTargetPacer(start, time.Minute, func(time.Duration) int { return 0 }, nil)
	check := func(now time.Duration, n int, want ...time.Duration) {
		t.Helper()
		got := p.dues(start.Add(now), n)
		if len(got) != len(want) {
			t.Fatalf("dues(%v, %d): %d, want %d", now, n, len(got), len(want))
		}
		for i := range got {
			if d := got[i].Sub(start); d != want[i] {
				t.Fatalf("dues(%v, %d)[%d] at %v, want %v", now, n, i, d, want[i])
			}
		}
	}
	check(0, 5, 0, 2*msec, 4*msec, 6*msec, 8*msec)
	check(10*msec, 2, 10*msec, 15*msec)
	check(20*msec, 0)
	check(20*msec, -3)
	// A tick that comes early (after a late one) starts nothing before
	// the last start due.
	check(21*msec, 4, 21*msec, 23500*time.Microsecond, 26*msec, 28500*time.Microsecond)
	check(22*msec, 2, 28500*time.Microsecond, 28500*time.Microsecond)
}

// Under a rate cap the starts are 1/rate apart across ticks, and the ones
// the cap pushes past a tick wait for a later tick.
func TestTargetPacerDuesRate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rate float64
		gap  time.Duration
		n    int // starts in 1s: the first is 1/rate after the start, and a tick's horizon is included
	}{
		{200, 5 * msec, 200},        // ... 995ms, 1s
		{1000.0 / 3, 3 * msec, 333}, // ... 999ms; 21ms falls past the second tick, into the third
	} {
		t.Run(fmt.Sprint(c.rate), func(t *testing.T) {
			start := time.Now()
			p := newTargetPacer(start, time.Second, func(time.Duration) int { return 0 }, func(time.Duration) float64 { return c.rate })
			var all []time.Duration
			for k := range 100 { // every tick of 1s, each wanting far more than the cap allows
				now := time.Duration(k) * paceTick
				for _, due := range p.dues(start.Add(now), 1000) {
					d := due.Sub(start)
					if d < now || d > now+paceTick {
						t.Fatalf("tick at %v: a start due at %v, outside the tick", now, d)
					}
					all = append(all, d)
				}
			}
			if len(all) != c.n {
				t.Fatalf("%d starts in 1s at %v/s, want %d", len(all), c.rate, c.n)
			}
			for i, d := range all {
				if want := time.Duration(i+1) * c.gap; d != want {
					t.Fatalf("start %d at %v, want %v", i, d, want)
				}
			}
		})
	}
}

// The rate cap is the one in force at the tick: a stage's new rate
// spaces the starts from its first tick on.
func TestTargetPacerDuesRateChange(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rateAt := func(el time.Duration) float64 {
		if el < 50*msec {
			return 100
		}
		return 500
	}
	p := newTargetPacer(start, time.Second, func(time.Duration) int { return 0 }, rateAt)
	var got, want []time.Duration
	for k := range 10 {
		for _, due := range p.dues(start.Add(time.Duration(k)*paceTick), 1000) {
			got = append(got, due.Sub(start))
		}
	}
	for d := 10 * msec; d <= 50*msec; d += 10 * msec {
		want = append(want, d)
	}
	for d := 52 * msec; d <= 100*msec; d += 2 * msec {
		want = append(want, d)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("starts at\n%v, want\n%v", got, want)
	}
}

// tick looks at the schedule until its end, until step says stop, or
// until ctx ends, and reports each tick's lateness first.
func TestTargetPacerTick(t *testing.T) {
	t.Parallel()
	none := func(time.Duration) int { return 0 }
	start := time.Now()
	p := newTargetPacer(start, 35*msec, none, nil)
	steps, lags := 0, 0
	p.tick(context.Background(), func(time.Duration) { lags++ }, func(now time.Time) bool {
		if el := now.Sub(start); el >= 35*msec {
			t.Errorf("step at %v, after the end", el)
		}
		steps++
		return true
	})
	if steps == 0 || lags != steps+1 {
		t.Errorf("%d steps and %d lags, want at least one step and one lag more (the end's)", steps, lags)
	}

	steps = 0
	p = newTargetPacer(time.Now(), 0, none, nil)
	p.tick(context.Background(), func(time.Duration) {}, func(time.Time) bool { steps++; return steps < 3 })
	if steps != 3 {
		t.Errorf("step returned false at 3, stepped %d", steps)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p = newTargetPacer(time.Now(), 0, none, nil)
	p.tick(ctx, func(time.Duration) {}, func(time.Time) bool { t.Error("step after ctx ended"); return true })
}
