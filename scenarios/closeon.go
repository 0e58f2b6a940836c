package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// DataMatch is close_on.data read: what an event's data must be for the
// client to close. Exactly one form is set.
type DataMatch struct {
	Exact    string // the whole data equals it (the plain form)
	Contains string // the data contains it ("*TEXT*")
	// Path and Value: the JSON value at the dotted Path in the data (a
	// string, unescaped, or a number, boolean or null as written) equals
	// Value ("$.PATH=VALUE").
	Path, Value string
}

// ParseDataMatch reads close_on.data:
//
//	contDnd          the data is exactly contDnd
//	*contDnd*        the data contains contDnd
//	$.status=done    the data is JSON whose "status" is "done" (a dotted
//	                 path: $.meta.state=done)
//
// Data that itself starts and ends with * or starts with $. cannot be
// matched exactly; match it as a substring instead.
func ParseDataMatch(s string) (DataMatch, error) {
	if s == "" {
		return DataMatch{}, fmt.Errorf("empty: give the data that ends the client (contDnd, *contDnd* for a substring, $.status=done for a JSON field)")
	}
	if rest, ok := strings.CutPrefix(s, "$."); ok {
		path, value, ok := strings.Cut(rest, "=")
		if !ok {
			return DataMatch{}, fmt.Errorf("%q: a JSON path match is $.PATH=VALUE, e.g. $.status=done", s)
		}
		if path == "" || slices.Contains(strings.Split(path, "."), "") {
			return DataMatch{}, fmt.Errorf("%q: %q is not a dotted key path (e.g. $.status=done, $.meta.state=done)", s, path)
		}
		return DataMatch{Path: path, Value: value}, nil
	}
	if len(s) >= 2 && strings.HasPrefix(s, "*") && strings.HasSuffix(s, "*") {
		sub := s[1 : len(s)-1]
		if sub == "" {
			return DataMatch{}, fmt.Errorf("%q: a substring match needs text between the stars, e.g. *contDnd*", s)
		}
		return DataMatch{Contains: sub}, nil
	}
	return DataMatch{Exact: s}, nil
}

// validDottedPath reports whether p is a dotted key path ("a", "a.b").
func validDottedPath(p string) bool {
	return p != "" && !slices.Contains(strings.Split(p, "."), "")
}
