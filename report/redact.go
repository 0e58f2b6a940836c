package report

import (
	"encoding/json"
	"strings"
)

// Redaction is what a scrubbed secret becomes in every output.
const Redaction = "[redacted]"

// minSecretLen is the shortest value Scrubber treats as a secret: shorter
// ones would blot out ordinary words and are not secrets worth the name.
const minSecretLen = 4

// Scrubber replaces known secret values (header values taken from the
// environment, tokens, passwords) wherever they appear in a result's
// text, as a second line of defence behind redacting the scenario: an
// error message or a server's echo can still carry a secret. Safe for
// concurrent use once built.
type Scrubber struct {
	r *strings.Replacer
}

// NewScrubber replaces each secret with [redacted], and each key of
// rewrite (e.g. a URL with a token) with its value (the redacted URL);
// rewrites are applied first. Secrets shorter than 4 bytes are ignored.
func NewScrubber(secrets []string, rewrite map[string]string) *Scrubber {
	var pairs []string
	for _, from := range sortedKeys(rewrite) {
		if from != "" && from != rewrite[from] {
			pairs = append(pairs, from, rewrite[from])
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	var ss []string
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			ss = append(ss, s)
		}
	}
	sortByLenDesc(ss)
	for _, s := range ss {
		pairs = append(pairs, s, Redaction)
		// The same secret as it appears inside JSON text (quotes, <, &).
		if b, err := json.Marshal(s); err == nil {
			if q := string(b[1 : len(b)-1]); q != s {
				pairs = append(pairs, q, Redaction)
			}
		}
	}
	if len(pairs) == 0 {
		return &Scrubber{}
	}
	return &Scrubber{r: strings.NewReplacer(pairs...)}
}

func sortByLenDesc(ss []string) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && len(ss[j]) > len(ss[j-1]); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}

// String scrubs one text.
func (s *Scrubber) String(v string) string {
	if s == nil || s.r == nil {
		return v
	}
	return s.r.Replace(v)
}

// Error scrubs an error's text, keeping it an error.
func (s *Scrubber) Error(err error) error {
	if err == nil || s == nil || s.r == nil {
		return err
	}
	msg := s.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return scrubbedError{msg: msg, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }

// Result scrubs every text field of a result in place (not the encoded
// histograms, which hold only numbers).
func (s *Scrubber) Result(r *Result) {
	if s == nil || s.r == nil || r == nil {
		return
	}
	r.Target = s.String(r.Target)
	r.Command = s.String(r.Command)
	r.Host = s.String(r.Host)
	r.PartialReason = s.String(r.PartialReason)
	if len(r.Scenario) > 0 {
		r.Scenario = json.RawMessage(s.String(string(r.Scenario)))
	}
	for k, v := range r.Counters.ErrorSamples {
		r.Counters.ErrorSamples[k] = s.String(v)
	}
	r.Generator.SaturatedReason = s.String(r.Generator.SaturatedReason)
	for i := range r.Thresholds {
		r.Thresholds[i].Expr = s.String(r.Thresholds[i].Expr)
		r.Thresholds[i].Note = s.String(r.Thresholds[i].Note)
	}
	for i, n := range r.Notes {
		r.Notes[i] = s.String(n)
	}
}

// CapacityResult scrubs every text field of a capacity result that may
// echo a request or an error, in place.
func (s *Scrubber) CapacityResult(r *CapacityResult) {
	if s == nil || s.r == nil || r == nil {
		return
	}
	r.Target, r.Command, r.Host = s.String(r.Target), s.String(r.Command), s.String(r.Host)
	r.Config.ServerMetrics = s.String(r.Config.ServerMetrics)
	if len(r.Scenario) > 0 {
		r.Scenario = json.RawMessage(s.String(string(r.Scenario)))
	}
	for i := range r.Notes {
		r.Notes[i] = s.String(r.Notes[i])
	}
	r.PartialReason = s.String(r.PartialReason)
	r.Verdict.Reason = s.String(r.Verdict.Reason)
	r.Verdict.Sentence = s.String(r.Verdict.Sentence)
	if r.ServerCost != nil {
		r.ServerCost.Source = s.String(r.ServerCost.Source)
	}
	for i := range r.Steps {
		r.Steps[i].Reason = s.String(r.Steps[i].Reason)
	}
	for i := range r.Runs {
		r.Runs[i].StoppedReason = s.String(r.Runs[i].StoppedReason)
	}
}

// CheckReport scrubs every text field of a check report in place.
func (s *Scrubber) CheckReport(r *CheckReport) {
	if s == nil || s.r == nil || r == nil {
		return
	}
	r.Target, r.Via, r.Host, r.Command = s.String(r.Target), s.String(r.Via), s.String(r.Host), s.String(r.Command)
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Title, c.Reason, c.Evidence, c.Fix, c.Ref = s.String(c.Title), s.String(c.Reason), s.String(c.Evidence), s.String(c.Fix), s.String(c.Ref)
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		f.Kind, f.Summary, f.Evidence, f.Culprit, f.Fix = s.String(f.Kind), s.String(f.Summary), s.String(f.Evidence), s.String(f.Culprit), s.String(f.Fix)
	}
	for i, n := range r.Notes {
		r.Notes[i] = s.String(n)
	}
}
