package scenarios

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func durPtr(d time.Duration) *Duration { v := Duration(d); return &v }
func intPtr(n int) *int                { return &n }

// TestCapacityParse: the capacity block decodes, Normalize fills the
// capacity command's defaults, and 0 stays a setting for ramp and refine.
func TestCapacityParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       Capacity
	}{
		{"defaults", "mode: capacity\nurl: http://127.0.0.1:1/events\n",
			Capacity{Start: 1000, Step: 1000, Hold: Duration(30 * time.Second), Ramp: durPtr(5 * time.Second), Refine: intPtr(2)}},
		{"step defaults to start", "mode: capacity\nurl: http://127.0.0.1:1/events\ncapacity:\n  start: 50\n",
			Capacity{Start: 50, Step: 50, Hold: Duration(30 * time.Second), Ramp: durPtr(5 * time.Second), Refine: intPtr(2)}},
		{"factor instead of step", "mode: capacity\nurl: http://127.0.0.1:1/events\ncapacity: {start: 100, factor: 1.5, max: 2000}\n",
			Capacity{Start: 100, Factor: 1.5, Max: 2000, Hold: Duration(30 * time.Second), Ramp: durPtr(5 * time.Second), Refine: intPtr(2)}},
		{"zero ramp and refine are settings", "mode: capacity\nurl: http://127.0.0.1:1/events\ncapacity:\n  ramp: 0s\n  refine: 0\n  hold: 3\n",
			Capacity{Start: 1000, Step: 1000, Hold: Duration(3 * time.Second), Ramp: durPtr(0), Refine: intPtr(0)}},
		{"every key", "mode: capacity\nurl: http://127.0.0.1:1/events\ncapacity:\n  start: 10\n  step: 20\n  max: 90\n  hold: 2s\n  ramp: 1s\n  refine: 3\n  server_metrics: http://127.0.0.1:9/metrics\n",
			Capacity{Start: 10, Step: 20, Max: 90, Hold: Duration(2 * time.Second), Ramp: durPtr(time.Second), Refine: intPtr(3), ServerMetrics: "http://127.0.0.1:9/metrics"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse([]byte(tc.yaml), "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Capacity, tc.want) {
				t.Errorf("capacity\n got %+v\nwant %+v", s.Capacity, tc.want)
			}
			// The streams are subscribe streams, with their defaults; the
			// load shape stays empty.
			if s.Mode != ModeCapacity || s.Reconnect.Policy != DefaultPolicy || s.Expect.LatencyField.Field != DefaultLatencyField ||
				s.Profile != "" || s.Stages != nil || s.Connections != 0 || s.Duration != 0 || s.Ramp != 0 {
				t.Errorf("normalized to %+v", s)
			}
			// JSON keeps 0 ramp and refine as settings.
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back Scenario
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			back.Normalize()
			if !reflect.DeepEqual(back.Capacity, tc.want) {
				t.Errorf("after JSON: %+v", back.Capacity)
			}
		})
	}
}

// TestCapacityOmittedElsewhere: a scenario of another mode has no
// capacity key in its JSON or YAML, so their results stay as they were.
func TestCapacityOmittedElsewhere(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"steady.yaml", "llm.yaml", "serve-local.yaml"} {
		s, err := Parse(exampleFiles()[name], name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(s)
		if strings.Contains(string(b), `"capacity"`) {
			t.Errorf("%s: JSON has a capacity key: %s", name, b)
		}
	}
	s, err := Parse(exampleFiles()["capacity.yaml"], "capacity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"capacity":{"start":1000,"step":1000,"max":10000,"hold":"20s","ramp":"5s","refine":2}`) {
		t.Errorf("capacity.yaml JSON: %s", b)
	}
}

func TestCapacityExample(t *testing.T) {
	t.Parallel()
	s, err := Load(filepath.Join("examples", "capacity.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode != ModeCapacity || s.URLs[0] != "http://127.0.0.1:8080/events?rate=1" {
		t.Errorf("mode %q url %v", s.Mode, s.URLs)
	}
	if want := []string{"delivery.p99 < 200ms", "streams_failed.rate < 0.1%"}; !reflect.DeepEqual(s.Thresholds, want) {
		t.Errorf("thresholds %q", s.Thresholds)
	}
	want := Capacity{Start: 1000, Step: 1000, Max: 10000, Hold: Duration(20 * time.Second), Ramp: durPtr(5 * time.Second), Refine: intPtr(2)}
	if !reflect.DeepEqual(s.Capacity, want) {
		t.Errorf("capacity %+v", s.Capacity)
	}
}

// TestCapacityValidation: every bad setting is one line naming the file,
// the line and the key, like the rest of the scenario.
func TestCapacityValidation(t *testing.T) {
	t.Parallel()
	const head = "mode: capacity\nurl: http://127.0.0.1:1/events\n"
	cases := []struct{ name, yaml, want string }{
		{"start zero written", head + "capacity:\n  start: 0\n", `c.yaml:4: capacity.start: 0: want at least 1 stream`},
		{"start negative", head + "capacity:\n  start: -5\n", `c.yaml:4: capacity.start: -5: want at least 1 stream`},
		{"max below start", head + "capacity:\n  start: 500\n  max: 100\n", `c.yaml:5: capacity.max: 100 is below start (500)`},
		{"max below default start", head + "capacity:\n  max: 100\n", `c.yaml:4: capacity.max: 100 is below start (1000)`},
		{"step zero written", head + "capacity:\n  step: 0\n", `c.yaml:4: capacity.step: 0: want a number of streams above 0`},
		{"step and factor", head + "capacity:\n  step: 10\n  factor: 1.5\n", `c.yaml:5: capacity.factor: step 10 and factor 1.5: give one or the other`},
		{"factor not above 1", head + "capacity:\n  factor: 1\n", `c.yaml:4: capacity.factor: 1: want a multiplier above 1 (e.g. 1.5), at most 100`},
		{"too many steps", head + "capacity:\n  start: 1\n  step: 1\n  max: 5000\n", `c.yaml:6: capacity.max: 5000: from start 1 that is more than 1000 steps; use a larger step or factor`},
		{"short hold", head + "capacity:\n  hold: 200ms\n", `c.yaml:4: capacity.hold: 200ms: want at least 1s (each step is judged on whole seconds of its hold)`},
		{"hold zero written", head + "capacity:\n  hold: 0\n", `c.yaml:4: capacity.hold: 0s: want at least 1s (each step is judged on whole seconds of its hold)`},
		{"hold not whole", head + "capacity:\n  hold: 1500ms\n", `c.yaml:4: capacity.hold: 1.5s: want whole seconds (steps are judged on the once-a-second measurements)`},
		{"ramp not whole", head + "capacity:\n  ramp: 500ms\n", `c.yaml:4: capacity.ramp: 500ms: want 0 or whole seconds (steps are judged on the once-a-second measurements)`},
		{"refine too many", head + "capacity:\n  refine: 21\n", `c.yaml:4: capacity.refine: 21: want 0 (off) to 20 steps`},
		{"bad pid", head + "capacity:\n  server_pid: -1\n", `c.yaml:4: capacity.server_pid: -1 is not a process id`},
		{"bad metrics url", head + "capacity:\n  server_metrics: ftp://x/metrics\n", `c.yaml:4: capacity.server_metrics: "ftp://x/metrics": want an http:// or https:// URL of a Prometheus text endpoint`},
		{"both observers", head + "capacity:\n  server_pid: 7\n  server_metrics: http://127.0.0.1:1/metrics\n",
			`c.yaml:5: capacity.server_metrics: server_pid and server_metrics: observe the server one way or the other, not both`},
		{"wrong type", head + "capacity:\n  start: lots\n", `c.yaml:4: capacity.start: "lots" is not a whole number`},
		{"unknown key", head + "capacity:\n  hodl: 10s\n", `c.yaml:4: capacity: unknown key "hodl" (did you mean "hold"?)`},
		{"key at the wrong level", head + "hold: 10s\n", `c.yaml:3: unknown key "hold" (it belongs under "capacity")`},
		// The other modes' load shape is refused, not ignored.
		{"connections", head + "connections: 100\n", `c.yaml:3: connections: not used in mode capacity, which makes its own steps; give capacity.start and capacity.max`},
		{"profile", head + "profile: steady\n", `c.yaml:3: profile: "steady": not used in mode capacity, which makes its own steps (capacity.start, capacity.step or capacity.factor, capacity.max)`},
		{"shorthand ramp", head + "ramp: 5s\n", `c.yaml:3: ramp: not used in mode capacity, which makes its own steps; each step's streams open over capacity.ramp`},
		{"duration", head + "duration: 1m\n", `c.yaml:3: duration: not used in mode capacity, which makes its own steps; each step is held for capacity.hold`},
		{"stages", head + "stages: [10s:5]\n", `c.yaml:3: stages: not used in mode capacity, which makes its own steps (capacity.start, capacity.step or capacity.factor, capacity.max)`},
		{"arrival rate", head + "arrival_rate: 5\n", `c.yaml:3: arrival_rate: not used in mode capacity, which makes its own steps, whose streams open evenly over capacity.ramp`},
		{"abort on fail", head + "abort_on_fail: true\n", `c.yaml:3: abort_on_fail: not used in mode capacity, whose search stops at the first step that breaks a threshold`},
		{"request keys", head + "request:\n  rate: 5\n", `c.yaml:4: request.rate: only used in mode request, and the mode here is capacity; add mode: request (--mode request)`},
		// Capacity keys in the other modes.
		{"in subscribe mode", "url: http://127.0.0.1:1/events\nconnections: 1\nduration: 1m\ncapacity:\n  hold: 10s\n  start: 5\n",
			`c.yaml:5: capacity.hold: only used in mode capacity, and the mode here is subscribe; add mode: capacity (--mode capacity)`},
		{"zero written in subscribe mode", "url: http://127.0.0.1:1/events\nconnections: 1\nduration: 1m\ncapacity:\n  refine: 0\n",
			`c.yaml:5: capacity.refine: only used in mode capacity, and the mode here is subscribe; add mode: capacity (--mode capacity)`},
		{"in request mode", "mode: request\nurl: http://127.0.0.1:1/v1\nrequest: {rate: 1}\nduration: 1m\ncapacity: {max: 5}\n",
			`c.yaml:5: capacity.max: only used in mode capacity, and the mode here is request; add mode: capacity (--mode capacity)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml), "c.yaml")
			if err == nil {
				t.Fatalf("accepted; want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tc.want)
			}
		})
	}
}

// TestCapacityFlags: each capacity key has its flag, named as in the
// capacity command, and a flag overrides the file's capacity block.
func TestCapacityFlags(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "cap.yaml", "mode: capacity\nurl: http://127.0.0.1:1/events\ncapacity:\n  start: 10\n  step: 10\n  max: 100\n  hold: 3s\nthresholds: [\"delivery.p99 < 1s\"]\n")
	sub := writeFile(t, "sub.yaml", "url: http://127.0.0.1:1/events\nprofile: spike\nconnections: 500\nramp: 5s\nduration: 1m\nabort_on_fail: true\nsequence: true\nthresholds: [\"events_lost == 0\"]\n")
	req := writeFile(t, "req.yaml", "mode: request\nurl: http://127.0.0.1:1/v1\nrequest: {rate: 1}\nduration: 1m\n")
	cases := []struct {
		name string
		args []string
		want Capacity
		// check, if set, looks at the rest of the scenario.
		check func(t *testing.T, s *Scenario)
	}{
		{"every capacity flag", []string{"--mode", "capacity", "--url", "http://127.0.0.1:1/", "--start", "50", "--step", "25", "--max", "300",
			"--hold", "2s", "--ramp", "1s", "--refine", "0", "--server-pid", "7"},
			Capacity{Start: 50, Step: 25, Max: 300, Hold: Duration(2 * time.Second), Ramp: durPtr(time.Second), Refine: intPtr(0), ServerPID: 7}, nil},
		{"factor and metrics", []string{"--mode=capacity", "--url", "http://127.0.0.1:1/", "--factor", "2", "--server-metrics", "http://127.0.0.1:9/metrics"},
			Capacity{Start: 1000, Factor: 2, Hold: Duration(30 * time.Second), Ramp: durPtr(5 * time.Second), Refine: intPtr(2), ServerMetrics: "http://127.0.0.1:9/metrics"}, nil},
		{"flags over the file's block", []string{file, "--max", "60", "--ramp", "0s"},
			Capacity{Start: 10, Step: 10, Max: 60, Hold: Duration(3 * time.Second), Ramp: durPtr(0), Refine: intPtr(2)},
			func(t *testing.T, s *Scenario) {
				if s.Ramp != 0 || !reflect.DeepEqual(s.Thresholds, []string{"delivery.p99 < 1s"}) {
					t.Errorf("ramp %v thresholds %q", s.Ramp, s.Thresholds)
				}
			}},
		{"--mode capacity over a subscribe file drops its load shape", []string{sub, "--mode", "capacity", "--start", "5"},
			Capacity{Start: 5, Step: 5, Hold: Duration(30 * time.Second), Ramp: durPtr(5 * time.Second), Refine: intPtr(2)},
			func(t *testing.T, s *Scenario) {
				if s.Profile != "" || s.Connections != 0 || s.Ramp != 0 || s.Duration != 0 || s.Stages != nil || s.AbortOnFail {
					t.Errorf("load shape kept: %+v", s)
				}
				if !s.Expect.Sequence || !reflect.DeepEqual(s.Thresholds, []string{"events_lost == 0"}) {
					t.Errorf("streams or thresholds lost: %+v", s)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := runCLI(t, tc.args...)
			if err != nil {
				t.Fatalf("FromCLI: %v", err)
			}
			if s.Mode != ModeCapacity || !reflect.DeepEqual(s.Capacity, tc.want) {
				t.Errorf("mode %q capacity\n got %+v\nwant %+v", s.Mode, s.Capacity, tc.want)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}

	// --ramp is the shorthand's ramp outside mode capacity.
	s, _, err := runCLI(t, "--url", "http://127.0.0.1:1/", "--connections", "5", "--duration", "1m", "--ramp", "7s")
	if err != nil {
		t.Fatal(err)
	}
	if s.Ramp.D() != 7*time.Second || !s.Capacity.IsZero() {
		t.Errorf("subscribe --ramp: ramp %v capacity %+v", s.Ramp, s.Capacity)
	}

	errs := []struct {
		name string
		args []string
		want string
	}{
		{"zero start", []string{"--mode", "capacity", "--url", "http://127.0.0.1:1/", "--start", "0"}, `--start: 0: want at least 1 stream`},
		{"short hold", []string{"--mode", "capacity", "--url", "http://127.0.0.1:1/", "--hold", "200ms"}, `--hold: 200ms: want at least 1s (each step is judged on whole seconds of its hold)`},
		{"bad ramp", []string{"--mode", "capacity", "--url", "http://127.0.0.1:1/", "--ramp", "1.5s"}, `--ramp: 1.5s: want 0 or whole seconds (steps are judged on the once-a-second measurements)`},
		{"bad factor", []string{"--mode", "capacity", "--url", "http://127.0.0.1:1/", "--factor", "x"}, `--factor: "x" is not a multiplier`},
		{"flag over the file's max", []string{file, "--start", "200"}, `cap.yaml:6: capacity.max: 100 is below start (200)`},
		{"step flag and file factor", []string{writeFile(t, "f.yaml", "mode: capacity\nurl: http://127.0.0.1:1/\ncapacity: {factor: 2}\n"), "--step", "5"},
			`--step: step 5 and factor 2: give one or the other`},
		{"capacity flag in subscribe mode", []string{"--url", "http://127.0.0.1:1/", "--connections", "1", "--duration", "1m", "--start", "5"},
			`--start: only used in mode capacity, and the mode here is subscribe; add mode: capacity (--mode capacity)`},
		{"shape flag in capacity mode", []string{file, "--connections", "5"}, `--connections: not used in mode capacity, which makes its own steps; give capacity.start and capacity.max`},
		{"abort flag in capacity mode", []string{file, "--abort-on-fail"}, `--abort-on-fail: not used in mode capacity, whose search stops at the first step that breaks a threshold`},
		{"--mode capacity over a request file", []string{req, "--mode", "capacity"},
			`req.yaml:1: mode: request: a capacity search holds long-lived subscribe streams, so its base cannot be a mode request scenario (run that with ssebench run)`},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runCLI(t, tc.args...)
			if err == nil {
				t.Fatalf("accepted; want %q", tc.want)
			}
			if got := err.Error(); got != tc.want && !strings.HasSuffix(got, "/"+tc.want) {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestCapacityRedacted(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte("mode: capacity\nurl: http://127.0.0.1:1/\ncapacity:\n  server_metrics: http://u:pw@127.0.0.1:9/metrics?token=abc\n  refine: 1\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	r := s.Redacted()
	if strings.Contains(r.Capacity.ServerMetrics, "pw") || strings.Contains(r.Capacity.ServerMetrics, "abc") {
		t.Errorf("redacted metrics URL %q", r.Capacity.ServerMetrics)
	}
	*r.Capacity.Refine = 9
	if *s.Capacity.Refine != 1 {
		t.Error("Redacted shares the refine setting with the original")
	}
}

// TestCapacityStepLimit: the staircase limit is the search's: exactly
// MaxCapacitySteps steps pass, one more does not.
func TestCapacityStepLimit(t *testing.T) {
	t.Parallel()
	ok := "mode: capacity\nurl: http://127.0.0.1:1/\ncapacity: {start: 1, step: 1, max: 1000}\n"
	if _, err := Parse([]byte(ok), ""); err != nil {
		t.Errorf("1000 steps: %v", err)
	}
	if _, err := Parse([]byte(strings.Replace(ok, "1000", "1001", 1)), ""); err == nil || !strings.Contains(err.Error(), "more than 1000 steps") {
		t.Errorf("1001 steps: %v", err)
	}
}

// TestCapacityStaircase: the steps the search climbs, from Start by Step
// or Factor to Max.
func TestCapacityStaircase(t *testing.T) {
	t.Parallel()
	cases := []struct {
		c    Capacity
		want []int
	}{
		{Capacity{Start: 100, Step: 100, Max: 350}, []int{100, 200, 300, 350}},
		{Capacity{Start: 100, Step: 100, Max: 300}, []int{100, 200, 300}},
		{Capacity{Start: 1000, Factor: 1.5, Max: 5000}, []int{1000, 1500, 2250, 3375, 5000}},
		{Capacity{Start: 100, Factor: 1.5, Max: 1000}, []int{100, 150, 225, 338, 507, 761, 1000}},
		{Capacity{Start: 1, Factor: 1.2, Max: 4}, []int{1, 2, 3, 4}}, // at least one more per step
		{Capacity{Start: 500, Step: 10, Max: 500}, []int{500}},
	}
	for _, tc := range cases {
		if got := tc.c.Staircase(); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.c, got, tc.want)
		}
	}
	if n := len((Capacity{Start: 1, Step: 1, Max: 1 << 30}).Staircase()); n != MaxCapacitySteps+2 {
		t.Errorf("a staircase past the limit built %d steps, want it cut at %d", n, MaxCapacitySteps+2)
	}
}
