package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/ssebench/ssebench/scenarios"
)

// Issue is one thing pre-flight found. A Problem will break the run (the
// run refuses unless forced); a warning may distort it.
type Issue struct {
	Problem bool
	What    string
	Fix     string
}

func (i Issue) String() string {
	level := "warning"
	if i.Problem {
		level = "problem"
	}
	return fmt.Sprintf("%s: %s\n  fix: %s", level, i.What, i.Fix)
}

// System is what pre-flight reads from the machine; tests fill it in.
type System struct {
	StreamsPerProcess int   // from the open-file limit
	PortLow, PortHigh int   // net.ipv4.ip_local_port_range
	Somaxconn         int   // net.core.somaxconn
	MemAvailable      int64 // bytes; 0 if unknown
}

// ReadSystem reads this machine's limits (Linux /proc; defaults elsewhere).
func ReadSystem() System {
	sys := System{StreamsPerProcess: FDStreamsPerProcess(), PortLow: 32768, PortHigh: 60999, Somaxconn: 4096}
	if f := readInts("/proc/sys/net/ipv4/ip_local_port_range"); len(f) == 2 {
		sys.PortLow, sys.PortHigh = f[0], f[1]
	}
	if f := readInts("/proc/sys/net/core/somaxconn"); len(f) == 1 {
		sys.Somaxconn = f[0]
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("MemAvailable:")); ok {
				if f := bytes.Fields(v); len(f) > 0 {
					kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
					sys.MemAvailable = kb * 1024
				}
			}
		}
	}
	return sys
}

func readInts(path string) []int {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}

// bytesPerStream is a generous estimate of one stream's generator memory.
const bytesPerStream = 40 << 10

// Preflight checks a planned run against the machine before any load is
// sent: open files per process, ephemeral ports per source address and
// target, the accept backlog for connection bursts, and memory.
// With a shard, only that share counts.
func Preflight(s *scenarios.Scenario, sh Shard, procs int, sys System) []Issue {
	var out []Issue
	procs = max(1, procs)
	peak := sh.share(s.MaxTarget())
	conns := peak
	if s.HTTP2 {
		conns = (peak + s.StreamsPerConn - 1) / max(1, s.StreamsPerConn)
	}
	if perProc := (conns + procs - 1) / procs; perProc > sys.StreamsPerProcess {
		need := (conns + sys.StreamsPerProcess - 1) / sys.StreamsPerProcess
		out = append(out, Issue{Problem: true,
			What: fmt.Sprintf("%d connections in %d process(es) is %d per process, over the %d one process can hold with its open-file limit", conns, procs, perProc, sys.StreamsPerProcess),
			Fix:  fmt.Sprintf("use --procs %d (or leave --procs unset to choose automatically), or raise the limit (ulimit -n; LimitNOFILE= in systemd)", need)})
	}
	pool, _ := scenarios.ParseAddrPool(s.SourceAddrs)
	if len(pool) == 0 {
		pool = autoPool(s)
	}
	sources := max(1, len(pool))
	targets := map[string]bool{}
	local := true
	for _, raw := range s.URLs {
		if u, err := url.Parse(raw); err == nil {
			targets[u.Host] = true
			h := u.Hostname()
			local = local && (h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1")
		}
	}
	ports := sys.PortHigh - sys.PortLow + 1
	if perPair := conns / max(1, len(targets)) / sources; perPair > ports {
		out = append(out, Issue{Problem: true,
			What: fmt.Sprintf("%d connections per source address and target exceed the %d ephemeral ports (%d-%d)", perPair, ports, sys.PortLow, sys.PortHigh),
			Fix: fmt.Sprintf("add source addresses, e.g. --source-addrs 127.0.0.1-127.0.0.%d on loopback, or widen net.ipv4.ip_local_port_range (sysctl -w net.ipv4.ip_local_port_range='1024 65535')",
				(conns/max(1, len(targets))+ports-1)/ports)})
	}
	burst := peakArrivals(s)
	if sh.Count > 1 {
		burst /= float64(sh.Count)
	}
	if s.HTTP2 {
		burst /= float64(max(1, s.StreamsPerConn)) // new streams mostly reuse connections
	}
	if local && burst > float64(sys.Somaxconn) {
		out = append(out, Issue{
			What: fmt.Sprintf("up to %.0f connection attempts per second against a local server whose accept backlog is capped by net.core.somaxconn=%d: overflowing SYNs are retried after 1 s, 3 s, ... and show as connect latency", burst, sys.Somaxconn),
			Fix:  "raise it (sysctl -w net.core.somaxconn=65535) and the server's listen backlog, or cap arrivals with --arrival-rate / a longer --ramp"})
	}
	if need := int64(peak) * bytesPerStream; sys.MemAvailable > 0 && need > sys.MemAvailable*8/10 {
		out = append(out, Issue{Problem: need > sys.MemAvailable,
			What: fmt.Sprintf("%d streams need about %d MiB of generator memory; %d MiB is available", peak, need>>20, sys.MemAvailable>>20),
			Fix:  "run fewer streams per machine and merge several machines' results (see deploy/k8s)"})
	}
	return out
}

// peakArrivals is the steepest rise of the target, in streams per second,
// capped by the stage's arrival rate.
func peakArrivals(s *scenarios.Scenario) float64 {
	prev, peak := 0, 0.0
	for _, st := range s.Stages {
		rise := float64(st.Target - prev)
		prev = st.Target
		if rise <= 0 {
			continue
		}
		rate := rise * 1e9 // a step: all at once
		if d := st.Duration.D(); d > 0 {
			rate = rise / d.Seconds()
		}
		if cap := st.Rate; cap > 0 && rate > cap {
			rate = cap
		}
		if s.ArrivalRate > 0 && st.Rate == 0 && rate > s.ArrivalRate {
			rate = s.ArrivalRate
		}
		peak = max(peak, min(rate, rise))
	}
	return peak
}

// ErrPreflight is the error of a pre-flight that found a problem and was
// not forced.
var ErrPreflight = errors.New("pre-flight found a problem (above); fix it or run with --force")

// PreflightGate runs the pre-flight checks of s on this machine, prints
// each finding to w ("pre-flight ..."), and refuses (ErrPreflight) when
// one is a problem, unless force: what every command that sends load does
// before it starts.
func PreflightGate(w io.Writer, s *scenarios.Scenario, sh Shard, procs int, force bool) error {
	problem := false
	for _, is := range Preflight(s, sh, procs, ReadSystem()) {
		fmt.Fprintf(w, "pre-flight %s\n", is)
		problem = problem || is.Problem
	}
	if problem && !force {
		return ErrPreflight
	}
	return nil
}
