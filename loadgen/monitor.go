package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

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
	lagSeconds int // seconds with a scheduling lag over lagLimit
	saturated  string
	last       Health // the last sample's interval
}

// Health is the generator's own state over the last one-second interval,
// so a caller (capacity) can tell a slow server from a busy generator.
type Health struct {
	CPUShare  float64       // CPU used, as a share of all cores (0..1)
	Lag       time.Duration // worst timer lag in the interval
	Saturated string        // why the run is saturated so far ("" if not)
}

const (
	lagLimit    = 100 * time.Millisecond
	cpuHotShare = 0.95
)

func newMonitor() *monitor {
	now := time.Now()
	cpu := processCPU()
	return &monitor{started: now, cpuStart: cpu, lastCPU: cpu, lastAt: now, baseRSS: currentRSS()}
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
	share := float64(cpu-m.lastCPU) / float64(now.Sub(m.lastAt)) / float64(runtime.GOMAXPROCS(0))
	m.lastCPU, m.lastAt = cpu, now
	m.peakRSS = max(m.peakRSS, rss)
	m.peakGor = max(m.peakGor, gor)
	if share >= cpuHotShare {
		m.hotSeconds++
	} else {
		m.hotSeconds = 0
	}
	if m.ivLag > lagLimit {
		m.lagSeconds++
	}
	if m.saturated == "" {
		switch {
		case m.hotSeconds >= 3:
			m.saturated = fmt.Sprintf("generator CPU at %.0f%% of %d cores for %d s", share*100, runtime.GOMAXPROCS(0), m.hotSeconds)
		case m.ivLag > time.Second:
			m.saturated = fmt.Sprintf("generator timer %v late", m.ivLag.Round(time.Millisecond))
		case m.lagSeconds >= 3:
			m.saturated = fmt.Sprintf("generator timer over %v late in %d seconds", lagLimit, m.lagSeconds)
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

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func peakRSS() int64 { return procStatus("VmHWM:") }

// currentRSS is the process's resident set now (VmRSS), in bytes.
func currentRSS() int64 { return procStatus("VmRSS:") }

// procStatus reads one kB field of /proc/self/status, in bytes.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			return ru.Maxrss * 1024
		}
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(field)); ok {
			f := bytes.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
