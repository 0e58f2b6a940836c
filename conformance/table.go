package conformance

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ssebench/ssebench/report"
)

// ANSI colours of the terminal table.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// tableEvidenceWidth is how much of a check's first evidence line the
// table shows; failures get their full evidence below it.
const tableEvidenceWidth = 72

// WriteTable prints a check report as a terminal table: one row per check
// with its status and the start of its evidence (or skip reason), then
// each failure with its full evidence and fix, then diagnose's findings
// and a summary line. color adds ANSI colours (for a TTY).
func WriteTable(w io.Writer, rep *report.CheckReport, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	title := fmt.Sprintf("ssebench %s %s", rep.Command, rep.Target)
	if rep.Via != "" {
		title += " via " + rep.Via
	}
	fmt.Fprintf(&b, "%s  (%.1fs)\n\n", paint(ansiBold, title), rep.DurationS)

	idW, areaW := len("CHECK"), len("AREA")
	for _, c := range rep.Checks {
		idW = max(idW, len(c.ID))
		areaW = max(areaW, len(c.Area))
	}
	fmt.Fprintf(&b, "%-*s  %-*s  %-8s  %-6s  %s\n", areaW, "AREA", idW, "CHECK", "SEVERITY", "STATUS", "EVIDENCE")
	counts := map[string]int{}
	var failures []report.CheckResult
	for _, c := range rep.Checks {
		status, code := c.Status, ""
		switch c.Status {
		case report.StatusPass:
			code = ansiGreen
		case report.StatusSkip:
			code = ansiDim
		case report.StatusFail:
			status = "FAIL"
			switch c.Severity {
			case report.SeverityError:
				code = ansiRed
			case report.SeverityWarning:
				code = ansiYellow
			default:
				code = ansiCyan
			}
			failures = append(failures, c)
		}
		counts[c.Status+"/"+c.Severity]++
		counts[c.Status]++
		detail := c.Evidence
		if c.Status != report.StatusPass && c.Reason != "" {
			detail = c.Reason
		}
		first, _, _ := strings.Cut(detail, "\n")
		fmt.Fprintf(&b, "%-*s  %-*s  %-8s  %s  %s\n", areaW, c.Area, idW, c.ID, c.Severity,
			paint(code, fmt.Sprintf("%-6s", status)), clip(first, tableEvidenceWidth))
	}

	if len(failures) > 0 {
		fmt.Fprintf(&b, "\n%s\n", paint(ansiBold, "Failures"))
		for _, c := range failures {
			code := ansiYellow
			if c.Severity == report.SeverityError {
				code = ansiRed
			} else if c.Severity == report.SeverityInfo {
				code = ansiCyan
			}
			fmt.Fprintf(&b, "\n%s %s (%s): %s\n", paint(code, "✗"), paint(ansiBold, c.ID), c.Severity, c.Title)
			if c.Reason != "" {
				writeIndented(&b, "why", c.Reason)
			}
			if c.Evidence != "" {
				writeIndented(&b, "seen", c.Evidence)
			}
			if c.Fix != "" {
				writeIndented(&b, "fix", c.Fix)
			}
			if c.Ref != "" {
				writeIndented(&b, "ref", c.Ref)
			}
		}
	}
	if len(rep.Findings) > 0 {
		fmt.Fprintf(&b, "\n%s\n", paint(ansiBold, "Findings"))
		for _, f := range rep.Findings {
			fmt.Fprintf(&b, "\n%s %s\n", paint(ansiYellow, "▶ "+f.Kind+":"), f.Summary)
			if f.Evidence != "" {
				writeIndented(&b, "seen", f.Evidence)
			}
			if f.Culprit != "" {
				writeIndented(&b, "culprit", f.Culprit)
			}
			if f.Fix != "" {
				writeIndented(&b, "fix", f.Fix)
			}
		}
	}
	if len(rep.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&b, "note: %s\n", n)
		}
	}
	verdict := paint(ansiGreen+ansiBold, "PASS")
	switch {
	case rep.Interrupted:
		verdict = paint(ansiYellow+ansiBold, "INTERRUPTED") + " (partial results)"
	case !rep.Passed:
		verdict = paint(ansiRed+ansiBold, "FAIL")
	}
	fmt.Fprintf(&b, "\n%s: %d passed, %d failed (%d error, %d warning, %d info), %d skipped\n", verdict,
		counts[report.StatusPass], counts[report.StatusFail],
		counts[report.StatusFail+"/"+report.SeverityError], counts[report.StatusFail+"/"+report.SeverityWarning], counts[report.StatusFail+"/"+report.SeverityInfo],
		counts[report.StatusSkip])
	_, err := io.WriteString(w, b.String())
	return err
}

// writeIndented writes a labelled, possibly multi-line value under a
// failure.
func writeIndented(b *strings.Builder, label, text string) {
	pad := strings.Repeat(" ", len(label)+4)
	for i, line := range strings.Split(text, "\n") {
		if i == 0 {
			fmt.Fprintf(b, "  %s: %s\n", label, line)
		} else {
			fmt.Fprintf(b, "%s%s\n", pad, line)
		}
	}
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
