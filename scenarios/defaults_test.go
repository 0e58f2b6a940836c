package scenarios

import (
	"slices"
	"testing"
	"time"
)

// TestShorthandDefaults: a URL alone is 100 streams for 30 s (soak: 1 h),
// and DefaultsNote says which of them was chosen for the user.
func TestShorthandDefaults(t *testing.T) {
	t.Parallel()
	url := []string{"http://127.0.0.1:1/"}
	cases := []struct {
		name    string
		s       Scenario
		streams int
		dur     time.Duration
		note    string
	}{
		{"url alone", Scenario{URLs: url}, 100, 30 * time.Second,
			"100 streams (default), 30s (default); --connections and --duration choose them"},
		{"connections given", Scenario{URLs: url, Connections: 500}, 500, 30 * time.Second,
			"500 streams, 30s (default); --connections and --duration choose them"},
		{"duration given", Scenario{URLs: url, Duration: Duration(time.Minute)}, 100, time.Minute,
			"100 streams (default), 1m; --connections and --duration choose them"},
		{"soak", Scenario{URLs: url, Profile: ProfileSoak, Connections: 10}, 10, time.Hour,
			"10 streams, 1h (default); --connections and --duration choose them"},
		{"both given", Scenario{URLs: url, Connections: 5, Duration: Duration(10 * time.Second)}, 5, 10 * time.Second, ""},
		{"stages", Scenario{URLs: url, Stages: []Stage{{Duration(time.Second), 3, 0}}}, 0, time.Second, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.s
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			s.Normalize()
			s.Normalize() // idempotent: the note does not repeat
			if s.Connections != tc.streams || s.TotalDuration() != tc.dur || (tc.streams > 0 && s.MaxTarget() != tc.streams) {
				t.Errorf("connections %d, duration %v, peak %d; want %d streams for %v", s.Connections, s.TotalDuration(), s.MaxTarget(), tc.streams, tc.dur)
			}
			if got := s.DefaultsNote(); got != tc.note {
				t.Errorf("note %q, want %q", got, tc.note)
			}
		})
	}
	s := Scenario{URLs: url}
	s.Normalize()
	if want := []Stage{{Duration(5 * time.Second), 100, 0}, {Duration(25 * time.Second), 100, 0}}; !slices.Equal(s.Stages, want) {
		t.Errorf("default stages %v, want %v (steady, ramp 30s/6)", s.Stages, want)
	}
}
