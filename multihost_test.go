//go:build linux

package main

// A multi-host run with real separate network stacks: three hosts built as
// Linux network namespaces on this machine (a server and two load
// generators, each with its own address and ephemeral-port range, on one
// bridge), the path the Kubernetes Indexed Job of deploy/k8s takes. Needs
// root and iproute2 (ip, ss): without them the test fails.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
)

// netnsPrefix starts the name of every namespace these tests make; the
// process id follows it, so a crashed run's namespaces can be told apart.
const netnsPrefix = "ssbmh"

// mhHost is one namespace of the test network.
type mhHost struct {
	ns    string // namespace name
	addr  string // its address on the bridge
	ports [2]int // its ephemeral-port range (clients only)
}

// TestMultiHostShardsMerge runs one scenario as two shards on two hosts
// against a server on a third. The merged result must be the sum of the
// shards exactly (counters, end classes, every histogram bucket by bucket)
// and equal what the server counted (/stats), and the server's own socket
// table must show every stream open at once, half from each host's address
// and each from its host's port range: more streams to one server port
// than one ephemeral range holds (28,232 by default), from one machine,
// without extra loopback addresses.
func TestMultiHostShardsMerge(t *testing.T) {
	if testing.Short() {
		t.Parallel() // the small size beside the other short tests; the full size runs alone (30,000 streams)
	}
	start := time.Now()
	requireNetns(t)
	bin := binary(t)

	// Each stream gets count events at rate per second and the server
	// ends it; it lives (count-1)/rate to count/rate seconds, longer than
	// the ramp, so after the ramp every stream is open at once for a while.
	perShard, ramp, rate, count, sample := 15000, 10*time.Second, 0.5, 8, 500*time.Millisecond
	if testing.Short() {
		perShard, ramp, rate, count, sample = 1500, 2*time.Second, 2.0, 8, 250*time.Millisecond
	}
	life := time.Duration(float64(count) / rate * float64(time.Second))
	duration := ramp + life + 2*time.Second // every stream ends before the run does

	id := fmt.Sprintf("%s%d", netnsPrefix, os.Getpid())
	srv := mhHost{ns: id + "-srv", addr: "10.77.0.1"}
	// Each host's range holds more than twice its streams: Linux's
	// connect() tries the ports of one parity first, so a host holding
	// more than half its range to one destination scans thousands of
	// ports per connect (with 15,000 streams in 20,000 ports, connect p90
	// took seconds of kernel time here).
	hosts := []mhHost{
		{ns: id + "-a", addr: "10.77.0.2", ports: [2]int{1024, 32767}},
		{ns: id + "-b", addr: "10.77.0.3", ports: [2]int{32768, 65535}},
	}
	buildNetwork(t, id+"-sw", append([]mhHost{srv}, hosts...))
	t.Logf("network of 4 namespaces up after %v", time.Since(start).Round(time.Millisecond))

	// The server: two processes sharing the port, as 30,000 streams are
	// more than one process holds at an open-file limit of 20,000.
	base := "http://" + srv.addr + ":8080"
	serveOut := startServeIn(t, bin, srv.ns, srv.addr+":8080", "--procs", "2")

	dir := t.TempDir()
	scenario := filepath.Join(dir, "scenario.yaml")
	yaml := fmt.Sprintf(`name: multihost
url: %s/events?rate=%g&count=%d&topic=multihost
connections: %d
ramp: %s
duration: %s
sequence: true
reconnect:
  policy: never
`, base, rate, count, 2*perShard, ramp, duration)
	if err := os.WriteFile(scenario, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}

	// The server's socket table, sampled through the run: the sample with
	// the most established streams on its port.
	sampler := sampleSockets(t, srv.ns, 8080, sample)

	shardOut := make([]string, len(hosts))
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	logs := make([]string, len(hosts))
	for i, h := range hosts {
		shardOut[i] = filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), duration+30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "ip", "netns", "exec", h.ns, bin, "run", scenario,
				"--shard", fmt.Sprintf("%d/%d", i, len(hosts)), "--quiet", "--out", shardOut[i])
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			b, err := cmd.CombinedOutput()
			errs[i], logs[i] = err, string(b)
		}()
	}
	wg.Wait()
	peak := sampler()
	for i := range hosts {
		if errs[i] != nil {
			t.Fatalf("shard %d on %s: %v\n%s", i, hosts[i].ns, errs[i], logs[i])
		}
	}
	st := serverStats(t, srv.ns, base)

	merged := filepath.Join(dir, "merged.json")
	if b, err := exec.Command(bin, "report", "--json", merged, shardOut[0], shardOut[1]).CombinedOutput(); err != nil {
		t.Fatalf("report: %v\n%s", err, b)
	}
	shards := make([]*report.Result, len(hosts))
	for i := range hosts {
		r, err := report.ReadResult(shardOut[i])
		if err != nil {
			t.Fatal(err)
		}
		shards[i] = r
	}
	m, err := report.ReadResult(merged)
	if err != nil {
		t.Fatal(err)
	}

	// Each shard ran its half, every stream to its server-side end.
	for i, r := range shards {
		c := r.Counters
		if c.StreamsOpened != int64(perShard) || c.StreamsFailed != 0 || c.Events != int64(perShard*count) ||
			c.Ends["eof"] != int64(perShard) || len(c.Ends) != 1 || c.EventsLost != 0 || c.EventsDuplicated != 0 {
			t.Errorf("shard %d: counters %+v, want %d streams of %d events each ending eof", i, c, perShard, count)
		}
	}

	// The merged figures are the shards' sums exactly.
	a, b, mc := shards[0].Counters, shards[1].Counters, m.Counters
	sums := []struct {
		name       string
		a, b, merg int64
	}{
		{"streams_opened", a.StreamsOpened, b.StreamsOpened, mc.StreamsOpened},
		{"streams_failed", a.StreamsFailed, b.StreamsFailed, mc.StreamsFailed},
		{"events", a.Events, b.Events, mc.Events},
		{"bytes", a.Bytes, b.Bytes, mc.Bytes},
		{"comments", a.Comments, b.Comments, mc.Comments},
		{"reconnects", a.Reconnects, b.Reconnects, mc.Reconnects},
		{"events_lost", a.EventsLost, b.EventsLost, mc.EventsLost},
		{"events_duplicated", a.EventsDuplicated, b.EventsDuplicated, mc.EventsDuplicated},
	}
	for _, s := range sums {
		if s.merg != s.a+s.b {
			t.Errorf("merged %s %d, shards %d + %d", s.name, s.merg, s.a, s.b)
		}
	}
	classes := map[string]bool{}
	for _, r := range append(shards, m) {
		for k := range r.Counters.Ends {
			classes[k] = true
		}
	}
	for k := range classes {
		if mc.Ends[k] != a.Ends[k]+b.Ends[k] {
			t.Errorf("merged ends.%s %d, shards %d + %d", k, mc.Ends[k], a.Ends[k], b.Ends[k])
		}
	}
	// Every histogram merged losslessly: the merged one's buckets hold the
	// shards' counts added, bucket by bucket.
	names := map[string]bool{}
	for _, r := range append(shards, m) {
		for k := range r.Metrics {
			names[k] = true
		}
	}
	for name := range names {
		want := map[int64]int64{}
		var wantCount int64
		for _, r := range shards {
			wantCount += r.Metrics[name].Count
			for from, n := range buckets(t, name, r.Metrics[name]) {
				want[from] += n
			}
		}
		got := buckets(t, name, m.Metrics[name])
		if m.Metrics[name].Count != wantCount || len(got) != len(want) {
			t.Errorf("%s: merged count %d in %d buckets, shards %d in %d", name, m.Metrics[name].Count, len(got), wantCount, len(want))
			continue
		}
		for from, n := range want {
			if got[from] != n {
				t.Errorf("%s: merged bucket from %dus holds %d, shards %d", name, from, got[from], n)
			}
		}
	}
	if m.Metrics["delivery"].Count != mc.Events || m.Metrics["first_event"].Count != mc.StreamsOpened {
		t.Errorf("merged delivery count %d for %d events, first_event %d for %d streams",
			m.Metrics["delivery"].Count, mc.Events, m.Metrics["first_event"].Count, mc.StreamsOpened)
	}

	// The server counted the same: every stream, event and byte.
	if st.StreamsTotal != mc.StreamsOpened || st.EventsWritten != mc.Events || st.BytesWritten != mc.Bytes ||
		st.Streams != 0 || st.SlowDropped != 0 || len(st.Procs) != 2 {
		t.Errorf("server: %d streams (%d open), %d events, %d bytes, %d slow, %d processes; merged: %d streams, %d events, %d bytes",
			st.StreamsTotal, st.Streams, st.EventsWritten, st.BytesWritten, st.SlowDropped, len(st.Procs),
			mc.StreamsOpened, mc.Events, mc.Bytes)
	}
	for _, p := range st.Procs {
		if p.StreamsTotal == 0 {
			t.Errorf("server process %d served no stream: the port is not shared", p.Worker)
		}
	}

	// The server saw every stream open at once, from two peers, each from
	// its own port range.
	total := 0
	for _, n := range peak.byPeer {
		total += n
	}
	if total != 2*perShard || len(peak.byPeer) != 2 {
		t.Errorf("at most %d streams established on the server's port at once, from %d peers %v: want %d from 2",
			total, len(peak.byPeer), peak.byPeer, 2*perShard)
	}
	for _, h := range hosts {
		if n := peak.byPeer[h.addr]; n != perShard {
			t.Errorf("peer %s: %d streams at the peak, want %d", h.addr, n, perShard)
		}
		if r := peak.ports[h.addr]; r[0] < h.ports[0] || r[1] > h.ports[1] {
			t.Errorf("peer %s used ports %d-%d, outside its range %d-%d", h.addr, r[0], r[1], h.ports[0], h.ports[1])
		}
	}
	if peak.bad != "" {
		t.Errorf("socket table: %s", peak.bad)
	}

	if t.Failed() {
		for i := range hosts {
			t.Logf("shard %d on %s:\n%s", i, hosts[i].ns, logs[i])
		}
	}
	if out := stopServe(t, serveOut); !strings.Contains(out, "stopped 2 processes") {
		t.Errorf("serve did not stop cleanly:\n%s", out)
	}
	t.Logf("%d streams (%d per host) to %s:8080, %d at once at the peak (sampled every %v); %d events, %d bytes; wall time %v",
		mc.StreamsOpened, perShard, srv.addr, total, sample, mc.Events, mc.Bytes, time.Since(start).Round(time.Millisecond))
}

// requireNetns fails the test unless it can build network namespaces.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the multi-host test builds network namespaces: it must run as root")
	}
	for _, p := range []string{"ip", "ss"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("the multi-host test needs %s (iproute2): %v", p, err)
		}
	}
	removeStaleNetns(t)
}

// removeStaleNetns deletes the namespaces a killed earlier run of these
// tests left behind (their process is gone); other runs' are left alone.
func removeStaleNetns(t *testing.T) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, netnsPrefix)
		if !ok {
			continue
		}
		pid, _, _ := strings.Cut(rest, "-")
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); os.IsNotExist(err) {
			exec.Command("ip", "netns", "del", name).Run()
		}
	}
}

// ipCmd runs ip (or another command) and fails the test on an error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if b, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

// buildNetwork makes a switch namespace with a bridge, and one namespace
// per host wired to it by a veth pair (both ends made inside their
// namespaces, so nothing lands in this one). Every namespace is deleted
// when the test ends, its veth ends with it.
func buildNetwork(t *testing.T, sw string, hosts []mhHost) {
	t.Helper()
	for _, ns := range append([]string{sw}, nsNames(hosts)...) {
		t.Cleanup(func() {
			if b, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v %s", ns, err, b)
			}
		})
		ipCmd(t, "ip", "netns", "add", ns)
		ipCmd(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, "ip", "-n", sw, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "ip", "-n", sw, "link", "set", "br0", "up")
	for i, h := range hosts {
		port := fmt.Sprintf("p%d", i)
		ipCmd(t, "ip", "link", "add", "eth0", "netns", h.ns, "type", "veth", "peer", "name", port, "netns", sw)
		ipCmd(t, "ip", "-n", sw, "link", "set", port, "master", "br0", "up")
		ipCmd(t, "ip", "-n", h.ns, "addr", "add", h.addr+"/24", "dev", "eth0")
		ipCmd(t, "ip", "-n", h.ns, "link", "set", "eth0", "up")
		if h.ports[0] != 0 {
			ipCmd(t, "ip", "netns", "exec", h.ns, "sysctl", "-qw",
				fmt.Sprintf("net.ipv4.ip_local_port_range=%d %d", h.ports[0], h.ports[1]))
		}
	}
}

func nsNames(hosts []mhHost) []string {
	var s []string
	for _, h := range hosts {
		s = append(s, h.ns)
	}
	return s
}

// servedProc is a running `ssebench serve` and its output so far.
type servedProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan error // its exit, sent once
	stop sync.Once
}

func (p *servedProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startServeIn starts `ssebench serve` in namespace ns and waits until it
// listens; it is stopped when the test ends.
func startServeIn(t *testing.T, bin, ns, addr string, args ...string) *servedProc {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, bin, "serve", "--addr", addr}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &servedProc{cmd: cmd, done: make(chan error, 1)}
	listening, drained := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), "listening on") {
				once.Do(func() { close(listening) })
			}
		}
	}()
	go func() { err := cmd.Wait(); pw.Close(); <-drained; p.done <- err }()
	t.Cleanup(func() { stopServe(t, p) })
	select {
	case <-listening:
	case err := <-p.done:
		p.stop.Do(func() {})
		t.Fatalf("serve in %s exited: %v\n%s", ns, err, p.output())
	case <-time.After(20 * time.Second):
		t.Fatalf("serve in %s did not listen within 20 s:\n%s", ns, p.output())
	}
	return p
}

// stopServe interrupts serve (once) and returns all it printed.
func stopServe(t *testing.T, p *servedProc) string {
	p.stop.Do(func() {
		p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			t.Errorf("serve did not stop within 15 s of SIGINT")
			<-p.done
		}
	})
	return p.output()
}

// serverStats reads the server's /stats from inside its namespace.
func serverStats(t *testing.T, ns, base string) fixtures.Stats {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialInNetns(ns)}}
	resp, err := c.Get(base + "/stats")
	if err != nil {
		t.Fatalf("GET /stats in %s: %v", ns, err)
	}
	defer resp.Body.Close()
	var st fixtures.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("/stats: %v", err)
	}
	return st
}

// dialInNetns dials from inside network namespace ns: the socket is made
// on an OS thread moved into ns, which is never moved back (the runtime
// ends a goroutine's locked thread with it).
func dialInNetns(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type dialed struct {
			c   net.Conn
			err error
		}
		ch := make(chan dialed, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: see above
			f, err := os.Open("/run/netns/" + ns)
			if err != nil {
				ch <- dialed{nil, err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- dialed{nil, fmt.Errorf("setns %s: %w", ns, err)}
				return
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			ch <- dialed{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// socketPeak is the sample of a server's socket table with the most
// established connections on its port.
type socketPeak struct {
	byPeer map[string]int    // connections per peer address
	ports  map[string][2]int // lowest and highest peer port per address
	bad    string            // a line that could not be read
}

// sampleSockets reads the established connections to port in namespace
// ns (ss, the kernel's own table) every interval until the returned
// function is called, which returns the fullest sample.
func sampleSockets(t *testing.T, ns string, port int, every time.Duration) func() socketPeak {
	stop := make(chan struct{})
	res := make(chan socketPeak, 1)
	go func() {
		var best socketPeak
		bestN := -1
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				res <- best
				return
			case <-tick.C:
			}
			out, err := exec.Command("ip", "netns", "exec", ns, "ss", "-Htn", "state", "established",
				fmt.Sprintf("( sport = :%d )", port)).Output()
			if err != nil {
				best.bad = fmt.Sprintf("ss: %v", err)
				continue
			}
			s := socketPeak{byPeer: map[string]int{}, ports: map[string][2]int{}}
			n := 0
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				if len(f) < 4 {
					continue
				}
				host, p, err := net.SplitHostPort(f[3])
				pn, err2 := strconv.Atoi(p)
				if err != nil || err2 != nil {
					s.bad = "unreadable peer in " + line
					continue
				}
				n++
				s.byPeer[host]++
				r, ok := s.ports[host]
				if !ok {
					r = [2]int{pn, pn}
				}
				r[0], r[1] = min(r[0], pn), max(r[1], pn)
				s.ports[host] = r
			}
			if n > bestN {
				best, bestN = s, n
			}
		}
	}()
	var once sync.Once
	var peak socketPeak
	get := func() socketPeak {
		once.Do(func() { close(stop); peak = <-res })
		return peak
	}
	t.Cleanup(func() { get() })
	return get
}

// buckets is a histogram's non-empty buckets: their lowest value (µs) to
// their count.
func buckets(t *testing.T, name string, m report.Metric) map[int64]int64 {
	t.Helper()
	h, err := m.Hist()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b := map[int64]int64{}
	for _, bar := range h.Distribution() {
		if bar.Count != 0 {
			b[bar.From] += bar.Count
		}
	}
	return b
}
