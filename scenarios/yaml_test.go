package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestExamplesParseAndValidate(t *testing.T) {
	t.Parallel()
	want := []string{"capacity.yaml", "churn.yaml", "custom-stages.yaml", "llm.yaml", "progress.yaml", "ramp.yaml", "serve-local.yaml", "soak.yaml", "spike.yaml", "steady.yaml"}
	ex := exampleFiles()
	if got := sortedKeys(ex); !reflect.DeepEqual(got, want) {
		t.Fatalf("exampleFiles() = %v, want %v", got, want)
	}
	profiles := map[string]string{
		"churn.yaml": ProfileChurn, "custom-stages.yaml": ProfileCustom, "ramp.yaml": ProfileRamp,
		"serve-local.yaml": ProfileSteady, "soak.yaml": ProfileSoak, "spike.yaml": ProfileSpike, "steady.yaml": ProfileSteady,
		// Mode request: the shape comes from request.rate or .concurrency.
		"llm.yaml": "", "progress.yaml": "",
		// Mode capacity: the search makes its own staircase.
		"capacity.yaml": "",
	}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The embedded copy and the file on disk are the same scenario.
			s, err := Load(filepath.Join("examples", name))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if _, err := Parse(ex[name], name); err != nil {
				t.Fatalf("Parse(embedded): %v", err)
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate after Normalize: %v", err)
			}
			if s.Profile != profiles[name] {
				t.Errorf("profile = %q, want %q", s.Profile, profiles[name])
			}
			if s.Mode == ModeCapacity {
				c := s.Capacity
				if c.Start <= 0 || c.Step <= 0 || c.Max < c.Start || c.Hold <= 0 || c.Ramp == nil || c.Refine == nil || len(s.Thresholds) == 0 || len(s.Stages) != 0 {
					t.Errorf("no usable staircase: %+v, thresholds %q, stages %v", c, s.Thresholds, s.Stages)
				}
			} else if len(s.Stages) == 0 || s.TotalDuration() <= 0 || (s.MaxTarget() <= 0 && !s.OpenLoop()) {
				t.Errorf("no usable load shape: stages %v", s.Stages)
			}
			if s.Mode == ModeRequest {
				// The file on disk finds its dataset next to it and renders.
				b, err := s.Bodies()
				if err != nil {
					t.Fatalf("Bodies: %v", err)
				}
				if _, err := b.Render(0, nil); err != nil {
					t.Errorf("Render: %v", err)
				}
			}
			if s.Name == "" || len(s.URLs) == 0 {
				t.Errorf("name %q urls %v", s.Name, s.URLs)
			}
		})
	}
}

func TestServeLocalExample(t *testing.T) {
	t.Parallel()
	s, err := Parse(exampleFiles()["serve-local.yaml"], "serve-local.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.URLs[0] != "http://127.0.0.1:8080/events?rate=1" || !s.Expect.Sequence {
		t.Errorf("url %v sequence %v", s.URLs, s.Expect.Sequence)
	}
	p := s.Publisher
	if p == nil || p.URL != "http://127.0.0.1:8080/publish?topic=default" || p.Rate != 2 || p.Method != "POST" {
		t.Errorf("publisher = %+v", p)
	}
	if d := s.Chaos.Drop; d == nil || d.Percent != 5 || d.Every.D() != 10*time.Second {
		t.Errorf("chaos.drop = %+v", d)
	}
	want := []string{"first_event.p99 < 750ms", "delivery.p90 < 250ms", "events_lost == 0"}
	if !reflect.DeepEqual(s.Thresholds, want) {
		t.Errorf("thresholds = %q", s.Thresholds)
	}
}

// TestParseErrors: every bad input is a one-line error naming the line,
// the key and the value.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown key with suggestion",
			"url: http://127.0.0.1:8080/events\nduration: 1m\nconections: 100\n",
			`scenario.yaml:3: unknown key "conections" (did you mean "connections"?)`},
		{"unknown nested key with suggestion",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nreconnect:\n  polcy: always\n",
			`scenario.yaml:5: reconnect: unknown key "polcy" (did you mean "policy"?)`},
		{"key at the wrong level",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nbase_delay: 1s\n",
			`scenario.yaml:4: unknown key "base_delay" (it belongs under "reconnect")`},
		{"other tools' key name",
			"url: http://127.0.0.1:8080/events\nvus: 10\nduration: 1m\n",
			`scenario.yaml:2: unknown key "vus" (did you mean "connections"?)`},
		{"unknown key without suggestion",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nzzzzzz: 1\n",
			`scenario.yaml:4: unknown key "zzzzzz"`},
		{"wrong type: word for a number",
			"url: http://127.0.0.1:8080/events\nconnections: lots\nduration: 1m\n",
			`scenario.yaml:2: connections: "lots" is not a whole number`},
		{"wrong type: list for a number",
			"url: http://127.0.0.1:8080/events\nduration: 1m\nconnections:\n  - 1\n",
			`scenario.yaml:4: connections: expected a whole number, got a list`},
		{"wrong type: quoted number",
			"url: http://127.0.0.1:8080/events\nconnections: \"100\"\nduration: 1m\n",
			`scenario.yaml:2: connections: "100" is not a whole number`},
		{"wrong type: yes for a boolean",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nsequence: yes\n",
			`scenario.yaml:4: sequence: "yes" is not true or false`},
		{"wrong type: scalar for a mapping",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nreconnect: always\n",
			`scenario.yaml:4: reconnect: "always" is not a mapping (keys: policy, max, base_delay, max_delay)`},
		{"bad duration",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: \"10 seconds\"\n",
			`scenario.yaml:3: duration: "10 seconds" is not a duration (e.g. 10s, 1m30s)`},
		{"negative duration",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: -5s\n",
			`scenario.yaml:3: duration: "-5s" is negative; a duration must be 0 or more`},
		{"bad nested duration",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\ntimeout:\n  connect: soon\n",
			`scenario.yaml:5: timeout.connect: "soon" is not a duration (e.g. 10s, 1m30s)`},
		{"bad url scheme",
			"connections: 1\nduration: 1m\nurl: ftp://127.0.0.1/events\n",
			`scenario.yaml:3: url: "ftp://127.0.0.1/events" is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events); the scheme is "ftp"`},
		{"url without scheme",
			"connections: 1\nduration: 1m\nurl: example.com/events\n",
			`scenario.yaml:3: url: "example.com/events" is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events); it needs a scheme`},
		{"bad url in a list",
			"connections: 1\nduration: 1m\nurl:\n  - http://127.0.0.1:8080/events\n  - http:///events\n",
			`scenario.yaml:5: url[1]: "http:///events" is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events); it has no host`},
		{"missing url",
			"connections: 1\nduration: 1m\n",
			`scenario.yaml: url: required (an http:// or https:// URL, or a list of them)`},
		{"bad policy",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nreconnect:\n  policy: sometimes\n",
			`scenario.yaml:5: reconnect.policy: "sometimes" is not one of browser, always, never`},
		{"misspelt policy",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nreconnect:\n  policy: alway\n",
			`scenario.yaml:5: reconnect.policy: "alway" is not one of browser, always, never (did you mean "always"?)`},
		{"bad profile",
			"url: http://127.0.0.1:8080/events\nprofile: stedy\nconnections: 1\nduration: 1m\n",
			`scenario.yaml:2: profile: "stedy" is not one of steady, ramp, spike, soak, churn, custom (did you mean "steady"?)`},
		{"lifetime min above max",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nlifetime: 60s-10s\n",
			`scenario.yaml:4: lifetime: min 1m is longer than max 10s`},
		{"lifetime mapping min above max",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nlifetime:\n  min: 1m\n  max: 30s\n",
			`scenario.yaml:4: lifetime: min 1m is longer than max 30s`},
		{"lifetime half a range",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nlifetime: 10s-\n",
			`scenario.yaml:4: lifetime: "10s-" is not a lifetime (e.g. 30s, or 10s-60s for a random range)`},
		{"chaos drop above 100%",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nchaos:\n  drop: 150%/10s\n",
			`scenario.yaml:5: chaos.drop.percent: 150 is not a percentage in (0, 100]`},
		{"chaos drop without every",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nchaos:\n  drop: 5%\n",
			`scenario.yaml:5: chaos.drop: "5%" is not a drop setting (PERCENT%/EVERY, e.g. 5%/10s)`},
		{"chaos drop mapping with zero percent",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nchaos:\n  drop:\n    percent: 0\n    every: 10s\n",
			`scenario.yaml:6: chaos.drop.percent: 0 is not a percentage in (0, 100]`},
		{"bad latency format",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nlatency_field: ts:unix_mss\n",
			`scenario.yaml:4: latency_field: "ts:unix_mss" has an unknown timestamp format "unix_mss" (one of unix_ns, unix_us, unix_ms, unix_s, rfc3339) (did you mean "unix_ms"?)`},
		{"stages with a built-in profile",
			"url: http://127.0.0.1:8080/events\nprofile: steady\nstages:\n  - {duration: 10s, target: 5}\n",
			`scenario.yaml:3: stages: given together with profile "steady", which makes its own stages; remove the profile (or set it to custom) to use these stages`},
		{"negative stage target",
			"url: http://127.0.0.1:8080/events\nstages:\n  - duration: 10s\n    target: 5\n  - duration: 10s\n    target: -1\n",
			`scenario.yaml:6: stages[1].target: -1 is negative`},
		{"absurd connections",
			"url: http://127.0.0.1:8080/events\nconnections: 20000000\nduration: 1m\n",
			`scenario.yaml:2: connections: 20000000 is more than 10000000 streams; shard the run (--shard) rather than ask one scenario for it`},
		{"ramp longer than the default duration",
			"url: http://127.0.0.1:8080/events\nconnections: 10\nramp: 1m\n",
			`scenario.yaml:3: ramp: 1m is longer than the default duration 30s (set duration)`},
		{"ramp longer than duration",
			"url: http://127.0.0.1:8080/events\nconnections: 10\nramp: 2m\nduration: 1m\n",
			`scenario.yaml:3: ramp: 2m is longer than the duration 1m`},
		{"publisher without rate",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\npublisher:\n  url: http://127.0.0.1:8080/publish\n",
			`scenario.yaml:4: publisher.rate: 0 is not a rate; give publishes per second above 0`},
		{"publisher bad url",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\npublisher:\n  rate: 1\n  url: /publish\n",
			`scenario.yaml:6: publisher.url: "/publish" is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events); it needs a scheme`},
		{"empty threshold",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nthresholds:\n  - \"delivery.p99 < 1s\"\n  - \"  \"\n",
			`scenario.yaml:6: thresholds[1]: empty; write a condition such as "first_event.p99 < 500ms"`},
		{"bad header reference",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nheaders:\n  Authorization: Bearer ${TOKEN\n",
			`scenario.yaml:5: headers.Authorization: "Bearer ${TOKEN": ${ without a closing }`},
		{"bad header name",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nheaders:\n  \"Bad Name\": x\n",
			`scenario.yaml:5: headers.Bad Name: "Bad Name" is not a valid header name`},
		{"duplicate key",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nconnections: 2\n",
			`scenario.yaml:4: duplicate key "connections" (first at line 2)`},
		{"duplicate header in another case",
			"url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 1m\nheaders:\n  Accept: a\n  accept: b\n",
			`scenario.yaml:6: headers: duplicate key "accept" (first at line 5)`},
		{"syntax error",
			"url: http://127.0.0.1:8080/events\nconnections: 1\n  duration: 1m\n",
			`scenario.yaml:3: YAML syntax: mapping values are not allowed in this context`},
		{"not a mapping",
			"- url: http://127.0.0.1:8080/events\n",
			`scenario.yaml:1: a scenario is a mapping of keys (url, connections, duration, ...), got a list`},
		{"empty",
			"# nothing here\n",
			`scenario.yaml: empty scenario (it needs at least a url)`},
		{"two documents",
			"url: http://127.0.0.1:8080/events\n---\nurl: http://127.0.0.1:8080/events\n",
			`scenario.yaml:2: a second YAML document; a scenario file holds one`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml), "scenario.yaml")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *FieldError", err)
			}
		})
	}
}

func TestParseSeveralProblems(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("url: ftp://x\nconections: 1\nduration: 1m\nreconnect:\n  policy: sometimes\n  max: -1\n"), "s.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	// Decoding problems come first (the rest is not checked until the
	// file decodes), one line each, in file order.
	if got, want := err.Error(), `s.yaml:2: unknown key "conections" (did you mean "connections"?)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	_, err = Parse([]byte("url: ftp://x\nconnections: 1\nduration: 1m\nreconnect:\n  policy: sometimes\n  max: -1\n"), "s.yaml")
	want := []string{
		`s.yaml:1: url: "ftp://x" is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events); the scheme is "ftp"`,
		`s.yaml:5: reconnect.policy: "sometimes" is not one of browser, always, never`,
		`s.yaml:6: reconnect.max: -1 is negative (0 means no limit)`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("got\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

func TestParseForms(t *testing.T) {
	t.Parallel()
	base := "url: http://127.0.0.1:8080/events\nconnections: 10\n"
	cases := []struct {
		name, yaml string
		check      func(t *testing.T, s *Scenario)
	}{
		{"url string", base + "duration: 1m\n", func(t *testing.T, s *Scenario) {
			if !reflect.DeepEqual(s.URLs, []string{"http://127.0.0.1:8080/events"}) {
				t.Errorf("urls %q", s.URLs)
			}
		}},
		{"url list", "url: [http://127.0.0.1:1/a, 'http://127.0.0.2:1/b?x=1,2']\nconnections: 1\nduration: 1m\n", func(t *testing.T, s *Scenario) {
			if !reflect.DeepEqual(s.URLs, []string{"http://127.0.0.1:1/a", "http://127.0.0.2:1/b?x=1,2"}) {
				t.Errorf("urls %q", s.URLs)
			}
		}},
		{"duration go form", base + "duration: 1m30s\n", func(t *testing.T, s *Scenario) {
			if s.Duration.D() != 90*time.Second {
				t.Errorf("duration %v", s.Duration)
			}
		}},
		{"duration bare seconds", base + "duration: 90\n", func(t *testing.T, s *Scenario) {
			if s.Duration.D() != 90*time.Second {
				t.Errorf("duration %v", s.Duration)
			}
		}},
		{"lifetime fixed", base + "duration: 1m\nlifetime: 30s\n", func(t *testing.T, s *Scenario) {
			if s.Lifetime != (Lifetime{Duration(30 * time.Second), Duration(30 * time.Second)}) {
				t.Errorf("lifetime %+v", s.Lifetime)
			}
		}},
		{"lifetime range", base + "duration: 1m\nlifetime: 10s-60s\n", func(t *testing.T, s *Scenario) {
			if s.Lifetime != (Lifetime{Duration(10 * time.Second), Duration(60 * time.Second)}) {
				t.Errorf("lifetime %+v", s.Lifetime)
			}
		}},
		{"lifetime mapping", base + "duration: 1m\nlifetime: {min: 5s, max: 15s}\n", func(t *testing.T, s *Scenario) {
			if s.Lifetime != (Lifetime{Duration(5 * time.Second), Duration(15 * time.Second)}) {
				t.Errorf("lifetime %+v", s.Lifetime)
			}
		}},
		{"lifetime max only is fixed", base + "duration: 1m\nlifetime: {max: 15s}\n", func(t *testing.T, s *Scenario) {
			if s.Lifetime != (Lifetime{Duration(15 * time.Second), Duration(15 * time.Second)}) {
				t.Errorf("lifetime %+v", s.Lifetime)
			}
		}},
		{"latency field name", base + "duration: 1m\nlatency_field: sent_at\n", func(t *testing.T, s *Scenario) {
			if s.Expect.LatencyField != (LatencyField{"sent_at", "unix_ns"}) {
				t.Errorf("latency %+v", s.Expect.LatencyField)
			}
		}},
		{"latency field with format", base + "duration: 1m\nlatency_field: meta.ts:unix_ms\n", func(t *testing.T, s *Scenario) {
			if s.Expect.LatencyField != (LatencyField{"meta.ts", "unix_ms"}) {
				t.Errorf("latency %+v", s.Expect.LatencyField)
			}
		}},
		{"latency field mapping", base + "duration: 1m\nlatency_field:\n  field: t\n  format: rfc3339\n", func(t *testing.T, s *Scenario) {
			if s.Expect.LatencyField != (LatencyField{"t", "rfc3339"}) {
				t.Errorf("latency %+v", s.Expect.LatencyField)
			}
		}},
		{"latency none", base + "duration: 1m\nlatency_field: none\n", func(t *testing.T, s *Scenario) {
			if s.Expect.LatencyField != (LatencyField{"", "none"}) {
				t.Errorf("latency %+v", s.Expect.LatencyField)
			}
		}},
		{"latency default", base + "duration: 1m\n", func(t *testing.T, s *Scenario) {
			if s.Expect.LatencyField != (LatencyField{"ts", "unix_ns"}) {
				t.Errorf("latency %+v", s.Expect.LatencyField)
			}
		}},
		{"drop mapping", base + "duration: 1m\nchaos:\n  drop: {percent: 2.5, every: 30s}\n", func(t *testing.T, s *Scenario) {
			if d := s.Chaos.Drop; d == nil || *d != (Drop{2.5, Duration(30 * time.Second)}) {
				t.Errorf("drop %+v", d)
			}
		}},
		{"stage short form", "url: http://127.0.0.1:1/\nstages: [10s:100, '1m:100:5']\n", func(t *testing.T, s *Scenario) {
			want := []Stage{{Duration(10 * time.Second), 100, 0}, {Duration(time.Minute), 100, 5}}
			if !reflect.DeepEqual(s.Stages, want) || s.Profile != ProfileCustom {
				t.Errorf("stages %+v profile %q", s.Stages, s.Profile)
			}
		}},
		{"anchors and merge keys", "url: http://127.0.0.1:1/\nconnections: 1\nduration: 1m\n" +
			"headers: &h\n  X-A: a\n  X-B: b\npublisher:\n  url: http://127.0.0.1:1/p\n  rate: 1\n  headers:\n    <<: *h\n    X-B: override\n",
			func(t *testing.T, s *Scenario) {
				want := map[string]string{"X-A": "a", "X-B": "override"}
				if !reflect.DeepEqual(s.Publisher.Headers, want) {
					t.Errorf("publisher headers %v", s.Publisher.Headers)
				}
			}},
		{"header numbers are text", base + "duration: 1m\nheaders:\n  X-Count: 5\n", func(t *testing.T, s *Scenario) {
			if s.Headers["X-Count"] != "5" {
				t.Errorf("headers %v", s.Headers)
			}
		}},
		{"name from the file", base + "duration: 1m\n", func(t *testing.T, s *Scenario) {
			if s.Name != "scenario" {
				t.Errorf("name %q", s.Name)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse([]byte(tc.yaml), "dir/scenario.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte("url: http://127.0.0.1:8080/events\nconnections: 10\nduration: 1m\nmethod: post\npublisher:\n  url: http://127.0.0.1:8080/publish\n  rate: 1\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"mode", s.Mode, "subscribe"},
		{"method", s.Method, "POST"},
		{"policy", s.Reconnect.Policy, "browser"},
		{"base delay", s.Reconnect.BaseDelay.D(), time.Second},
		{"max delay", s.Reconnect.MaxDelay.D(), 30 * time.Second},
		{"latency", s.Expect.LatencyField, LatencyField{"ts", "unix_ns"}},
		{"connect timeout", s.Timeout.Connect.D(), 10 * time.Second},
		{"headers timeout", s.Timeout.Headers.D(), 30 * time.Second},
		{"read timeout", s.Timeout.Read.D(), time.Duration(0)},
		{"profile", s.Profile, "steady"},
		{"ramp", s.Ramp.D(), 10 * time.Second},
		{"publish method", s.Publisher.Method, "POST"},
		{"publish body", s.Publisher.Body, "{{nonce}}"},
		{"lifetime", s.Lifetime, Lifetime{}},
		{"name", s.Name, ""},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseWithoutNameSaysLine(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("url: http://127.0.0.1:1/\nconnections: x\n"), "")
	if err == nil || err.Error() != `line 2: connections: "x" is not a whole number` {
		t.Errorf("got %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want not-exist", err)
	}
}

func TestAliasBomb(t *testing.T) {
	t.Parallel()
	// Each level triples the merged mappings; 30 levels would be 10^14.
	var b strings.Builder
	b.WriteString("url: http://127.0.0.1:1/\nconnections: 1\nduration: 1s\nx-m0: &m0 {X-A: a}\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&b, "x-m%d: &m%d {<<: [*m%d, *m%d, *m%d]}\n", i, i, i-1, i-1, i-1)
	}
	b.WriteString("headers: {<<: *m29}\n")
	done := make(chan error, 1)
	go func() { _, err := Parse([]byte(b.String()), "bomb.yaml"); done <- err }()
	select {
	case err := <-done:
		if want := "bomb.yaml:24: headers: << merges nested more than 10 deep"; err == nil || err.Error() != want {
			t.Fatalf("got %v, want %s", err, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Parse did not return: the merge walk is unbounded")
	}
}

func TestExtensionKeysHoldAnchors(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(`x-auth: &auth
  Authorization: Bearer ${TOKEN}
url: http://127.0.0.1:1/
connections: 1
duration: 1s
headers:
  <<: *auth
  Accept: text/event-stream
publisher:
  url: http://127.0.0.1:1/publish
  rate: 1
  headers: *auth
`), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Headers["Authorization"] != "Bearer ${TOKEN}" || s.Headers["Accept"] != "text/event-stream" ||
		s.Publisher.Headers["Authorization"] != "Bearer ${TOKEN}" {
		t.Errorf("headers %v, publisher headers %v", s.Headers, s.Publisher.Headers)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	s := &Scenario{
		Name: "rt", Mode: "subscribe", URLs: []string{"http://127.0.0.1:1/a", "http://127.0.0.1:1/b"},
		Method: "POST", Body: `{"q":1}`, Headers: map[string]string{"Authorization": "Bearer ${T}"}, Insecure: true,
		Timeout: Timeouts{Connect: Duration(5 * time.Second), Headers: Duration(90 * time.Second), Read: Duration(time.Minute)},
		Profile: "custom", ArrivalRate: 3,
		Stages:     []Stage{{Duration(90 * time.Second), 10, 2}, {0, 20, 0}, {Duration(time.Hour), 0, 0}},
		Lifetime:   Lifetime{Duration(10 * time.Second), Duration(time.Minute)},
		Reconnect:  Reconnect{Policy: "always", Max: 3, BaseDelay: Duration(time.Second), MaxDelay: Duration(30 * time.Second)},
		Chaos:      Chaos{Drop: &Drop{5, Duration(10 * time.Second)}},
		Expect:     Expect{LatencyField: LatencyField{"ts", "unix_ms"}, Sequence: true},
		Publisher:  &Publisher{URL: "http://127.0.0.1:1/p", Method: "PUT", Body: "x{{nonce}}", Headers: map[string]string{"X": "y"}, Rate: 2.5},
		Thresholds: []string{"delivery.p99 < 1s"}, AbortOnFail: true,
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"duration":"1m30s"`, `"headers":"1m30s"`, `"max":"1m"`, `"duration":"1h"`, `"duration":"0s"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back Scenario
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, s) {
		t.Errorf("round trip changed the scenario:\n got %+v\nwant %+v", back, *s)
	}
	if err := back.Validate(); err != nil {
		t.Errorf("round-tripped scenario invalid: %v", err)
	}

	// Every example survives the trip after Normalize, and stays valid.
	for name, data := range exampleFiles() {
		s, err := Parse(data, name)
		if err != nil {
			t.Fatal(err)
		}
		b1, _ := json.Marshal(s)
		var back Scenario
		if err := json.Unmarshal(b1, &back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b2, _ := json.Marshal(&back)
		if string(b1) != string(b2) {
			t.Errorf("%s: JSON round trip differs:\n%s\n%s", name, b1, b2)
		}
		if err := back.Validate(); err != nil {
			t.Errorf("%s: invalid after JSON round trip: %v", name, err)
		}
	}
}

func TestDurationJSONForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{`"1m30s"`, 90 * time.Second, false},
		{`"250ms"`, 250 * time.Millisecond, false},
		{`45`, 45 * time.Second, false},
		{`"soon"`, 0, true},
		{`1.5`, 0, true},
	}
	for _, c := range cases {
		var d Duration
		err := json.Unmarshal([]byte(c.in), &d)
		if (err != nil) != c.bad || (!c.bad && d.D() != c.want) {
			t.Errorf("%s: got %v, %v", c.in, d.D(), err)
		}
	}
	for d, want := range map[time.Duration]string{90 * time.Second: "1m30s", time.Hour: "1h", time.Minute: "1m", 0: "0s", 1500 * time.Millisecond: "1.5s", time.Hour + time.Second: "1h0m1s"} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
	}
}

// TestYAMLRoundTrip: the YAML marshalers write forms the parser reads back.
func TestYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	for name, data := range exampleFiles() {
		s, err := Parse(data, name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := yaml.Marshal(s)
		if err != nil {
			t.Fatalf("%s: marshal: %v", name, err)
		}
		back, err := Parse(out, name)
		if err != nil {
			t.Fatalf("%s: re-parse: %v\n%s", name, err, out)
		}
		j1, _ := json.Marshal(s)
		j2, _ := json.Marshal(back)
		if string(j1) != string(j2) {
			t.Errorf("%s: YAML round trip differs:\n%s\n%s", name, j1, j2)
		}
	}
}

// TestUnmarshalerStandalone: the YAML methods are strict on their own too,
// for callers that run yaml.Unmarshal themselves.
func TestUnmarshalerStandalone(t *testing.T) {
	t.Parallel()
	var v struct {
		L Lifetime     `yaml:"l"`
		F LatencyField `yaml:"f"`
		D Duration     `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("l: 1s-2s\nf: ts:unix_s\nd: 3\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.L.Max.D() != 2*time.Second || v.F.Format != "unix_s" || v.D.D() != 3*time.Second {
		t.Errorf("got %+v", v)
	}
	err := yaml.Unmarshal([]byte("l:\n  min: 1s\n  mx: 2s\n"), &v)
	if err == nil || !strings.Contains(err.Error(), `line 3: unknown key "mx" (did you mean "max"?)`) {
		t.Errorf("got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, data := range exampleFiles() {
		f.Add(data)
	}
	f.Add([]byte("url: [a, b]\nstages: [1:2, {duration: x}]\n<<: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "f.yaml")
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error")
			}
			return
		}
		// Anything accepted is valid and has a load shape.
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid scenario: %v", err)
		}
		if s.Mode == ModeCapacity {
			// The search makes its own stages from the capacity block.
			if c := s.Capacity; c.Start <= 0 || (c.Step <= 0 && c.Factor <= 1) || c.Hold <= 0 || c.Ramp == nil || c.Refine == nil || len(s.Stages) > 0 {
				t.Fatalf("accepted mode capacity without a staircase: %+v, stages %v", c, s.Stages)
			}
			return
		}
		if s.TotalDuration() <= 0 {
			t.Fatalf("accepted with total duration %v", s.TotalDuration())
		}
	})
}
