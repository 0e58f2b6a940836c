package report

import (
	"fmt"
)

// ReadCheckReport loads a check or diagnose report JSON, checking its
// schema.
func ReadCheckReport(path string) (*CheckReport, error) {
	s, err := Read(path)
	if err == nil && s.Check == nil {
		err = fmt.Errorf("%s: schema %q, want %q", path, s.Schema(), CheckSchema)
	}
	return s.Check, err
}

// WriteJSON writes v as indented JSON to path, atomically (see WriteFile)
// so an interrupted write never leaves half a result.
func WriteJSON(path string, v any) error {
	return WriteFile(path, RenderJSON(v))
}

// ThresholdsPassed reports whether every threshold passed (true when there
// are none).
func ThresholdsPassed(rs []ThresholdResult) bool {
	for _, r := range rs {
		if !r.Passed {
			return false
		}
	}
	return true
}
