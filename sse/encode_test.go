package sse

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendEventBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"data only", Event{Data: "hello"}, "data: hello\n\n"},
		{"empty data still dispatches", Event{}, "data: \n\n"},
		{"id type data", Event{ID: "7", Type: "tick", Data: "x"}, "id: 7\nevent: tick\ndata: x\n\n"},
		{"message type omitted", Event{Type: "message", Data: "x"}, "data: x\n\n"},
		{"leading space kept", Event{Data: " x"}, "data:  x\n\n"},
		{"LF split", Event{Data: "a\nb"}, "data: a\ndata: b\n\n"},
		{"CRLF split", Event{Data: "a\r\nb"}, "data: a\ndata: b\n\n"},
		{"CR split", Event{Data: "a\rb"}, "data: a\ndata: b\n\n"},
		{"LFCR is two line ends", Event{Data: "a\n\rb"}, "data: a\ndata: \ndata: b\n\n"},
		{"trailing LF keeps an empty line", Event{Data: "a\n"}, "data: a\ndata: \n\n"},
		{"only LF", Event{Data: "\n"}, "data: \ndata: \n\n"},
		{"id CR LF NUL dropped", Event{ID: "1\r\n2\x003", Data: "x"}, "id: 123\ndata: x\n\n"},
		{"id of only line ends omitted", Event{ID: "\r\n", Data: "x"}, "data: x\n\n"},
		{"type LF dropped", Event{Type: "a\nb", Data: "x"}, "event: ab\ndata: x\n\n"},
		{"type of only NUL omitted", Event{Type: "\x00", Data: "x"}, "data: x\n\n"},
		{"NUL in data kept", Event{Data: "a\x00b"}, "data: a\x00b\n\n"},
		{"colon in data", Event{Data: "a: b"}, "data: a: b\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := string(AppendEvent(nil, tc.ev))
			if got != tc.want {
				t.Fatalf("AppendEvent(%+q) = %q, want %q", tc.ev, got, tc.want)
			}
		})
	}
}

func TestAppendEventAppends(t *testing.T) {
	t.Parallel()
	dst := []byte("prefix")
	got := AppendEvent(dst, Event{Data: "x"})
	if string(got) != "prefixdata: x\n\n" {
		t.Fatalf("got %q", got)
	}
}

func TestAppendComment(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"heartbeat", ": heartbeat\n"},
		{"", ": \n"},
		{"a\nb\r\nc\rd", ": a\n: b\n: c\n: d\n"},
	}
	for _, tc := range tests {
		if got := string(AppendComment(nil, tc.in)); got != tc.want {
			t.Errorf("AppendComment(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAppendRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   int64
		want string
	}{
		{3000, "retry: 3000\n"},
		{0, "retry: 0\n"},
		{-5, "retry: 0\n"},
	}
	for _, tc := range tests {
		if got := string(AppendRetry(nil, tc.in)); got != tc.want {
			t.Errorf("AppendRetry(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// decodeAll decodes a whole stream with the package decoder.
func decodeStream(t testing.TB, stream []byte) (events []Event, comments []string, retries []int64) {
	t.Helper()
	dec := NewDecoder(bytes.NewReader(stream), Config{})
	for dec.Next() {
		switch dec.Kind() {
		case KindEvent:
			events = append(events, dec.Event())
		case KindComment:
			comments = append(comments, dec.Comment())
		case KindRetry:
			retries = append(retries, dec.Retry())
		}
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("decode %q: %v", stream, err)
	}
	return events, comments, retries
}

// wantDecoded is what a WHATWG decoder must give back for ev after
// AppendEvent: line ends normalised to LF, CR/LF/NUL dropped from ID and
// Type, the default type "message".
func wantDecoded(ev Event) Event {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == 0 {
				return -1
			}
			return r
		}, s)
	}
	want := Event{
		Type: clean(ev.Type),
		ID:   clean(ev.ID),
		Data: strings.ReplaceAll(strings.ReplaceAll(ev.Data, "\r\n", "\n"), "\r", "\n"),
	}
	if want.Type == "" {
		want.Type = "message"
	}
	return want
}

func TestAppendEventRoundTrip(t *testing.T) {
	t.Parallel()
	evs := []Event{
		{Data: "plain"},
		{Data: ""},
		{Data: " leading space"},
		{Data: "  two leading spaces"},
		{Data: "trailing space "},
		{Data: "multi\nline\r\nwith\rall\n\nends"},
		{Data: "\n"},
		{Data: "\r\n\r\n"},
		{Data: "ends with CR\r"},
		{Data: ": looks like a comment"},
		{Data: "data: looks like a field"},
		{Data: "nul\x00inside"},
		{Data: "unicode é ✓ 😀"},
		{Data: "\uFEFFbom first"},
		{ID: "42", Data: "x"},
		{ID: " spaced id", Data: "x"},
		{ID: "evil\nid\r\x00", Data: "x"},
		{Type: "update", Data: "x"},
		{Type: " spaced", Data: "x"},
		{Type: "evil\r\nevent", Data: "x"},
		{Type: "message", ID: "1", Data: "x"},
	}
	var stream []byte
	for _, ev := range evs {
		stream = AppendEvent(stream, ev)
	}
	got, comments, retries := decodeStream(t, stream)
	if len(comments) != 0 || len(retries) != 0 {
		t.Fatalf("unexpected comments %q / retries %v", comments, retries)
	}
	if len(got) != len(evs) {
		t.Fatalf("decoded %d events, want %d: %+q", len(got), len(evs), got)
	}
	lastID := ""
	for i, ev := range evs {
		want := wantDecoded(ev)
		if want.ID == "" {
			want.ID = lastID // no id line: the last event ID carries over
		}
		lastID = want.ID
		if got[i] != want {
			t.Errorf("event %d: AppendEvent(%+q) decoded as %+q, want %+q", i, ev, got[i], want)
		}
	}
}

func TestCommentAndRetryRoundTrip(t *testing.T) {
	t.Parallel()
	var stream []byte
	stream = AppendRetry(stream, 2500)
	stream = AppendComment(stream, "hb\nsecond")
	stream = AppendEvent(stream, Event{ID: "1", Data: "x"})
	events, comments, retries := decodeStream(t, stream)
	if len(retries) != 1 || retries[0] != 2500 {
		t.Errorf("retries = %v, want [2500]", retries)
	}
	if len(comments) != 2 || strings.TrimPrefix(comments[0], " ") != "hb" || strings.TrimPrefix(comments[1], " ") != "second" {
		t.Errorf("comments = %q, want hb and second", comments)
	}
	if len(events) != 1 || events[0].Data != "x" || events[0].ID != "1" {
		t.Errorf("events = %+q", events)
	}
}

func TestAppendEventNoAllocs(t *testing.T) {
	ev := Event{ID: "123456", Type: "tick", Data: `{"seq":123456,"ts":1700000000000000000}` + "\nline two"}
	dst := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendEvent(dst[:0], ev)
		dst = AppendComment(dst, "heartbeat")
		dst = AppendRetry(dst, 1000)
	})
	if allocs != 0 {
		t.Fatalf("allocs per run = %v, want 0", allocs)
	}
}

func FuzzAppendEvent(f *testing.F) {
	f.Add("1", "tick", "hello")
	f.Add("", "", "")
	f.Add("a\r\nb", "message", " x\r\ny\rz\n")
	f.Add("\x00", "\n", "\r\r\n\n")
	f.Fuzz(func(t *testing.T, id, typ, data string) {
		if !utf8.ValidString(id) || !utf8.ValidString(typ) || !utf8.ValidString(data) {
			return // the decoder replaces invalid UTF-8; not an encoder property
		}
		ev := Event{ID: id, Type: typ, Data: data}
		got, comments, _ := decodeStream(t, AppendEvent(nil, ev))
		if len(got) != 1 || len(comments) != 0 {
			t.Fatalf("AppendEvent(%+q) decoded to %+q (comments %q), want one event", ev, got, comments)
		}
		if want := wantDecoded(ev); got[0] != want {
			t.Fatalf("AppendEvent(%+q) decoded as %+q, want %+q", ev, got[0], want)
		}
	})
}

func BenchmarkAppendEvent(b *testing.B) {
	ev := Event{ID: "123456", Data: `{"seq":123456,"ts":1700000000000000000,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`}
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendEvent(dst[:0], ev)
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkAppendEventMultiline(b *testing.B) {
	ev := Event{ID: "9", Type: "update", Data: strings.Repeat("a line of text\r\n", 16)}
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendEvent(dst[:0], ev)
	}
	b.SetBytes(int64(len(dst)))
}
