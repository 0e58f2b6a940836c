package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/sse"
)

// hugeSize is a legal event far over the per-stream bound of a load run:
// the spec and browsers set no limit.
const hugeSize = 14_000_000

// hugeStream is an event of hugeSize bytes of data, then a small one.
func hugeStream() string {
	return "retry: 3000\nid: 1\ndata: " + strings.Repeat("x", hugeSize) + "\n\nid: 2\ndata: after\n\n"
}

// startHugeServer serves hugeStream on a real socket, then keeps the
// stream open until the client goes.
func startHugeServer(t *testing.T) string {
	t.Helper()
	body := hugeStream()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		if _, err := io.WriteString(w, body); err != nil {
			return
		}
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/events"
}

// ndjsonEvents returns the data of every {"kind":"event"} record.
func ndjsonEvents(t *testing.T, out string) []string {
	t.Helper()
	var data []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var rec struct {
			Kind string `json:"kind"`
			Data string `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not NDJSON (%v): %.200s", err, sc.Text())
		}
		if rec.Kind == "event" {
			data = append(data, rec.Data)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return data
}

// wantHugeThenAfter asserts the two events of hugeStream, whole.
func wantHugeThenAfter(t *testing.T, data []string) {
	t.Helper()
	if len(data) != 2 || len(data[0]) != hugeSize || strings.Trim(data[0], "x") != "" || data[1] != "after" {
		sizes := make([]int, len(data))
		for i, d := range data {
			sizes[i] = len(d)
		}
		t.Fatalf("events of %v bytes, want [%d 5] (the huge one whole, then \"after\")", sizes, hugeSize)
	}
}

// The CLI app shares its command values, so runCLI calls run one at a time.
func TestOneStreamCommandsReadA14MBEvent(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	url := startHugeServer(t)
	file := filepath.Join(t.TempDir(), "huge.txt")
	if err := os.WriteFile(file, []byte(hugeStream()), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("tap", func(t *testing.T) {
		code, out, errs := runCLI("tap", "--json", "--count", "2", url)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		wantHugeThenAfter(t, ndjsonEvents(t, out))
	})

	t.Run("decode", func(t *testing.T) {
		code, out, errs := runCLI("decode", file)
		if code != 0 || errs != "" {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		wantHugeThenAfter(t, ndjsonEvents(t, out))
	})

	t.Run("check", func(t *testing.T) {
		code, out, errs := runCLI("check", "--window", "3s", "--only=status,utf8,fields,terminated,event-size,first-event,ids", "--json", "-", url)
		var rep report.CheckReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("exit %d, stderr %q: stdout is not the JSON report (%v)", code, errs, err)
		}
		for _, c := range rep.Checks {
			text := c.Reason + " " + c.Evidence
			if strings.Contains(text, "longer than") || strings.Contains(text, "too large") || strings.Contains(text, "MiB: sse:") {
				t.Errorf("%s reports the event as too large: %s %s", c.ID, c.Reason, c.Evidence)
			}
		}
		for _, id := range []string{"status", "utf8", "fields", "first-event", "ids"} {
			if c := checkResult(rep, id); c.Status != report.StatusPass {
				t.Errorf("%s: %s %s", id, c.Status, c.Reason)
			}
		}
		// The one finding is the real one: a 14 MB line breaks clients
		// that read lines with a 64 KiB scanner (a warning).
		es := checkResult(rep, "event-size")
		if es.Status != report.StatusFail || !strings.Contains(es.Reason, "a line of 13.4 MiB") || !strings.Contains(es.Evidence, "largest event 13.4 MiB") {
			t.Errorf("event-size: %s %q %q", es.Status, es.Reason, es.Evidence)
		}
		if code != 0 || !rep.Passed {
			t.Errorf("exit %d, passed %v: a legal huge event fails no error-severity check", code, rep.Passed)
		}
	})
}

// TestOneStreamMaxSizeStillLowers: --max-size still bounds each command,
// with the error it always gave.
func TestOneStreamMaxSizeStillLowers(t *testing.T) {
	url := startHugeServer(t)
	file := filepath.Join(t.TempDir(), "huge.txt")
	if err := os.WriteFile(file, []byte(hugeStream()), 0o644); err != nil {
		t.Fatal(err)
	}
	const limit = "1048576"

	t.Run("decode", func(t *testing.T) {
		code, out, errs := runCLI("decode", "--max-size", limit, file)
		if code != 2 || !strings.Contains(errs, "line longer than "+limit+" bytes") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Fatalf("exit %d (want 2), stderr %q (want one line naming the limit)", code, errs)
		}
		if strings.Contains(out, `"kind":"event"`) {
			t.Errorf("an event came out past the limit: %.200s", out)
		}
	})

	t.Run("tap", func(t *testing.T) {
		code, out, errs := runCLI("tap", "--max-size", limit, url)
		if code != 0 || !strings.Contains(out, "line longer than "+limit+" bytes") {
			t.Fatalf("exit %d, stderr %q: the end is not the limit:\n%.2000s", code, errs, out)
		}
		if strings.Contains(out, "after") {
			t.Errorf("tap read on past the limit:\n%.2000s", out)
		}
	})

	t.Run("check", func(t *testing.T) {
		_, out, errs := runCLI("check", "--window", "2s", "--max-size", limit, "--only=event-size,first-event", "--json", "-", url)
		var rep report.CheckReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("stderr %q: stdout is not the JSON report (%v)", errs, err)
		}
		if c := checkResult(rep, "event-size"); c.Status != report.StatusFail || !strings.Contains(c.Reason, "a line or event over 1.0 MiB") {
			t.Errorf("event-size: %s %q", c.Status, c.Reason)
		}
		if c := checkResult(rep, "first-event"); c.Status != report.StatusFail || !strings.Contains(c.Reason, "too large to read") {
			t.Errorf("first-event: %s %q", c.Status, c.Reason)
		}
	})
}

func TestOneStreamDefaults(t *testing.T) {
	for _, name := range []string{"tap", "check", "decode"} {
		cmd := newApp(nil, nil).Command(name)
		if cmd == nil {
			t.Fatalf("no %s command", name)
		}
		found := false
		for _, f := range cmd.Flags {
			if f.Names()[0] == "max-size" {
				found = true
				if got := fmt.Sprint(f.(interface{ GetValue() string }).GetValue()); got != fmt.Sprint(sse.OneStreamMaxSize) {
					t.Errorf("%s --max-size defaults to %s, want %d", name, got, sse.OneStreamMaxSize)
				}
			}
		}
		if !found {
			t.Errorf("%s has no --max-size", name)
		}
	}
}

// TestOneStreamBoundIsNotPreallocated: the 64 MiB bound costs nothing until
// an event needs it; a decoder's memory grows only with the actual event.
func TestOneStreamBoundIsNotPreallocated(t *testing.T) {
	in := strings.Repeat("id: 7\ndata: a small event\n\n", 1000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	dec := sse.NewDecoder(strings.NewReader(in), sse.Config{MaxSize: sse.OneStreamMaxSize})
	n := 0
	for dec.Next() {
		n++
	}
	runtime.ReadMemStats(&after)
	if dec.Err() != nil || n != 1000 {
		t.Fatalf("%d events, err %v", n, dec.Err())
	}
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("1000 small events with a %d-byte bound: %d bytes allocated", sse.OneStreamMaxSize, got)
	if got > 1<<20 {
		t.Errorf("decoding 1000 small events with a %d-byte bound allocated %d bytes: the bound is being preallocated", sse.OneStreamMaxSize, got)
	}
}

func checkResult(rep report.CheckReport, id string) report.CheckResult {
	for _, c := range rep.Checks {
		if c.ID == id {
			return c
		}
	}
	return report.CheckResult{ID: id, Status: "missing"}
}
