package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
)

// startServe runs the reference server on a real loopback port.
func startServe(t *testing.T) string {
	t.Helper()
	srv, err := fixtures.New(fixtures.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { srv.Close(); hs.Close() })
	return "http://" + ln.Addr().String()
}

func TestRunBadScenarioIsOneLineExit2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("url: http://127.0.0.1:1/events\nconections: 10\nduration: 5s\n"), 0o644)
	cases := [][]string{
		{"run", bad},
		{"run", "--url", "http://127.0.0.1:1/", "--connections", "ten"},
		{"run", "--duration", "5s"},
		{"run", filepath.Join(dir, "missing.yaml")},
	}
	for _, args := range cases {
		code, _, errs := runCLI(args...)
		if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q: want exit 2 and one line", args, code, errs)
		}
	}
	if _, _, errs := runCLI("run", bad); !strings.Contains(errs, ":2:") || !strings.Contains(errs, "conections") {
		t.Errorf("error does not name the key and line: %q", errs)
	}
}

func TestRunWritesResult(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	base := startServe(t)
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, errs := runCLI("run", "--url", base+"/events?rate=10&topic=cli", "--connections", "20",
		"--ramp", "100ms", "--duration", "2s", "--sequence", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counters.StreamsOpened != 20 || res.Counters.Events < 200 || res.Metrics["delivery"].Count != res.Counters.Events {
		t.Fatalf("result counters %+v", res.Counters)
	}
	var sc map[string]any
	if err := json.Unmarshal(res.Scenario, &sc); err != nil || sc["connections"] != float64(20) {
		t.Fatalf("scenario as run missing from the result: %s", res.Scenario)
	}
	for _, want := range []string{"first_event", "delivery", "streams  opened 20", "result: " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
}

func TestRunUnreachableIsExit3WithResult(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, errs := runCLI("run", "--url", "http://127.0.0.1:1/events", "--connections", "2", "--duration", "1s", "--quiet", "--out", out)
	if code != 3 || !strings.Contains(errs, "connect_error") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if _, err := report.ReadResult(out); err != nil {
		t.Fatalf("the result must still be written: %v", err)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real ssebench once for the tests that run it as a
// process (signals, shard workers).
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ssebench-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ssebench")
		if b, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestPreflightRefusesBeforeLoad(t *testing.T) {
	code, _, errs := runCLI("run", "--url", "http://127.0.0.1:1/events", "--connections", "50000", "--procs", "1", "--duration", "10s", "--quiet",
		"--out", filepath.Join(t.TempDir(), "r.json"))
	if code != 2 || !strings.Contains(errs, "pre-flight problem") || !strings.Contains(errs, "use --procs 3") || !strings.Contains(errs, "--force") {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
}

func TestRunProcsFromCLI(t *testing.T) {
	t.Parallel() // the real binary in its own process, checking outputs, not figures
	base := startServe(t)
	bin := binary(t)
	out := filepath.Join(t.TempDir(), "procs.json")
	cmd := exec.Command(bin, "run", "--url", base+"/events?rate=20&count=5&topic=cliprocs", "--connections", "24", "--ramp", "100ms",
		"--duration", "3s", "--reconnect", "never", "--procs", "2", "--out", out)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counters.StreamsOpened != 24 || res.Counters.Events != 24*5 || !strings.Contains(string(b), "running as 2 shard processes") {
		t.Fatalf("counters %+v\n%s", res.Counters, b)
	}
}

// TestSignalWritesPartialResult runs the real binary and stops it with
// SIGINT (Ctrl-C) and with SIGTERM (kill, Kubernetes): the result is
// written, marked partial, and the exit code is 128 + the signal.
func TestSignalWritesPartialResult(t *testing.T) {
	t.Parallel() // the real binary in its own process, checking outputs, not figures
	base := startServe(t)
	bin := binary(t)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, report.ExitInterrupted}, {syscall.SIGTERM, report.ExitTerminated}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "partial.json")
			cmd := exec.Command(bin, "run", "--url", base+"/events?rate=5&topic=sig", "--connections", "10", "--ramp", "100ms", "--duration", "5m", "--out", out)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2500 * time.Millisecond)
			cmd.Process.Signal(tc.sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
					t.Fatalf("exit: %v, want %d\n%s", err, tc.code, stderr.String())
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("run did not stop within 20 s of %v", tc.sig)
			}
			res, err := report.ReadResult(out)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Partial || res.Counters.Events == 0 || res.Counters.StreamsOpened != 10 {
				t.Fatalf("partial %v, counters %+v", res.Partial, res.Counters)
			}
		})
	}
}
