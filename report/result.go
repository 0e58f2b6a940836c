package report

import (
	"encoding/json"
	"math"
	"time"
)

// ResultSchema names the version of the load result JSON.
const ResultSchema = "ssebench/result/v1"

// Metric names in Result.Metrics.
const (
	MetricConnect         = "connect"          // scheduled attempt → TCP (and TLS) connected
	MetricHeaders         = "headers"          // scheduled attempt → response headers
	MetricFirstByte       = "first_byte"       // scheduled attempt → first body byte
	MetricFirstEvent      = "first_event"      // scheduled attempt → first event
	MetricInterEvent      = "inter_event"      // gap between consecutive events on one connection
	MetricDelivery        = "delivery"         // server send timestamp → event parsed here
	MetricPublishDelivery = "publish_delivery" // ssebench publish → event parsed by each subscriber
	MetricReconnect       = "reconnect"        // stream ended → first event of the next connection
	MetricLifetime        = "lifetime"         // connected → stream ended
	MetricLag             = "schedule_lag"     // scheduled attempt → attempt actually started (generator health; request mode: scheduled → sent)

	// Request mode (one streamed answer per request). ttft and e2e run
	// from the scheduled time (open loop: a late generator cannot hide a
	// slow server); ttft_sent and e2e_sent from the moment the request was
	// actually sent, as vLLM's and LLMPerf's clients time them. The two
	// differ by schedule_lag (scheduled → sent) of the same request.
	MetricTTFT     = "ttft"      // scheduled request → first token (first event with content)
	MetricTTFTSent = "ttft_sent" // request sent → first token
	MetricITL      = "itl"       // gap between consecutive token-carrying events of one answer
	MetricTPOT     = "tpot"      // per answer: (e2e - ttft) / (output tokens - 1)
	MetricE2E      = "e2e"       // scheduled request → end of the answer
	MetricE2ESent  = "e2e_sent"  // request sent → end of the answer
)

// MetricNames lists the metrics every load result carries, in report order.
var MetricNames = []string{
	MetricConnect, MetricHeaders, MetricFirstByte, MetricFirstEvent, MetricInterEvent,
	MetricDelivery, MetricPublishDelivery, MetricReconnect, MetricLifetime, MetricLag,
}

// RequestMetricNames lists the metrics of a request-mode result, in report
// order: what an LLM benchmark reports first, then the connection phases
// and the generator's own lag.
var RequestMetricNames = []string{
	MetricTTFT, MetricTTFTSent, MetricITL, MetricTPOT, MetricE2E, MetricE2ESent,
	MetricConnect, MetricHeaders, MetricFirstByte, MetricLag,
}

// Result is one load run: the JSON every other output is rendered from.
type Result struct {
	Schema        string            `json:"schema"`
	Version       string            `json:"version"`
	GoVersion     string            `json:"go_version"`
	Host          string            `json:"host"`
	Command       string            `json:"command,omitempty"`
	Mode          string            `json:"mode,omitempty"` // "subscribe" (or empty) or "request"
	Target        string            `json:"target"`
	Scenario      json.RawMessage   `json:"scenario,omitempty"` // as run, secrets redacted
	Start         time.Time         `json:"start"`
	End           time.Time         `json:"end"`
	DurationS     float64           `json:"duration_s"`
	Partial       bool              `json:"partial"`
	PartialReason string            `json:"partial_reason,omitempty"`
	Aborted       bool              `json:"aborted,omitempty"` // abort_on_fail stopped it (Partial too): a failed gate, not an interruption
	Shard         string            `json:"shard,omitempty"`   // "i/n" when this is one shard's share
	Merged        int               `json:"merged,omitempty"`  // how many results Merge combined into this one
	Metrics       map[string]Metric `json:"metrics"`
	Counters      Counters          `json:"counters"`
	Timeseries    []Point           `json:"timeseries"`
	Generator     Generator         `json:"generator"`
	Thresholds    []ThresholdResult `json:"thresholds,omitempty"`
	Notes         []string          `json:"notes,omitempty"`

	// Unreachable: the run stopped early (Partial too) because every
	// attempt of its first seconds failed with the same connect or TLS
	// error; PartialReason gives the cause.
	Unreachable bool `json:"unreachable,omitempty"`
}

// Counters are the run's totals.
type Counters struct {
	StreamsOpened    int64 `json:"streams_opened"`    // connections answered 200 text/event-stream
	StreamsFailed    int64 `json:"streams_failed"`    // connection attempts that did not become a stream
	Events           int64 `json:"events"`            // events dispatched
	Comments         int64 `json:"comments"`          // comment lines (heartbeats)
	Bytes            int64 `json:"bytes"`             // body bytes parsed
	Reconnects       int64 `json:"reconnects"`        // attempts made after a stream ended
	EventsLost       int64 `json:"events_lost"`       // sequence gaps (with sequence: true)
	EventsDuplicated int64 `json:"events_duplicated"` // sequence repeats (with sequence: true)
	Publishes        int64 `json:"publishes"`         // publishes answered 2xx
	PublishErrors    int64 `json:"publish_errors"`    // publishes that failed
	ClockSkew        int64 `json:"clock_skew"`        // events stamped in the future (no delivery sample)
	// Unstamped counts events whose latency field was missing or not a
	// time: they give no delivery sample. DeliveryOverHour counts delivery
	// samples over an hour (a stamp in the wrong unit, most likely).
	Unstamped        int64 `json:"unstamped,omitempty"`
	DeliveryOverHour int64 `json:"delivery_over_hour,omitempty"`
	Redirects        int64 `json:"redirects,omitempty"` // redirects followed (301, 302, 303, 307, 308)
	// Request mode. Requests counts every arrival, including those
	// skipped (not sent) for being over max_in_flight, which end as
	// "skipped": left out, they would flatter goodput (RequestsGood over
	// Requests) just when the server falls behind.
	//
	// Output tokens are split by how their answer ended, so throughput
	// (Tokens) counts only answers that ended normally, as vLLM's output
	// throughput does: an answer cut at end.max_duration or by the run's
	// end (RequestsCut, TokensCut), or one that failed (TokensFailed),
	// would otherwise pass its partial output off as served work.
	Requests     int64            `json:"requests,omitempty"`      // arrivals: requests sent plus skipped ones
	RequestsOK   int64            `json:"requests_ok,omitempty"`   // answers that ended normally (sentinel, end event or clean close)
	RequestsGood int64            `json:"requests_good,omitempty"` // answers that also met every per-request SLO (goodput)
	Tokens       int64            `json:"tokens,omitempty"`        // output tokens of the answers that ended normally (counted, or reported by usage)
	RequestsCut  int64            `json:"requests_cut,omitempty"`  // answers cut by ssebench: end.max_duration or the run's end (max_duration, cancelled)
	TokensCut    int64            `json:"tokens_cut,omitempty"`    // output tokens of the cut answers (not in Tokens)
	TokensFailed int64            `json:"tokens_failed,omitempty"` // output tokens of the answers that failed otherwise (reset, eof_mid_event, ...; not in Tokens)
	Ends         map[string]int64 `json:"ends"`                    // why streams ended, per end class
	// ErrorSamples holds the first error message seen per abnormal end
	// class, so "connect_error" can be told apart from its cause.
	ErrorSamples map[string]string `json:"error_samples,omitempty"`

	// EventsByType counts the events per SSE event type ("message" for an
	// event without an event: line, as EventSource dispatches it), with
	// their delivery latency when stamped; EventsByField per value of the
	// scenario's type_field in the JSON data (TypeFieldMissing: events
	// without one). Each table keeps MaxEventNames names; EventsOther
	// counts the events of the names past that.
	EventsByType     map[string]EventCount `json:"events_by_type,omitempty"`
	EventsByField    map[string]EventCount `json:"events_by_field,omitempty"`
	TypeFieldMissing int64                 `json:"type_field_missing,omitempty"`
	EventsOther      *EventsOther          `json:"events_other,omitempty"`
}

// Point is one second of the run.
type Point struct {
	T               float64          `json:"t"` // seconds since start
	Open            int64            `json:"open"`
	Target          int64            `json:"target"`
	Connects        int64            `json:"connects"`
	Failures        int64            `json:"failures"`
	Events          int64            `json:"events"`
	Reconnects      int64            `json:"reconnects"`
	Errors          int64            `json:"errors"` // failures plus abnormal ends
	Bytes           int64            `json:"bytes"`
	FirstEventP50MS float64          `json:"first_event_p50_ms"`
	FirstEventP99MS float64          `json:"first_event_p99_ms"`
	DeliveryP50MS   float64          `json:"delivery_p50_ms"`
	DeliveryP99MS   float64          `json:"delivery_p99_ms"`
	DeliveryMaxMS   float64          `json:"delivery_max_ms"`
	ErrorsByKind    map[string]int64 `json:"errors_by_kind,omitempty"`
	// Request mode: requests issued (sent or skipped, as in
	// Counters.Requests) in the interval, the output tokens of the answers
	// that ended normally in it (as in Counters.Tokens, so the points add
	// up to the total), and the TTFT and ITL percentiles of the interval.
	Requests  int64   `json:"requests,omitempty"`
	Tokens    int64   `json:"tokens,omitempty"`
	TTFTP50MS float64 `json:"ttft_p50_ms,omitempty"`
	TTFTP99MS float64 `json:"ttft_p99_ms,omitempty"`
	ITLP99MS  float64 `json:"itl_p99_ms,omitempty"`
	// Teardown marks the final flush after the run's duration: the
	// streams being closed, not load. Charts, rates and the live
	// progress leave it out; its counts stay in the totals.
	Teardown bool `json:"teardown,omitempty"`
}

// LoadPoints is the time series without its teardown point (the streams
// closing at the end), which would read as a collapse of the load. A
// result saved before points were marked has its teardown told by shape:
// a last interval shorter than a second in which no stream was open.
func LoadPoints(ts []Point) []Point {
	n := len(ts)
	if n == 0 {
		return ts
	}
	last := ts[n-1]
	if last.Teardown || (n > 1 && last.T-ts[n-2].T < 0.95 && last.Open == 0 && ts[n-2].Open > 0) {
		return ts[:n-1]
	}
	return ts
}

// MergedSecond places point p of one input, which started offset after
// the merged start, in a merged time series: the second since the merged
// start that it closes (1 for the first). Inputs that started within the
// same second share their seconds however their ticks jitter (a point is
// the input's own second k, rounded), so no second of the merge holds two
// points of one input and the next none (a spike, then a dip). A teardown
// point gets the second after its input's last tick: folded into that
// tick's second, its zero open streams would read as a collapse.
func MergedSecond(offset time.Duration, p Point) int {
	base := int(max(0, offset) / time.Second)
	if p.Teardown {
		return base + int(math.Floor(p.T)) + 1
	}
	return base + int(math.Round(p.T))
}

// EventRate is the events per second of the load: the events of the load
// seconds over their span, the teardown left out of both.
func (r *Result) EventRate() float64 {
	load := LoadPoints(r.Timeseries)
	if len(load) == 0 || load[len(load)-1].T <= 0 {
		if r.DurationS > 0 {
			return float64(r.Counters.Events) / r.DurationS
		}
		return 0
	}
	var ev int64
	for _, p := range load {
		ev += p.Events
	}
	return float64(ev) / load[len(load)-1].T
}

// Add folds interval q into p: counts are summed, latency percentiles keep
// the larger value (an upper bound: per-second histograms are not kept).
// Open and Target are gauges, left to the caller.
func (p *Point) Add(q Point) {
	p.Connects += q.Connects
	p.Failures += q.Failures
	p.Events += q.Events
	p.Reconnects += q.Reconnects
	p.Errors += q.Errors
	p.Bytes += q.Bytes
	p.FirstEventP50MS = max(p.FirstEventP50MS, q.FirstEventP50MS)
	p.FirstEventP99MS = max(p.FirstEventP99MS, q.FirstEventP99MS)
	p.DeliveryP50MS = max(p.DeliveryP50MS, q.DeliveryP50MS)
	p.DeliveryP99MS = max(p.DeliveryP99MS, q.DeliveryP99MS)
	p.DeliveryMaxMS = max(p.DeliveryMaxMS, q.DeliveryMaxMS)
	p.ErrorsByKind = AddCounts(p.ErrorsByKind, q.ErrorsByKind)
	p.Requests += q.Requests
	p.Tokens += q.Tokens
	p.TTFTP50MS = max(p.TTFTP50MS, q.TTFTP50MS)
	p.TTFTP99MS = max(p.TTFTP99MS, q.TTFTP99MS)
	p.ITLP99MS = max(p.ITLP99MS, q.ITLP99MS)
}

// AddCounts adds src into dst, allocating dst only when src has counts.
func AddCounts(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]int64, len(src))
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// Generator is how the load generator itself fared.
type Generator struct {
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// BaselineRSSBytes is the resident set before the first stream, so
	// (peak - baseline) / streams is the memory one stream costs.
	BaselineRSSBytes int64   `json:"baseline_rss_bytes"`
	CPUSeconds       float64 `json:"cpu_seconds"`
	MaxLagMS         float64 `json:"max_lag_ms"` // worst scheduling lag of the generator's own timer
	PeakGoroutines   int     `json:"peak_goroutines"`
	Procs            int     `json:"procs"` // GOMAXPROCS
	Saturated        bool    `json:"saturated"`
	SaturatedReason  string  `json:"saturated_reason,omitempty"`
}

// ThresholdResult is one evaluated threshold.
type ThresholdResult struct {
	Expr   string  `json:"expr"`
	Value  float64 `json:"value"` // in Unit: milliseconds, a 0..1 share, or a count
	Passed bool    `json:"passed"`
	Unit   string  `json:"unit,omitempty"` // UnitMS, UnitRatio or UnitCount
	Note   string  `json:"note,omitempty"` // why it failed without a value (no samples)
}

// ReadResult loads a run's result JSON: ReadKind with ResultSchema.
func ReadResult(path string) (*Result, error) {
	s, err := ReadKind(path, ResultSchema)
	return s.Result, err
}

// Result modes.
const (
	ModeSubscribe = "subscribe"
	ModeRequest   = "request"
)

// EndedEarly records why a run stopped before its end, if it did, in
// order of precedence: the target unreachable, a threshold abort, an
// interruption (ctx cancelled, a shard lost) elapsed into the run. Every
// way of running a scenario (one process, or shards merged live) ends its
// result here.
func (r *Result) EndedEarly(unreachable, abort error, interrupted bool, elapsed time.Duration) {
	switch {
	case unreachable != nil:
		r.Partial, r.Unreachable = true, true
		r.PartialReason = unreachable.Error()
	case abort != nil:
		r.Partial, r.Aborted = true, true
		r.PartialReason = abort.Error()
	case interrupted:
		r.Partial = true
		r.PartialReason = "interrupted after " + elapsed.Round(time.Second).String()
	}
}

// IsRequestMode reports whether the result is a request-mode run (one
// streamed answer per request), which reports requests, tokens, TTFT and
// ITL rather than long-lived streams.
func (r *Result) IsRequestMode() bool { return r.Mode == ModeRequest }

// modeOf is the result's mode, "subscribe" when unset (older results).
func modeOf(r *Result) string {
	if r.Mode == "" {
		return ModeSubscribe
	}
	return r.Mode
}
