package didyoumean

import "testing"

func TestClosest(t *testing.T) {
	words := []string{"connections", "cancelled", "duration", "delivery", "run", "report"}
	for _, c := range []struct{ in, want string }{
		{"conections", "connections"}, // one deletion
		{"cancelld", "cancelled"},
		{"duartion", "duration"}, // an adjacent swap is one edit
		{"DELIVERY", "delivery"}, // case does not count
		{"rnu", "run"},
		{"deli", "delivery"}, // a prefix
		{"xyz", ""},          // nothing close
		{"rpt", ""},          // short words allow one edit only
	} {
		if got := Closest(c.in, words); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Closest("x", nil); got != "" {
		t.Errorf("no candidates: %q", got)
	}
}
