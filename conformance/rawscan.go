package conformance

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

const (
	bomUTF8    = "\xEF\xBB\xBF"
	bomUTF16BE = "\xFE\xFF"
	bomUTF16LE = "\xFF\xFE"
)

// rawStats is what the first bytes of a stream show that the decoder
// hides on purpose: BOMs, unknown fields, ids with NUL, invalid retry
// values and id-only blocks. It is an inspection of the captured bytes
// line by line, for evidence; events themselves always come from
// sse.Decoder.
type rawStats struct {
	scanned   int  // bytes looked at (whole lines only)
	truncated bool // the capture ended before the stream did

	leadingBOMs int    // UTF-8 BOMs at the very start
	utf16BOM    string // "UTF-16BE" or "UTF-16LE" when the stream starts with one
	lineBOMs    int    // lines after the first that start with a BOM

	fields        map[string]int // known field name -> lines
	unknown       map[string]int // unknown field name -> lines
	unknownSample []string       // the first few unknown lines, quoted
	comments      int

	idLines      int
	idNull       int
	idNullSample string

	retryValues []string // every retry value as written

	dataless       int
	datalessSample string
}

// scanRaw inspects the captured start of a stream. complete says whether
// the capture holds the whole stream (a last unterminated line is then
// the stream's own, not the capture's cut).
func scanRaw(b []byte, complete bool) rawStats {
	st := rawStats{fields: map[string]int{}, unknown: map[string]int{}, truncated: !complete}
	switch {
	case bytes.HasPrefix(b, []byte(bomUTF16BE)):
		st.utf16BOM = "UTF-16BE"
	case bytes.HasPrefix(b, []byte(bomUTF16LE)):
		st.utf16BOM = "UTF-16LE"
	}
	start := 0
	for bytes.HasPrefix(b[start:], []byte(bomUTF8)) {
		st.leadingBOMs++
		start += len(bomUTF8)
	}
	// A client strips one BOM; more are part of the first line.
	if st.leadingBOMs > 1 {
		start = len(bomUTF8)
	}
	var hasData, hasMeta bool
	var block []string
	first := true
	forLines(b, start, func(line []byte, end int) {
		st.scanned = end
		if !first && bytes.HasPrefix(line, []byte(bomUTF8)) {
			st.lineBOMs++
		}
		wasFirst := first
		first = false
		if len(line) == 0 {
			if hasMeta && !hasData {
				st.dataless++
				if st.datalessSample == "" {
					st.datalessSample = strings.Join(block, `\n`)
				}
			}
			hasData, hasMeta, block = false, false, block[:0]
			return
		}
		if len(block) < 4 {
			block = append(block, clipLine(line))
		}
		if line[0] == ':' {
			st.comments++
			return
		}
		name, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(name) {
		case "data":
			st.fields["data"]++
			hasData = true
		case "event":
			st.fields["event"]++
			hasMeta = true
		case "id":
			st.fields["id"]++
			st.idLines++
			hasMeta = true
			if bytes.IndexByte(value, 0) >= 0 {
				st.idNull++
				if st.idNullSample == "" {
					st.idNullSample = fmt.Sprintf("%q", line)
				}
			}
		case "retry":
			st.fields["retry"]++
			st.retryValues = append(st.retryValues, string(value))
		default:
			if wasFirst && st.leadingBOMs > 1 {
				return // the second BOM's doing: reported by the bom check
			}
			st.unknown[string(name)]++
			if len(st.unknownSample) < 3 {
				st.unknownSample = append(st.unknownSample, fmt.Sprintf("%q", clipLine(line)))
			}
		}
	}, complete)
	return st
}

// forLines calls fn for each line of b from start, split on CR, LF and
// CRLF as the spec splits them. A last line without a line end is passed
// only when final says the bytes are the whole stream.
func forLines(b []byte, start int, fn func(line []byte, end int), final bool) {
	i := start
	for i < len(b) {
		j := bytes.IndexAny(b[i:], "\r\n")
		if j < 0 {
			if final {
				fn(b[i:], len(b))
			}
			return
		}
		line := b[i : i+j]
		next := i + j + 1
		if b[i+j] == '\r' {
			if next == len(b) && !final {
				return // a CRLF may be split at the capture's end
			}
			if next < len(b) && b[next] == '\n' {
				next++
			}
		}
		fn(line, next)
		i = next
	}
}

func clipLine(line []byte) string {
	if len(line) > 60 {
		return string(line[:60]) + "…"
	}
	return string(line)
}

func (st rawStats) fieldSummary() string {
	var parts []string
	for _, f := range []string{"data", "event", "id", "retry"} {
		if n := st.fields[f]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s ×%d", f, n))
		}
	}
	if st.comments > 0 {
		parts = append(parts, fmt.Sprintf("comments ×%d", st.comments))
	}
	if len(parts) == 0 {
		return "no lines"
	}
	return strings.Join(parts, ", ")
}

func (st rawStats) unknownSummary() string {
	names := make([]string, 0, len(st.unknown))
	for n := range st.unknown {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%q ×%d", n, st.unknown[n]))
	}
	return strings.Join(parts, ", ")
}

func (st rawStats) scope() string {
	if st.truncated {
		return fmt.Sprintf("in the first %s", fmtBytes(int64(st.scanned)))
	}
	return fmt.Sprintf("in all %s", fmtBytes(int64(st.scanned)))
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
