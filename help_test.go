package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/scenarios"
)

// Every flag that takes a value names it in --help (--procs N, --out
// FILE), never urfave/cli's generic "value"; -H and --data say the same
// thing in every command; the top-level help shows demo, run and check.
func TestHelpIsConsistentAcrossCommands(t *testing.T) {
	app := newApp(nil, nil)
	placeholder := regexp.MustCompile("`[^`]+`")
	for _, cmd := range app.Commands {
		for _, f := range cmd.Flags {
			df, ok := f.(cli.DocGenerationFlag)
			if vf, visible := f.(cli.VisibleFlag); !ok || !df.TakesValue() || visible && !vf.IsVisible() {
				continue
			}
			name := f.Names()[0]
			if !placeholder.MatchString(df.GetUsage()) {
				t.Errorf("%s --%s takes a value but its usage names no placeholder (`N`, `FILE`, ...): %q", cmd.Name, name, df.GetUsage())
			}
			switch name {
			case "header":
				if !strings.Contains(df.GetUsage(), scenarios.EnvRule) {
					t.Errorf("%s --header: usage %q lacks the one ${NAME} rule %q", cmd.Name, df.GetUsage(), scenarios.EnvRule)
				}
			case "data", "body":
				if !strings.HasPrefix(df.GetUsage(), scenarios.BodyUsage) {
					t.Errorf("%s --%s: usage %q does not start with the one body text %q", cmd.Name, name, df.GetUsage(), scenarios.BodyUsage)
				}
			}
		}
		// The rendered help, as a user sees it.
		var out bytes.Buffer
		if err := runApp(t.Context(), newApp(&out, &out), []string{"ssebench", cmd.Name, "--help"}); err != nil {
			t.Fatalf("%s --help: %v", cmd.Name, err)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "-") && regexp.MustCompile(`(--?[a-z0-9-]+) value\b`).MatchString(line) {
				t.Errorf("%s --help shows a flag with the placeholder \"value\": %s", cmd.Name, strings.TrimSpace(line))
			}
		}
	}
	var top bytes.Buffer
	if err := runApp(t.Context(), newApp(&top, &top), []string{"ssebench", "--help"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ssebench demo", "ssebench run --url", "ssebench check "} {
		if !strings.Contains(top.String(), want) {
			t.Errorf("ssebench --help has no example of %q:\n%s", want, top.String())
		}
	}
}
