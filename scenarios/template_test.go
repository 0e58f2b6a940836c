package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// requestScenario parses a mode request scenario written to dir/name
// (so relative dataset paths resolve against dir).
func requestScenario(t *testing.T, dir, yaml string) *Scenario {
	t.Helper()
	p := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(p, []byte("url: http://127.0.0.1:1/v1/chat/completions\nmode: request\nmethod: POST\nduration: 10s\nrequest:\n  rate: 5\n"+yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(p)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

func writeDataset(t *testing.T, dir, name string, rows ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustBodies(t *testing.T, s *Scenario) *Bodies {
	t.Helper()
	b, err := s.Bodies()
	if err != nil {
		t.Fatalf("Bodies: %v", err)
	}
	return b
}

func render(t *testing.T, b *Bodies, n int64) string {
	t.Helper()
	out, err := b.Render(n, nil)
	if err != nil {
		t.Fatalf("Render(%d): %v", n, err)
	}
	return string(out)
}

func TestBodiesSequentialCycles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeDataset(t, dir, "p.jsonl", `{"prompt":"a","k":1}`, ``, `{"prompt":"b","k":2}`, `{"prompt":"c","k":3}`)
	s := requestScenario(t, dir, "  dataset: p.jsonl\nbody: '{{.prompt}}-{{.k}}-{{.n}}'\n")
	b := mustBodies(t, s)
	if b.Static() {
		t.Fatal("a template with actions is not static")
	}
	for n, want := range []string{"a-1-0", "b-2-1", "c-3-2", "a-1-3", "b-2-4", "c-3-5"} {
		if got := render(t, b, int64(n)); got != want {
			t.Errorf("Render(%d) = %q, want %q", n, got, want)
		}
	}
	// Render appends to dst.
	out, err := b.Render(1, []byte("prefix:"))
	if err != nil || string(out) != "prefix:b-2-1" {
		t.Errorf("append: %q, %v", out, err)
	}
}

func TestBodiesRandomOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeDataset(t, dir, "p.jsonl", `{"p":"a"}`, `{"p":"b"}`, `{"p":"c"}`, `{"p":"d"}`)
	s := requestScenario(t, dir, "  dataset: p.jsonl\n  order: random\nbody: '{{.p}}'\n")
	b := mustBodies(t, s)
	seen := map[string]int{}
	const draws = 4000
	for n := range int64(draws) {
		seen[render(t, b, n)]++
	}
	if len(seen) != 4 {
		t.Fatalf("rows drawn: %v, want a, b, c, d", seen)
	}
	// Uniform: each row near 1000 of 4000 (the bound is ~8 standard
	// deviations, so a fair draw never fails it, and sequential or a
	// stuck pick always does).
	for row, c := range seen {
		if c < 750 || c > 1250 {
			t.Errorf("row %s drawn %d times of %d: not uniform (%v)", row, c, draws, seen)
		}
	}
	// Not the sequential cycle.
	if render(t, b, 0)+render(t, b, 1)+render(t, b, 2)+render(t, b, 3) == "abcd" &&
		render(t, b, 0)+render(t, b, 1)+render(t, b, 2)+render(t, b, 3) == "abcd" {
		t.Error("random order looks sequential")
	}
}

func TestBodiesJSONEscapesPrompt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	prompts := []string{
		`She said "hi"` + "\nthen left.\tTab",
		`back\slash and </script> & <b>`,
		"unicode: héllo ✓ \u2028 line separator",
	}
	var rows []string
	for _, p := range prompts {
		b, _ := json.Marshal(map[string]string{"prompt": p})
		rows = append(rows, string(b))
	}
	writeDataset(t, dir, "p.jsonl", rows...)
	s := requestScenario(t, dir, "  dataset: p.jsonl\nbody: |\n  {\"messages\": [{\"role\": \"user\", \"content\": {{json .prompt}}}], \"n\": {{.n}}}\n")
	b := mustBodies(t, s)
	for i, want := range prompts {
		out := render(t, b, int64(i))
		var got struct {
			Messages []struct{ Role, Content string }
			N        int
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("body %d is not JSON: %v\n%s", i, err, out)
		}
		if len(got.Messages) != 1 || got.Messages[0].Content != want || got.N != i {
			t.Errorf("body %d: %+v, want content %q", i, got, want)
		}
		if strings.Contains(out, `\u003c`) {
			t.Errorf("body %d escapes < for HTML: %s", i, out)
		}
	}
}

func TestBodiesNumbersKeepTheirText(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeDataset(t, dir, "p.jsonl", `{"max_tokens": 256, "t": 0.7, "big": 12345678901234567890, "meta": {"id": "x"}, "tags": ["a"]}`)
	s := requestScenario(t, dir, "  dataset: p.jsonl\nbody: '{{.max_tokens}} {{.t}} {{.big}} {{.meta.id}} {{json .meta}} {{json .tags}} {{json .big}}'\n")
	want := `256 0.7 12345678901234567890 x {"id":"x"} ["a"] 12345678901234567890`
	if got := render(t, mustBodies(t, s), 0); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestBodiesStatic(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
		static           bool
	}{
		{"empty", "", "", true},
		{"plain JSON", `{"a": 1}`, `{"a": 1}`, true},
		{"comment only", `{"a": 1}{{/* note */}}`, `{"a": 1}`, true},
		{"an action", `{"id": "{{uuid}}"}`, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &Scenario{Mode: ModeRequest, URLs: []string{"http://127.0.0.1:1/"}, Body: tc.body, Duration: Duration(sec), Request: Request{Rate: 1}}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			b := mustBodies(t, s)
			if b.Static() != tc.static {
				t.Fatalf("Static() = %v, want %v", b.Static(), tc.static)
			}
			if tc.static {
				for n := range int64(3) {
					if got := render(t, b, n); got != tc.want {
						t.Errorf("Render(%d) = %q, want %q", n, got, tc.want)
					}
				}
			}
		})
	}
	// Mode subscribe sends the body as written, braces and all.
	s := &Scenario{URLs: []string{"http://127.0.0.1:1/"}, Body: `{{.prompt}}`, Connections: 1, Duration: Duration(sec)}
	b := mustBodies(t, s)
	if !b.Static() || render(t, b, 7) != `{{.prompt}}` {
		t.Errorf("subscribe body changed: static %v, %q", b.Static(), render(t, b, 7))
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestBodyFunctions(t *testing.T) {
	t.Setenv("SSEBENCH_TEST_MODEL", "m-1")
	dir := t.TempDir()
	writeDataset(t, dir, "p.jsonl", `{"lo": 3, "hi": "5"}`)
	s := requestScenario(t, dir, "  dataset: p.jsonl\nbody: '{{uuid}}|{{randInt 1 3}}|{{randInt .lo .hi}}|{{pick \"x\" \"y\" \"z\"}}|{{env \"SSEBENCH_TEST_MODEL\"}}'\n")
	b := mustBodies(t, s)
	ids := map[string]bool{}
	seen := map[string]map[string]bool{"r1": {}, "r2": {}, "pick": {}}
	for n := range int64(300) {
		parts := strings.Split(render(t, b, n), "|")
		if len(parts) != 5 {
			t.Fatalf("got %q", parts)
		}
		if !uuidRE.MatchString(parts[0]) {
			t.Errorf("uuid %q is not a version 4 UUID", parts[0])
		}
		ids[parts[0]] = true
		seen["r1"][parts[1]] = true
		seen["r2"][parts[2]] = true
		seen["pick"][parts[3]] = true
		if parts[4] != "m-1" {
			t.Errorf("env = %q", parts[4])
		}
	}
	if len(ids) != 300 {
		t.Errorf("%d distinct uuids of 300", len(ids))
	}
	// Both bounds included, nothing outside.
	for key, want := range map[string]string{"r1": "1 2 3", "r2": "3 4 5", "pick": "x y z"} {
		var got []string
		for _, v := range strings.Fields(want) {
			if seen[key][v] {
				got = append(got, v)
			}
		}
		if strings.Join(got, " ") != want || len(seen[key]) != 3 {
			t.Errorf("%s drew %v, want each of %s", key, seen[key], want)
		}
	}
}

// TestBodiesErrors: problems found when Bodies loads, each naming the
// body or the dataset's file and line.
func TestBodiesErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		rows  []string // the dataset p.jsonl; nil for none
		yaml  string
		want  string // the error, with DIR for the scenario's directory
		extra func(t *testing.T, err error)
	}{
		{"row missing a field", []string{`{"prompt":"a"}`, `{"text":"b"}`}, "  dataset: p.jsonl\nbody: '{{json .prompt}}'\n",
			`DIR/scenario.yaml:8: body: request 1 (dataset DIR/p.jsonl:2): template line 1:7: at <.prompt>: map has no entry for key "prompt"`, nil},
		{"not JSON", []string{`{"prompt":"a"}`, `{"prompt": nope}`}, "  dataset: p.jsonl\nbody: '{{.prompt}}'\n",
			`DIR/scenario.yaml:7: request.dataset: DIR/p.jsonl:2: not JSON: invalid character 'o' in literal null (expecting 'u')`, nil},
		{"not an object", []string{`["a"]`}, "  dataset: p.jsonl\nbody: '{{.prompt}}'\n",
			`DIR/scenario.yaml:7: request.dataset: DIR/p.jsonl:1: a row is a JSON object ({"prompt": "..."}), got an array`, nil},
		{"two values on a line", []string{`{"a":1} {"a":2}`}, "  dataset: p.jsonl\nbody: '{{.a}}'\n",
			`DIR/scenario.yaml:7: request.dataset: DIR/p.jsonl:1: more than one JSON value on the line (JSONL: one object per line)`, nil},
		{"empty dataset", []string{"", "  "}, "  dataset: p.jsonl\nbody: '{{.a}}'\n",
			`DIR/scenario.yaml:7: request.dataset: DIR/p.jsonl: no rows (a dataset is JSONL: one JSON object per line, e.g. {"prompt": "..."})`, nil},
		{"missing dataset", nil, "  dataset: nope.jsonl\nbody: '{{.a}}'\n",
			`DIR/scenario.yaml:7: request.dataset: open DIR/nope.jsonl: no such file or directory`,
			func(t *testing.T, err error) {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%v does not wrap os.ErrNotExist", err)
				}
			}},
		{"env unset", []string{`{"a":1}`}, "  dataset: p.jsonl\nbody: '{{env \"SSEBENCH_SURELY_UNSET\"}}'\n",
			`DIR/scenario.yaml:8: body: request 0 (dataset DIR/p.jsonl:1): template line 1:2: at <env "SSEBENCH_SURELY_UNSET">: error calling env: environment variable SSEBENCH_SURELY_UNSET is not set`, nil},
		{"randInt upside down", []string{`{"a":1}`}, "  dataset: p.jsonl\nbody: '{{randInt 5 1}}'\n",
			`DIR/scenario.yaml:8: body: request 0 (dataset DIR/p.jsonl:1): template line 1:2: at <randInt 5 1>: error calling randInt: hi 1 is below lo 5`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.rows != nil {
				writeDataset(t, dir, "p.jsonl", tc.rows...)
			}
			s := requestScenario(t, dir, tc.yaml)
			_, err := s.Bodies()
			if err == nil {
				t.Fatalf("no error, want %s", tc.want)
			}
			if got, want := err.Error(), strings.ReplaceAll(tc.want, "DIR", dir); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("%T is not a *FieldError", err)
			}
			if tc.extra != nil {
				tc.extra(t, err)
			}
		})
	}
}

func TestDatasetPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeDataset(t, sub, "p.jsonl", `{"prompt":"from sub"}`)
	file := filepath.Join(sub, "s.yaml")
	if err := os.WriteFile(file, []byte("url: http://127.0.0.1:1/\nmode: request\nduration: 1s\nbody: '{{.prompt}}'\nrequest:\n  concurrency: 1\n  dataset: p.jsonl\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The file's dataset is next to the file, wherever the run starts.
	s, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.DatasetPath(); got != filepath.Join(sub, "p.jsonl") {
		t.Errorf("from the file: %s", got)
	}
	if got := render(t, mustBodies(t, s), 0); got != "from sub" {
		t.Errorf("rendered %q", got)
	}
	// A Redacted copy (what reports keep) resolves the same way.
	if got := s.Redacted().DatasetPath(); got != filepath.Join(sub, "p.jsonl") {
		t.Errorf("redacted copy: %s", got)
	}
	// --dataset is relative to the working directory, like any flag path.
	s2, _, err := runCLI(t, file, "--dataset", "other.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.DatasetPath(); got != "other.jsonl" {
		t.Errorf("from the flag: %s", got)
	}
	// Absolute paths and Go-built scenarios are used as they are.
	abs := &Scenario{Mode: ModeRequest, Request: Request{Dataset: filepath.Join(sub, "p.jsonl")}}
	if got := abs.DatasetPath(); got != filepath.Join(sub, "p.jsonl") {
		t.Errorf("absolute: %s", got)
	}
	rel := &Scenario{Mode: ModeRequest, Request: Request{Dataset: "p.jsonl"}}
	if got := rel.DatasetPath(); got != "p.jsonl" {
		t.Errorf("built in Go: %s", got)
	}
}

// TestBodiesConcurrent renders from many goroutines at once (run with
// -race): each sequential body still matches its request number's row.
func TestBodiesConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var rows []string
	for i := range 7 {
		rows = append(rows, fmt.Sprintf(`{"prompt": "p%d"}`, i))
	}
	writeDataset(t, dir, "p.jsonl", rows...)
	for _, order := range []string{"sequential", "random"} {
		s := requestScenario(t, dir, "  dataset: p.jsonl\n  order: "+order+"\nbody: '{\"n\":{{.n}},\"p\":{{json .prompt}},\"id\":\"{{uuid}}\",\"x\":{{randInt 1 9}}}'\n")
		b := mustBodies(t, s)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				var buf []byte
				for i := range 200 {
					n := int64(g*200 + i)
					var err error
					if buf, err = b.Render(n, buf[:0]); err != nil {
						errs <- err
						return
					}
					var got struct {
						N int64
						P string
					}
					if err := json.Unmarshal(buf, &got); err != nil {
						errs <- fmt.Errorf("request %d: %v: %s", n, err, buf)
						return
					}
					if got.N != n || (order == "sequential" && got.P != fmt.Sprintf("p%d", n%7)) {
						errs <- fmt.Errorf("%s request %d got %+v", order, n, got)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

func BenchmarkBodiesRender(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.jsonl"), []byte(`{"prompt": "Explain \"SSE\" in one line.", "max_tokens": 64}`+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(p, []byte("url: http://127.0.0.1:1/\nmode: request\nduration: 1s\nrequest:\n  rate: 1\n  dataset: p.jsonl\nbody: '{\"messages\":[{\"role\":\"user\",\"content\":{{json .prompt}}}],\"max_tokens\":{{.max_tokens}},\"stream\":true}'\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := Load(p)
	if err != nil {
		b.Fatal(err)
	}
	bodies, err := s.Bodies()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var buf []byte
	for i := 0; b.Loop(); i++ {
		if buf, err = bodies.Render(int64(i), buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
