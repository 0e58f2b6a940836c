package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReadAny loads a saved JSON of either kind, told apart by its schema:
// exactly one of the returned pointers is non-nil when err is nil.
func ReadAny(path string) (*Result, *CheckReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, nil, fmt.Errorf("%s: not a ssebench JSON: %w", path, err)
	}
	switch head.Schema {
	case ResultSchema:
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return &r, nil, nil
	case CheckSchema:
		var r CheckReport
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, &r, nil
	}
	return nil, nil, fmt.Errorf("%s: schema %q is neither %q (run) nor %q (check, diagnose)", path, head.Schema, ResultSchema, CheckSchema)
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
