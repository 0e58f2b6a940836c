package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsNeverReachAnyCommandsOutput: the one redaction policy holds
// for every command that talks to a server, not only run: a credential
// header, an environment-sourced header value, a URL password and a
// secret-named query value are absent from every file and stream each
// command writes.
func TestSecretsNeverReachAnyCommandsOutput(t *testing.T) {
	base := startServe(t)
	const (
		bearer   = "sekrit-bearer-1f0e3dad99908345"
		envValue = "sekrit-env-6ea9ab1baa0efb9e"
		password = "sekrit-pass-c20ad4d76fe97759"
		urlToken = "sekrit-token-aab3238922bcc25a"
	)
	secrets := []string{bearer, envValue, password, urlToken}
	t.Setenv("SSEBENCH_TEST_SECRET_ENV", envValue)
	u := strings.Replace(base, "http://", "http://user:"+password+"@", 1) + "/events?rate=20&topic=secrets&api_token=" + urlToken
	headers := []string{"-H", "Authorization: Bearer " + bearer, "-H", "X-Trace: t-${SSEBENCH_TEST_SECRET_ENV}"}
	dir := t.TempDir()
	runJSON := filepath.Join(dir, "run.json")
	cases := []struct {
		name  string
		line  []string
		files []string
	}{
		{"run", []string{"run", "--url", u, "--connections", "2", "--duration", "1s", "--out", runJSON,
			"--html", filepath.Join(dir, "run.html"), "--junit", filepath.Join(dir, "run.xml")}, []string{"run.json", "run.html", "run.xml"}},
		{"report", []string{"report", runJSON, "--json", filepath.Join(dir, "rep.json"), "--html", filepath.Join(dir, "rep.html"),
			"--junit", filepath.Join(dir, "rep.xml")}, []string{"rep.json", "rep.html", "rep.xml"}},
		{"tap", []string{"tap", u, "--count", "3", "--json", filepath.Join(dir, "tap.ndjson")}, []string{"tap.ndjson"}},
		{"check", []string{"check", u, "--window", "1s", "--json", filepath.Join(dir, "check.json"),
			"--html", filepath.Join(dir, "check.html"), "--junit", filepath.Join(dir, "check.xml")}, []string{"check.json", "check.html", "check.xml"}},
		{"diagnose", []string{"diagnose", "--origin", u, "--via", u, "--window", "1s", "--json", filepath.Join(dir, "diag.json"),
			"--html", filepath.Join(dir, "diag.html")}, []string{"diag.json", "diag.html"}},
		{"capacity", []string{"capacity", "--url", u, "--start", "2", "--max", "2", "--hold", "1s", "--ramp", "1s", "--refine", "0",
			"--out", filepath.Join(dir, "cap.json"), "--html", filepath.Join(dir, "cap.html"), "--junit", filepath.Join(dir, "cap.xml")}, []string{"cap.json", "cap.html", "cap.xml"}},
	}
	// A server that echoes what it got in its error body: a secret can
	// reach a report through a server's words, not only through flags.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden: "+r.Header.Get("Authorization")+" trace "+r.Header.Get("X-Trace")+" at "+r.URL.String(), http.StatusForbidden)
	}))
	t.Cleanup(echo.Close)
	eu := strings.Replace(echo.URL, "http://", "http://user:"+password+"@", 1) + "/events?api_token=" + urlToken
	cases = append(cases, []struct {
		name  string
		line  []string
		files []string
	}{
		{"run against an echo", []string{"run", "--url", eu, "--connections", "2", "--duration", "1s", "--out", filepath.Join(dir, "erun.json"),
			"--html", filepath.Join(dir, "erun.html")}, []string{"erun.json", "erun.html"}},
		{"tap against an echo", []string{"tap", eu, "--count", "1", "--json", filepath.Join(dir, "etap.ndjson")}, nil},
		{"check against an echo", []string{"check", eu, "--window", "1s", "--json", filepath.Join(dir, "echeck.json"),
			"--html", filepath.Join(dir, "echeck.html")}, []string{"echeck.json", "echeck.html"}},
		{"diagnose against an echo", []string{"diagnose", "--origin", u, "--via", eu, "--window", "1s", "--json", filepath.Join(dir, "ediag.json")}, []string{"ediag.json"}},
	}...)
	for _, tc := range cases {
		line := tc.line
		if tc.name != "report" {
			line = append(append([]string(nil), line...), headers...)
		}
		code, stdout, stderr := runCLI(line...)
		if code == 2 {
			t.Fatalf("%s: exit 2: %s", tc.name, stderr)
		}
		outputs := map[string]string{"stdout": stdout, "stderr": stderr}
		for _, f := range tc.files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatalf("%s: %v (exit %d)\n%s", tc.name, err, code, stderr)
			}
			outputs[f] = string(b)
		}
		for name, text := range outputs {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					i := strings.Index(text, s)
					t.Errorf("%s: %s contains the secret %q: …%s…", tc.name, name, s, text[max(0, i-80):min(len(text), i+len(s)+20)])
				}
			}
		}
	}
}

// A bad --server-metrics URL is refused without echoing its credentials.
func TestBadMetricsURLErrorHidesItsSecrets(t *testing.T) {
	code, _, stderr := runCLI("capacity", "--url", "http://127.0.0.1:1/events", "--server-metrics", "ftp://user:sekrit-pw-9f@127.0.0.1/metrics?token=sekrit-tok-3a")
	if code != 2 || !strings.Contains(stderr, "--server-metrics") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "sekrit") {
		t.Fatalf("the error shows a secret: %s", stderr)
	}
}

// A bad URL is refused without echoing its credentials, in every command
// (run's URL rule, scenarios.CheckURL, is theirs).
func TestBadURLErrorHidesItsSecrets(t *testing.T) {
	const bad = "ftp://user:sekrit-pw-77@127.0.0.1/events?token=sekrit-tok-88"
	for _, line := range [][]string{
		{"run", "--url", bad, "--duration", "1s"},
		{"tap", bad},
		{"check", bad},
		{"diagnose", "--origin", bad, "--via", bad},
	} {
		code, _, stderr := runCLI(line...)
		if code != 2 || !strings.Contains(stderr, "is not an http(s) URL") {
			t.Fatalf("%v: exit %d: %s", line, code, stderr)
		}
		if strings.Contains(stderr, "sekrit") {
			t.Errorf("%v: the error shows a secret: %s", line, stderr)
		}
	}
}
