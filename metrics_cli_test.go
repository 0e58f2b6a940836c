package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ssebench/ssebench/fixtures/truth"
	"github.com/ssebench/ssebench/report"
)

// startPrometheus runs a real Prometheus (Debian's package, which test.sh
// installs) scraping target every second, with its data in a temporary
// directory; it returns the address of its HTTP API. A missing binary
// fails the test.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found (./test.sh installs it): %v", err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: ssebench\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready at %s after 20s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promQuery runs an instant query; it returns each series' labels and value.
func promQuery(t *testing.T, api, q string) []promSeries {
	t.Helper()
	resp, err := http.Get("http://" + api + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" {
		t.Fatalf("query %s: %s", q, body.Error)
	}
	var out []promSeries
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v", q, r.Value)
		}
		out = append(out, promSeries{r.Metric, v})
	}
	return out
}

type promSeries struct {
	labels map[string]string
	value  float64
}

// promValue is the one series' value of q (the test fails when there is
// not exactly one).
func promValue(t *testing.T, api, q string) float64 {
	t.Helper()
	s := promQuery(t, api, q)
	if len(s) != 1 {
		t.Fatalf("query %s: %d series, want 1: %v", q, len(s), s)
	}
	return s[0].value
}

// TestMetricsScrapedByPrometheus: a real Prometheus scrapes a short run's
// --metrics-addr every second; once the run is done, what Prometheus
// stored equals the run's result JSON (streams, events, ends: exactly),
// the delivery p99 it computes from the buckets is the result's within
// the buckets' resolution, and both agree with what the server wrote.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("a real Prometheus scraping a 6 s run (the full suite, ./test.sh, runs it)")
	}
	srv, base := startTruth(t, truth.Config{Period: 100 * time.Millisecond, Hold: 20 * time.Millisecond, Slow: 200 * time.Millisecond, SlowEvery: 10})
	maddr := freeAddr(t)
	api := startPrometheus(t, maddr)

	out := filepath.Join(t.TempDir(), "r.json")
	type ran struct {
		code   int
		stderr string
	}
	done := make(chan ran, 1)
	go func() {
		code, _, stderr := runCLI("run", "--url", base+"/events", "--connections", "20", "--ramp", "1s", "--duration", "6s",
			"--reconnect", "never", "--latency-field", "ts:unix_ns", "--metrics-addr", maddr, "--metrics-run", "prom-test",
			"--metrics-linger", "5s", "--quiet", "--out", out)
		done <- ran{code, stderr}
	}()

	// Live: while the run goes, Prometheus sees streams open.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sawOpen := false
	for !sawOpen && ctx.Err() == nil {
		if s := promQuery(t, api, `ssebench_streams_open{run="prom-test"}`); len(s) == 1 && s[0].value == 20 {
			sawOpen = true
			if s[0].labels["shard"] != "0/1" || s[0].labels["target"] != strings.TrimPrefix(base, "http://") {
				t.Errorf("labels %v: want shard 0/1 and target %s (host:port, no path)", s[0].labels, strings.TrimPrefix(base, "http://"))
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !sawOpen {
		t.Fatal("Prometheus never saw 20 streams open during the run")
	}
	// Final: the figures once the run says it is done.
	for ctx.Err() == nil {
		if s := promQuery(t, api, `ssebench_run_done{run="prom-test"} == 1`); len(s) == 1 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Fatal("Prometheus never saw the run done")
	}
	time.Sleep(1500 * time.Millisecond) // one more scrape, so every series' latest sample is final
	r := <-done
	if r.code != 0 {
		t.Fatalf("run exit %d: %s", r.code, r.stderr)
	}
	srv.Close()
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	rec := srv.Record()
	c := res.Counters
	for _, tc := range []struct {
		q    string
		want int64
	}{
		{`ssebench_events_total{run="prom-test"}`, c.Events},
		{`ssebench_streams_opened_total{run="prom-test"}`, c.StreamsOpened},
		{`ssebench_streams_failed_total{run="prom-test"}`, c.StreamsFailed},
		{`ssebench_bytes_total{run="prom-test"}`, c.Bytes},
		{`ssebench_reconnects_total{run="prom-test"}`, c.Reconnects},
		{`sum(ssebench_ends_total{run="prom-test"})`, sumEnds(c.Ends)},
		{`ssebench_delivery_seconds_count{run="prom-test"}`, res.Metrics[report.MetricDelivery].Count},
	} {
		if got := promValue(t, api, tc.q); got != float64(tc.want) {
			t.Errorf("%s = %v in Prometheus, %d in the result JSON", tc.q, got, tc.want)
		}
	}
	// The server's count: every event written well before the end was
	// received, and none that was not written (as TestTruthEventsInFlightAtEnd).
	settled := rec.WrittenBefore(res.Start.Add(6 * time.Second).Add(-400 * time.Millisecond))
	if c.Events < settled || c.Events > rec.Events || c.StreamsOpened != 20 {
		t.Errorf("result: %d events, %d streams; the server wrote %d events (%d of them 400ms before the end) to 20 streams", c.Events, c.StreamsOpened, rec.Events, settled)
	}
	for class, n := range c.Ends {
		if got := promValue(t, api, fmt.Sprintf(`ssebench_ends_total{run="prom-test",class=%q}`, class)); got != float64(n) {
			t.Errorf("ends %s: %v in Prometheus, %d in the result", class, got, n)
		}
	}
	p99 := promValue(t, api, `histogram_quantile(0.99, ssebench_delivery_seconds_bucket{run="prom-test"})`) * 1000
	want := res.Metrics[report.MetricDelivery].P99MS
	if ratio := p99 / want; math.IsNaN(ratio) || ratio < 0.75 || ratio > 1.3 {
		t.Errorf("delivery p99 from Prometheus's buckets %.1fms, the result's %.1fms: want within the 25%% bucket spacing", p99, want)
	}
	if truthP99 := ms(rec.DelayQuantile(0.99)); math.Abs(want-truthP99) > 2+0.02*truthP99 {
		t.Errorf("result delivery p99 %.1fms, the server held events %.1fms at p99", want, truthP99)
	}
}

func sumEnds(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// scrape reads http://addr/metrics with the ecosystem's parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// capacity --metrics-addr serves the search live and, when it is done,
// its final counts (here: a target that refuses every stream; the
// failures Prometheus would scrape are the steps' failures).
func TestCapacityMetricsAddr(t *testing.T) {
	t.Parallel()
	maddr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "cap.json")
	done := make(chan int, 1)
	go func() {
		code, _, _ := runCLI("capacity", "--url", "http://127.0.0.1:1/events", "--start", "3", "--max", "3", "--hold", "1s", "--ramp", "0s",
			"--metrics-addr", maddr, "--metrics-linger", "4s", "--out", out, "--html", "none", "--quiet")
		done <- code
	}()
	deadline := time.Now().Add(20 * time.Second)
	var fams map[string]*dto.MetricFamily
	for time.Now().Before(deadline) {
		if _, err := os.Stat(out); err == nil { // written before the linger
			fams = scrape(t, maddr)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := <-done; code != 3 {
		t.Fatalf("exit %d, want 3 (no answer)", code)
	}
	if fams == nil {
		t.Fatal("no result written")
	}
	r, err := report.ReadKind(out, report.CapacitySchema)
	if err != nil {
		t.Fatal(err)
	}
	var failed int64
	for _, st := range r.Capacity.Steps {
		failed += st.Counters.Failed
	}
	get := func(name string) float64 {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) != 1 {
			t.Fatalf("no single series %s", name)
		}
		m := f.GetMetric()[0]
		if m.Counter != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	if get("ssebench_run_done") != 1 || failed == 0 || get("ssebench_streams_failed_total") != float64(failed) {
		t.Errorf("scraped done %v, streams_failed %v; the steps failed %d", get("ssebench_run_done"), get("ssebench_streams_failed_total"), failed)
	}
}

// A bad --metrics-addr is bad input: one line naming it, exit 2, before
// any load is sent.
func TestMetricsAddrBadInput(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct{ addr, want string }{
		{"nope", `--metrics-addr "nope": want HOST:PORT`},
		{ln.Addr().String(), "--metrics-addr " + ln.Addr().String() + ": listen tcp"},
	} {
		code, _, stderr := runCLI("run", "--url", "http://127.0.0.1:1/events", "--duration", "1s", "--metrics-addr", tc.addr, "--quiet",
			"--out", filepath.Join(t.TempDir(), "r.json"))
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("--metrics-addr %s: exit %d, stderr %q; want 2 and one line containing %q", tc.addr, code, stderr, tc.want)
		}
	}
}
