package loadgen

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// checkEnds holds a result to the end-class registry: every class the run
// produced is registered for its mode, counted as an error (errors_by_kind)
// exactly when the registry says so, and given an error sample only then.
// run and runReq call it, so every class a loadgen test produces is held.
func checkEnds(t *testing.T, res *report.Result) {
	t.Helper()
	errs := sumErrors(res)
	for class, n := range res.Counters.Ends {
		c, ok := report.LookupEnd(res.Mode, class)
		if !ok {
			t.Errorf("end class %q (%d) is not in the registry for mode %q", class, n, res.Mode)
			continue
		}
		want := int64(0)
		if c.Error {
			want = n
		}
		if errs[class] != want {
			t.Errorf("end %s ×%d: errors_by_kind %d, want %d (registry error=%v)", class, n, errs[class], want, c.Error)
		}
		if _, sampled := res.Counters.ErrorSamples[class]; sampled && !c.Error {
			t.Errorf("end %s has an error sample but is not an error", class)
		}
	}
}

// mixedServer answers each request in one of several ways, in turn, so
// one run ends streams with many classes.
func mixedServer(t *testing.T) string {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl := w.(http.Flusher)
		stream := func() {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			fl.Flush()
		}
		switch n.Add(1) % 8 {
		case 0:
			w.WriteHeader(http.StatusNoContent)
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "hello")
		case 3:
			stream()
			fmt.Fprint(w, "data: one\n\n")
		case 4:
			stream()
			fmt.Fprint(w, "data: one\n\ndata: cut")
		case 5:
			<-r.Context().Done() // no headers
		case 6:
			stream()
			<-r.Context().Done() // no first event
		case 7:
			stream()
			for {
				fmt.Fprint(w, "data: tick\n\n")
				fl.Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestEndClassesAgreeEverywhere runs against a server that ends streams
// in eight ways, and a request run whose body template fails for every
// request after the first, and holds the result JSON, the HTML report,
// the JUnit XML and the summary to one answer on which ends are errors.
func TestEndClassesAgreeEverywhere(t *testing.T) {
	t.Parallel()
	url := mixedServer(t)
	sub := run(t, scenario(t, url, 8, 2500*time.Millisecond, func(s *scenarios.Scenario) {
		s.Reconnect.Policy = "never"
	}))
	for _, class := range []string{report.EndHTTP204, "http_503", report.EndContentType, report.EndEOF,
		report.EndEOFMidEvent, report.EndNoHeaders, report.EndNoFirstEvent, report.EndCancelled} {
		if sub.Counters.Ends[class] == 0 {
			t.Errorf("subscribe run: no %s end: %v", class, sub.Counters.Ends)
		}
	}
	reqSrv := (&llm{Tokens: 2}).start(t)
	req := runReq(t, reqScenario(t, reqSrv, func(s *scenarios.Scenario) {
		s.Body = `{"stream":true{{if ge .n 1}}{{index .missing 1}}{{end}}}`
		s.Request.Rate = 5
		s.Duration = scenarios.Duration(600 * time.Millisecond)
	}))
	if req.Counters.Ends[report.EndBodyError] == 0 || req.Counters.Ends[report.EndSentinel] == 0 {
		t.Errorf("request run: want body_error and sentinel ends: %v", req.Counters.Ends)
	}

	for _, res := range []*report.Result{sub, req} {
		// Through the result JSON, as `ssebench report` reads it.
		path := filepath.Join(t.TempDir(), "r.json")
		if err := report.WriteFile(path, report.RenderJSON(res)); err != nil {
			t.Fatal(err)
		}
		r, err := report.ReadResult(path)
		if err != nil {
			t.Fatal(err)
		}
		errs := sumErrors(r)
		var want []string // the error ends, from the result JSON
		for class := range r.Counters.Ends {
			if errs[class] > 0 {
				want = append(want, class)
			}
		}
		slices.Sort(want)

		var html bytes.Buffer
		if err := report.WriteHTML(&html, r); err != nil {
			t.Fatal(err)
		}
		bad := regexp.MustCompile(`<tr class="bad"><td><span class="mono">([a-z0-9_]+)</span>`)
		var gotHTML []string
		for _, m := range bad.FindAllStringSubmatch(html.String(), -1) {
			if _, isEnd := r.Counters.Ends[m[1]]; isEnd {
				gotHTML = append(gotHTML, m[1])
			}
		}
		slices.Sort(gotHTML)
		if !slices.Equal(gotHTML, want) {
			t.Errorf("mode %s: HTML marks %v as abnormal ends, the result JSON counts %v as errors", r.Mode, gotHTML, want)
		}
		for class := range r.Counters.Ends {
			if !strings.Contains(html.String(), `<span class="mono">`+class+`</span><div class="sub">`) {
				t.Errorf("mode %s: HTML gives end %s no description", r.Mode, class)
			}
		}

		var junit bytes.Buffer
		if err := report.WriteJUnit(&junit, r); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Out []string `xml:"testsuite>testcase>system-out"`
			Fai []string `xml:"testsuite>testcase>failure"`
		}
		if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(append(doc.Out, doc.Fai...), "\n")
		m := regexp.MustCompile(`(?m)^error ends: (.*)$`).FindStringSubmatch(text)
		var gotJUnit []string
		if m != nil {
			for _, part := range strings.Split(m[1], ", ") {
				gotJUnit = append(gotJUnit, strings.Fields(part)[0])
			}
		}
		slices.Sort(gotJUnit)
		if !slices.Equal(gotJUnit, want) {
			t.Errorf("mode %s: JUnit lists %v as error ends, the result JSON counts %v", r.Mode, gotJUnit, want)
		}

		var sum bytes.Buffer
		if err := report.WriteSummary(&sum, r); err != nil {
			t.Fatal(err)
		}
		for _, class := range want {
			if !regexp.MustCompile(`errors: (.*, )?` + class + ` \d`).MatchString(sum.String()) {
				t.Errorf("mode %s: summary does not list %s among the error ends:\n%s", r.Mode, class, sum.String())
			}
		}
	}
	// The two meanings of http_204: a stream told not to reconnect is
	// not an error; a request answered 204 got no answer.
	if report.EndIsError(report.ModeSubscribe, report.EndHTTP204) || !report.EndIsError(report.ModeRequest, report.EndHTTP204) {
		t.Error("http_204: want normal for a stream, an error for a request")
	}
}
