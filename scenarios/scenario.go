// Package scenarios owns the scenario model: what a load run does, its YAML
// form (strict: an unknown key or wrong type is an error naming the key and
// line), the `run` flags that map 1:1 to its fields, validation, the
// built-in profiles (steady, ramp, spike, soak, churn), mode request's
// load shapes, body templates and datasets (Bodies), and mode capacity's
// staircase settings (Capacity).
package scenarios

import (
	"time"
)

// Scenario is one load run. Every field has a YAML key (shown) and a `run`
// flag; the zero value of each optional field is its documented default.
type Scenario struct {
	Name string `yaml:"name" json:"name,omitempty"`
	// Mode is "subscribe" (default: long-lived streams), "request" (each
	// stream is one request whose answer ends; see Request) or "capacity"
	// (a search for the most long-lived streams the target holds within
	// Thresholds; see Capacity).
	Mode string `yaml:"mode" json:"mode,omitempty"`

	// Target.
	URLs     []string          `yaml:"url" json:"url"` // one or several, spread round-robin; YAML accepts a string or a list
	Method   string            `yaml:"method" json:"method,omitempty"`
	Body     string            `yaml:"body" json:"body,omitempty"`       // in mode request a template filled per request (see Bodies); a body does not imply POST
	Headers  map[string]string `yaml:"headers" json:"headers,omitempty"` // values may hold ${ENV}
	Insecure bool              `yaml:"insecure" json:"insecure,omitempty"`
	Timeout  Timeouts          `yaml:"timeout" json:"timeout"`
	// SourceAddrs is the pool of local addresses client sockets bind to,
	// round-robin: each entry an address, a range "127.0.0.1-127.0.0.8",
	// a CIDR "127.0.0.0/29", or a comma-separated list of those. One
	// source address reaches one server port with at most the ephemeral
	// port range (about 28,000 here); more addresses, more connections.
	// Empty means the system's choice (or, on loopback targets, an
	// automatic pool when the count needs it).
	SourceAddrs []string `yaml:"source_addrs" json:"source_addrs,omitempty"`
	// HTTP2 speaks HTTP/2: h2 over TLS (ALPN) for https URLs, h2c with
	// prior knowledge for http URLs, multiplexing StreamsPerConn streams
	// per TCP connection as browsers do.
	HTTP2          bool `yaml:"http2" json:"http2,omitempty"`
	StreamsPerConn int  `yaml:"streams_per_conn" json:"streams_per_conn,omitempty"` // default 100
	// MaxEventSize bounds one line or event per stream, in bytes (0: 1 MiB,
	// the decoder's default): with many streams, memory must stay bounded.
	MaxEventSize int `yaml:"max_event_size" json:"max_event_size,omitempty"`

	// Load shape. Either Stages, or Profile with Connections/Ramp/Duration
	// (the shorthand), which Normalize turns into Stages.
	Profile     string     `yaml:"profile" json:"profile,omitempty"`
	Connections int        `yaml:"connections" json:"connections,omitempty"`
	Ramp        Duration   `yaml:"ramp" json:"ramp,omitempty"`
	Duration    Duration   `yaml:"duration" json:"duration,omitempty"`
	ArrivalRate float64    `yaml:"arrival_rate" json:"arrival_rate,omitempty"` // connection attempts/s cap for the shorthand; 0 = none
	Stages      []Stage    `yaml:"stages" json:"stages"`
	Lifetime    Lifetime   `yaml:"lifetime" json:"lifetime"`
	Reconnect   Reconnect  `yaml:"reconnect" json:"reconnect"`
	Chaos       Chaos      `yaml:"chaos" json:"chaos"`
	Expect      Expect     `yaml:",inline" json:"expect"`
	Publisher   *Publisher `yaml:"publisher" json:"publisher,omitempty"`
	Thresholds  []string   `yaml:"thresholds" json:"thresholds,omitempty"`

	// CloseOn ends a client the way a page that calls EventSource.close()
	// does, on a marker event: no reconnect (mode subscribe).
	CloseOn CloseOn `yaml:"close_on,omitempty" json:"close_on,omitzero"`
	// AbortOnFail stops the run as soon as a threshold fails (report issue).
	AbortOnFail bool `yaml:"abort_on_fail" json:"abort_on_fail,omitempty"`
	// Request configures mode: request; ignored in subscribe mode.
	Request Request `yaml:"request" json:"request"`
	// Capacity configures mode: capacity; Validate refuses it in the
	// other modes. Omitted from JSON and YAML when unset, so results of
	// the other modes stay as they were.
	Capacity Capacity `yaml:"capacity,omitempty" json:"capacity,omitzero"`

	// defaulted names the shorthand's keys Normalize filled in because
	// they were not given ("connections", "duration"): DefaultsNote.
	defaulted []string

	// origin remembers where each field came from (YAML line or flag) so
	// Validate and ExpandedHeaders can point at it. Added by the scenarios
	// package; nil for a Scenario built in Go or decoded from JSON.
	origin *origin
}

// Timeouts bound the start of each stream. Zero means the default.
type Timeouts struct {
	Connect Duration `yaml:"connect" json:"connect,omitempty"` // dial (+TLS); default 10s
	Headers Duration `yaml:"headers" json:"headers,omitempty"` // request sent → response headers; default 30s
	// Read is the longest silence (no bytes at all) tolerated on an open
	// stream before it is ended as "read timeout"; 0 means none.
	Read Duration `yaml:"read" json:"read,omitempty"`
}

// Stage ramps concurrent streams linearly from the previous stage's target
// (0 at the start) to Target over Duration.
type Stage struct {
	Duration Duration `yaml:"duration" json:"duration"`
	Target   int      `yaml:"target" json:"target"`
	// Rate caps connection attempts per second during the stage; 0 = none.
	Rate float64 `yaml:"rate" json:"rate,omitempty"`
}

// Lifetime makes streams close by themselves (and be replaced, keeping the
// stage's target) after a fixed time, or a random time in [Min, Max].
// The zero value means streams live until the run ends.
type Lifetime struct {
	Min Duration `yaml:"min" json:"min,omitempty"`
	Max Duration `yaml:"max" json:"max,omitempty"`
}

// Reconnect is what a stream does when it ends before its lifetime.
type Reconnect struct {
	// Policy "browser" (default): like EventSource, wait the server's retry
	// (or 3s), send Last-Event-ID, stop on 204, give up on any other
	// non-200 or a wrong Content-Type. "always": retry any failure with
	// exponential backoff and full jitter (like fetch-event-source).
	// "never": a stream that ends stays ended.
	Policy string `yaml:"policy" json:"policy,omitempty"`
	// Max reconnects per stream; 0 means no limit.
	Max int `yaml:"max" json:"max,omitempty"`
	// Backoff bounds for "always"; defaults 1s and 30s.
	BaseDelay Duration `yaml:"base_delay" json:"base_delay,omitempty"`
	MaxDelay  Duration `yaml:"max_delay" json:"max_delay,omitempty"`
}

// Chaos injects client-side faults.
type Chaos struct {
	// Drop abruptly closes Percent of the open streams every Every, to
	// exercise resumption under load. Dropped streams reconnect per policy.
	Drop *Drop `yaml:"drop" json:"drop,omitempty"`
}

// Drop is the chaos.drop setting.
type Drop struct {
	Percent float64  `yaml:"percent" json:"percent"`
	Every   Duration `yaml:"every" json:"every"`
}

// Expect says what the events carry.
type Expect struct {
	// LatencyField locates the server's send timestamp in each event;
	// default {Field: "ts", Format: "unix_ns"} in JSON data. Field "" with
	// Format "none" turns delivery latency off.
	LatencyField LatencyField `yaml:"latency_field" json:"latency_field"`
	// Sequence treats ids as increasing integers per stream/topic and counts
	// gaps and duplicates across reconnects.
	Sequence bool `yaml:"sequence" json:"sequence,omitempty"`
	// TypeField is a dotted JSON path in each event's data whose value
	// (a string, or a number or boolean as written) names the event, as a
	// multiplexed stream's "messageType" does: events are then counted per
	// value (Counters.EventsByField) besides per event: type. "" means none.
	TypeField string `yaml:"type_field" json:"type_field,omitempty"`
}

// CloseOn is a subscriber's own end marker: an event of type Event, or
// one whose data matches Data, ends the client as EventSource.close()
// does (end class client_close, never reconnected; like a lifetime's end,
// a new client takes its place to keep the stage's target). The zero
// value means none: a stream the server ends is reconnected.
type CloseOn struct {
	// Event is an event type, e.g. "close".
	Event string `yaml:"event" json:"event,omitempty"`
	// Data is matched against the event's data (see ParseDataMatch):
	// "contDnd" exact, "*contDnd*" a substring, "$.status=done" the
	// value at a dotted JSON path.
	Data string `yaml:"data" json:"data,omitempty"`
}

// IsZero reports whether no end marker is set.
func (c CloseOn) IsZero() bool { return c == CloseOn{} }

// LatencyField is where and how the send timestamp is written. YAML
// accepts a plain string "ts" or "ts:unix_ms" as well as the mapping.
type LatencyField struct {
	Field  string `yaml:"field" json:"field"`   // top-level JSON key in the data (dotted path allowed: "meta.ts")
	Format string `yaml:"format" json:"format"` // unix_ns (default), unix_us, unix_ms, unix_s, rfc3339, none
}

// Publisher makes ssebench publish events itself (open loop, at Rate per
// second) and measure publish-to-delivery latency for every subscriber.
// The body template's {{nonce}} is replaced by a unique token per publish
// that is matched in the delivered event's data.
type Publisher struct {
	URL     string            `yaml:"url" json:"url"`
	Method  string            `yaml:"method" json:"method,omitempty"` // default POST
	Body    string            `yaml:"body" json:"body,omitempty"`     // default "{{nonce}}"
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	Rate    float64           `yaml:"rate" json:"rate"` // publishes per second
}

// Request is mode: request. Each stream is one request (Method, URL, the
// Body template filled per request) whose streamed answer ends by End; it
// is never reconnected. Requests arrive open loop at Rate per second, or
// closed loop with Concurrency requests always in flight, for Duration
// (or Stages: a stage's rate is the request rate, its target the
// concurrency).
type Request struct {
	// End says what ends one answer besides the server closing it.
	End RequestEnd `yaml:"end" json:"end"`
	// Rate is requests per second, open loop: each request has a scheduled
	// time and latencies count from it, so a slow server shows as queueing
	// in TTFT, never as a lower request rate.
	Rate float64 `yaml:"rate" json:"rate,omitempty"`
	// Arrival spaces open-loop requests: "constant" (default) or "poisson".
	Arrival string `yaml:"arrival" json:"arrival,omitempty"`
	// Concurrency is closed loop: this many requests in flight, a new one
	// sent as soon as one ends. Exclusive with Rate.
	Concurrency int `yaml:"concurrency" json:"concurrency,omitempty"`
	// MaxInFlight bounds open-loop requests in flight; an arrival over it
	// is not sent and counts as a "skipped" end. 0 means DefaultMaxInFlight.
	MaxInFlight int `yaml:"max_in_flight" json:"max_in_flight,omitempty"`
	// Count stops after this many requests (0: Duration decides). Without
	// a Duration, Normalize sets one as a bound: what Count requests could
	// take if each ran to End.MaxDuration (see PROFILES.md).
	Count int64 `yaml:"count" json:"count,omitempty"`
	// Dataset is a JSONL file (relative to the scenario file; see
	// DatasetPath), one JSON object per line, whose fields the body
	// template reads. Bodies loads it; Validate does not.
	Dataset string `yaml:"dataset" json:"dataset,omitempty"`
	// Order picks dataset rows: "sequential" (default) or "random".
	Order string `yaml:"order" json:"order,omitempty"`
	// Tokens says how output tokens are counted (TPOT, tokens/s).
	Tokens Tokens `yaml:"tokens" json:"tokens"`
}

// RequestEnd ends one answer. The server closing the stream always does.
type RequestEnd struct {
	// Data ends the answer on an event whose data is exactly this
	// (default "[DONE]"; "none" turns it off).
	Data string `yaml:"data" json:"data,omitempty"`
	// Event ends the answer on an event of this type (e.g. "close").
	Event string `yaml:"event" json:"event,omitempty"`
	// MaxDuration ends an answer still streaming after this long, counted
	// as an abnormal "max_duration" end. Default DefaultMaxRequestDuration.
	MaxDuration Duration `yaml:"max_duration" json:"max_duration,omitempty"`
}

// Tokens locates output tokens in the events' JSON data.
type Tokens struct {
	// DeltaPath is the dotted JSON path of each event's content delta
	// (e.g. "choices.0.delta.content"). TTFT is then the first event with a
	// non-empty delta, and ITL the gap between such events.
	DeltaPath string `yaml:"delta_path" json:"delta_path,omitempty"`
	// Count is how tokens in one delta are counted: "words" (default:
	// whitespace-separated words), "chars4" (ceil(chars/4), the common
	// rule of thumb for BPE tokenizers) or "events" (one per delta).
	Count string `yaml:"count" json:"count,omitempty"`
	// UsagePath is the dotted JSON path of a token total that the server
	// reports (e.g. "usage.completion_tokens"); when an answer carries it,
	// it replaces the counted total for that request.
	UsagePath string `yaml:"usage_path" json:"usage_path,omitempty"`
}

// DefaultStreamsPerConn is how many HTTP/2 streams share one connection
// unless streams_per_conn says otherwise.
const DefaultStreamsPerConn = 100

// Duration is a time.Duration written as "1m30s" in YAML and JSON.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
