package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

// FuzzCheckRenderers feeds arbitrary server bytes through the check
// renderers: the HTML must gain no markup from them (every '<' they hold
// is escaped) and the JUnit must stay well-formed XML carrying the text.
func FuzzCheckRenderers(f *testing.F) {
	for _, s := range []string{"", "<script>alert(1)</script>", "]]>", "a\x00b\x1b[31m\xff\xfe", "&amp;<!--", "\r\n\t", strings.Repeat("x<", 40000)} {
		f.Add(s)
	}
	report := func(ev string) *CheckReport {
		return &CheckReport{Schema: CheckSchema, Command: "check", Target: "http://t/", Checks: []CheckResult{
			{ID: "a", Title: "t", Area: "response", Severity: SeverityError, Status: StatusFail, Reason: ev, Evidence: ev, Fix: ev},
			{ID: "b", Title: "t", Area: "framing", Severity: SeverityWarning, Status: StatusSkip, Reason: ev},
		}, Findings: []Finding{{Kind: "k", Summary: ev, Evidence: ev, Culprit: ev, Fix: ev}}}
	}
	var base bytes.Buffer
	// Any non-empty text shows the same sections: count the markup once.
	if err := WriteCheckHTML(&base, report("x")); err != nil {
		f.Fatal(err)
	}
	tags := strings.Count(base.String(), "<")
	f.Fuzz(func(t *testing.T, ev string) {
		if ev == "" {
			return
		}
		var page bytes.Buffer
		if err := WriteCheckHTML(&page, report(ev)); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(page.String(), "<"); n != tags {
			t.Fatalf("server text changed the markup: %d < instead of %d (len %d)", n, tags, len(ev))
		}
		var j bytes.Buffer
		if err := WriteCheckJUnit(&j, report(ev)); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Suites []struct {
				Cases []struct {
					Failure *struct {
						Text string `xml:",chardata"`
					} `xml:"failure"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(j.Bytes(), &doc); err != nil {
			t.Fatalf("JUnit is not XML: %v", err)
		}
		// XML turns CR and CRLF into LF; writeField drops trailing newlines.
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(xmlSafe(ev))
		want = strings.TrimRight(want, "\n")
		if len(ev) < 200 && !strings.Contains(doc.Suites[0].Cases[0].Failure.Text, want) {
			t.Fatalf("the evidence %q did not survive: %q", want, doc.Suites[0].Cases[0].Failure.Text)
		}
	})
}

func TestRenderersOnEmptyInput(t *testing.T) {
	var b bytes.Buffer
	r := &Result{Schema: ResultSchema, Start: time.Unix(0, 0)}
	if err := WriteHTML(&b, r); err != nil || !strings.Contains(b.String(), "no data") {
		t.Fatalf("empty result: %v", err)
	}
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteSummary(&b, r); err != nil {
		t.Fatal(err)
	}
	cr := &CheckReport{Schema: CheckSchema}
	if err := WriteCheckHTML(&b, cr); err != nil || !strings.Contains(b.String(), "No check ran") {
		t.Fatalf("empty check report: %v", err)
	}
	if err := WriteCheckJUnit(&b, cr); err != nil {
		t.Fatal(err)
	}
}
