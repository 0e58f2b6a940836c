package conformance

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// resumeResult is what the resume probe saw: stream A read fresh, stream B
// opened with Last-Event-ID set to A's first id while A kept reading. B
// should start with exactly the event A got right after that id.
type resumeResult struct {
	a, b    *stream
	from    item // A's first event with an id: B's Last-Event-ID
	want    item // A's next event: what B should start with
	got     item // B's first event
	hasWant bool
	hasGot  bool
	skip    string // why nothing could be compared
}

func (t *target) probeResume(ctx context.Context) *resumeResult {
	r := &resumeResult{}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Window)
	defer cancel()
	r.a = newStream(t.spec())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.p.run(ctx, r.a)
	}()
	defer func() { cancel(); <-done }()

	withID := func(evs []item) bool { return firstWithID(evs) >= 0 }
	if t.pub != nil {
		if !r.a.waitHeaders(ctx) {
			r.skip = "no response headers within the window"
			return r
		}
		wctx, wcancel := context.WithTimeout(ctx, time.Second)
		_, ok := r.a.waitEvents(wctx, withID)
		wcancel()
		if !ok && r.a.ok() {
			t.publishAndWait(ctx, r.a)
		}
	}
	evs, ok := r.a.waitEvents(ctx, withID)
	if !ok {
		if len(evs) > 0 {
			r.skip = fmt.Sprintf("no event with an id in %s (%s without one)", fmtDur(t.cfg.Window), plural(len(evs), "event", "events"))
		} else {
			r.skip = "no event within " + fmtDur(t.cfg.Window)
		}
		return r
	}
	i := firstWithID(evs)
	r.from = evs[i]

	spec := t.spec()
	spec.lastEventID = r.from.id
	spec.window = max(t.cfg.Window-time.Since(r.a.start), 2*time.Second)
	r.b = newStream(spec)
	bdone := make(chan struct{})
	go func() {
		defer close(bdone)
		t.p.run(ctx, r.b)
	}()
	defer func() { cancel(); <-bdone }()

	aNext := func(evs []item) bool { return len(evs) > i+1 }
	if t.pub != nil && r.b.waitHeaders(ctx) && r.b.ok() {
		// Give B a moment to subscribe, then make sure a next event
		// exists.
		sleep(ctx, 300*time.Millisecond)
		wctx, wcancel := context.WithTimeout(ctx, time.Second)
		_, ok := r.a.waitEvents(wctx, aNext)
		wcancel()
		if !ok {
			t.publishAndWait(ctx, r.a, r.b)
		}
	}
	// B's first event of the resumed sequence: one with an id, or one A
	// has (by data: a BOM or a NUL can cost an event its id line). Events
	// B gets first without an id and unknown to A (a welcome message, a
	// state snapshot) are not part of the sequence.
	bevs, _ := r.b.waitEvents(ctx, func(evs []item) bool { return firstWithID(evs) >= 0 })
	if got, ok := resumedFirst(bevs, r.a.events()); ok {
		r.got, r.hasGot = got, true
	}
	// A's next event: B's first one may have come from history before A
	// saw it live, so wait for it too (until the window closes).
	aevs, _ := r.a.waitEvents(ctx, func(evs []item) bool {
		if !aNext(evs) {
			return false
		}
		if !r.hasGot || containsEvent(evs, r.got) || len(evs) > i+50 {
			return true
		}
		// When B's first event is ahead of A, wait for A to catch up
		// with it, so a gap and a slow A are told apart.
		last := evs[len(evs)-1]
		n, ok := numericAfter(r.got.id, last.id)
		return ok && n <= 0
	})
	if len(aevs) > i+1 {
		r.want, r.hasWant = aevs[i+1], true
	}
	// Both streams end here (deferred cancel), and the results are read
	// only after their goroutines return.
	cancel()
	<-bdone
	<-done
	return r
}

func resumedFirst(bevs, aevs []item) (item, bool) {
	for _, ev := range bevs {
		if ev.id != "" || indexEvent(aevs, ev) >= 0 {
			return ev, true
		}
	}
	return item{}, false
}

func firstWithID(evs []item) int {
	for i, ev := range evs {
		if ev.id != "" {
			return i
		}
	}
	return -1
}

// sameEvent compares two events by id and data. An event whose id line
// was lost (a BOM, a NUL) still matches by its data.
func sameEvent(a, b item) bool {
	return a.data == b.data && a.size == b.size && (a.id == b.id || a.id == "" || b.id == "")
}

func containsEvent(evs []item, ev item) bool {
	for _, e := range evs {
		if sameEvent(e, ev) {
			return true
		}
	}
	return false
}

func indexEvent(evs []item, ev item) int {
	for i, e := range evs {
		if sameEvent(e, ev) {
			return i
		}
	}
	return -1
}

// verdict compares B's start with A's sequence. buffered says the
// stream's events are held back on the way (see buffering), which can
// leave B empty for reasons that have nothing to do with resumption.
func (r *resumeResult) verdict(buffered bool) verdict {
	if r.skip != "" {
		return skip(r.skip)
	}
	ev := fmt.Sprintf("stream A: first id %q; stream B opened with Last-Event-ID: %s", r.from.id, r.from.id)
	if r.b.err != nil {
		return fail("the resumed request failed: "+errText(r.b.err), ev)
	}
	if r.b.status != http.StatusOK {
		return fail(fmt.Sprintf("the resumed request was answered %s", r.b.statusTxt), ev+"\n"+bodyEvidence(r.b))
	}
	if !r.hasGot {
		if buffered && len(r.b.eventsOnly()) == 0 {
			return skip(fmt.Sprintf("the resumed stream got no event in %s, but the stream's events are held back on the way (see buffering)", fmtDur(r.b.endAt)))
		}
		if r.hasWant {
			return fail("the resumed stream got no event while the original went on", fmt.Sprintf("%s\nA next got id %q; B got nothing in %s (%s)", ev, r.want.id, fmtDur(r.b.endAt), r.b.describeEnd()))
		}
		return skip("no second event arrived within the window, so there was nothing to resume")
	}
	ev += fmt.Sprintf("\nB's first event: id %q, %s", r.got.id, dataPreview(r.got))
	if sameEvent(r.got, r.from) {
		return fail("the resumed stream repeated the event named by Last-Event-ID (duplicate)", ev)
	}
	aevs := r.a.eventsOnly()
	if !r.hasWant {
		if n, ok := numericAfter(r.got.id, r.from.id); ok && n <= 0 {
			return fail(fmt.Sprintf("the resumed stream started at id %q, not after %q (duplicates)", r.got.id, r.from.id), ev)
		}
		return skip(fmt.Sprintf("stream A got no event after id %q within the window to compare with", r.from.id))
	}
	ev += fmt.Sprintf("\nA's event after it: id %q, %s", r.want.id, dataPreview(r.want))
	if sameEvent(r.got, r.want) {
		return pass(ev)
	}
	fromIdx := indexEvent(aevs, r.from)
	if j := indexEvent(aevs, r.got); j >= 0 {
		if j <= fromIdx {
			return fail(fmt.Sprintf("the resumed stream started at id %q, at or before Last-Event-ID %q (duplicates)", r.got.id, r.from.id), ev)
		}
		return fail(fmt.Sprintf("the resumed stream skipped %d event(s) after Last-Event-ID (gap)", j-fromIdx-1), ev)
	}
	if n, ok := numericAfter(r.got.id, r.from.id); ok {
		if n <= 0 {
			return fail(fmt.Sprintf("the resumed stream started at id %q, at or before Last-Event-ID %q (replayed: duplicates)", r.got.id, r.from.id), ev)
		}
		if m, ok := numericAfter(r.got.id, r.want.id); ok && m > 0 {
			return fail(fmt.Sprintf("the resumed stream started at id %q, after %q (gap)", r.got.id, r.want.id), ev)
		}
	}
	return fail("the resumed stream did not continue with the event after Last-Event-ID", ev)
}

// numericAfter compares two decimal ids: >0 when a is after b.
func numericAfter(a, b string) (int, bool) {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	switch {
	case x > y:
		return 1, true
	case x < y:
		return -1, true
	}
	return 0, true
}

func dataPreview(ev item) string {
	d := ev.data
	if len(d) > 80 {
		d = d[:80] + "…"
	}
	return fmt.Sprintf("data %q (%d bytes)", d, ev.size)
}

func bodyEvidence(s *stream) string {
	if s.bodyText == "" {
		return "(no body)"
	}
	b := s.bodyText
	if len(b) > 200 {
		b = b[:200] + "…"
	}
	return fmt.Sprintf("body: %q", b)
}
