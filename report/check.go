package report

import "time"

// CheckSchema names the version of the conformance report JSON.
const CheckSchema = "ssebench/check/v1"

// Check severities and statuses.
const (
	SeverityError   = "error"   // a failure fails the gate (exit 1)
	SeverityWarning = "warning" // a failure is reported, the gate passes
	SeverityInfo    = "info"    // for information only

	StatusPass = "pass"
	StatusFail = "fail"
	StatusSkip = "skip"
)

// CheckReport is the result of `ssebench check` or `ssebench diagnose`: the
// JSON the terminal table, HTML and JUnit are rendered from.
type CheckReport struct {
	Schema    string    `json:"schema"`
	Version   string    `json:"version"`
	GoVersion string    `json:"go_version"`
	Host      string    `json:"host"`
	Command   string    `json:"command"`       // "check" or "diagnose"
	Target    string    `json:"target"`        // the URL checked (diagnose: the origin)
	Via       string    `json:"via,omitempty"` // diagnose: the URL through the proxy
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	DurationS float64   `json:"duration_s"`
	Passed    bool      `json:"passed"` // no error-severity check failed, and the run was not interrupted
	// Interrupted: the run was stopped (Ctrl-C, SIGTERM) before every
	// probe finished, so the checks are partial and the report never passes.
	Interrupted bool          `json:"interrupted,omitempty"`
	Checks      []CheckResult `json:"checks"`
	// Findings are diagnose's attributions of differences to the proxy,
	// and the timeout diagnosis, each with the likely setting and a fix.
	Findings []Finding `json:"findings,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
}

// CheckResult is one check's verdict.
type CheckResult struct {
	ID         string  `json:"id"`    // stable; never renamed
	Title      string  `json:"title"` // one line
	Area       string  `json:"area"`  // response, framing, streaming, resumption, clients
	Severity   string  `json:"severity"`
	Status     string  `json:"status"`
	Reason     string  `json:"reason,omitempty"`   // why it was skipped, or a one-line why it failed
	Evidence   string  `json:"evidence,omitempty"` // what was seen: headers, bytes, timings (may be several lines)
	Fix        string  `json:"fix,omitempty"`      // how to fix it (e.g. the nginx directive)
	Ref        string  `json:"ref,omitempty"`      // the spec section or source that justifies the check
	DurationMS float64 `json:"duration_ms,omitempty"`
}

// Finding is one thing diagnose attributes to the proxy (or the timeout
// diagnosis names), with its likely cause and fix.
type Finding struct {
	Kind     string `json:"kind"` // buffering, compression, header-rewrite, idle-cut, lifetime-cap, ...
	Summary  string `json:"summary"`
	Evidence string `json:"evidence,omitempty"`
	Culprit  string `json:"culprit,omitempty"` // e.g. "nginx proxy_read_timeout (default 60s)"
	Fix      string `json:"fix,omitempty"`     // a config snippet
}
