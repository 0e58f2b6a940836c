package main

// Truth tests: ssebench run, as a user runs it, against the truth server
// (fixtures/truth), which injects known behaviour and records what it did.
// Every figure is held to the server's own record.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssebench/ssebench/fixtures/truth"
	"github.com/ssebench/ssebench/report"
)

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// streams scales a stream count: n normally, fewer with -short or -race
// (never fewer than lo).
func streams(n, short, race int) int {
	switch {
	case testing.Short():
		return short
	case raceEnabled():
		return race
	}
	return n
}

// startTruth starts a truth server on loopback for the test.
func startTruth(t *testing.T, cfg truth.Config) (*truth.Server, string) {
	t.Helper()
	srv, err := truth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, base
}

// truthRun is one ssebench run and what it wrote.
type truthRun struct {
	code   int
	stderr string
	res    *report.Result
	raw    map[string]any // the result JSON as read, for counters newer than report.Result
}

// counter reads counters.NAME from the raw result; ok is false when the
// result has no such counter.
func (r truthRun) counter(name string) (int64, bool) {
	c, _ := r.raw["counters"].(map[string]any)
	v, ok := c[name].(float64)
	return int64(v), ok
}

// runSSEBench runs `ssebench run ARGS --quiet --out FILE` in process and
// reads the result back.
func runSSEBench(t *testing.T, args ...string) truthRun {
	t.Helper()
	out := filepath.Join(t.TempDir(), "result.json")
	code, _, errs := runCLI(append(append([]string{"run"}, args...), "--quiet", "--out", out)...)
	return readTruthRun(t, code, errs, out)
}

func readTruthRun(t *testing.T, code int, errs, out string) truthRun {
	t.Helper()
	res, err := report.ReadResult(out)
	if err != nil {
		t.Fatalf("exit %d, no result: %v\n%s", code, err, errs)
	}
	b, _ := os.ReadFile(out)
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return truthRun{code: code, stderr: errs, res: res, raw: raw}
}

// runFor is how long a case runs: normal, or short with -short.
func runFor(normal, short string) string {
	if testing.Short() {
		return short
	}
	return normal
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// near reports whether got (ms) is within 2 ms + 2% of want.
func near(got float64, want time.Duration) bool {
	w := ms(want)
	return math.Abs(got-w) <= 2+0.02*w
}

func n(i int) string { return fmt.Sprint(i) }

// TestTruthDeliveryPercentiles: 98% of events held 20 ms and 2% held 300 ms
// must come out as delivery p50 ≈ 20 ms and p99 ≈ 300 ms.
func TestTruthDeliveryPercentiles(t *testing.T) {
	cfg := truth.Config{Period: 500 * time.Millisecond, Hold: 20 * time.Millisecond, Slow: 300 * time.Millisecond, SlowEvery: 50}
	srv, base := startTruth(t, cfg)
	c := streams(1000, 200, 500)
	r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "500ms", "--duration", runFor("5s", "2500ms"),
		"--reconnect", "never", "--latency-field", "ts:unix_ns")
	srv.Close()
	rec := srv.Record()
	p50, p99 := rec.DelayQuantile(0.50), rec.DelayQuantile(0.99)
	d := r.res.Metrics[report.MetricDelivery]
	t.Logf("%d streams: delivery p50 %.2fms p99 %.2fms (count %d); server p50 %.2fms p99 %.2fms (injected 20ms, 300ms; %d events)",
		c, d.P50MS, d.P99MS, d.Count, ms(p50), ms(p99), rec.Events)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !near(d.P50MS, p50) || !near(d.P99MS, p99) {
		t.Errorf("delivery p50 %.2fms p99 %.2fms, truth %.2fms %.2fms (± 2ms + 2%%)", d.P50MS, d.P99MS, ms(p50), ms(p99))
	}
	if d.Count != r.res.Counters.Events || r.res.Counters.Events < rec.Events*9/10 {
		t.Errorf("delivery counted %d of %d events, server wrote %d", d.Count, r.res.Counters.Events, rec.Events)
	}
}

// TestTruthStallShowsInDelivery: every write stalls 2 s while the stamps
// stay on schedule, so coordinated omission would hide it: delivery p99
// must show it.
func TestTruthStallShowsInDelivery(t *testing.T) {
	stallAt := 700 * time.Millisecond
	if testing.Short() {
		stallAt = 400 * time.Millisecond
	}
	cfg := truth.Config{Period: 100 * time.Millisecond, Stall: 2 * time.Second, StallEvery: 10 * time.Second, StallAt: stallAt}
	srv, base := startTruth(t, cfg)
	c := streams(200, 100, 200)
	r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "300ms", "--duration", runFor("4s", "3s"),
		"--reconnect", "never", "--latency-field", "ts:unix_ns")
	srv.Close()
	rec := srv.Record()
	d := r.res.Metrics[report.MetricDelivery]
	truthP99 := rec.DelayQuantile(0.99)
	t.Logf("delivery p99 %.1fms max %.1fms; server p99 %.1fms, %d writes stalled", d.P99MS, d.MaxMS, ms(truthP99), rec.Stalls)
	if rec.Stalls == 0 || truthP99 < 1800*time.Millisecond {
		t.Fatalf("the server did not stall: %d stalled writes, p99 %v", rec.Stalls, truthP99)
	}
	if d.P99MS < 1800 {
		t.Errorf("delivery p99 %.1fms, truth %.1fms: the stall must show (≥ 1.8 s)", d.P99MS, ms(truthP99))
	}
}

// TestTruthLateHeaders: 15% of responses 200 ms late must show in the
// headers percentiles at exactly that share.
func TestTruthLateHeaders(t *testing.T) {
	srv, base := startTruth(t, truth.Config{LatePercent: 15, LateBy: 200 * time.Millisecond})
	c := streams(400, 200, 400)
	r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "500ms", "--duration", runFor("2s", "1200ms"), "--reconnect", "never")
	srv.Close()
	rec := srv.Record()
	m := r.res.Metrics[report.MetricHeaders]
	h, err := m.Hist()
	if err != nil {
		t.Fatal(err)
	}
	share := 100 * float64(rec.Late) / float64(rec.Requests)
	onTime, late := report.Quantile(h, 100-share-1), report.Quantile(h, 100-share+1)
	t.Logf("headers p50 %.1fms p90 %.1fms p99 %.1fms (count %d); server: %d of %d late (%.1f%%); p%.0f %.1fms, p%.0f %.1fms",
		m.P50MS, m.P90MS, m.P99MS, m.Count, rec.Late, rec.Requests, share, 100-share-1, onTime, 100-share+1, late)
	if m.Count != rec.Requests {
		t.Errorf("headers counted %d, server answered %d", m.Count, rec.Requests)
	}
	if m.P50MS >= 50 || m.P90MS < 200 || m.P99MS < 200 {
		t.Errorf("headers p50 %.1fms p90 %.1fms p99 %.1fms: want p50 small and p90, p99 ≥ 200ms", m.P50MS, m.P90MS, m.P99MS)
	}
	if onTime >= 200 || late < 200 {
		t.Errorf("the late share is not %.1f%%: p%.0f %.1fms (want < 200ms), p%.0f %.1fms (want ≥ 200ms)", share, 100-share-1, onTime, 100-share+1, late)
	}
}

// TestTruthHangingStreamsFail: requests never answered, and streams
// answered but never sent an event, are failures with their own end
// classes, and they fail a first_event threshold.
func TestTruthHangingStreamsFail(t *testing.T) {
	srv, base := startTruth(t, truth.Config{HangPercent: 10, MutePercent: 10, Period: 50 * time.Millisecond})
	c := streams(300, 100, 300)
	r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "300ms", "--duration", "2s", // a hung attempt must wait over a second to count against the server
		"--reconnect", "never", "--threshold", "first_event.p99 < 500ms")
	srv.Close()
	rec := srv.Record()
	cn := r.res.Counters
	t.Logf("exit %d; streams_failed %d, ends %v; server: %d hung, %d muted of %d", r.code, cn.StreamsFailed, cn.Ends, rec.Hung, rec.Muted, rec.Requests)
	if rec.Hung == 0 || rec.Muted == 0 {
		t.Fatalf("the server hung %d and muted %d", rec.Hung, rec.Muted)
	}
	if cn.StreamsFailed < rec.Hung+rec.Muted {
		t.Errorf("streams_failed %d, want ≥ %d hung + %d muted", cn.StreamsFailed, rec.Hung, rec.Muted)
	}
	if cn.Ends["no_headers"] != rec.Hung || cn.Ends["no_first_event"] != rec.Muted {
		t.Errorf("ends no_headers %d (want %d), no_first_event %d (want %d): %v",
			cn.Ends["no_headers"], rec.Hung, cn.Ends["no_first_event"], rec.Muted, cn.Ends)
	}
	if r.code != report.ExitGateFailed {
		t.Errorf("exit %d, want %d: first_event.p99 < 500ms must fail on streams that never got an event (%+v)", r.code, report.ExitGateFailed, r.res.Thresholds)
	}
}

// TestTruthCountsExact: finite streams that end and resume, skipping K or
// replaying R ids: events, bytes, lost, duplicated and reconnects equal
// the server's counts.
func TestTruthCountsExact(t *testing.T) {
	cases := []struct {
		name         string
		skip, replay int64
	}{
		{"resume", 0, 0},
		{"skip 3", 3, 0},
		{"replay 2", 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := truth.Config{Period: 10 * time.Millisecond, PerConn: 5, Last: 40, Retry: "20", Skip: tc.skip, Replay: tc.replay}
			srv, base := startTruth(t, cfg)
			c := streams(300, 100, 200)
			r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "300ms", "--duration", runFor("2500ms", "1800ms"), "--sequence")
			srv.Close()
			rec := srv.Record()
			cn := r.res.Counters
			t.Logf("client events %d bytes %d lost %d dup %d reconnects %d failed %d; server events %d bytes %d skipped %d replayed %d resumes %d (204: %d)",
				cn.Events, cn.Bytes, cn.EventsLost, cn.EventsDuplicated, cn.Reconnects, cn.StreamsFailed,
				rec.Events, rec.Bytes, rec.Skipped, rec.Replayed, rec.Resumes, rec.NoContent)
			if r.code != 0 {
				t.Errorf("exit %d: %s", r.code, r.stderr)
			}
			if rec.OpenStreams != 0 || rec.NoContent != int64(c) {
				t.Fatalf("streams not finished at the end: %d open, %d of %d ended with 204", rec.OpenStreams, rec.NoContent, c)
			}
			resumedWithEvents := rec.Resumes - rec.NoContent
			if cn.Events != rec.Events || cn.Bytes != rec.Bytes || cn.EventsLost != rec.Skipped || cn.EventsDuplicated != rec.Replayed ||
				cn.Reconnects != rec.Resumes || cn.StreamsFailed != 0 {
				t.Errorf("counters differ from the server's")
			}
			if rec.Skipped != tc.skip*resumedWithEvents || rec.Replayed != tc.replay*resumedWithEvents {
				t.Errorf("server skipped %d, replayed %d over %d resumes with events", rec.Skipped, rec.Replayed, resumedWithEvents)
			}
		})
	}
}

// TestTruthIDlessEventsAreNotLostOrDuplicated: events without an id field
// carry no sequence number: with --sequence they are neither lost nor
// duplicated.
func TestTruthIDlessEventsAreNotLostOrDuplicated(t *testing.T) {
	for _, ids := range []string{truth.IDsFirst, truth.IDsNone} {
		t.Run(ids, func(t *testing.T) {
			srv, base := startTruth(t, truth.Config{Period: 10 * time.Millisecond, PerConn: 5, Retry: "20", IDs: ids})
			c := streams(200, 100, 100)
			r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "200ms", "--duration", runFor("2s", "1200ms"), "--sequence")
			srv.Close()
			rec := srv.Record()
			cn := r.res.Counters
			t.Logf("ids=%s: client events %d lost %d dup %d reconnects %d; server events %d (%d with id), resumes %d",
				ids, cn.Events, cn.EventsLost, cn.EventsDuplicated, cn.Reconnects, rec.Events, rec.WithID, rec.Resumes)
			if cn.Events == 0 || rec.Events <= rec.WithID || cn.Reconnects == 0 {
				t.Fatalf("no id-less events went through: %+v", cn)
			}
			if cn.EventsLost != 0 || cn.EventsDuplicated != 0 {
				t.Errorf("events_lost %d, events_duplicated %d: want 0 and 0", cn.EventsLost, cn.EventsDuplicated)
			}
		})
	}
}

// TestTruthReconnectSpansOutage: an outage of 503s ends every stream;
// reconnect time runs from the end of the stream to the first event after
// the outage, across every failed attempt.
func TestTruthReconnectSpansOutage(t *testing.T) {
	outage := 10 * time.Second
	if testing.Short() {
		outage = 3 * time.Second
	}
	const maxDelay = time.Second
	srv, base := startTruth(t, truth.Config{Period: 50 * time.Millisecond})
	c := streams(100, 50, 100)
	lead := time.Second
	if testing.Short() {
		lead = 700 * time.Millisecond
	}
	go func() {
		time.Sleep(lead)
		srv.BeginOutage(outage)
	}()
	r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "300ms",
		"--duration", (lead + outage + 1500*time.Millisecond).String(),
		"--reconnect", "always", "--backoff-base", "50ms", "--backoff-max", maxDelay.String())
	srv.Close()
	rec := srv.Record()
	m := r.res.Metrics[report.MetricReconnect]
	truthOutage := rec.OutageEnd.Sub(rec.OutageStart)
	t.Logf("reconnect count %d p50 %.0fms p99 %.0fms max %.0fms; server outage %v, %d answered 503, first event %v after it ended",
		m.Count, m.P50MS, m.P99MS, m.MaxMS, truthOutage, rec.Unavailable, rec.FirstAfter.Sub(rec.OutageEnd))
	if rec.Unavailable == 0 || rec.FirstAfter.IsZero() {
		t.Fatalf("no outage seen: %+v", rec.Counts)
	}
	if rec.OutageEnded != int64(c) {
		t.Fatalf("the outage ended %d streams, want all %d open", rec.OutageEnded, c)
	}
	if m.Count != rec.Resumes || m.Count != int64(c) {
		t.Errorf("reconnect counted %d times, server resumed %d streams, want %d (every stream)", m.Count, rec.Resumes, c)
	}
	if m.P50MS < ms(truthOutage) || m.P50MS > ms(truthOutage+maxDelay) {
		t.Errorf("reconnect p50 %.0fms, want within [outage %.0fms, outage + max backoff %.0fms]", m.P50MS, ms(truthOutage), ms(truthOutage+maxDelay))
	}
}

// TestTruthHugeRetryNoStorm: retry: 99999999999999999 ms must not overflow
// into an immediate reconnect.
func TestTruthHugeRetryNoStorm(t *testing.T) {
	srv, base := startTruth(t, truth.Config{Period: 10 * time.Millisecond, PerConn: 1, Retry: "99999999999999999"})
	c := streams(100, 50, 100)
	r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "200ms", "--duration", runFor("2s", "1200ms"))
	srv.Close()
	rec := srv.Record()
	cn := r.res.Counters
	t.Logf("client reconnects %d events %d; server resumes %d, requests %d", cn.Reconnects, cn.Events, rec.Resumes, rec.Requests)
	if cn.Events != int64(c) || rec.Events != int64(c) {
		t.Errorf("events %d, server wrote %d, want %d", cn.Events, rec.Events, c)
	}
	if rec.Resumes != 0 || cn.Reconnects > int64(c) {
		t.Errorf("reconnect storm: server saw %d resumes, client counted %d reconnects", rec.Resumes, cn.Reconnects)
	}
}

// TestTruthRedirectFollowed: a 307 to the stream is followed, keeping
// Last-Event-ID on every resume, on the connection the 307 came on (a
// redirect that opened a second connection doubled the connects, which
// at 10,000 churning streams overflowed the accept queue).
func TestTruthRedirectFollowed(t *testing.T) {
	srv, base := startTruth(t, truth.Config{Period: 10 * time.Millisecond, PerConn: 5, Last: 20, Retry: "20"})
	c := streams(100, 50, 100)
	r := runSSEBench(t, "--url", base+"/redirect", "--connections", n(c), "--ramp", "200ms", "--duration", runFor("3s", "1500ms"), "--sequence")
	srv.Close()
	rec := srv.Record()
	cn := r.res.Counters
	t.Logf("client events %d lost %d dup %d reconnects %d failed %d ends %v; server redirects %d events %d resumes %d requests %d connections %d",
		cn.Events, cn.EventsLost, cn.EventsDuplicated, cn.Reconnects, cn.StreamsFailed, cn.Ends, rec.Redirects, rec.Events, rec.Resumes,
		rec.Requests, rec.Connections)
	if rec.Redirects == 0 {
		t.Fatal("no request came through the redirect")
	}
	if cn.Ends["http_307"] != 0 || cn.StreamsFailed != 0 || cn.Events == 0 {
		t.Errorf("the redirect was not followed: %d failed, ends %v", cn.StreamsFailed, cn.Ends)
	}
	if cn.Events != rec.Events || cn.EventsLost != 0 || cn.EventsDuplicated != 0 || rec.Resumes != cn.Reconnects {
		t.Errorf("Last-Event-ID not kept across the redirect: client %d events, %d lost, %d dup, %d reconnects; server %d events, %d resumes",
			cn.Events, cn.EventsLost, cn.EventsDuplicated, cn.Reconnects, rec.Events, rec.Resumes)
	}
	if rec.Connections != rec.Requests-rec.Redirects {
		t.Errorf("%d connections for %d requests, %d of them redirects: want %d, each redirect followed on its own connection",
			rec.Connections, rec.Requests, rec.Redirects, rec.Requests-rec.Redirects)
	}
}

// TestTruthEventsInFlightAtEnd: the server writes until the run ends;
// every event written more than 200 ms before the end is counted, and
// never more than were written.
func TestTruthEventsInFlightAtEnd(t *testing.T) {
	srv, base := startTruth(t, truth.Config{Period: 20 * time.Millisecond})
	c := streams(300, 100, 200)
	dur := 2 * time.Second
	if testing.Short() {
		dur = 1500 * time.Millisecond
	}
	r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "300ms", "--duration", dur.String(), "--reconnect", "never")
	srv.Close()
	rec := srv.Record()
	end := r.res.Start.Add(dur)
	settled := rec.WrittenBefore(end.Add(-200 * time.Millisecond))
	cn := r.res.Counters
	t.Logf("client events %d; server wrote %d, %d of them more than 200ms before the end", cn.Events, rec.Events, settled)
	if cn.Events < settled || cn.Events > rec.Events {
		t.Errorf("events %d, want between %d (written ≥ 200ms before the end) and %d (written)", cn.Events, settled, rec.Events)
	}
}

// TestTruthUnstampedEvents: events with no stamp or an unparsable one are
// counted as unstamped; future stamps count as clock skew; neither puts a
// value into delivery.
func TestTruthUnstampedEvents(t *testing.T) {
	hold := 5 * time.Millisecond
	srv, base := startTruth(t, truth.Config{Period: 20 * time.Millisecond, Hold: hold, Last: 30, Retry: "20",
		MissingEvery: 10, GarbageEvery: 10, FutureEvery: 10})
	c := streams(200, 100, 100)
	r := runSSEBench(t, "--url", base+"/events", "--connections", n(c), "--ramp", "200ms", "--duration", runFor("3s", "1500ms"),
		"--latency-field", "ts:unix_ns")
	srv.Close()
	rec := srv.Record()
	cn := r.res.Counters
	d := r.res.Metrics[report.MetricDelivery]
	unstamped, ok := r.counter("unstamped")
	t.Logf("client events %d unstamped %d (present %v) clock_skew %d delivery count %d min %.2fms; server events %d missing %d garbage %d future %d",
		cn.Events, unstamped, ok, cn.ClockSkew, d.Count, d.MinMS, rec.Events, rec.Missing, rec.Garbage, rec.Future)
	if cn.Events != rec.Events {
		t.Fatalf("events %d, server wrote %d", cn.Events, rec.Events)
	}
	if !ok || unstamped != rec.Unstamped() {
		t.Errorf("counters.unstamped %d (present: %v), server wrote %d events without a usable stamp", unstamped, ok, rec.Unstamped())
	}
	if cn.ClockSkew != rec.Future {
		t.Errorf("clock_skew %d, server stamped %d in the future", cn.ClockSkew, rec.Future)
	}
	if want := rec.Events - rec.Unstamped() - rec.Future; d.Count != want {
		t.Errorf("delivery counted %d, want %d (stamped events only)", d.Count, want)
	}
	if d.MinMS < ms(hold)-1 {
		t.Errorf("delivery min %.3fms below the %v every event was held: a skewed stamp was recorded", d.MinMS, hold)
	}
}

// truthProcessOn runs the truth server as its own process, built without
// the race detector, so a load meant to overwhelm the generator does not
// depend on how fast the test binary is; pinned to cpus (taskset's list,
// e.g. "0"; "" for anywhere) with GOMAXPROCS matching, so a case can
// decide which side has the core. It returns the base URL.
func truthProcessOn(t *testing.T, cpus, config string) string {
	t.Helper()
	truthBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ssebench-truth-")
		if err != nil {
			truthBuildErr = err
			return
		}
		truthBin = filepath.Join(dir, "truth")
		if b, err := exec.Command("go", "build", "-o", truthBin, "./fixtures/truth/cmd").CombinedOutput(); err != nil {
			truthBuildErr = fmt.Errorf("build: %v\n%s", err, b)
		}
	})
	if truthBuildErr != nil {
		t.Fatal(truthBuildErr)
	}
	cmd := exec.Command(truthBin, "-config", config)
	if cpus != "" {
		cmd = exec.Command("taskset", "-c", cpus, truthBin, "-config", config)
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(strings.Count(cpus, ",")+1))
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("truth server: %v", err)
	}
	return strings.TrimSpace(line)
}

var (
	truthBuildOnce sync.Once
	truthBin       string
	truthBuildErr  error
)

// truthSummary reads what a truth server process did.
func truthSummary(t *testing.T, base string) truth.Summary {
	t.Helper()
	resp, err := http.Get(base + "/truth")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s truth.Summary
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTruthSaturatedGenerator: a generator on one core asked to read far
// more events than it can must say it was the bottleneck.
func TestTruthSaturatedGenerator(t *testing.T) {
	if testing.Short() {
		t.Skip("overloads a core for 15 s to prove saturation is flagged (the full suite runs it)")
	}
	bin := binary(t)
	// The truth server has core 0 to itself; the generator (every shard,
	// GOMAXPROCS=1) shares core 1 with a busy loop, as on a CI runner
	// whose other jobs take the core. On a core of its own this load
	// takes the generator about 75% of it (delivery equals the server's
	// own delay: not saturated); with half a core it falls behind, events
	// queue in its sockets and delivery runs far past what the server did.
	const c = 2000
	for _, procs := range []string{"1", "2"} {
		t.Run("procs "+procs, func(t *testing.T) {
			base := truthProcessOn(t, "0", "period=10ms&batch=10&pad=4000")
			burn := exec.Command("taskset", "-c", "1", "sh", "-c", "while :; do :; done")
			if err := burn.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { burn.Process.Kill(); burn.Wait() })
			out := filepath.Join(t.TempDir(), "r.json")
			cmd := exec.Command("taskset", "-c", "1", bin, "run", "--url", base+"/events", "--connections", n(c), "--ramp", "1s", "--duration", "4s",
				"--reconnect", "never", "--procs", procs, "--quiet", "--out", out)
			cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			code := 0
			if err := cmd.Run(); err != nil {
				ee, ok := err.(*exec.ExitError)
				if !ok {
					t.Fatal(err)
				}
				code = ee.ExitCode()
			}
			rec := truthSummary(t, base)
			r := readTruthRun(t, code, stderr.String(), out)
			g := r.res.Generator
			d := r.res.Metrics[report.MetricDelivery]
			t.Logf("%d streams x 100 ev/s of 4 KB, generator on a shared core, --procs %s: read %d of %d written; delivery p50 %.0fms p99 %.0fms, server's own p50 %.0fms p99 %.0fms; saturated %v %q",
				c, procs, r.res.Counters.Events, rec.Events, d.P50MS, d.P99MS, rec.DelayP50MS, rec.DelayP99MS, g.Saturated, g.SaturatedReason)
			// The ground truth that the generator, not the server, was behind.
			if d.P50MS < rec.DelayP50MS+100 {
				t.Fatalf("delivery p50 %.0fms within 100ms of the server's own %.0fms: the generator kept up, the case proves nothing", d.P50MS, rec.DelayP50MS)
			}
			if !g.Saturated {
				t.Errorf("generator.saturated false while delivery p50 ran %.0fms past the server's own delay", d.P50MS-rec.DelayP50MS)
			}
		})
	}
}
