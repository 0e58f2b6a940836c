package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultMaxSize is the default bound on one line and on one event's data.
const DefaultMaxSize = 1 << 20

// OneStreamMaxSize bounds a line or event for commands that read one stream (tap, check, decode): the spec and browsers set no limit.
const OneStreamMaxSize = 64 << 20

const defaultBufSize = 4096

// maxEmptyReads guards against readers that return (0, nil) forever.
const maxEmptyReads = 100

// Kind says what a call to Decoder.Next produced.
type Kind uint8

const (
	// KindEvent is a dispatched event (a blank line ended a block with data).
	KindEvent Kind = iota + 1
	// KindComment is a comment line (it started with a colon).
	KindComment
	// KindRetry is a valid retry field (ASCII digits only).
	KindRetry
)

func (k Kind) String() string {
	switch k {
	case KindEvent:
		return "event"
	case KindComment:
		return "comment"
	case KindRetry:
		return "retry"
	}
	return "none"
}

// Event is one dispatched event, as a browser's EventSource would fire it.
type Event struct {
	Type string // the event type; "message" when the stream set none
	Data string // the data buffer without its final LF
	ID   string // the last event ID at dispatch (it persists across events)
}

// ErrTooLarge is matched (errors.Is) by every *TooLargeError.
var ErrTooLarge = errors.New("sse: too large")

// TooLargeError reports a line or an event's data over the decoder's limit.
// The decoder stops at it: nothing past the limit is buffered.
type TooLargeError struct {
	What   string // "line" or "event"
	Limit  int    // the limit in bytes
	Offset int64  // bytes consumed before the offending line
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("sse: %s longer than %d bytes (at byte %d)", e.What, e.Limit, e.Offset)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Config tunes a Decoder. The zero value is ready to use.
type Config struct {
	// MaxSize bounds one line and one event's data, in bytes.
	// 0 means DefaultMaxSize.
	MaxSize int
	// BufSize is the initial read buffer; it grows (up to MaxSize) only
	// for longer lines. 0 means 4096.
	BufSize int
}

// Decoder reads an event stream exactly as the WHATWG HTML standard's
// "Server-sent events" parsing rules describe (interpreting an event stream,
// dispatching events), from a live io.Reader, without goroutines.
//
// Items (events, comments, retry values) come out of Next in stream order.
// Slices returned by its methods are valid until the next call to Next.
// A Decoder is not safe for concurrent use.
type Decoder struct {
	r       io.Reader
	maxSize int

	buf        []byte
	start, end int   // unparsed bytes are buf[start:end]
	scanned    int   // bytes after start known to hold no CR or LF
	consumed   int64 // bytes parsed so far
	skipLF     bool  // the last line ended in CR at the buffer's end
	bomChecked bool
	eof        bool
	readErr    error
	err        error
	done       bool

	// Parser state from the standard.
	data    []byte // data buffer (values plus LF)
	typ     []byte // event type buffer
	idBuf   []byte // last event ID buffer
	lastID  []byte // the event source's last event ID string
	blockID bool   // the current block has an id field of its own

	// The current item.
	kind    Kind
	comment []byte
	retry   int64
	reset   bool // clear data and type before reading on

	fixed []byte // scratch for lines with invalid UTF-8

	// Caches so Event allocates at most one string per event.
	lastIDStr   string
	lastIDValid bool
	typStr      string
}

// NewDecoder returns a Decoder reading r.
func NewDecoder(r io.Reader, cfg Config) *Decoder {
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.BufSize <= 0 {
		cfg.BufSize = defaultBufSize
	}
	if cfg.BufSize > cfg.MaxSize+1 {
		cfg.BufSize = cfg.MaxSize + 1
	}
	return &Decoder{r: r, maxSize: cfg.MaxSize, buf: make([]byte, cfg.BufSize)}
}

// Reset makes d read a new stream from r, keeping its buffers. Everything
// else, the last event ID included, starts afresh (see SetLastEventID).
func (d *Decoder) Reset(r io.Reader) {
	*d = Decoder{
		r: r, maxSize: d.maxSize, buf: d.buf,
		data: d.data[:0], typ: d.typ[:0], idBuf: d.idBuf[:0], lastID: d.lastID[:0],
		fixed: d.fixed[:0],
	}
}

// SetLastEventID sets the last event ID, as when a client resumes a stream
// it has read part of before.
func (d *Decoder) SetLastEventID(id string) {
	d.idBuf = append(d.idBuf[:0], id...)
	d.lastID = append(d.lastID[:0], id...)
	d.lastIDStr, d.lastIDValid = id, true
}

// Next advances to the next item. It returns false at the end of the stream
// or on an error; Err tells which.
func (d *Decoder) Next() bool {
	if d.reset {
		d.data = d.data[:0]
		d.typ = d.typ[:0]
		d.blockID = false
		d.reset = false
	}
	d.kind = 0
	for !d.done {
		line, ok := d.readLine()
		if !ok {
			return false
		}
		if d.processLine(line) {
			return true
		}
	}
	return false
}

// Kind is what the last successful Next produced.
func (d *Decoder) Kind() Kind { return d.kind }

// Data is the current event's data, valid until the next Next.
func (d *Decoder) Data() []byte {
	if d.kind != KindEvent {
		return nil
	}
	return d.data[:len(d.data)-1]
}

// EventType is the current event's type ("message" when none was set). It
// allocates only when the type differs from the previous custom type.
func (d *Decoder) EventType() string {
	if len(d.typ) == 0 {
		return "message"
	}
	if string(d.typ) != d.typStr {
		d.typStr = string(d.typ)
	}
	return d.typStr
}

// Event is the current event. It allocates one string for the data (and,
// only when they changed, the id and the type).
func (d *Decoder) Event() Event {
	if d.kind != KindEvent {
		return Event{}
	}
	data := d.data[:len(d.data)-1]
	needType := len(d.typ) > 0 && string(d.typ) != d.typStr
	needID := !d.lastIDValid
	if !needType && !needID {
		return Event{Type: d.EventType(), Data: string(data), ID: d.lastIDStr}
	}
	// One allocation holds data, id and type; the id and type are sliced
	// out of it. Large events get their id copied so the cache does not
	// pin the whole event.
	var sb strings.Builder
	sb.Grow(len(data) + len(d.lastID) + len(d.typ))
	sb.Write(data)
	if needID {
		sb.Write(d.lastID)
	}
	if needType {
		sb.Write(d.typ)
	}
	s := sb.String()
	ev := Event{Data: s[:len(data)]}
	rest := s[len(data):]
	if needID {
		id := rest[:len(d.lastID)]
		rest = rest[len(d.lastID):]
		if len(s) > 4096 {
			id = strings.Clone(id)
		}
		d.lastIDStr, d.lastIDValid = id, true
	}
	if needType {
		if len(s) > 4096 {
			rest = strings.Clone(rest)
		}
		d.typStr = rest
	}
	ev.ID = d.lastIDStr
	ev.Type = d.EventType()
	return ev
}

// Comment is the current comment's text without the leading colon.
func (d *Decoder) Comment() string {
	if d.kind != KindComment {
		return ""
	}
	return string(d.comment)
}

// CommentBytes is Comment without the allocation, valid until the next Next.
func (d *Decoder) CommentBytes() []byte {
	if d.kind != KindComment {
		return nil
	}
	return d.comment
}

// Retry is the current retry value in milliseconds (saturating at MaxInt64).
func (d *Decoder) Retry() int64 {
	if d.kind != KindRetry {
		return 0
	}
	return d.retry
}

// MaxRetry bounds a reconnection delay taken from a retry field: a day.
// Larger values (up to MaxInt64 ms) would overflow a time.Duration and turn
// into a negative delay, an immediate reconnect storm.
const MaxRetry = 24 * time.Hour

// RetryDuration is the current retry value as a delay, clamped to MaxRetry.
func (d *Decoder) RetryDuration() time.Duration {
	ms := d.Retry()
	if ms > int64(MaxRetry/time.Millisecond) {
		return MaxRetry
	}
	return time.Duration(ms) * time.Millisecond
}

// HasID reports whether the current event's own block set an id field. An
// event without one still carries the last event ID over (LastEventID), so
// gap and repeat accounting must only look at events for which this holds.
func (d *Decoder) HasID() bool { return d.kind == KindEvent && d.blockID }

// LastEventID is the event source's last event ID: the id field of the most
// recent event block, kept across events, as sent back in Last-Event-ID.
func (d *Decoder) LastEventID() string {
	if !d.lastIDValid {
		d.lastIDStr, d.lastIDValid = string(d.lastID), true
	}
	return d.lastIDStr
}

// LastEventIDBytes is LastEventID without the allocation, valid until the
// next Next.
func (d *Decoder) LastEventIDBytes() []byte { return d.lastID }

// Consumed is the number of bytes of the stream parsed so far.
func (d *Decoder) Consumed() int64 { return d.consumed }

// Err is nil after a clean end of stream, io.ErrUnexpectedEOF when the
// stream ended inside an event (which was discarded), a *TooLargeError, or
// the reader's own error.
func (d *Decoder) Err() error { return d.err }

// readLine returns the next line without its terminator. The slice is valid
// until the next call.
func (d *Decoder) readLine() ([]byte, bool) {
	empty := 0
	for {
		if d.skipLF && d.start < d.end {
			if d.buf[d.start] == '\n' {
				d.start++
				d.consumed++
			}
			d.skipLF = false
		}
		if !d.bomChecked && !d.checkBOM() {
			if !d.fill(&empty) {
				return nil, false
			}
			continue
		}
		b := d.buf[d.start:d.end]
		if i := indexEOL(b, d.scanned); i >= 0 {
			line := b[:i]
			n := i + 1
			if b[i] == '\r' {
				if i+1 < len(b) {
					if b[i+1] == '\n' {
						n++
					}
				} else {
					d.skipLF = true
				}
			}
			d.start += n
			d.consumed += int64(n)
			d.scanned = 0
			return line, true
		}
		d.scanned = len(b)
		if len(b) > d.maxSize {
			return nil, d.fail(&TooLargeError{What: "line", Limit: d.maxSize, Offset: d.consumed})
		}
		if !d.fill(&empty) {
			return nil, false
		}
	}
}

// indexEOL finds the first CR or LF in b at or after from.
func indexEOL(b []byte, from int) int {
	rest := b[from:]
	i := bytes.IndexByte(rest, '\n')
	if i >= 0 {
		rest = rest[:i]
	}
	if j := bytes.IndexByte(rest, '\r'); j >= 0 {
		return from + j
	}
	if i >= 0 {
		return from + i
	}
	return -1
}

// checkBOM strips one leading U+FEFF. It reports false when it needs more
// bytes to decide.
func (d *Decoder) checkBOM() bool {
	b := d.buf[d.start:d.end]
	const bom = "\xEF\xBB\xBF"
	if len(b) < len(bom) && !d.eof && d.readErr == nil && bom[:len(b)] == string(b) {
		return false
	}
	if bytes.HasPrefix(b, []byte(bom)) {
		d.start += len(bom)
		d.consumed += int64(len(bom))
	}
	d.bomChecked = true
	return true
}

// fill reads more bytes. It reports false (having set the end state) when
// the stream is over.
func (d *Decoder) fill(empty *int) bool {
	if d.eof || d.readErr != nil {
		return d.finish()
	}
	if d.start > 0 {
		n := copy(d.buf, d.buf[d.start:d.end])
		d.start, d.end = 0, n
	}
	if d.end == len(d.buf) {
		size := 2 * len(d.buf)
		if size > d.maxSize+1 {
			size = d.maxSize + 1
		}
		nb := make([]byte, size)
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	n, err := d.r.Read(d.buf[d.end:])
	d.end += n
	if err != nil {
		if err == io.EOF {
			d.eof = true
		} else {
			d.readErr = err
		}
	} else if n == 0 {
		*empty++
		if *empty >= maxEmptyReads {
			d.readErr = io.ErrNoProgress
		}
	}
	return true
}

// finish ends the stream once every complete line was parsed.
func (d *Decoder) finish() bool {
	switch {
	case d.readErr != nil:
		return d.fail(d.readErr)
	case len(d.data) > 0 || !bytes.Equal(d.idBuf, d.lastID) || d.start < d.end:
		// The standard discards an event (or line) cut off by the end;
		// only data, an id or a partial line are lost with it.
		d.consumed += int64(d.end - d.start)
		d.start = d.end
		return d.fail(io.ErrUnexpectedEOF)
	}
	d.done = true
	return false
}

func (d *Decoder) fail(err error) bool {
	d.err = err
	d.done = true
	return false
}

// processLine applies one line; it reports true when it produced an item.
func (d *Decoder) processLine(line []byte) bool {
	if !utf8.Valid(line) {
		d.fixed = appendReplacingInvalid(d.fixed[:0], line)
		line = d.fixed
	}
	if len(line) == 0 {
		return d.dispatch()
	}
	if line[0] == ':' {
		d.kind = KindComment
		d.comment = line[1:]
		return true
	}
	var field, value []byte
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	} else {
		field = line
	}
	switch string(field) {
	case "data":
		if len(d.data)+len(value)+1 > d.maxSize+1 {
			return d.fail(&TooLargeError{What: "event", Limit: d.maxSize, Offset: d.consumed})
		}
		d.data = append(d.data, value...)
		d.data = append(d.data, '\n')
	case "event":
		d.typ = append(d.typ[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			d.idBuf = append(d.idBuf[:0], value...)
			d.blockID = true
		}
	case "retry":
		if ms, ok := parseRetry(value); ok {
			d.kind = KindRetry
			d.retry = ms
			return true
		}
	}
	return false
}

// dispatch runs the standard's "dispatch the event" steps at a blank line.
func (d *Decoder) dispatch() bool {
	if !bytes.Equal(d.lastID, d.idBuf) {
		d.lastID = append(d.lastID[:0], d.idBuf...)
		d.lastIDValid = false
	}
	if len(d.data) == 0 {
		d.typ = d.typ[:0]
		d.blockID = false
		return false
	}
	d.kind = KindEvent
	d.reset = true
	return true
}

// parseRetry accepts only a non-empty run of ASCII digits.
func parseRetry(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// appendReplacingInvalid appends b to dst with every maximal ill-formed
// subsequence replaced by one U+FFFD, as the WHATWG Encoding standard's
// UTF-8 decoder does (which differs from replacing byte by byte).
func appendReplacingInvalid(dst, b []byte) []byte {
	const repl = "\uFFFD"
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		need, lower, upper := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c >= 0xE0 && c <= 0xEF:
			need = 2
			if c == 0xE0 {
				lower = 0xA0
			} else if c == 0xED {
				upper = 0x9F
			}
		case c >= 0xF0 && c <= 0xF4:
			need = 3
			if c == 0xF0 {
				lower = 0x90
			} else if c == 0xF4 {
				upper = 0x8F
			}
		default:
			dst = append(dst, repl...)
			i++
			continue
		}
		j := i + 1
		for seen := 0; seen < need; seen++ {
			if j >= len(b) || b[j] < lower || b[j] > upper {
				break
			}
			lower, upper = 0x80, 0xBF
			j++
		}
		if j-i == need+1 {
			dst = append(dst, b[i:j]...)
		} else {
			// The bytes so far are the maximal subpart; the byte that broke
			// the sequence is read again on its own.
			dst = append(dst, repl...)
		}
		i = j
	}
	return dst
}
