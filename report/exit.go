// Package report owns the result model: versioned JSON results and check
// reports, merging, thresholds, and their renderings (terminal, HTML, JUnit).
// It also defines the exit codes every command returns. It imports no
// network code.
package report

import (
	"errors"
	"fmt"
)

// Exit codes shared by every command.
const (
	ExitOK          = 0   // everything ran and every gate passed
	ExitGateFailed  = 1   // a threshold or an error-severity check failed
	ExitUsage       = 2   // bad flag, argument, scenario or input
	ExitCannotRun   = 3   // the run could not happen (e.g. target unreachable)
	ExitInterrupted = 130 // 128 + SIGINT (Ctrl-C): stopped, what was measured is written, marked partial
	ExitTerminated  = 143 // 128 + SIGTERM: the same, stopped by a TERM signal (kill, Kubernetes)
)

// ExitError carries an exit code on an error, so the top level decides the
// process exit status after every deferred flush has run.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Usage marks err as bad input (exit 2).
func Usage(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// Usagef formats a bad-input error (exit 2).
func Usagef(format string, a ...any) error { return Usage(fmt.Errorf(format, a...)) }

// CannotRun marks err as "could not run", e.g. target unreachable (exit 3).
func CannotRun(err error) error { return &ExitError{Code: ExitCannotRun, Err: err} }

// GateFailed marks err as a failed gate (exit 1).
func GateFailed(err error) error { return &ExitError{Code: ExitGateFailed, Err: err} }

// ExitCode maps a command's error to the process exit code: nil is 0, an
// *ExitError its own code. Every command action wraps its own errors in
// an ExitError, so a bare error comes from the flag parser: bad usage.
// main calls it; no other mapping exists.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitUsage
}
