package report

import (
	"errors"
	"strings"
	"testing"
)

func TestVerdict(t *testing.T) {
	failedTh := []ThresholdResult{{Expr: "events_lost == 0", Value: 2, Unit: UnitCount}}
	passedTh := []ThresholdResult{{Expr: "events > 0", Value: 9, Unit: UnitCount, Passed: true}}
	opened := Counters{StreamsOpened: 3, Ends: map[string]int64{EndCancelled: 3}}
	for _, tc := range []struct {
		name     string
		r        Result
		kind     string
		code     int
		headline string
	}{
		{"no thresholds", Result{Counters: opened}, VerdictCompleted, ExitOK, "no thresholds"},
		{"passed", Result{Counters: opened, Thresholds: passedTh}, VerdictPassed, ExitOK, "the threshold passed"},
		{"failed", Result{Counters: opened, Thresholds: failedTh}, VerdictThresholds, ExitGateFailed, "1 of 1 thresholds failed"},
		{"all 204", Result{Counters: Counters{Ends: map[string]int64{EndHTTP204: 8}}}, VerdictNoStreams, ExitCannotRun,
			"no stream could be opened (mostly http_204 ×8)"},
		{"nothing opened beats thresholds", Result{Counters: Counters{StreamsFailed: 2, Ends: map[string]int64{EndConnectError: 2}}, Thresholds: passedTh},
			VerdictNoStreams, ExitCannotRun, "no stream could be opened (mostly connect_error ×2)"},
		{"interrupted", Result{Counters: opened, Partial: true, PartialReason: "interrupted after 2s", Thresholds: failedTh},
			VerdictInterrupted, ExitInterrupted, "the run stopped early: interrupted after 2s"},
		{"interrupted before anything opened", Result{Partial: true, PartialReason: "interrupted after 0s"},
			VerdictInterrupted, ExitInterrupted, "the run stopped early"},
		{"aborted", Result{Counters: opened, Partial: true, Aborted: true, PartialReason: "aborted after 3s: threshold failed"},
			VerdictAborted, ExitGateFailed, "the run stopped early: aborted after 3s"},
		{"request: nothing sent", Result{Mode: ModeRequest}, VerdictNoStreams, ExitCannotRun, "no request was sent"},
		{"request: no answer opened", Result{Mode: ModeRequest, Counters: Counters{Requests: 4, StreamsFailed: 4, Ends: map[string]int64{"http_503": 4}}},
			VerdictNoStreams, ExitCannotRun, "no request was answered normally (mostly http_503 ×4)"},
		{"request: answers, none normal", Result{Mode: ModeRequest, Counters: Counters{Requests: 4, StreamsOpened: 4, Ends: map[string]int64{EndMaxDuration: 4}}},
			VerdictNoStreams, ExitGateFailed, "no request was answered normally (mostly max_duration ×4)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Verdict(&tc.r)
			if v.Kind != tc.kind || v.Code != tc.code || !strings.HasPrefix(v.Headline, tc.headline) {
				t.Fatalf("verdict %+v, want %s exit %d %q", v, tc.kind, tc.code, tc.headline)
			}
			err := v.Err()
			if ExitCode(err) != v.Code {
				t.Fatalf("Err() exits %d, verdict says %d", ExitCode(err), v.Code)
			}
			if v.Kind == VerdictThresholds && !strings.Contains(err.Error(), "events_lost == 0 (was 2)") {
				t.Fatalf("Err() %q does not name the failed threshold", err)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != ExitOK || ExitCode(errors.New("flag provided but not defined")) != ExitUsage ||
		ExitCode(CannotRun(errors.New("x"))) != ExitCannotRun || ExitCode(GateFailed(errors.New("x"))) != ExitGateFailed {
		t.Fatal("ExitCode mapping")
	}
}
