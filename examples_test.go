package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/report"
)

// exampleRuns says how each bundled example runs briefly: the flags that
// shorten it (the file's own load shape, thresholds, reconnect policy and
// the rest stay), and the environment its ${VAR}s need. Every file in
// scenarios/examples must have an entry.
var exampleRuns = map[string]struct {
	args []string
	env  []string
}{
	"serve-local.yaml": {args: []string{"--duration", "6s", "--ramp", "1s", "--connections", "50"}},
	"steady.yaml":      {args: []string{"--duration", "6s", "--ramp", "1s", "--connections", "50"}},
	"churn.yaml":       {args: []string{"--duration", "6s", "--ramp", "1s", "--connections", "50"}},
	"spike.yaml":       {args: []string{"--duration", "6s", "--ramp", "1s", "--connections", "60"}},
	"ramp.yaml":        {args: []string{"--duration", "6s", "--connections", "50"}},
	// rate=0.2: an event every 5 s, so the run lasts long enough for
	// every stream to get one.
	"soak.yaml":     {args: []string{"--duration", "12s", "--ramp", "1s", "--connections", "20"}},
	"progress.yaml": {args: []string{"--duration", "4s"}},
	"llm.yaml":      {args: []string{"--duration", "4s"}, env: []string{"OPENAI_API_KEY=sk-example"}},
	"capacity.yaml": {args: []string{"--start", "20", "--step", "20", "--max", "40", "--hold", "2s", "--ramp", "1s", "--refine", "0"}},
	// An example for a remote API: pointed at serve, its stages scaled
	// down to seconds (the same shape: ramp, hold, jump, capped hold, down).
	"custom-stages.yaml": {args: []string{"--url", "http://127.0.0.1:PORT/events?rate=1",
		"--stage", "1s:20:20", "--stage", "2s:20", "--stage", "0s:40", "--stage", "2s:40:40", "--stage", "1s:0"},
		env: []string{"TOKEN=example-token"}},
}

// TestExamplesPassAgainstServe: every bundled example, run briefly against
// `ssebench serve` as the README says (its 127.0.0.x:8080 moved to a free
// port), passes its own thresholds and exits 0. An example whose threshold
// does not fit what serve does fails here.
func TestExamplesPassAgainstServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every bundled example as a process for seconds each (the full suite runs it)")
	}
	bin := binary(t)
	files, err := filepath.Glob(filepath.Join("scenarios", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		if _, ok := exampleRuns[filepath.Base(f)]; !ok {
			t.Errorf("%s has no entry in exampleRuns: say how it runs briefly against serve", f)
		}
	}
	// Data files the examples name (relative to the file).
	others, _ := filepath.Glob(filepath.Join("scenarios", "examples", "*.jsonl"))
	names := make([]string, 0, len(exampleRuns))
	for name := range exampleRuns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			// Each example has serve to itself: ids on serve are a topic's
			// sequence, shared by every feed of the topic, so another
			// example's rate=1 feed would show as gaps to soak's --sequence.
			t.Parallel()
			_, port, _ := net.SplitHostPort(freeAddr(t))
			startServeAt(t, "127.0.0.1:"+port)
			startServeAt(t, "127.0.0.2:"+port)
			dir := t.TempDir()
			for _, f := range slices.Concat(files, others) {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				b = []byte(strings.NewReplacer("127.0.0.1:8080", "127.0.0.1:"+port, "127.0.0.2:8080", "127.0.0.2:"+port).Replace(string(b)))
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			run := exampleRuns[name]
			out := filepath.Join(t.TempDir(), "result.json")
			args := []string{"run", filepath.Join(dir, name), "--quiet", "--out", out}
			for _, a := range run.args {
				args = append(args, strings.ReplaceAll(a, "PORT", port))
			}
			cmd := exec.Command(bin, args...)
			cmd.Dir = t.TempDir() // capacity writes its HTML beside --out; nothing lands in the repo
			cmd.Env = append(os.Environ(), run.env...)
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("ssebench %s: %v\n%s", strings.Join(args, " "), err, b)
			}
			file, _ := os.ReadFile(filepath.Join(dir, name))
			want := strings.Count(string(file), "\n  - \"") // thresholds: list entries
			got, passed := exampleThresholds(t, out)
			if got < want || passed != got {
				t.Fatalf("%d thresholds evaluated (%d passed), the file has %d\n%s", got, passed, want, b)
			}
		})
	}
}

// exampleThresholds counts a result's thresholds and how many passed,
// for a run or a capacity result.
func exampleThresholds(t *testing.T, path string) (n, passed int) {
	t.Helper()
	saved, err := report.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if res := saved.Result; res != nil && res.Mode != "capacity" {
		for _, th := range res.Thresholds {
			n++
			if th.Passed {
				passed++
			}
		}
		return n, passed
	}
	c := saved.Capacity
	if c == nil {
		t.Fatalf("%s: neither a run nor a capacity result: schema %q", path, saved.Schema())
	}
	for _, st := range c.Steps {
		if st.Refine {
			continue
		}
		n, passed = 0, 0
		for _, th := range st.SLOs {
			n++
			if th.Passed {
				passed++
			}
		}
	}
	return n, passed
}
