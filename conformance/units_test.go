package conformance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

func TestCatalogue(t *testing.T) {
	t.Parallel()
	// The IDs the issue fixed: they must exist, and never be renamed.
	required := []string{
		"status", "content-type", "charset", "cache-control", "content-length", "compression", "x-accel-buffering",
		"headers-prompt", "request-headers", "cors", "cors-preflight", "h2-hop-by-hop",
		"utf8", "bom", "line-endings", "fields", "terminated", "dataless", "id-null", "id-safe", "retry-valid", "event-size",
		"first-event", "buffering", "heartbeat", "idle-timeout", "end-kind",
		"ids", "resume", "resume-unknown-id", "retry-hint", "reconnect-storm", "stop-204",
		"concurrent", "churn", "http2",
	}
	seen := map[string]bool{}
	for _, c := range Catalogue() {
		if seen[c.ID] {
			t.Errorf("duplicate ID %q", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Ref == "" || c.Fix == "" || c.Area == "" {
			t.Errorf("%s: title, area, ref and fix are required: %+v", c.ID, c)
		}
		switch c.Severity {
		case "error", "warning", "info":
		default:
			t.Errorf("%s: severity %q", c.ID, c.Severity)
		}
		if evaluators[c.ID] == nil {
			t.Errorf("%s has no evaluator", c.ID)
		}
	}
	for _, id := range required {
		if !seen[id] {
			t.Errorf("required check %q missing", id)
		}
	}
	if len(evaluators) != len(catalogue) {
		t.Errorf("%d evaluators for %d checks", len(evaluators), len(catalogue))
	}
	for _, id := range []string{"x-accel-buffering", "line-endings", "retry-hint", "stop-204", "http2"} {
		if c, _ := Lookup(id); c.Severity != "info" {
			t.Errorf("%s: severity %s, want info", id, c.Severity)
		}
	}
}

func TestSelectChecks(t *testing.T) {
	t.Parallel()
	sel, err := selectChecks([]string{"status,content-type", "buffering"}, []string{"content-type"})
	if err != nil {
		t.Fatal(err)
	}
	if !sel["status"] || !sel["buffering"] || sel["content-type"] || sel["utf8"] {
		t.Errorf("selection %v", sel)
	}
	sel, _ = selectChecks(nil, []string{"churn"})
	if !sel["utf8"] || sel["churn"] {
		t.Errorf("skip only: %v", sel)
	}
	_, err = selectChecks([]string{"status,nope"}, nil)
	var ue *UnknownCheckError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `--only: unknown check "nope"`) {
		t.Errorf("unknown --only: %v", err)
	}
	_, err = selectChecks(nil, []string{"bogus"})
	if err == nil || !strings.Contains(err.Error(), "--skip") {
		t.Errorf("unknown --skip: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	ok := Config{URL: "http://127.0.0.1:1/events"}
	c, err := ok.withDefaults()
	if err != nil || c.Window != DefaultWindow || c.Clients != DefaultClients || c.Churn != DefaultChurn || c.Method != "GET" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "ftp://x"}, "is not an http(s) URL with a host"},
		{Config{URL: "http://x", Origin: "https://a.example/path"}, "--origin"},
		{Config{URL: "http://x", Publish: "nope"}, "--publish"},
		{Config{URL: "http://x", Hold: time.Second}, "--hold"},
		{Config{URL: "http://x", Window: 100 * time.Millisecond}, "--window"},
		{Config{URL: "http://x", Clients: -1}, "--clients"},
		{Config{URL: "http://x", MaxSize: 10}, "--max-size"},
	} {
		_, err := tc.cfg.withDefaults()
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want a ConfigError with %q", tc.cfg, err, tc.want)
		}
	}
}

// readAll pushes b through a textTap in reads of n bytes.
func tapAll(b []byte, n int) *textTap {
	tx := newTextTap(iotest.OneByteReader(bytes.NewReader(b)), CaptureBytes)
	if n > 1 {
		tx = newTextTap(&chunkReader{b: b, n: n}, CaptureBytes)
	}
	io.Copy(io.Discard, tx)
	tx.finish()
	return tx
}

type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := min(c.n, len(c.b), len(p))
	copy(p, c.b[:k])
	c.b = c.b[k:]
	return k, nil
}

func TestTextTap(t *testing.T) {
	t.Parallel()
	valid := []byte("data: héllo 😀\r\ndata: x\r\rdata: y\n\n")
	for _, n := range []int{1, 2, 3, 5, 64} {
		tx := tapAll(valid, n)
		if tx.invalid != 0 {
			t.Errorf("reads of %d: %d invalid sequences in valid UTF-8 split across reads", n, tx.invalid)
		}
		if tx.lf != 2 || tx.crlf != 1 || tx.cr != 2 {
			t.Errorf("reads of %d: LF %d CRLF %d CR %d, want 2 1 2", n, tx.lf, tx.crlf, tx.cr)
		}
	}
	bad := []byte("data: a\xffb\xc3(\xed\xa0\x80\n\ndata: \xf0\x9f\x98")
	for _, n := range []int{1, 4, 64} {
		tx := tapAll(bad, n)
		// 0xff, the truncated C3, the surrogate (3 bytes, each invalid
		// alone for Go's decoder: counted once per maximal prefix) and the
		// cut 4-byte sequence at the end.
		if tx.invalid < 4 || tx.firstBad != 7 {
			t.Errorf("reads of %d: %d invalid, first at %d; want >= 4, first at 7", n, tx.invalid, tx.firstBad)
		}
	}
	long := append(bytes.Repeat([]byte("x"), 70<<10), '\n')
	if tx := tapAll(long, 4096); tx.maxLine != 70<<10 || len(tx.capture) != CaptureBytes {
		t.Errorf("max line %d, capture %d", tx.maxLine, len(tx.capture))
	}
}

func TestWireTapReadsAndErrors(t *testing.T) {
	t.Parallel()
	start := time.Now()
	body := io.MultiReader(strings.NewReader("data: a\n\n"), strings.NewReader("data: b"), iotest.ErrReader(io.ErrUnexpectedEOF))
	w := newWireTap(body, start, 0, true, 64)
	got, err := io.ReadAll(w)
	if err != nil || string(got) != "data: a\n\ndata: b" {
		t.Fatalf("read %q, %v: a transport error must reach the decoder as EOF", got, err)
	}
	if !errors.Is(w.err, io.ErrUnexpectedEOF) || w.bytes != 16 || w.nReads != 2 {
		t.Errorf("err %v bytes %d reads %d", w.err, w.bytes, w.nReads)
	}
	if w.reads[0].midLine || !w.reads[1].midLine {
		t.Errorf("mid-line flags %+v: want false, true", w.reads)
	}
}

func TestScanRaw(t *testing.T) {
	t.Parallel()
	stream := "\xEF\xBB\xBF\xEF\xBB\xBFid: 1\ndata: a\n\n" +
		"id: 2\x00\ndata: b\n\n" +
		"event: ping\nid: 3\n\n" + // dataless
		"retry: 3s\nfoo: bar\n: comment\ndata\n\n" +
		"\xEF\xBB\xBFdata: late bom\n\n" +
		"data: cut at the capture's end"
	st := scanRaw([]byte(stream), false)
	if st.leadingBOMs != 2 || st.lineBOMs != 1 {
		t.Errorf("BOMs: leading %d, line %d", st.leadingBOMs, st.lineBOMs)
	}
	if st.idNull != 1 || st.idLines != 2 { // the first id line is the BOM's
		t.Errorf("id lines %d, with NUL %d", st.idLines, st.idNull)
	}
	if st.dataless != 1 || !strings.Contains(st.datalessSample, "event: ping") {
		t.Errorf("dataless %d %q", st.dataless, st.datalessSample)
	}
	if len(st.retryValues) != 1 || st.retryValues[0] != "3s" {
		t.Errorf("retry %v", st.retryValues)
	}
	if len(st.unknown) != 2 || st.unknown["foo"] != 1 || st.unknown["\uFEFFdata"] != 1 {
		t.Errorf("unknown %v (the second BOM's first line is the bom check's)", st.unknown)
	}
	if st.fields["data"] != 3 || st.comments != 1 {
		t.Errorf("fields %v comments %d (the unterminated last line is not counted)", st.fields, st.comments)
	}
	if st16 := scanRaw([]byte("\xFF\xFEd\x00a\x00"), true); st16.utf16BOM != "UTF-16LE" {
		t.Errorf("UTF-16 BOM: %q", st16.utf16BOM)
	}
	// A CR at the capture's end may be half of a CRLF: not a line yet.
	if st := scanRaw([]byte("data: a\r"), false); st.fields["data"] != 0 {
		t.Errorf("line ended by a CR at the capture's end counted")
	}
	if st := scanRaw([]byte("data: a\r"), true); st.fields["data"] != 1 {
		t.Errorf("line ended by a CR at the stream's end not counted")
	}
}

func TestSendTime(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		data string
		want time.Time
	}{
		{`{"seq":1,"ts":1800000000123456789}`, time.Unix(0, 1800000000123456789)},
		{`{"timestamp":1800000000123}`, time.UnixMilli(1800000000123)},
		{`{"time":1800000000.5}`, time.Unix(1800000000, 5e8)},
		{`{"sent_at":"2020-01-15T08:00:00Z"}`, time.Time{}}, // too far from now
		{`{"sentAt":"` + now.Add(-time.Second).Format(time.RFC3339Nano) + `"}`, now.Add(-time.Second)},
		{`{"ts":42}`, time.Time{}}, // a counter, not a time
		{`not json`, time.Time{}},
		{`{"id":1800000000123}`, time.Time{}},
	} {
		got := sendTime([]byte(tc.data), now)
		if !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.data, got, tc.want)
		}
	}
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	u := scenarios.RedactURL("https://user:pw@api.example.com/stream?token=abc&topic=x&api_key=k")
	if strings.Contains(u, "pw") || strings.Contains(u, "abc") || strings.Contains(u, "=k") || !strings.Contains(u, "topic=x") {
		t.Errorf("redactURL: %s", u)
	}
	msg := redactText(`Get "http://u:pw@h/x?access_token=abc&topic=t": dial tcp: refused`)
	if strings.Contains(msg, "pw") || strings.Contains(msg, "abc") || !strings.Contains(msg, "topic=t") {
		t.Errorf("redactText: %s", msg)
	}
	rep, err := Run(context.Background(), Config{URL: "http://127.0.0.1:1/events?token=sekrit", Window: time.Second})
	if err == nil || strings.Contains(err.Error(), "sekrit") || strings.Contains(rep.Target, "sekrit") || strings.Contains(strings.Join(rep.Notes, " "), "sekrit") {
		t.Errorf("secret in the unreachable error or report: %v %+v", err, rep)
	}
	h := http.Header{"Set-Cookie": {"session=secret"}, "Content-Type": {"text/event-stream"}}
	if ev := headerEvidence(h, "Set-Cookie", "Content-Type", "Cache-Control"); strings.Contains(ev, "secret") || !strings.Contains(ev, "Cache-Control: (absent)") {
		t.Errorf("headerEvidence: %s", ev)
	}
}

func TestHopByHopVerdict(t *testing.T) {
	t.Parallel()
	if v := hopByHopVerdict(http.Header{"Content-Type": {"text/event-stream"}}); v.status != "pass" {
		t.Errorf("clean: %+v", v)
	}
	v := hopByHopVerdict(http.Header{"Connection": {"keep-alive"}, "Keep-Alive": {"timeout=5"}})
	if v.status != "fail" || !strings.Contains(v.reason, "Connection: keep-alive") || !strings.Contains(v.reason, "Keep-Alive") {
		t.Errorf("hop-by-hop: %+v", v)
	}
}

// TestHeaderUnsafe: control characters and non-ASCII bytes do not
// survive as a Last-Event-ID value; punctuation does (browsers send any
// id verbatim, and EventSource needs no preflight for it).
func TestHeaderUnsafe(t *testing.T) {
	t.Parallel()
	for _, b := range []byte("\x00\x1f\x7f\x80\xc3\xff") {
		if !headerUnsafe(b) {
			t.Errorf("%q should be unsafe in a Last-Event-ID", b)
		}
	}
	for _, b := range []byte("azAZ09-_.~ \t/+=\"():<>?@[\\]{}") {
		if headerUnsafe(b) {
			t.Errorf("%q should be safe in a Last-Event-ID", b)
		}
	}
}
