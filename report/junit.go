package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// JUnit XML in the common testsuites/testsuite/testcase shape that GitHub
// Actions test reporters, GitLab (artifacts:reports:junit) and Jenkins
// (junit step) all read: counts as attributes, <failure message type> with
// the details as text, <skipped message>, times in seconds.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       string           `xml:"time,attr"`
	Timestamp  string           `xml:"timestamp,attr,omitempty"`
	Hostname   string           `xml:"hostname,attr,omitempty"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitProperties struct {
	List []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// junitText is element text as CDATA, so multi-line evidence stays
// readable in the file.
type junitText struct {
	Text string `xml:",cdata"`
}

func failure(typ, msg, text string) *junitFailure {
	return &junitFailure{Type: typ, Message: oneLine(msg), Text: xmlSafe(text)}
}

func sysOut(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: xmlSafe(s)}
}

// xmlSafe replaces what XML 1.0 cannot carry at all (most control
// characters, invalid UTF-8), which a hostile server can put in evidence.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

// maxJUnitText bounds any one text taken from a server (evidence) so a
// hostile endpoint cannot make the XML huge.
const maxJUnitText = 16 << 10

func (s *junitSuite) add(c junitCase) {
	s.Cases = append(s.Cases, c)
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Skipped != nil:
		s.Skipped++
	}
}

func (t *junitSuites) add(s junitSuite) {
	if s.Tests == 0 {
		return
	}
	t.Suites = append(t.Suites, s)
	t.Tests += s.Tests
	t.Failures += s.Failures
	t.Skipped += s.Skipped
}

func (t *junitSuites) write(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(t); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSeconds(s float64) string { return fmt.Sprintf("%.3f", s) }

func junitTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

// WriteJUnit writes a load result as JUnit XML: one testcase for the run
// itself (fails when it was cut short or opened no stream) and one per
// threshold (fails with the measured value).
func WriteJUnit(w io.Writer, r *Result) error {
	suites := junitSuites{Name: "ssebench run", Time: junitSeconds(r.DurationS)}
	props := &junitProperties{List: []junitProperty{
		{"target", r.Target}, {"ssebench", r.Version}, {"go", r.GoVersion},
	}}
	if r.Mode != "" {
		props.List = append(props.List, junitProperty{"mode", r.Mode})
	}
	if r.Shard != "" {
		props.List = append(props.List, junitProperty{"shard", r.Shard})
	}
	run := junitSuite{Name: "ssebench.run", Time: junitSeconds(r.DurationS), Timestamp: junitTimestamp(r.Start),
		Hostname: r.Host, Properties: props}
	c := junitCase{Name: "run completed", Classname: "ssebench.run", Time: junitSeconds(r.DurationS),
		SystemOut: sysOut(runFacts(r))}
	// The run case fails as Verdict does; failed thresholds fail their
	// own cases below.
	switch v := Verdict(r); v.Kind {
	case VerdictInterrupted, VerdictAborted:
		c.Failure = failure("partial", v.Headline, runFacts(r))
	case VerdictNoStreams:
		c.Failure = failure("no-streams", v.Headline, runFacts(r))
	}
	if c.Failure != nil {
		c.SystemOut = nil
	}
	run.add(c)
	suites.add(run)

	ths := junitSuite{Name: "ssebench.thresholds", Time: "0.000", Timestamp: junitTimestamp(r.Start), Hostname: r.Host}
	for _, t := range r.Thresholds {
		c := junitCase{Name: t.Expr, Classname: "ssebench.thresholds", Time: "0.000"}
		value := ShownValue(t)
		if t.Passed {
			c.SystemOut = sysOut("value: " + value)
		} else {
			msg := fmt.Sprintf("%s: was %s", t.Expr, value)
			if t.Note != "" {
				msg = fmt.Sprintf("%s: %s", t.Expr, t.Note)
			}
			c.Failure = failure("threshold", msg, msg+"\n"+runFacts(r))
		}
		ths.add(c)
	}
	suites.add(ths)
	return suites.write(w)
}

// WriteCapacityJUnit writes a capacity result as JUnit XML: one testcase
// for the answer (fails as the exit code does: cut short, or no knee and
// no --max held), and one per step with its SLO values. A step past the
// knee broke an SLO by design, so it is information, not a failure; an
// inconclusive step is skipped with its reason.
func WriteCapacityJUnit(w io.Writer, r *CapacityResult) error {
	suites := junitSuites{Name: "ssebench capacity", Time: junitSeconds(r.DurationS)}
	props := &junitProperties{List: []junitProperty{
		{"target", r.Target}, {"ssebench", r.Version}, {"go", r.GoVersion}, {"slos", strings.Join(r.SLOs, "; ")},
	}}
	answer := junitSuite{Name: "ssebench.capacity", Time: junitSeconds(r.DurationS), Timestamp: junitTimestamp(r.Start),
		Hostname: r.Host, Properties: props}
	c := junitCase{Name: "capacity answer", Classname: "ssebench.capacity", Time: junitSeconds(r.DurationS),
		SystemOut: sysOut(r.Verdict.Sentence)}
	switch {
	case r.Partial:
		c.Failure = failure("partial", "cut short: "+r.PartialReason, r.Verdict.Sentence)
	case !r.Answered():
		c.Failure = failure("no-answer", "no capacity answer: "+r.Verdict.Reason, r.Verdict.Sentence)
	}
	if c.Failure != nil {
		c.SystemOut = nil
	}
	answer.add(c)
	suites.add(answer)

	steps := junitSuite{Name: "ssebench.capacity.steps", Time: junitSeconds(r.DurationS), Timestamp: junitTimestamp(r.Start), Hostname: r.Host}
	for _, st := range sortedSteps(r.Steps) {
		name := fmt.Sprintf("%d streams", st.Streams)
		if st.Refine {
			name += " (refine)"
		}
		sc := junitCase{Name: name, Classname: "ssebench.capacity.steps", Time: junitSeconds(st.EndS - st.StartS)}
		var b strings.Builder
		for _, t := range st.SLOs {
			mark := "met"
			if !t.Passed {
				mark = "broken"
			}
			fmt.Fprintf(&b, "%s: %s (%s)\n", t.Expr, ShownValue(t), mark)
		}
		fmt.Fprintf(&b, "open %d of %d", st.Open, st.Streams)
		if st.Inconclusive {
			sc.Skipped = &junitSkipped{Message: oneLine("inconclusive: " + st.Reason)}
		}
		sc.SystemOut = sysOut(b.String())
		steps.add(sc)
	}
	suites.add(steps)
	return suites.write(w)
}

// runFacts is the few lines that say what a run measured.
func runFacts(r *Result) string {
	c := r.Counters
	var b strings.Builder
	fmt.Fprintf(&b, "target: %s\nduration: %.1fs\n", r.Target, r.DurationS)
	if r.IsRequestMode() {
		fmt.Fprintf(&b, "requests: sent %d, ok %d, good %d\n", c.Requests, c.RequestsOK, c.RequestsGood)
		fmt.Fprintf(&b, "tokens: %d, events: %d\n", c.Tokens, c.Events)
		for _, name := range []string{MetricTTFT, MetricITL, MetricTPOT, MetricE2E} {
			if m := r.Metrics[name]; m.Count > 0 {
				fmt.Fprintf(&b, "%s: p50 %s, p99 %s\n", name, FormatMS(m.P50MS), FormatMS(m.P99MS))
			}
		}
	} else {
		fmt.Fprintf(&b, "streams: opened %d, failed %d, reconnects %d\n", c.StreamsOpened, c.StreamsFailed, c.Reconnects)
		fmt.Fprintf(&b, "events: %d, lost %d, duplicated %d\n", c.Events, c.EventsLost, c.EventsDuplicated)
	}
	if len(c.Ends) > 0 {
		fmt.Fprintf(&b, "ends: %s\n", endCounts(c.Ends, sortedByCount(c.Ends)))
		if errs := ErrorEnds(r); len(errs) > 0 {
			fmt.Fprintf(&b, "error ends: %s\n", endCounts(c.Ends, errs))
		}
	}
	for _, k := range sortedKeys(c.ErrorSamples) {
		fmt.Fprintf(&b, "%s e.g.: %s\n", k, clip(c.ErrorSamples[k], 512))
	}
	if r.Generator.Saturated {
		fmt.Fprintf(&b, "generator saturated: %s\n", r.Generator.SaturatedReason)
	}
	return b.String()
}

// WriteCheckJUnit writes a conformance (check or diagnose) report as JUnit
// XML: one testsuite per area and one testcase per check. An
// error-severity failure is a <failure> carrying the evidence and the fix;
// a warning or info failure does not fail the gate, so it is a passing
// testcase whose output says so; a skipped check is <skipped message>.
// Diagnose's findings are failures in a "findings" suite.
func WriteCheckJUnit(w io.Writer, r *CheckReport) error {
	cmd := r.Command
	if cmd == "" {
		cmd = "check"
	}
	suites := junitSuites{Name: "ssebench " + cmd, Time: junitSeconds(r.DurationS)}
	props := &junitProperties{List: []junitProperty{{"target", r.Target}}}
	if r.Via != "" {
		props.List = append(props.List, junitProperty{"via", r.Via})
	}
	props.List = append(props.List, junitProperty{"ssebench", r.Version}, junitProperty{"go", r.GoVersion})
	for i, area := range checkAreas(r.Checks) {
		s := junitSuite{Name: "ssebench." + cmd + "." + area, Timestamp: junitTimestamp(r.Start), Hostname: r.Host}
		if i == 0 {
			s.Properties = props
		}
		var secs float64
		for _, ch := range r.Checks {
			if checkArea(ch) != area {
				continue
			}
			secs += ch.DurationMS / 1000
			s.add(checkCase(cmd, area, ch))
		}
		s.Time = junitSeconds(secs)
		suites.add(s)
	}
	fs := junitSuite{Name: "ssebench." + cmd + ".findings", Time: "0.000", Timestamp: junitTimestamp(r.Start), Hostname: r.Host}
	for _, f := range r.Findings {
		var text strings.Builder
		writeField(&text, "summary", f.Summary)
		writeField(&text, "likely cause", f.Culprit)
		writeField(&text, "evidence", f.Evidence)
		writeField(&text, "fix", f.Fix)
		fs.add(junitCase{
			Name: f.Kind + ": " + f.Summary, Classname: "ssebench." + cmd + ".findings", Time: "0.000",
			Failure: failure("finding", clip(f.Summary, 1024), text.String()),
		})
	}
	suites.add(fs)
	return suites.write(w)
}

func checkCase(cmd, area string, ch CheckResult) junitCase {
	c := junitCase{
		Name:      ch.ID + ": " + ch.Title,
		Classname: "ssebench." + cmd + "." + area,
		Time:      junitSeconds(ch.DurationMS / 1000),
	}
	var text strings.Builder
	writeField(&text, "check", ch.ID+" ("+ch.Severity+")")
	writeField(&text, "reason", ch.Reason)
	writeField(&text, "evidence", ch.Evidence)
	writeField(&text, "fix", ch.Fix)
	writeField(&text, "reference", ch.Ref)
	switch {
	case ch.Status == StatusSkip:
		c.Skipped = &junitSkipped{Message: clip(ch.Reason, 1024)}
	case ch.Status == StatusFail && ch.Severity == SeverityError:
		msg := ch.Reason
		if msg == "" {
			msg = ch.Title
		}
		c.Failure = failure(ch.Severity, clip(msg, 1024), text.String())
	case ch.Status == StatusFail:
		c.SystemOut = sysOut(strings.ToUpper(ch.Severity) + " (does not fail the gate)\n" + text.String())
	default:
		c.SystemOut = sysOut(text.String())
	}
	return c
}

func writeField(b *strings.Builder, name, v string) {
	if v == "" {
		return
	}
	v = clip(v, maxJUnitText)
	if strings.Contains(v, "\n") {
		fmt.Fprintf(b, "%s:\n%s\n", name, strings.TrimRight(v, "\n"))
		return
	}
	fmt.Fprintf(b, "%s: %s\n", name, v)
}

// checkArea names a check's area, "other" when it has none.
func checkArea(c CheckResult) string {
	if c.Area == "" {
		return "other"
	}
	return c.Area
}

// checkAreas lists the areas in the order they first appear.
func checkAreas(cs []CheckResult) []string {
	var out []string
	for _, c := range cs {
		if a := checkArea(c); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// clip bounds a text from a server, saying how much was cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && cut > max-4 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d more bytes)", len(s)-cut)
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
