package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Saved is one saved ssebench JSON: exactly one field is set, by the
// file's schema.
type Saved struct {
	Result   *Result         // a run (ssebench-result)
	Check    *CheckReport    // a check or diagnose report
	Capacity *CapacityResult // a capacity search
}

// Schema is the schema of what was read.
func (s Saved) Schema() string {
	switch {
	case s.Result != nil:
		return ResultSchema
	case s.Check != nil:
		return CheckSchema
	case s.Capacity != nil:
		return CapacitySchema
	}
	return ""
}

// Read loads a saved JSON of any kind, reading the file once and telling
// the kind by its schema: the one reader every command, ReadKind and
// ReadResult use.
func Read(path string) (Saved, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Saved{}, err
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return Saved{}, fmt.Errorf("%s: not a ssebench JSON: %w", path, err)
	}
	var s Saved
	var v any
	switch head.Schema {
	case ResultSchema:
		s.Result = &Result{}
		v = s.Result
	case CheckSchema:
		s.Check = &CheckReport{}
		v = s.Check
	case CapacitySchema:
		s.Capacity = &CapacityResult{}
		v = s.Capacity
	default:
		return Saved{}, fmt.Errorf("%s: schema %q is none of %q (run), %q (check, diagnose), %q (capacity)", path, head.Schema, ResultSchema, CheckSchema, CapacitySchema)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return Saved{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ReadKind is Read with the kind required: a file of another schema is
// an error naming the schema found and the one wanted.
func ReadKind(path, want string) (Saved, error) {
	s, err := Read(path)
	if err == nil && s.Schema() != want {
		return Saved{}, fmt.Errorf("%s: schema %q, want %q", path, s.Schema(), want)
	}
	return s, err
}

// ScenarioThresholds reads the thresholds recorded in a result's scenario.
func (r *Result) ScenarioThresholds() []string {
	if len(r.Scenario) == 0 {
		return nil
	}
	var s struct {
		Thresholds []string `json:"thresholds"`
	}
	if json.Unmarshal(r.Scenario, &s) != nil {
		return nil
	}
	return s.Thresholds
}

// WriteFile renders into path atomically (a temporary file renamed into
// place), so an interrupted run never leaves half a report.
func WriteFile(path string, render func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ssebench-*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(tmp)
	err = render(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// RenderJSON renders v as indented JSON (HTML characters as they are,
// not \u003c): the one JSON form of every result and report file.
func RenderJSON(v any) func(io.Writer) error {
	return func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
}

// WriteOutput writes one report of a command: to stdout when path is
// "-", else to the file path through WriteFile (atomically). Every
// command's --json, --out, --html and --junit files go through it.
func WriteOutput(stdout io.Writer, path string, render func(io.Writer) error) error {
	if path == "-" {
		return render(stdout)
	}
	return WriteFile(path, render)
}
