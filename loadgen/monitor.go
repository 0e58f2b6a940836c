package loadgen

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ssebench/ssebench/internal/procfs"
	"github.com/ssebench/ssebench/report"
)

// monitor watches the generator itself, so a result can say when the
// generator, not the server, was the bottleneck. Safe for concurrent use.
type monitor struct {
	mu         sync.Mutex
	started    time.Time
	cpuStart   time.Duration
	lastCPU    time.Duration
	lastAt     time.Time
	maxLag     time.Duration
	ivLag      time.Duration
	peakRSS    int64
	baseRSS    int64 // resident set before any stream opened
	peakGor    int
	hotSeconds int // consecutive seconds near full CPU
	lagSeconds int // seconds with a scheduling lag over LagLimit
	saturated  string
	last       Health // the last sample's interval

	cores       float64   // this process's share of the machine, in cores
	machine     cpuTimes  // /proc/stat at the last sample
	machineHot  int       // consecutive seconds with the machine near full CPU
	sched       []uint64  // runtime scheduling-latency bucket counts at the last sample
	schedBounds []float64 // their bucket boundaries, in seconds
	schedSlow   int       // consecutive seconds with goroutines waiting over schedLimit
}

// Health is the generator's own state over the last one-second interval,
// so a caller (capacity) can tell a slow server from a busy generator.
type Health struct {
	CPUShare  float64       // CPU used, as a share of this process's cores (0..1)
	Lag       time.Duration // worst timer lag in the interval
	Saturated string        // why the run is saturated so far ("" if not)
}

// LagLimit and CPUHotShare are where the generator counts as busy: its
// timer this late, or its CPU at this share of its cores. A capacity
// step with most of its hold past either is inconclusive.
const (
	LagLimit    = 100 * time.Millisecond
	CPUHotShare = 0.95
)

const (
	// schedLimit is the p99 time a runnable goroutine waits for a thread
	// over which stream reads are late: events sit in sockets while the
	// controller's ticker may still be on time.
	schedLimit = 20 * time.Millisecond
)

// newMonitor watches a process that is one of shards processes of a run
// (1 when not sharded): its fair share of the machine is NumCPU/shards
// cores, at most GOMAXPROCS.
func newMonitor(shards int) *monitor {
	now := time.Now()
	cpu := processCPU()
	cores := float64(runtime.NumCPU()) / float64(max(1, shards))
	cores = min(max(cores, 1), float64(runtime.GOMAXPROCS(0)))
	m := &monitor{started: now, cpuStart: cpu, lastCPU: cpu, lastAt: now, baseRSS: currentRSS(), cores: cores}
	m.machine, _ = readCPUTimes()
	m.sched, m.schedBounds = schedLatencies()
	return m
}

// lag records how late the controller's timer fired.
func (m *monitor) lag(d time.Duration) {
	m.mu.Lock()
	m.ivLag = max(m.ivLag, d)
	m.maxLag = max(m.maxLag, d)
	m.mu.Unlock()
}

// sample runs once a second from the aggregator.
func (m *monitor) sample() {
	now := time.Now()
	cpu := processCPU()
	rss := peakRSS()
	gor := runtime.NumGoroutine()
	m.mu.Lock()
	defer m.mu.Unlock()
	share := float64(cpu-m.lastCPU) / float64(now.Sub(m.lastAt)) / m.cores
	m.lastCPU, m.lastAt = cpu, now
	machineShare := -1.0
	if mt, ok := readCPUTimes(); ok {
		machineShare = mt.busyShareSince(m.machine)
		m.machine = mt
	}
	if machineShare >= CPUHotShare {
		m.machineHot++
	} else {
		m.machineHot = 0
	}
	counts, bounds := schedLatencies()
	schedP99 := deltaQuantile(m.sched, counts, bounds, 0.99)
	m.sched = counts
	if schedP99 > schedLimit {
		m.schedSlow++
	} else {
		m.schedSlow = 0
	}
	m.peakRSS = max(m.peakRSS, rss)
	m.peakGor = max(m.peakGor, gor)
	if share >= CPUHotShare {
		m.hotSeconds++
	} else {
		m.hotSeconds = 0
	}
	if m.ivLag > LagLimit {
		m.lagSeconds++
	}
	if m.saturated == "" {
		switch {
		case m.hotSeconds >= 3:
			m.saturated = fmt.Sprintf("generator CPU at %.0f%% of its %.3g cores for %d s", share*100, m.cores, m.hotSeconds)
		case schedP99 > 5*schedLimit, m.schedSlow >= 3:
			m.saturated = fmt.Sprintf("goroutines waited %v (p99) for a CPU (%d s over %v): stream reads are late", schedP99.Round(time.Millisecond), m.schedSlow, schedLimit)
		case m.machineHot >= 3 && share >= 0.5:
			m.saturated = fmt.Sprintf("machine CPU at %.0f%% for %d s with the generator using %.0f%% of its share: it competes for cores", machineShare*100, m.machineHot, share*100)
		case m.ivLag > time.Second:
			m.saturated = fmt.Sprintf("generator timer %v late", m.ivLag.Round(time.Millisecond))
		case m.lagSeconds >= 3:
			m.saturated = fmt.Sprintf("generator timer over %v late in %d seconds", LagLimit, m.lagSeconds)
		}
	}
	m.last = Health{CPUShare: share, Lag: m.ivLag, Saturated: m.saturated}
	m.ivLag = 0
}

// health is the last sample's interval.
func (m *monitor) health() Health {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

func (m *monitor) result() report.Generator {
	m.mu.Lock()
	defer m.mu.Unlock()
	return report.Generator{
		PeakRSSBytes: max(m.peakRSS, peakRSS()), BaselineRSSBytes: m.baseRSS, CPUSeconds: (processCPU() - m.cpuStart).Seconds(),
		MaxLagMS: float64(m.maxLag.Microseconds()) / 1000, PeakGoroutines: m.peakGor,
		Procs: runtime.GOMAXPROCS(0), Saturated: m.saturated != "", SaturatedReason: m.saturated,
	}
}

// processCPU is user plus system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's peak resident set (VmHWM), in bytes; without
// /proc, the kernel's maximum from getrusage.
func peakRSS() int64 {
	if n, ok := procfs.MemoryBytes(0, "VmHWM:"); ok {
		return n
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return ru.Maxrss * 1024
	}
	return 0
}

// currentRSS is the process's resident set now (VmRSS), in bytes.
func currentRSS() int64 {
	n, _ := procfs.MemoryBytes(0, "VmRSS:")
	return n
}

// cpuTimes is the machine's CPU time from /proc/stat, in clock ticks.
type cpuTimes struct{ busy, total uint64 }

// readCPUTimes reads the aggregate cpu line of /proc/stat.
func readCPUTimes() (cpuTimes, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return cpuTimes{}, false
	}
	var t cpuTimes
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return cpuTimes{}, false
		}
		if i >= 8 { // guest time is already in user time
			break
		}
		t.total += n
		if i != 3 && i != 4 { // idle and iowait
			t.busy += n
		}
	}
	return t, true
}

// busyShareSince is the share of the machine's CPU that was busy since
// prev, or -1 when no time passed.
func (t cpuTimes) busyShareSince(prev cpuTimes) float64 {
	if t.total <= prev.total {
		return -1
	}
	return float64(t.busy-prev.busy) / float64(t.total-prev.total)
}

const schedMetric = "/sched/latencies:seconds"

// schedLatencies is the runtime's histogram of how long goroutines waited
// to run, cumulative since the process started.
func schedLatencies() ([]uint64, []float64) {
	s := []metrics.Sample{{Name: schedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil, nil
	}
	h := s[0].Value.Float64Histogram()
	return h.Counts, h.Buckets
}

// deltaQuantile is quantile q of the waits counted between two cumulative
// readings of one histogram (the bucket's upper bound), 0 when none.
func deltaQuantile(prev, cur []uint64, bounds []float64, q float64) time.Duration {
	if len(cur) == 0 || len(bounds) != len(cur)+1 {
		return 0
	}
	var total uint64
	for i, c := range cur {
		if i < len(prev) {
			c -= prev[i]
		}
		total += c
	}
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	var seen uint64
	for i, c := range cur {
		if i < len(prev) {
			c -= prev[i]
		}
		seen += c
		if seen > want {
			up := bounds[i+1]
			if math.IsInf(up, 1) {
				up = bounds[i]
			}
			return time.Duration(up * float64(time.Second))
		}
	}
	return 0
}
