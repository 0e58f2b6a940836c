package main

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ssebench/ssebench/fixtures/proxies"
)

// TestDiagnoseLocalExampleIsSelfContained holds the diagnose examples that
// run on this machine (diagnose --help and the README) to what they need:
// each starts serve and the nginx it goes through, from a config file in
// fixtures/proxies/conf/nginx, and points --origin at serve's address and --via at
// the address that file listens on. (The file itself is a real config:
// conformance runs nginx -t on it and diagnoses it.)
func TestDiagnoseLocalExampleIsSelfContained(t *testing.T) {
	var readme []byte // the README and its reference pages, in order
	for _, f := range docFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		readme = append(append(readme, b...), '\n')
	}
	var help string
	for _, c := range newApp(nil, nil).Commands {
		if c.Name == "diagnose" {
			help = c.Description
		}
	}
	nginxLine := regexp.MustCompile(`nginx -p \S+ -e stderr -c "\$PWD/(fixtures/proxies/conf/nginx/[a-z-]+\.conf)" &`)
	diagLine := regexp.MustCompile(`ssebench diagnose --origin (http://127\.0\.0\.1:\d+/\S*) --via (http://127\.0\.0\.1:\d+/\S*)`)
	for src, text := range map[string]string{"diagnose --help": help, "README.md and docs": string(readme)} {
		local := diagLine.FindStringSubmatch(text)
		if local == nil {
			t.Errorf("%s: no diagnose example against 127.0.0.1", src)
			continue
		}
		// The example's block: from the last serve before the diagnose
		// line to it.
		end := strings.Index(text, local[0])
		start := strings.LastIndex(text[:end], "ssebench serve &")
		if start < 0 {
			t.Errorf("%s: the local diagnose example does not start ssebench serve before it", src)
			continue
		}
		block := text[start:end]
		m := nginxLine.FindStringSubmatch(block)
		if m == nil {
			t.Errorf("%s: the local diagnose example does not start nginx with a config of fixtures/proxies/conf/nginx:\n%s", src, block)
			continue
		}
		if _, err := os.Stat(m[1]); err != nil {
			t.Errorf("%s: %v", src, err)
		}
		if !strings.Contains(block, "mkdir -p /tmp/ssebench-nginx") {
			t.Errorf("%s: the nginx prefix is not made before nginx runs:\n%s", src, block)
		}
		for i, want := range []string{proxies.ExampleUpstream, proxies.ExampleListen} {
			u, err := url.Parse(local[i+1])
			if err != nil || u.Host != want {
				t.Errorf("%s: %s goes to %s, want %s (where the example starts it)", src, []string{"--origin", "--via"}[i], local[i+1], want)
			}
		}
	}
}
