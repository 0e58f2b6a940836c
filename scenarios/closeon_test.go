package scenarios

import (
	"strings"
	"testing"
)

func TestCloseOnAndTypeFieldKeys(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte("url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 10s\ntype_field: meta.messageType\nclose_on:\n  event: close\n  data: '*contDnd*'\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Expect.TypeField != "meta.messageType" || s.CloseOn != (CloseOn{Event: "close", Data: "*contDnd*"}) {
		t.Errorf("type_field %q close_on %+v", s.Expect.TypeField, s.CloseOn)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"close_on:\n  data: '**'\n", `s.yaml:5: close_on.data: "**": a substring match needs text between the stars`},
		{"close_on:\n  data: $.status\n", `s.yaml:5: close_on.data: "$.status": a JSON path match is $.PATH=VALUE`},
		{"close_on:\n  data: $.a..b=1\n", `is not a dotted key path`},
		{"close_on:\n  evnt: close\n", `unknown key "evnt" (did you mean "event"?)`},
		{"type_field: a..b\n", `s.yaml:4: type_field: "a..b" is not a dotted key path`},
		{"thresholds: ['events.field.chat > 0']\n", `counts events per type_field value, but no type_field is set`},
	} {
		_, err := Parse([]byte("url: http://127.0.0.1:8080/events\nconnections: 1\nduration: 10s\n"+tc.yaml), "s.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	// Mode request ends an answer with request.end; close_on is refused there.
	_, err = Parse([]byte("mode: request\nurl: http://127.0.0.1:8080/llm\nrequest:\n  rate: 1\nduration: 10s\nclose_on:\n  event: close\n"), "r.yaml")
	if err == nil || !strings.Contains(err.Error(), "close_on.event: not used in mode request, where request.end.event and request.end.data end an answer") {
		t.Errorf("close_on in mode request: %v", err)
	}
	for in, want := range map[string]DataMatch{
		"contDnd":       {Exact: "contDnd"},
		"*contDnd*":     {Contains: "contDnd"},
		"*":             {Exact: "*"},
		"$.status=done": {Path: "status", Value: "done"},
		"$.a.b=":        {Path: "a.b"},
	} {
		if got, err := ParseDataMatch(in); err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", in, got, err, want)
		}
	}
}
