package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/urfave/cli/v2"
)

// stubApp is the real app with every command's action replaced by one
// that records what the parser gave it: the positional arguments and the
// value of every flag that was set.
func stubApp(t *testing.T) (*cli.App, func() (string, []string, map[string]string)) {
	t.Helper()
	app := newApp(nil, nil)
	var (
		ran  string
		args []string
		set  map[string]string
	)
	for _, c := range app.Commands { // the app's own (buildCommands): safe to change
		c.Action = func(c *cli.Context) error {
			ran, args, set = c.Command.Name, c.Args().Slice(), map[string]string{}
			for _, f := range c.Command.Flags {
				n := f.Names()[0]
				switch {
				case !c.IsSet(n):
				case c.Generic(n) != nil: // a repeatable list (not a flag.Getter)
					set[n] = fmt.Sprint(c.Generic(n))
				default:
					set[n] = fmt.Sprint(c.Value(n))
				}
			}
			return nil
		}
	}
	return app, func() (string, []string, map[string]string) { return ran, args, set }
}

// sampleValue is a value the flag accepts.
func sampleValue(f cli.Flag) string {
	switch f.(type) {
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag:
		return "7"
	case *cli.DurationFlag:
		return "3s"
	case *cli.Float64Flag:
		return "1.5"
	}
	return "v1"
}

// TestFlagsInAnyPosition: for every command, a value flag and a bool flag
// written after (and between) the arguments are read, the arguments stay
// in order, and "--" ends the flags.
func TestFlagsInAnyPosition(t *testing.T) {
	app, got := stubApp(t)
	want := len(app.Commands) // before the first run adds "help"
	tested := 0
	for _, cmd := range app.Commands {
		var value, boolean cli.Flag
		for _, f := range cmd.Flags {
			vt, ok := f.(interface{ TakesValue() bool })
			switch {
			case !ok:
			case vt.TakesValue() && value == nil:
				if _, isSlice := f.(*cli.StringSliceFlag); !isSlice {
					value = f
				}
			case !vt.TakesValue() && boolean == nil:
				boolean = f
			}
		}
		if value == nil {
			// No flags (the hidden shard worker): the arguments alone.
			value = &cli.StringFlag{Name: "none"}
		}
		vname, val := value.Names()[0], sampleValue(value)
		short := vname
		if names := value.Names(); len(names) > 1 {
			short = names[len(names)-1]
		}
		line := []string{"ssebench", cmd.Name, "ARG1", dashed(short), val, "ARG2"}
		if vname == "none" {
			line = []string{"ssebench", cmd.Name, "ARG1", "ARG2"}
		}
		if boolean != nil {
			line = append(line, dashed(boolean.Names()[0]))
		}
		t.Run(cmd.Name, func(t *testing.T) {
			if err := runApp(context.Background(), app, line); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			ran, args, set := got()
			if ran != cmd.Name || !slices.Equal(args, []string{"ARG1", "ARG2"}) {
				t.Fatalf("%q: ran %q with arguments %q, want %s with [ARG1 ARG2]", line, ran, args, cmd.Name)
			}
			if vname != "none" && !strings.Contains(set[vname], strings.TrimSuffix(val, "s")) {
				t.Errorf("%q: --%s = %q, want %s", line, vname, set[vname], val)
			}
			if boolean != nil && set[boolean.Names()[0]] != "true" {
				t.Errorf("%q: --%s not set", line, boolean.Names()[0])
			}

			line := []string{"ssebench", cmd.Name, "ARG1", "--", dashed(vname), val}
			if err := runApp(context.Background(), app, line); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			_, args, set = got()
			if !slices.Equal(args, []string{"ARG1", dashed(vname), val}) || set[vname] != "" {
				t.Errorf("%q: arguments %q, flags %v: after -- everything is an argument", line, args, set)
			}
		})
		tested++
	}
	if tested != want || tested < 10 {
		t.Fatalf("tested %d commands", tested)
	}
}

// TestFlagsAfterTheTargetRun runs the lines of the issue for real: flags
// after the URL (check, tap) and after the file (report, run).
func TestFlagsAfterTheTargetRun(t *testing.T) {
	t.Parallel() // checks outputs, not figures: other such tests may run beside it
	base := startCheckOrigin(t)
	var mu sync.Mutex
	var seen []string
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Test"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
	}))
	t.Cleanup(spy.Close)
	dir := t.TempDir()

	t.Run("check URL --json FILE", func(t *testing.T) {
		out := filepath.Join(dir, "check.json")
		code, _, errs := runCLI("check", base+"/events?rate=10", "--only", "status,content-type", "--window", "1s", "--json", out)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"ssebench/check/v1"`) {
			t.Fatalf("--json after the URL wrote nothing (%v)", err)
		}
	})
	t.Run("tap URL -H", func(t *testing.T) {
		code, out, errs := runCLI("tap", spy.URL, "-H", "X-Test: y", "--count", "1")
		mu.Lock()
		defer mu.Unlock()
		if code != 0 || !slices.Equal(seen, []string{"y"}) {
			t.Fatalf("exit %d, server saw X-Test %q (want [y]): %s%s", code, seen, errs, out)
		}
	})
	t.Run("report FILE --html FILE", func(t *testing.T) {
		html := filepath.Join(dir, "r.html")
		code, _, errs := runCLI("report", filepath.Join("report", "testdata", "load-result.json"), "--html", html, "--quiet")
		if code == 2 {
			t.Fatalf("exit 2: %s", errs)
		}
		if _, err := os.Stat(html); err != nil {
			t.Fatalf("--html after the file: %v", err)
		}
	})
	t.Run("run FILE --unknown-flag", func(t *testing.T) {
		code, _, errs := runCLI("run", "scenarios/examples/serve-local.yaml", "--conections", "5")
		if code != 2 || !strings.Contains(errs, "unknown flag --conections: did you mean --connections?") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Fatalf("exit %d, stderr %q: want 2 and one line naming the flag", code, errs)
		}
	})
	t.Run("run FILE --flag without its value", func(t *testing.T) {
		code, _, errs := runCLI("run", "scenarios/examples/serve-local.yaml", "--connections")
		if code != 2 || !strings.Contains(errs, "flag needs an argument: --connections") {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
	})
}
