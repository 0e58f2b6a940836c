package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Built-in profiles: each turns the shorthand (Connections N, Ramp R,
// Duration D, ArrivalRate) into Stages. The table in PROFILES.md shows the
// same shapes.
//
//	steady  ramp 0→N over R (default min(D/6, 30s)), hold N until D.
//	ramp    0→N linearly over the whole D (Ramp must be unset).
//	spike   base B = 10% of N (at least 1): ramp 0→B over R, hold B until
//	        D/3, jump to N at once, hold N until 2D/3, drop back to B at
//	        once, hold B until D. R must fit in the first third.
//	soak    steady, meant for long runs: D defaults to 1h.
//	churn   steady, and Lifetime defaults to a random 5s-30s, so streams
//	        keep closing and being replaced at a constant target.
//	custom  Stages written out; the shorthand must be unset.
//
// A stage with Duration 0 is a step: the target changes at once (spike
// uses two). A scenario with Stages and no Profile is custom; one with
// neither is steady.
const (
	ProfileSteady = "steady"
	ProfileRamp   = "ramp"
	ProfileSpike  = "spike"
	ProfileSoak   = "soak"
	ProfileChurn  = "churn"
	ProfileCustom = "custom"
)

// Defaults that Normalize fills in for zero fields.
const (
	DefaultMode           = "subscribe"
	ModeRequest           = "request"
	ModeCapacity          = "capacity"
	DefaultMethod         = "GET"
	DefaultPolicy         = "browser"
	DefaultBaseDelay      = time.Second
	DefaultMaxDelay       = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultHeadersTimeout = 30 * time.Second
	DefaultLatencyField   = "ts"
	DefaultLatencyFormat  = "unix_ns"
	DefaultPublishMethod  = "POST"
	DefaultPublishBody    = "{{nonce}}"

	// Request mode.
	DefaultEndData            = "[DONE]"
	DefaultMaxRequestDuration = 5 * time.Minute
	DefaultMaxInFlight        = 10000
	DefaultArrival            = "constant"
	DefaultOrder              = "sequential"
	DefaultTokenCount         = "words"
	// EndDataNone as request.end.data turns the data sentinel off.
	EndDataNone = "none"
	// MaxRequestRate bounds request.rate and stage rates in mode request:
	// above it the number is a typo, not a plan.
	MaxRequestRate = 1_000_000

	// DefaultMaxRamp caps the default ramp of steady, spike, soak and churn
	// (which is Duration/6).
	DefaultMaxRamp = 30 * time.Second
	// DefaultSoakDuration is soak's Duration when none is given.
	DefaultSoakDuration = time.Hour
	// DefaultConnections and DefaultDuration are the shorthand's load when
	// none is given (as hey and k6 run something sensible from a URL
	// alone): 100 streams for 30 s; soak lasts DefaultSoakDuration.
	DefaultConnections = 100
	DefaultDuration    = 30 * time.Second
	// SpikeBasePercent is spike's base load, as a percentage of Connections.
	SpikeBasePercent = 10
	// MaxConnections bounds Connections and every stage target: above it
	// the number is a typo, not a plan (one process holds ~20k streams).
	MaxConnections = 10_000_000
)

// DefaultChurnLifetime is churn's Lifetime when none is given.
var DefaultChurnLifetime = Lifetime{Min: Duration(5 * time.Second), Max: Duration(30 * time.Second)}

// Profiles lists the profile names in the order the docs show them.
var Profiles = []string{ProfileSteady, ProfileRamp, ProfileSpike, ProfileSoak, ProfileChurn, ProfileCustom}

// Modes lists the accepted Mode values.
var Modes = []string{DefaultMode, ModeRequest, ModeCapacity}

// Policies lists the accepted Reconnect.Policy values.
var Policies = []string{"browser", "always", "never"}

// Request mode's enumerations: Request.Arrival, Request.Order and
// Request.Tokens.Count.
var (
	Arrivals    = []string{DefaultArrival, "poisson"}
	Orders      = []string{DefaultOrder, "random"}
	TokenCounts = []string{DefaultTokenCount, "chars4", "events"}
)

// builtin reports whether p makes its own stages from the shorthand.
func builtin(p string) bool { return p != ProfileCustom && slices.Contains(Profiles, p) }

// defaultRamp is min(d/6, 30s), in whole milliseconds.
func defaultRamp(d time.Duration) time.Duration {
	return min(d/6, DefaultMaxRamp).Truncate(time.Millisecond)
}

// shorthand resolves the profile and its defaults without changing s.
func (s *Scenario) shorthand() (profile string, ramp, dur time.Duration) {
	profile = s.Profile
	if profile == "" {
		profile = ProfileSteady
	}
	dur = s.Duration.D()
	switch {
	case dur != 0:
	case profile == ProfileSoak:
		dur = DefaultSoakDuration
	default:
		dur = DefaultDuration
	}
	ramp = s.Ramp.D()
	if ramp == 0 && profile != ProfileRamp {
		ramp = defaultRamp(dur)
	}
	return profile, ramp, dur
}

// expand is the stages of a built-in profile.
func expand(profile string, n int, ramp, dur time.Duration, rate float64) []Stage {
	st := func(d time.Duration, target int) Stage {
		return Stage{Duration: Duration(d), Target: target, Rate: rate}
	}
	switch profile {
	case ProfileRamp:
		return []Stage{st(dur, n)}
	case ProfileSpike:
		base := max(1, int(math.Round(float64(n)*SpikeBasePercent/100)))
		base = min(base, n)
		third := dur / 3
		return []Stage{
			st(ramp, base),
			st(third-ramp, base),
			st(0, n),
			st(third, n),
			st(0, base),
			st(dur-2*third, base),
		}
	}
	// steady, soak, churn
	return []Stage{st(ramp, n), st(dur-ramp, n)}
}

// plan is the stages the run follows: Stages, or (before Normalize) the
// profile's stages, or in mode request the stages of request.rate or
// request.concurrency.
func (s *Scenario) plan() []Stage {
	if len(s.Stages) > 0 || s.Profile == ProfileCustom {
		return s.Stages
	}
	if s.Mode == ModeRequest {
		return s.requestStages()
	}
	p, ramp, dur := s.shorthand()
	if !builtin(p) {
		return nil
	}
	return expand(p, s.connections(), ramp, dur, s.ArrivalRate)
}

// connections is the shorthand's stream count: Connections, or
// DefaultConnections.
func (s *Scenario) connections() int {
	if s.Connections == 0 {
		return DefaultConnections
	}
	return s.Connections
}

// DefaultsNote says which of the load's size and length Normalize chose
// (the shorthand's connections and duration, left unset), e.g. "100
// streams (default), 30s (default)"; "" when both were given. The summary
// and the start of a run say it, so a default is never mistaken for a
// choice.
func (s *Scenario) DefaultsNote() string {
	if len(s.defaulted) == 0 {
		return ""
	}
	streams := fmt.Sprintf("%d streams", s.Connections)
	if slices.Contains(s.defaulted, "connections") {
		streams += " (default)"
	}
	dur := s.Duration.String()
	if slices.Contains(s.defaulted, "duration") {
		dur += " (default)"
	}
	return streams + ", " + dur + "; --connections and --duration choose them"
}

// Normalize fills the documented defaults and turns the profile shorthand
// into Stages. It is idempotent. Call Validate first: Normalize trusts the
// values (with a built-in profile it replaces Stages with the profile's).
func (s *Scenario) Normalize() {
	if s.Mode == "" {
		s.Mode = DefaultMode
	}
	s.Method = strings.ToUpper(s.Method)
	if s.Method == "" {
		s.Method = DefaultMethod
	}
	if s.Timeout.Connect == 0 {
		s.Timeout.Connect = Duration(DefaultConnectTimeout)
	}
	if s.Timeout.Headers == 0 {
		s.Timeout.Headers = Duration(DefaultHeadersTimeout)
	}
	if s.HTTP2 && s.StreamsPerConn == 0 {
		s.StreamsPerConn = DefaultStreamsPerConn
	}
	if s.Mode == ModeRequest {
		// The subscribe-only settings (reconnect, lifetime, latency field,
		// ...) stay zero: Validate refuses them in this mode.
		s.normalizeRequest()
		return
	}
	if s.Reconnect.Policy == "" {
		s.Reconnect.Policy = DefaultPolicy
	}
	if s.Reconnect.BaseDelay == 0 {
		s.Reconnect.BaseDelay = Duration(DefaultBaseDelay)
	}
	if s.Reconnect.MaxDelay == 0 {
		s.Reconnect.MaxDelay = Duration(DefaultMaxDelay)
	}
	lf := &s.Expect.LatencyField
	switch {
	case lf.Field == "" && lf.Format == "":
		*lf = LatencyField{Field: DefaultLatencyField, Format: DefaultLatencyFormat}
	case lf.Format == "":
		lf.Format = DefaultLatencyFormat
	case lf.Format == "none":
		lf.Field = ""
	}
	if p := s.Publisher; p != nil {
		p.Method = strings.ToUpper(p.Method)
		if p.Method == "" {
			p.Method = DefaultPublishMethod
		}
		if p.Body == "" {
			p.Body = DefaultPublishBody
		}
	}

	// A one-sided lifetime is a fixed one.
	if s.Lifetime.Min == 0 {
		s.Lifetime.Min = s.Lifetime.Max
	}
	if s.Lifetime.Max == 0 {
		s.Lifetime.Max = s.Lifetime.Min
	}
	if s.Mode == ModeCapacity {
		// The streams are subscribe streams (defaults above); the load
		// shape is the staircase, which the search builds from Capacity.
		s.normalizeCapacity()
		return
	}

	if len(s.Stages) == 0 || builtin(s.Profile) {
		if s.Profile != ProfileCustom {
			p, ramp, dur := s.shorthand()
			if s.Connections == 0 {
				s.Connections = DefaultConnections
				s.defaulted = append(s.defaulted, "connections")
			}
			if s.Duration == 0 {
				s.defaulted = append(s.defaulted, "duration")
			}
			s.Profile, s.Duration = p, Duration(dur)
			if p != ProfileRamp {
				s.Ramp = Duration(ramp)
			}
			if p == ProfileChurn && s.Lifetime.IsZero() {
				s.Lifetime = DefaultChurnLifetime
			}
			s.Stages = expand(p, s.Connections, ramp, dur, s.ArrivalRate)
		}
	} else if s.Profile == "" {
		s.Profile = ProfileCustom
	}
	for i := range s.Stages {
		if s.Stages[i].Rate == 0 {
			s.Stages[i].Rate = s.ArrivalRate
		}
	}
}

// normalizeRequest fills mode request's defaults and turns request.rate
// or request.concurrency (with duration) into Stages.
func (s *Scenario) normalizeRequest() {
	r := &s.Request
	if r.End.Data == "" {
		r.End.Data = DefaultEndData
	}
	if r.End.MaxDuration == 0 {
		r.End.MaxDuration = Duration(DefaultMaxRequestDuration)
	}
	if r.MaxInFlight == 0 {
		r.MaxInFlight = DefaultMaxInFlight
	}
	if r.Arrival == "" {
		r.Arrival = DefaultArrival
	}
	if r.Order == "" {
		r.Order = DefaultOrder
	}
	if r.Tokens.Count == "" {
		r.Tokens.Count = DefaultTokenCount
	}
	if len(s.Stages) > 0 {
		if r.Rate == 0 && r.Concurrency == 0 {
			s.Profile = ProfileCustom
		}
		return
	}
	if s.Profile == ProfileCustom {
		return
	}
	s.Duration = Duration(s.requestDuration())
	s.Stages = s.requestStages()
}

// requestDuration is how long a mode request run without stages lasts:
// Duration, or with only request.count a bound that a run of Count
// requests cannot outlast even if every request runs to end.max_duration
// (open loop: Count/Rate of arrivals plus one max_duration; closed loop:
// ceil(Count/Concurrency) max_durations). The run stops at Count anyway.
func (s *Scenario) requestDuration() time.Duration {
	r := s.Request
	if s.Duration > 0 || r.Count <= 0 {
		return s.Duration.D()
	}
	maxDur := orDefault(r.End.MaxDuration, DefaultMaxRequestDuration)
	var d float64 // nanoseconds, saturating below
	switch {
	case r.Rate > 0:
		arrivals := math.Ceil(float64(r.Count) / r.Rate)
		d = arrivals*float64(time.Second) + float64(maxDur)
	case r.Concurrency > 0:
		rounds := math.Ceil(float64(r.Count) / float64(r.Concurrency))
		d = rounds * float64(maxDur)
	}
	if d >= float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64).Truncate(time.Second)
	}
	return time.Duration(d)
}

// requestStages is the load shape of request.rate (one stage at that rate,
// target 0) or request.concurrency (a step to it at the start, then a
// hold) over the duration; nil without either.
func (s *Scenario) requestStages() []Stage {
	r := s.Request
	d := Duration(s.requestDuration())
	switch {
	case r.Rate > 0 && r.Concurrency == 0:
		return []Stage{{Duration: d, Rate: r.Rate}}
	case r.Concurrency > 0 && r.Rate == 0:
		return []Stage{{Duration: 0, Target: r.Concurrency}, {Duration: d, Target: r.Concurrency}}
	}
	return nil
}

// OpenLoop reports whether a mode request run sends requests at a rate
// (RateAt is requests per second, TargetAt is 0) rather than keeping
// TargetAt requests in flight. False in mode subscribe.
func (s *Scenario) OpenLoop() bool {
	if s.Mode != ModeRequest {
		return false
	}
	for _, st := range s.plan() {
		if st.Rate > 0 {
			return true
		}
	}
	return false
}

// TotalDuration is how long the run lasts: the sum of its stages.
func (s *Scenario) TotalDuration() time.Duration {
	var total time.Duration
	for _, st := range s.plan() {
		total += st.Duration.D()
	}
	return total
}

// TargetAt is the number of concurrent streams wanted t after the start
// (in a closed-loop mode request run: requests in flight):
// linear within each stage from the previous stage's target (0 at the
// start), rounded to the nearest stream. A zero-length stage is a step, in
// force from its start. Past the end it is the last stage's target.
// Safe for concurrent use as long as s is not being changed.
func (s *Scenario) TargetAt(t time.Duration) int {
	if t < 0 {
		return 0
	}
	prev := 0
	var start time.Duration
	for _, st := range s.plan() {
		d := st.Duration.D()
		if t < start+d {
			frac := float64(t-start) / float64(d)
			return int(math.Round(float64(prev) + float64(st.Target-prev)*frac))
		}
		start += d
		prev = st.Target
	}
	return prev
}

// RateAt is the cap on new connection attempts per second t after the
// start: the stage's Rate, else ArrivalRate; 0 means no cap. Past the end
// it is the last stage's. In an open-loop mode request run it is the
// request rate (requests per second), constant within each stage.
func (s *Scenario) RateAt(t time.Duration) float64 {
	stages := s.plan()
	if len(stages) == 0 {
		return s.ArrivalRate
	}
	rate := stages[len(stages)-1].Rate
	var start time.Duration
	for _, st := range stages {
		d := st.Duration.D()
		if t < start+d {
			rate = st.Rate
			break
		}
		start += d
	}
	if rate == 0 {
		rate = s.ArrivalRate
	}
	return rate
}

// MaxTarget is the most streams the run ever wants open at once.
func (s *Scenario) MaxTarget() int {
	n := 0
	for _, st := range s.plan() {
		n = max(n, st.Target)
	}
	return n
}
