package conformance

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ssebench/ssebench/fixtures/proxies"
)

// proxyRunLine is how each kind's files say they are run, from the
// repository root, with the file's own addresses.
func proxyRunLine(kind, name string) string {
	path := `"$PWD/fixtures/proxies/conf/` + kind + "/" + name + `.conf"`
	switch kind {
	case proxies.Nginx:
		return "nginx -p /tmp/ssebench-nginx -e stderr -c " + path
	case proxies.HAProxy:
		return "haproxy -db -f " + path
	case proxies.Apache:
		return "apache2 -X -d /tmp/ssebench-apache -f " + path
	}
	return "caddy run --adapter caddyfile --config " + path
}

// proxySyntaxCheck is each kind's own check of a config file, with dir for
// the files it may write.
func proxySyntaxCheck(kind, bin, dir, conf string) (*exec.Cmd, string) {
	switch kind {
	case proxies.Nginx:
		return exec.Command(bin, "-t", "-p", dir, "-e", "stderr", "-c", conf), "test is successful"
	case proxies.HAProxy:
		return exec.Command(bin, "-c", "-f", conf), "Configuration file is valid"
	case proxies.Apache:
		return exec.Command(bin, "-t", "-d", dir, "-f", conf), "Syntax OK"
	}
	cmd := exec.Command(bin, "validate", "--adapter", "caddyfile", "--config", conf)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	return cmd, "Valid configuration"
}

// TestProxyFilesAreRealConfigs has each proxy check each of its files in
// fixtures/proxies/conf exactly as a user copies it (its own addresses,
// no rendering), wants every file to say how to run it, every kind to have
// a correct, a short-timeout and a compressing config, and renderConf to
// change only the two addresses (and add only nginx's user line). A
// missing proxy binary fails.
func TestProxyFilesAreRealConfigs(t *testing.T) {
	t.Parallel()
	for _, kind := range proxies.Kinds {
		names := strings.Join(confNames(kind), ",")
		for _, want := range []string{proxies.Correct, proxies.ShortTimeout, proxies.Gzip} {
			if !strings.Contains(","+names+",", ","+want+",") {
				t.Errorf("%s configs %s lack %q", kind, names, want)
			}
		}
		bin, err := findProxyBinary(kind, "")
		if err != nil {
			t.Error(err)
			continue
		}
		for _, name := range confNames(kind) {
			t.Run(kind+"/"+name, func(t *testing.T) {
				t.Parallel()
				text, err := confFile(kind, name)
				if err != nil {
					t.Fatal(err)
				}
				if run := proxyRunLine(kind, name); !strings.Contains(text, run) {
					t.Errorf("conf/%s/%s.conf does not say how to run it (%s)", kind, name, run)
				}
				conf, err := filepath.Abs(filepath.Join("..", "fixtures", "proxies", "conf", kind, name+".conf"))
				if err != nil {
					t.Fatal(err)
				}
				cmd, ok := proxySyntaxCheck(kind, bin, t.TempDir(), conf)
				if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), ok) {
					t.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
				}
				user := ""
				if kind == proxies.Nginx {
					user = "user root root;"
				}
				got, err := renderConf(kind, name, "127.0.0.1:1234", "127.0.0.1:5678", user)
				if err != nil {
					t.Fatal(err)
				}
				// Comments keep the example addresses: they say how to run
				// the file as it is.
				var want []string
				for _, l := range strings.Split(text, "\n") {
					code, comment, has := strings.Cut(l, "#")
					code = strings.NewReplacer(proxies.ExampleListen, "127.0.0.1:1234", proxies.ExampleUpstream, "127.0.0.1:5678").Replace(code)
					if has {
						code += "#" + comment
					}
					want = append(want, code)
					if user != "" && strings.HasPrefix(l, "daemon off;") {
						want = append(want, user)
					}
				}
				if got != strings.Join(want, "\n") || got == text {
					t.Errorf("renderConf(%s, %s) changes more than the addresses and the user line:\n%s", kind, name, got)
				}
			})
		}
	}
}

// TestProxyStartServesAndCloseCleansUp starts every config of every kind
// in front of the reference server and wants it serving on its loopback
// port, passing requests to the origin, and gone with its directory after
// Close.
func TestProxyStartServesAndCloseCleansUp(t *testing.T) {
	t.Parallel()
	o := startFxOrigin(t)
	for _, kind := range proxies.Kinds {
		for _, name := range confNames(kind) {
			t.Run(kind+"/"+name, func(t *testing.T) {
				t.Parallel()
				p, err := startProxy(context.Background(), proxyOptions{Kind: kind, Config: name, Upstream: "http://" + o.addr})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { p.Close() })
				if !strings.HasPrefix(p.URL(), "http://127.0.0.1:") || p.URL() != "http://"+p.Addr() {
					t.Errorf("URL %q Addr %q: want http://127.0.0.1:PORT", p.URL(), p.Addr())
				}
				conf, err := os.ReadFile(filepath.Join(p.Dir(), "proxy.conf"))
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{p.Addr(), o.addr} {
					if !strings.Contains(string(conf), want) {
						t.Errorf("rendered config lacks %q", want)
					}
				}
				// The config's relative paths land in the proxy's directory.
				files := map[string][]string{proxies.Nginx: {"nginx.pid", "error.log"}, proxies.Apache: {"apache2.pid", "error.log"}}
				for _, f := range files[kind] {
					if _, err := os.Stat(filepath.Join(p.Dir(), f)); err != nil {
						t.Errorf("%s lacks %s: %v", p.Dir(), f, err)
					}
				}
				resp, err := http.Get(p.URL() + readyPath)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					t.Errorf("GET %s: %s, want 204", readyPath, resp.Status)
				}
				// The origin's 400 for a bad query proves requests reach it.
				resp, err = http.Get(p.URL() + "/events?rate=x")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("GET /events?rate=x via %s: %s, want the origin's 400", kind, resp.Status)
				}

				pid := p.cmd.Process.Pid
				if err := p.Close(); err != nil {
					t.Fatalf("Close: %v\n%s", err, p.ErrorLog())
				}
				if err := p.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
				// Setpgid made the proxy its group's leader: no process of
				// the group (master or worker) may remain.
				if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("%s process group %d still exists after Close (kill 0: %v)", kind, pid, err)
				}
				if _, err := os.Stat(p.Dir()); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s still exists after Close (%v)", p.Dir(), err)
				}
			})
		}
	}
}

// confCode is a config without its comments, each run of white space one
// space: what the proxy reads.
func confCode(t *testing.T, kind string) string {
	t.Helper()
	text, err := confFile(kind, proxies.Correct)
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	for _, l := range strings.Split(text, "\n") {
		c, _, _ := strings.Cut(l, "#")
		code = append(code, strings.Join(strings.Fields(c), " "))
	}
	return strings.Join(code, "\n")
}

// TestProxyFixesAreTheTestedConfigs holds what diagnose and check print
// for each proxy to the correct config the proxy tests run through it
// (TestDiagnoseProxies, TestCheckProxies, TestDiagnoseNginx): the printed
// config is that file's fix section, every directive a fix line quotes is
// in the file (or, where the line says to remove it, not in it), and the
// timeouts table's fix for each of these proxies sets what the file sets.
func TestProxyFixesAreTheTestedConfigs(t *testing.T) {
	t.Parallel()
	// quoted splits a fix line's backquoted directives into those it says
	// to set and those it says to remove (a "remove" earlier in the clause).
	quoted := func(s string) (present, absent []string) {
		parts := strings.Split(s, "`")
		if len(parts)%2 == 0 {
			t.Fatalf("unbalanced backquote in %q", s)
		}
		clause := ""
		for i, p := range parts {
			if i%2 == 0 {
				if j := strings.LastIndexAny(p, ";:"); j >= 0 {
					clause = p[j:]
				} else {
					clause += p
				}
				continue
			}
			if strings.Contains(clause, "remove") {
				absent = append(absent, p)
			} else {
				present = append(present, p)
			}
		}
		return present, absent
	}
	for name, kind := range proxyKinds {
		code := confCode(t, kind)
		for _, lines := range [][]fixLine{bufferingFixes, compressionFixes} {
			found := false
			for _, l := range lines {
				if l.proxy != name {
					continue
				}
				found = true
				present, absent := quoted(l.text)
				for _, f := range present {
					if !strings.Contains(code, strings.Join(strings.Fields(f), " ")) {
						t.Errorf("%s fix %q quotes %q, which conf/%s/correct.conf does not set", name, l.text, f, kind)
					}
				}
				for _, f := range absent {
					if strings.Contains(code, f) {
						t.Errorf("%s fix %q says to remove %q, which conf/%s/correct.conf has", name, l.text, f, kind)
					}
				}
			}
			if !found {
				t.Errorf("no fix line for %s", name)
			}
		}
		for _, fix := range []string{bufferingSnippet(name), compressionSnippet(name)} {
			if !strings.Contains(fix, indent(proxies.Snippet(kind))) {
				t.Errorf("%s fix lacks its tested config:\n%s", name, fix)
			}
		}
		if proxies.Snippet(kind) == "" || !strings.Contains(code, strings.Join(strings.Fields(strings.Split(proxies.Snippet(kind), "\n")[0]), " ")) {
			t.Errorf("%s snippet %q is not from its correct config", name, proxies.Snippet(kind))
		}
	}
	// Unknown proxies get nginx's tested config first.
	if fix := bufferingSnippet(""); !strings.HasPrefix(fix, "nginx: ") || !strings.Contains(fix, "proxy_buffering off;") {
		t.Errorf("fix for an unknown proxy:\n%s", fix)
	}
	// The timeouts table: what its fix for each tested proxy sets.
	timeoutSets := map[string]struct {
		kind            string
		present, absent []string
	}{
		"nginx":                  {proxies.Nginx, []string{"proxy_read_timeout 1h;", "proxy_buffering off;"}, nil},
		"Apache httpd mod_proxy": {proxies.Apache, []string{"flushpackets=on", "timeout=3600"}, nil},
		"HAProxy":                {proxies.HAProxy, []string{"timeout server 1h", "timeout client 1h", "timeout tunnel 1h"}, nil},
		"Caddy":                  {proxies.Caddy, nil, []string{"read_timeout"}},
	}
	for _, to := range Timeouts {
		want, ok := timeoutSets[to.Product]
		if !ok {
			continue
		}
		delete(timeoutSets, to.Product)
		code := confCode(t, want.kind)
		for _, f := range want.present {
			if !strings.Contains(to.Fix, f) || !strings.Contains(code, f) {
				t.Errorf("%s: %q must be in the timeouts fix %q and in conf/%s/correct.conf", to.Product, f, to.Fix, want.kind)
			}
		}
		for _, f := range want.absent {
			if !strings.Contains(to.Fix, f) || strings.Contains(code, f) {
				t.Errorf("%s: the timeouts fix %q should name %q, and conf/%s/correct.conf not set it", to.Product, to.Fix, f, want.kind)
			}
		}
	}
	for p := range timeoutSets {
		t.Errorf("no Timeouts entry for %s", p)
	}
}

// TestREADMEProxyTable holds the README's table "What ssebench says about
// the proxies users run" to the tests it names: every row names a test of
// this package, and every proxyCase with a finding has its row.
func TestREADMEProxyTable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "#### What ssebench says about the proxies users run")
	if !ok {
		t.Fatal("README.md lacks the proxy table")
	}
	section, _, _ = strings.Cut(section, "\n#")
	srcs, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var code strings.Builder
	for _, f := range srcs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code.Write(b)
	}
	cases := map[string]bool{}
	for _, c := range proxyCases {
		cases[c.name()] = true
	}
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| proxy") || strings.HasPrefix(line, "| ---") {
			continue
		}
		rows++
		cells := strings.Split(line, "|")
		for _, name := range strings.Split(cells[len(cells)-2], ",") {
			name = strings.Trim(strings.TrimSpace(name), "`")
			top, sub, _ := strings.Cut(name, "/")
			if !strings.Contains(code.String(), "func "+top+"(t *testing.T)") {
				t.Errorf("README row %q names %s, not a test here", line, top)
			}
			if top == "TestDiagnoseProxies" && !strings.HasPrefix(sub, "*") && !cases[sub] {
				t.Errorf("README row names %s, not a case of proxyCases", name)
			}
			delete(cases, sub)
		}
	}
	for _, c := range proxyCases {
		if c.finding != "" && cases[c.name()] {
			t.Errorf("proxyCase %s has no README row", c.name())
		}
	}
	if rows < len(proxyCases) {
		t.Errorf("%d rows, want at least %d", rows, len(proxyCases))
	}
}

// TestIdentifyProxy tells the tested proxies apart from response heads as
// they write them: by the Server header, else (HAProxy) by all-lowercase
// header names; a Go server's canonical names name nothing.
func TestIdentifyProxy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		h     http.Header
		names []string
		want  string
	}{
		{"nginx", http.Header{"Server": {"nginx/1.22.1"}}, []string{"Server", "Date"}, nameNginx},
		{"caddy", http.Header{"Server": {"Caddy"}}, []string{"Server"}, nameCaddy},
		{"apache", http.Header{"Server": {"Apache/2.4.62 (Debian)"}}, []string{"Server"}, nameApache},
		{"haproxy", http.Header{"Content-Type": {"text/event-stream"}}, []string{"cache-control", "content-type", "date", "transfer-encoding"}, nameHAProxy},
		{"go server", http.Header{"Content-Type": {"text/event-stream"}}, []string{"Cache-Control", "Content-Type", "Date"}, ""},
		{"lowercase but a server header", http.Header{"Server": {"unknown"}}, []string{"server", "content-type"}, ""},
		{"one name says little", http.Header{"Content-Type": {"x"}}, []string{"content-type"}, ""},
		{"no head", nil, nil, ""},
	}
	for _, tc := range cases {
		if got := identifyProxy(tc.h, headFingerprint{names: tc.names}); got.name != tc.want || (got.name != "" && got.how == "") {
			t.Errorf("%s: %+v, want %q", tc.name, got, tc.want)
		}
	}
}
