package conformance

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ssebench/ssebench/report"
)

// Checks of the framing: the bytes of the body, as the decoder and the
// raw capture see them.

func (t *target) checkUTF8() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	tx := t.main.text
	if tx.total == 0 {
		return skip("no body bytes arrived")
	}
	if tx.invalid == 0 {
		return pass(fmt.Sprintf("%s, all valid UTF-8", fmtBytes(tx.total)))
	}
	return fail(fmt.Sprintf("%s of invalid UTF-8 in %s; clients turn them into U+FFFD", plural(tx.invalid, "sequence", "sequences"), fmtBytes(tx.total)),
		fmt.Sprintf("first at byte %d: % x (%q)", tx.firstBad, tx.badSample, tx.badSample))
}

func (t *target) checkBOM() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	if t.main.text.total == 0 {
		return skip("no body bytes arrived")
	}
	st := t.raw()
	head := t.main.text.capture[:min(8, len(t.main.text.capture))]
	ev := fmt.Sprintf("first bytes: % x", head)
	switch {
	case st.utf16BOM != "":
		return fail(fmt.Sprintf("the stream starts with a %s BOM: event streams are UTF-8 only", st.utf16BOM), ev)
	case st.leadingBOMs > 1:
		return fail(fmt.Sprintf("%d UTF-8 BOMs at the start: clients strip one, so the first line's field name starts with U+FEFF and is ignored", st.leadingBOMs), ev)
	case st.lineBOMs > 0:
		return fail(fmt.Sprintf("%s start with a BOM after the first: their field names start with U+FEFF and are ignored", plural(st.lineBOMs, "line", "lines")), ev)
	case st.leadingBOMs == 1:
		return pass(ev + " (one UTF-8 BOM, which clients strip)")
	}
	return pass(ev + " (no BOM)")
}

func (t *target) checkLineEndings() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	tx := t.main.text
	n := tx.lf + tx.crlf + tx.cr
	if n == 0 {
		return skip("no complete line arrived")
	}
	ev := fmt.Sprintf("%d lines: LF ×%d, CRLF ×%d, CR ×%d", n, tx.lf, tx.crlf, tx.cr)
	kinds := 0
	for _, c := range []int{tx.lf, tx.crlf, tx.cr} {
		if c > 0 {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		return fail("mixed line endings: valid, but clients that split on one kind break", ev)
	case tx.cr > 0:
		return fail("lone CR line endings: valid, but many non-browser clients split lines only on LF and see one endless line", ev)
	}
	return pass(ev)
}

func (t *target) checkFields() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	st := t.raw()
	if st.scanned == 0 {
		return skip("no complete line arrived")
	}
	ev := fmt.Sprintf("%s: %s", st.scope(), st.fieldSummary())
	if len(st.unknown) == 0 {
		return pass(ev)
	}
	return fail("unknown fields, which clients ignore: "+st.unknownSummary(), ev+"\ne.g. "+strings.Join(st.unknownSample, ", "))
}

func (t *target) checkTerminated() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	m := t.main
	streams := []*stream{m}
	if t.reconnect != nil && t.reconnect.readable() {
		streams = append(streams, t.reconnect)
	}
	var ended []string
	for i, s := range streams {
		if !s.serverEnded() {
			continue
		}
		label := "the stream"
		if i > 0 {
			label = "the reconnected stream"
		}
		if s.cutMidEvent {
			return fail(fmt.Sprintf("%s ended inside an event, which clients discard", label),
				fmt.Sprintf("%s; %s read, the last event incomplete", s.describeEnd(), fmtBytes(s.text.total)))
		}
		ended = append(ended, label+": "+s.describeEnd()+", after a complete event")
	}
	if len(ended) == 0 {
		return skip(fmt.Sprintf("the server did not end the stream within %s: nothing to judge", report.FormatDuration(m.endAt)))
	}
	return pass(strings.Join(ended, "\n"))
}

func (t *target) checkDataless() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	st := t.raw()
	if st.scanned == 0 {
		return skip("no complete line arrived")
	}
	if st.dataless == 0 {
		return pass(fmt.Sprintf("%s: every block with event or id also has data", st.scope()))
	}
	return fail(fmt.Sprintf("%s with event or id but no data: browsers drop them without firing an event", plural(st.dataless, "block", "blocks")),
		fmt.Sprintf("%s; e.g. %s", st.scope(), st.datalessSample))
}

func (t *target) checkIDNull() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	st := t.raw()
	if st.scanned == 0 {
		return skip("no complete line arrived")
	}
	if st.idLines == 0 {
		return skip(fmt.Sprintf("no id lines %s", st.scope()))
	}
	if st.idNull == 0 {
		return pass(fmt.Sprintf("%s %s, none with U+0000", plural(st.idLines, "id line", "id lines"), st.scope()))
	}
	return fail(fmt.Sprintf("%d of %s contain U+0000: clients ignore them, so the last event ID never updates", st.idNull, plural(st.idLines, "id line", "id lines")),
		"e.g. "+st.idNullSample)
}

// headerUnsafe reports whether b is a byte that does not survive as a
// Last-Event-ID header value: a control character other than tab, which
// HTTP field values forbid, or a byte over 0x7f, which browsers send as
// UTF-8 and many servers read as Latin-1 (Node.js), so the id no longer
// matches. Punctuation is fine: browsers send any id back verbatim, and
// EventSource's reconnects need no preflight whatever the id holds
// (Chromium, checked with urn:uuid: and "(){}<>?@" ids).
func headerUnsafe(b byte) bool {
	return (b < 0x20 && b != 0x09) || b >= 0x7f
}

func (t *target) checkIDSafe() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	seen := map[string]bool{}
	var long, unsafe []string
	for _, ev := range t.main.eventsOnly() {
		if ev.id == "" || seen[ev.id] {
			continue
		}
		seen[ev.id] = true
		if len(ev.id) > 128 && len(long) < 2 {
			long = append(long, fmt.Sprintf("%d bytes: %q", len(ev.id), ev.id[:40]+"…"))
		}
		for i := 0; i < len(ev.id); i++ {
			if headerUnsafe(ev.id[i]) {
				if len(unsafe) < 3 {
					unsafe = append(unsafe, fmt.Sprintf("%q", ev.id))
				}
				break
			}
		}
	}
	if len(seen) == 0 {
		return skip("no event ids to check")
	}
	var problems []string
	if len(long) > 0 {
		problems = append(problems, "ids over 128 bytes: "+strings.Join(long, ", "))
	}
	if len(unsafe) > 0 {
		problems = append(problems, "ids with control characters or non-ASCII bytes: "+strings.Join(unsafe, ", "))
	}
	if len(problems) > 0 {
		return fail("some ids may not come back intact: a reconnecting client sends the id verbatim as the Last-Event-ID header", strings.Join(problems, "\n"))
	}
	return pass(fmt.Sprintf("%s, all at most 128 bytes and printable ASCII", plural(len(seen), "distinct id", "distinct ids")))
}

func (t *target) checkRetryValid() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	st := t.raw()
	if st.scanned == 0 {
		return skip("no complete line arrived")
	}
	if len(st.retryValues) == 0 {
		return skip(fmt.Sprintf("no retry field %s", st.scope()))
	}
	var bad, odd []string
	for _, v := range st.retryValues {
		if v == "" || strings.Trim(v, "0123456789") != "" {
			bad = append(bad, fmt.Sprintf("%q", v))
			continue
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 1000 || ms > 60000 {
			odd = append(odd, v+" ms")
		}
	}
	ev := "retry values: " + strings.Join(st.retryValues, ", ")
	switch {
	case len(bad) > 0:
		return fail("retry values that are not all digits, which clients ignore: "+strings.Join(bad, ", "), ev)
	case len(odd) > 0:
		return fail("retry outside 1-60 s: "+strings.Join(odd, ", ")+" (under 1 s storms the server, over 60 s looks dead)", ev)
	}
	return pass(ev)
}

// lineLimit is bufio.Scanner's default token size, the line limit of many
// SSE clients.
const lineLimit = 64 << 10

func (t *target) checkEventSize() verdict {
	if v, ok := t.needText(); !ok {
		return v
	}
	m := t.main
	ev := fmt.Sprintf("largest event %s of data, longest line %s", fmtBytes(int64(m.maxEvent)), fmtBytes(m.text.maxLine))
	if m.end == report.EndTooLarge {
		return fail(fmt.Sprintf("a line or event over %s: %v", fmtBytes(int64(t.cfg.MaxSize)), m.decErr), ev)
	}
	if m.text.maxLine > lineLimit {
		return fail(fmt.Sprintf("a line of %s: clients reading lines with Go's bufio.Scanner (64 KiB default) and similar limits fail", fmtBytes(m.text.maxLine)), ev)
	}
	if m.nEvents == 0 && m.text.total == 0 {
		return skip("no body bytes arrived")
	}
	return pass(ev)
}
