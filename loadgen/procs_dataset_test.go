package loadgen

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/scenarios"
)

// loadScenario reads a scenario file the way `ssebench run FILE` does:
// scenarios.FromCLI with the run flags and none of them given.
func loadScenario(path string) (*scenarios.Scenario, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	for _, f := range scenarios.Flags() {
		if err := f.Apply(fs); err != nil {
			return nil, err
		}
	}
	if err := fs.Parse([]string{path}); err != nil {
		return nil, err
	}
	return scenarios.FromCLI(cli.NewContext(cli.NewApp(), fs, nil))
}

// datasetName is unlike any file in this package's directory (the tests'
// working directory), so a worker that looked for the dataset there
// instead of beside the scenario file would fail to find it.
const datasetName = "prompts-beside-the-scenario.jsonl"

// writeDatasetScenario writes dir/sub/s.yaml, a request-mode scenario
// against url whose request.dataset names a file beside it, and the
// dataset, whose prompts are p0, p1 and p2. It returns the scenario path.
func writeDatasetScenario(t *testing.T, dir, url string) string {
	t.Helper()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	rows := `{"prompt":"p0"}` + "\n" + `{"prompt":"p1"}` + "\n" + `{"prompt":"p2"}` + "\n"
	if err := os.WriteFile(filepath.Join(sub, datasetName), []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := "url: " + url + "\nmode: request\nmethod: POST\nduration: 2s\n" +
		"request:\n  rate: 20\n  count: 6\n  dataset: " + datasetName + "\n" +
		`body: '{"model":"m","stream":true,"prompt":{{json .prompt}}}'` + "\n"
	p := filepath.Join(sub, "s.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// workerScenario round-trips s through the file RunProcs hands its
// workers, as a worker reads it.
func workerScenario(t *testing.T, s *scenarios.Scenario) *scenarios.Scenario {
	t.Helper()
	file, err := writeScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(file)
	ws, err := ReadWorkerScenario(file)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// checkWorkerBodies fails unless the worker's scenario opens the dataset
// at want and renders its rows.
func checkWorkerBodies(t *testing.T, ws *scenarios.Scenario, want string) {
	t.Helper()
	if got := ws.DatasetPath(); got != want {
		t.Fatalf("worker's dataset path %q, want %q", got, want)
	}
	b, err := ws.Bodies()
	if err != nil {
		t.Fatalf("worker cannot load its bodies: %v", err)
	}
	out, err := b.Render(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"prompt":"p1"`) {
		t.Fatalf("worker's body %s does not come from the dataset", out)
	}
}

func TestWorkerScenarioKeepsDatasetBesideScenario(t *testing.T) {
	dir := t.TempDir()
	p := writeDatasetScenario(t, dir, "http://127.0.0.1:1/v1/chat/completions")
	s, err := loadScenario(p)
	if err != nil {
		t.Fatal(err)
	}
	ws := workerScenario(t, s)
	checkWorkerBodies(t, ws, filepath.Join(dir, "sub", datasetName))
	if s.Request.Dataset != datasetName {
		t.Fatalf("writing the worker scenario changed the parent's request.dataset to %q", s.Request.Dataset)
	}
}

// A scenario loaded by a relative path resolves its dataset against the
// working directory of the parent; the worker gets an absolute path, so it
// finds the file from any working directory.
func TestWorkerScenarioDatasetFromRelativeScenarioPath(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	writeDatasetScenario(t, dir, "http://127.0.0.1:1/v1/chat/completions")
	t.Chdir(dir)
	s, err := loadScenario(filepath.Join("sub", "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	file, err := writeScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(file)
	t.Chdir(t.TempDir()) // the worker's working directory is elsewhere
	ws, err := ReadWorkerScenario(file)
	if err != nil {
		t.Fatal(err)
	}
	checkWorkerBodies(t, ws, filepath.Join(dir, "sub", datasetName))
}

// End to end: shard processes started by RunProcs send bodies rendered
// from a dataset named relative to the scenario file.
func TestRequestProcsDatasetBesideScenario(t *testing.T) {
	h := &llm{Tokens: 2}
	url := h.start(t)
	s, err := loadScenario(writeDatasetScenario(t, t.TempDir(), url))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunProcs(ctx, s, ProcOptions{Procs: 2, Command: []string{exe}}, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Counters
	if c.Requests != 6 || c.RequestsOK != 6 {
		t.Fatalf("counters %+v notes %v: want 6 requests, all ok", c, res.Notes)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]int{}
	for _, b := range h.bodies {
		for _, p := range []string{"p0", "p1", "p2"} {
			if strings.Contains(b, `"prompt":"`+p+`"`) {
				seen[p]++
			}
		}
	}
	if len(h.bodies) != 6 || len(seen) != 3 {
		t.Fatalf("server got %d bodies %q, want 6 rendered from the 3 dataset rows", len(h.bodies), h.bodies)
	}
}
