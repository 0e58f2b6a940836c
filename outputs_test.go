package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outputCommands are the commands that write reports, each with a line
// that makes them write something (base is a reference server) and the
// output flags it takes with the kind of report each writes.
func outputCommands(base, dir string) []struct {
	name  string
	line  []string
	flags map[string]string // flag -> "json", "html", "junit" or "ndjson"
} {
	ev := base + "/events?rate=20"
	return []struct {
		name  string
		line  []string
		flags map[string]string
	}{
		{"run", []string{"run", "--url", ev, "--connections", "2", "--duration", "1s", "--quiet", "--out", filepath.Join(dir, "default-run.json")},
			map[string]string{"out": "json", "html": "html", "junit": "junit"}},
		{"capacity", []string{"capacity", "--url", ev, "--start", "2", "--max", "2", "--hold", "1s", "--ramp", "1s", "--refine", "0", "--quiet",
			"--out", filepath.Join(dir, "default-cap.json"), "--html", "none"},
			map[string]string{"out": "json", "html": "html"}},
		{"check", []string{"check", ev, "--only", "status,content-type", "--window", "1s"},
			map[string]string{"json": "json", "html": "html", "junit": "junit"}},
		{"diagnose", []string{"diagnose", "--origin", ev, "--via", ev, "--window", "1s"},
			map[string]string{"json": "json", "html": "html", "junit": "junit"}},
		{"report", []string{"report", filepath.Join("report", "testdata", "load-result.json")},
			map[string]string{"json": "json", "html": "html", "junit": "junit"}},
		{"tap", []string{"tap", ev, "--count", "2"}, map[string]string{"json": "ndjson"}},
	}
}

// looksLike checks that b is a whole report of its kind.
func looksLike(t *testing.T, kind string, b []byte) {
	t.Helper()
	s := strings.TrimSpace(string(b))
	ok := false
	switch kind {
	case "json":
		ok = json.Valid(b) && strings.HasPrefix(s, "{")
	case "ndjson":
		lines := strings.Split(s, "\n")
		ok = len(lines) >= 3
		for _, l := range lines {
			ok = ok && json.Valid([]byte(l))
		}
	case "html":
		ok = strings.HasPrefix(strings.ToLower(s), "<!doctype html") && strings.HasSuffix(s, "</html>")
	case "junit":
		ok = strings.HasPrefix(s, "<?xml") && strings.HasSuffix(s, "</testsuites>")
	}
	if !ok {
		t.Errorf("not a whole %s report: %.300q", kind, s)
	}
}

// TestEveryReportFileIsReplacedAtomically: every report file of every
// command is written as a new file renamed over the old one (a hard link
// to the old file keeps the old bytes), never truncated and rewritten in
// place, where a reader or an interrupted run would see half a report.
func TestEveryReportFileIsReplacedAtomically(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	base := startCheckOrigin(t)
	dir := t.TempDir()
	for _, cmd := range outputCommands(base, dir) {
		t.Run(cmd.name, func(t *testing.T) {
			t.Parallel()
			line := append([]string(nil), cmd.line...)
			files := map[string]string{}
			for flag := range cmd.flags {
				p := filepath.Join(dir, cmd.name+"-"+flag)
				if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Link(p, p+".link"); err != nil {
					t.Fatal(err)
				}
				files[flag] = p
				line = append(line, "--"+flag, p)
			}
			code, out, errs := runCLI(line...)
			// 3 is also a capacity search a loaded machine left inconclusive
			// (the generator saturated): its reports are written all the same.
			if code == 2 || code == 3 && cmd.name != "capacity" {
				t.Fatalf("exit %d: %s\n%s", code, errs, out)
			}
			for flag, p := range files {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				looksLike(t, cmd.flags[flag], b)
				if old, _ := os.ReadFile(p + ".link"); string(old) != "old" {
					t.Errorf("--%s: the old file was rewritten in place (%d bytes), not replaced", flag, len(old))
				}
				if !strings.Contains(out, p) {
					t.Errorf("--%s: the path written is not printed:\n%s", flag, out)
				}
			}
		})
	}
}

// TestReportsToStdout: '-' writes that report alone on stdout (what is
// for people goes to stderr), in every command for every output flag; two
// reports on stdout are refused in one line, exit 2.
func TestReportsToStdout(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	base := startCheckOrigin(t)
	dir := t.TempDir()
	for _, cmd := range outputCommands(base, dir) {
		var two []string
		for flag, kind := range cmd.flags {
			two = append(two, "--"+flag, "-")
			t.Run(cmd.name+"/"+flag, func(t *testing.T) {
				t.Parallel()
				code, out, errs := runCLI(append(append([]string(nil), cmd.line...), "--"+flag, "-")...)
				if code == 2 || code == 3 && cmd.name != "capacity" {
					t.Fatalf("exit %d: %s", code, errs)
				}
				looksLike(t, kind, []byte(out))
			})
		}
		if len(cmd.flags) < 2 {
			continue
		}
		t.Run(cmd.name+"/two", func(t *testing.T) {
			t.Parallel()
			code, out, errs := runCLI(append(append([]string(nil), cmd.line...), two...)...)
			if code != 2 || !strings.Contains(errs, "only one report can go to stdout") || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %d bytes: want 2 and one line", code, errs, len(out))
			}
		})
	}
}

// TestTapJSONKeepsItsOldForm: tap's --json was a bool; --json before the
// URL or another flag, or last, still prints NDJSON on stdout.
func TestTapJSONKeepsItsOldForm(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	ev := startCheckOrigin(t) + "/events?rate=20"
	for _, line := range [][]string{
		{"tap", "--json", ev, "--count", "2"},
		{"tap", "--json", "--count", "2", ev},
		{"tap", ev, "--count", "2", "--json"},
	} {
		code, out, errs := runCLI(line...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", line, code, errs)
		}
		looksLike(t, "ndjson", []byte(out))
		if !bytes.Contains([]byte(out), []byte(`"kind":"event"`)) {
			t.Errorf("%q: no events:\n%s", line, out)
		}
	}
}
