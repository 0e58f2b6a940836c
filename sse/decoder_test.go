package sse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// item is a decoded item in a comparable form.
type item struct {
	Kind Kind
	Type string
	Data string
	ID   string
	Text string
	MS   int64
}

func ev(typ, data, id string) item { return item{Kind: KindEvent, Type: typ, Data: data, ID: id} }
func msg(data, id string) item     { return ev("message", data, id) }
func comment(text string) item     { return item{Kind: KindComment, Text: text} }
func retry(ms int64) item          { return item{Kind: KindRetry, MS: ms} }

// decodeAll reads everything from r, returning the items, the final error
// and the bytes consumed.
func decodeAll(r io.Reader, cfg Config) ([]item, error, int64) {
	d := NewDecoder(r, cfg)
	var got []item
	for d.Next() {
		switch d.Kind() {
		case KindEvent:
			e := d.Event()
			if string(d.Data()) != e.Data {
				panic("Data() and Event().Data differ")
			}
			got = append(got, item{Kind: KindEvent, Type: e.Type, Data: e.Data, ID: e.ID})
		case KindComment:
			got = append(got, item{Kind: KindComment, Text: d.Comment()})
		case KindRetry:
			got = append(got, item{Kind: KindRetry, MS: d.Retry()})
		}
	}
	return got, d.Err(), d.Consumed()
}

// chunkReader returns its input in chunks of random sizes (1..max bytes).
type chunkReader struct {
	b   []byte
	rng *rand.Rand
	max int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := 1 + c.rng.IntN(c.max)
	n = min(n, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// feeds are the ways every case is fed to the decoder; all must agree.
func feeds(input string) map[string]func() io.Reader {
	m := map[string]func() io.Reader{
		"whole":        func() io.Reader { return strings.NewReader(input) },
		"byte-by-byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(input)) },
		"half-reads":   func() io.Reader { return iotest.HalfReader(strings.NewReader(input)) },
		"data+EOF":     func() io.Reader { return iotest.DataErrReader(strings.NewReader(input)) },
	}
	for seed := uint64(1); seed <= 8; seed++ {
		m[fmt.Sprintf("chunks-seed%d", seed)] = func() io.Reader {
			return &chunkReader{b: []byte(input), rng: rand.New(rand.NewPCG(seed, seed*7)), max: 1 + int(seed)*3}
		}
	}
	return m
}

type decodeCase struct {
	name  string
	in    string
	want  []item
	err   error // nil or io.ErrUnexpectedEOF
	cfg   Config
	notes string
}

// decodeCases has one or more cases per rule of the WHATWG "interpreting an
// event stream" and "dispatch the event" steps, plus the standard's own
// examples.
var decodeCases = []decodeCase{
	// The standard's examples.
	{name: "spec/stock-ticker", in: "data: YHOO\ndata: +2\ndata: 10\n\n", want: []item{msg("YHOO\n+2\n10", "")}},
	{name: "spec/four-blocks",
		in:   ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
		want: []item{comment(" test stream"), msg("first event", "1"), msg("second event", "")},
		err:  io.ErrUnexpectedEOF, notes: "the third block has no blank line, so it is never dispatched"},
	{name: "spec/four-blocks-terminated",
		in:   ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
		want: []item{comment(" test stream"), msg("first event", "1"), msg("second event", ""), msg(" third event", "")}},
	{name: "spec/empty-and-newline", in: "data\n\ndata\ndata\n\ndata:\n",
		want: []item{msg("", ""), msg("\n", "")}, err: io.ErrUnexpectedEOF},
	{name: "spec/space-optional", in: "data:test\n\ndata: test\n\n", want: []item{msg("test", ""), msg("test", "")}},

	// Encoding.
	{name: "utf8/valid-multibyte", in: "data: héllo ☃ 😀\n\n", want: []item{msg("héllo ☃ 😀", "")}},
	{name: "utf8/invalid-byte", in: "data: a\xffb\n\n", want: []item{msg("a\uFFFDb", "")}},
	{name: "utf8/truncated-seq-is-one-replacement", in: "data: \xe2\x82A\n\n", want: []item{msg("\uFFFDA", "")},
		notes: "E2 82 is one maximal subpart: one U+FFFD, then A"},
	{name: "utf8/overlong-and-surrogate", in: "data: \xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80\n\n",
		want: []item{msg("\uFFFD\uFFFD|\uFFFD\uFFFD\uFFFD|\uFFFD\uFFFD\uFFFD\uFFFD", "")}},
	{name: "utf8/truncated-at-line-end", in: "data: x\xf0\x9f\x98\ndata: y\n\n", want: []item{msg("x\uFFFD\ny", "")}},
	{name: "utf8/invalid-in-field-name", in: "d\xffta: x\n\ndata: y\n\n", want: []item{msg("y", "")}},
	{name: "bom/leading-stripped", in: "\xef\xbb\xbfdata: x\n\n", want: []item{msg("x", "")}},
	{name: "bom/only-one-stripped", in: "\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n", want: nil,
		notes: "the second BOM makes the field name \uFEFFdata, an unknown field"},
	{name: "bom/later-kept-as-data", in: "data: \xef\xbb\xbfx\n\n", want: []item{msg("\uFEFFx", "")}},
	{name: "bom/partial-is-not-bom", in: "\xef\xbbdata: x\n\ndata: y\n\n", want: []item{msg("y", "")}},

	// Line endings.
	{name: "eol/lf", in: "data: a\n\n", want: []item{msg("a", "")}},
	{name: "eol/crlf", in: "data: a\r\ndata: b\r\n\r\n", want: []item{msg("a\nb", "")}},
	{name: "eol/cr", in: "data: a\rdata: b\r\r", want: []item{msg("a\nb", "")}},
	{name: "eol/mixed", in: "data: a\rdata: b\r\ndata: c\n\r\n", want: []item{msg("a\nb\nc", "")}},
	{name: "eol/cr-cr-is-blank-line", in: "data: a\r\rdata: b\r\n\r\n", want: []item{msg("a", ""), msg("b", "")}},
	{name: "eol/lf-cr-is-two-lines", in: "data: a\n\rdata: b\n\n", want: []item{msg("a", ""), msg("b", "")}},
	{name: "eol/crlf-at-end", in: "data: a\r\n\r\n", want: []item{msg("a", "")}},

	// Lines and fields.
	{name: "comment/leading-colon", in: ":hi\n: there\n:\n", want: []item{comment("hi"), comment(" there"), comment("")}},
	{name: "comment/does-not-dispatch", in: "data: a\n: c\ndata: b\n\n", want: []item{comment(" c"), msg("a\nb", "")}},
	{name: "field/one-space-removed", in: "data:  two\n\n", want: []item{msg(" two", "")}},
	{name: "field/tab-not-removed", in: "data:\tx\n\n", want: []item{msg("\tx", "")}},
	{name: "field/colon-in-value", in: "data: a:b: c\n\n", want: []item{msg("a:b: c", "")}},
	{name: "field/no-colon-empty-value", in: "data\ndata\n\n", want: []item{msg("\n", "")}},
	{name: "field/case-sensitive", in: "Data: x\nDATA: y\nEvent: e\n\ndata: z\n\n", want: []item{msg("z", "")}},
	{name: "field/unknown-ignored", in: "foo: bar\ndata: x\nbaz\n\n", want: []item{msg("x", "")}},
	{name: "field/space-before-colon-is-name", in: "data : x\n\n", want: nil},

	// data.
	{name: "data/appends-lf", in: "data: a\ndata:\ndata: b\n\n", want: []item{msg("a\n\nb", "")}},
	{name: "data/only-one-trailing-lf-removed", in: "data: a\ndata\n\n", want: []item{msg("a\n", "")}},
	{name: "data/empty-buffer-no-dispatch", in: "event: x\n\n\n\ndata: y\n\n", want: []item{msg("y", "")}},

	// event.
	{name: "event/type", in: "event: add\ndata: 1\n\n", want: []item{ev("add", "1", "")}},
	{name: "event/resets-after-dispatch", in: "event: add\ndata: 1\n\ndata: 2\n\n", want: []item{ev("add", "1", ""), msg("2", "")}},
	{name: "event/reset-even-without-data", in: "event: add\n\ndata: 2\n\n", want: []item{msg("2", "")}},
	{name: "event/empty-is-message", in: "event:\ndata: 1\n\n", want: []item{msg("1", "")}},
	{name: "event/last-wins", in: "event: a\nevent: b\ndata: 1\n\n", want: []item{ev("b", "1", "")}},

	// id.
	{name: "id/persists", in: "id: 1\ndata: a\n\ndata: b\n\n", want: []item{msg("a", "1"), msg("b", "1")}},
	{name: "id/empty-resets", in: "id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n", want: []item{msg("a", "1"), msg("b", ""), msg("c", "")}},
	{name: "id/null-ignored", in: "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", want: []item{msg("a", "1"), msg("b", "1")}},
	{name: "id/set-without-data-still-updates", in: "id: 5\n\ndata: a\n\n", want: []item{msg("a", "5")}},
	{name: "id/after-data-in-block", in: "data: a\nid: 9\n\n", want: []item{msg("a", "9")}},
	{name: "id/keeps-spaces", in: "id:  7 \ndata: a\n\n", want: []item{msg("a", " 7 ")}},

	// retry.
	{name: "retry/digits", in: "retry: 1500\n", want: []item{retry(1500)}},
	{name: "retry/applied-when-read", in: "retry: 10\ndata: a\n\n", want: []item{retry(10), msg("a", "")}},
	{name: "retry/non-digits-ignored", in: "retry: 1.5\nretry: -1\nretry: 1e3\nretry: 10 \nretry: abc\nretry:\nretry\n\n", want: nil},
	{name: "retry/zero", in: "retry: 0\n", want: []item{retry(0)}},
	{name: "retry/huge-saturates", in: "retry: 99999999999999999999999\n", want: []item{retry(1<<63 - 1)}},
	{name: "retry/unicode-digits-ignored", in: "retry: ١٢\n", want: nil},

	// End of stream.
	{name: "eof/unterminated-event-discarded", in: "data: a\n\ndata: b\n", want: []item{msg("a", "")}, err: io.ErrUnexpectedEOF},
	{name: "eof/partial-line-discarded", in: "data: a\n\ndata: b", want: []item{msg("a", "")}, err: io.ErrUnexpectedEOF},
	{name: "eof/clean-after-comment", in: "data: a\n\n: bye\n", want: []item{msg("a", ""), comment(" bye")}},
	{name: "eof/empty-stream", in: "", want: nil},
	{name: "eof/bom-only", in: "\xef\xbb\xbf", want: nil},

	// Limits.
	{name: "limit/line-at-limit", in: "data: " + strings.Repeat("x", 10) + "\n\n", cfg: Config{MaxSize: 16},
		want: []item{msg(strings.Repeat("x", 10), "")}},
}

func TestDecodeRules(t *testing.T) {
	t.Parallel()
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for feed, mk := range feeds(tc.in) {
				got, err, consumed := decodeAll(mk(), tc.cfg)
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("%s: got\n%#v\nwant\n%#v\n%s", feed, got, tc.want, tc.notes)
				}
				if err != tc.err {
					t.Fatalf("%s: err = %v, want %v", feed, err, tc.err)
				}
				if consumed != int64(len(tc.in)) {
					t.Fatalf("%s: consumed %d bytes, input has %d", feed, consumed, len(tc.in))
				}
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, what string
		before         []item
	}{
		{name: "endless line", in: "data: ok\n\ndata: " + strings.Repeat("x", 100), what: "line", before: []item{msg("ok", "")}},
		{name: "many data lines", in: strings.Repeat("data: 0123456789\n", 20) + "\n", what: "event"},
		{name: "long comment", in: ":" + strings.Repeat("c", 80) + "\n", what: "line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for feed, mk := range feeds(tc.in) {
				got, err, _ := decodeAll(mk(), Config{MaxSize: 64, BufSize: 8})
				var tl *TooLargeError
				if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) || tl.What != tc.what || tl.Limit != 64 {
					t.Fatalf("%s: err = %v, want a %s TooLargeError at 64", feed, err, tc.what)
				}
				if !reflect.DeepEqual(got, tc.before) {
					t.Fatalf("%s: items before the error = %#v, want %#v", feed, got, tc.before)
				}
			}
		})
	}
}

func TestTooLargeNeverBuffersPastLimit(t *testing.T) {
	t.Parallel()
	// An endless line from a hostile server: the decoder must stop at the
	// limit, not read on (the reader would run forever).
	endless := &repeatReader{b: []byte("data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")}
	d := NewDecoder(endless, Config{MaxSize: 1 << 16})
	for d.Next() {
	}
	if !errors.Is(d.Err(), ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", d.Err())
	}
	if endless.n > 1<<17 {
		t.Fatalf("read %d bytes for a 64 KiB limit", endless.n)
	}
	if cap(d.buf) > 1<<16+1 {
		t.Fatalf("buffer grew to %d bytes for a 64 KiB limit", cap(d.buf))
	}
}

type repeatReader struct {
	b []byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], r.b)
	}
	r.n += n
	return n, nil
}

func TestReaderErrorAfterCompleteEvents(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	got, err, _ := decodeAll(r, Config{})
	if !reflect.DeepEqual(got, []item{msg("a", "")}) || err != boom {
		t.Fatalf("got %v, %v; want one event then the reader's error", got, err)
	}
}

func TestNoProgressReader(t *testing.T) {
	t.Parallel()
	d := NewDecoder(zeroReader{}, Config{})
	if d.Next() || d.Err() != io.ErrNoProgress {
		t.Fatalf("err = %v, want io.ErrNoProgress", d.Err())
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestDispatchIsPromptOnLiveStream(t *testing.T) {
	t.Parallel()
	// A stream ending lines with a lone CR must dispatch as soon as the
	// blank line's CR arrives, without waiting to see whether LF follows.
	pr, pw := io.Pipe()
	d := NewDecoder(pr, Config{})
	go func() { pw.Write([]byte("data: a\r\r")) }()
	if !d.Next() || d.Event().Data != "a" {
		t.Fatalf("no prompt dispatch: %v", d.Err())
	}
	go func() { pw.Write([]byte("\ndata: b\r\n\r\n")); pw.Close() }()
	if !d.Next() || d.Event().Data != "b" {
		t.Fatalf("second event: %v", d.Err())
	}
	if d.Next() || d.Err() != nil {
		t.Fatalf("want clean end, got %v", d.Err())
	}
}

func TestResetAndSetLastEventID(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("id: 4\ndata: a\n\nevent: x\ndata: partial"), Config{})
	for d.Next() {
	}
	if d.LastEventID() != "4" {
		t.Fatalf("last id %q", d.LastEventID())
	}
	d.Reset(strings.NewReader("\xef\xbb\xbfdata: b\n\n"))
	if d.LastEventID() != "" {
		t.Fatalf("Reset kept last id %q", d.LastEventID())
	}
	d.SetLastEventID("4")
	if !d.Next() {
		t.Fatal(d.Err())
	}
	if e := d.Event(); e != (Event{Type: "message", Data: "b", ID: "4"}) {
		t.Fatalf("after reset: %+v (BOM must be stripped again, type reset, id kept)", e)
	}
}

func TestEventStringsAreIndependent(t *testing.T) {
	t.Parallel()
	// Events must stay intact after the decoder reuses its buffers.
	d := NewDecoder(strings.NewReader("event: a\nid: 1\ndata: one\n\nevent: b\nid: 2\ndata: two\n\ndata: three\n\n"), Config{BufSize: 4})
	var evs []Event
	for d.Next() {
		evs = append(evs, d.Event())
	}
	want := []Event{{"a", "one", "1"}, {"b", "two", "2"}, {"message", "three", "2"}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got %+v want %+v", evs, want)
	}
}

func TestWriteNDJSON(t *testing.T) {
	t.Parallel()
	in := "retry: 3000\n: hi <there>\nevent: up\nid: 7\ndata: a\"b\ndata: c\n\ndata: x\n"
	var out bytes.Buffer
	err := WriteNDJSON(&out, strings.NewReader(in), Config{})
	want := `{"kind":"retry","ms":3000}
{"kind":"comment","text":" hi <there>"}
{"kind":"event","type":"up","data":"a\"b\nc","id":"7"}
`
	if out.String() != want || err != io.ErrUnexpectedEOF {
		t.Fatalf("got\n%s(err %v)\nwant\n%s", out.String(), err, want)
	}
	// Each line is valid JSON with the documented keys.
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDecoder checks the decoder never panics, never holds more than its
// limit, and gives the same items whatever the read sizes.
func FuzzDecoder(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.in), uint64(1))
	}
	f.Add([]byte("data: \xe2\x82\r\ndata\r\rid: \x00\n\n"), uint64(9))
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		cfg := Config{MaxSize: 256, BufSize: 16}
		whole, errW, nW := decodeAll(bytes.NewReader(in), cfg)
		chunked, errC, nC := decodeAll(&chunkReader{b: in, rng: rand.New(rand.NewPCG(seed, 1)), max: 7}, cfg)
		if !reflect.DeepEqual(whole, chunked) {
			t.Fatalf("whole %#v\nchunked %#v", whole, chunked)
		}
		if !errors.Is(errW, ErrTooLarge) && (errW != errC || nW != nC) {
			t.Fatalf("whole (%v, %d) chunked (%v, %d)", errW, nW, errC, nC)
		}
		if (errW == nil || errW == io.ErrUnexpectedEOF) && nW != int64(len(in)) {
			t.Fatalf("consumed %d of %d", nW, len(in))
		}
		for _, it := range whole {
			if len(it.Data) > 3*cfg.MaxSize || !utf8ValidString(it.Data+it.Type+it.ID+it.Text) {
				t.Fatalf("item out of bounds or invalid UTF-8: %#v", it)
			}
		}
	})
}

func utf8ValidString(s string) bool { return strings.ToValidUTF8(s, "") == s }

func benchStream(eventSize, events int) []byte {
	var b bytes.Buffer
	pad := strings.Repeat("x", eventSize)
	for i := 0; b.Len() < events*eventSize; i++ {
		line := fmt.Sprintf("id: %d\ndata: {\"seq\":%d,\"ts\":1763751000000000000,\"pad\":\"", i, i)
		b.WriteString(line)
		b.WriteString(pad[:max(0, eventSize-len(line)-5)])
		b.WriteString("\"}\n\n")
	}
	return b.Bytes()
}

func benchmarkDecode(b *testing.B, eventSize int) {
	stream := benchStream(eventSize, 2000)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	r := bytes.NewReader(stream)
	d := NewDecoder(r, Config{BufSize: 64 << 10})
	events := 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		r.Reset(stream)
		d.Reset(r)
		for d.Next() {
			if d.Kind() == KindEvent {
				_ = d.Event()
				events++
			}
		}
		if d.Err() != nil {
			b.Fatal(d.Err())
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(events), "allocs/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}

// BenchmarkDecode100B and BenchmarkDecode4KiB measure throughput (MB/s),
// time and allocations per dispatched event (Next plus Event).
func BenchmarkDecode100B(b *testing.B) { benchmarkDecode(b, 100) }
func BenchmarkDecode4KiB(b *testing.B) { benchmarkDecode(b, 4096) }

func TestHasIDOnlyForBlocksWithTheirOwnID(t *testing.T) {
	in := "id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid:\ndata: d\n\nid: x\x00y\ndata: e\n\n"
	dec := NewDecoder(strings.NewReader(in), Config{})
	var got []string
	for dec.Next() {
		if dec.Kind() == KindEvent {
			got = append(got, fmt.Sprintf("%s:%s:%v", dec.Data(), dec.LastEventID(), dec.HasID()))
		}
	}
	// "b" and "c" carry the last id over without setting one; the id-only
	// block "id: 2" dispatches nothing, and its id must not leak into "c"'s
	// block flag; "id:" (empty) is an id of its own; an id with NUL is ignored.
	want := "a:1:true b:1:false c:2:false d::true e::false"
	if s := strings.Join(got, " "); s != want {
		t.Fatalf("got %q, want %q", s, want)
	}
}

func TestRetryDurationIsClamped(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"retry: 1500\n", 1500 * time.Millisecond},
		{"retry: 99999999999999999\n", MaxRetry},
		{"retry: 99999999999999999999999999\n", MaxRetry},
	} {
		dec := NewDecoder(strings.NewReader(tc.in), Config{})
		if !dec.Next() || dec.Kind() != KindRetry {
			t.Fatalf("%q: no retry item", tc.in)
		}
		if got := dec.RetryDuration(); got != tc.want {
			t.Fatalf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}
