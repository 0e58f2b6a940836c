// Package observe watches the server under test from outside: its process
// (/proc: memory, CPU, open files, threads) or its Prometheus text endpoint,
// sampled on a ticker. The capacity search uses it for the cost per stream.
package observe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/ssebench/ssebench/internal/procfs"
)

// ServerSample is one observation of the server under test.
type ServerSample struct {
	At         time.Time
	RSSBytes   int64              // resident memory; -1 when unknown
	CPUSeconds float64            // cumulative user+system CPU; -1 when unknown
	OpenFDs    int64              // -1 when unknown
	Threads    int64              // -1 when unknown
	Extra      map[string]float64 // runtime gauges when present (see promExtra), by metric name; nil for /proc
}

// Observer samples the server under test while load runs, so a capacity
// result can say what each stream costs the server. Implementations are
// safe for concurrent use.
type Observer interface {
	Sample(ctx context.Context) (ServerSample, error)
	Source() string // "pid 1234 (ssebench)" or the metrics URL
}

// Watch samples o immediately, then every `every` (1s when not positive),
// until ctx ends, handing each result to fn. Failed samples go to fn too:
// a server that stops answering mid-run is something to record, not a
// reason to stop watching. fn runs on Watch's goroutine; Watch returns
// when ctx ends.
func Watch(ctx context.Context, o Observer, every time.Duration, fn func(ServerSample, error)) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		s, err := o.Sample(ctx)
		if ctx.Err() != nil {
			// A sample cut short by the end of the run is not a server failure.
			return
		}
		fn(s, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ---- /proc observer ----

type procObserver struct {
	pid   int
	comm  string
	start uint64 // starttime in clock ticks since boot: tells a reused pid apart
}

var _ Observer = (*procObserver)(nil)

// NewProcObserver observes a local process through /proc (Linux).
func NewProcObserver(pid int) (Observer, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("server pid %d: not a process id", pid)
	}
	st, err := readProcStat(pid)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("server pid %d: no such process (/proc/%d does not exist)", pid, pid)
		}
		return nil, fmt.Errorf("server pid %d: %w", pid, err)
	}
	if st.exited() {
		return nil, fmt.Errorf("server pid %d (%s) has already exited", pid, st.comm)
	}
	return &procObserver{pid: pid, comm: st.comm, start: st.start}, nil
}

func (p *procObserver) Source() string { return fmt.Sprintf("pid %d (%s)", p.pid, p.comm) }

func (p *procObserver) Sample(ctx context.Context) (ServerSample, error) {
	if err := ctx.Err(); err != nil {
		return ServerSample{}, err
	}
	at := time.Now()
	st, err := readProcStat(p.pid)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return ServerSample{}, p.gone("")
		}
		return ServerSample{}, fmt.Errorf("%s: %w", p.Source(), err)
	}
	if st.start != p.start {
		return ServerSample{}, p.gone(fmt.Sprintf(" (pid now reused by %s)", st.comm))
	}
	if st.exited() {
		return ServerSample{}, p.gone("")
	}
	s := ServerSample{
		At:         at,
		RSSBytes:   st.rssPages * int64(os.Getpagesize()),
		CPUSeconds: float64(st.utime+st.stime) / float64(clockTicks()),
		OpenFDs:    -1,
		Threads:    st.threads,
	}
	// status has the same figures in kB; prefer it when readable because
	// VmRSS is what users see in top and ps.
	if b, err := procfs.Status(p.pid); err == nil {
		if kb, ok := procfs.Field(b, "VmRSS:"); ok {
			s.RSSBytes = kb * 1024
		}
		if n, ok := procfs.Field(b, "Threads:"); ok {
			s.Threads = n
		}
	}
	n, err := countFDs(p.pid)
	switch {
	case err == nil:
		s.OpenFDs = n
	case errors.Is(err, fs.ErrNotExist):
		return ServerSample{}, p.gone("")
	case errors.Is(err, fs.ErrPermission):
		// Another user's process: the rest is still worth having.
	default:
		return ServerSample{}, fmt.Errorf("%s: %w", p.Source(), err)
	}
	return s, nil
}

func (p *procObserver) gone(why string) error {
	return fmt.Errorf("server process %d (%s) has exited%s", p.pid, p.comm, why)
}

// procStat is what the observer needs from /proc/PID/stat.
type procStat struct {
	comm         string
	state        byte
	utime, stime uint64 // clock ticks
	threads      int64
	start        uint64
	rssPages     int64
}

func (s procStat) exited() bool { return s.state == 'Z' || s.state == 'X' || s.state == 'x' }

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// parseProcStat reads proc(5) stat. The command name sits in parentheses
// and may itself contain spaces and parentheses, so the numeric fields are
// counted from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("malformed stat line %q", truncate(string(b), 80))
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state): field n of proc(5) is f[n-3].
	if len(f) < 22 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("malformed stat line %q", truncate(string(b), 80))
	}
	var st procStat
	st.comm = string(b[open+1 : end])
	st.state = f[0][0]
	nums := []struct {
		field int
		dst   *uint64
	}{{14, &st.utime}, {15, &st.stime}, {22, &st.start}}
	for _, n := range nums {
		v, err := strconv.ParseUint(f[n.field-3], 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("stat field %d: %w", n.field, err)
		}
		*n.dst = v
	}
	var err error
	if st.threads, err = strconv.ParseInt(f[20-3], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("stat field 20: %w", err)
	}
	if st.rssPages, err = strconv.ParseInt(f[24-3], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("stat field 24: %w", err)
	}
	return st, nil
}

// countFDs counts entries of /proc/PID/fd in batches, so a server with a
// hundred thousand sockets costs no more than a bounded slice per call.
func countFDs(pid int) (int64, error) {
	d, err := os.Open(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	defer d.Close()
	var n int64
	for {
		names, err := d.Readdirnames(1024)
		n += int64(len(names))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

var clockTicks = sync.OnceValue(func() int64 {
	// USER_HZ is 100 on every architecture Go supports on Linux, but the
	// kernel states it in the auxiliary vector (AT_CLKTCK), so believe that.
	const atClkTck = 17
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	w := int(unsafe.Sizeof(uintptr(0)))
	for i := 0; i+2*w <= len(b); i += 2 * w {
		var k, v uint64
		if w == 8 {
			k, v = binary.NativeEndian.Uint64(b[i:]), binary.NativeEndian.Uint64(b[i+w:])
		} else {
			k, v = uint64(binary.NativeEndian.Uint32(b[i:])), uint64(binary.NativeEndian.Uint32(b[i+w:]))
		}
		if k == atClkTck && v > 0 && v < 1e6 {
			return int64(v)
		}
		if k == 0 {
			break
		}
	}
	return 100
})

// ---- Prometheus observer ----

const (
	promTimeout  = 5 * time.Second
	promMaxBody  = 16 << 20
	promAccept   = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
	promRSS      = "process_resident_memory_bytes"
	promCPU      = "process_cpu_seconds_total"
	promFDs      = "process_open_fds"
	promThreads  = "process_threads" // some non-Go clients (Rust, .NET) export it
	promGoThread = "go_threads"
)

// promExtra are the runtime gauges copied into ServerSample.Extra when the
// endpoint exports them: Go (client_golang) and Node (prom-client) defaults.
var promExtra = []string{
	"go_goroutines",
	"go_threads",
	"go_memstats_heap_inuse_bytes",
	"go_memstats_heap_alloc_bytes",
	"go_memstats_sys_bytes",
	"nodejs_heap_size_used_bytes",
	"nodejs_heap_size_total_bytes",
	"nodejs_active_handles_total",
	"nodejs_active_handles",
	"nodejs_eventloop_lag_seconds",
	"nodejs_eventloop_lag_p99_seconds",
}

type promObserver struct {
	url    string
	client *http.Client
}

var _ Observer = (*promObserver)(nil)

// NewPromObserver scrapes a Prometheus endpoint (OpenMetrics or the text
// format 0.0.4) for the standard process_* metrics and Go/Node runtime
// gauges.
func NewPromObserver(url string) Observer {
	return &promObserver{url: url, client: &http.Client{Timeout: promTimeout}}
}

func (p *promObserver) Source() string { return p.url }

func (p *promObserver) Sample(ctx context.Context) (ServerSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return ServerSample{}, fmt.Errorf("server metrics %q: %w", p.url, err)
	}
	req.Header.Set("Accept", promAccept)
	resp, err := p.client.Do(req)
	if err != nil {
		return ServerSample{}, fmt.Errorf("scrape %s: %w", p.url, err)
	}
	defer resp.Body.Close()
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(resp.Body, promMaxBody+1))
	if resp.StatusCode != http.StatusOK {
		return ServerSample{}, fmt.Errorf("scrape %s: HTTP %s", p.url, resp.Status)
	}
	if err != nil {
		return ServerSample{}, fmt.Errorf("scrape %s: reading body: %w", p.url, err)
	}
	if len(body) > promMaxBody {
		return ServerSample{}, fmt.Errorf("scrape %s: body over %d MiB: is this a Prometheus endpoint?", p.url, promMaxBody>>20)
	}
	samples, err := ParseProm(bytes.NewReader(body), expfmt.ResponseFormat(resp.Header))
	if err != nil {
		return ServerSample{}, fmt.Errorf("scrape %s (%s): %w: is this a Prometheus endpoint?", p.url, contentType(resp), err)
	}
	s, found := promServerSample(samples)
	if !found {
		return ServerSample{}, fmt.Errorf("no %s, %s or %s in %s: is this a Prometheus endpoint?", promRSS, promCPU, promFDs, p.url)
	}
	s.At = at
	return s, nil
}

func contentType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return "Content-Type " + ct
	}
	return "no Content-Type"
}

// promServerSample maps parsed samples onto a ServerSample. Series of one
// name with different labels are summed (nodejs_active_handles is split by
// handle type); a single-process endpoint has one series per process_*
// name. found is false when none of the standard process metrics is there.
func promServerSample(samples []PromSample) (s ServerSample, found bool) {
	sums := make(map[string]float64)
	for _, ps := range samples {
		sums[ps.Name] += ps.Value
	}
	get := func(name string) (float64, bool) {
		v, ok := sums[name]
		return v, ok && !math.IsNaN(v)
	}
	s = ServerSample{RSSBytes: -1, CPUSeconds: -1, OpenFDs: -1, Threads: -1}
	if v, ok := get(promRSS); ok {
		s.RSSBytes, found = int64(v), true
	}
	if v, ok := get(promCPU); ok {
		s.CPUSeconds, found = v, true
	}
	if v, ok := get(promFDs); ok {
		s.OpenFDs, found = int64(v), true
	}
	if v, ok := get(promThreads); ok {
		s.Threads = int64(v)
	} else if v, ok := get(promGoThread); ok {
		s.Threads = int64(v)
	}
	for _, name := range promExtra {
		if v, ok := sums[name]; ok {
			if s.Extra == nil {
				s.Extra = make(map[string]float64)
			}
			s.Extra[name] = v
		}
	}
	return s, found
}

// PromSample is one sample of the Prometheus text format. Histogram and
// summary series appear as their plain samples (name_bucket with an "le"
// label, name with a "quantile" label, name_sum, name_count).
type PromSample struct {
	Name   string
	Labels map[string]string // nil when the sample has none
	Value  float64
}

// ParseProm parses a scrape in format (from the response's Content-Type:
// text 0.0.4, OpenMetrics 1.0 or protobuf; unknown is read as text) with
// the ecosystem's own parser, github.com/prometheus/common/expfmt, into
// plain samples, families in name order. A malformed scrape fails the
// whole parse, naming the line where the text formats say.
func ParseProm(r io.Reader, format expfmt.Format) ([]PromSample, error) {
	dec := expfmt.NewDecoder(r, format)
	families := map[string]*dto.MetricFamily{}
	for {
		mf := &dto.MetricFamily{}
		err := dec.Decode(mf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errors.New(strings.TrimPrefix(err.Error(), "text format parsing error in "))
		}
		if prev, ok := families[mf.GetName()]; ok {
			prev.Metric = append(prev.Metric, mf.Metric...)
			continue
		}
		families[mf.GetName()] = mf
	}
	var out []PromSample
	for _, name := range slices.Sorted(maps.Keys(families)) {
		for _, m := range families[name].GetMetric() {
			out = appendSamples(out, name, m)
		}
	}
	return out, nil
}

// appendSamples flattens one metric of family name into its samples.
func appendSamples(out []PromSample, name string, m *dto.Metric) []PromSample {
	labels := func(extra ...string) map[string]string {
		if len(m.GetLabel()) == 0 && len(extra) == 0 {
			return nil
		}
		l := make(map[string]string, len(m.GetLabel())+1)
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		if len(extra) == 2 {
			l[extra[0]] = extra[1]
		}
		return l
	}
	add := func(n string, v float64, extra ...string) {
		out = append(out, PromSample{Name: n, Labels: labels(extra...), Value: v})
	}
	switch {
	case m.Counter != nil:
		add(name, m.GetCounter().GetValue())
	case m.Gauge != nil:
		add(name, m.GetGauge().GetValue())
	case m.Untyped != nil:
		add(name, m.GetUntyped().GetValue())
	case m.Summary != nil:
		sm := m.GetSummary()
		for _, q := range sm.GetQuantile() {
			add(name, q.GetValue(), "quantile", formatPromFloat(q.GetQuantile()))
		}
		add(name+"_sum", sm.GetSampleSum())
		add(name+"_count", float64(sm.GetSampleCount()))
	case m.Histogram != nil:
		h := m.GetHistogram()
		for _, b := range h.GetBucket() {
			add(name+"_bucket", float64(b.GetCumulativeCount()), "le", formatPromFloat(b.GetUpperBound()))
		}
		add(name+"_sum", h.GetSampleSum())
		add(name+"_count", float64(h.GetSampleCount()))
	}
	return out
}

// formatPromFloat writes an "le" or "quantile" value the way exporters
// do: "+Inf", "0.005", "1".
func formatPromFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// truncate cuts s to n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
