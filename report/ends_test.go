package report

import (
	"slices"
	"testing"
)

// Each producer gives each class one description and one error flag.
func TestEndRegistryOneMeaningPerProducer(t *testing.T) {
	for _, p := range []string{ModeSubscribe, ModeRequest, ProducerTap, ProducerCheck} {
		seen := map[string]bool{}
		for _, c := range EndClasses() {
			if !slices.Contains(c.In, p) {
				continue
			}
			if seen[c.Name] {
				t.Errorf("%s: end class %s registered twice", p, c.Name)
			}
			seen[c.Name] = true
			if c.Desc == "" {
				t.Errorf("%s: end class %s has no description", p, c.Name)
			}
			got, ok := LookupEnd(p, c.Name)
			if !ok || got.Desc != c.Desc || got.Error != c.Error {
				t.Errorf("%s: LookupEnd(%s) = %+v, %v; want %+v", p, c.Name, got, ok, c)
			}
		}
	}
	for _, c := range EndClasses() {
		if len(c.In) == 0 {
			t.Errorf("end class %s has no producer", c.Name)
		}
	}
}

func TestEndLookup(t *testing.T) {
	for _, tc := range []struct {
		mode, class string
		known, err  bool
	}{
		{"", EndEOF, true, false}, // older results have no mode: subscribe
		{ModeSubscribe, EndHTTP204, true, false},
		{ModeRequest, EndHTTP204, true, true},
		{ModeSubscribe, "http_503", true, true},
		{ModeRequest, EndHTTP(429), true, true},
		{ModeSubscribe, EndCancelled, true, false},
		{ModeRequest, EndCancelled, true, false},
		{ModeSubscribe, EndSentinel, false, true}, // request mode only
		{ModeRequest, EndNoHeaders, false, true},
		{ModeSubscribe, "cancelld", false, true},
		{ModeSubscribe, "http_20", false, true},
		{ModeSubscribe, EndBodyError, false, true},
		{ModeRequest, EndBodyError, true, true},
	} {
		_, ok := LookupEnd(tc.mode, tc.class)
		if ok != tc.known || EndIsError(tc.mode, tc.class) != tc.err {
			t.Errorf("%s/%s: known %v error %v, want %v %v", tc.mode, tc.class, ok, EndIsError(tc.mode, tc.class), tc.known, tc.err)
		}
	}
	if got := TopEnd(map[string]int64{"reset": 2, "eof": 2, "http_503": 5}); got != "http_503 ×5" {
		t.Errorf("TopEnd = %q", got)
	}
	if got := TopEnd(nil); got != "no answer" {
		t.Errorf("TopEnd(nil) = %q", got)
	}
}
