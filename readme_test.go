package main

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestREADMECommandsUseRealFlags reads every `ssebench ...` command line in
// the README's code blocks and checks that its command exists and that
// every --flag it passes is one of that command's flags, so the docs
// cannot drift from the CLI.
func TestREADMECommandsUseRealFlags(t *testing.T) {
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byName := map[string]*cli.Command{}
	for _, c := range newApp(nil, nil).Commands {
		byName[c.Name] = c
		for _, a := range c.Aliases {
			byName[a] = c
		}
	}

	var lines []string // command lines, continuations joined
	inCode := false
	var cont string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			cont = ""
			continue
		}
		if !inCode {
			continue
		}
		if cont != "" {
			line = cont + " " + strings.TrimSpace(line)
			cont = ""
		}
		if strings.HasSuffix(line, `\`) {
			cont = strings.TrimSuffix(line, `\`)
			continue
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	checked := 0
	for _, line := range lines {
		// A line may run ssebench after env assignments, taskset, go run .
		// or a pipe; look at each ssebench invocation on it.
		for _, seg := range strings.Split(line, "|") {
			fields := strings.Fields(subshell.ReplaceAllString(stripComment(seg), "PID"))
			at := -1
			for i, w := range fields {
				if w == "ssebench" || (w == "." && i > 1 && fields[i-1] == "run" && fields[i-2] == "go") {
					at = i
					break
				}
			}
			if at < 0 || at+1 >= len(fields) {
				continue
			}
			name := fields[at+1]
			if strings.HasPrefix(name, "-") || !isFlagName(name) {
				continue // ssebench --version, or output such as "ssebench serve: listening"
			}
			cmd, ok := byName[name]
			if !ok {
				if fields[at] == "ssebench" {
					t.Errorf("README runs unknown command %q: %s", name, line)
				}
				continue
			}
			known := map[string]bool{"help": true, "h": true}
			for _, fl := range cmd.Flags {
				for _, n := range fl.Names() {
					known[n] = true
				}
			}
			for _, w := range fields[at+2:] {
				if !strings.HasPrefix(w, "-") || w == "-" {
					continue
				}
				flag := strings.TrimLeft(w, "-")
				flag, _, _ = strings.Cut(flag, "=")
				if flag == "" || !isFlagName(flag) {
					continue
				}
				if !known[flag] {
					t.Errorf("README: 'ssebench %s' has no flag --%s: %s", name, flag, strings.TrimSpace(line))
				}
			}
			checked++
		}
	}
	if checked < 40 {
		t.Fatalf("checked only %d ssebench command lines; the README parser is broken", checked)
	}
}

// subshell matches $(...), whose words belong to another command.
var subshell = regexp.MustCompile(`\$\([^)]*\)`)

// stripComment cuts a shell comment that starts with " #".
func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		return s[:i]
	}
	return s
}

// isFlagName is true for words shaped like flag names; it skips values
// such as "-1" or "->" that start with a dash.
func isFlagName(s string) bool {
	for i, r := range s {
		ok := r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' && i > 0
		if !ok {
			return false
		}
	}
	return true
}
