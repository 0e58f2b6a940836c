package scenarios

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// ErrNoTarget is returned by FromCLI when there is neither a scenario file
// nor --url.
var ErrNoTarget = errors.New("run needs a scenario file or --url")

// listValue is a repeatable flag that, unlike cli.StringSliceFlag, never
// splits a value on commas: "Accept: a, b" and URLs with commas in the
// query stay whole.
type listValue struct{ vals []string }

// serialPrefix marks the whole-list form urfave/cli passes back through
// Set when it copies a flag's value to its aliases.
const serialPrefix = "\x00ssebench-list:"

func (l *listValue) Set(v string) error {
	if rest, ok := strings.CutPrefix(v, serialPrefix); ok {
		return json.Unmarshal([]byte(rest), &l.vals)
	}
	l.vals = append(l.vals, v)
	return nil
}

func (l *listValue) String() string { return strings.Join(l.vals, ", ") }

// Serialize implements cli.Serializer so aliases (-H/--header) share the
// list instead of appending its text to itself.
func (l *listValue) Serialize() string {
	b, _ := json.Marshal(l.vals)
	return serialPrefix + string(b)
}

var _ cli.Serializer = (*listValue)(nil)

// flagSpec ties one flag to the scenario field it sets.
type flagSpec struct {
	flag  cli.Flag
	path  string // the field's YAML path, for error positions
	apply func(s *Scenario, v flagValue) error
}

// capacityPaths are the flags that set another field in mode capacity:
// --ramp is each step's ramp there, as in the capacity command, not the
// profile shorthand's.
var capacityPaths = map[string]string{"ramp": "capacity.ramp"}

// pathIn is the field the flag sets in the scenario's mode.
func (sp flagSpec) pathIn(s *Scenario) string {
	if p, ok := capacityPaths[sp.flag.Names()[0]]; ok && s.Mode == ModeCapacity {
		return p
	}
	return sp.path
}

// flagValue is one explicitly set flag's value, as given.
type flagValue struct {
	name string
	str  string
	list []string
	on   bool
}

func (v flagValue) errorf(format string, a ...any) error {
	return &FieldError{Pos: "--" + v.name, Msg: fmt.Sprintf(format, a...)}
}

// Flag categories, for grouped help.
const (
	catTarget   = "Target"
	catLoad     = "Load shape"
	catStreams  = "Stream behaviour"
	catPublish  = "Publisher"
	catRequest  = "Request mode (--mode request)"
	catCapacity = "Capacity mode (--mode capacity)"
	catGates    = "Gates"
)

// The first `word` in a usage text is the value's placeholder in help.

func stringFlag(name, cat, usage, def string, aliases ...string) *cli.StringFlag {
	return &cli.StringFlag{Name: name, Aliases: aliases, Category: cat, Value: def, Usage: usage}
}

func listFlag(name, cat, usage string, aliases ...string) *repeatFlag {
	return &repeatFlag{&cli.GenericFlag{Name: name, Aliases: aliases, Category: cat, Value: &listValue{}, Usage: usage}}
}

// repeatFlag is a repeatable flag whose values live in the flag set of
// one parse, not in the flag: cli.GenericFlag keeps its Value across runs,
// so a second app.Run in one process (tests) would see the first run's
// values, and parallel runs would race on them.
type repeatFlag struct{ *cli.GenericFlag }

// Apply registers a fresh list for this parse under every name.
func (f *repeatFlag) Apply(set *flag.FlagSet) error {
	v := &listValue{}
	for _, name := range f.Names() {
		set.Var(v, name, f.Usage)
	}
	return nil
}

func boolFlag(name, cat, usage string, aliases ...string) *cli.BoolFlag {
	return &cli.BoolFlag{Name: name, Aliases: aliases, Category: cat, Usage: usage}
}

// flagSpecs builds fresh flags (the repeatable ones hold state) and the
// way each one sets its field.
func flagSpecs() []flagSpec {
	str := func(set func(s *Scenario, v string)) func(*Scenario, flagValue) error {
		return func(s *Scenario, v flagValue) error { set(s, v.str); return nil }
	}
	dur := func(set func(s *Scenario, d Duration)) func(*Scenario, flagValue) error {
		return func(s *Scenario, v flagValue) error {
			d, err := parseDuration(v.str)
			if err != nil {
				return v.errorf("%v", err)
			}
			set(s, Duration(d))
			return nil
		}
	}
	num := func(set func(s *Scenario, n int)) func(*Scenario, flagValue) error {
		return func(s *Scenario, v flagValue) error {
			n, err := strconv.Atoi(strings.TrimSpace(v.str))
			if err != nil {
				return v.errorf("%q is not a whole number", v.str)
			}
			set(s, n)
			return nil
		}
	}
	float := func(what string, set func(s *Scenario, f float64)) func(*Scenario, flagValue) error {
		return func(s *Scenario, v flagValue) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v.str), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return v.errorf("%q is not %s", v.str, what)
			}
			set(s, f)
			return nil
		}
	}
	count := func(set func(s *Scenario, n int64)) func(*Scenario, flagValue) error {
		return func(s *Scenario, v flagValue) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v.str), 10, 64)
			if err != nil {
				return v.errorf("%q is not a whole number", v.str)
			}
			set(s, n)
			return nil
		}
	}
	capa := func(s *Scenario) *Capacity { return &s.Capacity }
	pub := func(s *Scenario) *Publisher {
		if s.Publisher == nil {
			s.Publisher = &Publisher{}
		}
		return s.Publisher
	}

	return []flagSpec{
		{stringFlag("name", catTarget, "`NAME` of the run, shown in reports (default: the scenario file's name)", ""), "name",
			str(func(s *Scenario, v string) { s.Name = v })},
		{stringFlag("mode", catTarget, "what each stream is, `MODE`: subscribe (long-lived streams), request (one streamed answer per request, sent at --request-rate or --concurrency) or capacity (long-lived streams raised in steps from --start until a threshold breaks; over a file of another mode it drops the file's load shape)", DefaultMode), "mode",
			str(func(s *Scenario, v string) { s.Mode = v })},
		{listFlag("url", catTarget, "stream `URL` (repeatable; several are used round-robin); replaces the file's url"), "url",
			func(s *Scenario, v flagValue) error { s.URLs = v.list; return nil }},
		{stringFlag("method", catTarget, "HTTP `METHOD` of the stream request (a body does not imply POST: say -X POST)", DefaultMethod, "X"), "method",
			str(func(s *Scenario, v string) { s.Method = v })},
		{stringFlag("body", catTarget, BodyUsage+"; in mode request a template filled per request ({{.prompt}} from --dataset, {{json .prompt}}, {{.n}}, {{uuid}}, {{randInt 1 9}}, {{pick \"a\" \"b\"}}, {{env \"NAME\"}})", ""), "body",
			func(s *Scenario, v flagValue) error {
				b, err := readBody(v)
				s.Body = b
				return err
			}},
		{listFlag("header", catTarget, "request header `'Name: value'` (repeatable; "+EnvRule+"; 'Name:' removes a header the file sets)", "H"), "headers",
			func(s *Scenario, v flagValue) error { return setHeaders(s, &s.Headers, "headers", v) }},
		{boolFlag("insecure", catTarget, "skip TLS certificate verification", "k"), "insecure",
			func(s *Scenario, v flagValue) error { s.Insecure = v.on; return nil }},
		{listFlag("source-addrs", catTarget, "bind client sockets round-robin to `ADDRS`: 127.0.0.1-127.0.0.8, 127.0.0.0/29 or a list (repeatable)"), "source_addrs",
			func(s *Scenario, v flagValue) error { s.SourceAddrs = v.list; return nil }},
		{boolFlag("http2", catTarget, "speak HTTP/2: h2 via ALPN for https, h2c (prior knowledge) for http"), "http2",
			func(s *Scenario, v flagValue) error { s.HTTP2 = v.on; return nil }},
		{stringFlag("streams-per-conn", catTarget, "with --http2, `N` streams multiplexed on each TCP connection", "100"), "streams_per_conn",
			num(func(s *Scenario, n int) { s.StreamsPerConn = n })},
		{stringFlag("max-event-size", catTarget, "largest line or event one stream reads, in `BYTES` (0: 1048576); a bigger one ends the stream as too_large", "1048576"), "max_event_size",
			num(func(s *Scenario, n int) { s.MaxEventSize = n })},
		{stringFlag("connect-timeout", catTarget, "`DURATION` allowed for dial + TLS handshake, per attempt", DefaultConnectTimeout.String()), "timeout.connect",
			dur(func(s *Scenario, d Duration) { s.Timeout.Connect = d })},
		{stringFlag("headers-timeout", catTarget, "`DURATION` allowed from request sent to response headers", DefaultHeadersTimeout.String()), "timeout.headers",
			dur(func(s *Scenario, d Duration) { s.Timeout.Headers = d })},
		{stringFlag("read-timeout", catTarget, "longest silence (`DURATION`) on an open stream before it is ended (0: none)", "0s"), "timeout.read",
			dur(func(s *Scenario, d Duration) { s.Timeout.Read = d })},

		{stringFlag("profile", catLoad, "load shape `NAME`, built from --connections/--ramp/--duration: steady, ramp, spike, soak, churn (see scenarios/PROFILES.md); custom: --stage", ProfileSteady), "profile",
			str(func(s *Scenario, v string) { s.Profile = v })},
		{stringFlag("connections", catLoad, "`N` concurrent streams for the profile to build up to (default: 100)", "", "c"), "connections",
			num(func(s *Scenario, n int) { s.Connections = n })},
		{stringFlag("ramp", catLoad, "`DURATION` to reach --connections (default: min(duration/6, 30s)); in mode capacity, each step's new streams open over it, not judged (whole seconds; default 5s)", ""), "ramp",
			dur(func(s *Scenario, d Duration) {
				if s.Mode == ModeCapacity {
					capa(s).Ramp = &d
				} else {
					s.Ramp = d
				}
			})},
		{stringFlag("duration", catLoad, "`DURATION` of the run, e.g. 60s, 5m, or 90 for seconds (default: 30s; soak: 1h; in mode request, how long requests are sent)", ""), "duration",
			dur(func(s *Scenario, d Duration) { s.Duration = d })},
		{stringFlag("arrival-rate", catLoad, "cap on new connection attempts per second, as a `RATE` (0: none)", ""), "arrival_rate",
			float("a rate (connection attempts per second)", func(s *Scenario, f float64) { s.ArrivalRate = f })},
		{listFlag("stage", catLoad, "explicit stage `DURATION:TARGET[:RATE]`, e.g. 30s:1000 (repeatable, in order; replaces the file's load shape); in mode request TARGET is requests in flight, RATE requests per second (30s:0:20)"), "stages",
			func(s *Scenario, v flagValue) error {
				s.Stages = nil
				for _, t := range v.list {
					var st Stage
					if err := st.parseText(t); err != nil {
						return v.errorf("%v", err)
					}
					s.Stages = append(s.Stages, st)
				}
				return nil
			}},

		{stringFlag("lifetime", catStreams, "close each stream after a `DURATION|MIN-MAX` (30s; 10s-60s for random) and open a replacement; none: live until the end", ""), "lifetime",
			func(s *Scenario, v flagValue) error {
				if err := s.Lifetime.parseText(v.str); err != nil {
					return v.errorf("%v", err)
				}
				return nil
			}},
		{stringFlag("reconnect", catStreams, "`POLICY` after a stream ends: browser (like EventSource), always (backoff with jitter) or never", DefaultPolicy), "reconnect.policy",
			str(func(s *Scenario, v string) { s.Reconnect.Policy = v })},
		{stringFlag("max-reconnects", catStreams, "at most `N` reconnects per stream (0: no limit)", "0"), "reconnect.max",
			num(func(s *Scenario, n int) { s.Reconnect.Max = n })},
		{stringFlag("backoff-base", catStreams, "first backoff `DURATION` for --reconnect always", DefaultBaseDelay.String()), "reconnect.base_delay",
			dur(func(s *Scenario, d Duration) { s.Reconnect.BaseDelay = d })},
		{stringFlag("backoff-max", catStreams, "largest backoff `DURATION` for --reconnect always", DefaultMaxDelay.String()), "reconnect.max_delay",
			dur(func(s *Scenario, d Duration) { s.Reconnect.MaxDelay = d })},
		{stringFlag("chaos-drop", catStreams, "abruptly close some of the open streams, `PERCENT%/EVERY`, e.g. 5%/10s (none: off)", ""), "chaos.drop",
			func(s *Scenario, v flagValue) error {
				if t := strings.TrimSpace(v.str); t == "none" || t == "off" || t == "" {
					s.Chaos.Drop = nil
					return nil
				}
				var d Drop
				if err := d.parseText(v.str); err != nil {
					return v.errorf("%v", err)
				}
				s.Chaos.Drop = &d
				return nil
			}},
		{stringFlag("latency-field", catStreams, "`FIELD[:FORMAT]` of the server's send time in each event's JSON data, e.g. ts, ts:unix_ms, meta.ts:rfc3339 (formats unix_ns, unix_us, unix_ms, unix_s, rfc3339); none: no delivery latency", DefaultLatencyField+":"+DefaultLatencyFormat), "latency_field",
			func(s *Scenario, v flagValue) error {
				if err := s.Expect.LatencyField.parseText(v.str); err != nil {
					return v.errorf("%v", err)
				}
				return nil
			}},
		{boolFlag("sequence", catStreams, "event ids are increasing integers: count gaps and duplicates, across reconnects too"), "sequence",
			func(s *Scenario, v flagValue) error { s.Expect.Sequence = v.on; return nil }},
		{stringFlag("type-field", catStreams, "also count events per value of the dotted JSON `PATH` in their data, e.g. messageType (events are always counted per event: type)", ""), "type_field",
			str(func(s *Scenario, v string) { s.Expect.TypeField = v })},
		{stringFlag("close-on-event", catStreams, "an event of `TYPE` (e.g. close) ends the client as EventSource.close() does: no reconnect, end class client_close", ""), "close_on.event",
			str(func(s *Scenario, v string) { s.CloseOn.Event = v })},
		{stringFlag("close-on-data", catStreams, "an event whose data matches `MATCH` ends the client as EventSource.close() does: contDnd (exact), '*contDnd*' (substring) or '$.status=done' (a JSON field)", ""), "close_on.data",
			str(func(s *Scenario, v string) { s.CloseOn.Data = v })},

		{stringFlag("publish-url", catPublish, "publish events to `URL` and measure publish-to-delivery latency", ""), "publisher.url",
			str(func(s *Scenario, v string) { pub(s).URL = v })},
		{stringFlag("publish-rate", catPublish, "publishes per second, as a `RATE`", ""), "publisher.rate",
			float("a rate (publishes per second)", func(s *Scenario, f float64) { pub(s).Rate = f })},
		{stringFlag("publish-body", catPublish, "publish body `TEMPLATE`, or @FILE; {{nonce}} becomes the token matched in delivered events", DefaultPublishBody), "publisher.body",
			func(s *Scenario, v flagValue) error {
				b, err := readBody(v)
				pub(s).Body = b
				return err
			}},
		{stringFlag("publish-method", catPublish, "HTTP `METHOD` of each publish", DefaultPublishMethod), "publisher.method",
			str(func(s *Scenario, v string) { pub(s).Method = v })},
		{listFlag("publish-header", catPublish, "publish request header `'Name: value'` (repeatable; "+EnvRule+")"), "publisher.headers",
			func(s *Scenario, v flagValue) error {
				p := pub(s)
				return setHeaders(s, &p.Headers, "publisher.headers", v)
			}},

		{stringFlag("request-rate", catRequest, "open loop: requests per second, as a `RATE`, each at its scheduled time whatever the server does", ""), "request.rate",
			float("a rate (requests per second)", func(s *Scenario, f float64) { s.Request.Rate = f })},
		{stringFlag("arrival", catRequest, "spacing of open-loop requests, `ARRIVAL`: constant or poisson (exponential gaps)", DefaultArrival), "request.arrival",
			str(func(s *Scenario, v string) { s.Request.Arrival = v })},
		{stringFlag("concurrency", catRequest, "closed loop: `N` requests in flight, the next sent as soon as one ends", ""), "request.concurrency",
			num(func(s *Scenario, n int) { s.Request.Concurrency = n })},
		{stringFlag("max-in-flight", catRequest, "open loop: at most `N` requests in flight; an arrival over it is skipped and counted", strconv.Itoa(DefaultMaxInFlight)), "request.max_in_flight",
			num(func(s *Scenario, n int) { s.Request.MaxInFlight = n })},
		{stringFlag("requests", catRequest, "stop after `N` requests (without --duration the run is bounded by what N requests could take at --max-duration each)", ""), "request.count",
			count(func(s *Scenario, n int64) { s.Request.Count = n })},
		{stringFlag("dataset", catRequest, "JSONL `FILE`, one JSON object per line, whose fields fill the body template ({{.prompt}})", ""), "request.dataset",
			str(func(s *Scenario, v string) { s.Request.Dataset = v })},
		{stringFlag("dataset-order", catRequest, "`ORDER` of dataset rows: sequential (cycling) or random", DefaultOrder), "request.order",
			str(func(s *Scenario, v string) { s.Request.Order = v })},
		{stringFlag("end-data", catRequest, "an event whose data is exactly `TEXT` ends the answer (none: off)", DefaultEndData), "request.end.data",
			str(func(s *Scenario, v string) { s.Request.End.Data = v })},
		{stringFlag("end-event", catRequest, "an event of `TYPE` (e.g. close) ends the answer", ""), "request.end.event",
			str(func(s *Scenario, v string) { s.Request.End.Event = v })},
		{stringFlag("max-duration", catRequest, "an answer still streaming after `DURATION` is ended and counted as max_duration", Duration(DefaultMaxRequestDuration).String()), "request.end.max_duration",
			dur(func(s *Scenario, d Duration) { s.Request.End.MaxDuration = d })},
		{stringFlag("delta-path", catRequest, "dotted JSON `PATH` of each event's content delta, e.g. choices.0.delta.content (TTFT, ITL and token counts follow it)", ""), "request.tokens.delta_path",
			str(func(s *Scenario, v string) { s.Request.Tokens.DeltaPath = v })},
		{stringFlag("token-count", catRequest, "how a delta's tokens are counted, `HOW`: words, chars4 (ceil(chars/4)) or events (one per delta)", DefaultTokenCount), "request.tokens.count",
			str(func(s *Scenario, v string) { s.Request.Tokens.Count = v })},
		{stringFlag("usage-path", catRequest, "dotted JSON `PATH` of a server-reported token total, e.g. usage.completion_tokens (replaces the counted total)", ""), "request.tokens.usage_path",
			str(func(s *Scenario, v string) { s.Request.Tokens.UsagePath = v })},

		{stringFlag("start", catCapacity, "`N` streams at the first step", strconv.Itoa(DefaultCapacityStart)), "capacity.start",
			num(func(s *Scenario, n int) { capa(s).Start = n })},
		{stringFlag("step", catCapacity, "`N` streams added per step (default: --start)", ""), "capacity.step",
			num(func(s *Scenario, n int) { capa(s).Step = n })},
		{stringFlag("factor", catCapacity, "multiply the streams by `F` per step instead of --step, e.g. 1.5 (default: off)", ""), "capacity.factor",
			float("a multiplier", func(s *Scenario, f float64) { capa(s).Factor = f })},
		{stringFlag("max", catCapacity, "last step, `N` streams: stop here if every threshold still holds (default: what one process holds, its open-file limit)", ""), "capacity.max",
			num(func(s *Scenario, n int) { capa(s).Max = n })},
		{stringFlag("hold", catCapacity, "hold and judge each step for `DURATION` (whole seconds)", Duration(DefaultCapacityHold).String()), "capacity.hold",
			dur(func(s *Scenario, d Duration) { capa(s).Hold = d })},
		{stringFlag("refine", catCapacity, "`N` steps a second run tries between the last good and the first bad step (0: none)", strconv.Itoa(DefaultCapacityRefine)), "capacity.refine",
			num(func(s *Scenario, n int) { capa(s).Refine = &n })},
		{stringFlag("server-pid", catCapacity, "observe the local server process `PID` (/proc: memory, CPU, open files, threads)", ""), "capacity.server_pid",
			num(func(s *Scenario, n int) { capa(s).ServerPID = n })},
		{stringFlag("server-metrics", catCapacity, "observe the server through its Prometheus text `URL` (process_resident_memory_bytes, process_cpu_seconds_total, ...)", ""), "capacity.server_metrics",
			str(func(s *Scenario, v string) { capa(s).ServerMetrics = v })},

		{listFlag("threshold", catGates, "pass/fail condition `EXPR`, e.g. 'first_event.p99 < 500ms' (repeatable; replaces the file's list)"), "thresholds",
			func(s *Scenario, v flagValue) error { s.Thresholds = v.list; return nil }},
		{boolFlag("abort-on-fail", catGates, "stop the run as soon as a threshold fails"), "abort_on_fail",
			func(s *Scenario, v flagValue) error { s.AbortOnFail = v.on; return nil }},
	}
}

// Flags returns the `run` flags, one per scenario field. Each call returns
// new flag values: give each command its own.
func Flags() []cli.Flag {
	specs := flagSpecs()
	out := make([]cli.Flag, len(specs))
	for i, sp := range specs {
		out[i] = sp.flag
	}
	return out
}

// readBody reads "@FILE" bodies.
func readBody(v flagValue) (string, error) {
	name, ok := strings.CutPrefix(v.str, "@")
	if !ok {
		return v.str, nil
	}
	data, err := readFile(name, "request body")
	if err != nil {
		return "", v.errorf("%v", err)
	}
	return string(data), nil
}

// setHeaders merges 'Name: value' flags into a header map; 'Name:' with
// nothing after the colon removes the header (as curl does).
func setHeaders(s *Scenario, h *map[string]string, path string, v flagValue) error {
	for _, line := range v.list {
		name, val, err := headerLine(v, line)
		if err != nil {
			return err
		}
		for k := range *h {
			if strings.EqualFold(k, name) {
				delete(*h, k)
			}
		}
		s.setByFlag(joinPath(path, name), "--"+v.name)
		if val == "" {
			continue
		}
		if *h == nil {
			*h = map[string]string{}
		}
		(*h)[name] = val
	}
	return nil
}

// FromCLI builds the scenario for `ssebench run [scenario.yaml] [flags]`:
// the file (the optional argument) is read first, then every flag given on
// the command line overrides its field; the result is validated and
// normalized. Errors are one line per problem naming the flag (or file
// line) and the value; with neither a file nor --url it is ErrNoTarget.
// Flags written after the file reach c through cliargs.Order.
func FromCLI(c *cli.Context) (*Scenario, error) {
	args := c.Args().Slice()
	if len(args) > 1 {
		return nil, fmt.Errorf("run takes one scenario file, got %d arguments (%s)", len(args), strings.Join(args, " "))
	}
	file, mode := "", ""
	if len(args) == 1 {
		file = args[0]
	}
	if c.IsSet("mode") {
		mode = c.String("mode")
	}
	return fromCLI(c, file, mode)
}

// CapacityFromCLI builds the scenario of `ssebench capacity`: the file of
// --scenario (any mode but request), then the command's flags, which are
// this package's flags of mode capacity and of the streams; the mode is
// capacity whatever the file says, so a file of another mode gives its
// target, streams and thresholds and its load shape is dropped, as with
// `run FILE --mode capacity`.
func CapacityFromCLI(c *cli.Context, file string) (*Scenario, error) {
	return fromCLI(c, file, ModeCapacity)
}

// fromCLI reads file (if any), sets mode (if not ""), then applies every
// flag set in c, and validates and normalizes.
func fromCLI(c *cli.Context, file, mode string) (*Scenario, error) {
	s := &Scenario{}
	if file != "" {
		if checkURL(file) == nil {
			return nil, fmt.Errorf("%q is a URL; the argument is a scenario file (use --url %s)", file, file)
		}
		data, err := readFile(file, "scenario file")
		if err != nil {
			return nil, err
		}
		if s, err = parseRaw(data, file); err != nil {
			return nil, err
		}
	}

	specs := flagSpecs()
	set := map[string]bool{}
	for _, sp := range specs {
		set[sp.flag.Names()[0]] = c.IsSet(sp.flag.Names()[0])
	}
	// --mode capacity over a file of another mode keeps the file's target,
	// stream behaviour and thresholds and drops its load shape, which the
	// search makes itself (as --stage replaces a file's shorthand): so
	// `run f.yaml --mode capacity` is `capacity --scenario f.yaml`.
	if file != "" && mode == ModeCapacity && s.Mode != ModeCapacity {
		if s.Mode == ModeRequest {
			return nil, s.fieldError("mode", "request: a capacity search holds long-lived subscribe streams, so its base cannot be a mode request scenario (run that with ssebench run)")
		}
		s.Profile, s.Connections, s.Ramp, s.Duration, s.ArrivalRate, s.Stages, s.AbortOnFail = "", 0, 0, 0, 0, nil, false
	}
	if mode != "" && !set["mode"] {
		s.Mode = mode // the command's own mode (capacity), which has no --mode flag
	}
	// The load shape is one thing: --stage replaces a file's shorthand, and
	// a --profile replaces a file's stages.
	if set["stage"] {
		if builtin(s.Profile) && !set["profile"] {
			s.Profile = ""
		}
		for name, clear := range map[string]func(){
			"connections": func() { s.Connections = 0 },
			"ramp":        func() { s.Ramp = 0 },
			"duration":    func() { s.Duration = 0 },
		} {
			if !set[name] {
				clear()
			}
		}
	} else if set["profile"] && builtin(c.String("profile")) {
		s.Stages = nil
	}
	// Likewise in mode request: --request-rate, --concurrency and --stage
	// each replace the file's other two.
	rate, conc := set["request-rate"], set["concurrency"]
	if set["stage"] || rate || conc {
		if !rate {
			s.Request.Rate = 0
		}
		if !conc {
			s.Request.Concurrency = 0
		}
	}
	if (rate || conc) && !set["stage"] {
		s.Stages = nil
		if s.Profile == ProfileCustom && !set["profile"] {
			s.Profile = ""
		}
	}

	for _, sp := range specs {
		name := sp.flag.Names()[0]
		if !set[name] {
			continue
		}
		v := flagValue{name: name}
		switch sp.flag.(type) {
		case *cli.BoolFlag:
			v.on = c.Bool(name)
		case *repeatFlag:
			if l, ok := c.Generic(name).(*listValue); ok {
				v.list = append([]string(nil), l.vals...)
			}
		default:
			v.str = c.String(name)
		}
		if err := sp.apply(s, v); err != nil {
			return nil, err
		}
		if sp.path != "headers" && sp.path != "publisher.headers" {
			s.setByFlag(sp.pathIn(s), "--"+name)
		}
	}
	if file == "" && len(s.URLs) == 0 {
		return nil, ErrNoTarget
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s.Normalize()
	return s, nil
}
