package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/sse"
)

// requestOK reports whether an answer ended normally.
func requestOK(class string) bool {
	return class == report.EndSentinel || class == report.EndEventType || class == report.EndEOF
}

// requestCut reports whether ssebench itself cut the answer short: at
// end.max_duration, or because the run was interrupted or aborted.
func requestCut(class string) bool {
	return class == report.EndMaxDuration || class == report.EndCancelled
}

// errMaxDuration is the cause of a request's context ending at
// end.max_duration.
var errMaxDuration = errors.New("request max_duration reached")

// reqConfig is what every request of a run shares, prepared once.
type reqConfig struct {
	endData   string
	endDataOn bool
	endEvent  string
	maxDur    time.Duration
	delta     *jsonPath // nil: every event but the end is a token event
	usage     *jsonPath
	count     func([]byte) int64
	// Per-request SLOs from the thresholds (0: none), for goodput.
	ttftMax, tpotMax, e2eMax time.Duration
	bodies                   *scenarios.Bodies // nil: the endpoint's fixed body
	static                   []byte            // that fixed body, when the template does not vary
	closed                   bool              // closed loop (concurrency), else open loop (rate)
	poisson                  bool
	maxInFlight              int64
	limit                    int64 // this process's share of request.count; 0 = none

	seq    atomic.Int64 // requests issued (arrivals, skipped included)
	active int          // closed-loop workers; guarded by gen.mu
	h2ids  idPool
}

func newReqConfig(s *scenarios.Scenario, sh Shard) (*reqConfig, error) {
	r := s.Request
	rc := &reqConfig{endData: r.End.Data, endEvent: r.End.Event, maxDur: r.End.MaxDuration.D()}
	if rc.endData == "" {
		rc.endData = scenarios.DefaultEndData
	}
	rc.endDataOn = rc.endData != "none"
	if rc.maxDur <= 0 {
		rc.maxDur = scenarios.DefaultMaxRequestDuration
	}
	var err error
	if rc.delta, err = parseJSONPath(r.Tokens.DeltaPath); err != nil {
		return nil, fmt.Errorf("request.tokens.delta_path: %w", err)
	}
	if rc.usage, err = parseJSONPath(r.Tokens.UsagePath); err != nil {
		return nil, fmt.Errorf("request.tokens.usage_path: %w", err)
	}
	switch r.Tokens.Count {
	case "", "words":
		rc.count = countWords
	case "chars4":
		rc.count = countChars4
	case "events":
		rc.count = func([]byte) int64 { return 1 }
	default:
		return nil, fmt.Errorf("request.tokens.count %q: want words, chars4 or events", r.Tokens.Count)
	}
	slo, err := report.GoodputSLOs(s.Thresholds)
	if err != nil {
		return nil, err
	}
	rc.ttftMax, rc.tpotMax, rc.e2eMax = slo[report.MetricTTFT], slo[report.MetricTPOT], slo[report.MetricE2E]
	b, err := s.Bodies()
	if err != nil {
		return nil, err
	}
	if b.Static() {
		if rc.static, err = b.Render(0, nil); err != nil {
			return nil, err
		}
	} else {
		rc.bodies = b
	}
	rc.closed = r.Concurrency > 0 || (r.Rate <= 0 && !hasStageRate(s))
	rc.poisson = r.Arrival == "poisson"
	inflight := r.MaxInFlight
	if inflight <= 0 {
		inflight = scenarios.DefaultMaxInFlight
	}
	rc.maxInFlight = int64(max(1, sh.share(inflight)))
	if r.Count > 0 {
		rc.limit = shareInt64(sh, r.Count)
	}
	return rc, nil
}

func hasStageRate(s *scenarios.Scenario) bool {
	for _, st := range s.Stages {
		if st.Rate > 0 {
			return true
		}
	}
	return false
}

// shareInt64 is Shard.share for counts that may exceed an int.
func shareInt64(sh Shard, total int64) int64 {
	if sh.Count <= 1 {
		return total
	}
	n, i := int64(sh.Count), int64(sh.Index)
	return total*(i+1)/n - total*i/n
}

// next claims the next request number; false once request.count is spent.
func (rc *reqConfig) next() (int64, bool) {
	n := rc.seq.Add(1) - 1
	if rc.limit > 0 && n >= rc.limit {
		return 0, false
	}
	return n, true
}

// spent reports whether request.count has been issued.
func (rc *reqConfig) spent() bool { return rc.limit > 0 && rc.seq.Load() >= rc.limit }

// idPool hands out the smallest free small integer, so concurrent HTTP/2
// requests pack onto as few connection groups as their number needs.
// Safe for concurrent use.
type idPool struct {
	mu   sync.Mutex
	free []int
	next int
}

func (p *idPool) get() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		id := p.free[n-1]
		p.free = p.free[:n-1]
		return id
	}
	p.next++
	return p.next - 1
}

func (p *idPool) put(id int) {
	p.mu.Lock()
	p.free = append(p.free, id)
	p.mu.Unlock()
}

// requests runs request mode's arrivals until the schedule or
// request.count ends or ctx (the run's schedule) is done. Each request
// runs under reqCtx, which outlives ctx so answers in flight at the end
// of the schedule complete (each bounded by end.max_duration); wg
// tracks them.
func (g *gen) requests(ctx, reqCtx context.Context, start time.Time, total time.Duration, wg *sync.WaitGroup, mon *monitor) {
	if g.req.closed {
		g.closedLoop(ctx, reqCtx, start, total, wg, mon)
		return
	}
	g.openLoop(ctx, reqCtx, start, total, wg, mon)
}

// openLoop sends requests on a schedule computed from the start, never
// from "now": a slow server cannot slow the arrivals (its queueing shows
// in TTFT), and a late generator shows as schedule_lag.
func (g *gen) openLoop(ctx, reqCtx context.Context, start time.Time, total time.Duration, wg *sync.WaitGroup, mon *monitor) {
	rc := g.req
	p := &ratePacer{rateAt: g.rateAt, total: total, shard: g.shard, poisson: rc.poisson}
	p.run(ctx, start, mon.lag, func(due time.Time) bool {
		n, ok := rc.next()
		if !ok {
			return false
		}
		if g.rec.inFlight.Load() >= rc.maxInFlight {
			sh := g.rec.stripe(int(n))
			sh.mu.Lock()
			sh.c.requests++
			sh.end(report.EndSkipped)
			sh.mu.Unlock()
		} else {
			g.rec.inFlight.Add(1)
			wg.Go(func() {
				defer g.rec.inFlight.Add(-1)
				g.runRequest(reqCtx, n, due)
			})
		}
		return true
	})
}

// closedLoop keeps targetAt(t) requests in flight: each worker sends its
// next request as soon as its previous answer ends.
func (g *gen) closedLoop(ctx, reqCtx context.Context, start time.Time, total time.Duration, wg *sync.WaitGroup, mon *monitor) {
	rc := g.req
	p := newTargetPacer(start, total, g.targetAt, nil)
	worker := func() {
		for ctx.Err() == nil {
			n, ok := rc.next()
			if !ok {
				break
			}
			g.rec.inFlight.Add(1)
			g.runRequest(reqCtx, n, time.Now())
			g.rec.inFlight.Add(-1)
			g.mu.Lock()
			over := p.need(time.Now(), rc.active) < 0
			if over {
				rc.active--
			}
			g.mu.Unlock()
			if over {
				return
			}
		}
		g.mu.Lock()
		rc.active--
		g.mu.Unlock()
	}
	p.tick(ctx, mon.lag, func(now time.Time) bool {
		if rc.spent() {
			return false
		}
		g.mu.Lock()
		for n := p.need(now, rc.active); n > 0; n-- {
			rc.active++
			wg.Go(worker)
		}
		g.mu.Unlock()
		return true
	})
}

// reqState is one request's reusable buffers.
type reqState struct {
	dec     *sse.Decoder
	body    []byte
	scratch []byte
}

var reqStatePool = sync.Pool{New: func() any {
	return &reqState{dec: sse.NewDecoder(nil, sse.Config{BufSize: 2048})}
}}

// answer is what one request measured.
type answer struct {
	class            string
	err              error
	sent             time.Time // when the request was sent; zero if it never was
	firstTok, prevTk time.Time
	tokens, usage    int64
	haveUsage        bool
}

// runRequest sends request n, scheduled at due, and reads its answer to
// the end. It is never retried.
func (g *gen) runRequest(ctx context.Context, n int64, due time.Time) {
	rc := g.req
	sh := g.rec.stripe(int(n))
	// sent is the origin of ttft_sent and e2e_sent: what follows (dial,
	// writing the request, the server's own queue) is what a client that
	// sends now waits for, as vLLM's and LLMPerf's clients time it; the
	// time from due to here is the generator's (schedule_lag).
	sent := func() time.Time {
		now := time.Now()
		sh.mu.Lock()
		sh.record(mLag, now.Sub(due))
		sh.c.requests++
		sh.mu.Unlock()
		return now
	}

	st := reqStatePool.Get().(*reqState)
	defer reqStatePool.Put(st)
	var body []byte
	if rc.bodies != nil {
		b, err := rc.bodies.Render(n, st.body[:0])
		if b != nil {
			st.body = b[:0]
		}
		if err != nil {
			sent()
			g.endRequest(sh, due, &answer{class: report.EndBodyError, err: err})
			return
		}
		body = b
		switch {
		case body == nil:
			body = []byte{}
		case g.h2 != nil:
			// The HTTP/2 transport writes the body from its own goroutine,
			// which may outlive this request: it gets its own copy.
			body = bytes.Clone(body)
		}
	}
	h2id := 0
	if g.h2 != nil {
		// Requests in flight fill one connection's streams_per_conn
		// before the next connection is used.
		slot := rc.h2ids.get()
		defer rc.h2ids.put(slot)
		h2id = slot / max(1, g.sc.StreamsPerConn)
	}
	rctx, cancel := context.WithTimeoutCause(ctx, rc.maxDur, errMaxDuration)
	defer cancel()
	a := &answer{sent: sent()}
	g.readAnswer(rctx, sh, st, int(n), h2id, body, due, a)
	if a.class == "" {
		a.class = report.EndReadError
	}
	g.endRequest(sh, due, a)
}

// readAnswer opens the request and reads its events until the answer ends.
func (g *gen) readAnswer(ctx context.Context, sh *stripe, st *reqState, id, h2id int, body []byte, due time.Time, a *answer) {
	rc := g.req
	var tm timings
	op, err := g.openWith(ctx, id, h2id, "", body, &tm)
	if err != nil {
		a.class, a.err = ClassifyDialErr(ctx, err), err
		if context.Cause(ctx) == errMaxDuration {
			a.class = report.EndMaxDuration
		}
		if sh.isError(a.class) {
			sh.mu.Lock()
			sh.c.failed++
			sh.mu.Unlock()
		}
		return
	}
	defer op.cleanup()
	resp := op.resp
	sh.mu.Lock()
	sh.record(mConnect, tm.connected.Sub(due))
	sh.record(mHeaders, tm.headers.Sub(due))
	sh.mu.Unlock()
	if resp.StatusCode != http.StatusOK || !sse.IsEventStream(resp.Header.Get("Content-Type")) {
		a.class = report.EndHTTP(resp.StatusCode)
		if resp.StatusCode == http.StatusOK {
			a.class = report.EndContentType
		}
		a.err = fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), errorBody(resp.Body, op.kill))
		sh.mu.Lock()
		sh.c.failed++
		sh.mu.Unlock()
		return
	}
	g.rec.open.Add(1)
	defer g.rec.open.Add(-1)
	sh.mu.Lock()
	sh.c.opened++
	sh.mu.Unlock()

	fb := newFirstByteReader(resp.Body, op.nc, op.drain, g.sc.Timeout.Read.D(), op.kill)
	defer fb.stop()
	defer func() {
		if !fb.first.IsZero() {
			sh.mu.Lock()
			sh.record(mFirstByte, fb.first.Sub(due))
			sh.mu.Unlock()
		}
	}()
	var r io.Reader = fb
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(fb)
		if err != nil {
			a.class, a.err = report.EndProtocolError, err
			return
		}
		r = zr
	}
	dec := st.dec
	dec.Reset(r)
	defer dec.Reset(nil) // let the pooled decoder drop this body
	var consumed int64
	for dec.Next() {
		now := time.Now()
		nb := dec.Consumed() - consumed
		consumed += nb
		switch dec.Kind() {
		case sse.KindEvent:
			data := dec.Data()
			end := ""
			switch {
			case rc.endDataOn && string(data) == rc.endData:
				end = report.EndSentinel
			case rc.endEvent != "" && dec.EventType() == rc.endEvent:
				end = report.EndEventType
			}
			var ntok int64
			tok := false
			if end != report.EndSentinel {
				if rc.usage != nil {
					if v, ok := rc.usage.number(data); ok {
						a.usage, a.haveUsage = v, true
					}
				}
				if rc.delta != nil {
					var d []byte
					if d, st.scratch = rc.delta.str(data, st.scratch); len(d) > 0 {
						tok, ntok = true, rc.count(d)
					}
				} else if end == "" {
					tok, ntok = true, rc.count(data)
				}
			}
			typeName, typeKept := g.rec.typeTab.internString(dec.EventType())
			var field []byte
			fieldOK := false
			tf := g.names.typeField()
			if tf != nil {
				field, fieldOK, st.scratch = scalar(tf, data, st.scratch)
			}
			fieldName, fieldKept := "", false
			if fieldOK {
				fieldName, fieldKept = g.rec.fieldTab.intern(field)
			}
			sh.mu.Lock()
			sh.types.add(typeName, typeKept, -1)
			switch {
			case fieldOK:
				sh.fields.add(fieldName, fieldKept, -1)
			case tf != nil:
				sh.c.typeFieldMissing++
			}
			sh.c.events++
			sh.c.bytes += nb
			if tok {
				if a.firstTok.IsZero() {
					sh.record(mTTFT, now.Sub(due))
					sh.record(mTTFTSent, now.Sub(a.sent))
				} else {
					sh.record(mITL, now.Sub(a.prevTk))
				}
			}
			sh.mu.Unlock()
			if tok {
				if a.firstTok.IsZero() {
					a.firstTok = now
				}
				a.prevTk = now
				a.tokens += ntok
			}
			if end != "" {
				a.class = end
				return
			}
		case sse.KindComment:
			sh.mu.Lock()
			sh.c.comments++
			sh.c.bytes += nb
			sh.mu.Unlock()
		}
	}
	err = dec.Err()
	sh.mu.Lock()
	sh.c.bytes += dec.Consumed() - consumed
	sh.mu.Unlock()
	var dummy slot
	a.class, a.err = g.classifyEnd(ctx, &dummy, err), err
	if context.Cause(ctx) == errMaxDuration {
		a.class = report.EndMaxDuration
		a.err = fmt.Errorf("answer still streaming after %v (end.max_duration)", g.req.maxDur)
	}
}

// endRequest records a request's end: its class, e2e and TPOT, its token
// total (usage replacing the count) under how it ended, and whether it
// was good. Tokens count when the answer ends, so throughput holds only
// answers that ended normally.
func (g *gen) endRequest(sh *stripe, due time.Time, a *answer) {
	rc := g.req
	now := time.Now()
	e2e := now.Sub(due)
	ok := requestOK(a.class)
	tokens := a.tokens
	if a.haveUsage {
		tokens = a.usage
	}
	var ttft, tpot time.Duration
	hasTTFT := !a.firstTok.IsZero()
	if hasTTFT {
		ttft = a.firstTok.Sub(due)
	}
	hasTPOT := ok && hasTTFT && tokens > 1
	if hasTPOT {
		tpot = now.Sub(a.firstTok) / time.Duration(tokens-1)
	}
	good := ok &&
		(rc.ttftMax == 0 || (hasTTFT && ttft <= rc.ttftMax)) &&
		(rc.tpotMax == 0 || !hasTPOT || tpot <= rc.tpotMax) &&
		(rc.e2eMax == 0 || e2e <= rc.e2eMax)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ok || a.class == report.EndMaxDuration {
		sh.record(mE2E, e2e)
		if !a.sent.IsZero() {
			sh.record(mE2ESent, now.Sub(a.sent))
		}
	}
	switch {
	case ok:
		sh.c.tokens += tokens
	case requestCut(a.class):
		sh.c.requestsCut++
		sh.c.tokensCut += tokens
	default:
		sh.c.tokensFailed += tokens
	}
	if hasTPOT {
		sh.record(mTPOT, tpot)
	}
	if ok {
		sh.c.requestsOK++
	}
	if good {
		sh.c.requestsGood++
	}
	if sh.end(a.class) {
		sh.sample(a.class, a.err)
	}
}

// errorBody reads the start of an error response for the error sample
// (an LLM API says why it refused there), bounded in size and time.
func errorBody(body io.Reader, kill io.Closer) string {
	t := time.AfterFunc(time.Second, func() { kill.Close() })
	defer t.Stop()
	b, _ := io.ReadAll(io.LimitReader(body, 300))
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if s == "" {
		return "(empty body)"
	}
	return s
}

// countWords counts whitespace-separated words, as strings.Fields would,
// without allocating.
func countWords(b []byte) int64 {
	var n int64
	in := false
	for i := 0; i < len(b); {
		c := b[i]
		var space bool
		if c < utf8.RuneSelf {
			space = asciiSpace[c]
			i++
		} else {
			r, size := utf8.DecodeRune(b[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// countChars4 is ceil(runes/4), the usual rule of thumb for BPE tokens.
func countChars4(b []byte) int64 { return int64(utf8.RuneCount(b)+3) / 4 }

// setRequestPoint fills a time-series point's request-mode fields from an
// interval.
func setRequestPoint(p *report.Point, iv counts, ttftP50, ttftP99, itlP99 float64) {
	p.Requests = iv.requests
	p.Tokens = iv.tokens
	setRequestQuantiles(p, ttftP50, ttftP99, itlP99)
}

func setRequestQuantiles(p *report.Point, ttftP50, ttftP99, itlP99 float64) {
	p.TTFTP50MS, p.TTFTP99MS, p.ITLP99MS = ttftP50, ttftP99, itlP99
}
