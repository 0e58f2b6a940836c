package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		line := 1
		for i := 0; i < len(got) && i < len(want); i++ {
			if got[i] != want[i] {
				break
			}
			if got[i] == '\n' {
				line++
			}
		}
		t.Fatalf("%s differs from the golden file from line %d (run go test ./report -update after checking the change)", name, line)
	}
}

// Fixed inputs: a real 12 s run against `ssebench serve` with faults, its
// times, host and versions made constant (and one hostile error sample
// added); and hand-made check and diagnose reports with hostile evidence.
func loadFixture(t *testing.T) *Result {
	t.Helper()
	r, err := ReadResult(filepath.Join("testdata", "load-result.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkFixture(t *testing.T, name string) *CheckReport {
	t.Helper()
	r, err := ReadCheckReport(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func render(t *testing.T, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestHTMLGolden(t *testing.T) {
	res := loadFixture(t)
	var err error
	if res.Thresholds, err = EvaluateThresholds(res, res.ScenarioThresholds()); err != nil {
		t.Fatal(err)
	}
	golden(t, "load.html.golden", render(t, func(b *bytes.Buffer) error { return WriteHTML(b, res) }))
	golden(t, "load.junit.golden", render(t, func(b *bytes.Buffer) error { return WriteJUnit(b, res) }))
	for _, name := range []string{"check", "diagnose"} {
		cr := checkFixture(t, name+"-report.json")
		golden(t, name+".html.golden", render(t, func(b *bytes.Buffer) error { return WriteCheckHTML(b, cr) }))
		golden(t, name+".junit.golden", render(t, func(b *bytes.Buffer) error { return WriteCheckJUnit(b, cr) }))
	}
}

// selfContained fails when the page could load anything: every resource
// must be inline.
func selfContained(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script`),
		regexp.MustCompile(`(?i)<link\b`),
		regexp.MustCompile(`(?i)<(img|iframe|object|embed|video|audio|source)\b`),
		regexp.MustCompile(`(?i)<[a-z][^>]*\ssrc\s*=`),
		regexp.MustCompile(`(?i)url\(`),
		regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`(?i)<use\b[^>]*href`),
	} {
		if loc := bad.FindStringIndex(page); loc != nil {
			t.Errorf("page is not self-contained: %q at %d", page[loc[0]:min(loc[1]+40, len(page))], loc[0])
		}
	}
}

func TestLoadHTMLContent(t *testing.T) {
	res := loadFixture(t)
	res.Thresholds, _ = EvaluateThresholds(res, res.ScenarioThresholds())
	page := string(render(t, func(b *bytes.Buffer) error { return WriteHTML(b, res) }))
	selfContained(t, page)
	// The error sample is hostile: it must arrive escaped, never as markup.
	if strings.Contains(page, `<script>alert("x")</script>`) || !strings.Contains(page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
		t.Error("the error sample is not escaped")
	}
	for _, want := range []string{
		`data-verdict="fail"`, "1 of 5 thresholds failed", // streams_failed.rate < 1% fails
		`data-chart="open-streams"`, `data-chart="connects-failures"`, `data-chart="events"`,
		`data-chart="first-event-latency"`, `data-chart="delivery-latency"`, `data-chart="reconnects-errors"`,
		`data-chart="dist-first_event"`, `data-chart="dist-delivery"`, `data-chart="dist-publish_delivery"`,
		"streams_failed.rate &lt; 1%", "74.3%", // threshold row and its value
		"http_503", "chaos_drop", // why streams ended
		"Authorization: [redacted]",             // scenario summary, redacted
		"ssebench 1.0.0-test (go1.26.0)",        // versions in the header
		"0 → 120 over 4s, then hold 120 for 8s", // load shape
		"99.9%", // a nines axis tick
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Every chart has axes, a legend and a drawn series.
	charts := regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`).FindAllString(page, -1)
	if len(charts) < 6+9 {
		t.Fatalf("%d charts, want 6 over time and 9 distributions", len(charts))
	}
	for _, c := range charts {
		for _, part := range []string{`class="ticks y"`, `class="ticks x"`, `class="axis"`, `class="legend"`, `class="series"`, `<title>`} {
			if !strings.Contains(c, part) {
				t.Errorf("chart %.60s… lacks %s", c, part)
			}
		}
	}
}

func TestCheckHTMLContent(t *testing.T) {
	cr := checkFixture(t, "check-report.json")
	page := string(render(t, func(b *bytes.Buffer) error { return WriteCheckHTML(b, cr) }))
	selfContained(t, page)
	if strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("hostile evidence is not escaped")
	}
	for _, want := range []string{
		`data-verdict="fail"`, "2 error-severity checks failed",
		`data-area="response"`, `data-area="framing"`, `data-area="streaming"`, `data-area="resumption"`,
		`data-check="content-type"`, `<span class="pill fail">FAIL</span>`, `<span class="pill warn">WARNING</span>`,
		`<span class="pill skip">SKIP</span>`, "the server sent no invalid UTF-8 to test with",
		"proxy_buffering off;", // a fix hint
		`<a href="https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_buffering">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The response area comes first, as in the report.
	if strings.Index(page, `data-area="response"`) > strings.Index(page, `data-area="framing"`) {
		t.Error("areas are not in report order")
	}

	dr := checkFixture(t, "diagnose-report.json")
	page = string(render(t, func(b *bytes.Buffer) error { return WriteCheckHTML(b, dr) }))
	selfContained(t, page)
	for _, want := range []string{
		"proxy diagnosis", `data-finding="idle-cut"`, "nginx proxy_read_timeout (default 60s)",
		"proxy_read_timeout 1h;", "http://127.0.0.1:8081/events", "held &amp; released in 4 KiB blocks &lt;b&gt;by the proxy&lt;/b&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("diagnose page lacks %q", want)
		}
	}
}

func TestJUnitShape(t *testing.T) {
	type testcase struct {
		Name      string `xml:"name,attr"`
		Classname string `xml:"classname,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Type    string `xml:"type,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Skipped *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
	}
	type suite struct {
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	type suites struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Skipped  int      `xml:"skipped,attr"`
		Suites   []suite  `xml:"testsuite"`
	}
	parse := func(b []byte) suites {
		t.Helper()
		var s suites
		if err := xml.Unmarshal(b, &s); err != nil {
			t.Fatalf("not valid XML: %v", err)
		}
		tests, failures, skipped := 0, 0, 0
		for _, su := range s.Suites {
			f, sk := 0, 0
			for _, c := range su.Cases {
				if c.Failure != nil {
					f++
				}
				if c.Skipped != nil {
					sk++
				}
			}
			if su.Tests != len(su.Cases) || su.Failures != f || su.Skipped != sk || su.Time == "" {
				t.Errorf("suite %s: attributes tests=%d failures=%d skipped=%d time=%q do not match its %d cases (%d failed, %d skipped)",
					su.Name, su.Tests, su.Failures, su.Skipped, su.Time, len(su.Cases), f, sk)
			}
			tests, failures, skipped = tests+su.Tests, failures+su.Failures, skipped+su.Skipped
		}
		if s.Tests != tests || s.Failures != failures || s.Skipped != skipped {
			t.Errorf("testsuites totals %d/%d/%d, want %d/%d/%d", s.Tests, s.Failures, s.Skipped, tests, failures, skipped)
		}
		return s
	}

	res := loadFixture(t)
	res.Thresholds, _ = EvaluateThresholds(res, res.ScenarioThresholds())
	s := parse(render(t, func(b *bytes.Buffer) error { return WriteJUnit(b, res) }))
	if s.Tests != 6 || s.Failures != 1 {
		t.Fatalf("load: %d tests, %d failures; want 6 (run + 5 thresholds), 1", s.Tests, s.Failures)
	}
	var failed testcase
	for _, su := range s.Suites {
		for _, c := range su.Cases {
			if c.Failure != nil {
				failed = c
			}
		}
	}
	if failed.Name != "streams_failed.rate < 1%" || !strings.Contains(failed.Failure.Message, "was 74.3%") ||
		!strings.Contains(failed.Failure.Text, "streams: opened 248, failed 717") {
		t.Errorf("the failed threshold's testcase: %+v", failed)
	}

	cr := checkFixture(t, "check-report.json")
	s = parse(render(t, func(b *bytes.Buffer) error { return WriteCheckJUnit(b, cr) }))
	if s.Tests != 8 || s.Failures != 2 || s.Skipped != 1 || len(s.Suites) != 4 {
		t.Fatalf("check: %d tests, %d failures, %d skipped in %d suites; want 8, 2 (errors only), 1, 4 areas", s.Tests, s.Failures, s.Skipped, len(s.Suites))
	}
	for _, su := range s.Suites {
		for _, c := range su.Cases {
			switch {
			case strings.HasPrefix(c.Name, "unbuffered:"):
				if c.Failure == nil || !strings.Contains(c.Failure.Text, "proxy_buffering off") ||
					!strings.Contains(c.Failure.Text, "raw control bytes\uFFFD from the server") || c.Classname != "ssebench.check.streaming" {
					t.Errorf("unbuffered: %+v", c)
				}
			case strings.HasPrefix(c.Name, "utf8:"):
				if c.Skipped == nil || c.Skipped.Message != "the server sent no invalid UTF-8 to test with" {
					t.Errorf("utf8: %+v", c)
				}
			case strings.HasPrefix(c.Name, "cache-control:"):
				if c.Failure != nil {
					t.Errorf("a warning failed the JUnit gate: %+v", c)
				}
			}
		}
	}

	dr := checkFixture(t, "diagnose-report.json")
	s = parse(render(t, func(b *bytes.Buffer) error { return WriteCheckJUnit(b, dr) }))
	if s.Tests != 4 || s.Failures != 3 {
		t.Fatalf("diagnose: %d tests, %d failures; want 4 (2 checks + 2 findings), 3", s.Tests, s.Failures)
	}
}

func TestPartialRunFailsJUnitRunCase(t *testing.T) {
	res := loadFixture(t)
	res.Partial, res.PartialReason = true, "aborted after 3s: threshold failed: events_lost == 0 (was 2)"
	out := string(render(t, func(b *bytes.Buffer) error { return WriteJUnit(b, res) }))
	if !strings.Contains(out, `<failure message="the run stopped early: aborted after 3s: threshold failed: events_lost == 0 (was 2)" type="partial">`) {
		t.Fatalf("partial run not a failure:\n%s", out)
	}
}
