package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

func TestRunStopsEarlyWhenNothingConnects(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	out := filepath.Join(t.TempDir(), "r.json")
	began := time.Now()
	code, stdout, errs := runCLI("run", "--url", "http://"+freeAddr(t)+"/events", "--connections", "5", "--duration", "60s", "--quiet", "--out", out)
	took := time.Since(began)
	if code != report.ExitCannotRun {
		t.Fatalf("exit %d, want 3; stderr %q", code, errs)
	}
	if took > 10*time.Second {
		t.Errorf("a 60 s run against a closed port took %v: it should stop in its first seconds", took)
	}
	line := strings.TrimSpace(errs)
	if strings.Contains(line, "\n") || !strings.Contains(line, "nothing could connect") || !strings.Contains(line, "connect_error") ||
		!strings.Contains(line, "connection refused") {
		t.Errorf("want one line naming the cause, got %q", errs)
	}
	if !strings.Contains(stdout, "STOPPED EARLY (nothing could connect") {
		t.Errorf("the summary does not say the run stopped early:\n%s", stdout)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatalf("the result must still be written: %v", err)
	}
	if !res.Partial || !res.Unreachable || !strings.Contains(res.PartialReason, "connection refused") {
		t.Errorf("result not marked stopped early with its reason: partial %v unreachable %v reason %q", res.Partial, res.Unreachable, res.PartialReason)
	}
	if v := report.Verdict(res); v.Code != report.ExitCannotRun || !strings.Contains(v.Headline, "connection refused") {
		t.Errorf("verdict %+v", v)
	}
}

// TestTLSVerificationFailureSuggestsInsecure: run, tap and check against
// a self-signed server all name --insecure, in the same words, and the
// recorded error sample does not repeat its "tls:" prefix.
func TestTLSVerificationFailureSuggestsInsecure(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: hi\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer ts.Close()
	url := ts.URL + "/events"
	out := filepath.Join(t.TempDir(), "r.json")
	for _, args := range [][]string{
		{"run", "--url", url, "--connections", "3", "--duration", "60s", "--quiet", "--out", out},
		{"tap", "--duration", "5s", url},
		{"check", "--only", "content-type", url},
	} {
		code, _, errs := runCLI(args...)
		if code != report.ExitCannotRun || !strings.Contains(errs, "("+report.InsecureHint+")") {
			t.Errorf("%s: exit %d, stderr %q: want exit 3 and %q", args[0], code, errs, report.InsecureHint)
		}
		if strings.Contains(errs, "tls: tls:") {
			t.Errorf("%s repeats a prefix: %q", args[0], errs)
		}
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	sample := res.Counters.ErrorSamples[report.EndTLSError]
	if !strings.HasPrefix(sample, "tls: failed to verify certificate") || strings.Contains(sample, "tls: tls:") {
		t.Errorf("tls_error sample %q", sample)
	}
	// With --insecure the same server is reachable: nothing stops it early.
	code, _, errs := runCLI("run", "--insecure", "--url", url, "--connections", "2", "--duration", "2500ms", "--quiet", "--out", out)
	if code != 0 {
		t.Errorf("--insecure run: exit %d: %s", code, errs)
	}
}

// TestRunProcsStopsEarlyWhenNothingConnects: shard processes merged live
// stop together, on the parent's decision, with the same cause.
func TestRunProcsStopsEarlyWhenNothingConnects(t *testing.T) {
	t.Parallel() // the real binary in its own process, checking outputs, not figures
	bin := binary(t)
	out := filepath.Join(t.TempDir(), "procs.json")
	began := time.Now()
	b, err := exec.Command(bin, "run", "--url", "http://"+freeAddr(t)+"/events", "--connections", "10", "--duration", "60s",
		"--procs", "2", "--quiet", "--out", out).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != report.ExitCannotRun || !strings.Contains(string(b), "nothing could connect") {
		t.Fatalf("%v, want exit 3 naming the cause:\n%s", err, b)
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("a 60 s run in 2 processes against a closed port took %v", took)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Unreachable || !strings.Contains(res.PartialReason, "connection refused") {
		t.Errorf("result not marked unreachable: %v %q", res.Unreachable, res.PartialReason)
	}
}
