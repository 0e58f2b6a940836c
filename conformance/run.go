package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// target is everything probed about one URL in one run. The probes fill
// it; the checks only read it, after every probe finished.
type target struct {
	cfg Config
	sel map[string]bool
	p   *prober
	pub *publisher

	main      *stream
	plain     *stream // no EventSource headers, no Accept-Encoding
	reconnect *stream // the connection after the server ended main
	unknownID *stream
	cors      *stream
	preflight *preflightResult
	resume    *resumeResult
	conc      *concurrentResult
	churn     *churnResult
	hold      *holdResult
	head      *headFingerprint // the raw response head, with --hold (see fetchHead)
	lone      []loneEvent      // events ssebench published to the main stream

	refServer bool // the target is ssebench's reference server (see detectRefServer)
}

func (t *target) wants(ids ...string) bool {
	for _, id := range ids {
		if t.sel[id] {
			return true
		}
	}
	return false
}

func (t *target) spec() streamSpec {
	return streamSpec{url: t.cfg.URL, method: t.cfg.Method, body: t.cfg.Body, header: t.cfg.Header,
		browser: true, window: t.cfg.Window, maxSize: t.cfg.MaxSize}
}

// Run checks the stream at cfg.URL and returns the report. The error is
// non-nil only when the checks could not run: a *ConfigError for bad
// input, or an error wrapping ErrUnreachable (the report then holds what
// was seen). Failed checks are not errors: see the report's Passed.
func Run(ctx context.Context, cfg Config) (*report.CheckReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sel, err := selectChecks(cfg.Only, cfg.Skip)
	if err != nil {
		return nil, &ConfigError{err}
	}
	start := time.Now()
	t := newTarget(cfg, sel)
	defer t.p.close()
	t.probe(ctx)
	rep := newReport("check", cfg.URL, start)
	if err := t.unreachable(); err != nil {
		rep.Notes = append(rep.Notes, err.Error())
		finishReport(rep, start)
		rep.Passed = false
		return rep, err
	}
	rep.Checks = t.evaluate()
	rep.Findings = t.timeoutFindings()
	rep.Notes = t.notes()
	markInterrupted(ctx, rep)
	finishReport(rep, start)
	return rep, nil
}

// markInterrupted marks a report whose run ctx ended before the probes
// did: its checks are partial, so it cannot pass (finishReport).
func markInterrupted(ctx context.Context, rep *report.CheckReport) {
	if ctx.Err() != nil {
		rep.Interrupted = true
		rep.Notes = append(rep.Notes, "the run was interrupted: the results are partial")
	}
}

func newTarget(cfg Config, sel map[string]bool) *target {
	t := &target{cfg: cfg, sel: sel, p: newProber(cfg.Insecure, cfg.Window)}
	if cfg.Publish != "" {
		t.pub = &publisher{url: cfg.Publish, header: cfg.Header, client: t.p.client}
	}
	return t
}

func newReport(command, targetURL string, start time.Time) *report.CheckReport {
	host, _ := os.Hostname()
	return &report.CheckReport{
		Schema:    report.CheckSchema,
		GoVersion: runtime.Version(),
		Host:      host,
		Command:   command,
		Target:    scenarios.RedactURL(targetURL),
		Start:     start.UTC(),
	}
}

func finishReport(rep *report.CheckReport, start time.Time) {
	end := time.Now()
	rep.End = end.UTC()
	rep.DurationS = end.Sub(start).Seconds()
	rep.Passed = !rep.Interrupted
	for _, c := range rep.Checks {
		if c.Severity == report.SeverityError && c.Status == report.StatusFail {
			rep.Passed = false
		}
	}
}

// unreachable returns an error wrapping ErrUnreachable when the main probe
// could not connect at all.
func (t *target) unreachable() error {
	if t.main == nil || t.main.err == nil {
		return nil
	}
	switch t.main.errClass {
	case report.EndConnectError, report.EndTLSError:
		return fmt.Errorf("%w: %s: %s", ErrUnreachable, scenarios.RedactURL(t.cfg.URL),
			report.WithHint(errText(t.main.err), t.main.errClass, t.cfg.Insecure))
	}
	return nil
}

// probe runs every probe the selected checks need: first the stream
// probes together (phase 1, one window long), then churn (phase 2), which
// would disturb the timings of phase 1. The held streams run alongside
// both.
func (t *target) probe(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t.main = newStream(t.spec())
	var wg sync.WaitGroup
	wg.Go(func() { t.p.run(ctx, t.main) })
	// An unreachable target fails every probe the same way: stop early.
	wg.Go(func() {
		select {
		case <-t.main.done:
			if t.unreachable() != nil {
				cancel()
			}
		case <-ctx.Done():
		}
	})
	if t.pub != nil && t.wants("first-event", "buffering") {
		wg.Go(func() { t.lone = t.publishLone(ctx, t.main) })
	}
	if t.wants("reconnect-storm") && t.cfg.Method == http.MethodGet {
		wg.Go(func() { t.reconnect = t.probeReconnect(ctx) })
	}
	if t.wants("request-headers", "compression") {
		t.plain = t.startStream(ctx, &wg, func(s *streamSpec) { s.browser = false; s.headersOnly = true })
	}
	if t.wants("resume-unknown-id", "stop-204") {
		id := "ssebench-unknown-" + nonce()
		// Read the body too: a server may answer an id it does not know
		// by replaying its whole history (see replayBurst).
		t.unknownID = t.startStream(ctx, &wg, func(s *streamSpec) { s.lastEventID = id; s.light = true })
	}
	if t.cfg.Origin != "" && t.wants("cors") {
		t.cors = t.startStream(ctx, &wg, func(s *streamSpec) { s.origin = t.cfg.Origin; s.headersOnly = true })
	}
	if t.cfg.Origin != "" && t.wants("cors-preflight") {
		wg.Go(func() { t.preflight = t.probePreflight(ctx) })
	}
	if t.wants("resume", "resume-replay", "ids") {
		wg.Go(func() { t.resume = t.probeResume(ctx) })
	}
	if t.wants("concurrent") {
		wg.Go(func() {
			// The crowd comes once the main stream is in (or after a
			// second): the main stream is the baseline, and must not lose
			// a race for a capped server's last slot.
			wctx, wcancel := context.WithTimeout(ctx, time.Second)
			t.main.waitHeaders(wctx)
			wcancel()
			t.conc = t.probeConcurrent(ctx)
		})
	}
	var holdWG sync.WaitGroup
	if t.cfg.Hold > 0 && t.wants("idle-timeout", "heartbeat") {
		holdWG.Go(func() { t.hold = t.probeHold(ctx) })
		if t.wants("idle-timeout") && t.cfg.Method == http.MethodGet {
			wg.Go(func() { h := fetchHead(ctx, t.cfg, min(t.cfg.Window, 5*time.Second)); t.head = &h })
		}
	}
	wg.Wait()
	if t.wants("churn") && t.main.ok() && ctx.Err() == nil {
		t.churn = t.probeChurn(ctx)
	}
	holdWG.Wait()
}

// startStream starts a probe on the target with spec changes.
func (t *target) startStream(ctx context.Context, wg *sync.WaitGroup, change func(*streamSpec)) *stream {
	spec := t.spec()
	change(&spec)
	s := newStream(spec)
	wg.Go(func() { t.p.run(ctx, s) })
	return s
}

// probeReconnect waits for the main stream to end; if the server ended it
// within the window, it reconnects once like a browser (with Last-Event-ID)
// and reads the second connection for the rest of the window, to see
// whether short streams are the rule.
func (t *target) probeReconnect(ctx context.Context) *stream {
	select {
	case <-t.main.done:
	case <-ctx.Done():
		return nil
	}
	if !t.main.serverEnded() || !t.main.ok() {
		return nil
	}
	// Watch the second stream at least as long as the first one lived,
	// so "it stayed open" means something.
	left := max(t.cfg.Window-time.Since(t.main.start), lifetime(t.main)+2*time.Second)
	spec := t.spec()
	spec.window = left
	if evs := t.main.eventsOnly(); len(evs) > 0 {
		spec.lastEventID = evs[len(evs)-1].id
	}
	s := newStream(spec)
	t.p.run(ctx, s)
	return s
}

// detectRefServer recognises ssebench's reference server, whose
// ?heartbeat= and ?rate= parameters let the idle-timeout probe compare a
// silent stream with one kept alive by heartbeats: the URL already uses
// heartbeat=, or the first event's data is {"seq":N,"ts":...} with id N.
func detectRefServer(rawURL string, evs []item) bool {
	if u, err := url.Parse(rawURL); err == nil && u.Query().Has("heartbeat") {
		return true
	}
	if len(evs) == 0 || evs[0].sent.IsZero() {
		return false
	}
	ev := evs[0]
	want := `{"seq":` + ev.id + `,"ts":`
	return ev.id != "" && strings.HasPrefix(ev.data, want)
}

// withQuery returns rawURL with the given query parameters set.
func withQuery(rawURL string, kv ...string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// publisher triggers events with POST requests to --publish.
type publisher struct {
	url    string
	header http.Header
	client *http.Client
}

// publish POSTs a text with a fresh token and returns the token.
func (p *publisher) publish(ctx context.Context) (token string, err error) {
	token = "ssebench-" + nonce()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader("ssebench probe "+token))
	if err != nil {
		return "", err
	}
	for k, vs := range p.header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return "", fmt.Errorf("publish: POST %s: %s", scenarios.RedactURL(p.url), resp.Status)
	}
	return token, nil
}

// loneEvent is one event ssebench published into an otherwise quiet
// moment, and how long it took to arrive.
type loneEvent struct {
	token     string
	err       error
	delivered bool
	lag       time.Duration
}

// Published events get this long to arrive.
const publishWait = 3 * time.Second

// publishLone publishes three events into s one at a time, each after the
// previous one arrived: nothing else is in flight, so an event arrives only
// if nothing on the way holds it back.
func (t *target) publishLone(ctx context.Context, s *stream) []loneEvent {
	if !t.awaitHeaders(ctx, s) {
		return nil
	}
	if !s.ok() {
		return nil
	}
	// Let the stream subscribe on the server side first.
	sleep(ctx, 300*time.Millisecond)
	var out []loneEvent
	for range 3 {
		le := t.publishAndWait(ctx, s)
		out = append(out, le)
		if !le.delivered {
			break
		}
	}
	return out
}

// awaitHeaders waits for the headers of s. With --publish, a stream
// whose headers have not come within HeadersPrompt gets an event
// published: many servers (Node handlers that never flush, @fastify/sse,
// Go handlers without Flush) send their headers only with the first
// write, and a quiet one would otherwise never answer.
func (t *target) awaitHeaders(ctx context.Context, streams ...*stream) bool {
	wctx, cancel := context.WithTimeout(ctx, HeadersPrompt)
	in := true
	for _, s := range streams {
		in = s.waitHeaders(wctx) && in
	}
	cancel()
	if in {
		return true
	}
	if t.pub != nil && ctx.Err() == nil {
		t.pub.publish(ctx)
	}
	in = true
	for _, s := range streams {
		in = s.waitHeaders(ctx) && in
	}
	return in
}

func (t *target) publishAndWait(ctx context.Context, streams ...*stream) loneEvent {
	sent := time.Now()
	token, err := t.pub.publish(ctx)
	if err != nil {
		return loneEvent{err: err}
	}
	wctx, cancel := context.WithTimeout(ctx, publishWait)
	defer cancel()
	le := loneEvent{token: token, delivered: true}
	for _, s := range streams {
		_, ok := s.waitEvents(wctx, func(evs []item) bool { return hasToken(evs, token) })
		if !ok {
			le.delivered = false
			continue
		}
		le.lag = max(le.lag, time.Since(sent))
	}
	return le
}

func hasToken(evs []item, token string) bool {
	for _, ev := range evs {
		if strings.Contains(ev.data, token) {
			return true
		}
	}
	return false
}

func nonce() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// notes are the report's general remarks.
func (t *target) notes() []string {
	var n []string
	if t.main != nil && t.main.undecodable {
		n = append(n, fmt.Sprintf("the stream is %s-encoded, which ssebench cannot decode: framing and event checks were skipped", t.main.encoding))
	}
	// Only about checks that were selected: --only status says nothing
	// of --hold.
	if t.cfg.Hold == 0 && t.wants("heartbeat", "idle-timeout") {
		n = append(n, "heartbeat and idle-timeout need --hold (e.g. --hold 2m) to hold streams open")
	}
	return n
}

// headerEvidence lists the named headers of h as evidence lines, secrets
// redacted; absent headers show as "(absent)".
func headerEvidence(h http.Header, names ...string) string {
	var b strings.Builder
	for _, name := range names {
		vs := h.Values(name)
		if len(vs) == 0 {
			fmt.Fprintf(&b, "%s: (absent)\n", name)
			continue
		}
		for _, v := range vs {
			if scenarios.IsSecretHeader(name) {
				v = "REDACTED"
			}
			fmt.Fprintf(&b, "%s: %s\n", name, v)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
