package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// inputCommands builds, for each command that sends a request, a line
// against url with extra flags; body is that command's body flag.
var inputCommands = []struct {
	name, body string
	line       func(url string, extra ...string) []string
}{
	{"run", "--body", func(u string, x ...string) []string {
		return append([]string{"run", "--url", u, "--connections", "1", "--duration", "1s", "--quiet", "--out", filepath.Join(tmpDir, "run.json")}, x...)
	}},
	{"capacity", "--body", func(u string, x ...string) []string {
		return append([]string{"capacity", "--url", u, "--start", "1", "--max", "1", "--hold", "1s", "--ramp", "1s", "--refine", "0", "--quiet",
			"--out", filepath.Join(tmpDir, "cap.json"), "--html", "none"}, x...)
	}},
	{"tap", "--data", func(u string, x ...string) []string { return append([]string{"tap", u, "--count", "1"}, x...) }},
	{"check", "--data", func(u string, x ...string) []string {
		return append([]string{"check", u, "--only", "status", "--window", "1s"}, x...)
	}},
	{"diagnose", "--data", func(u string, x ...string) []string {
		return append([]string{"diagnose", "--origin", u, "--via", u, "--window", "1s"}, x...)
	}},
}

var tmpDir string

// flagPos is the "--flag: " a message starts with when a flag gave the value.
var flagPos = regexp.MustCompile(`^(--[a-z-]+: )`)

// TestInputPolicyIsTheSameInEveryCommand: -H (with ${NAME}), the body's
// @FILE and the URL check give the same one-line error, exit 2, in run,
// capacity, tap, check and diagnose.
func TestInputPolicyIsTheSameInEveryCommand(t *testing.T) {
	tmpDir = t.TempDir()
	t.Setenv("SSEBENCH_TEST_UNSET", "")
	t.Setenv("SSEBENCH_TEST_CTRL", "a\nb")
	const ok = "http://127.0.0.1:1/events"
	cases := []struct {
		name string
		url  string
		x    func(body string) []string
		want string // the message after any "--flag: "
	}{
		{"unset variable", ok, func(string) []string { return []string{"-H", "Authorization: Bearer ${SSEBENCH_TEST_NOT_SET}"} },
			"environment variable SSEBENCH_TEST_NOT_SET is not set"},
		{"no colon", ok, func(string) []string { return []string{"-H", "NoColon"} }, `"NoColon" is not a header ('Name: value')`},
		{"bad name", ok, func(string) []string { return []string{"-H", "Bad Name: x"} }, `"Bad Name" is not a valid header name`},
		{"unclosed reference", ok, func(string) []string { return []string{"--header", "X-A: ${A"} }, `"${A": ${ without a closing }`},
		{"missing body file", ok, func(b string) []string { return []string{b, "@/nonexistent/body.json"} },
			"open /nonexistent/body.json: no such file or directory"},
		{"URL without a scheme", "127.0.0.1:8080/events", nil,
			`"127.0.0.1:8080/events" is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events); it needs a scheme`},
		{"URL of another scheme", "ftp://example/x", nil,
			`"ftp://example/x" is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events); the scheme is "ftp"`},
	}
	for _, tc := range cases {
		for _, cmd := range inputCommands {
			t.Run(tc.name+"/"+cmd.name, func(t *testing.T) {
				var extra []string
				if tc.x != nil {
					extra = tc.x(cmd.body)
				}
				code, _, errs := runCLI(cmd.line(tc.url, extra...)...)
				msg := strings.TrimPrefix(strings.TrimSpace(errs), "ssebench: ")
				msg = flagPos.ReplaceAllString(msg, "")
				if code != 2 || msg != tc.want {
					t.Errorf("exit %d, stderr %q\nwant exit 2 and (after any --flag:) %q", code, errs, tc.want)
				}
			})
		}
	}
}

// TestHeadersExpandTheSameInEveryCommand: what reaches the server is the
// same in every command: ${NAME} expanded, $NAME and $${ literal, a comma
// inside a value kept whole.
func TestHeadersExpandTheSameInEveryCommand(t *testing.T) {
	tmpDir = t.TempDir()
	t.Setenv("SSEBENCH_TEST_TOKEN", "s3cret")
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[fmt.Sprintf("%q %q %q", r.Header.Get("Authorization"), r.Header.Values("X-Literal"), r.Header.Values("Accept-Language"))] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, "id: 1\ndata: {\"seq\":1}\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	want := `"Bearer s3cret" ["$HOME and ${x}"] ["da, en-gb;q=0.8"]`
	for _, cmd := range inputCommands {
		t.Run(cmd.name, func(t *testing.T) {
			mu.Lock()
			clear(seen)
			mu.Unlock()
			code, out, errs := runCLI(cmd.line(srv.URL+"/events",
				"-H", "Authorization: Bearer ${SSEBENCH_TEST_TOKEN}", "-H", "X-Literal: $HOME and $${x}", "-H", "Accept-Language: da, en-gb;q=0.8")...)
			if code == 2 {
				t.Fatalf("exit 2: %s", errs)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 || !seen[want] {
				t.Errorf("the server saw %v, want only %s (exit %d)\n%s%s", seen, want, code, errs, out)
			}
		})
	}
}
