package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/report"
)

// TestRunURLAloneRunsTheDefaultLoad: no --connections is 100 streams (a
// URL alone is also 30 s; the duration is shortened here), said before
// the load and in the summary; a load that was given is not called a
// default.
func TestRunURLAloneRunsTheDefaultLoad(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	base := startServe(t)
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, errs := runCLI("run", "--url", base+"/events?rate=5", "--ramp", "100ms", "--duration", "1500ms", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	const said = "100 streams (default), 1.5s; --connections and --duration choose them"
	if !strings.Contains(errs, "load: "+said) {
		t.Errorf("the start does not say the load is a default:\n%s", errs)
	}
	if !strings.Contains(stdout, "note: "+said) {
		t.Errorf("the summary does not say the load is a default:\n%s", stdout)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counters.StreamsOpened != 100 {
		t.Errorf("opened %d streams, want the default 100", res.Counters.StreamsOpened)
	}
	code, stdout, errs = runCLI("run", "--url", base+"/events?rate=5", "--connections", "3", "--duration", "1s", "--quiet", "--out", out)
	if code != 0 || strings.Contains(stdout, "(default)") {
		t.Errorf("exit %d; a given load is called a default:\n%s%s", code, stdout, errs)
	}
}
