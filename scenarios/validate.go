package scenarios

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Validate reports every problem with the scenario, one *FieldError per
// problem (joined with errors.Join), each naming the field, the value and,
// when the value came from a file or a flag, where. It accepts a scenario
// before or after Normalize: a zero field counts as its default.
func (s *Scenario) Validate() error {
	v := &validator{s: s}
	v.target()
	switch s.Mode {
	case ModeRequest:
		v.subscribeOnly()
		v.requestShape()
		v.request()
		v.capacityOnly()
	case ModeCapacity:
		v.notCapacity()
		v.capacity()
		v.streams()
		v.publisher()
		v.requestOnly()
	default:
		v.shape()
		v.streams()
		v.publisher()
		v.requestOnly()
		v.capacityOnly()
	}
	for i, th := range s.Thresholds {
		if strings.TrimSpace(th) == "" {
			v.add(fmt.Sprintf("thresholds[%d]", i), "empty; write a condition such as \"first_event.p99 < 500ms\"")
		}
		if strings.HasPrefix(strings.TrimSpace(th), "events.field.") && s.Expect.TypeField == "" {
			v.add(fmt.Sprintf("thresholds[%d]", i), "%q counts events per type_field value, but no type_field is set (--type-field, e.g. messageType)", th)
		}
	}
	return errors.Join(v.errs...)
}

type validator struct {
	s    *Scenario
	errs []error
}

func (v *validator) add(path, format string, a ...any) {
	v.errs = append(v.errs, v.s.fieldError(path, format, a...))
}

// nonNegative checks a duration that may be 0 (meaning default or none).
func (v *validator) nonNegative(path string, d Duration) {
	if d < 0 {
		v.add(path, "%s is negative", d)
	}
}

func (v *validator) target() {
	s := v.s
	if s.Mode != "" && !slices.Contains(Modes, s.Mode) {
		v.add("mode", "%s", oneOf(s.Mode, Modes))
	}
	if len(s.URLs) == 0 {
		v.add("url", "required (an http:// or https:// URL, or a list of them)")
	}
	for i, u := range s.URLs {
		path := fmt.Sprintf("url[%d]", i)
		if len(s.URLs) == 1 {
			path = "url"
		}
		if err := checkURL(u); err != nil {
			v.add(path, "%v", err)
		}
	}
	if s.Method != "" && !validToken(s.Method) {
		v.add("method", "%q is not an HTTP method", s.Method)
	}
	v.headers("headers", s.Headers)
	if _, err := ParseAddrPool(s.SourceAddrs); err != nil {
		v.add("source_addrs", "%v", err)
	}
	if s.StreamsPerConn < 0 || s.StreamsPerConn > 100000 {
		v.add("streams_per_conn", "%d: want 1 to 100000 streams per HTTP/2 connection", s.StreamsPerConn)
	}
	if s.MaxEventSize < 0 || s.MaxEventSize > 1<<30 {
		v.add("max_event_size", "%d: want 0 (1 MiB) to 1073741824 bytes", s.MaxEventSize)
	}
	v.nonNegative("timeout.connect", s.Timeout.Connect)
	v.nonNegative("timeout.headers", s.Timeout.Headers)
	v.nonNegative("timeout.read", s.Timeout.Read)
}

// checkURL accepts an absolute http or https URL with a host.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		why := ""
		switch {
		case err != nil && !strings.Contains(raw, "://"):
			why = "; it needs a scheme" // host:port/path fails to parse
		case err != nil:
		case u.Scheme == "" || u.Opaque != "":
			why = "; it needs a scheme"
		case u.Scheme != "http" && u.Scheme != "https":
			why = fmt.Sprintf("; the scheme is %q", u.Scheme)
		case u.Hostname() == "":
			why = "; it has no host"
		}
		return fmt.Errorf("%q is not an http(s) URL with a host (e.g. http://127.0.0.1:8080/events)%s", RedactURL(raw), why)
	}
	return nil
}

func (v *validator) headers(path string, h map[string]string) {
	for _, name := range sortedKeys(h) {
		p := joinPath(path, name)
		if !validToken(name) {
			v.add(p, "%q is not a valid header name", name)
			continue
		}
		val := h[name]
		if _, err := envRefs(val); err != nil {
			v.add(p, "%v", err)
			continue
		}
		if !validHeaderValue(val) {
			v.add(p, "the value holds a line break or control character")
		}
	}
}

// shape checks the load shape: the shorthand or the stages, not both.
func (v *validator) shape() {
	s := v.s
	if s.Profile != "" && !slices.Contains(Profiles, s.Profile) {
		v.add("profile", "%s", oneOf(s.Profile, Profiles))
		return
	}
	if s.ArrivalRate < 0 || math.IsNaN(s.ArrivalRate) || math.IsInf(s.ArrivalRate, 0) {
		v.add("arrival_rate", "%v is not a rate (connection attempts per second, 0 for no cap)", s.ArrivalRate)
	}
	if builtin(s.Profile) && len(s.Stages) > 0 {
		p, ramp, dur := s.shorthand()
		if !slices.Equal(s.Stages, expand(p, s.connections(), ramp, dur, s.ArrivalRate)) {
			v.add("stages", "given together with profile %q, which makes its own stages; remove the profile (or set it to custom) to use these stages", s.Profile)
			return
		}
	}
	if len(s.Stages) > 0 || s.Profile == ProfileCustom {
		if !builtin(s.Profile) {
			for _, f := range []struct {
				path string
				set  bool
			}{{"connections", s.Connections != 0}, {"ramp", s.Ramp != 0}, {"duration", s.Duration != 0}} {
				if f.set {
					v.add(f.path, "belongs to the profile shorthand (profile, connections, ramp, duration), but the load shape here is explicit stages; use one or the other")
				}
			}
		}
		v.stages()
		return
	}
	v.shorthand()
}

func (v *validator) stages() {
	s := v.s
	if len(s.Stages) == 0 {
		v.add("stages", "required with profile custom (a list of {duration, target}); or use a built-in profile: %s", strings.Join(Profiles[:5], ", "))
		return
	}
	for i, st := range s.Stages {
		p := fmt.Sprintf("stages[%d]", i)
		v.nonNegative(p+".duration", st.Duration)
		v.count(p+".target", st.Target)
		if st.Rate < 0 || math.IsNaN(st.Rate) || math.IsInf(st.Rate, 0) {
			v.add(p+".rate", "%v is not a rate (connection attempts per second, 0 for no cap)", st.Rate)
		}
	}
	if s.TotalDuration() <= 0 {
		v.add("stages", "the stages last 0s in total; give at least one a duration")
	} else if s.MaxTarget() == 0 {
		v.add("stages", "every target is 0, so no stream would open")
	}
}

// count checks a number of streams.
func (v *validator) count(path string, n int) {
	switch {
	case n < 0:
		v.add(path, "%d is negative", n)
	case n > MaxConnections:
		v.add(path, "%d is more than %d streams; shard the run (--shard) rather than ask one scenario for it", n, MaxConnections)
	}
}

func (v *validator) shorthand() {
	s := v.s
	profile, ramp, dur := s.shorthand()
	v.count("connections", s.Connections) // 0: DefaultConnections
	v.nonNegative("ramp", s.Ramp)
	v.nonNegative("duration", s.Duration)
	if s.Ramp < 0 || s.Duration < 0 {
		return
	}
	switch profile {
	case ProfileRamp:
		if s.Ramp != 0 {
			v.add("ramp", "not used by profile ramp, which ramps over the whole duration; leave it out")
		}
	case ProfileSpike:
		if third := dur / 3; ramp > third {
			v.add("ramp", "%s is longer than a third of the duration (%s), where profile spike jumps", Duration(ramp), Duration(third))
		}
	default:
		if ramp > dur && v.s.byFlag("duration") && !v.s.byFlag("ramp") && s.Ramp != 0 {
			// The file's ramp meets a flag's duration: the flag is what
			// changed, so the error names it and the fix.
			v.add("duration", "%s is shorter than the file's ramp %s (%s): add --ramp %s or less, or give a --duration of at least %s",
				Duration(dur), Duration(ramp), v.s.fieldError("ramp", "").Pos, Duration(dur), Duration(ramp))
			return
		}
		if ramp > dur {
			of := "the duration " + Duration(dur).String()
			if s.Duration == 0 {
				of = "the default duration " + Duration(dur).String() + " (set duration)"
			}
			v.add("ramp", "%s is longer than %s", Duration(ramp), of)
		}
	}
}

// streams checks what each stream does once open.
func (v *validator) streams() {
	s := v.s
	l := s.Lifetime
	v.nonNegative("lifetime.min", l.Min)
	v.nonNegative("lifetime.max", l.Max)
	if l.Min > 0 && l.Max > 0 && l.Min > l.Max {
		v.add("lifetime", "min %s is longer than max %s", l.Min, l.Max)
	}

	r := s.Reconnect
	if r.Policy != "" && !slices.Contains(Policies, r.Policy) {
		v.add("reconnect.policy", "%s", oneOf(r.Policy, Policies))
	}
	if r.Max < 0 {
		v.add("reconnect.max", "%d is negative (0 means no limit)", r.Max)
	}
	v.nonNegative("reconnect.base_delay", r.BaseDelay)
	v.nonNegative("reconnect.max_delay", r.MaxDelay)
	base, maxd := orDefault(r.BaseDelay, DefaultBaseDelay), orDefault(r.MaxDelay, DefaultMaxDelay)
	if r.BaseDelay >= 0 && r.MaxDelay >= 0 && base > maxd {
		path := "reconnect.base_delay"
		if r.BaseDelay == 0 {
			path = "reconnect.max_delay"
		}
		v.add(path, "base_delay %s is longer than max_delay %s", Duration(base), Duration(maxd))
	}

	if d := s.Chaos.Drop; d != nil {
		if !(d.Percent > 0 && d.Percent <= 100) {
			v.add("chaos.drop.percent", "%v is not a percentage in (0, 100]", d.Percent)
		}
		if d.Every <= 0 {
			v.add("chaos.drop.every", "required: how often to drop streams %s", durationHint)
		}
	}

	lf := s.Expect.LatencyField
	switch {
	case lf.Format != "" && !slices.Contains(latencyFormats, lf.Format):
		v.add("latency_field.format", "%s", oneOf(lf.Format, latencyFormats))
	case lf.Format == "none" && lf.Field != "":
		v.add("latency_field", "format none turns delivery latency off, but field is %q; drop one of them", lf.Field)
	case lf.Format != "" && lf.Format != "none" && lf.Field == "":
		v.add("latency_field.field", "required with format %s: the JSON key holding the send time (e.g. ts, meta.ts)", lf.Format)
	case lf.Field != "" && slices.Contains(strings.Split(lf.Field, "."), ""):
		v.add("latency_field.field", "%q is not a dotted key path (e.g. ts, meta.ts)", lf.Field)
	}
	v.eventNames()
	if d := s.CloseOn.Data; d != "" {
		if _, err := ParseDataMatch(d); err != nil {
			v.add("close_on.data", "%v", err)
		}
	}
	if e := s.CloseOn.Event; e != "" && strings.ContainsAny(e, "\r\n") {
		v.add("close_on.event", "%q: an event type is one line", e)
	}
}

// eventNames checks type_field, which every mode counts by.
func (v *validator) eventNames() {
	if f := v.s.Expect.TypeField; f != "" && !validDottedPath(f) {
		v.add("type_field", "%q is not a dotted key path in the JSON data (e.g. messageType, meta.type)", f)
	}
}

func orDefault(d Duration, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d.D()
}

func (v *validator) publisher() {
	p := v.s.Publisher
	if p == nil {
		return
	}
	if p.URL == "" {
		v.add("publisher.url", "required: where to POST each event (an http:// or https:// URL)")
	} else if err := checkURL(p.URL); err != nil {
		v.add("publisher.url", "%v", err)
	}
	if !(p.Rate > 0) || math.IsInf(p.Rate, 0) {
		v.add("publisher.rate", "%v is not a rate; give publishes per second above 0", p.Rate)
	}
	if p.Method != "" && !validToken(p.Method) {
		v.add("publisher.method", "%q is not an HTTP method", p.Method)
	}
	if p.Body != "" && !strings.Contains(p.Body, "{{nonce}}") {
		v.add("publisher.body", "must contain {{nonce}}: it is how a delivered event is matched to its publish")
	}
	v.headers("publisher.headers", p.Headers)
}

// validToken reports whether s is an RFC 9110 token (a method or header
// name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validHeaderValue rejects control characters other than tab: a CR or LF
// would split the request.
func validHeaderValue(s string) bool {
	for _, c := range []byte(s) {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
