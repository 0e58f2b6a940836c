package scenarios

import (
	"math"
	"net/url"
	"time"
)

// given reports whether path was written in the file or set by a flag,
// so an explicit 0 can be told from an absent key.
func (s *Scenario) given(path string) bool {
	if s.origin == nil {
		return false
	}
	_, inFile := s.origin.lines[path]
	_, byFlag := s.origin.flags[path]
	return inFile || byFlag
}

// capacitySettings lists every capacity.* key and whether it is set.
func (s *Scenario) capacitySettings() []setting {
	c := s.Capacity
	set := func(path string, nonZero bool) setting { return setting{path, nonZero || s.given(path)} }
	return []setting{
		set("capacity.start", c.Start != 0), set("capacity.step", c.Step != 0), set("capacity.factor", c.Factor != 0),
		set("capacity.max", c.Max != 0), set("capacity.hold", c.Hold != 0), set("capacity.ramp", c.Ramp != nil),
		set("capacity.refine", c.Refine != nil), set("capacity.server_pid", c.ServerPID != 0),
		set("capacity.server_metrics", c.ServerMetrics != ""),
	}
}

// capacityOnly refuses capacity.* settings in the other modes: most
// likely the scenario forgot mode: capacity. One error, at the first.
func (v *validator) capacityOnly() {
	if p := v.s.firstSetInFile(v.s.capacitySettings()...); p != "" {
		mode := v.s.Mode
		if mode == "" {
			mode = DefaultMode
		}
		v.add(p, "only used in mode capacity, and the mode here is %s; add mode: capacity (--mode capacity)", mode)
	}
}

// notCapacity refuses, in mode capacity, the load shape of the other
// modes (the search makes its own staircase) and abort_on_fail (a search
// stops at the first step that breaks a threshold anyway): silently
// ignoring them would let a scenario promise what the run does not do.
func (v *validator) notCapacity() {
	s := v.s
	const why = "not used in mode capacity, which makes its own steps"
	if s.Profile != "" {
		v.add("profile", "%q: %s (capacity.start, capacity.step or capacity.factor, capacity.max)", s.Profile, why)
	}
	if s.Connections != 0 {
		v.add("connections", "%s; give capacity.start and capacity.max", why)
	}
	if s.Ramp != 0 {
		v.add("ramp", "%s; each step's streams open over capacity.ramp", why)
	}
	if s.Duration != 0 {
		v.add("duration", "%s; each step is held for capacity.hold", why)
	}
	if s.ArrivalRate != 0 {
		v.add("arrival_rate", "%s, whose streams open evenly over capacity.ramp", why)
	}
	if len(s.Stages) > 0 {
		v.add("stages", "%s (capacity.start, capacity.step or capacity.factor, capacity.max)", why)
	}
	if s.AbortOnFail {
		v.add("abort_on_fail", "not used in mode capacity, whose search stops at the first step that breaks a threshold")
	}
}

// capacity checks the capacity block, with the rules of the capacity
// command's flags.
func (v *validator) capacity() {
	s := v.s
	c := s.Capacity
	start := c.Start
	switch {
	case c.Start < 0 || (c.Start == 0 && s.given("capacity.start")):
		v.add("capacity.start", "%d: want at least 1 stream", c.Start)
		start = 0
	case c.Start > MaxConnections:
		v.tooMany("capacity.start", c.Start)
		start = 0
	case c.Start == 0:
		start = DefaultCapacityStart
	}
	maxOK := false
	switch {
	case c.Max < 0 || (c.Max == 0 && s.given("capacity.max")):
		v.add("capacity.max", "%d: want at least 1 stream (or leave it out: what one process holds)", c.Max)
	case c.Max > MaxConnections:
		v.tooMany("capacity.max", c.Max)
	case c.Max > 0 && start > 0 && c.Max < start:
		v.add("capacity.max", "%d is below start (%d)", c.Max, start)
	default:
		maxOK = true
	}
	stepOK := true
	switch {
	case c.Step < 0 || (c.Step == 0 && s.given("capacity.step")):
		v.add("capacity.step", "%d: want a number of streams above 0", c.Step)
		stepOK = false
	case c.Step > MaxConnections:
		v.tooMany("capacity.step", c.Step)
		stepOK = false
	case c.Factor != 0 && (c.Factor <= 1 || c.Factor > 100 || math.IsNaN(c.Factor) || math.IsInf(c.Factor, 0)):
		v.add("capacity.factor", "%v: want a multiplier above 1 (e.g. 1.5), at most 100", c.Factor)
		stepOK = false
	case c.Step != 0 && c.Factor != 0:
		v.add(s.laterOf("capacity.step", "capacity.factor"), "step %d and factor %v: give one or the other", c.Step, c.Factor)
		stepOK = false
	}
	if stepOK && maxOK && start > 0 && c.Max > start {
		stairs := c
		stairs.Start = start
		if stairs.Step == 0 && stairs.Factor == 0 {
			stairs.Step = start
		}
		if n := len(stairs.Staircase()); n > MaxCapacitySteps {
			v.add("capacity.max", "%d: from start %d that is more than %d steps; use a larger step or factor", c.Max, start, MaxCapacitySteps)
		}
	}
	switch {
	case c.Hold < 0:
		v.nonNegative("capacity.hold", c.Hold)
	case c.Hold == 0 && !s.given("capacity.hold"):
	case c.Hold.D() < time.Second:
		v.add("capacity.hold", "%s: want at least 1s (each step is judged on whole seconds of its hold)", c.Hold)
	case c.Hold.D()%time.Second != 0:
		v.add("capacity.hold", "%s: want whole seconds (steps are judged on the once-a-second measurements)", c.Hold)
	}
	if r := c.Ramp; r != nil && (*r < 0 || r.D()%time.Second != 0) {
		v.add("capacity.ramp", "%s: want 0 or whole seconds (steps are judged on the once-a-second measurements)", *r)
	}
	if n := c.Refine; n != nil && (*n < 0 || *n > MaxCapacityRefine) {
		v.add("capacity.refine", "%d: want 0 (off) to %d steps", *n, MaxCapacityRefine)
	}
	if c.ServerPID < 0 {
		v.add("capacity.server_pid", "%d is not a process id", c.ServerPID)
	}
	if m := c.ServerMetrics; m != "" {
		u, err := url.Parse(m)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("capacity.server_metrics", "%q: want an http:// or https:// URL of a Prometheus text endpoint", RedactURL(m))
		}
	}
	if c.ServerPID != 0 && c.ServerMetrics != "" {
		v.add(s.laterOf("capacity.server_pid", "capacity.server_metrics"), "server_pid and server_metrics: observe the server one way or the other, not both")
	}
}

// tooMany refuses a number of streams no single process holds: a
// capacity search runs in one process, so sharding is no way out.
func (v *validator) tooMany(path string, n int) {
	v.add(path, "%d is more than %d streams, far past what one process holds (a capacity search runs in one)", n, MaxConnections)
}

// laterOf is the one of two conflicting settings written last (in the
// file, or by a flag), where the conflict is best reported.
func (s *Scenario) laterOf(a, b string) string {
	if s.origin == nil {
		return b
	}
	if _, ok := s.origin.flags[b]; ok {
		return b
	}
	if _, ok := s.origin.flags[a]; ok {
		return a
	}
	if s.origin.lines[a] > s.origin.lines[b] {
		return a
	}
	return b
}
