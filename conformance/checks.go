package conformance

import (
	"fmt"

	"github.com/ssebench/ssebench/report"
)

// verdict is one check's outcome before it becomes a report.CheckResult.
type verdict struct {
	status   string
	reason   string
	evidence string
	fix      string // overrides the catalogue's fix (a more specific one)
}

func pass(evidence string) verdict { return verdict{status: report.StatusPass, evidence: evidence} }
func fail(reason, evidence string) verdict {
	return verdict{status: report.StatusFail, reason: reason, evidence: evidence}
}
func skip(reason string) verdict { return verdict{status: report.StatusSkip, reason: reason} }

// evaluators maps each check ID to the function judging it.
var evaluators = map[string]func(*target) verdict{
	"status":            (*target).checkStatus,
	"content-type":      (*target).checkContentType,
	"charset":           (*target).checkCharset,
	"cache-control":     (*target).checkCacheControl,
	"content-length":    (*target).checkContentLength,
	"compression":       (*target).checkCompression,
	"x-accel-buffering": (*target).checkXAccel,
	"headers-prompt":    (*target).checkHeadersPrompt,
	"request-headers":   (*target).checkRequestHeaders,
	"cors":              (*target).checkCORS,
	"cors-preflight":    (*target).checkPreflight,
	"h2-hop-by-hop":     (*target).checkH2HopByHop,
	"utf8":              (*target).checkUTF8,
	"bom":               (*target).checkBOM,
	"line-endings":      (*target).checkLineEndings,
	"fields":            (*target).checkFields,
	"terminated":        (*target).checkTerminated,
	"dataless":          (*target).checkDataless,
	"id-null":           (*target).checkIDNull,
	"id-safe":           (*target).checkIDSafe,
	"retry-valid":       (*target).checkRetryValid,
	"event-size":        (*target).checkEventSize,
	"first-event":       (*target).checkFirstEvent,
	"buffering":         (*target).checkBuffering,
	"heartbeat":         (*target).checkHeartbeat,
	"idle-timeout":      (*target).checkIdleTimeout,
	"end-kind":          (*target).checkEndKind,
	"ids":               (*target).checkIDs,
	"resume":            (*target).checkResume,
	"resume-replay":     (*target).checkResumeReplay,
	"resume-unknown-id": (*target).checkResumeUnknownID,
	"retry-hint":        (*target).checkRetryHint,
	"reconnect-storm":   (*target).checkReconnectStorm,
	"stop-204":          (*target).checkStop204,
	"concurrent":        (*target).checkConcurrent,
	"churn":             (*target).checkChurn,
	"http2":             (*target).checkHTTP2,
}

// evaluate judges every selected check, in catalogue order.
func (t *target) evaluate() []report.CheckResult {
	var out []report.CheckResult
	for _, c := range catalogue {
		if !t.sel[c.ID] {
			continue
		}
		out = append(out, t.result(c))
	}
	return out
}

func (t *target) result(c Check) report.CheckResult {
	v := evaluators[c.ID](t)
	fix := ""
	if v.status == report.StatusFail {
		fix = c.Fix
		if v.fix != "" {
			fix = v.fix
		}
	}
	return report.CheckResult{
		ID: c.ID, Title: c.Title, Area: c.Area, Severity: c.Severity, Status: v.status,
		Reason: v.reason, Evidence: v.evidence, Fix: fix, Ref: c.Ref,
	}
}

// --- gates ---

// needResponse passes when the main probe got a response at all.
func (t *target) needResponse() (verdict, bool) {
	m := t.main
	if m.err != nil {
		if m.errClass == report.EndHeadersTimeout {
			return skip(fmt.Sprintf("no response headers within %s (see status and headers-prompt)", report.FormatDuration(t.cfg.Window))), false
		}
		return skip("no response: " + errText(m.err)), false
	}
	return verdict{}, true
}

// needBody passes when the main probe got a 2xx response with a body.
func (t *target) needBody() (verdict, bool) {
	if v, ok := t.needResponse(); !ok {
		return v, false
	}
	if t.main.wire == nil {
		return skip(fmt.Sprintf("no stream to check: answered %s (see status)", t.main.statusTxt)), false
	}
	return verdict{}, true
}

// needText passes when the main probe's body could be decoded.
func (t *target) needText() (verdict, bool) {
	if v, ok := t.needBody(); !ok {
		return v, false
	}
	if t.main.undecodable {
		return skip(fmt.Sprintf("the body is %s-encoded, which ssebench cannot decode (see compression)", t.main.encoding)), false
	}
	return verdict{}, true
}

func (t *target) raw() rawStats {
	m := t.main
	return scanRaw(m.text.capture, m.text.total <= int64(len(m.text.capture)) && m.end != report.EndOpen)
}
