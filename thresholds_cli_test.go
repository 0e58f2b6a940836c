package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A threshold on something the run cannot produce is refused before any
// load is sent: exit 2, one line, a did-you-mean, no result written.
func TestRunRefusesThresholdItCannotProduce(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"ends.cancelld == 0", "did you mean ends.cancelled?"},
		{"ttft.p99 < 1s", "ttft is measured only in mode request"},
	} {
		out := filepath.Join(t.TempDir(), "r.json")
		code, _, stderr := runCLI("run", "--url", "http://127.0.0.1:1/events", "--connections", "1", "--duration", "1s",
			"--quiet", "--out", out, "--threshold", tc.expr)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line with %q", tc.expr, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%q: a result was written: the run went ahead", tc.expr)
		}
	}
}
