package main

import (
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

// TestRunVerdictIsOneAnswer runs real load against servers that answer
// 204 to every stream, serve normally, or serve with a threshold that
// fails, and holds the exit code, the summary's verdict line, the HTML
// banner and the JUnit run case to one verdict (report.Verdict).
func TestRunVerdictIsOneAnswer(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	noContent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer noContent.Close()
	events := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			fmt.Fprintf(w, "id: %d\ndata: tick\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))
	defer events.Close()

	for _, tc := range []struct {
		name      string
		url       string
		threshold string
		code      int
		summary   string // the summary's last line starts so
		label     string // the HTML banner's label
		junitType string // the JUnit run case's failure type; "" passes
		stderr    string
	}{
		{"every stream answered 204", noContent.URL, "", 3, "✗ FAILED: no stream could be opened (mostly http_204 ×", "FAILED", "no-streams", "no stream could be opened (mostly http_204 ×"},
		{"no threshold", events.URL, "", 0, "done (no thresholds set)", "COMPLETED", "", ""},
		{"threshold passes", events.URL, "events > 0", 0, "✓ PASSED: the threshold passed", "PASSED", "", ""},
		{"threshold fails", events.URL, "events > 1000000", 1, "✗ FAILED: 1 of 1 thresholds failed", "FAILED", "", "events > 1000000 (was "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, page, junit := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html"), filepath.Join(dir, "r.xml")
			args := []string{"run", "--url", tc.url, "--connections", "3", "--duration", "1s", "--quiet",
				"--out", out, "--html", page, "--junit", junit}
			if tc.threshold != "" {
				args = append(args, "--threshold", tc.threshold)
			}
			code, stdout, stderr := runCLI(args...)
			res, err := report.ReadResult(out)
			if err != nil {
				t.Fatal(err)
			}
			v := report.Verdict(res)
			if code != tc.code || v.Code != code {
				t.Fatalf("exit %d, verdict %+v; want exit %d\nstderr: %s", code, v, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q, want %q", stderr, tc.stderr)
			}

			// The summary's verdict line: the last line before the paths written.
			var last string
			for _, l := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(l, "✓ ") || strings.HasPrefix(l, "✗ ") || strings.HasPrefix(l, "! ") || strings.HasPrefix(l, "done") {
					last = l
				}
			}
			if !strings.HasPrefix(last, tc.summary) || (v.Kind != report.VerdictCompleted && !strings.Contains(last, v.Headline)) {
				t.Errorf("summary verdict %q, want %q… with the headline %q", last, tc.summary, v.Headline)
			}

			b, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`<span class="label">([A-Z]+)</span><span class="headline">([^<]*)</span>`).FindStringSubmatch(string(b))
			if m == nil || m[1] != tc.label || html.UnescapeString(m[2]) != v.Headline {
				t.Errorf("HTML banner %q, want %s: %s", m, tc.label, v.Headline)
			}

			x, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Suites []struct {
					Cases []struct {
						Name    string `xml:"name,attr"`
						Failure *struct {
							Type    string `xml:"type,attr"`
							Message string `xml:"message,attr"`
						} `xml:"failure"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(x, &doc); err != nil {
				t.Fatal(err)
			}
			runCase := doc.Suites[0].Cases[0]
			switch {
			case tc.junitType == "" && runCase.Failure != nil:
				t.Errorf("JUnit run case fails (%+v), the verdict is %s", runCase.Failure, v.Kind)
			case tc.junitType != "" && (runCase.Failure == nil || runCase.Failure.Type != tc.junitType || runCase.Failure.Message != v.Headline):
				t.Errorf("JUnit run case %+v, want a %s failure %q", runCase.Failure, tc.junitType, v.Headline)
			}
			junitFails := false
			for _, s := range doc.Suites {
				for _, c := range s.Cases {
					junitFails = junitFails || c.Failure != nil
				}
			}
			if junitFails != v.Failed() {
				t.Errorf("JUnit has failures: %v; the verdict fails: %v", junitFails, v.Failed())
			}
		})
	}
}
