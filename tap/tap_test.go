package tap

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

// scriptedServer answers /events with a stream that resumes after
// Last-Event-ID, sends retry: 50, and closes after 3 events; after
// `stopAfter` connections it answers 204.
type scriptedServer struct {
	mu        sync.Mutex
	lastIDs   []string
	stopAfter int
}

func (s *scriptedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.lastIDs = append(s.lastIDs, r.Header.Get("Last-Event-ID"))
	n := len(s.lastIDs)
	s.mu.Unlock()
	if r.Header.Get("Accept") != "text/event-stream" {
		http.Error(w, "want Accept: text/event-stream", http.StatusNotAcceptable)
		return
	}
	if s.stopAfter > 0 && n > s.stopAfter {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	start, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprint(w, "retry: 50\n: hello\n\n")
	for i := start + 1; i <= start+3; i++ {
		fmt.Fprintf(w, "id: %d\nevent: tick\ndata: {\"seq\":%d}\n\n", i, i)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestTapCountAndHumanOutput(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&scriptedServer{})
	defer srv.Close()
	var out bytes.Buffer
	sum, err := Run(context.Background(), Config{URL: srv.URL, Count: 2, LastEventID: "40"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 2 || sum.Connects != 1 || sum.LastEventID != "42" || sum.Comments != 1 {
		t.Fatalf("summary %+v", sum)
	}
	o := out.String()
	for _, want := range []string{"200 OK", "Content-Type: text/event-stream", "retry 50ms", ": hello",
		`tick id=41  {"seq":41}`, `tick id=42  {"seq":42}`, "2 events, 1 comments", "count 2 reached", "first event"} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
	if sum.GapMin <= 0 || sum.GapMax < sum.GapMin || sum.Headers <= 0 || sum.FirstEvent < sum.Headers {
		t.Errorf("timings not plausible: %+v", sum)
	}
}

func TestTapReconnectLikeBrowser(t *testing.T) {
	t.Parallel()
	ss := &scriptedServer{stopAfter: 3}
	srv := httptest.NewServer(ss)
	defer srv.Close()
	var out bytes.Buffer
	began := time.Now()
	sum, err := Run(context.Background(), Config{URL: srv.URL, Reconnect: true, JSON: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	// Three streams of three events, resumed each time, then a 204 stops it.
	if sum.Events != 9 || sum.Connects != 4 || sum.End != report.EndHTTP204 {
		t.Fatalf("summary %+v", sum)
	}
	ss.mu.Lock()
	ids := strings.Join(ss.lastIDs, ",")
	ss.mu.Unlock()
	if ids != ",3,6,9" {
		t.Fatalf("Last-Event-ID per request = %q, want ,3,6,9", ids)
	}
	// The server's retry (50ms) was used, not the 3 s default.
	if el := time.Since(began); el > 6*time.Second { // 3 reconnects at the default 3 s would take 9 s
		t.Fatalf("took %v: retry field not honoured", el)
	}
	var kinds []string
	seqs := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("bad NDJSON line %q: %v", sc.Text(), err)
		}
		kinds = append(kinds, rec["kind"].(string))
		if rec["kind"] == "event" {
			seqs++
			if rec["id"] != strconv.Itoa(seqs) || rec["type"] != "tick" {
				t.Fatalf("event %d: %v", seqs, rec)
			}
			if _, ok := rec["t_ms"].(float64); !ok {
				t.Fatalf("event lacks t_ms: %v", rec)
			}
		}
	}
	got := strings.Join(kinds, " ")
	if strings.Count(got, "reconnect") != 3 || !strings.HasSuffix(got, "response summary") || !strings.HasPrefix(got, "response retry comment event") {
		t.Fatalf("record kinds: %s", got)
	}
}

func TestTapNotAnEventStream(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"error":"nope"}`)
	}))
	defer srv.Close()
	var out bytes.Buffer
	_, err := Run(context.Background(), Config{URL: srv.URL, Reconnect: true}, &out)
	if err == nil || !strings.Contains(err.Error(), "application/json") {
		t.Fatalf("err = %v, want a content-type error", err)
	}
}

func TestTapDurationStops(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	var out bytes.Buffer
	began := time.Now()
	sum, err := Run(context.Background(), Config{URL: srv.URL, Duration: 200 * time.Millisecond}, &out)
	if err != nil || sum.End != report.EndDuration {
		t.Fatalf("err %v, summary %+v", err, sum)
	}
	if el := time.Since(began); el > 3*time.Second {
		t.Fatalf("did not stop in time: %v", el)
	}
}
