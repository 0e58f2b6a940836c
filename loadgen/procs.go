package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// WorkerCommand is the hidden command a shard process runs:
// `ssebench shard-worker SCENARIO.json i/n`.
const WorkerCommand = "shard-worker"

// ProcOptions say how RunProcs starts its shard processes.
type ProcOptions struct {
	// Procs is the number of shard processes (at least 2 to be useful).
	Procs int
	// Command starts a worker; the scenario file and "i/n" are appended.
	// nil means this executable followed by WorkerCommand.
	Command []string
	// Started, when set, is told each worker's pid as it starts.
	Started func(sh Shard, pid int)
	// Stderr receives the workers' own error output; nil means os.Stderr.
	Stderr io.Writer
	// Base is the share this whole group runs (from --shard i/n): worker j
	// runs sub-shard i*Procs+j of n*Procs. The zero value is the whole run.
	Base Shard
}

// sub is worker j's shard within base.
func (po ProcOptions) sub(j int) Shard {
	if po.Base.Count <= 1 {
		return Shard{Index: j, Count: po.Procs}
	}
	return Shard{Index: po.Base.Index*po.Procs + j, Count: po.Base.Count * po.Procs}
}

// FDStreamsPerProcess is how many streams one process can hold given its
// open-file limit, keeping a reserve for everything else it opens.
func FDStreamsPerProcess() int {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil || rl.Cur == 0 {
		return 1000
	}
	limit := int(min(rl.Cur, 1<<30))
	return max(100, limit-limit/20-200)
}

// ProcsNeeded is how many processes a scenario (or one shard of it) needs
// for its peak streams on this machine's open-file limit.
func ProcsNeeded(s *scenarios.Scenario, sh Shard) int {
	conns := sh.share(s.MaxTarget())
	if s.HTTP2 {
		conns = (conns + s.StreamsPerConn - 1) / max(1, s.StreamsPerConn)
	}
	return max(1, (conns+FDStreamsPerProcess()-1)/FDStreamsPerProcess())
}

// RunProcs runs the scenario as po.Procs shard processes of this program,
// merging their one-second snapshots live (opt.Progress sees the merged
// run) into one result. A worker that dies is reported with its share in
// the result's notes; the others go on, and everything it reported before
// dying is kept. Cancelling ctx interrupts every worker, which still
// report their partial measurements.
func RunProcs(ctx context.Context, s *scenarios.Scenario, po ProcOptions, opt Options) (*report.Result, error) {
	n := po.Procs
	if n < 1 {
		return nil, fmt.Errorf("procs %d: want at least 1", n)
	}
	cmdline := po.Command
	if cmdline == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmdline = []string{exe, WorkerCommand}
	}
	stderr := po.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	file, err := writeScenario(s)
	if err != nil {
		return nil, err
	}
	defer os.Remove(file)

	res := &report.Result{
		Schema: report.ResultSchema, Version: opt.Version, GoVersion: runtime.Version(),
		Target: s.Redacted().URLs[0], Start: time.Now(),
	}
	res.Host, _ = os.Hostname()
	if s.Mode == scenarios.ModeRequest {
		res.Mode = s.Mode
	}
	if b, err := json.Marshal(s.Redacted()); err == nil {
		res.Scenario = b
	}
	start := res.Start
	m := newModeMerger(start, s.Mode)
	var (
		mu     sync.Mutex
		latest = make([]int, n) // latest second each worker reported
		alive  = make([]bool, n)
		procs  = make([]*os.Process, n)
	)
	res.Shard = po.Base.String()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sh := po.sub(i)
		cmd := exec.Command(cmdline[0], append(cmdline[1:], file, sh.String())...)
		cmd.Stderr = stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("shard %s could not start: %v", sh, err))
			continue
		}
		procs[i], alive[i], latest[i] = cmd.Process, true, -1
		slot := i
		if po.Started != nil {
			po.Started(sh, cmd.Process.Pid)
		}
		wg.Go(func() {
			final, readErr := readSnapshots(out, func(snap *Snapshot) error {
				if err := m.add(snap); err != nil {
					return err
				}
				if !snap.Final {
					mu.Lock()
					latest[slot] = max(latest[slot], m.second(snap))
					mu.Unlock()
				}
				return nil
			})
			waitErr := cmd.Wait()
			mu.Lock()
			alive[slot] = false
			mu.Unlock()
			if !final {
				why := "exited without its final report"
				if waitErr != nil {
					why = waitErr.Error()
				} else if readErr != nil {
					why = readErr.Error()
				}
				m.mu.Lock()
				m.notes = append(m.notes, fmt.Sprintf("shard %s (%d of the streams) died after %s: %s; its measurements until then are included",
					sh, sh.share(s.MaxTarget()), time.Since(start).Round(time.Second), why))
				m.mu.Unlock()
			}
		})
	}
	started := 0
	for _, p := range procs {
		if p != nil {
			started++
		}
	}
	if started == 0 {
		return nil, errors.New("no shard process could start: " + fmt.Sprint(res.Notes))
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	total := s.TotalDuration()
	printed := -1
	var abort, unreachable error
	ff := &failFast{armed: opt.FailFast, insecure: s.Insecure}
	interrupt := func() {
		for i, p := range procs {
			mu.Lock()
			live := alive[i]
			mu.Unlock()
			if p != nil && live {
				p.Signal(os.Interrupt)
			}
		}
	}
	showUpTo := func(complete int) {
		for sec := printed + 1; sec <= complete; sec++ {
			printed = sec
			p := m.point(sec)
			if p == nil {
				continue
			}
			pr := Progress{Elapsed: time.Duration(sec) * time.Second, Total: total, Point: *p, Totals: m.totals(), Mode: s.Mode}
			if opt.Progress != nil {
				opt.Progress(pr)
			}
			if abort == nil && unreachable == nil {
				if unreachable = ff.check(pr); unreachable != nil {
					interrupt()
				}
			}
			if opt.Live != nil {
				m.withHists(func(h map[string]*hdrhistogram.Histogram) {
					lp := pr
					lp.Hists = h
					opt.Live(lp)
				})
			}
			if opt.Check != nil && abort == nil && unreachable == nil {
				pr.Metrics = m.metrics()
				if abort = opt.Check(pr); abort != nil {
					interrupt()
				}
			}
		}
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	interrupted := false
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-ctx.Done():
			if !interrupted {
				interrupted = true
				interrupt()
			}
		case <-t.C:
			complete := 1 << 30
			mu.Lock()
			for i := range latest {
				if alive[i] {
					complete = min(complete, latest[i])
				}
			}
			mu.Unlock()
			if complete < 1<<30 {
				showUpTo(complete)
			}
		}
		if interrupted {
			// Keep reading the workers' partial reports; stop waiting on ctx.
			select {
			case <-done:
				running = false
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	res.End = time.Now()
	res.DurationS = res.End.Sub(res.Start).Seconds()
	m.fill(res)
	res.Counters = m.resultTotals()
	res.Notes = append([]string{fmt.Sprintf("ran as %d processes (shards) merged live", n)}, res.Notes...)
	res.EndedEarly(unreachable, abort, interrupted || m.partial, time.Since(start))
	return res, nil
}

// readSnapshots feeds each NDJSON snapshot to add, reporting whether the
// final one arrived.
func readSnapshots(r io.Reader, add func(*Snapshot) error) (final bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var snap Snapshot
		if err := json.Unmarshal(sc.Bytes(), &snap); err != nil {
			return final, fmt.Errorf("bad snapshot: %w", err)
		}
		if err := add(&snap); err != nil {
			return final, err
		}
		final = final || snap.Final
	}
	return final, sc.Err()
}

// writeScenario stores the scenario for the workers (mode 0600: it may
// hold a request body).
func writeScenario(s *scenarios.Scenario) (string, error) {
	// The JSON does not keep the scenario file's name, and a worker reads
	// request.dataset relative to its working directory: hand it the path
	// as the parent resolved it (relative to the scenario file), made
	// absolute so it does not depend on where the worker runs either.
	if s.Request.Dataset != "" {
		c := *s
		c.Request.Dataset = s.DatasetPath()
		if abs, err := filepath.Abs(c.Request.Dataset); err == nil {
			c.Request.Dataset = abs
		}
		s = &c
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "ssebench-scenario-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// ReadWorkerScenario loads the scenario a parent wrote for its workers.
func ReadWorkerScenario(path string) (*scenarios.Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s scenarios.Scenario
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("worker scenario %s: %w", path, err)
	}
	return &s, nil
}
