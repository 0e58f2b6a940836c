package conformance

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/report"
)

// resumeResult is what the resume probe saw: stream A read fresh, stream B
// opened with Last-Event-ID set to one of A's ids while A kept reading. B
// should start with the event A got right after that id. Resumption is
// judged by ids: many correct servers generate each event per connection
// (a send time in the data), so the same id may carry other bytes on B.
type resumeResult struct {
	a, b    *stream
	from    item // A's event with an id: B's Last-Event-ID
	fromIdx int  // from's index in A's events
	want    item // A's next event: what B should start with
	got     item // B's first event
	hasWant bool
	hasGot  bool
	skip    string // why nothing could be compared
}

// secondIDWait is how long the probe waits for A's second id before it
// resumes from the first one. Resuming from the second id tells a server
// that ignores Last-Event-ID (B starts over at A's first id) from one that
// repeats the named event (B starts at that id).
const secondIDWait = time.Second

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
		if !t.awaitHeaders(ctx, r.a) {
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
			r.skip = fmt.Sprintf("no event with an id in %s (%s without one)", report.FormatDuration(t.cfg.Window), plural(len(evs), "event", "events"))
		} else {
			r.skip = "no event within " + report.FormatDuration(t.cfg.Window)
		}
		return r
	}
	i := firstWithID(evs)
	if t.pub == nil {
		wctx, wcancel := context.WithTimeout(ctx, min(secondIDWait, t.cfg.Window/4))
		more, ok := r.a.waitEvents(wctx, func(evs []item) bool { return nextNewID(evs, i) >= 0 })
		wcancel()
		if ok {
			evs, i = more, nextNewID(more, i)
		}
	}
	r.from, r.fromIdx = evs[i], i

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
	if t.pub != nil && t.awaitHeaders(ctx, r.b) && r.b.ok() {
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
		if !r.hasGot || indexResumed(evs, r.got) >= 0 || len(evs) > i+50 {
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

// resumedFirst is B's first event of the resumed sequence: the first with
// an id, or one A got with an id (B's lost its id line: a BOM, a NUL).
// An event without an id that A also got without one (a "Connected"
// greeting every connection gets) is not part of the sequence.
func resumedFirst(bevs, aevs []item) (item, bool) {
	for _, ev := range bevs {
		if ev.id != "" {
			return ev, true
		}
		for _, a := range aevs {
			if a.id != "" && sameEvent(a, ev) {
				return ev, true
			}
		}
	}
	return item{}, false
}

// renumbered finds B's first event among A's by its data, under another
// id: the same event numbered differently on each connection. Only data
// that occurs once in A counts (not a repeated "ping").
func renumbered(aevs []item, got item) (int, bool) {
	j, n := -1, 0
	for i, a := range aevs {
		if a.data == got.data && a.size == got.size {
			j = i
			n++
		}
	}
	if n != 1 || got.size == 0 || aevs[j].id == "" || aevs[j].id == got.id {
		return -1, false
	}
	return j, true
}

// nextNewID is the index of the first event after evs[i] whose id is not
// evs[i]'s, or -1.
func nextNewID(evs []item, i int) int {
	for j := i + 1; j < len(evs); j++ {
		if evs[j].id != "" && evs[j].id != evs[i].id {
			return j
		}
	}
	return -1
}

// indexID is the index of the first event with the given id, or -1.
func indexID(evs []item, id string) int {
	for i, e := range evs {
		if e.id == id {
			return i
		}
	}
	return -1
}

// indexResumed finds B's event ev in A's events: by id when it has one,
// else by data (its id line was lost).
func indexResumed(evs []item, ev item) int {
	if ev.id != "" {
		return indexID(evs, ev.id)
	}
	return indexEvent(evs, ev)
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
	ev := fmt.Sprintf("stream A: id %q (event %d); stream B opened with Last-Event-ID: %s", r.from.id, r.fromIdx+1, r.from.id)
	if r.b.err != nil {
		if r.b.errClass == report.EndCancelled {
			// ssebench's own window closed before the server answered:
			// a server that sends its headers only with the first event.
			return skip(fmt.Sprintf("the resumed request had no response headers when the window closed, %s after it was sent (the server holds its headers back until it has an event: see headers-prompt); run with a longer --window", report.FormatDuration(time.Since(r.b.start))))
		}
		return fail("the resumed request failed: "+errText(r.b.err), ev)
	}
	if r.b.status != http.StatusOK {
		return fail(fmt.Sprintf("the resumed request was answered %s", r.b.statusTxt), ev+"\n"+bodyEvidence(r.b))
	}
	if !r.hasGot {
		if buffered && len(r.b.eventsOnly()) == 0 {
			return skip(fmt.Sprintf("the resumed stream got no event in %s, but the stream's events are held back on the way (see buffering)", report.FormatDuration(r.b.endAt)))
		}
		if r.hasWant {
			return fail("the resumed stream got no event while the original went on", fmt.Sprintf("%s\nA next got id %q; B got nothing in %s (%s)", ev, r.want.id, report.FormatDuration(r.b.endAt), r.b.describeEnd()))
		}
		return skip("no second event arrived within the window, so there was nothing to resume")
	}
	ev += fmt.Sprintf("\nB's first event: id %q, %s", r.got.id, dataPreview(r.got))
	if r.hasWant {
		ev += fmt.Sprintf("\nA's event after it: id %q, %s", r.want.id, dataPreview(r.want))
	}
	aevs := r.a.eventsOnly()
	if r.got.id == "" || (r.hasWant && r.want.id == r.from.id) {
		// B's event lost its id line, or A's next event carries the
		// named id over: ids cannot place B's start, data can.
		return r.verdictByData(aevs, ev)
	}
	if j, ok := renumbered(aevs, r.got); ok {
		return fail(fmt.Sprintf("ids are numbered per connection: the resumed stream's first event, id %q, is the event stream A got as id %q, so a Last-Event-ID from one connection names another event on the next (nothing was replayed)", r.got.id, aevs[j].id), ev)
	}
	if r.got.id == r.from.id {
		reason := fmt.Sprintf("the resumed stream repeated id %q, the event named by Last-Event-ID (repeat)", r.from.id)
		if firstWithID(aevs) == r.fromIdx {
			reason += fmt.Sprintf("; %q is also where a fresh stream starts, so Last-Event-ID may have been ignored", r.from.id)
		}
		return fail(reason, ev)
	}
	if j := indexID(aevs, r.got.id); j >= 0 {
		switch {
		case j < r.fromIdx:
			return fail(r.startedBefore(aevs, j), ev)
		case j == r.fromIdx+1 || (r.hasWant && r.want.id == r.got.id):
			return pass(ev)
		}
		return fail(gapReason(r.from.id, aevs[r.fromIdx+1:j]), ev)
	}
	n, numeric := numericAfter(r.got.id, r.from.id)
	if numeric && n < 0 {
		return fail(fmt.Sprintf("the resumed stream started at id %q, before Last-Event-ID %q (repeat: events delivered again)", r.got.id, r.from.id), ev)
	}
	if !r.hasWant {
		if numeric && isSuccessor(r.got.id, r.from.id) {
			return pass(ev + "\n(A got no event after it within the window; B's id is the next integer)")
		}
		return skip(fmt.Sprintf("stream A got no event after id %q within the window to compare with", r.from.id))
	}
	if m, ok := numericAfter(r.got.id, r.want.id); ok && m > 0 && numeric {
		return fail(fmt.Sprintf("the resumed stream started at id %q, after %q, the id that followed Last-Event-ID %q (gap)", r.got.id, r.want.id, r.from.id), ev)
	}
	return fail(fmt.Sprintf("the resumed stream started at id %q, which stream A never had after %q (A went on with %q)", r.got.id, r.from.id, r.want.id), ev)
}

// startedBefore says why B's start at A's event j (before Last-Event-ID)
// is wrong, naming a restart when B began where a fresh stream begins.
func (r *resumeResult) startedBefore(aevs []item, j int) string {
	again := r.fromIdx - j
	if n := r.replayedAtOnce(); n > 1 {
		return fmt.Sprintf("the resumed stream replayed %d events at once from id %q, before Last-Event-ID %q and that one included (repeat: %s delivered again)", n, r.got.id, r.from.id, plural(again+1, "event", "events"))
	}
	if firstWithID(aevs) == j {
		return fmt.Sprintf("the resumed stream started over at id %q, where a fresh stream starts: Last-Event-ID %q was ignored (repeat: %s delivered again)", r.got.id, r.from.id, plural(again+1, "event", "events"))
	}
	return fmt.Sprintf("the resumed stream started at id %q, before Last-Event-ID %q (repeat: %s delivered again)", r.got.id, r.from.id, plural(again+1, "event", "events"))
}

// replayedAtOnce counts the events B got at once (back to back, at most
// 5 ms apart, from its first) up to and including the one Last-Event-ID named: a replay of a
// buffer, not a stream started over. 0 when the named id was not among
// them.
func (r *resumeResult) replayedAtOnce() int {
	bevs := r.b.eventsOnly()
	first := slices.IndexFunc(bevs, func(e item) bool { return e.at == r.got.at && e.id == r.got.id })
	if first < 0 {
		return 0
	}
	prev := bevs[first].at
	for n, e := range bevs[first:] {
		if e.at-prev > 5*time.Millisecond {
			break
		}
		prev = e.at
		if e.id == r.from.id {
			return n + 1
		}
	}
	return 0
}

// gapReason names the events A had between Last-Event-ID and B's start.
func gapReason(from string, skipped []item) string {
	var ids []string
	for _, e := range skipped {
		if e.id != from && (len(ids) == 0 || ids[len(ids)-1] != e.id) {
			ids = append(ids, e.id)
		}
	}
	missing := plural(len(skipped), "event", "events")
	if len(ids) > 0 {
		shown := ids
		if len(shown) > 5 {
			shown = append(slices.Clone(shown[:5]), "…")
		}
		missing += " (id " + strings.Join(shown, ", ") + ")"
	}
	return fmt.Sprintf("the resumed stream skipped %s after Last-Event-ID %q (gap)", missing, from)
}

// verdictByData places B's first event in A's sequence by its data, for
// events whose ids cannot tell.
func (r *resumeResult) verdictByData(aevs []item, ev string) verdict {
	if sameEvent(r.got, r.from) {
		return fail("the resumed stream repeated the event named by Last-Event-ID (repeat)", ev)
	}
	if !r.hasWant {
		return skip(fmt.Sprintf("stream A got no event after id %q within the window to compare with", r.from.id))
	}
	if sameEvent(r.got, r.want) {
		return pass(ev)
	}
	if j := indexEvent(aevs, r.got); j >= 0 {
		if j <= r.fromIdx {
			return fail(fmt.Sprintf("the resumed stream started at the event %d before Last-Event-ID %q (repeat)", r.fromIdx-j, r.from.id), ev)
		}
		return fail(gapReason(r.from.id, aevs[r.fromIdx+1:j]), ev)
	}
	return fail("the resumed stream did not continue with the event after Last-Event-ID", ev)
}

// replayVerdict compares the data of the events both streams got with the
// same id: equal means the server replays stored events, different means
// it generates them anew per connection (which resumption allows).
func (r *resumeResult) replayVerdict() verdict {
	if r.skip != "" {
		return skip(r.skip)
	}
	if r.b == nil || !r.b.ok() || !r.hasGot {
		return skip("the resumed stream got no event to compare (see resume)")
	}
	aevs := r.a.eventsOnly()
	same, differ := 0, 0
	var first string
	seen := map[string]bool{}
	for _, bev := range r.b.eventsOnly() {
		if bev.id == "" || seen[bev.id] {
			continue
		}
		seen[bev.id] = true
		j := indexID(aevs, bev.id)
		if j < 0 {
			continue
		}
		if aevs[j].data == bev.data && aevs[j].size == bev.size {
			same++
			continue
		}
		differ++
		if first == "" {
			first = fmt.Sprintf("id %q: stream A got %s; the resumed stream B got %s", bev.id, dataPreview(aevs[j]), dataPreview(bev))
		}
	}
	switch {
	case same+differ == 0:
		return skip("the resumed stream got no id that the original stream also got (see resume)")
	case differ > 0:
		return fail("events are regenerated, not replayed: the same id carries other data on the resumed stream",
			fmt.Sprintf("the data differs for %d of %s seen on both streams\n%s", differ, plural(same+differ, "id", "ids"), first))
	}
	return pass(fmt.Sprintf("%s seen on both streams, each with the same data", plural(same, "id", "ids")))
}

// isSuccessor reports whether decimal id a is b+1.
func isSuccessor(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x == y+1
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
