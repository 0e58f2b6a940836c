package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/scenarios"
)

// TestREADMECommandsUseRealFlags reads every `ssebench ...` command line in
// the README's code blocks and checks that its command exists and that
// every --flag it passes is one of that command's flags, so the docs
// cannot drift from the CLI.
func TestREADMECommandsUseRealFlags(t *testing.T) {
	byName := map[string]*cli.Command{}
	for _, c := range newApp(nil, nil).Commands {
		byName[c.Name] = c
		for _, a := range c.Aliases {
			byName[a] = c
		}
	}

	var lines []string // command lines, continuations joined
	for _, file := range docFiles(t) {
		lines = append(lines, codeLines(t, file)...)
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
					t.Errorf("docs run unknown command %q: %s", name, line)
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
					t.Errorf("docs: 'ssebench %s' has no flag --%s: %s", name, flag, strings.TrimSpace(line))
				}
			}
			checked++
		}
	}
	if checked < 40 {
		t.Fatalf("checked only %d ssebench command lines; the README parser is broken", checked)
	}
}

// docFiles are the documentation pages whose command lines are checked:
// the README and every page of docs/ it links to.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md"}, pages...)
}

// codeLines are the lines of a Markdown file's code blocks, continuations
// joined.
func codeLines(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	inFence, inCode := false, false
	var cont string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fence := strings.TrimSpace(line); strings.HasPrefix(fence, "```") {
			// ```text blocks are output, not command lines.
			inFence = !inFence
			inCode = inFence && fence != "```text"
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
	return lines
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

// shellWords splits one shell command line into its commands' words:
// quotes removed, $(...) replaced by a number, a comment cut, a new command
// started at |, &&, ||, ; and &. Good enough for documentation lines.
func shellWords(line string) [][]string {
	line = subshell.ReplaceAllString(line, "12345") // $(pgrep ...): a PID
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	end := func() {
		flush()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			w.WriteString(line[i+1 : i+1+j])
			inWord, i = true, i+1+j
		case ch == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				j = len(line) - i - 1
			}
			w.WriteString(line[i+1 : i+1+j])
			inWord, i = true, i+1+j
		case ch == '\\' && i+1 < len(line):
			w.WriteByte(line[i+1])
			inWord, i = true, i+1
		case ch == '#' && !inWord:
			end()
			return cmds
		case ch == '|' || ch == ';' || ch == '&' || ch == '>' || ch == '<':
			end()
		case ch == ' ' || ch == '\t':
			flush()
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	end()
	return cmds
}

// docLines are the command lines of the README, deploy/k8s/README.md and
// every command's --help (its Description's indented example lines).
func docLines(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, file := range append(docFiles(t), "deploy/k8s/README.md") {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		inFence, inCode, cont := false, false, ""
		for _, line := range strings.Split(string(b), "\n") {
			if fence := strings.TrimSpace(line); strings.HasPrefix(fence, "```") {
				// YAML blocks (CI job files) hold commands in YAML
				// syntax, not shell lines.
				inFence, cont = !inFence, ""
				inCode = inFence && !strings.HasPrefix(fence, "```yaml") && fence != "```text" // output is no command line
				continue
			}
			if !inCode {
				continue
			}
			if cont != "" {
				line, cont = cont+" "+strings.TrimSpace(line), ""
			}
			if strings.HasSuffix(line, `\`) {
				cont = strings.TrimSuffix(line, `\`)
				continue
			}
			out[file] = append(out[file], line)
		}
	}
	app := newApp(nil, nil)
	helps := []string{app.Description}
	for _, c := range app.Commands {
		helps = append(helps, c.Description)
	}
	for _, h := range helps {
		cont := ""
		for _, line := range strings.Split(h, "\n") {
			if cont != "" {
				line, cont = cont+" "+strings.TrimSpace(line), ""
			}
			if strings.HasSuffix(line, `\`) {
				cont = strings.TrimSuffix(line, `\`)
				continue
			}
			if strings.HasPrefix(line, "   ssebench ") {
				out["--help"] = append(out["--help"], line)
			}
		}
	}
	return out
}

// TestDocCommandLinesParse runs every ssebench command line of the
// README, deploy/k8s/README.md and every --help through the real parser
// (flags in any position, as users type them) with each command's action
// replaced: the command exists, every flag exists and takes the value
// given, the arguments are as many as the command takes, and a run line
// whose scenario is complete (no file, or a file in the repository) is a
// valid scenario.
func TestDocCommandLinesParse(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	app.Commands = slices.Clone(app.Commands)
	for i, c := range app.Commands {
		cp := *c
		cp.Action = docCheck
		app.Commands[i] = &cp
	}
	checked := 0
	for src, lines := range docLines(t) {
		for _, line := range lines {
			for _, words := range shellWords(line) {
				at := slices.Index(words, "ssebench")
				if at < 0 && len(words) > 2 && words[0] == "go" && words[1] == "run" && words[2] == "." {
					at = 2
				}
				if at < 0 || at+1 >= len(words) || !isFlagName(words[at+1]) {
					continue // not an invocation, or output such as "ssebench serve: listening"
				}
				if words[at+1] == "--version" || words[at+1] == "--help" {
					continue
				}
				args := append([]string{"ssebench"}, words[at+1:]...)
				if err := runApp(context.Background(), app, args); err != nil {
					t.Errorf("%s: %s\n\t%v", src, strings.TrimSpace(line), err)
				}
				checked++
			}
		}
	}
	if checked < 80 {
		t.Fatalf("checked only %d command lines; the parser is broken", checked)
	}
}

// docCheck is the stand-in action: what can be checked without running.
func docCheck(c *cli.Context) error {
	n := c.NArg()
	switch c.Command.Name {
	case "check", "tap":
		if n != 1 {
			return fmt.Errorf("%s takes one URL, got %d arguments", c.Command.Name, n)
		}
	case "diagnose", "capacity", "serve", "demo", "version":
		if n != 0 {
			return fmt.Errorf("%s takes no arguments, got %q", c.Command.Name, c.Args().Slice())
		}
	case "decode":
		if n > 1 {
			return fmt.Errorf("decode takes one FILE")
		}
	case "report":
		if n == 0 {
			return fmt.Errorf("report takes RESULT.json files")
		}
	case "run":
		if n > 1 {
			return fmt.Errorf("run takes one scenario file, got %d", n)
		}
		if n == 1 {
			if _, err := os.Stat(c.Args().First()); err != nil {
				return nil // a placeholder such as scenario.yaml
			}
		}
		if _, err := scenarios.FromCLI(c); err != nil {
			return err
		}
	}
	return nil
}

// The README reads in order: the two set-up commands first (and only
// they, in the first code block), then the quick start (demo, serve, run,
// check, in that order), the concepts, the command reference; every page
// of docs/ and ARCHITECTURE.md is linked from it.
func TestREADMEReadsInOrder(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	first := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(text)
	if first == nil {
		t.Fatal("no code block in the README")
	}
	var cmds []string
	for _, l := range strings.Split(strings.TrimSpace(first[1]), "\n") {
		cmds = append(cmds, strings.TrimSpace(stripComment(l)))
	}
	if strings.Join(cmds, "|") != "go run . demo|./test.sh" {
		t.Errorf("the README's first code block is %q, want exactly the two set-up commands", cmds)
	}
	at := func(s string) int {
		i := strings.Index(text, s)
		if i < 0 {
			t.Errorf("README lacks %q", s)
		}
		return i
	}
	steps := []int{at("## Quick start"), at("\ngo run . demo\n```\n\nIt starts"), at("\nssebench serve --addr"), at("\nssebench run --url"), at("\nssebench check '"),
		at("## Concepts"), at("## Command reference")}
	if !slices.IsSorted(steps) {
		t.Errorf("README order %v: want quick start (demo, serve, run, check), then concepts, then the command reference", steps)
	}
	pages, _ := filepath.Glob(filepath.Join("docs", "*.md"))
	if len(pages) == 0 {
		t.Fatal("no docs/*.md pages")
	}
	for _, p := range append(pages, "ARCHITECTURE.md") {
		if !strings.Contains(text, "]("+filepath.ToSlash(p)) {
			t.Errorf("README does not link %s", p)
		}
	}
}
