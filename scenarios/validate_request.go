package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// setting is one field that is either set (non-zero) or not, by path.
type setting struct {
	path string
	set  bool
}

// firstSet is the path of the first set setting, or "".
func firstSet(ss ...setting) string {
	for _, s := range ss {
		if s.set {
			return s.path
		}
	}
	return ""
}

// firstSetInFile is the set setting written first in the scenario file,
// else the first set one.
func (s *Scenario) firstSetInFile(ss ...setting) string {
	best, bestLine := firstSet(ss...), 0
	if s.origin == nil {
		return best
	}
	for _, st := range ss {
		if l := s.origin.lines[st.path]; st.set && l > 0 && (bestLine == 0 || l < bestLine) {
			best, bestLine = st.path, l
		}
	}
	return best
}

// subscribeOnly refuses, in mode request, the settings that only shape
// long-lived streams: silently ignoring them would let a scenario promise
// what the run does not do.
func (v *validator) subscribeOnly() {
	s := v.s
	const why = "not used in mode request"
	if s.Profile != "" && s.Profile != ProfileCustom {
		v.add("profile", "%q shapes mode subscribe streams; in mode request give request.rate or request.concurrency with duration, or stages (profile custom)", s.Profile)
	}
	if s.Connections != 0 {
		v.add("connections", "%s; give request.concurrency (requests in flight, closed loop) or request.rate (requests per second, open loop)", why)
	}
	if s.Ramp != 0 {
		v.add("ramp", "%s; write a ramp as stages (each with a rate or a target)", why)
	}
	if s.ArrivalRate != 0 {
		v.add("arrival_rate", "%s; use request.rate (requests per second)", why)
	}
	if !s.Lifetime.IsZero() {
		v.add("lifetime", "%s, where each stream ends with its answer (see request.end)", why)
	}
	r := s.Reconnect
	if p := firstSet(
		setting{"reconnect.policy", r.Policy != ""}, setting{"reconnect.max", r.Max != 0},
		setting{"reconnect.base_delay", r.BaseDelay != 0}, setting{"reconnect.max_delay", r.MaxDelay != 0},
	); p != "" {
		v.add(p, "%s, where a request is never reconnected", why)
	}
	if s.Chaos.Drop != nil {
		v.add("chaos.drop", "%s, where streams end with their answer", why)
	}
	if p := s.Publisher; p != nil {
		path := firstSet(
			setting{"publisher.url", p.URL != ""}, setting{"publisher.rate", p.Rate != 0}, setting{"publisher.body", p.Body != ""},
			setting{"publisher.method", p.Method != ""}, setting{"publisher.headers", len(p.Headers) > 0},
		)
		if path == "" {
			path = "publisher"
		}
		v.add(path, "%s, which has no subscribers to publish to", why)
	}
	if lf := s.Expect.LatencyField; lf != (LatencyField{}) {
		v.add("latency_field", "%s, where TTFT and ITL are timed from each request's scheduled start (see request.tokens.delta_path)", why)
	}
	if s.Expect.Sequence {
		v.add("sequence", "%s, where nothing resumes across reconnects", why)
	}
	if p := firstSet(setting{"close_on.event", s.CloseOn.Event != ""}, setting{"close_on.data", s.CloseOn.Data != ""}); p != "" {
		v.add(p, "%s, where request.end.event and request.end.data end an answer", why)
	}
	v.eventNames()
}

// requestSettings lists every request.* key and whether it is set.
func (s *Scenario) requestSettings() []setting {
	r := s.Request
	return []setting{
		{"request.end.data", r.End.Data != ""}, {"request.end.event", r.End.Event != ""},
		{"request.end.max_duration", r.End.MaxDuration != 0},
		{"request.rate", r.Rate != 0}, {"request.arrival", r.Arrival != ""},
		{"request.concurrency", r.Concurrency != 0}, {"request.max_in_flight", r.MaxInFlight != 0},
		{"request.count", r.Count != 0}, {"request.dataset", r.Dataset != ""}, {"request.order", r.Order != ""},
		{"request.tokens.delta_path", r.Tokens.DeltaPath != ""}, {"request.tokens.count", r.Tokens.Count != ""},
		{"request.tokens.usage_path", r.Tokens.UsagePath != ""},
	}
}

// requestOnly refuses request.* settings in mode subscribe: most likely
// the scenario forgot mode: request. One error, at the first of them.
func (v *validator) requestOnly() {
	if p := v.s.firstSetInFile(v.s.requestSettings()...); p != "" {
		mode := v.s.Mode
		if mode == "" {
			mode = DefaultMode
		}
		v.add(p, "only used in mode request, and the mode here is %s; add mode: request (--mode request)", mode)
	}
}

// requestShape checks the load shape of mode request: request.rate (open
// loop) or request.concurrency (closed loop) for duration, or stages whose
// rate is the request rate and whose target is the concurrency.
func (v *validator) requestShape() {
	s := v.s
	r := s.Request
	if r.Rate < 0 || r.Rate > MaxRequestRate || math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0) {
		v.add("request.rate", "%v is not a request rate: requests per second, above 0 and at most %d", r.Rate, MaxRequestRate)
		return
	}
	if r.Concurrency < 0 || r.Concurrency > MaxConnections {
		v.count("request.concurrency", r.Concurrency)
		return
	}
	if r.Count < 0 {
		v.add("request.count", "%d is negative (0: the duration alone decides)", r.Count)
	}
	keyed := r.Rate > 0 || r.Concurrency > 0
	switch {
	case r.Rate > 0 && r.Concurrency > 0:
		v.add("request.concurrency", "given together with request.rate: a run is closed loop (concurrency: requests in flight) or open loop (rate: requests per second), not both")
		return
	case s.Profile == ProfileCustom && len(s.Stages) == 0:
		v.add("stages", "required with profile custom (a list of {duration, rate} or {duration, target}); or drop the profile and give request.rate or request.concurrency with duration")
		return
	case keyed && len(s.Stages) > 0 && !slices.Equal(s.Stages, s.requestStages()):
		key := "request.rate"
		if r.Concurrency > 0 {
			key = "request.concurrency"
		}
		v.add("stages", "given together with %s, which makes its own stage; use one or the other (a stage's rate is requests per second, its target requests in flight)", key)
		return
	case len(s.Stages) > 0 && !keyed:
		if s.Duration != 0 {
			v.add("duration", "given together with stages, which set the run's length; use one or the other")
		}
		v.requestStages()
		return
	case !keyed:
		v.add("request", "mode request needs request.rate (requests per second, open loop) or request.concurrency (requests in flight, closed loop), or stages")
		return
	}
	v.nonNegative("duration", s.Duration)
	if s.Duration == 0 && r.Count <= 0 {
		v.add("duration", "required in mode request: how long requests are sent %s, or give request.count", durationHint)
	}
}

// requestStages checks explicit stages in mode request: each sets a rate
// or a target, and the run is one kind or the other throughout.
func (v *validator) requestStages() {
	s := v.s
	open, closed, both := -1, -1, false
	for i, st := range s.Stages {
		p := fmt.Sprintf("stages[%d]", i)
		v.nonNegative(p+".duration", st.Duration)
		v.count(p+".target", st.Target)
		if st.Rate < 0 || st.Rate > MaxRequestRate || math.IsNaN(st.Rate) || math.IsInf(st.Rate, 0) {
			v.add(p+".rate", "%v is not a request rate: requests per second, 0 to %d", st.Rate, MaxRequestRate)
		}
		switch {
		case st.Rate > 0 && st.Target > 0:
			v.add(p, "sets both rate (open loop: requests per second) and target (closed loop: requests in flight); a stage in mode request sets one of them")
			both = true
		case st.Rate > 0 && open < 0:
			open = i
		case st.Target > 0 && closed < 0:
			closed = i
		}
	}
	switch {
	case both:
	case open >= 0 && closed >= 0:
		v.add("stages", "mixes open-loop stages (a rate, stages[%d]) and closed-loop stages (a target, stages[%d]); a run is one or the other", open, closed)
	case s.TotalDuration() <= 0:
		v.add("stages", "the stages last 0s in total; give at least one a duration")
	case open < 0 && closed < 0:
		v.add("stages", "every stage has rate 0 and target 0, so no request would be sent")
	}
}

// request checks the rest of the request settings and the body template.
func (v *validator) request() {
	s := v.s
	r := s.Request
	if r.MaxInFlight < 0 || r.MaxInFlight > MaxConnections {
		v.add("request.max_in_flight", "%d: want 1 to %d requests in flight (0: %d)", r.MaxInFlight, MaxConnections, DefaultMaxInFlight)
	}
	if r.Arrival != "" && !slices.Contains(Arrivals, r.Arrival) {
		v.add("request.arrival", "%s", oneOf(r.Arrival, Arrivals))
	}
	if r.Order != "" && !slices.Contains(Orders, r.Order) {
		v.add("request.order", "%s", oneOf(r.Order, Orders))
	}
	if r.Tokens.Count != "" && !slices.Contains(TokenCounts, r.Tokens.Count) {
		v.add("request.tokens.count", "%s", oneOf(r.Tokens.Count, TokenCounts))
	}
	v.nonNegative("request.end.max_duration", r.End.MaxDuration)
	if strings.ContainsAny(r.End.Event, "\r\n") {
		v.add("request.end.event", "%q holds a line break; an event type is one line", r.End.Event)
	}
	if strings.Contains(r.End.Data, "\r") {
		v.add("request.end.data", "%q holds a carriage return, which never reaches event data (lines end at CR, LF or CRLF)", r.End.Data)
	}
	for _, p := range []struct{ path, val, eg string }{
		{"request.tokens.delta_path", r.Tokens.DeltaPath, "choices.0.delta.content"},
		{"request.tokens.usage_path", r.Tokens.UsagePath, "usage.completion_tokens"},
	} {
		if p.val != "" && slices.Contains(strings.Split(p.val, "."), "") {
			v.add(p.path, "%q is not a dotted key path (e.g. %s)", p.val, p.eg)
		}
	}
	if r.Dataset != "" && strings.TrimSpace(r.Dataset) == "" {
		v.add("request.dataset", "%q names no file (a JSONL file, one JSON object per line)", r.Dataset)
	}
	if err := checkBody(s.Body, r.Dataset != ""); err != nil {
		v.add("body", "%s", templateError(err))
	}
}
