package report

import (
	"encoding/json"
	"fmt"
	"os"
)

// ReadCheckReport loads a check or diagnose report JSON, checking its
// schema.
func ReadCheckReport(path string) (*CheckReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r CheckReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Schema != CheckSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, CheckSchema)
	}
	return &r, nil
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
