package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\ngot\n%s\nwant\n%s", name, got, want)
	}
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(append([]string{"ssebench"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func TestDecodeSpecExamples(t *testing.T) {
	code, out, errs := runCLI("decode", "testdata/spec-examples.txt")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden(t, "spec-examples.golden", []byte(out))
	if !strings.Contains(errs, "ended inside an event") {
		t.Fatalf("the dropped trailing event is not reported: %q", errs)
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"help", []string{"--help"}, 0, ""},
		{"command help", []string{"tap", "--help"}, 0, ""},
		{"unknown flag", []string{"tap", "--nope", "http://x"}, 2, "unknown flag --nope (see 'ssebench tap --help')"},
		{"flag typo", []string{"run", "--conections", "5"}, 2, "unknown flag --conections: did you mean --connections? (see 'ssebench run --help')"},
		{"short flag typo", []string{"check", "-J", "x", "http://x"}, 2, "unknown flag -J"},
		{"flag without its value", []string{"check", "http://x", "--json"}, 2, "flag needs an argument: --json"},
		{"bad flag value", []string{"tap", "--count", "lots", "http://x"}, 2, `invalid value "lots" for flag --count`},
		{"command typo", []string{"rnu"}, 2, `unknown command "rnu": did you mean "run"? (see 'ssebench --help')`},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate" (see 'ssebench --help' for the commands)`},
		{"app flag typo", []string{"--verison"}, 2, "unknown flag --verison"},
		{"version", []string{"version"}, 0, ""},
		{"help command", []string{"help", "run"}, 0, ""},
		{"help for no command", []string{"help", "rnu"}, 2, `unknown command "rnu": did you mean "run"?`},
		{"flag against the file", []string{"run", "scenarios/examples/steady.yaml", "--duration", "15s"}, 2,
			"--duration: 15s is shorter than the file's ramp 30s (scenarios/examples/steady.yaml:15): add --ramp 15s or less, or give a --duration of at least 30s"},
		{"missing file", []string{"decode", "testdata/does-not-exist"}, 2, "does-not-exist"},
		{"two files", []string{"decode", "a", "b"}, 2, "one FILE"},
		{"bad url", []string{"tap", "ftp://example"}, 2, `"ftp://example" is not an http(s) URL with a host`},
		{"bad header", []string{"tap", "-H", "NoColon", "http://127.0.0.1:1/"}, 2, `--header: "NoColon" is not a header`},
		{"unreachable", []string{"tap", "http://127.0.0.1:1/events"}, 3, "connection refused"},
		{"too large", []string{"decode", "--max-size", "8", "testdata/spec-examples.txt"}, 2, "longer than 8 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want it to contain %q)", code, tc.code, errs, tc.msg)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Fatalf("usage error is not one line: %q", errs)
			}
		})
	}
}

// TestNoFlagIsRequiredByTheParser: urfave/cli answers a missing required
// flag with the whole help page; commands check theirs and say it in one
// line (TestCheckExitCodes: diagnose without --via).
func TestNoFlagIsRequiredByTheParser(t *testing.T) {
	for _, cmd := range newApp(nil, nil).Commands {
		for _, f := range cmd.Flags {
			if rf, ok := f.(interface{ IsRequired() bool }); ok && rf.IsRequired() {
				t.Errorf("%s --%s: Required in the parser", cmd.Name, f.Names()[0])
			}
		}
	}
}

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errs := runCLI(args...)
		if code != 0 || !strings.HasPrefix(out, "ssebench ") || !strings.Contains(out, version) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}

// TestNoArgumentsShowsHelp: bare ssebench is the help, exit 0.
func TestNoArgumentsShowsHelp(t *testing.T) {
	code, out, _ := runCLI()
	if code != 0 || !strings.Contains(out, "COMMANDS:") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
