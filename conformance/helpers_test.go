package conformance

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (refresh with -update if intended):\ngot\n%s\nwant\n%s", name, got, want)
	}
}

// ref is the reference server for a test, as it is (answering CORS) and
// as a server without CORS (ignoreOrigin).
type ref struct {
	srv    *fixtures.Server
	ts     *httptest.Server
	noCORS *httptest.Server
}

func startRef(t testing.TB) *ref {
	t.Helper()
	srv, err := fixtures.New(fixtures.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	noCORS := httptest.NewServer(ignoreOrigin(srv.Handler()))
	t.Cleanup(ts.Close)
	t.Cleanup(noCORS.Close)
	// Cleanups run last-in first-out: streams end before the listeners close.
	t.Cleanup(func() { srv.Close() })
	return &ref{srv: srv, ts: ts, noCORS: noCORS}
}

// events is the /events URL on a topic of its own, plus query.
func (r *ref) events(topic, query string) string {
	u := r.ts.URL + "/events?topic=" + topic
	if query != "" {
		u += "&" + query
	}
	return u
}

// ignoreOrigin makes the reference server one without CORS, as if it
// ignored the Origin header: no Access-Control-* headers, and a preflight
// (OPTIONS) is refused like any unknown method.
func ignoreOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Origin")
		next.ServeHTTP(w, r)
	})
}

// topicName turns a test name into a topic of its own.
func topicName(t testing.TB) string {
	return strings.NewReplacer("/", ".", " ", "_", "=", "-", ",", "_").Replace(t.Name())
}

// failed lists the IDs of failed checks, sorted.
func failed(rep *report.CheckReport) []string {
	var ids []string
	for _, c := range rep.Checks {
		if c.Status == report.StatusFail {
			ids = append(ids, c.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func result(rep *report.CheckReport, id string) report.CheckResult {
	for _, c := range rep.Checks {
		if c.ID == id {
			return c
		}
	}
	return report.CheckResult{}
}

// table renders rep for failure messages.
func table(rep *report.CheckReport) string {
	var b bytes.Buffer
	WriteTable(&b, rep, false)
	return b.String()
}

// expectFailing asserts that exactly the expected checks failed, that
// every other check passed or was skipped with a reason, that failures
// carry evidence or a reason and a fix, and that the gate matches.
func expectFailing(t *testing.T, rep *report.CheckReport, want []string) {
	t.Helper()
	want = slices.Clone(want)
	sort.Strings(want)
	got := failed(rep)
	if !slices.Equal(got, want) {
		t.Errorf("failing checks %v, want %v\n%s", got, want, table(rep))
		return
	}
	gate := true
	for _, c := range rep.Checks {
		switch c.Status {
		case report.StatusSkip:
			if c.Reason == "" {
				t.Errorf("%s skipped without a reason", c.ID)
			}
		case report.StatusFail:
			if c.Reason == "" && c.Evidence == "" {
				t.Errorf("%s failed without reason or evidence", c.ID)
			}
			if c.Fix == "" || c.Ref == "" {
				t.Errorf("%s failed without fix or ref", c.ID)
			}
			if c.Severity == report.SeverityError {
				gate = false
			}
		case report.StatusPass:
			if c.Evidence == "" {
				t.Errorf("%s passed without evidence", c.ID)
			}
		default:
			t.Errorf("%s has status %q", c.ID, c.Status)
		}
	}
	if rep.Passed != gate {
		t.Errorf("Passed = %v, want %v", rep.Passed, gate)
	}
}

// runAll runs the configs concurrently, at most par at a time (go test
// would run only GOMAXPROCS parallel subtests, and these runs mostly
// wait), and returns the reports in order. It fails the test on errors.
func runAll(t *testing.T, cfgs []Config, par int) []*report.CheckReport {
	t.Helper()
	reps := make([]*report.CheckReport, len(cfgs))
	errs := make([]error, len(cfgs))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			reps[i], errs[i] = Run(ctx, cfg)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d (%s): %v", i, cfgs[i].URL, err)
		}
	}
	return reps
}
