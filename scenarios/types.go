package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// textParser is implemented by the types that have a one-line text form
// (a YAML scalar or a flag value) besides their mapping form.
type textParser interface {
	parseText(s string) error
}

var (
	_ textParser = (*Duration)(nil)
	_ textParser = (*Lifetime)(nil)
	_ textParser = (*LatencyField)(nil)
	_ textParser = (*Drop)(nil)
	_ textParser = (*Stage)(nil)

	_ yaml.Unmarshaler = (*Duration)(nil)
	_ yaml.Unmarshaler = (*Lifetime)(nil)
	_ yaml.Unmarshaler = (*LatencyField)(nil)
	_ yaml.Unmarshaler = (*Drop)(nil)
	_ yaml.Marshaler   = Duration(0)
	_ json.Marshaler   = Duration(0)
	_ json.Unmarshaler = (*Duration)(nil)
)

const durationHint = "(e.g. 10s, 1m30s)"

// parseDuration reads a duration as Go writes it ("1m30s", "500ms") or a
// bare whole number of seconds ("90"), the form YAML users reach for first.
// Negative durations are refused here so "10s-60s" ranges stay unambiguous.
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t != "" && strings.Trim(t, "0123456789") == "" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("%q is too long a duration", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration %s", s, durationHint)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative; a duration must be 0 or more", s)
	}
	return d, nil
}

// String writes the duration the way a person would: "1m30s", "1h", "500ms".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (d *Duration) parseText(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML accepts "1m30s" or a whole number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalStandalone(n, d)
}

// MarshalYAML writes the duration as a string, e.g. "1m30s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration as a string, e.g. "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON accepts the string form ("1m30s") or a whole number of
// seconds, like the YAML form.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	return d.parseText(s)
}

// IsZero reports whether streams live until the run ends.
func (l Lifetime) IsZero() bool { return l.Min == 0 && l.Max == 0 }

// String is the flag form: "" (none), "30s" (fixed) or "10s-1m" (random).
func (l Lifetime) String() string {
	switch {
	case l.IsZero():
		return ""
	case l.Min == l.Max || l.Max == 0:
		return l.Min.String()
	case l.Min == 0:
		return l.Max.String()
	}
	return l.Min.String() + "-" + l.Max.String()
}

// parseText reads "30s" (fixed), "10s-60s" (random in the range) or
// "none"/"0" (streams live until the run ends).
func (l *Lifetime) parseText(s string) error {
	t := strings.TrimSpace(s)
	if t == "none" || t == "" {
		*l = Lifetime{}
		return nil
	}
	lo, hi, isRange := strings.Cut(t, "-")
	if !isRange {
		d, err := parseDuration(t)
		if err != nil {
			return fmt.Errorf("%q is not a lifetime (e.g. 30s, or 10s-60s for a random range)", s)
		}
		*l = Lifetime{Min: Duration(d), Max: Duration(d)}
		return nil
	}
	min, err1 := parseDuration(lo)
	max, err2 := parseDuration(hi)
	if err1 != nil || err2 != nil || lo == "" || hi == "" {
		return fmt.Errorf("%q is not a lifetime (e.g. 30s, or 10s-60s for a random range)", s)
	}
	*l = Lifetime{Min: Duration(min), Max: Duration(max)}
	return nil
}

// UnmarshalYAML accepts "30s", "10s-60s" or a {min, max} mapping.
func (l *Lifetime) UnmarshalYAML(n *yaml.Node) error { return unmarshalStandalone(n, l) }

// MarshalYAML writes the text form ("30s", "10s-1m"), or null for none.
func (l Lifetime) MarshalYAML() (any, error) {
	if l.IsZero() {
		return nil, nil
	}
	return l.String(), nil
}

// Latency timestamp formats.
var latencyFormats = []string{"unix_ns", "unix_us", "unix_ms", "unix_s", "rfc3339", "none"}

// String is the flag form: "ts:unix_ns", "meta.ts:rfc3339" or "none".
func (f LatencyField) String() string {
	switch {
	case f.Format == "none":
		return "none"
	case f.Field == "" && f.Format == "":
		return ""
	case f.Format == "":
		return f.Field
	}
	return f.Field + ":" + f.Format
}

// parseText reads "ts" (format unix_ns), "ts:unix_ms" or "none".
func (f *LatencyField) parseText(s string) error {
	t := strings.TrimSpace(s)
	if t == "none" {
		*f = LatencyField{Format: "none"}
		return nil
	}
	field, format := t, "unix_ns"
	if i := strings.LastIndexByte(t, ':'); i >= 0 {
		field, format = t[:i], t[i+1:]
		if !slices.Contains(latencyFormats, format) || format == "none" {
			return fmt.Errorf("%q has an unknown timestamp format %q (one of %s)%s",
				s, format, strings.Join(latencyFormats[:5], ", "), suggest(format, latencyFormats[:5]))
		}
	}
	if field == "" {
		return fmt.Errorf("%q names no field (e.g. ts, ts:unix_ms, meta.ts:rfc3339, none)", s)
	}
	*f = LatencyField{Field: field, Format: format}
	return nil
}

// UnmarshalYAML accepts "ts", "ts:unix_ms", "none" or a {field, format}
// mapping.
func (f *LatencyField) UnmarshalYAML(n *yaml.Node) error { return unmarshalStandalone(n, f) }

// MarshalYAML writes the text form ("ts:unix_ns", "none").
func (f LatencyField) MarshalYAML() (any, error) {
	if f == (LatencyField{}) {
		return nil, nil
	}
	return f.String(), nil
}

// String is the flag form: "5%/10s".
func (d Drop) String() string {
	return strconv.FormatFloat(d.Percent, 'f', -1, 64) + "%/" + d.Every.String()
}

// parseText reads "PERCENT%/EVERY", e.g. "5%/10s" (the % is optional).
func (d *Drop) parseText(s string) error {
	bad := fmt.Errorf("%q is not a drop setting (PERCENT%%/EVERY, e.g. 5%%/10s)", s)
	pct, every, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return bad
	}
	p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(pct), "%"), 64)
	if err != nil {
		return bad
	}
	e, err := parseDuration(every)
	if err != nil {
		return bad
	}
	*d = Drop{Percent: p, Every: Duration(e)}
	return nil
}

// UnmarshalYAML accepts "5%/10s" or a {percent, every} mapping.
func (d *Drop) UnmarshalYAML(n *yaml.Node) error { return unmarshalStandalone(n, d) }

// String is the flag form: "DURATION:TARGET" or "DURATION:TARGET:RATE".
func (st Stage) String() string {
	s := st.Duration.String() + ":" + strconv.Itoa(st.Target)
	if st.Rate != 0 {
		s += ":" + strconv.FormatFloat(st.Rate, 'f', -1, 64)
	}
	return s
}

// parseText reads "DURATION:TARGET[:RATE]", e.g. "30s:100" or "1m:500:50".
func (st *Stage) parseText(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("%q is not a stage (DURATION:TARGET[:RATE], e.g. 30s:100 or 1m:500:50): %s", s, why)
	}
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return bad("expected 2 or 3 parts separated by ':'")
	}
	d, err := parseDuration(parts[0])
	if err != nil {
		return bad(err.Error())
	}
	target, err := strconv.Atoi(strings.TrimSpace(parts[1]))
	if err != nil {
		return bad(fmt.Sprintf("target %q is not a whole number", parts[1]))
	}
	out := Stage{Duration: Duration(d), Target: target}
	if len(parts) == 3 {
		out.Rate, err = strconv.ParseFloat(strings.TrimSpace(parts[2]), 64)
		if err != nil {
			return bad(fmt.Sprintf("rate %q is not a number", parts[2]))
		}
	}
	*st = out
	return nil
}
