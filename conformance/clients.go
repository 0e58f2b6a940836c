package conformance

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/sse"
)

// concurrentResult is what N simultaneous streams saw.
type concurrentResult struct {
	n          int
	streams    []*stream
	published  string // the token ssebench published to all, if any
	pubErr     error
	elapsed    time.Duration
	withEvents int
	ok         int
	statuses   map[string]int
	errSample  string
}

// probeConcurrent opens cfg.Clients streams at once and waits until each
// has an event (ssebench publishes one with --publish) or the window
// closes.
func (t *target) probeConcurrent(ctx context.Context) *concurrentResult {
	r := &concurrentResult{n: t.cfg.Clients, statuses: map[string]int{}}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Window)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range r.n {
		spec := t.spec()
		spec.light = true
		// Up to --clients streams at once: each keeps the per-stream
		// bound of a load run, so a huge event or an endless line costs
		// clients × 1 MiB, not clients × --max-size.
		spec.maxSize = min(spec.maxSize, sse.DefaultMaxSize)
		s := newStream(spec)
		r.streams = append(r.streams, s)
		wg.Go(func() { t.p.run(ctx, s) })
	}
	// Fields of a stream may be read only once its headers are in.
	in := make([]bool, len(r.streams))
	t.awaitHeaders(ctx, r.streams...)
	for i, s := range r.streams {
		in[i] = s.waitHeaders(ctx)
	}
	var open []*stream
	for i, s := range r.streams {
		if in[i] && s.ok() {
			open = append(open, s)
		}
	}
	if t.pub != nil && len(open) > 0 {
		sleep(ctx, 300*time.Millisecond) // let them subscribe
		le := t.publishAndWait(ctx, open...)
		r.published, r.pubErr = le.token, le.err
	} else {
		for _, s := range open {
			s.waitEvents(ctx, func(evs []item) bool { return len(evs) > 0 })
		}
	}
	r.elapsed = time.Since(start)
	cancel()
	wg.Wait()
	for _, s := range r.streams {
		key := ""
		switch {
		case s.err != nil:
			key = "error (" + s.errClass + ")"
			if r.errSample == "" {
				r.errSample = errText(s.err)
			}
		default:
			key = strconv.Itoa(s.status)
		}
		r.statuses[key]++
		if s.ok() {
			r.ok++
		}
		evs := s.eventsOnly()
		switch {
		case s.end == report.EndTooLarge:
			// An event was arriving, larger than such a client keeps:
			// the server did deliver (the main stream reads it whole).
			r.withEvents++
		case r.published != "":
			if hasToken(evs, r.published) {
				r.withEvents++
			}
		case len(evs) > 0:
			r.withEvents++
		}
	}
	return r
}

func (r *concurrentResult) statusSummary() string { return statusSummary(r.statuses) }

// statusSummary lists status counts in a stable order: "200 ×48, 503 ×2".
func statusSummary(statuses map[string]int) string {
	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, statuses[k]))
	}
	return strings.Join(parts, ", ")
}

// churnResult is what quick open/close cycles did to the server.
type churnResult struct {
	cycles    int
	statuses  map[string]int
	failures  int // connection errors and 5xx/429 answers
	errSample string
	elapsed   time.Duration
	after     *stream // a fresh stream once the cycles are over
}

const (
	churnWorkers = 8
	churnHold    = 250 * time.Millisecond // the longest a cycle keeps its stream
)

// probeChurn opens and abandons cfg.Churn streams (each closed once its
// headers are in, or after churnHold), then opens one more and times it.
func (t *target) probeChurn(ctx context.Context) *churnResult {
	r := &churnResult{cycles: t.cfg.Churn, statuses: map[string]int{}}
	start := time.Now()
	var mu sync.Mutex
	next := make(chan struct{})
	var wg sync.WaitGroup
	for range churnWorkers {
		wg.Go(func() {
			for range next {
				key, errText := t.churnCycle(ctx)
				mu.Lock()
				r.statuses[key]++
				if errText != "" {
					r.failures++
					if r.errSample == "" {
						r.errSample = errText
					}
				}
				mu.Unlock()
			}
		})
	}
feed:
	for range r.cycles {
		select {
		case next <- struct{}{}:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	r.elapsed = time.Since(start)
	// Let the server notice the last closes.
	sleep(ctx, 200*time.Millisecond)
	spec := t.spec()
	spec.light = true
	wait := 3 * time.Second
	if t.pub != nil {
		wait += publishWait
	}
	mainEvs := t.main.eventsOnly()
	if len(mainEvs) > 0 {
		wait = max(wait, mainEvs[0].at+2*time.Second)
	} else {
		wait = max(wait, t.main.headersAt+2*time.Second)
	}
	spec.window = min(wait, 2*t.cfg.Window)
	r.after = newStream(spec)
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.p.run(actx, r.after)
	}()
	switch {
	case t.pub != nil:
		if r.after.waitHeaders(actx) && r.after.ok() {
			sleep(actx, 300*time.Millisecond)
			t.publishAndWait(actx, r.after)
		}
	case len(mainEvs) > 0:
		r.after.waitEvents(actx, func(evs []item) bool { return len(evs) > 0 })
	default:
		r.after.waitHeaders(actx)
	}
	cancel()
	<-done
	return r
}

// churnCycle opens one stream and abandons it quickly. It returns the
// outcome's key and, for a failure, a sample error.
func (t *target) churnCycle(ctx context.Context) (key, failure string) {
	ctx, cancel := context.WithTimeout(ctx, churnHold)
	defer cancel()
	spec := t.spec()
	req, err := t.p.request(ctx, spec)
	if err != nil {
		return "error", errText(err)
	}
	resp, err := t.p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "no headers within " + report.FormatDuration(churnHold), ""
		}
		return "error", errText(err)
	}
	// Gone as soon as the headers are in, like a page navigated away.
	resp.Body.Close()
	code := resp.StatusCode
	if code >= 500 || code == http.StatusTooManyRequests {
		return strconv.Itoa(code), "answered " + resp.Status
	}
	return strconv.Itoa(code), ""
}

func (r *churnResult) statusSummary() string { return statusSummary(r.statuses) }

// preflightResult is the answer to a CORS preflight for a resume.
type preflightResult struct {
	err    error
	status string
	code   int
	header http.Header
}

func (t *target) probePreflight(ctx context.Context) *preflightResult {
	ctx, cancel := context.WithTimeout(ctx, min(t.cfg.Window, 5*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, t.cfg.URL, nil)
	if err != nil {
		return &preflightResult{err: err}
	}
	req.Header.Set("Origin", t.cfg.Origin)
	req.Header.Set("Access-Control-Request-Method", t.cfg.Method)
	req.Header.Set("Access-Control-Request-Headers", "last-event-id")
	req.Header.Set("User-Agent", t.p.ua)
	resp, err := t.p.client.Do(req)
	if err != nil {
		return &preflightResult{err: err}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return &preflightResult{status: resp.Status, code: resp.StatusCode, header: resp.Header}
}
