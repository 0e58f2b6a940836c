package conformance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures/proxies"
)

// The real-proxy runner of the proxy tests: a private, foreground proxy of
// one kind (nginx, HAProxy, Apache httpd, Caddy) with one of the configs of
// fixtures/proxies in front of any origin, on a free loopback port, its
// files in a temporary directory of its own, stopped at the test's end.
// Only the two example addresses of the config change (and, for nginx as
// root, a user line is added). The binaries are the system's (./test.sh
// installs them); a missing one is a test failure, never a skip.

// proxyStartTimeout bounds startProxy when proxyOptions.StartTimeout is 0.
const proxyStartTimeout = 10 * time.Second

// errProxyNotFound means the proxy's binary was not found.
var errProxyNotFound = errors.New("not found: run ./test.sh, which installs nginx, haproxy, apache2 and caddy")

// readyPath is answered by every config's proxy itself (204), so a 204
// there proves our proxy, not some other process on the port, serves.
const readyPath = "/_ssebench/ready"

// proxyKillGrace is how long close waits after the polite signal.
const proxyKillGrace = 5 * time.Second

// proxyBinary is each kind's executable, and where Debian puts it when a
// non-root PATH lacks /usr/sbin.
var proxyBinary = map[string]struct{ name, env string }{
	proxies.Nginx:   {"nginx", "SSEBENCH_NGINX"},
	proxies.HAProxy: {"haproxy", "SSEBENCH_HAPROXY"},
	proxies.Apache:  {"apache2", "SSEBENCH_APACHE2"},
	proxies.Caddy:   {"caddy", "SSEBENCH_CADDY"},
}

// confNames lists a kind's config names, sorted.
func confNames(kind string) []string {
	ents, err := fs.ReadDir(proxies.Files, "conf/"+kind)
	if err != nil {
		panic(err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".conf"))
	}
	sort.Strings(names)
	return names
}

// confFile is conf/<kind>/<name>.conf as it is in fixtures/proxies.
func confFile(kind, name string) (string, error) {
	b, err := proxies.Files.ReadFile("conf/" + kind + "/" + name + ".conf")
	if err != nil {
		return "", fmt.Errorf("%s: unknown config %q (have %s)", kind, name, strings.Join(confNames(kind), ", "))
	}
	return string(b), nil
}

// renderConf is a config for the proxy on listen in front of upstream (both
// host:port), with user (an nginx "user" line, or "") after "daemon off;".
// It changes nothing else, and fails unless both example addresses are in
// the config's directives, so the files stay what the tests run.
func renderConf(kind, name, listen, upstream, user string) (string, error) {
	text, err := confFile(kind, name)
	if err != nil {
		return "", err
	}
	lines := strings.Split(text, "\n")
	seen := map[string]int{}
	for i, l := range lines {
		code, comment, hasComment := strings.Cut(l, "#")
		if strings.TrimSpace(code) == "" {
			continue
		}
		for _, r := range [][2]string{{proxies.ExampleListen, listen}, {proxies.ExampleUpstream, upstream}} {
			if n := strings.Count(code, r[0]); n > 0 {
				seen[r[0]] += n
				code = strings.ReplaceAll(code, r[0], r[1])
			}
		}
		if hasComment {
			code += "#" + comment
		}
		lines[i] = code
		if kind == proxies.Nginx && user != "" && strings.TrimSpace(strings.SplitN(l, "#", 2)[0]) == "daemon off;" {
			lines[i] += "\n" + user
		}
	}
	for _, a := range []string{proxies.ExampleListen, proxies.ExampleUpstream} {
		if seen[a] == 0 {
			return "", fmt.Errorf("%s: conf/%s/%s.conf never uses %s", kind, kind, name, a)
		}
	}
	return strings.Join(lines, "\n"), nil
}

// proxyOptions configures startProxy. Kind, Config and Upstream are required.
type proxyOptions struct {
	Kind   string // proxies.Nginx, HAProxy, Apache or Caddy
	Config string // one of confNames(Kind)
	// Upstream is the origin, as "host:port" or "http://host:port".
	Upstream string
	// Binary is the executable. Empty: $SSEBENCH_<NAME>, then PATH, then
	// the usual sbin directories.
	Binary       string
	StartTimeout time.Duration
}

// liveProxy is a running proxy. Its methods are safe for concurrent use.
type liveProxy struct {
	kind, config string
	addr         string
	dir          string
	cmd          *exec.Cmd
	exited       chan struct{} // closed when cmd.Wait returned
	waited       error         // cmd.Wait's result; read only after exited is closed

	closeOnce sync.Once
	closeErr  error
}

// URL is the proxy's base URL, "http://127.0.0.1:PORT".
func (p *liveProxy) URL() string { return "http://" + p.addr }

// Addr is the proxy's listen address.
func (p *liveProxy) Addr() string { return p.addr }

// Dir holds the rendered config (proxy.conf), the logs and the proxy's
// other files until close removes it.
func (p *liveProxy) Dir() string { return p.dir }

// ErrorLog is the proxy's stderr and error log so far.
func (p *liveProxy) ErrorLog() string { return readProxyLog(p.dir) }

// Close stops the proxy (its immediate-stop signal, which also drops open
// streams; SIGKILL to its process group if it lingers), waits for it and
// removes its directory. Calling it again returns the first result.
func (p *liveProxy) Close() error {
	p.closeOnce.Do(func() {
		p.closeErr = p.stop()
		if err := os.RemoveAll(p.dir); err != nil && p.closeErr == nil {
			p.closeErr = fmt.Errorf("%s: remove %s: %w", p.kind, p.dir, err)
		}
	})
	return p.closeErr
}

// stop reports a proxy that died on its own or had to be killed: either
// means the proxy under test was not what the test thought.
func (p *liveProxy) stop() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited before Close (%v):\n%s", p.kind, p.waited, tailText(p.ErrorLog(), 2000))
	default:
	}
	if !p.kill() {
		return fmt.Errorf("%s ignored its stop signal for %v and was killed", p.kind, proxyKillGrace)
	}
	return nil
}

// kill stops the proxy if it still runs and waits for it. It reports
// whether it stopped on the polite signal (or had already exited).
func (p *liveProxy) kill() bool {
	_ = stopProcess(p.kind, p.cmd.Process) // fails only if it has exited
	select {
	case <-p.exited:
		return true
	case <-time.After(proxyKillGrace):
	}
	killGroup(p.cmd.Process)
	<-p.exited
	return false
}

// startProxy runs the proxy and returns once it serves. ctx bounds only
// the start. A missing binary is an error wrapping errProxyNotFound.
func startProxy(ctx context.Context, opts proxyOptions) (*liveProxy, error) {
	if _, ok := proxyBinary[opts.Kind]; !ok {
		return nil, fmt.Errorf("unknown proxy kind %q", opts.Kind)
	}
	if _, err := confFile(opts.Kind, opts.Config); err != nil {
		return nil, err
	}
	upstream, err := parseUpstream(opts.Kind, opts.Upstream)
	if err != nil {
		return nil, err
	}
	bin, err := findProxyBinary(opts.Kind, opts.Binary)
	if err != nil {
		return nil, err
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = proxyStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "ssebench-"+opts.Kind+"-"+opts.Config+"-")
	if err != nil {
		return nil, err
	}
	user := ""
	if opts.Kind == proxies.Nginx {
		if user, err = nginxUser(dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	// The free port is found by binding and releasing it, so another process
	// may take it first: retry with a fresh port a few times.
	const attempts = 3
	for i := 1; ; i++ {
		p, err := startProxyOnce(ctx, opts.Kind, bin, dir, opts.Config, upstream, user)
		if err == nil {
			return p, nil
		}
		if i == attempts || !errors.Is(err, errAddrInUse) || ctx.Err() != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

var errAddrInUse = errors.New("address already in use")

// proxyCommand is how each kind runs in the foreground with its files in dir.
func proxyCommand(kind, bin, dir, conf string) *exec.Cmd {
	switch kind {
	case proxies.Nginx:
		// -e sends the errors from before the config is read to dir too.
		return exec.Command(bin, "-p", dir+string(filepath.Separator), "-c", conf, "-e", filepath.Join(dir, "error.log"))
	case proxies.HAProxy:
		return exec.Command(bin, "-db", "-f", conf)
	case proxies.Apache:
		return exec.Command(bin, "-X", "-d", dir, "-f", conf)
	default: // Caddy, with its data and config directories in dir
		cmd := exec.Command(bin, "run", "--adapter", "caddyfile", "--config", conf)
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
		return cmd
	}
}

func startProxyOnce(ctx context.Context, kind, bin, dir, config, upstream, user string) (*liveProxy, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf, err := renderConf(kind, config, addr, upstream, user)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "proxy.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	// A previous attempt's log would confuse the error message.
	_ = os.Remove(filepath.Join(dir, "error.log"))
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy
	cmd := proxyCommand(kind, bin, dir, confPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = dir
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", kind, bin, err)
	}
	p := &liveProxy{kind: kind, config: config, addr: addr, dir: dir, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waited = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(ctx); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// waitReady polls the ready path until the proxy answers 204, exits, or
// ctx ends.
func (p *liveProxy) waitReady(ctx context.Context) error {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}, Timeout: time.Second}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+readyPath, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		select {
		case <-p.exited:
			log := p.ErrorLog()
			if strings.Contains(log, "Address already in use") || strings.Contains(log, "address already in use") || strings.Contains(log, "cannot bind socket") {
				return fmt.Errorf("%s: listen %s: %w", p.kind, p.addr, errAddrInUse)
			}
			return fmt.Errorf("%s exited while starting (%v); conf %s:\n%s", p.kind, p.waited, filepath.Join(p.dir, "proxy.conf"), tailText(log, 2000))
		case <-ctx.Done():
			return fmt.Errorf("%s: not serving on %s after start: %w\n%s", p.kind, p.addr, ctx.Err(), tailText(p.ErrorLog(), 2000))
		case <-tick.C:
		}
	}
}

// startProxyT starts a proxy for a test, fails the test (never skips) if
// it cannot, and stops it in t.Cleanup. On a failed test it logs the
// proxy's error log.
func startProxyT(t testing.TB, kind, config, upstream string) *liveProxy {
	t.Helper()
	p, err := startProxy(context.Background(), proxyOptions{Kind: kind, Config: config, Upstream: upstream})
	if err != nil {
		t.Fatalf("start %s %q: %v", kind, config, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s %q log:\n%s", kind, config, tailText(p.ErrorLog(), 4000))
		}
		if err := p.Close(); err != nil {
			t.Errorf("stop %s %q: %v", kind, config, err)
		}
	})
	return p
}

// parseUpstream accepts "host:port" or "http://host:port" and refuses
// anything that could escape the config's directive.
func parseUpstream(kind, s string) (string, error) {
	hostport := s
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "http" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", fmt.Errorf("%s: upstream %q: want host:port or http://host:port", kind, s)
		}
		hostport = u.Host
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" || port == "" || strings.ContainsAny(hostport, " \t\r\n;{}\"'$\\#") {
		return "", fmt.Errorf("%s: upstream %q: want host:port or http://host:port", kind, s)
	}
	return hostport, nil
}

func findProxyBinary(kind, bin string) (string, error) {
	b := proxyBinary[kind]
	if bin == "" {
		bin = os.Getenv(b.env)
	}
	if bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("%s %w (looked for %s: %v)", kind, errProxyNotFound, bin, err)
		}
		return path, nil
	}
	if path, err := exec.LookPath(b.name); err == nil {
		return path, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/bin"} {
		path := filepath.Join(d, b.name)
		if st, err := os.Stat(path); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s (%s) %w", kind, b.name, errProxyNotFound)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

func readProxyLog(dir string) string {
	var b strings.Builder
	for _, name := range []string{"stderr.log", "error.log"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			b.Write(data)
		}
	}
	return b.String()
}

// tailText keeps the last n bytes of s: the end of a log says why a proxy
// stopped.
func tailText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// nginxUser decides who nginx's workers run as. As non-root nginx cannot
// switch users and needs no directive. As root (CI, test.sh) the workers
// drop to nginx's built-in unprivileged user (nobody) as usual; they must
// then reach the temp paths in the prefix, so the prefix is opened to
// others (it holds nothing secret). When some parent directory of TMPDIR is
// closed to others, the workers stay root instead: they serve only loopback
// test traffic, and a worker that cannot write its proxy temp files would
// fail tests at random.
func nginxUser(dir string) (string, error) {
	if os.Geteuid() != 0 {
		return "", nil
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return "", err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return "user root root;  # " + d + " is closed to the default worker user", nil
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return "# running as root: workers use nginx's default unprivileged user", nil
}
