package scenarios

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/cliargs"
)

// cliMu serializes app runs: urfave/cli's shared HelpFlag is written by
// every run (BoolFlag.Apply), a race in the library, not in FromCLI.
var cliMu sync.Mutex

// runCLI runs a real urfave/cli app whose `run` command calls FromCLI, the
// way cmd_run.go does, with one extra flag of the caller's own (--out).
func runCLI(t *testing.T, args ...string) (*Scenario, string, error) {
	t.Helper()
	cliMu.Lock()
	defer cliMu.Unlock()
	var (
		got  *Scenario
		out  string
		ferr error
	)
	app := &cli.App{
		Name: "ssebench", Writer: io.Discard, ErrWriter: io.Discard,
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{
			Name:  "run",
			Flags: append(Flags(), &cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "result.json"}),
			Action: func(c *cli.Context) error {
				got, ferr = FromCLI(c)
				out = c.String("out")
				return nil
			},
		}},
	}
	// As main does: flags may follow the file.
	if err := app.Run(cliargs.OrderApp(app, append([]string{"ssebench", "run"}, args...))); err != nil {
		t.Fatalf("app.Run: %v", err)
	}
	return got, out, ferr
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const fileScenario = `name: from-file
url: http://127.0.0.1:8080/events
connections: 100
duration: 1m
insecure: true
headers:
  Accept: text/event-stream
  Authorization: Bearer ${TOKEN}
reconnect:
  policy: always
thresholds:
  - "delivery.p99 < 1s"
`

func TestFromCLIOverrides(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "scenario.yaml", fileScenario)
	stagesFile := writeFile(t, "stages.yaml", "url: http://127.0.0.1:8080/events\nstages:\n  - {duration: 10s, target: 5}\n")
	body := writeFile(t, "body.json", `{"prompt":"hi"}`)

	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, s *Scenario, out string)
	}{
		{"file alone", []string{file}, func(t *testing.T, s *Scenario, _ string) {
			if s.Name != "from-file" || s.Connections != 100 || !s.Insecure || s.Reconnect.Policy != "always" {
				t.Errorf("got %+v", s)
			}
		}},
		{"flag after the file overrides it", []string{file, "--connections", "50"}, func(t *testing.T, s *Scenario, _ string) {
			if s.Connections != 50 || s.TargetAt(time.Minute) != 50 {
				t.Errorf("connections %d, target at end %d", s.Connections, s.TargetAt(time.Minute))
			}
			if s.Duration.D() != time.Minute || s.Reconnect.Policy != "always" || s.Name != "from-file" {
				t.Errorf("other file values lost: %+v", s)
			}
		}},
		{"flag before the file overrides it", []string{"--connections=7", "--duration", "90", file}, func(t *testing.T, s *Scenario, _ string) {
			if s.Connections != 7 || s.TotalDuration() != 90*time.Second {
				t.Errorf("connections %d total %v", s.Connections, s.TotalDuration())
			}
		}},
		{"caller's own flag after the file", []string{file, "-o", "x.json", "--sequence"}, func(t *testing.T, s *Scenario, out string) {
			if out != "x.json" || !s.Expect.Sequence {
				t.Errorf("out %q sequence %v", out, s.Expect.Sequence)
			}
		}},
		{"bool flag turned off", []string{file, "--insecure=false"}, func(t *testing.T, s *Scenario, _ string) {
			if s.Insecure {
				t.Error("insecure still on")
			}
		}},
		{"url repeated replaces the file's", []string{file, "--url", "http://127.0.0.2:1/a?x=1,2", "--url", "http://127.0.0.3:1/b"}, func(t *testing.T, s *Scenario, _ string) {
			if want := []string{"http://127.0.0.2:1/a?x=1,2", "http://127.0.0.3:1/b"}; !reflect.DeepEqual(s.URLs, want) {
				t.Errorf("urls %q", s.URLs)
			}
		}},
		{"stage repeated", []string{"--url", "http://127.0.0.1:1/", "--stage", "10s:100", "--stage", "0:200", "--stage", "1m:200:50"}, func(t *testing.T, s *Scenario, _ string) {
			want := []Stage{{Duration(10 * time.Second), 100, 0}, {0, 200, 0}, {Duration(time.Minute), 200, 50}}
			if !reflect.DeepEqual(s.Stages, want) || s.Profile != ProfileCustom {
				t.Errorf("stages %v profile %q", s.Stages, s.Profile)
			}
			if s.TargetAt(5*time.Second) != 50 || s.TargetAt(10*time.Second) != 200 || s.RateAt(20*time.Second) != 50 {
				t.Errorf("shape wrong: %d %d %v", s.TargetAt(5*time.Second), s.TargetAt(10*time.Second), s.RateAt(20*time.Second))
			}
		}},
		{"stage replaces the file's shorthand", []string{file, "--stage", "30s:10"}, func(t *testing.T, s *Scenario, _ string) {
			if s.Connections != 0 || s.Duration != 0 || s.Profile != ProfileCustom || s.TotalDuration() != 30*time.Second {
				t.Errorf("got connections %d duration %v profile %q", s.Connections, s.Duration, s.Profile)
			}
		}},
		{"profile replaces the file's stages", []string{stagesFile, "--profile", "spike", "--connections", "100", "--duration", "90s"}, func(t *testing.T, s *Scenario, _ string) {
			if s.Profile != ProfileSpike || len(s.Stages) != 6 || s.TargetAt(45*time.Second) != 100 {
				t.Errorf("profile %q stages %v", s.Profile, s.Stages)
			}
		}},
		{"headers merge; comma stays; empty removes", []string{file, "-H", "Accept: text/event-stream, application/json", "--header", "X-New: 1", "-H", "authorization:"}, func(t *testing.T, s *Scenario, _ string) {
			want := map[string]string{"Accept": "text/event-stream, application/json", "X-New": "1"}
			if !reflect.DeepEqual(s.Headers, want) {
				t.Errorf("headers %v", s.Headers)
			}
		}},
		{"every field has a flag", []string{
			"--name", "n", "--mode", "subscribe", "--url", "https://127.0.0.1:1/", "-X", "post", "--body", "@" + body, "-k",
			"--connect-timeout", "1s", "--headers-timeout", "2s", "--read-timeout", "3s",
			"--profile", "churn", "--connections", "10", "--ramp", "5s", "--duration", "1m", "--arrival-rate", "2.5",
			"--lifetime", "10s-20s", "--reconnect", "never", "--max-reconnects", "3", "--backoff-base", "2s", "--backoff-max", "4s",
			"--chaos-drop", "5%/10s", "--latency-field", "meta.ts:unix_ms", "--sequence",
			"--type-field", "messageType", "--close-on-event", "close", "--close-on-data", "*contDnd*",
			"--publish-url", "http://127.0.0.1:1/p", "--publish-rate", "4", "--publish-body", "n={{nonce}}", "--publish-method", "put",
			"--publish-header", "X-P: 1", "--threshold", "a < 1s", "--threshold", "b == 0", "--abort-on-fail",
		}, func(t *testing.T, s *Scenario, _ string) {
			want := &Scenario{
				Name: "n", Mode: "subscribe", URLs: []string{"https://127.0.0.1:1/"}, Method: "POST", Body: `{"prompt":"hi"}`, Insecure: true,
				Timeout: Timeouts{Duration(time.Second), Duration(2 * time.Second), Duration(3 * time.Second)},
				Profile: "churn", Connections: 10, Ramp: Duration(5 * time.Second), Duration: Duration(time.Minute), ArrivalRate: 2.5,
				Stages:     []Stage{{Duration(5 * time.Second), 10, 2.5}, {Duration(55 * time.Second), 10, 2.5}},
				Lifetime:   Lifetime{Duration(10 * time.Second), Duration(20 * time.Second)},
				Reconnect:  Reconnect{"never", 3, Duration(2 * time.Second), Duration(4 * time.Second)},
				Chaos:      Chaos{Drop: &Drop{5, Duration(10 * time.Second)}},
				Expect:     Expect{LatencyField{"meta.ts", "unix_ms"}, true, "messageType"},
				CloseOn:    CloseOn{Event: "close", Data: "*contDnd*"},
				Publisher:  &Publisher{URL: "http://127.0.0.1:1/p", Method: "PUT", Body: "n={{nonce}}", Headers: map[string]string{"X-P": "1"}, Rate: 4},
				Thresholds: []string{"a < 1s", "b == 0"}, AbortOnFail: true,
			}
			got := *s
			got.origin = nil
			if !reflect.DeepEqual(&got, want) {
				t.Errorf("\n got %+v\nwant %+v", got, *want)
			}
		}},
		{"chaos off and latency none", []string{"--url", "http://127.0.0.1:1/", "--connections", "1", "--duration", "1s", "--chaos-drop", "none", "--latency-field", "none", "--lifetime", "none"}, func(t *testing.T, s *Scenario, _ string) {
			if s.Chaos.Drop != nil || s.Expect.LatencyField.Format != "none" || !s.Lifetime.IsZero() {
				t.Errorf("got %+v", s)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, out, err := runCLI(t, tc.args...)
			if err != nil {
				t.Fatalf("FromCLI: %v", err)
			}
			tc.check(t, s, out)
		})
	}
}

func TestFromCLIErrors(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "scenario.yaml", fileScenario)
	bad := writeFile(t, "bad.yaml", "url: http://127.0.0.1:1/\nconnections: 1\nduration: 1m\nreconnect:\n  policy: sometimes\n")
	u := "--url=http://127.0.0.1:1/"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"nothing to run", nil, "run needs a scenario file or --url"},
		{"only shape flags", []string{"--connections", "5", "--duration", "1m"}, "run needs a scenario file or --url"},
		{"bad duration", []string{u, "--connections", "1", "--duration", "10 seconds"}, `--duration: "10 seconds" is not a duration (e.g. 10s, 1m30s)`},
		{"bad number", []string{u, "--connections", "lots", "--duration", "1m"}, `--connections: "lots" is not a whole number`},
		{"bad rate", []string{u, "--connections", "1", "--duration", "1m", "--arrival-rate", "fast"}, `--arrival-rate: "fast" is not a rate (connection attempts per second)`},
		{"bad lifetime", []string{u, "--connections", "1", "--duration", "1m", "--lifetime", "10s-"}, `--lifetime: "10s-" is not a lifetime (e.g. 30s, or 10s-60s for a random range)`},
		{"lifetime min above max", []string{u, "--connections", "1", "--duration", "1m", "--lifetime", "1m-10s"}, `--lifetime: min 1m is longer than max 10s`},
		{"bad chaos drop", []string{u, "--connections", "1", "--duration", "1m", "--chaos-drop", "5"}, `--chaos-drop: "5" is not a drop setting (PERCENT%/EVERY, e.g. 5%/10s)`},
		{"chaos drop over 100%", []string{u, "--connections", "1", "--duration", "1m", "--chaos-drop", "200%/1s"}, `--chaos-drop: chaos.drop.percent: 200 is not a percentage in (0, 100]`},
		{"bad latency field", []string{u, "--connections", "1", "--duration", "1m", "--latency-field", "ts:ms"}, `--latency-field: "ts:ms" has an unknown timestamp format "ms" (one of unix_ns, unix_us, unix_ms, unix_s, rfc3339)`},
		{"bad stage", []string{u, "--stage", "10s"}, `--stage: "10s" is not a stage (DURATION:TARGET[:RATE], e.g. 30s:100 or 1m:500:50): expected 2 or 3 parts separated by ':'`},
		{"bad policy", []string{u, "--connections", "1", "--duration", "1m", "--reconnect", "sometimes"}, `--reconnect: "sometimes" is not one of browser, always, never`},
		{"bad url", []string{"--url", "ftp://x/", "--connections", "1", "--duration", "1m"}, `--url: "ftp://x/" is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events); the scheme is "ftp"`},
		{"second url bad", []string{u, "--url", "nope", "--connections", "1", "--duration", "1m"}, `--url: url[1]: "nope" is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events); it needs a scheme`},
		{"absurd connections", []string{u, "--connections", "20000000", "--duration", "1m"}, `--connections: 20000000 is more than 10000000 streams; shard the run (--shard) rather than ask one scenario for it`},
		{"publisher without rate", []string{u, "--connections", "1", "--duration", "1m", "--publish-url", "http://127.0.0.1:1/p"}, `publisher.rate: 0 is not a rate; give publishes per second above 0`},
		{"publisher zero rate", []string{u, "--connections", "1", "--duration", "1m", "--publish-url", "http://127.0.0.1:1/p", "--publish-rate", "0"}, `--publish-rate: 0 is not a rate; give publishes per second above 0`},
		{"bad header", []string{u, "--connections", "1", "--duration", "1m", "-H", "NoColon"}, `--header: "NoColon" is not a header ('Name: value')`},
		{"missing body file", []string{u, "--connections", "1", "--duration", "1m", "--body", "@/nonexistent/body.json"}, `--body: open /nonexistent/body.json: no such file or directory`},
		{"shorthand flag over file stages", []string{writeFile(t, "st.yaml", "url: http://127.0.0.1:1/\nstages: [10s:5]\n"), "--connections", "9"},
			`--connections: belongs to the profile shorthand (profile, connections, ramp, duration), but the load shape here is explicit stages; use one or the other`},
		{"file problem keeps its line", []string{bad}, bad + `:5: reconnect.policy: "sometimes" is not one of browser, always, never`},
		{"flag fixes the file problem", []string{bad, "--reconnect", "never", "--connections", "-1"}, `--connections: -1 is negative`},
		{"file decode error", []string{writeFile(t, "typo.yaml", "url: http://127.0.0.1:1/\nconections: 1\n")}, `typo.yaml:2: unknown key "conections" (did you mean "connections"?)`},
		{"missing file", []string{"/nonexistent/scenario.yaml"}, `open /nonexistent/scenario.yaml: no such file or directory`},
		{"url as the argument", []string{"http://127.0.0.1:1/events"}, `"http://127.0.0.1:1/events" is a URL; the argument is a scenario file (use --url http://127.0.0.1:1/events)`},
		{"two files", []string{file, file}, "run takes one scenario file, got 2 arguments (" + file + " " + file + ")"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runCLI(t, tc.args...)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			got := err.Error()
			if tc.name == "file decode error" {
				got = filepath.Base(got)
			}
			if got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
		})
	}
	_, _, err := runCLI(t)
	if !errors.Is(err, ErrNoTarget) {
		t.Errorf("no target: %v is not ErrNoTarget", err)
	}
}

// TestFlagsMatchFields: every scenario field (YAML key) has a flag.
func TestFlagsMatchFields(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	names := map[string]bool{}
	for _, sp := range flagSpecs() {
		covered[sp.path] = true
		for _, n := range sp.flag.Names() {
			if names[n] {
				t.Errorf("flag name %q used twice", n)
			}
			names[n] = true
		}
	}
	// --ramp sets capacity.ramp in mode capacity (the capacity command's
	// name for it).
	for _, p := range capacityPaths {
		covered[p] = true
	}
	for _, key := range allKeys() {
		if covered[key] || strings.Contains(key, "[]") {
			continue
		}
		// A parent covered by its children's flags, or a child by its
		// parent's (lifetime.min by --lifetime) counts.
		child := false
		for p := range covered {
			if strings.HasPrefix(p, key+".") || strings.HasPrefix(key, p+".") {
				child = true
			}
		}
		if !child {
			t.Errorf("YAML key %q has no flag", key)
		}
	}
	if len(Flags()) != len(flagSpecs()) {
		t.Error("Flags and flagSpecs disagree")
	}
}

// TestFlagsReusable: one Flags() set serves several runs (the app's
// commands are built once per process) without values leaking between
// them.
func TestFlagsReusable(t *testing.T) {
	flags := Flags()
	var got [][]string
	app := &cli.App{
		Name: "ssebench", Writer: io.Discard, ErrWriter: io.Discard, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{Name: "run", Flags: flags, Action: func(c *cli.Context) error {
			s, err := FromCLI(c)
			if err != nil {
				return err
			}
			got = append(got, s.URLs)
			return nil
		}}},
	}
	cliMu.Lock()
	defer cliMu.Unlock()
	for _, u := range []string{"http://127.0.0.1:1/a", "http://127.0.0.1:1/b"} {
		if err := app.Run([]string{"ssebench", "run", "--url", u, "--connections", "1", "--duration", "1s"}); err != nil {
			t.Fatal(err)
		}
	}
	want := [][]string{{"http://127.0.0.1:1/a"}, {"http://127.0.0.1:1/b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
