package scenarios

import (
	"math"
	"time"
)

// Mode capacity's settings have one owner, here: the settings (Capacity),
// their defaults (normalizeCapacity), their validation
// (validate_capacity.go, with the scenario's other rules) and the
// staircase they make (Staircase). The capacity command and `run --mode
// capacity` build a Scenario from flags and files like every other
// command; the search (package capacity) reads it.

const (
	// Mode capacity: the defaults of the capacity command's flags.
	DefaultCapacityStart  = 1000
	DefaultCapacityHold   = 30 * time.Second
	DefaultCapacityRamp   = 5 * time.Second
	DefaultCapacityRefine = 2
	// MaxCapacityRefine and MaxCapacitySteps bound a search: past them
	// the numbers are a typo, not a plan.
	MaxCapacityRefine = 20
	MaxCapacitySteps  = 1000
)

// DefaultCapacitySLOs are a search's SLOs when neither --slo nor the
// scenario's thresholds give any.
var DefaultCapacitySLOs = []string{"delivery.p99 < 250ms", "streams_failed.rate < 0.1%"}

// Capacity is mode: capacity, a search for the most concurrent subscribe
// streams the target holds while every threshold (the SLOs) holds: one
// continuous run up a staircase from Start, adding Step (or multiplying by
// Factor) per step up to Max; each step opens its new streams over Ramp,
// then is held for Hold and judged; the search stops at the first step
// that breaks a threshold, then tries Refine steps between the last good
// step and the first bad one. The meanings and defaults are those of the
// `ssebench capacity` flags of the same names.
type Capacity struct {
	Start  int     `yaml:"start" json:"start,omitempty"`   // streams at the first step; default DefaultCapacityStart
	Step   int     `yaml:"step" json:"step,omitempty"`     // streams added per step; default Start unless Factor is set
	Factor float64 `yaml:"factor" json:"factor,omitempty"` // streams multiplied per step (> 1) instead of Step; 0: off
	// Max is the last step; 0 means what one process holds here (its
	// open-file limit), which the command fills in at run time.
	Max  int      `yaml:"max" json:"max,omitempty"`
	Hold Duration `yaml:"hold" json:"hold,omitempty"` // whole seconds; default DefaultCapacityHold
	// Ramp and Refine are pointers because 0 is a setting (open each
	// step's streams at once; no refinement), not "the default", and
	// must stay one through the JSON a result embeds.
	Ramp   *Duration `yaml:"ramp" json:"ramp,omitempty"`     // whole seconds; default DefaultCapacityRamp
	Refine *int      `yaml:"refine" json:"refine,omitempty"` // default DefaultCapacityRefine
	// ServerPID (a local process, read from /proc) or ServerMetrics (a
	// Prometheus text endpoint) is observed for the server's cost per
	// stream; one or the other.
	ServerPID     int    `yaml:"server_pid" json:"server_pid,omitempty"`
	ServerMetrics string `yaml:"server_metrics" json:"server_metrics,omitempty"`
}

// IsZero reports whether no capacity setting is given.
func (c Capacity) IsZero() bool {
	return c.Start == 0 && c.Step == 0 && c.Factor == 0 && c.Max == 0 && c.Hold == 0 && c.Ramp == nil &&
		c.Refine == nil && c.ServerPID == 0 && c.ServerMetrics == ""
}

// Staircase is the search's steps from a normalized Capacity: Start, then
// +Step or ×Factor (always at least one stream more), and Max itself as
// the last step. It stops one step past MaxCapacitySteps, so a setting
// that makes too many steps is seen without building them all.
func (c Capacity) Staircase() []int {
	var out []int
	for n := c.Start; n < c.Max && len(out) <= MaxCapacitySteps; {
		out = append(out, n)
		next := n + c.Step
		if c.Factor > 0 {
			next = n + 1
			if f := math.Round(float64(n) * c.Factor); f > float64(next) {
				next = int(math.Min(f, float64(math.MaxInt32)))
			}
		}
		n = next
	}
	return append(out, c.Max)
}

// normalizeCapacity fills mode capacity's defaults. Max stays 0 when not
// given: what one process holds depends on the machine that runs it.
func (s *Scenario) normalizeCapacity() {
	if len(s.Stages) == 0 {
		s.Stages = nil // a YAML "stages: []" is no stages too
	}
	c := &s.Capacity
	if c.Start == 0 {
		c.Start = DefaultCapacityStart
	}
	if c.Step == 0 && c.Factor == 0 {
		c.Step = c.Start
	}
	if c.Hold == 0 {
		c.Hold = Duration(DefaultCapacityHold)
	}
	if c.Ramp == nil {
		r := Duration(DefaultCapacityRamp)
		c.Ramp = &r
	}
	if c.Refine == nil {
		n := DefaultCapacityRefine
		c.Refine = &n
	}
}
