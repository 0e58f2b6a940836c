package report

// ReadCheckReport loads a check or diagnose report JSON: ReadKind with
// CheckSchema.
func ReadCheckReport(path string) (*CheckReport, error) {
	s, err := ReadKind(path, CheckSchema)
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
