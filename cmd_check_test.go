package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
)

func startCheckOrigin(t *testing.T) string {
	t.Helper()
	srv, err := fixtures.New(fixtures.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() { srv.Close() })
	return ts.URL
}

// The CLI app shares its command values, so runCLI calls run one at a time.
func TestCheckExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no url", []string{"check"}, 2, "check takes one URL"},
		{"bad url", []string{"check", "ftp://x"}, 2, `"ftp://x" is not an http(s) URL with a host`},
		{"unknown only", []string{"check", "--only", "status,nope", "http://127.0.0.1:1/events"}, 2, `--only: unknown check "nope"`},
		{"unknown skip", []string{"check", "--skip", "bogus", "http://127.0.0.1:1/events"}, 2, `--skip: unknown check "bogus"`},
		{"bad hold", []string{"check", "--hold", "1s", "http://127.0.0.1:1/events"}, 2, "--hold 1s"},
		{"bad origin", []string{"check", "--origin", "https://a.example/x", "http://127.0.0.1:1/events"}, 2, "--origin"},
		{"unreachable", []string{"check", "--no-color", "http://127.0.0.1:1/events"}, 3, "connection refused"},
		{"diagnose without via", []string{"diagnose", "--origin", "http://127.0.0.1:1/events"}, 2, "--via is required"},
		{"diagnose without origin", []string{"diagnose", "--via", "http://127.0.0.1:1/events"}, 2, "--origin is required"},
		{"diagnose bad via", []string{"diagnose", "--origin", "http://127.0.0.1:1/events", "--via", "nope"}, 2, `--via: "nope" is not an http(s) URL with a host`},
		{"diagnose unreachable", []string{"diagnose", "--window", "2s", "--origin", "http://127.0.0.1:1/events", "--via", "http://127.0.0.1:1/x"}, 3, "unreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(tc.args...)
			if code == 3 && out != "" {
				t.Errorf("unreachable: stdout %q, want nothing (no table of checks that never ran)", out)
			}
			if code != tc.code || !strings.Contains(errs, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want it to contain %q)", code, tc.code, errs, tc.msg)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("usage error is not one line: %q", errs)
			}
		})
	}
}

func TestCheckCommand(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	base := startCheckOrigin(t)
	dir := t.TempDir()
	only := "--only=status,content-type,cache-control,utf8,ids,retry-hint"

	t.Run("clean passes, JSON on stdout", func(t *testing.T) {
		code, out, errs := runCLI("check", "--window", "2s", only, "--json", "-", base+"/events?rate=10&topic=cli-clean")
		if code != 0 {
			t.Fatalf("exit %d: %s\n%s", code, errs, out)
		}
		var rep report.CheckReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("stdout is not the JSON report (%v):\n%s", err, out)
		}
		if rep.Schema != "ssebench/check/v1" || !rep.Passed || len(rep.Checks) != 6 || rep.Version == "" {
			t.Errorf("report %+v", rep)
		}
	})

	t.Run("fault fails with files", func(t *testing.T) {
		jsonPath, junitPath, htmlPath := filepath.Join(dir, "c.json"), filepath.Join(dir, "c.xml"), filepath.Join(dir, "c.html")
		code, out, errs := runCLI("check", "--window", "2s", only, "--json", jsonPath, "--junit", junitPath, "--html", htmlPath,
			base+"/events?rate=10&topic=cli-fault&fault=content-type=text/plain")
		if code != 1 || errs != "" {
			t.Fatalf("exit %d, stderr %q: want 1 and a quiet stderr\n%s", code, errs, out)
		}
		for _, want := range []string{"content-type", "FAIL", `Content-Type "text/plain" is not text/event-stream`, "fix:", "FAIL: 4 passed, 1 failed (1 error, 0 warning, 0 info), 1 skipped"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("colour codes in a non-terminal table")
		}
		// The files written are named; --only left out heartbeat and
		// idle-timeout, so nothing is said about --hold.
		for _, want := range []string{"json:   " + jsonPath, "junit:  " + junitPath, "html:   " + htmlPath} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("output does not name the file written (%q):\n%s", want, out)
			}
		}
		if strings.Contains(out, "--hold") {
			t.Errorf("a note about --hold, for checks --only did not select:\n%s", out)
		}
		b, err := os.ReadFile(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			Schema string           `json:"schema"`
			Checks []map[string]any `json:"checks"`
		}
		if err := json.Unmarshal(b, &raw); err != nil || raw.Schema != "ssebench/check/v1" {
			t.Fatalf("JSON %v: %s", err, b)
		}
		for _, c := range raw.Checks {
			for _, k := range []string{"id", "title", "severity", "status", "ref"} {
				if _, ok := c[k]; !ok {
					t.Errorf("check %v lacks %q", c["id"], k)
				}
			}
			if c["id"] == "content-type" && (c["status"] != "fail" || c["fix"] == nil || c["evidence"] == nil) {
				t.Errorf("content-type: %v", c)
			}
		}
		if x, err := os.ReadFile(junitPath); err != nil || !strings.Contains(string(x), "content-type") || !strings.Contains(string(x), "<failure") {
			t.Errorf("JUnit (%v):\n%s", err, x)
		}
		if h, err := os.ReadFile(htmlPath); err != nil || !strings.Contains(string(h), "content-type") {
			t.Errorf("HTML (%v): %d bytes", err, len(h))
		}
	})

	// serve is the known-good server: with --origin it answers CORS and
	// the preflight, so the whole catalogue passes.
	t.Run("--origin passes against serve", func(t *testing.T) {
		code, out, errs := runCLI("check", "--window", "3s", "--origin", "https://app.example.com", base+"/events?topic=cli-origin")
		if code != 0 {
			t.Fatalf("exit %d: %s\n%s", code, errs, out)
		}
		for _, want := range []string{"cors               error     pass", "cors-preflight     warning   pass", "\nPASS: "} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("interrupted is not PASS", func(t *testing.T) {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		err := runApp(ctx, newApp(&out, &errb), []string{"ssebench", "check", "--window", "5s", "--only", "status,content-type", "--json", filepath.Join(dir, "int.json"), base + "/events?topic=cli-interrupted"})
		if code := report.ExitCode(err); code != report.ExitInterrupted {
			t.Fatalf("exit %d (%v), want %d", code, err, report.ExitInterrupted)
		}
		if strings.Contains(out.String(), "PASS") || !strings.Contains(out.String(), "INTERRUPTED (partial results): 2 passed") {
			t.Errorf("an interrupted check's table:\n%s", out.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, "int.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep report.CheckReport
		if err := json.Unmarshal(b, &rep); err != nil || rep.Passed || !rep.Interrupted {
			t.Errorf("JSON of an interrupted check (%v): passed %v interrupted %v", err, rep.Passed, rep.Interrupted)
		}
	})
}
