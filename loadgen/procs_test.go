package loadgen

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// TestMain lets this test binary act as a shard worker: RunProcs starts it
// again with workerEnv set and the worker arguments. As a test binary
// with -short (the fast tier) it raises -parallel (default: GOMAXPROCS, 2
// here) to 8 unless it was given; the full suite (with -race, several
// times slower, and the capacity searches, which are parallel) keeps go
// test's default. The parallel tests each wait on a short loopback run
// and check counts and outputs, not figures; the figure tests
// ("Timing-sensitive: not parallel") run on their own, before them.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" && len(os.Args) == 3 {
		os.Exit(testWorker(os.Args[1], os.Args[2]))
	}
	os.Setenv(workerEnv, "1")
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if testing.Short() && !given {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}

const workerEnv = "SSEBENCH_LOADGEN_TEST_WORKER"

func testWorker(file, shard string) int {
	s, err := ReadWorkerScenario(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	sh, err := ParseShard(shard)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := Run(context.Background(), s, Options{Shard: sh, Snapshots: os.Stdout}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func TestShardShareAddsUp(t *testing.T) {
	t.Parallel()
	for _, total := range []int{0, 1, 7, 100, 50001} {
		for n := 1; n <= 7; n++ {
			sum := 0
			for i := 0; i < n; i++ {
				sum += Shard{Index: i, Count: n}.share(total)
			}
			if sum != total {
				t.Fatalf("%d over %d shards adds up to %d", total, n, sum)
			}
		}
	}
	for _, bad := range []string{"3/3", "-1/2", "1", "a/b", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func TestSubShards(t *testing.T) {
	t.Parallel()
	po := ProcOptions{Procs: 3, Base: Shard{Index: 1, Count: 4}}
	total, seen := 0, map[int]bool{}
	for j := 0; j < 3; j++ {
		sh := po.sub(j)
		if sh.Count != 12 || sh.Index < 3 || sh.Index > 5 || seen[sh.Index] {
			t.Fatalf("sub-shard %d of 1/4 is %v", j, sh)
		}
		seen[sh.Index] = true
		total += sh.share(1000)
	}
	if want := (Shard{Index: 1, Count: 4}).share(1000); total != want {
		t.Fatalf("sub-shards of 1/4 hold %d streams, the shard %d", total, want)
	}
}

func TestMergerGauges(t *testing.T) {
	t.Parallel()
	start := time.Now()
	m := newMerger(start)
	at := start.Add(1500 * time.Millisecond)
	// Two points of shard 0/2 in one wall-clock second (a tick and the
	// final flush), one of shard 1/2: gauges are the shards' latest, summed.
	for _, s := range []*Snapshot{
		{Shard: "0/2", Wall: at, Point: report.Point{Open: 10, Target: 10, Events: 5}},
		{Shard: "0/2", Wall: at.Add(100 * time.Millisecond), Point: report.Point{Open: 8, Target: 10, Events: 1}},
		{Shard: "1/2", Wall: at, Point: report.Point{Open: 9, Target: 10, Events: 4}},
		{Shard: "1/2", Final: true, Wall: at, Notes: []string{"same note"}},
		{Shard: "0/2", Final: true, Wall: at, Notes: []string{"same note"}},
	} {
		if err := m.add(s); err != nil {
			t.Fatal(err)
		}
	}
	p := m.point(1)
	if p == nil || p.Open != 17 || p.Target != 20 || p.Events != 10 {
		t.Fatalf("merged second: %+v, want open 8+9, target 10+10, events 10", p)
	}
	res := &report.Result{}
	m.fill(res)
	if len(res.Notes) != 1 {
		t.Fatalf("notes %v: the same note from every shard shows once", res.Notes)
	}
}

func TestRunProcsMergesExactly(t *testing.T) {
	t.Parallel()
	url := serve(t)
	const streams, perStream = 30, 6
	s := scenario(t, url+"/events?rate=20&count=6&topic=procs", streams, 3*time.Second, func(s *scenarios.Scenario) {
		s.Reconnect.Policy = "never"
		s.Expect.Sequence = true
	})
	var progress int
	res, err := RunProcs(context.Background(), s, ProcOptions{Procs: 3, Command: []string{os.Args[0]}},
		Options{Progress: func(Progress) { progress++ }})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Counters
	if c.StreamsOpened != streams || c.Events != streams*perStream || c.Ends["eof"] != streams {
		t.Fatalf("merged counters %+v, want %d streams × %d events", c, streams, perStream)
	}
	if d := res.Metrics["delivery"]; d.Count != c.Events || d.HDR == "" {
		t.Fatalf("merged delivery histogram holds %d values for %d events", d.Count, c.Events)
	}
	var tsEvents, tsConnects int64
	for _, p := range res.Timeseries {
		tsEvents += p.Events
		tsConnects += p.Connects
	}
	if tsEvents != c.Events || tsConnects != streams || progress == 0 {
		t.Fatalf("time series: %d events (want %d), %d connects (want %d), %d progress lines", tsEvents, c.Events, tsConnects, streams, progress)
	}
	if res.Generator.CPUSeconds <= 0 || res.Generator.PeakRSSBytes <= 0 || !strings.Contains(strings.Join(res.Notes, " "), "3 processes") {
		t.Fatalf("generator %+v notes %v", res.Generator, res.Notes)
	}
}

func TestRunProcsSurvivesDeadShard(t *testing.T) {
	t.Parallel()
	url := serve(t)
	s := scenario(t, url+"/events?rate=20&topic=dead", 20, 4*time.Second, nil)
	var mu sync.Mutex
	pids := map[int]int{}
	go func() {
		time.Sleep(2 * time.Second)
		mu.Lock()
		defer mu.Unlock()
		syscall.Kill(pids[1], syscall.SIGKILL)
	}()
	res, err := RunProcs(context.Background(), s, ProcOptions{Procs: 2, Command: []string{os.Args[0]},
		Started: func(sh Shard, pid int) { mu.Lock(); pids[sh.Index] = pid; mu.Unlock() }}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "shard 1/2 (10 of the streams) died") {
		t.Fatalf("notes do not report the dead shard:\n%s", notes)
	}
	// Both shards opened their 10 streams before the kill, and the dead
	// one's events up to then are kept: more than the survivor alone got.
	c := res.Counters
	if c.StreamsOpened != 20 || c.Ends["cancelled"] != 10 || c.Events < 10*20*3 {
		t.Fatalf("counters %+v", c)
	}
}

// A shard's teardown (its streams closing after the duration) lands in a
// merged second of its own, still marked, instead of folding its open 0
// into the shard's last second of load; the progress line skips it.
func TestMergerKeepsTeardownApart(t *testing.T) {
	t.Parallel()
	start := time.Now()
	m := newMerger(start)
	shardStart := start.Add(300 * time.Millisecond)
	at := func(T float64) time.Time { return shardStart.Add(time.Duration(T * float64(time.Second))) }
	for _, s := range []*Snapshot{
		{Shard: "0/1", Wall: at(1.0004), Point: report.Point{T: 1.0004, Open: 10, Target: 10, Events: 50}},
		{Shard: "0/1", Wall: at(2.0003), Point: report.Point{T: 2.0003, Open: 10, Target: 10, Events: 50}},
		{Shard: "0/1", Wall: at(2.25), Point: report.Point{T: 2.25, Open: 0, Target: 10, Events: 7, Teardown: true}},
	} {
		if err := m.add(s); err != nil {
			t.Fatal(err)
		}
	}
	if p := m.point(2); p == nil || p.Open != 10 || p.Events != 50 || p.Teardown {
		t.Fatalf("second 2: %+v, want the shard's last load second alone (open 10, 50 events)", p)
	}
	p := m.point(3)
	if p == nil || !p.Teardown || p.Events != 7 {
		t.Fatalf("second 3: %+v, want the teardown, marked", p)
	}
}

// The streams closing after the duration are the last point, marked
// teardown, in one process and merged from shards alike; every load
// second before it holds all the streams open (no collapse, no dip).
func TestTeardownMarkedInRunAndProcs(t *testing.T) {
	t.Parallel()
	url := serve(t)
	const streams = 20
	s := scenario(t, url+"/events?rate=20&topic=teardown", streams, 3*time.Second, func(s *scenarios.Scenario) {
		s.Reconnect.Policy = "never"
	})
	one, err := Run(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	merged, err := RunProcs(context.Background(), s, ProcOptions{Procs: 2, Command: []string{os.Args[0]}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, res := range map[string]*report.Result{"run": one, "procs": merged} {
		ts := res.Timeseries
		n := len(ts)
		if n < 3 || !ts[n-1].Teardown {
			t.Fatalf("%s: series %+v, want its last point marked teardown", name, ts)
		}
		for i, p := range ts[:n-1] {
			if p.Teardown {
				t.Fatalf("%s: point %d of %d marked teardown: %+v", name, i, n, p)
			}
			if i > 0 && p.Open != streams {
				t.Errorf("%s: second %d open %d, want %d (a dip)", name, i+1, p.Open, streams)
			}
		}
	}
}
