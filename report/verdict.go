package report

import (
	"errors"
	"fmt"
	"strings"
)

// Kinds of a load verdict.
const (
	VerdictPassed      = "passed"      // every threshold passed
	VerdictCompleted   = "completed"   // no threshold was set: no gate
	VerdictThresholds  = "thresholds"  // a threshold failed
	VerdictAborted     = "aborted"     // abort_on_fail stopped the run on a failed threshold (or a merged share stopped unreachable)
	VerdictNoStreams   = "no-streams"  // no stream was opened (or no answer ended normally)
	VerdictInterrupted = "interrupted" // Ctrl-C or SIGTERM stopped the run
)

// LoadVerdict is a load result's outcome. It is decided once, by Verdict,
// and read by every output: the summary's last line, the HTML banner, the
// JUnit run case and the process exit code.
type LoadVerdict struct {
	Kind     string // one of the Verdict* kinds
	Code     int    // the process exit code: ExitOK, ExitGateFailed, ExitCannotRun or ExitInterrupted
	Label    string // PASSED, FAILED, PARTIAL or COMPLETED
	Headline string // one line: what happened
	// Failed lists the failed thresholds with their values, as
	// FailedThresholds gives them: "events_lost == 0 (was 2)".
	Failures []string
}

// Failed reports whether the verdict fails the run (any exit code but 0).
func (v LoadVerdict) Failed() bool { return v.Code != ExitOK }

// Err is the verdict as the error a command returns: nil when it passed,
// else an *ExitError with the verdict's code and headline (none for an
// interrupted run, whose partial result speaks for itself).
func (v LoadVerdict) Err() error {
	switch {
	case !v.Failed():
		return nil
	case v.Kind == VerdictInterrupted:
		return &ExitError{Code: v.Code}
	case v.Kind == VerdictThresholds:
		return &ExitError{Code: v.Code, Err: errors.New(v.Headline + ": " + strings.Join(v.Failures, "; "))}
	}
	return &ExitError{Code: v.Code, Err: errors.New(v.Headline)}
}

// Verdict decides a load result's outcome, in this order: an interrupted
// run (exit 130) says so first; a run that opened no stream, or in
// request mode sent nothing or got no answer that ended normally, failed
// whatever its thresholds say (exit 3 when nothing was opened or sent,
// 1 otherwise; a run stopped early because nothing could connect gives
// its cause); then abort_on_fail (or, in a merge, a share that stopped
// unreachable while others ran), failed thresholds (exit 1), passed
// thresholds, and a run without thresholds (exit 0: no gate).
func Verdict(r *Result) LoadVerdict {
	failedList := FailedThresholds(r.Thresholds)
	failed := len(failedList)
	fail := func(kind string, code int, headline string) LoadVerdict {
		return LoadVerdict{Kind: kind, Code: code, Label: "FAILED", Headline: headline, Failures: failedList}
	}
	switch {
	case r.Partial && !r.Aborted && !r.Unreachable:
		return LoadVerdict{Kind: VerdictInterrupted, Code: ExitInterrupted, Label: "PARTIAL",
			Headline: "the run stopped early: " + r.PartialReason}
	case noAnswer(r) && r.Unreachable:
		return fail(VerdictNoStreams, ExitCannotRun, "the run stopped early: "+r.PartialReason)
	case noAnswer(r):
		h := noAnswerText(r)
		if len(r.Counters.Ends) > 0 {
			h += " (mostly " + TopEnd(r.Counters.Ends) + ")"
		}
		code := ExitCannotRun
		if r.Counters.StreamsOpened > 0 {
			code = ExitGateFailed // answers came, none ended normally
		}
		return fail(VerdictNoStreams, code, h)
	case r.Aborted || r.Unreachable:
		return fail(VerdictAborted, ExitGateFailed, "the run stopped early: "+r.PartialReason)
	case failed > 0:
		return fail(VerdictThresholds, ExitGateFailed, fmt.Sprintf("%d of %d thresholds failed", failed, len(r.Thresholds)))
	case len(r.Thresholds) > 0:
		return LoadVerdict{Kind: VerdictPassed, Code: ExitOK, Label: "PASSED", Headline: allPassed(len(r.Thresholds))}
	}
	return LoadVerdict{Kind: VerdictCompleted, Code: ExitOK, Label: "COMPLETED",
		Headline: "no thresholds were set, so there is no pass/fail gate"}
}

// noAnswer reports whether a run got nothing to measure: no stream
// opened, or in request mode no answer that ended normally.
func noAnswer(r *Result) bool {
	if r.IsRequestMode() {
		return r.Counters.RequestsOK == 0
	}
	return r.Counters.StreamsOpened == 0
}

// noAnswerText says what noAnswer found.
func noAnswerText(r *Result) string {
	if r.IsRequestMode() {
		if r.Counters.Requests == 0 {
			return "no request was sent"
		}
		return "no request was answered normally"
	}
	return "no stream could be opened"
}
