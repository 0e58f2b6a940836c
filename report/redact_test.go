package report

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestScrubber(t *testing.T) {
	s := NewScrubber([]string{"tok-<1>&\"x\"", "abc", "", "sekrit-long-value"},
		map[string]string{"http://h/e?token=tok-<1>&\"x\"": "http://h/e?token=[redacted]"})
	r := &Result{
		Target:        "http://h/e?token=tok-<1>&\"x\"",
		Scenario:      json.RawMessage(`{"headers":{"A":"tok-\u003c1\u003e\u0026\"x\""},"url":["http://h/e?token=tok-\u003c1\u003e\u0026\"x\""]}`),
		PartialReason: "aborted: sekrit-long-value",
		Counters:      Counters{ErrorSamples: map[string]string{"reset": "sent sekrit-long-value, got abc"}},
		Notes:         []string{"tok-<1>&\"x\""},
		Thresholds:    []ThresholdResult{{Expr: "x", Note: "sekrit-long-value"}},
		Metrics:       map[string]Metric{"delivery": {HDR: "HISTsekrit-long-valueabc"}},
	}
	s.Result(r)
	if r.Metrics["delivery"].HDR != "HISTsekrit-long-valueabc" {
		t.Error("histograms are numbers: they are never rewritten")
	}
	r.Metrics = nil
	b, _ := json.Marshal(r)
	for _, secret := range []string{"tok-", "sekrit-long-value"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("%q left in %s", secret, b)
		}
	}
	if r.Target != "http://h/e?token=[redacted]" {
		t.Errorf("target %q: the URL rewrite comes first", r.Target)
	}
	if !strings.Contains(r.Counters.ErrorSamples["reset"], "got abc") {
		t.Errorf("a 3-byte value was scrubbed: %q", r.Counters.ErrorSamples["reset"])
	}
	var sc map[string]any
	if err := json.Unmarshal(r.Scenario, &sc); err != nil || strings.Contains(string(r.Scenario), "tok-") {
		t.Errorf("scenario %s (%v): the JSON-escaped secret must go, the JSON stay valid", r.Scenario, err)
	}

	cr := &CheckReport{Target: "x", Checks: []CheckResult{{Evidence: "Authorization: sekrit-long-value"}},
		Findings: []Finding{{Evidence: "sekrit-long-value"}}}
	s.CheckReport(cr)
	if cr.Checks[0].Evidence != "Authorization: [redacted]" || cr.Findings[0].Evidence != "[redacted]" {
		t.Errorf("check report not scrubbed: %+v", cr)
	}
	err := s.Error(errors.New("dial: sekrit-long-value"))
	if err.Error() != "dial: [redacted]" {
		t.Errorf("error %q", err)
	}
	var nilScrub *Scrubber
	if nilScrub.String("a") != "a" {
		t.Error("a nil Scrubber changes text")
	}
}
