// Package tap is `ssebench tap`: one stream watched the way a browser's
// EventSource sees it (reconnecting with Last-Event-ID, honouring retry
// and 204), every event and end printed as it happens, or as NDJSON.
package tap

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/sse"
)

// Config is what `ssebench tap` watches and how. The zero value of each
// optional field is a sensible default.
type Config struct {
	URL         string
	Method      string      // "" means GET
	Body        []byte      // request body for POST endpoints
	Header      http.Header // extra request headers
	LastEventID string      // sent on the first request
	Insecure    bool        // skip TLS verification
	Count       int         // stop after this many events; 0 means no limit
	Duration    time.Duration
	Reconnect   bool // follow the stream across disconnects like EventSource
	JSON        bool // NDJSON output instead of the human format
	Width       int  // data shown per event in the human format; 0 means 100
	MaxSize     int  // decoder limit; 0 means sse.OneStreamMaxSize
}

// Summary is what a tap saw, printed when it stops.
type Summary struct {
	Events      int           `json:"events"`
	Comments    int           `json:"comments"`
	Bytes       int64         `json:"bytes"`
	Connects    int           `json:"connects"`
	Headers     time.Duration `json:"-"`
	FirstEvent  time.Duration `json:"-"`
	GapMin      time.Duration `json:"-"`
	GapMedian   time.Duration `json:"-"`
	GapMax      time.Duration `json:"-"`
	LastEventID string        `json:"last_event_id"`
	End         string        `json:"end"`                  // end class of the last connection (report.EndClasses)
	EndDetail   string        `json:"end_detail,omitempty"` // what exactly happened, when there is more to say
}

// ErrStopped204 is the end of a stream whose server answered 204 No
// Content, which tells a browser to stop reconnecting.
var ErrStopped204 = errors.New("server answered 204 No Content: a browser stops reconnecting")

// tapper holds one tap's state across its connections.
type tapper struct {
	cfg      Config
	out      io.Writer
	client   *http.Client
	sum      Summary
	gaps     []time.Duration
	lastAt   time.Time
	retry    time.Duration
	firstHdr bool
	firstEv  bool
	start    time.Time
	jsonEnc  *json.Encoder
}

// Tap watches one stream, printing each item as it arrives, until ctx ends,
// Count events or Duration pass, or the stream ends (with Reconnect: until
// the server answers 204 or anything but an event stream). The summary is
// returned (and printed) whatever happened; the error is non-nil only when
// the first connection could not be made or was not an event stream.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	if cfg.Width <= 0 {
		cfg.Width = 100
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	t := &tapper{cfg: cfg, out: out, retry: sse.DefaultRetry, start: time.Now()}
	t.client = &http.Client{Transport: &http.Transport{
		Proxy:              http.ProxyFromEnvironment,
		DisableCompression: true, // keep Content-Encoding visible; gzip is decoded here
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: cfg.Insecure},
		ForceAttemptHTTP2:  true,
	}}
	defer t.client.CloseIdleConnections()
	if cfg.JSON {
		t.jsonEnc = json.NewEncoder(out)
		t.jsonEnc.SetEscapeHTML(false)
	}
	lastID := cfg.LastEventID
	var firstErr error
	for attempt := 0; ; attempt++ {
		end, detail, id, err := t.connect(ctx, lastID)
		lastID = id
		t.sum.End, t.sum.EndDetail = end, detail
		if err != nil && attempt == 0 && t.sum.Connects == 0 {
			firstErr = err
		}
		var rerr *sse.ResponseError
		if !cfg.Reconnect || ctx.Err() != nil || errors.Is(err, ErrStopped204) || errors.As(err, &rerr) || t.done() {
			if attempt == 0 && errors.As(err, &rerr) {
				firstErr = err
			}
			break
		}
		t.note("reconnect", fmt.Sprintf("stream ended (%s); reconnecting in %v with Last-Event-ID %q", endText(end, detail), t.retry, lastID),
			map[string]any{"after_ms": t.retry.Milliseconds(), "last_event_id": lastID, "reason": end})
		select {
		case <-ctx.Done():
		case <-time.After(t.retry):
		}
		if ctx.Err() != nil {
			break
		}
	}
	t.sum.LastEventID = lastID
	t.finish()
	return t.sum, firstErr
}

func (t *tapper) done() bool { return t.cfg.Count > 0 && t.sum.Events >= t.cfg.Count }

// connect runs one connection; it returns how it ended (an end class and
// what exactly happened, when there is more to say than the class's
// description), the last event ID to resume from, and an error for
// failures worth reporting.
func (t *tapper) connect(ctx context.Context, lastID string) (end, detail, id string, err error) {
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gotHeaders time.Time
	began := time.Now()
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { gotHeaders = time.Now() }}
	req, err := sse.NewRequest(httptrace.WithClientTrace(connCtx, trace), t.cfg.Method, t.cfg.URL, t.cfg.Body, t.cfg.Header, lastID)
	if err != nil {
		return report.EndRequestError, err.Error(), lastID, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return report.EndCancelled, "", lastID, nil
		}
		class := loadgen.ClassifyDialErr(ctx, err)
		text := report.WithHint(err.Error(), class, t.cfg.Insecure)
		t.note("error", "connect failed: "+text, map[string]any{"error": err.Error()})
		return class, text, lastID, fmt.Errorf("%w%s", err, strings.TrimPrefix(text, err.Error()))
	}
	defer resp.Body.Close()
	t.sum.Connects++
	if gotHeaders.IsZero() {
		gotHeaders = time.Now()
	}
	t.printResponse(resp, gotHeaders.Sub(began))
	if !t.firstHdr {
		t.firstHdr = true
		t.sum.Headers = gotHeaders.Sub(began)
	}
	if resp.StatusCode == http.StatusNoContent {
		return report.EndHTTP204, "", lastID, ErrStopped204
	}
	if err := sse.CheckResponse(resp); err != nil {
		class := report.EndHTTP(resp.StatusCode)
		if resp.StatusCode == http.StatusOK {
			class = report.EndContentType
		}
		return class, "not an event stream: " + err.Error(), lastID, err
	}
	var body io.Reader = resp.Body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return report.EndProtocolError, "bad gzip: " + err.Error(), lastID, nil
		}
		body = zr
	}
	counted := &countingReader{r: body}
	maxSize := t.cfg.MaxSize
	if maxSize <= 0 {
		maxSize = sse.OneStreamMaxSize
	}
	dec := sse.NewDecoder(counted, sse.Config{MaxSize: maxSize})
	dec.SetLastEventID(lastID)
	defer func() { t.sum.Bytes += counted.n }()
	for dec.Next() {
		now := time.Now()
		switch dec.Kind() {
		case sse.KindEvent:
			t.printEvent(dec.Event(), now, now.Sub(began))
			if t.done() {
				return report.EndCount, fmt.Sprintf("count %d reached", t.cfg.Count), dec.LastEventID(), nil
			}
		case sse.KindComment:
			t.sum.Comments++
			t.item(now.Sub(began), "", ":"+dec.Comment(), map[string]any{"kind": "comment", "text": dec.Comment()})
		case sse.KindRetry:
			t.retry = dec.RetryDuration()
			t.item(now.Sub(began), "", fmt.Sprintf("retry %dms", dec.Retry()), map[string]any{"kind": "retry", "ms": dec.Retry()})
		}
	}
	err = dec.Err()
	id = dec.LastEventID()
	switch {
	case ctx.Err() != nil:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return report.EndDuration, "duration reached", id, nil
		}
		return report.EndCancelled, "", id, nil
	case err == nil:
		return report.EndEOF, "", id, nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return report.EndEOFMidEvent, "the incomplete event was dropped", id, nil
	case errors.Is(err, sse.ErrTooLarge):
		return report.EndTooLarge, err.Error(), id, nil
	}
	return report.EndReadError, "read error: " + err.Error(), id, nil
}

// endText is an end for a person: the class, and what happened (or the
// class's description).
func endText(class, detail string) string {
	if detail == "" {
		detail = report.EndDesc(report.ProducerTap, class)
	}
	if detail == "" {
		return class
	}
	return class + " (" + detail + ")"
}

// sseHeaders are the response headers worth showing for an event stream.
var sseHeaders = []string{
	"Content-Type", "Cache-Control", "Content-Encoding", "Content-Length", "Connection",
	"X-Accel-Buffering", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
	"Vary", "Retry-After", "Location", "Server", "Via", "Alt-Svc",
}

func (t *tapper) printResponse(resp *http.Response, headers time.Duration) {
	shown := map[string]string{}
	for _, h := range sseHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			shown[h] = strings.Join(v, ", ")
		}
	}
	if len(resp.TransferEncoding) > 0 {
		shown["Transfer-Encoding"] = strings.Join(resp.TransferEncoding, ", ")
	}
	if t.jsonEnc != nil {
		t.jsonEnc.Encode(map[string]any{"kind": "response", "status": resp.StatusCode, "proto": resp.Proto,
			"headers": shown, "headers_ms": ms(headers), "at": time.Now().Format(time.RFC3339Nano)})
		return
	}
	fmt.Fprintf(t.out, "%s %s  (headers in %s)\n", resp.Proto, resp.Status, round(headers))
	keys := make([]string, 0, len(shown))
	for k := range shown {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(t.out, "  %s: %s\n", k, shown[k])
	}
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if len(snippet) > 0 {
			fmt.Fprintf(t.out, "  body: %s\n", t.clip(string(snippet)))
		}
	}
}

func (t *tapper) printEvent(ev sse.Event, now time.Time, sinceConnect time.Duration) {
	t.sum.Events++
	gap := time.Duration(-1)
	if !t.lastAt.IsZero() {
		gap = now.Sub(t.lastAt)
		t.gaps = append(t.gaps, gap)
	}
	t.lastAt = now
	if !t.firstEv {
		t.firstEv = true
		t.sum.FirstEvent = now.Sub(t.start)
	}
	if t.jsonEnc != nil {
		rec := map[string]any{"kind": "event", "type": ev.Type, "data": ev.Data, "id": ev.ID, "t_ms": ms(sinceConnect)}
		if gap >= 0 {
			rec["gap_ms"] = ms(gap)
		}
		t.jsonEnc.Encode(rec)
		return
	}
	gapText := "-"
	if gap >= 0 {
		gapText = "+" + round(gap).String()
	}
	id := ""
	if ev.ID != "" {
		id = " id=" + ev.ID
	}
	fmt.Fprintf(t.out, "%9s %9s %s%s  %s\n", "+"+round(sinceConnect).String(), gapText, ev.Type, id, t.clip(ev.Data))
}

// item prints a comment or retry line.
func (t *tapper) item(since time.Duration, gap, text string, rec map[string]any) {
	if t.jsonEnc != nil {
		rec["t_ms"] = ms(since)
		t.jsonEnc.Encode(rec)
		return
	}
	fmt.Fprintf(t.out, "%9s %9s %s\n", "+"+round(since).String(), gap, t.clip(text))
}

// note prints a line about the tap itself (reconnects, errors).
func (t *tapper) note(kind, text string, rec map[string]any) {
	if t.jsonEnc != nil {
		rec["kind"] = kind
		t.jsonEnc.Encode(rec)
		return
	}
	fmt.Fprintf(t.out, "-- %s\n", text)
}

func (t *tapper) finish() {
	if n := len(t.gaps); n > 0 {
		s := slices.Clone(t.gaps)
		slices.Sort(s)
		t.sum.GapMin, t.sum.GapMedian, t.sum.GapMax = s[0], s[n/2], s[n-1]
	}
	if t.jsonEnc != nil {
		t.jsonEnc.Encode(map[string]any{"kind": "summary", "events": t.sum.Events, "comments": t.sum.Comments,
			"bytes": t.sum.Bytes, "connects": t.sum.Connects, "headers_ms": ms(t.sum.Headers),
			"first_event_ms": ms(t.sum.FirstEvent), "gap_min_ms": ms(t.sum.GapMin), "gap_median_ms": ms(t.sum.GapMedian),
			"gap_max_ms": ms(t.sum.GapMax), "last_event_id": t.sum.LastEventID, "end": t.sum.End, "end_detail": t.sum.EndDetail})
		return
	}
	fmt.Fprintf(t.out, "\n%d events, %d comments, %d bytes over %d connection(s); ended: %s\n",
		t.sum.Events, t.sum.Comments, t.sum.Bytes, t.sum.Connects, endText(t.sum.End, t.sum.EndDetail))
	if t.sum.Connects > 0 {
		fmt.Fprintf(t.out, "headers %s", round(t.sum.Headers))
		if t.sum.Events > 0 {
			fmt.Fprintf(t.out, ", first event %s", round(t.sum.FirstEvent))
		}
		if len(t.gaps) > 0 {
			fmt.Fprintf(t.out, ", gap min/median/max %s / %s / %s", round(t.sum.GapMin), round(t.sum.GapMedian), round(t.sum.GapMax))
		}
		fmt.Fprintln(t.out)
	}
	if t.sum.LastEventID != "" {
		fmt.Fprintf(t.out, "last event id %q (resume with --last-event-id)\n", t.sum.LastEventID)
	}
}

// clip shortens s to the configured width on one line.
func (t *tapper) clip(s string) string {
	s = strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
	if utf8.RuneCountInString(s) <= t.cfg.Width {
		return s
	}
	r := []rune(s)
	return fmt.Sprintf("%s… (%d bytes)", string(r[:t.cfg.Width]), len(s))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// round keeps durations readable: 1.234s, 12.3ms, 45µs.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
