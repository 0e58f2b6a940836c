package sse

import "strconv"

// The encoder is append-style so that a server encodes an event once and
// shares the same bytes with every subscriber (see fixtures). All three
// functions only append to dst: with enough capacity they do not allocate.
//
// Framing is never corrupted by a value:
//
//   - Data is split on LF, CR and CRLF (the three line ends the decoder
//     accepts) into one "data: " line each, so a decoder rebuilds the value
//     with every line end turned into LF. Each line is written as
//     "data: " + line: the decoder strips exactly one space after the colon,
//     so a value that starts with a space keeps it. Empty data is one
//     "data: " line, so the event is still dispatched (with empty data).
//   - ID and Type are single-line fields. CR, LF and NUL are dropped from
//     them: CR and LF would end the field early and start a bogus one, and
//     the decoder ignores an id that contains NUL, which would silently keep
//     the previous last event ID. An ID or Type that is empty after dropping
//     is not written (an empty "id:" line would reset the client's last
//     event ID, which the caller did not ask for).
//   - Comments are split into lines like data, one ": " line each.

// AppendEvent appends ev in event-stream format to dst and returns the
// extended slice: "id: ..." if ev.ID is not empty, "event: ..." if ev.Type
// is neither empty nor "message", one "data: ..." line per line of
// ev.Data, then the empty line that dispatches the event.
func AppendEvent(dst []byte, ev Event) []byte {
	if hasFieldBytes(ev.ID) {
		dst = append(dst, "id: "...)
		dst = appendField(dst, ev.ID)
		dst = append(dst, '\n')
	}
	if ev.Type != "message" && hasFieldBytes(ev.Type) {
		dst = append(dst, "event: "...)
		dst = appendField(dst, ev.Type)
		dst = append(dst, '\n')
	}
	dst = appendLines(dst, "data: ", ev.Data)
	return append(dst, '\n')
}

// AppendComment appends text as comment lines (": text\n"), one per line of
// text (split on LF, CR and CRLF). Comments are ignored by clients; servers
// send them as heartbeats to keep proxies and load balancers from timing
// the stream out.
func AppendComment(dst []byte, text string) []byte {
	return appendLines(dst, ": ", text)
}

// AppendRetry appends "retry: ms\n", which sets the client's reconnection
// delay. A negative ms is written as 0: the decoder ignores a retry value
// that is not all ASCII digits, so "-1" would be silently dropped.
func AppendRetry(dst []byte, ms int64) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, max(ms, 0), 10)
	return append(dst, '\n')
}

// appendLines writes prefix+line+"\n" for every line of s, splitting on
// LF, CR and CRLF. It always writes at least one line.
func appendLines(dst []byte, prefix, s string) []byte {
	for {
		i := indexLineEnd(s)
		if i < 0 {
			dst = append(dst, prefix...)
			dst = append(dst, s...)
			return append(dst, '\n')
		}
		dst = append(dst, prefix...)
		dst = append(dst, s[:i]...)
		dst = append(dst, '\n')
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}

func indexLineEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			return i
		}
	}
	return -1
}

// hasFieldBytes reports whether s has a byte that appendField keeps.
func hasFieldBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if !dropInField(s[i]) {
			return true
		}
	}
	return false
}

func appendField(dst []byte, s string) []byte {
	for {
		i := 0
		for i < len(s) && !dropInField(s[i]) {
			i++
		}
		dst = append(dst, s[:i]...)
		if i == len(s) {
			return dst
		}
		s = s[i+1:]
	}
}

func dropInField(c byte) bool { return c == '\n' || c == '\r' || c == 0 }
