package observe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// observeChildEnv makes the test binary a process for the /proc observer
// to watch.
const observeChildEnv = "SSEBENCH_OBSERVE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(observeChildEnv) == "1" {
		os.Exit(observeChild())
	}
	os.Exit(m.Run())
}

const (
	childMem   = 64 << 20
	childFiles = 50
)

// observeChild holds 64 MiB of touched memory and 50 extra open files and
// burns CPU until its stdin closes.
func observeChild() int {
	mem := make([]byte, childMem)
	for i := 0; i < len(mem); i += 1024 {
		mem[i] = byte(i) | 1 // written, so every page is resident
	}
	var files []*os.File
	for range childFiles {
		f, err := os.Open(os.DevNull)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		files = append(files, f)
	}
	var stop atomic.Bool
	go func() {
		x := 0
		for !stop.Load() {
			for range 1000 {
				x++
			}
		}
		_ = x
	}()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop.Store(true)
	runtime.KeepAlive(mem)
	runtime.KeepAlive(files)
	return 0
}

func TestProcObserverChild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("the /proc observer needs Linux, this is %s", runtime.GOOS)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), observeChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			t.Fatalf("child said %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("child not ready after 20s")
	}
	pid := cmd.Process.Pid

	o, err := NewProcObserver(pid)
	if err != nil {
		t.Fatal(err)
	}
	comm := filepath.Base(os.Args[0])
	if len(comm) > 15 { // TASK_COMM_LEN - 1
		comm = comm[:15]
	}
	if want := fmt.Sprintf("pid %d (%s)", pid, comm); o.Source() != want {
		t.Errorf("Source() = %q, want %q", o.Source(), want)
	}
	ctx := context.Background()
	first, err := o.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first sample: RSS %d MiB, CPU %.2fs, %d fds, %d threads", first.RSSBytes>>20, first.CPUSeconds, first.OpenFDs, first.Threads)
	if first.RSSBytes < childMem || first.RSSBytes > 1<<30 {
		t.Errorf("RSS %d bytes, want at least the child's %d touched bytes (and under 1 GiB)", first.RSSBytes, childMem)
	}
	if first.OpenFDs < childFiles+3 || first.OpenFDs > 1000 {
		t.Errorf("open fds %d, want at least %d files + stdio", first.OpenFDs, childFiles)
	}
	if first.Threads < 2 || first.Threads > 1000 { // a Go program has a few threads, one burning
		t.Errorf("threads %d", first.Threads)
	}
	if first.CPUSeconds < 0 || first.At.IsZero() || first.Extra != nil {
		t.Errorf("sample %+v", first)
	}
	// The child burns CPU on a busy machine: wait, bounded, for a tick.
	var later ServerSample
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		if later, err = o.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		if later.CPUSeconds > first.CPUSeconds || time.Now().After(deadline) {
			break
		}
	}
	if later.CPUSeconds <= first.CPUSeconds {
		t.Fatalf("CPU stayed at %.2fs while the child burned it", later.CPUSeconds)
	}
	if wall := later.At.Sub(first.At).Seconds(); later.CPUSeconds-first.CPUSeconds > wall*float64(runtime.NumCPU())+0.05 {
		t.Errorf("CPU grew %.2fs in %.2fs of wall time on %d cores", later.CPUSeconds-first.CPUSeconds, wall, runtime.NumCPU())
	}

	// End the child. Until it is reaped it is a zombie, which is exited too.
	_ = stdin.Close()
	var exitErr error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, exitErr = o.Sample(ctx); exitErr != nil {
			break
		}
	}
	if exitErr == nil || !strings.Contains(exitErr.Error(), "has exited") {
		t.Fatalf("after the child exited (not reaped): %v", exitErr)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	reaped = true
	if _, err := o.Sample(ctx); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("server process %d (%s) has exited", pid, comm)) {
		t.Fatalf("after the child was reaped: %v", err)
	}
	if _, err := NewProcObserver(pid); err == nil || !strings.Contains(err.Error(), "no such process") {
		t.Fatalf("NewProcObserver of a reaped pid: %v", err)
	}
}

func TestProcObserverBadPID(t *testing.T) {
	t.Parallel()
	for _, pid := range []int{0, -5, 1 << 30} { // 1<<30 is above the largest pid_max
		_, err := NewProcObserver(pid)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("pid %d: %v", pid, err)
		}
	}
	_, err := NewProcObserver(1 << 30)
	if want := fmt.Sprintf("/proc/%d does not exist", 1<<30); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err %v, want it to say %q", err, want)
	}
}

// TestProcObserverSelf checks the /proc figures against what the Go
// runtime and getrusage say about this very process.
func TestProcObserverSelf(t *testing.T) {
	o, err := NewProcObserver(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	before := processCPU()
	s, err := o.Sample(context.Background())
	after := processCPU()
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts in clock ticks (10ms): allow one tick plus rounding.
	if s.CPUSeconds < before.Seconds()-0.02 || s.CPUSeconds > after.Seconds()+0.02 {
		t.Errorf("CPU %.3fs, getrusage says %.3fs..%.3fs", s.CPUSeconds, before.Seconds(), after.Seconds())
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s2, err := o.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenFDs < 3 || s2.OpenFDs < 4 {
		t.Errorf("open fds %d then %d", s.OpenFDs, s2.OpenFDs)
	}
	if s.Threads < 1 || s.RSSBytes <= 0 {
		t.Errorf("sample %+v", s)
	}
}

func TestParseProcStatOddComm(t *testing.T) {
	t.Parallel()
	// Fields 3..52 after a command name with spaces and parentheses.
	rest := make([]string, 50)
	for i := range rest {
		rest[i] = fmt.Sprint(i + 3)
	}
	rest[0] = "S"
	rest[14-3], rest[15-3], rest[20-3], rest[22-3], rest[24-3] = "250", "50", "7", "987654", "4096"
	line := "4242 (my (odd) ) name) " + strings.Join(rest, " ") + "\n"
	st, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "my (odd) ) name" || st.state != 'S' || st.utime != 250 || st.stime != 50 ||
		st.threads != 7 || st.start != 987654 || st.rssPages != 4096 {
		t.Errorf("parsed %+v", st)
	}
	for _, bad := range []string{"", "4242 no parens", "4242 (x) S 1 2", "4242 (x) " + strings.Repeat("y ", 30)} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if clockTicks() != 100 {
		t.Errorf("AT_CLKTCK %d, Linux USER_HZ is 100", clockTicks())
	}
}

func readProm(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "prom", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseProm(t *testing.T, name string) []PromSample {
	t.Helper()
	samples, err := ParsePromText(strings.NewReader(string(readProm(t, name))))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return samples
}

// findProm returns the value of the sample with this name and exactly
// these labels (given as k, v pairs).
func findProm(t *testing.T, samples []PromSample, name string, kv ...string) float64 {
	t.Helper()
	want := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		want[kv[i]] = kv[i+1]
	}
	for _, s := range samples {
		if s.Name != name || len(s.Labels) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			if got, ok := s.Labels[k]; !ok || got != v {
				match = false
			}
		}
		if match {
			return s.Value
		}
	}
	t.Fatalf("no sample %s%v", name, want)
	return 0
}

func TestParsePromTextGoClient(t *testing.T) {
	t.Parallel()
	s := parseProm(t, "go_client_golang.prom")
	if len(s) != 48 {
		t.Errorf("%d samples, the capture has 48", len(s))
	}
	checks := []struct {
		name string
		kv   []string
		want float64
	}{
		{"go_gc_duration_seconds", []string{"quantile", "0"}, 2.0251e-05},
		{"go_gc_duration_seconds", []string{"quantile", "0.75"}, 0.00014085},
		{"go_gc_duration_seconds", []string{"quantile", "1"}, 0.000184994},
		{"go_gc_duration_seconds_sum", nil, 0.000442078},
		{"go_gc_duration_seconds_count", nil, 7},
		{"go_gc_gomemlimit_bytes", nil, 9.223372036854776e+18},
		{"go_goroutines", nil, 9},
		{"go_info", []string{"version", "go1.26.8"}, 1},
		{"go_memstats_heap_inuse_bytes", nil, 44761088},
		{"go_memstats_sys_bytes", nil, 55216408},
		{"go_threads", nil, 7},
		{"process_cpu_seconds_total", nil, 1.51},
		{"process_open_fds", nil, 12},
		{"process_resident_memory_bytes", nil, 13230080},
		{"process_virtual_memory_max_bytes", nil, 1.8446744073709552e+19},
		{"promhttp_metric_handler_requests_total", []string{"code", "200"}, 2},
		{"promhttp_metric_handler_requests_total", []string{"code", "503"}, 0},
	}
	for _, c := range checks {
		if got := findProm(t, s, c.name, c.kv...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.kv, got, c.want)
		}
	}
	if s[0].Name != "go_gc_duration_seconds" || s[len(s)-1].Name != "promhttp_metric_handler_requests_total" {
		t.Errorf("order: first %s, last %s", s[0].Name, s[len(s)-1].Name)
	}
}

func TestParsePromTextNodeClient(t *testing.T) {
	t.Parallel()
	s := parseProm(t, "node_prom_client.prom")
	if len(s) != 75 {
		t.Errorf("%d samples, the capture has 75", len(s))
	}
	checks := []struct {
		name string
		kv   []string
		want float64
	}{
		{"process_cpu_seconds_total", nil, 0.89905},
		{"process_resident_memory_bytes", nil, 61132800},
		{"process_open_fds", nil, 23},
		{"nodejs_eventloop_lag_seconds", nil, 0},
		{"nodejs_eventloop_lag_p99_seconds", nil, 0.022904831},
		{"nodejs_active_handles", []string{"type", "Socket"}, 1},
		{"nodejs_active_handles_total", nil, 2},
		{"nodejs_heap_size_used_bytes", nil, 7927376},
		{"nodejs_heap_space_size_used_bytes", []string{"space", "new_large_object"}, 0},
		{"nodejs_version_info", []string{"version", "v20.20.2", "major", "20", "minor", "20", "patch", "2"}, 1},
		{"nodejs_gc_duration_seconds_bucket", []string{"le", "0.01", "kind", "major"}, 32},
		{"nodejs_gc_duration_seconds_bucket", []string{"le", "+Inf", "kind", "major"}, 48},
		{"nodejs_gc_duration_seconds_sum", []string{"kind", "major"}, 0.43076737300027174},
	}
	for _, c := range checks {
		if got := findProm(t, s, c.name, c.kv...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.kv, got, c.want)
		}
	}
}

func TestParsePromTextTricky(t *testing.T) {
	t.Parallel()
	s := parseProm(t, "tricky.prom")
	if len(s) != 21 {
		t.Errorf("%d samples, want 21", len(s))
	}
	if got := findProm(t, s, "tricky_escapes", "path", `C:\Program Files\ssebench`, "quote", `say "hi"`, "multi", "line1\nline2"); got != 1 {
		t.Errorf("escapes = %v", got)
	}
	if got := findProm(t, s, "tricky_escapes", "empty", "", "brace", "}{,= #"); got != 2 {
		t.Errorf("empty/brace = %v", got)
	}
	if got := findProm(t, s, "tricky_special", "kind", "nan"); !math.IsNaN(got) {
		t.Errorf("NaN = %v", got)
	}
	checks := []struct {
		name string
		kv   []string
		want float64
	}{
		{"tricky_special", []string{"kind", "pinf"}, math.Inf(1)},
		{"tricky_special", []string{"kind", "ninf"}, math.Inf(-1)},
		{"tricky_special", []string{"kind", "small"}, 1.5e-7},
		{"tricky_special", []string{"kind", "EXP"}, -2500},
		{"tricky_special", []string{"kind", "plus"}, 42},
		{"tricky_special", []string{"kind", "huge"}, 1.8446744073709552e+19},
		{"tricky:rule_ratio", nil, 0.25},
		{"tricky_negative_ts", []string{"a", "b"}, 7.5},
		{"tricky_trailing_comma", []string{"a", "x", "b", "y"}, 8},
		{"tricky_blanks", []string{"a", "x", "b", "y"}, 9},
		{"tricky_no_labels", nil, 10},
		{"tricky_histogram_bucket", []string{"le", "0.005"}, 0},
		{"tricky_histogram_bucket", []string{"le", "+Inf"}, 3},
		{"tricky_histogram_sum", nil, 0.75},
		{"tricky_histogram_count", nil, 3},
	}
	for _, c := range checks {
		if got := findProm(t, s, c.name, c.kv...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.kv, got, c.want)
		}
	}
	for _, ps := range s {
		if ps.Name == "tricky_no_labels" && ps.Labels != nil {
			t.Errorf("{} gave labels %v", ps.Labels)
		}
	}
}

func TestParsePromTextMalformed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, text, want string
	}{
		// The messages are expfmt's (the parser Prometheus itself uses);
		// each names the line.
		{"html", "<!DOCTYPE html>\n<html></html>\n", "line 1: invalid metric name"},
		{"json", `{"status":"ok"}`, "line 1: unexpected end of metric name"},
		{"digit first", "ok 1\n1bad 2\n", "line 2: invalid metric name"},
		{"missing value", "# TYPE m gauge\nm\n", `line 2: expected float as value, got ""`},
		{"not a number", "m abc\n", `line 1: expected float as value, got "abc"`},
		{"hex", "m 0x10\n", `line 1: expected float as value, got "0x10"`},
		{"bad timestamp", "m 1 1.5\n", `line 1: expected integer as timestamp, got "1.5"`},
		{"extra token", "\n\nm 1 2 3\n", `line 3: spurious string after timestamp`},
		{"trailing blanks", "m 1 2  \n", `line 1: spurious string after timestamp`},
		{"unclosed value", `m{a="x} 1`, `line 1: unexpected end of input stream`},
		{"unclosed labels", `m{a="x"`, "line 1: unexpected end of input stream"},
		{"bad escape", `m{a="\t"} 1`, `line 1: invalid escape sequence '\t'`},
		{"duplicate label", `m{a="1",a="2"} 1`, `line 1: duplicate label names for metric "m"`},
		{"no equals", `m{a} 1`, "line 1: expected '=' after label name"},
		{"unquoted", `m{a=1} 1`, `line 1: expected '"' at start of label value`},
		{"glued value", `m{a="1"}1`, "line 1: unexpected end of input stream"},
		{"bad type", "# TYPE m flavour\n", `line 1: unknown metric type "flavour"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParsePromText(strings.NewReader(c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, %v; want an error containing %q", s, err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	if s, err := ParsePromText(strings.NewReader("")); err != nil || len(s) != 0 {
		t.Errorf("empty input: %v, %v", s, err)
	}
}

// promServer serves files from testdata/prom at /<name> and records the
// Accept header of the last scrape.
func promServer(t *testing.T) (*httptest.Server, *atomic.Value) {
	t.Helper()
	var accept atomic.Value
	accept.Store("")
	mux := http.NewServeMux()
	for _, name := range []string{"go_client_golang.prom", "node_prom_client.prom", "tricky.prom"} {
		body := readProm(t, name)
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) {
			accept.Store(r.Header.Get("Accept"))
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = w.Write(body)
		})
	}
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!DOCTYPE html>\n<html><body>Welcome</body></html>\n")
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/runtime-only", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "# TYPE go_goroutines gauge\ngo_goroutines 12\n")
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		line := []byte("# " + strings.Repeat("x", 1021) + "\n")
		for i := 0; i < 17<<10; i++ {
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &accept
}

func TestPromObserverGo(t *testing.T) {
	t.Parallel()
	srv, accept := promServer(t)
	url := srv.URL + "/go_client_golang.prom"
	o := NewPromObserver(url)
	if o.Source() != url {
		t.Errorf("Source() = %q", o.Source())
	}
	before := time.Now()
	s, err := o.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := accept.Load().(string); got != promAccept || !strings.Contains(got, "application/openmetrics-text") || !strings.Contains(got, "text/plain;version=0.0.4") {
		t.Errorf("Accept %q", got)
	}
	if s.RSSBytes != 13230080 || s.CPUSeconds != 1.51 || s.OpenFDs != 12 || s.Threads != 7 {
		t.Errorf("sample %+v", s)
	}
	if s.At.Before(before) || s.At.After(time.Now()) {
		t.Errorf("At %v", s.At)
	}
	want := map[string]float64{
		"go_goroutines":                9,
		"go_threads":                   7,
		"go_memstats_heap_inuse_bytes": 44761088,
		"go_memstats_heap_alloc_bytes": 43313168,
		"go_memstats_sys_bytes":        55216408,
	}
	if fmt.Sprint(s.Extra) != fmt.Sprint(want) {
		t.Errorf("Extra %v, want %v", s.Extra, want)
	}
}

func TestPromObserverNode(t *testing.T) {
	t.Parallel()
	srv, _ := promServer(t)
	s, err := NewPromObserver(srv.URL + "/node_prom_client.prom").Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSBytes != 61132800 || s.CPUSeconds != 0.89905 || s.OpenFDs != 23 || s.Threads != -1 {
		t.Errorf("sample %+v", s)
	}
	want := map[string]float64{
		"nodejs_heap_size_used_bytes":      7927376,
		"nodejs_heap_size_total_bytes":     42332160,
		"nodejs_active_handles_total":      2,
		"nodejs_active_handles":            2, // Server 1 + Socket 1
		"nodejs_eventloop_lag_seconds":     0,
		"nodejs_eventloop_lag_p99_seconds": 0.022904831,
	}
	if fmt.Sprint(s.Extra) != fmt.Sprint(want) {
		t.Errorf("Extra %v, want %v", s.Extra, want)
	}
}

func TestPromObserverPartial(t *testing.T) {
	t.Parallel()
	srv, _ := promServer(t)
	// tricky.prom has RSS, CPU with a timestamp and fds in exponent form,
	// but no threads and no runtime gauges.
	s, err := NewPromObserver(srv.URL + "/tricky.prom").Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSBytes != 25e6 || s.CPUSeconds != 12.34 || s.OpenFDs != 1000 || s.Threads != -1 || s.Extra != nil {
		t.Errorf("sample %+v", s)
	}
}

func TestPromObserverErrors(t *testing.T) {
	t.Parallel()
	srv, _ := promServer(t)
	cases := []struct {
		path string
		want []string
	}{
		{"/nothing-here", []string{"HTTP 404 Not Found", srv.URL + "/nothing-here"}},
		{"/html", []string{"line 1: invalid metric name", "Content-Type text/html", "is this a Prometheus endpoint?"}},
		{"/empty", []string{"no process_resident_memory_bytes, process_cpu_seconds_total or process_open_fds in " + srv.URL + "/empty: is this a Prometheus endpoint?"}},
		{"/runtime-only", []string{"no process_resident_memory_bytes"}},
		{"/huge", []string{"body over 16 MiB"}},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			t.Parallel()
			_, err := NewPromObserver(srv.URL + c.path).Sample(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := NewPromObserver(srv.URL + "/hang").Sample(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 4*time.Second {
			t.Errorf("after %v: %v", time.Since(start), err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		_, err := NewPromObserver(url).Sample(context.Background())
		if err == nil || !strings.Contains(err.Error(), "scrape "+url) {
			t.Errorf("err %v", err)
		}
	})
}

// fakeObserver counts samples and fails every other one.
type fakeObserver struct {
	mu sync.Mutex
	n  int
}

func (f *fakeObserver) Source() string { return "fake" }

func (f *fakeObserver) Sample(ctx context.Context) (ServerSample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n%2 == 0 {
		return ServerSample{}, fmt.Errorf("sample %d failed", f.n)
	}
	return ServerSample{At: time.Now(), RSSBytes: int64(f.n)}, nil
}

func TestWatchSamplesImmediately(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan ServerSample, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watch(ctx, &fakeObserver{}, time.Hour, func(s ServerSample, err error) { got <- s })
	}()
	select {
	case s := <-got:
		if s.RSSBytes != 1 {
			t.Errorf("first sample %+v", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no sample before the first tick")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
	if len(got) != 0 {
		t.Errorf("%d more samples with an hour between them", len(got))
	}
}

func TestWatchEvery(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var calls, failures int
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		Watch(ctx, &fakeObserver{}, 50*time.Millisecond, func(s ServerSample, err error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if err != nil {
				failures++
			}
		})
	}()
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
	elapsed := time.Since(start)
	mu.Lock()
	n, f := calls, failures
	mu.Unlock()
	// About elapsed/50ms + 1 calls; a busy machine delays ticks (and the
	// ticker drops missed ones), so only bound it generously.
	if maxCalls := int(elapsed/(50*time.Millisecond)) + 2; n < 4 || n > maxCalls {
		t.Errorf("%d samples in %v every 50ms", n, elapsed)
	}
	if f != n/2 {
		t.Errorf("%d failures handed on of %d samples, the observer failed every other one", f, n)
	}
	time.Sleep(120 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if calls != n {
		t.Errorf("samples after Watch returned: %d then %d", n, calls)
	}
}

// TestWatchProm runs Watch over a real scrape endpoint.
func TestWatchProm(t *testing.T) {
	t.Parallel()
	srv, _ := promServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var samples []ServerSample
	Watch(ctx, NewPromObserver(srv.URL+"/go_client_golang.prom"), 20*time.Millisecond, func(s ServerSample, err error) {
		if err != nil {
			t.Error(err)
		}
		samples = append(samples, s)
		if len(samples) == 3 {
			cancel()
		}
	})
	if len(samples) != 3 {
		t.Fatalf("%d samples", len(samples))
	}
	for i, s := range samples {
		if s.RSSBytes != 13230080 || i > 0 && !s.At.After(samples[i-1].At) {
			t.Errorf("sample %d: %+v", i, s)
		}
	}
}

// FuzzParsePromText feeds the parser server bytes: it must not panic, and
// what it accepts must be well-formed samples.
func FuzzParsePromText(f *testing.F) {
	for _, name := range []string{"go_client_golang.prom", "node_prom_client.prom", "tricky.prom"} {
		b, err := os.ReadFile(filepath.Join("testdata", "prom", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("m{a=\"\\\\\\n\\\"\"} -Inf 1\n")
	f.Fuzz(func(t *testing.T, text string) {
		samples, err := ParsePromText(strings.NewReader(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Errorf("error without a line number: %v", err)
			}
			return
		}
		for _, s := range samples {
			if s.Name == "" || strings.ContainsAny(s.Name, " \t{}\"#\n") {
				t.Errorf("accepted name %q", s.Name)
			}
			for k := range s.Labels {
				if k == "" || strings.ContainsAny(k, " \t{}\"=,\n") {
					t.Errorf("accepted label name %q", k)
				}
			}
		}
	})
}

// processCPU is user plus system CPU time of this process, from getrusage:
// the reference the /proc figures are held to.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
