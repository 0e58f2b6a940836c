package conformance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssebench/ssebench/report"
)

// Buffering outcomes.
const (
	bufPrompt   = "prompt"
	bufBuffered = "buffered"
	bufUnknown  = "unknown"
)

// Thresholds of the buffering analysis. A buffering proxy holds events
// for hundreds of milliseconds to seconds and hands them over in blocks;
// an unbuffered stream on a loaded machine still delivers most events
// within milliseconds. The bounds keep an order of magnitude between the
// two, so a slow test machine does not look like a proxy.
const (
	burstSpan       = 200 * time.Millisecond // events sent this far apart arriving in one read
	medianLagBound  = 250 * time.Millisecond // median extra delivery lag of a buffered stream
	loneEventBound  = time.Second            // a published lone event slower than this is held
	minTimedEvents  = 3
	minBurstReads   = 2 // read-boundary analysis only
	midLineFraction = 0.5
)

// bufferingResult is the verdict of the buffering analysis with its
// evidence lines.
type bufferingResult struct {
	outcome  string
	reason   string
	evidence []string
}

// analyzeBuffering judges whether events reach the client as they are
// sent: from events ssebench published one at a time (the sharpest test),
// else from the server's send times in the data, else from how the body
// was split into network reads.
func analyzeBuffering(s *stream, lone []loneEvent) bufferingResult {
	var r bufferingResult
	if len(lone) > 0 {
		var lags []string
		held := false
		for _, le := range lone {
			switch {
			case le.err != nil:
				lags = append(lags, "publish failed: "+errText(le.err))
			case !le.delivered:
				lags = append(lags, "not delivered within "+report.FormatDuration(publishWait))
				held = true
			default:
				lags = append(lags, report.FormatDuration(le.lag))
				if le.lag > loneEventBound {
					held = true
				}
			}
		}
		r.evidence = append(r.evidence, fmt.Sprintf("published %s one at a time: %s", plural(len(lone), "lone event", "lone events"), strings.Join(lags, ", ")))
		if held {
			r.outcome = bufBuffered
			r.reason = "an event published into a quiet stream was held back"
			return r
		}
		if lone[len(lone)-1].delivered {
			r.outcome = bufPrompt
			return r
		}
	}
	evs := s.eventsOnly()
	reads := s.wire.reads
	if stuck, ok := stuckCompressor(s); ok {
		r.outcome = bufBuffered
		r.reason = stuck
		r.evidence = append(r.evidence, fmt.Sprintf("Content-Encoding: %s; %s on the wire (% x), nothing decodable, in %s", s.encoding, fmtBytes(s.wire.bytes), s.wire.head, report.FormatDuration(s.endAt-s.headersAt)))
		return r
	}
	if len(evs) < minTimedEvents {
		r.outcome = bufUnknown
		if len(evs) == 0 {
			r.reason = fmt.Sprintf("no events arrived in %s (%s did), so delivery could not be timed: the stream is quiet or something holds it back; pass --publish URL to trigger events", report.FormatDuration(s.endAt), fmtBytes(s.wire.bytes))
		} else {
			r.reason = fmt.Sprintf("only %s in %s: too few to judge; pass --publish URL to trigger events", plural(len(evs), "event", "events"), report.FormatDuration(s.endAt))
		}
		return r
	}

	// Events per network read, and how far apart the server sent the
	// events that arrived together.
	perRead := map[int][]item{}
	for _, ev := range evs {
		perRead[ev.read] = append(perRead[ev.read], ev)
	}
	carrying := len(perRead)
	var bursts []string
	burstReads := 0
	var rel []time.Duration
	var timed []item
	for _, ev := range evs {
		if !ev.sent.IsZero() {
			timed = append(timed, ev)
		}
	}
	if len(timed) >= minTimedEvents {
		minLag := time.Duration(1<<63 - 1)
		for _, ev := range timed {
			minLag = min(minLag, ev.at-ev.sentOffset(s))
		}
		for _, ev := range timed {
			rel = append(rel, ev.at-ev.sentOffset(s)-minLag)
		}
		slices.Sort(rel)
		keys := make([]int, 0, len(perRead))
		for k := range perRead {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			group := perRead[k]
			var first, last time.Time
			for _, ev := range group {
				if ev.sent.IsZero() {
					continue
				}
				if first.IsZero() || ev.sent.Before(first) {
					first = ev.sent
				}
				if ev.sent.After(last) {
					last = ev.sent
				}
			}
			if span := last.Sub(first); len(group) >= 2 && span >= burstSpan {
				burstReads++
				if len(bursts) < 4 {
					bursts = append(bursts, fmt.Sprintf("%d events sent over %s arrived in one read at %s", len(group), report.FormatDuration(span), report.FormatDuration(group[len(group)-1].at)))
				}
			}
		}
		med, p90 := rel[len(rel)/2], rel[len(rel)*9/10]
		r.evidence = append(r.evidence, fmt.Sprintf("%s with send times over %s: extra delivery lag median %s, p90 %s, max %s (relative to the fastest)",
			plural(len(timed), "event", "events"), report.FormatDuration(s.endAt), report.FormatDuration(med), report.FormatDuration(p90), report.FormatDuration(rel[len(rel)-1])))
		r.evidence = append(r.evidence, fmt.Sprintf("%s carried the events; %d of them brought events the server sent %s or more apart (bursts)", plural(carrying, "network read", "network reads"), burstReads, report.FormatDuration(burstSpan)))
		r.evidence = append(r.evidence, bursts...)
		if med >= medianLagBound && burstReads >= 1 {
			r.outcome = bufBuffered
			r.reason = fmt.Sprintf("events arrive in bursts, held back %s on median", report.FormatDuration(med))
			return r
		}
		r.outcome = bufPrompt
		return r
	}

	// No send times: read boundaries. A buffering proxy passes fixed-size
	// blocks on, cut anywhere inside a line; a flushing server's writes
	// end at line ends.
	if s.encoding != "" && s.encoding != "identity" {
		r.outcome = bufUnknown
		r.reason = "a compressed stream without send times in its data: read boundaries say nothing; pass --publish URL to time events"
		return r
	}
	mid := 0
	for _, rd := range reads {
		if rd.midLine {
			mid++
		}
	}
	perCarrying := float64(len(evs)) / float64(max(carrying, 1))
	r.evidence = append(r.evidence, fmt.Sprintf("%s in %s (%.1f events per read carrying events); %d of them ended inside a line (no send times in the data to compare)",
		plural(len(evs), "event", "events"), plural(len(reads), "read", "reads"), perCarrying, mid))
	if mid >= minBurstReads && float64(mid) >= midLineFraction*float64(len(reads)) && perCarrying >= 3 {
		r.outcome = bufBuffered
		r.reason = "the body arrives in blocks cut inside lines, several events at a time, as a buffering proxy hands it on"
		return r
	}
	r.outcome = bufPrompt
	return r
}

// sentOffset maps the server's send time onto the probe's clock (from
// the wall clock at the probe's start): only differences between events
// are used, so clock skew cancels out.
func (it item) sentOffset(s *stream) time.Duration { return it.sent.Sub(s.start) }

// stuckCompressor recognises a gzip stream of which only the 10-byte
// header ever arrived: the server wrote something (a compressor starts its
// output only then) but the compressor was never flushed. A compressor
// flushed while empty would have sent a sync marker after the header.
func stuckCompressor(s *stream) (string, bool) {
	if s.encoding != "gzip" && s.encoding != "x-gzip" {
		return "", false
	}
	const gzipHeader = 10
	if s.wire.bytes != gzipHeader || s.text.total != 0 || s.endAt-s.headersAt < 2*time.Second {
		return "", false
	}
	return fmt.Sprintf("only the gzip header arrived in %s: the compressor holds what the server wrote and is never flushed", report.FormatDuration(s.endAt-s.headersAt)), true
}
