package loadgen

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// The schedule of a load run lives here, in two pacers, as vegeta's Pacer
// holds its attack's: when the next start is due, and how many should be
// open now. The schedulers (control in subscribe mode, openLoop and
// closedLoop in request mode) only act on what a pacer says: they open
// and close streams, send and skip requests.
//
//   - ratePacer is a rate of arrivals (request mode's open loop): the
//     offset of each start, from the stages' rates, constant or Poisson.
//   - targetPacer is a number to keep open (subscribe mode's streams,
//     the closed loop's requests in flight): the stages' target at t,
//     looked at every paceTick, with subscribe's starts spread over the
//     tick under the arrival-rate cap.
//
// Both count every offset from the run's start, never from "now": a slow
// server or a late generator cannot move the schedule, and the lateness
// is reported instead (the lag callbacks).

// targetAt is this process's share of the scenario's target at t.
func (g *gen) targetAt(t time.Duration) int { return g.shard.share(g.sc.TargetAt(t)) }

// rateAt is this process's share of the arrival-rate cap at t.
func (g *gen) rateAt(t time.Duration) float64 {
	r := g.sc.RateAt(t)
	if g.shard.Count > 1 {
		r /= float64(g.shard.Count)
	}
	return r
}

// ratePacer is one shard's open-loop schedule: the offset from the run's
// start at which each of its requests is due. Not safe for concurrent use.
//
// With constant arrivals, shard i of n begins i/R into the run (R the
// whole run's rate, n times this shard's), so its sends fall between
// those of the other shards and the merged schedule is evenly spaced at
// 1/R, not n sends at once every n/R. Poisson arrivals need no offset:
// independent Poisson shards merge into one Poisson process of rate R.
type ratePacer struct {
	rateAt  func(time.Duration) float64 // this shard's rate at an offset
	total   time.Duration               // the schedule's end; 0: none
	shard   Shard
	poisson bool
	// off is the next arrival in float seconds from the start, so
	// rounding never accumulates: at 3/s for 1s the fourth arrival falls
	// at 1s, outside the run, not a nanosecond inside it.
	off   float64
	begun bool
}

// next is the offset of the next arrival; false once the schedule ends.
func (p *ratePacer) next() (time.Duration, bool) {
	for {
		el := time.Duration(math.Round(p.off * float64(time.Second)))
		if p.total > 0 && el >= p.total-time.Microsecond {
			return 0, false
		}
		rate := p.rateAt(el)
		if rate <= 0 {
			if p.total <= 0 {
				return 0, false // nothing would ever arrive
			}
			p.off += 0.01 // a stage without arrivals
			continue
		}
		if !p.begun {
			p.begun = true
			switch {
			case p.poisson:
				p.off += rand.ExpFloat64() / rate
				continue
			case p.shard.Count > 1 && p.shard.Index > 0:
				p.off += float64(p.shard.Index) / (rate * float64(p.shard.Count))
				continue
			}
		}
		if p.poisson {
			p.off += rand.ExpFloat64() / rate
		} else {
			p.off += 1 / rate
		}
		return el, true
	}
}

// run calls fire at each arrival's due time (start plus its offset) until
// the schedule ends, ctx is done or fire returns false. It waits for a due
// time, never for fire: fire must not block. lag gets each arrival's
// lateness.
func (p *ratePacer) run(ctx context.Context, start time.Time, lag func(time.Duration), fire func(due time.Time) bool) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		el, ok := p.next()
		if !ok {
			return
		}
		due := start.Add(el)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		lag(time.Since(due))
		if !fire(due) {
			return
		}
	}
}

// paceTick is how often a targetPacer's loop looks at the target.
const paceTick = 10 * time.Millisecond

// targetPacer is a closed schedule: how many streams (or requests in
// flight) should be open at each moment, and, for starts that are timed,
// when each is due. Not safe for concurrent use; need is, as long as
// targetAt is.
type targetPacer struct {
	start    time.Time
	total    time.Duration               // the schedule's end; 0: none
	targetAt func(time.Duration) int     // how many should be open at an offset
	rateAt   func(time.Duration) float64 // cap on starts per second at an offset; 0: none (dues only)
	lastDue  time.Time                   // the latest due time handed out; start before any
	due      []time.Time                 // dues' buffer
}

// newTargetPacer is the schedule from start to total (0: none) of
// targetAt open, with starts capped at rateAt per second (nil: no cap).
func newTargetPacer(start time.Time, total time.Duration, targetAt func(time.Duration) int, rateAt func(time.Duration) float64) *targetPacer {
	return &targetPacer{start: start, total: total, targetAt: targetAt, rateAt: rateAt, lastDue: start}
}

// need is how many more should be open at now than the open ones
// (negative: how many of them are too many).
func (p *targetPacer) need(now time.Time, open int) int {
	return p.targetAt(now.Sub(p.start)) - open
}

// dues is the due times of n starts wanted at now. They are spread over
// the next tick, never over the past one, so an idle generator starts
// every attempt on time instead of up to a tick late; the target is still
// read at now, so no start is due before its stage begins. Each is at
// least 1/rate after the one before (the rate read at now, across ticks),
// and none is before one already handed out; the starts that the rate
// pushes past the tick are left for the next ticks. The slice is valid
// until the next call.
func (p *targetPacer) dues(now time.Time, n int) []time.Time {
	var rate float64
	if p.rateAt != nil {
		rate = p.rateAt(now.Sub(p.start))
	}
	horizon := now.Add(paceTick)
	p.due = p.due[:0]
	for i := 0; i < n; i++ {
		due := now.Add(time.Duration(float64(horizon.Sub(now)) * float64(i) / float64(n)))
		if rate > 0 {
			if min := p.lastDue.Add(time.Duration(float64(time.Second) / rate)); due.Before(min) {
				due = min
			}
		}
		if due.After(horizon) {
			break
		}
		if due.Before(p.lastDue) {
			due = p.lastDue
		}
		p.lastDue = due
		p.due = append(p.due, due)
	}
	return p.due
}

// tick calls step every paceTick until the schedule ends, ctx is done or
// step returns false. lag gets how much later than paceTick each tick came
// after the one before (the first is timed from start).
func (p *targetPacer) tick(ctx context.Context, lag func(time.Duration), step func(now time.Time) bool) {
	t := time.NewTicker(paceTick)
	defer t.Stop()
	prev := p.start
	for {
		now := time.Now()
		lag(now.Sub(prev) - paceTick)
		prev = now
		if el := now.Sub(p.start); (p.total > 0 && el >= p.total) || ctx.Err() != nil || !step(now) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
