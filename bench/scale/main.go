// Command scale measures what a stream costs the generator, ssebench beside
// a plain net/http + bufio client (bench/plainclient) under the same load
// in the same run: the server (`ssebench serve --procs P`) pinned to one
// core, each client in turn pinned to the other (taskset).
//
//	go run ./bench/scale -n 10000 -rate 1 -ramp 10s -hold 60s
//	go run ./bench/scale -n 100000 -rate 0.1 -ramp 60s -hold 60s -metrics
//
// For each client it prints one row: streams asked, held (most open at
// once), failed; KB per stream (peak RSS of the client's process tree over
// streams held); CPU-seconds per million events over the steady hold only
// (connection set-up excluded: from 2 s after the ramp to 1 s before the
// end); set-up rate (streams held over the time it took to have them all
// open); schedule lag p99 and saturated (ssebench's own measures). With
// -metrics, ssebench also serves --metrics-addr and a scraper reads it
// every second, so the cost of live metrics shows as a third row.
// bench/scale.sh runs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ssebench/ssebench/report"
)

type row struct {
	client                   string
	asked, held, failed      int64
	kbPerStream              float64
	cpuPerMEvents, setupRate float64
	lagP99                   string
	saturated                string
}

func main() {
	n := flag.Int("n", 10000, "streams")
	rate := flag.Float64("rate", 1, "events per second per stream (the server's ?rate=)")
	ramp := flag.Duration("ramp", 10*time.Second, "open the streams over this")
	hold := flag.Duration("hold", 60*time.Second, "then hold them this long (the steady window is inside it)")
	genCPU := flag.String("gen-cpu", "0", "taskset CPU list for the client")
	srvCPU := flag.String("srv-cpu", "1", "taskset CPU list for the server")
	serveProcs := flag.Int("serve-procs", 0, "serve --procs (0: one per 15,000 streams)")
	withMetrics := flag.Bool("metrics", false, "also run ssebench with --metrics-addr, scraped every second")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "ssebench-scale"), "work directory")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fail(err)
	}
	ssb, plain := filepath.Join(*dir, "ssebench"), filepath.Join(*dir, "plainclient")
	for _, b := range [][]string{{"build", "-o", ssb, "."}, {"build", "-o", plain, "./bench/plainclient"}} {
		if out, err := exec.Command("go", b...).CombinedOutput(); err != nil {
			fail(fmt.Errorf("go %s: %v\n%s", strings.Join(b, " "), err, out))
		}
	}
	procs := *serveProcs
	if procs == 0 {
		procs = (*n + 14999) / 15000
	}
	addr := freeAddr()
	srv := exec.Command("taskset", "-c", *srvCPU, ssb, "serve", "--addr", addr, "--procs", strconv.Itoa(procs))
	srvLog, _ := os.Create(filepath.Join(*dir, "serve.log"))
	srv.Stdout, srv.Stderr = srvLog, srvLog
	if err := srv.Start(); err != nil {
		fail(err)
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	waitHealthy("http://" + addr + "/healthz")
	url := fmt.Sprintf("http://%s/events?rate=%g", addr, *rate)
	total := *ramp + *hold
	from, to := *ramp+2*time.Second, total-time.Second

	fmt.Printf("%d streams, %g events/s each, ramp %v, hold %v; server: serve --procs %d on CPU %s; clients on CPU %s; steady window %v..%v\n",
		*n, *rate, *ramp, *hold, procs, *srvCPU, *genCPU, from, to)
	var rows []row
	runSSB := func(name string, extra ...string) {
		out := filepath.Join(*dir, name+".json")
		args := append([]string{"-c", *genCPU, ssb, "run", "--url", url, "--connections", strconv.Itoa(*n), "--ramp", ramp.String(),
			"--duration", total.String(), "--reconnect", "never", "--quiet", "--out", out, "--force"}, extra...)
		st := measure(exec.Command("taskset", args...), from, to, nil)
		r, err := report.ReadResult(out)
		if err != nil {
			fail(fmt.Errorf("%s: %v\n%s", name, err, st.stderr))
		}
		var held int64
		var events int64
		reached := 0.0
		for _, p := range r.Timeseries {
			held = max(held, p.Open)
		}
		for _, p := range r.Timeseries {
			if reached == 0 && p.Open >= held*99/100 {
				reached = p.T
			}
			if t := time.Duration(p.T * float64(time.Second)); t > from && t <= to {
				events += p.Events
			}
		}
		sat := "no"
		if r.Generator.Saturated {
			sat = "YES: " + r.Generator.SaturatedReason
		}
		rows = append(rows, row{client: name, asked: int64(*n), held: held, failed: r.Counters.StreamsFailed,
			kbPerStream: float64(st.peakRSS) / float64(max(held, 1)) / 1024, cpuPerMEvents: st.cpu.Seconds() / float64(max(events, 1)) * 1e6,
			setupRate: float64(held) / max(reached, 1e-9), lagP99: report.FormatMS(r.Metrics[report.MetricLag].P99MS), saturated: sat})
	}
	runSSB("ssebench")
	if *withMetrics {
		maddr := freeAddr()
		ctx, cancel := context.WithCancel(context.Background())
		go scrapeEvery(ctx, "http://"+maddr+"/metrics")
		runSSB("ssebench+metrics", "--metrics-addr", maddr)
		cancel()
	}
	{
		var lines bytes.Buffer
		st := measure(exec.Command("taskset", "-c", *genCPU, plain, "-url", url, "-n", strconv.Itoa(*n), "-ramp", ramp.String(), "-hold", hold.String()),
			from, to, &lines)
		var held, failed, evFrom, evTo int64
		reached := 0.0
		var maxOpen int64
		type sample struct {
			t            float64
			open, events int64
		}
		var samples []sample
		sc := bufio.NewScanner(&lines)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 4 && f[0] == "held" {
				held, _ = strconv.ParseInt(f[1], 10, 64)
				failed, _ = strconv.ParseInt(f[3], 10, 64)
				continue
			}
			if len(f) != 3 {
				continue
			}
			t, _ := strconv.ParseFloat(f[0], 64)
			o, _ := strconv.ParseInt(f[1], 10, 64)
			e, _ := strconv.ParseInt(f[2], 10, 64)
			samples = append(samples, sample{t, o, e})
			maxOpen = max(maxOpen, o)
		}
		for _, s := range samples {
			if reached == 0 && s.open >= maxOpen*99/100 {
				reached = s.t
			}
			if time.Duration(s.t*float64(time.Second)) <= from {
				evFrom = s.events
			}
			if time.Duration(s.t*float64(time.Second)) <= to {
				evTo = s.events
			}
		}
		rows = append(rows, row{client: "plain net/http", asked: int64(*n), held: max(held, maxOpen), failed: failed,
			kbPerStream: float64(st.peakRSS) / float64(max(maxOpen, 1)) / 1024, cpuPerMEvents: st.cpu.Seconds() / float64(max(evTo-evFrom, 1)) * 1e6,
			setupRate: float64(maxOpen) / max(reached, 1e-9), lagP99: "-", saturated: "-"})
	}
	fmt.Printf("\n%-18s %8s %8s %7s %9s %14s %12s %9s  %s\n", "client", "asked", "held", "failed", "KB/stream", "CPU-s/M events", "set-up /s", "lag p99", "saturated")
	for _, r := range rows {
		fmt.Printf("%-18s %8d %8d %7d %9.1f %14.2f %12.0f %9s  %s\n", r.client, r.asked, r.held, r.failed, r.kbPerStream, r.cpuPerMEvents, r.setupRate, r.lagP99, r.saturated)
	}
}

type stats struct {
	cpu     time.Duration // CPU of the process tree within the window
	peakRSS int64         // the tree's largest total RSS
	stderr  string
}

// measure runs cmd, sampling its process tree every 250 ms: total RSS (for
// the peak), and CPU at the window's start and end.
func measure(cmd *exec.Cmd, from, to time.Duration, stdout *bytes.Buffer) stats {
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	start := time.Now()
	var st stats
	var cpuFrom, cpuTo time.Duration
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			st.cpu = cpuTo - cpuFrom
			st.stderr = errb.String()
			return st
		case <-t.C:
			cpu, rss := tree(cmd.Process.Pid)
			st.peakRSS = max(st.peakRSS, rss)
			el := time.Since(start)
			if el <= from {
				cpuFrom = cpu
			}
			if el <= to {
				cpuTo = cpu
			}
		}
	}
}

// tree sums CPU time and RSS over pid and its descendants, from /proc.
func tree(root int) (cpu time.Duration, rss int64) {
	children := map[int][]int{}
	stat := map[int][]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+2:]))
		if len(f) < 22 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
		stat[pid] = f
	}
	const tick = 10 * time.Millisecond // USER_HZ 100
	page := int64(os.Getpagesize())
	todo := []int{root}
	for len(todo) > 0 {
		p := todo[0]
		todo = append(todo[1:], children[p]...)
		f, ok := stat[p]
		if !ok {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		stt, _ := strconv.ParseInt(f[12], 10, 64)
		pages, _ := strconv.ParseInt(f[21], 10, 64)
		cpu += time.Duration(ut+stt) * tick
		rss += pages * page
	}
	return cpu, rss
}

func scrapeEvery(ctx context.Context, url string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if resp, err := http.Get(url); err == nil {
				_, _ = bufio.NewReader(resp.Body).WriteTo(discard{})
				resp.Body.Close()
			}
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func waitHealthy(url string) {
	for range 100 {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail(fmt.Errorf("server not healthy at %s", url))
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}
