package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

// typedScript is what typedServer writes on each connection, and so what
// a run must count per connection: per event: type, per messageType value
// in the JSON data, and the sseEvent events' delivery samples (they are
// stamped 50ms in the past).
var typedScript = struct {
	types, fields map[string]int64
	missing       int64 // events without a messageType
	stamped       int64 // sseEvent events with a ts
}{
	types:   map[string]int64{"sseEvent": 3, "message": 2, "progress": 2},
	fields:  map[string]int64{"chat": 3, "status": 2, "42": 1},
	missing: 1,
	stamped: 3,
}

// typedServer writes typedScript on every connection, then holds it
// open. It counts the connections it wrote the whole script to.
func typedServer(t *testing.T) (url string, scripts *atomic.Int64) {
	t.Helper()
	scripts = &atomic.Int64{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := range 3 {
			sent := time.Now().Add(-50 * time.Millisecond).UnixNano()
			fmt.Fprintf(w, "event: sseEvent\nid: %d\ndata: {\"ts\": %d, \"messageType\": \"chat\"}\n\n", i, sent)
		}
		fmt.Fprint(w, "data: {\"messageType\": \"status\", \"n\": 1}\n\n")
		fmt.Fprint(w, ": ping\n\n")
		fmt.Fprint(w, "data: {\"messageType\": \"st\\u0061tus\"}\n\n") // escaped: still "status"
		fmt.Fprint(w, "event: progress\ndata: {\"messageType\": 42}\n\n")
		fmt.Fprint(w, "event: progress\ndata: plain text\n\n")
		fl.Flush()
		scripts.Add(1)
		<-r.Context().Done()
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/events", scripts
}

// checkTyped holds a result's per-name counts to what the server wrote:
// the script times the connections that got it, exactly.
func checkTyped(t *testing.T, res *report.Result, conns int64) {
	t.Helper()
	c := res.Counters
	if conns == 0 {
		t.Fatal("the server wrote no script")
	}
	if c.StreamsOpened != conns || c.Reconnects != 0 {
		t.Errorf("opened %d streams, %d reconnects; the server wrote %d scripts", c.StreamsOpened, c.Reconnects, conns)
	}
	if len(c.EventsByType) != len(typedScript.types) {
		t.Errorf("events_by_type %v, want the types %v", c.EventsByType, typedScript.types)
	}
	for typ, n := range typedScript.types {
		if got := c.EventsByType[typ].Count; got != n*conns {
			t.Errorf("events_by_type[%s] = %d, the server wrote %d", typ, got, n*conns)
		}
	}
	if len(c.EventsByField) != len(typedScript.fields) {
		t.Errorf("events_by_field %v, want the values %v", c.EventsByField, typedScript.fields)
	}
	for v, n := range typedScript.fields {
		if got := c.EventsByField[v].Count; got != n*conns {
			t.Errorf("events_by_field[%s] = %d, the server wrote %d", v, got, n*conns)
		}
	}
	if c.TypeFieldMissing != typedScript.missing*conns {
		t.Errorf("type_field_missing %d, the server wrote %d", c.TypeFieldMissing, typedScript.missing*conns)
	}
	d := c.EventsByType["sseEvent"].Delivery
	if d == nil || d.Count != typedScript.stamped*conns || d.MinMS < 50 || d.P99MS > 1000 || d.HDR == "" {
		t.Errorf("sseEvent delivery %+v: want %d samples of 50ms or more (stamped 50ms back), with a histogram", d, typedScript.stamped*conns)
	}
	if d := c.EventsByField["chat"].Delivery; d == nil || d.Count != typedScript.stamped*conns {
		t.Errorf("chat delivery %+v: want the %d stamped sseEvent samples", d, typedScript.stamped*conns)
	}
	for _, typ := range []string{"message", "progress"} {
		if d := c.EventsByType[typ].Delivery; d != nil {
			t.Errorf("%s has delivery %+v, but none was stamped", typ, d)
		}
	}
	if m := res.Metrics[report.MetricDelivery]; m.Count != typedScript.stamped*conns {
		t.Errorf("delivery count %d, want %d", m.Count, typedScript.stamped*conns)
	}
	if c.EventsOther != nil {
		t.Errorf("events_other %+v with %d names", c.EventsOther, len(c.EventsByType))
	}
}

// TestRunCountsEventsPerType: the result's per-type and per-messageType
// counts are exactly what the server wrote, the summary lists the types,
// and thresholds on them pass and fail as the counts say (exit code).
func TestRunCountsEventsPerType(t *testing.T) {
	t.Parallel()
	url, scripts := typedServer(t)
	out := filepath.Join(t.TempDir(), "r.json")
	html := filepath.Join(t.TempDir(), "r.html")
	code, stdout, stderr := runCLI("run", "--url", url, "--connections", "3", "--duration", "2s", "--reconnect", "never",
		"--type-field", "messageType", "--out", out, "--html", html,
		"--threshold", "events.type.sseEvent > 0", "--threshold", "events.type.close == 0",
		"--threshold", "events.field.chat == "+fmt.Sprint(3*3))
	if code != report.ExitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	checkTyped(t, res, scripts.Load())
	for _, th := range res.Thresholds {
		if !th.Passed {
			t.Errorf("threshold %s failed: %v", th.Expr, th.Value)
		}
	}
	if !strings.Contains(stdout, "types    sseEvent 9  message 6  progress 6") || !strings.Contains(stdout, "by messageType  chat 9  status 6  42 3  (without the field 3)") {
		t.Errorf("summary lacks the type lines:\n%s", stdout)
	}

	// The same run, gated on a type that never came and on a misspelt one.
	code, stdout, _ = runCLI("run", "--url", url, "--connections", "1", "--duration", "1s", "--reconnect", "never", "--out", out,
		"--threshold", "events.type.close > 0", "--threshold", "events.type.sseEvnt > 0", "--threshold", "events.type.sseEvent >= 3")
	if code != report.ExitGateFailed {
		t.Errorf("exit %d, want %d (a failed threshold)", code, report.ExitGateFailed)
	}
	res, err = report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"events.type.close > 0": false, "events.type.sseEvnt > 0": false, "events.type.sseEvent >= 3": true}
	for _, th := range res.Thresholds {
		if want[th.Expr] != th.Passed {
			t.Errorf("threshold %s passed=%v, want %v (value %v)", th.Expr, th.Passed, want[th.Expr], th.Value)
		}
		if th.Expr == "events.type.sseEvnt > 0" && !strings.Contains(th.Note, "did you mean events.type.sseEvent?") {
			t.Errorf("misspelt type's note %q has no did-you-mean", th.Note)
		}
	}
	if !strings.Contains(stdout, "did you mean events.type.sseEvent?") {
		t.Errorf("summary does not show the did-you-mean:\n%s", stdout)
	}
}

// TestRunProcsMergesEventTypes: two shard processes merged live give the
// exact sums of the per-type counts and delivery samples.
func TestRunProcsMergesEventTypes(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	url, scripts := typedServer(t)
	out := filepath.Join(t.TempDir(), "procs.json")
	b, err := exec.Command(bin, "run", "--url", url, "--connections", "4", "--duration", "3s", "--reconnect", "never",
		"--type-field", "messageType", "--procs", "2", "--quiet", "--out", out).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Notes, " "), "ran as 2 processes") {
		t.Fatalf("not a 2-process run: %v", res.Notes)
	}
	checkTyped(t, res, scripts.Load())
}

// closingServer is the seed-style demo: a few sseEvent events, then
// "event: close", and the response ends (browsers would reconnect each
// time). It counts the close events it sent.
func closingServer(t *testing.T) (url string, closes *atomic.Int64) {
	t.Helper()
	closes = &atomic.Int64{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		fmt.Fprint(w, "retry: 100\n\n")
		for i := range 4 {
			fmt.Fprintf(w, "event: sseEvent\nid: %d\ndata: tick %d\n\n", i, i)
			fl.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		fmt.Fprint(w, "event: close\ndata: bye\n\n")
		fl.Flush()
		closes.Add(1)
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/events", closes
}

// TestRunCloseOnEvent: with --close-on-event close, every stream that got
// the close event ends as client_close and none reconnects; without it,
// the same server shows up as reconnects, as browsers would make.
func TestRunCloseOnEvent(t *testing.T) {
	t.Parallel()
	url, closes := closingServer(t)
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI("run", "--url", url, "--connections", "2", "--duration", "2s", "--close-on-event", "close",
		"--out", out, "--threshold", "ends.client_close > 0", "--threshold", "reconnects == 0")
	if code != report.ExitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Counters
	closed := c.Ends[report.EndClientClose]
	if closed == 0 || c.Reconnects != 0 || c.Ends[report.EndEOF] != 0 {
		t.Errorf("ends %v, reconnects %d: want client_close ends, no eof, no reconnect", c.Ends, c.Reconnects)
	}
	if closed+c.Ends[report.EndCancelled] != c.StreamsOpened {
		t.Errorf("client_close %d + cancelled %d != %d streams opened (ends %v)", closed, c.Ends[report.EndCancelled], c.StreamsOpened, c.Ends)
	}
	if got := c.EventsByType["close"].Count; got != closed || closed > closes.Load() {
		t.Errorf("close events %d, client_close %d, the server sent %d", got, closed, closes.Load())
	}
	if got := c.EventsByType["sseEvent"].Count; got < 4*closed || got > 4*c.StreamsOpened {
		t.Errorf("sseEvent %d: want 4 per closed stream (%d) and at most 4 per stream (%d)", got, closed, c.StreamsOpened)
	}
	if report.EndIsError(res.Mode, report.EndClientClose) || !strings.Contains(stdout, "client_close") {
		t.Errorf("client_close is an error, or the summary does not show it:\n%s", stdout)
	}

	// Without the marker the server's ends are reconnected (eof), as before.
	code, _, stderr = runCLI("run", "--url", url, "--connections", "2", "--duration", "2s", "--quiet", "--out", out)
	if code != report.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if res, err = report.ReadResult(out); err != nil {
		t.Fatal(err)
	}
	c = res.Counters
	if c.Reconnects == 0 || c.Ends[report.EndEOF] == 0 || c.Ends[report.EndClientClose] != 0 {
		t.Errorf("without --close-on-event: reconnects %d, ends %v; want reconnects and eof ends", c.Reconnects, c.Ends)
	}
}

// TestRunCloseOnData: the seed page's close() on data "contDnd" (exact),
// and on a JSON field; the server keeps the stream open after it, so only
// the client's own close ends it.
func TestRunCloseOnData(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		conns.Add(1)
		fmt.Fprint(w, "event: sseEvent\ndata: contDnd soon\n\n")              // contains, not equal
		fmt.Fprint(w, "event: sseEvent\ndata: {\"status\": \"working\"}\n\n") // not done yet
		fmt.Fprint(w, "event: sseEvent\ndata: {\"status\": \"done\"}\n\n")
		fmt.Fprint(w, "event: sseEvent\ndata: contDnd\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(ts.Close)
	for _, tc := range []struct {
		match  string
		events int64 // per stream, up to and with the marker
	}{
		{"contDnd", 4},
		{"$.status=done", 3},
		{"*contDnd*", 1},
	} {
		out := filepath.Join(t.TempDir(), "r.json")
		code, _, stderr := runCLI("run", "--url", ts.URL, "--connections", "1", "--duration", "1s", "--close-on-data", tc.match, "--quiet", "--out", out)
		if code != report.ExitOK {
			t.Fatalf("%s: exit %d: %s", tc.match, code, stderr)
		}
		res, err := report.ReadResult(out)
		if err != nil {
			t.Fatal(err)
		}
		c := res.Counters
		closed := c.Ends[report.EndClientClose]
		if closed == 0 || c.Reconnects != 0 || closed+c.Ends[report.EndCancelled] != c.StreamsOpened {
			t.Errorf("%s: ends %v, opened %d, reconnects %d: want every stream closed by the client, none reconnected", tc.match, c.Ends, c.StreamsOpened, c.Reconnects)
		}
		if got := c.EventsByType["sseEvent"].Count; got < tc.events*closed || got > tc.events*c.StreamsOpened {
			t.Errorf("%s: %d events for %d client closes: want %d per stream, none after the marker", tc.match, got, closed, tc.events)
		}
	}
}

// TestRunBoundsEventNames: a server that sends 10,000 distinct types (and
// one absurdly long one) gets 100 of them counted by name and the rest
// in events_other, with every event still counted once.
func TestRunBoundsEventNames(t *testing.T) {
	t.Parallel()
	const distinct = 10000
	long := strings.Repeat("x", 500)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "event: %s\ndata: 1\n\n", long)
		for i := range distinct {
			fmt.Fprintf(w, "event: t%05d\ndata: {\"messageType\": \"v%05d\"}\n\n", i, i)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(ts.Close)
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI("run", "--url", ts.URL, "--connections", "1", "--duration", "2s", "--reconnect", "never",
		"--type-field", "messageType", "--out", out)
	if code != report.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Counters
	if c.Events != distinct+1 {
		t.Fatalf("%d events, the server sent %d", c.Events, distinct+1)
	}
	if len(c.EventsByType) != report.MaxEventNames || len(c.EventsByField) != report.MaxEventNames {
		t.Errorf("%d types and %d field values kept, want %d each", len(c.EventsByType), len(c.EventsByField), report.MaxEventNames)
	}
	clipped := long[:report.MaxEventNameLen] + "…"
	if c.EventsByType[clipped].Count != 1 {
		t.Errorf("the long type is not counted clipped to %d bytes", report.MaxEventNameLen)
	}
	for name := range c.EventsByType {
		if len(name) > report.MaxEventNameLen+len("…") {
			t.Errorf("a type name of %d bytes was kept", len(name))
		}
	}
	// The first names seen are kept: the long one and t00000..t00098.
	if c.EventsByType["t00098"].Count != 1 || c.EventsByType["t00099"].Count != 0 {
		t.Errorf("not the first names kept: t00098 %d, t00099 %d", c.EventsByType["t00098"].Count, c.EventsByType["t00099"].Count)
	}
	o := c.EventsOther
	if o == nil || o.Limit != report.MaxEventNames || o.Type == nil || o.Field == nil {
		t.Fatalf("events_other %+v: want both tables' overflow", o)
	}
	if o.Type.Count != distinct+1-report.MaxEventNames || o.Field.Count != distinct-report.MaxEventNames || c.TypeFieldMissing != 1 {
		t.Errorf("other types %d (want %d), other values %d (want %d), missing %d (want 1)",
			o.Type.Count, distinct+1-report.MaxEventNames, o.Field.Count, distinct-report.MaxEventNames, c.TypeFieldMissing)
	}
	if !strings.Contains(stdout, "+95 more  (other names, past 100: 9901 events)") {
		t.Errorf("summary does not say how many more names and events:\n%s", stdout)
	}
}
