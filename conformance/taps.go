package conformance

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// Bounds on what one probe keeps, whatever the server sends.
const (
	// CaptureBytes is how much of each stream's (decoded) body is kept raw
	// for the framing checks.
	CaptureBytes = 64 << 10
	// wireBufSize is the network read size: large, so that one read takes
	// whatever the network has, and read sizes show how the server (or a
	// proxy) hands the stream over.
	wireBufSize = 64 << 10
	// maxReads and maxItems bound the per-read and per-item records; past
	// them only counters move.
	maxReads = 20000
	maxItems = 20000
	// maxDataKept is how much of each event's data is kept.
	maxDataKept = 512
)

// readRec is one network read of a stream's body.
type readRec struct {
	at      time.Duration // since the request started
	n       int
	midLine bool // identity bodies: the read ended inside a line
}

// wireTap reads the body from the network in large reads and records each
// one: when, how much, and (for identity bodies) whether it ended inside a
// line, which is how a buffering proxy's fixed-size blocks look. It is not
// safe for concurrent use.
type wireTap struct {
	r        io.Reader
	start    time.Time
	identity bool

	buf    []byte
	off, n int

	reads  []readRec
	nReads int
	bytes  int64
	head   []byte // the first bytes, to show a gzip magic
	lastAt time.Duration
	maxGap time.Duration // longest silence between two reads (or headers and the first)
	last   byte
	err    error // the body's final error: io.EOF on a clean end
}

func newWireTap(r io.Reader, start time.Time, headersAt time.Duration, identity bool, bufSize int) *wireTap {
	return &wireTap{r: r, start: start, identity: identity, buf: make([]byte, bufSize), lastAt: headersAt}
}

// Read hands the decoder the body's bytes. A transport error ends the
// bytes with io.EOF for the decoder (which then tells a cut between events
// from one inside an event) and is kept in w.err.
func (w *wireTap) Read(p []byte) (int, error) {
	if w.off == w.n {
		if w.err != nil {
			return 0, io.EOF
		}
		n, err := w.r.Read(w.buf)
		now := time.Since(w.start)
		if n > 0 {
			if gap := now - w.lastAt; gap > w.maxGap {
				w.maxGap = gap
			}
			w.lastAt = now
			w.bytes += int64(n)
			if len(w.head) < 16 {
				w.head = append(w.head, w.buf[:min(n, 16-len(w.head))]...)
			}
			w.last = w.buf[n-1]
			if len(w.reads) < maxReads {
				w.reads = append(w.reads, readRec{at: now, n: n, midLine: w.identity && w.last != '\n' && w.last != '\r'})
			}
			w.nReads++
		}
		w.off, w.n = 0, n
		if err != nil {
			w.err = err
		}
		if n == 0 {
			if err != nil {
				return 0, io.EOF
			}
			return 0, nil
		}
	}
	c := copy(p, w.buf[w.off:w.n])
	w.off += c
	return c, nil
}

// silenceAtEnd is how long the stream had been silent when it ended at end.
func (w *wireTap) silenceAtEnd(end time.Duration) time.Duration { return end - w.lastAt }

// textTap sits between the (decompressed) body and the decoder: it keeps
// the first CaptureBytes, validates UTF-8 over everything, counts line
// endings and measures the longest line. It never interprets fields: that
// is the decoder's job. It is not safe for concurrent use.
type textTap struct {
	r io.Reader

	capture    []byte
	captureMax int
	total      int64

	pending   []byte // an incomplete UTF-8 sequence at the end of the last read
	invalid   int    // invalid UTF-8 sequences seen
	firstBad  int64  // offset of the first one
	badSample []byte // the bytes around it

	lf, crlf, cr int
	prevCR       bool
	lineLen      int64
	maxLine      int64
}

func newTextTap(r io.Reader, captureMax int) *textTap {
	return &textTap{r: r, firstBad: -1, captureMax: captureMax}
}

func (t *textTap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.observe(p[:n])
	}
	if err == io.EOF && len(t.pending) > 0 {
		t.bad(t.total-int64(len(t.pending)), t.pending)
		t.pending = nil
	}
	return n, err
}

func (t *textTap) observe(b []byte) {
	if room := t.captureMax - len(t.capture); room > 0 {
		t.capture = append(t.capture, b[:min(room, len(b))]...)
	}
	base := t.total
	t.total += int64(len(b))
	for _, c := range b {
		switch {
		case t.prevCR && c == '\n':
			t.crlf++
			t.prevCR = false
			continue
		case t.prevCR:
			t.cr++
			t.prevCR = false
		}
		switch c {
		case '\r':
			t.prevCR = true
			t.endLine()
		case '\n':
			t.lf++
			t.endLine()
		default:
			t.lineLen++
		}
	}
	t.validate(base, b)
}

func (t *textTap) endLine() {
	t.maxLine = max(t.maxLine, t.lineLen)
	t.lineLen = 0
}

// finish settles the counters at the end of the stream.
func (t *textTap) finish() {
	if t.prevCR {
		t.cr++
		t.prevCR = false
	}
	t.endLine()
}

// validate checks b as UTF-8, carrying an incomplete sequence over to the
// next read.
func (t *textTap) validate(base int64, b []byte) {
	off := base
	if len(t.pending) > 0 {
		off -= int64(len(t.pending))
		b = append(t.pending, b...)
		t.pending = nil
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			if !utf8.FullRune(b[i:]) && len(b)-i < utf8.UTFMax {
				t.pending = append([]byte(nil), b[i:]...)
				return
			}
			t.bad(off+int64(i), b[max(0, i-8):min(len(b), i+8)])
		}
		i += size
	}
}

func (t *textTap) bad(at int64, sample []byte) {
	if t.invalid == 0 {
		t.firstBad = at
		t.badSample = append([]byte(nil), sample...)
	}
	t.invalid++
}

// lazyReader opens a decompressor on the first Read: gzip.NewReader reads
// the header at once and would block before the first byte arrived.
type lazyReader struct {
	r    io.Reader
	open func(io.Reader) (io.Reader, error)
	dec  io.Reader
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.dec == nil {
		d, err := l.open(l.r)
		if err != nil {
			return 0, fmt.Errorf("decompress: %w", err)
		}
		l.dec = d
	}
	return l.dec.Read(p)
}

// decoding returns a reader that undoes the Content-Encoding, or ok=false
// for an encoding ssebench cannot undo.
func decoding(encoding string, r io.Reader) (io.Reader, bool) {
	switch encoding {
	case "", "identity":
		return r, true
	case "gzip", "x-gzip":
		return &lazyReader{r: r, open: func(r io.Reader) (io.Reader, error) {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil, err
			}
			zr.Multistream(false)
			return zr, nil
		}}, true
	case "deflate":
		// HTTP's deflate is zlib-wrapped; some servers send raw deflate.
		return &lazyReader{r: r, open: func(r io.Reader) (io.Reader, error) {
			br := &peekReader{r: r}
			if b, err := br.peek(); err == nil && b&0x0f == 8 {
				return zlib.NewReader(br)
			}
			return flate.NewReader(br), nil
		}}, true
	}
	return nil, false
}

// peekReader lets decoding look at the first byte without losing it.
type peekReader struct {
	r      io.Reader
	first  []byte
	peeked bool
}

func (p *peekReader) peek() (byte, error) {
	var b [1]byte
	if _, err := io.ReadFull(p.r, b[:]); err != nil {
		return 0, err
	}
	p.first, p.peeked = b[:], true
	return b[0], nil
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.first) > 0 {
		n := copy(b, p.first)
		p.first = p.first[n:]
		return n, nil
	}
	return p.r.Read(b)
}
