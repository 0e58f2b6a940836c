package scenarios

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sec = time.Second

func TestProfileShapes(t *testing.T) {
	t.Parallel()
	type point struct {
		at   time.Duration
		want int
	}
	cases := []struct {
		name   string
		s      Scenario
		total  time.Duration
		points []point
	}{
		{"steady default ramp is duration/6",
			Scenario{Profile: "steady", Connections: 100, Duration: Duration(60 * sec)}, 60 * sec,
			[]point{{-sec, 0}, {0, 0}, {5 * sec, 50}, {10 * sec, 100}, {30 * sec, 100}, {59 * sec, 100}, {60 * sec, 100}, {2 * time.Hour, 100}}},
		{"steady default ramp caps at 30s",
			Scenario{Connections: 1000, Duration: Duration(10 * time.Minute)}, 10 * time.Minute,
			[]point{{15 * sec, 500}, {30 * sec, 1000}, {9 * time.Minute, 1000}}},
		{"steady explicit ramp",
			Scenario{Profile: "steady", Connections: 10, Ramp: Duration(20 * sec), Duration: Duration(30 * sec)}, 30 * sec,
			[]point{{2 * sec, 1}, {10 * sec, 5}, {20 * sec, 10}}},
		{"ramp over the whole duration",
			Scenario{Profile: "ramp", Connections: 100, Duration: Duration(100 * sec)}, 100 * sec,
			[]point{{0, 0}, {25 * sec, 25}, {50 * sec, 50}, {99 * sec, 99}, {100 * sec, 100}}},
		{"spike: base 10%, jump at D/3, back at 2D/3",
			Scenario{Profile: "spike", Connections: 100, Duration: Duration(90 * sec)}, 90 * sec,
			[]point{{0, 0}, {7500 * time.Millisecond, 5}, {15 * sec, 10}, {29 * sec, 10}, {30 * sec, 100}, {45 * sec, 100}, {59 * sec, 100}, {60 * sec, 10}, {89 * sec, 10}, {90 * sec, 10}}},
		{"spike base is at least one stream",
			Scenario{Profile: "spike", Connections: 4, Ramp: Duration(sec), Duration: Duration(30 * sec)}, 30 * sec,
			[]point{{sec, 1}, {10 * sec, 4}, {20 * sec, 1}}},
		{"soak defaults to an hour",
			Scenario{Profile: "soak", Connections: 50}, time.Hour,
			[]point{{15 * sec, 25}, {30 * sec, 50}, {59 * time.Minute, 50}}},
		{"churn holds like steady",
			Scenario{Profile: "churn", Connections: 10, Duration: Duration(60 * sec)}, 60 * sec,
			[]point{{5 * sec, 5}, {10 * sec, 10}, {50 * sec, 10}}},
		{"custom stages with a step",
			Scenario{Stages: []Stage{{Duration(10 * sec), 100, 0}, {0, 500, 0}, {Duration(10 * sec), 500, 0}, {Duration(10 * sec), 0, 0}}}, 30 * sec,
			[]point{{5 * sec, 50}, {9999 * time.Millisecond, 100}, {10 * sec, 500}, {19 * sec, 500}, {25 * sec, 250}, {30 * sec, 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.s
			s.URLs = []string{"http://127.0.0.1:1/"}
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			// The shape is the same before and after Normalize.
			for _, phase := range []string{"raw", "normalized"} {
				if phase == "normalized" {
					s.Normalize()
				}
				if got := s.TotalDuration(); got != tc.total {
					t.Errorf("%s: TotalDuration = %v, want %v", phase, got, tc.total)
				}
				for _, p := range tc.points {
					if got := s.TargetAt(p.at); got != p.want {
						t.Errorf("%s: TargetAt(%v) = %d, want %d (stages %v)", phase, p.at, got, p.want, s.Stages)
					}
				}
			}
			if err := s.Validate(); err != nil {
				t.Errorf("invalid after Normalize: %v", err)
			}
		})
	}
}

func TestSpikeStages(t *testing.T) {
	t.Parallel()
	s := Scenario{URLs: []string{"http://127.0.0.1:1/"}, Profile: "spike", Connections: 1000, Duration: Duration(3 * time.Minute), Ramp: Duration(10 * sec), ArrivalRate: 50}
	s.Normalize()
	want := []Stage{
		{Duration(10 * sec), 100, 50}, {Duration(50 * sec), 100, 50}, {0, 1000, 50},
		{Duration(time.Minute), 1000, 50}, {0, 100, 50}, {Duration(time.Minute), 100, 50},
	}
	if !reflect.DeepEqual(s.Stages, want) {
		t.Errorf("stages\n got %v\nwant %v", s.Stages, want)
	}
}

func TestNormalizeIsIdempotent(t *testing.T) {
	t.Parallel()
	for name, data := range exampleFiles() {
		s, err := Parse(data, name)
		if err != nil {
			t.Fatal(err)
		}
		before := *s.clone()
		s.Normalize()
		if !reflect.DeepEqual(*s, before) {
			t.Errorf("%s: second Normalize changed it:\n%+v\n%+v", name, *s, before)
		}
	}
}

func TestChurnLifetimeDefault(t *testing.T) {
	t.Parallel()
	s := Scenario{URLs: []string{"http://127.0.0.1:1/"}, Profile: "churn", Connections: 10, Duration: Duration(time.Minute)}
	s.Normalize()
	if s.Lifetime != DefaultChurnLifetime || s.Lifetime.String() != "5s-30s" {
		t.Errorf("lifetime = %v", s.Lifetime)
	}
	s = Scenario{URLs: []string{"http://127.0.0.1:1/"}, Profile: "churn", Connections: 10, Duration: Duration(time.Minute), Lifetime: Lifetime{Duration(sec), Duration(2 * sec)}}
	s.Normalize()
	if s.Lifetime.String() != "1s-2s" {
		t.Errorf("explicit lifetime replaced: %v", s.Lifetime)
	}
}

func TestRateAt(t *testing.T) {
	t.Parallel()
	s := Scenario{
		URLs:        []string{"http://127.0.0.1:1/"},
		ArrivalRate: 7,
		Stages:      []Stage{{Duration(10 * sec), 100, 50}, {Duration(10 * sec), 100, 0}, {0, 200, 9}, {Duration(10 * sec), 200, 20}},
	}
	cases := []struct {
		at   time.Duration
		want float64
	}{{0, 50}, {9 * sec, 50}, {10 * sec, 7}, {19 * sec, 7}, {20 * sec, 20}, {29 * sec, 20}, {time.Hour, 20}}
	for _, phase := range []string{"raw", "normalized"} {
		if phase == "normalized" {
			s.Normalize()
		}
		for _, c := range cases {
			if got := s.RateAt(c.at); got != c.want {
				t.Errorf("%s: RateAt(%v) = %v, want %v", phase, c.at, got, c.want)
			}
		}
	}
	none := Scenario{Connections: 5, Duration: Duration(sec)}
	if got := none.RateAt(0); got != 0 {
		t.Errorf("no cap: RateAt = %v", got)
	}
}

func TestShapeValidation(t *testing.T) {
	t.Parallel()
	url := []string{"http://127.0.0.1:1/"}
	cases := []struct {
		name string
		s    Scenario
		want string
	}{
		{"custom without stages", Scenario{URLs: url, Profile: "custom"},
			`stages: required with profile custom (a list of {duration, target}); or use a built-in profile: steady, ramp, spike, soak, churn`},
		{"shorthand with stages", Scenario{URLs: url, Connections: 5, Stages: []Stage{{Duration(sec), 1, 0}}},
			`connections: belongs to the profile shorthand (profile, connections, ramp, duration), but the load shape here is explicit stages; use one or the other`},
		{"ramp with profile ramp", Scenario{URLs: url, Profile: "ramp", Connections: 5, Ramp: Duration(sec), Duration: Duration(time.Minute)},
			`ramp: not used by profile ramp, which ramps over the whole duration; leave it out`},
		{"spike ramp past the first third", Scenario{URLs: url, Profile: "spike", Connections: 5, Ramp: Duration(30 * sec), Duration: Duration(time.Minute)},
			`ramp: 30s is longer than a third of the duration (20s), where profile spike jumps`},
		{"stages last no time", Scenario{URLs: url, Stages: []Stage{{0, 5, 0}}},
			`stages: the stages last 0s in total; give at least one a duration`},
		{"stages open nothing", Scenario{URLs: url, Stages: []Stage{{Duration(sec), 0, 0}}},
			`stages: every target is 0, so no stream would open`},
		{"negative arrival rate", Scenario{URLs: url, Connections: 1, Duration: Duration(sec), ArrivalRate: -1},
			`arrival_rate: -1 is not a rate (connection attempts per second, 0 for no cap)`},
		{"backoff base above max", Scenario{URLs: url, Connections: 1, Duration: Duration(sec), Reconnect: Reconnect{BaseDelay: Duration(time.Minute)}},
			`reconnect.base_delay: base_delay 1m is longer than max_delay 30s`},
		{"latency format none with a field", Scenario{URLs: url, Connections: 1, Duration: Duration(sec), Expect: Expect{LatencyField: LatencyField{"ts", "none"}}},
			`latency_field: format none turns delivery latency off, but field is "ts"; drop one of them`},
		{"publisher body without nonce", Scenario{URLs: url, Connections: 1, Duration: Duration(sec), Publisher: &Publisher{URL: "http://127.0.0.1:1/p", Rate: 1, Body: "hello"}},
			`publisher.body: must contain {{nonce}}: it is how a delivered event is matched to its publish`},
		{"bad mode", Scenario{URLs: url, Mode: "publish", Connections: 1, Duration: Duration(sec)},
			`mode: "publish" is not one of subscribe, request, capacity`},
		{"bad method", Scenario{URLs: url, Method: "GE T", Connections: 1, Duration: Duration(sec)},
			`method: "GE T" is not an HTTP method`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.s.Validate()
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestProfilesDocTable keeps the stage table in PROFILES.md honest.
func TestProfilesDocTable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("PROFILES.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"steady", "ramp", "spike", "soak"} {
		s := Scenario{URLs: []string{"http://127.0.0.1:1/"}, Profile: p, Connections: 1000, Duration: Duration(3 * time.Minute)}
		label := p
		if p == "soak" {
			s.Duration = 0
			label = "soak (D unset)"
		}
		s.Normalize()
		var parts []string
		for _, st := range s.Stages {
			parts = append(parts, "`"+st.String()+"`")
		}
		row := "| " + label + " | " + strings.Join(parts, ", ") + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("PROFILES.md lacks the row\n%s", row)
		}
	}
}
