package report

import (
	"fmt"
	"github.com/ssebench/ssebench/internal/didyoumean"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Threshold grammar, one condition per expression:
//
//	SUBJECT OP VALUE
//
//	SUBJECT  METRIC.AGG    a latency metric (MetricNames, or in request
//	                       mode RequestMetricNames: ttft, ttft_sent, itl,
//	                       tpot, e2e, e2e_sent) and an aggregate:
//	                       count, min, mean (or avg), max, or a percentile
//	                       pNN: p50, p90, p95, p99, p999 (= p99.9), p9999,
//	                       p99.9 (digits after the first two are decimals)
//	         COUNTER       a Counters field: streams_opened, streams_failed,
//	                       events, comments, bytes, reconnects, events_lost,
//	                       events_duplicated, publishes, publish_errors,
//	                       clock_skew; in request mode requests,
//	                       requests_ok, requests_good, requests_failed
//	                       (= requests - requests_ok), requests_cut (the
//	                       failed answers cut at max_duration or by the
//	                       run's end), tokens (of answers that ended
//	                       normally), tokens_cut, tokens_failed
//	         COUNTER.rate  a share from 0 to 1: streams_failed.rate =
//	                       failed/(opened+failed), publish_errors.rate =
//	                       errors/(publishes+errors), events_lost.rate =
//	                       lost/(events+lost), events_duplicated.rate =
//	                       duplicated/events, requests_failed.rate =
//	                       1 - requests_ok/requests
//	         goodput       the share of requests that ended normally and
//	                       met every per-request SLO (see GoodputSLOs)
//	         tokens_per_s  output tokens of the answers that ended
//	                       normally, per second over the whole run
//	                       (its duration, answers in flight at the end
//	                       included, as vLLM's output throughput)
//	         ends.CLASS    how many streams ended with that end class
//	         events.type.NAME   how many events of SSE event type NAME
//	                       arrived ("message": those without an event:
//	                       line); the rest of the subject is the name,
//	                       dots included (events.type.user.created)
//	         events.field.NAME  how many events had NAME as the value of
//	                       the scenario's type_field (--type-field)
//	OP       <  <=  >  >=  ==  !=
//	VALUE    a latency needs a unit: 500ms, 1.5s, 750us (or µs), 2m, 1m30s;
//	         a rate or goodput takes a percentage (0.1%) or a fraction
//	         (0.001); a count is a plain number (1000, 1e6); a per-second
//	         figure is a plain number, optionally followed by /s.
//
// Examples: "first_event.p99 < 500ms", "delivery.p999 <= 2s",
// "streams_failed.rate < 0.1%", "events_lost == 0", "reconnects < 100",
// "ttft.p99 < 1s", "tpot.p50 < 50ms", "goodput >= 95%",
// "events.type.sseEvent > 0", "events.type.close == 0",
// "requests_failed.rate < 1%", "tokens_per_s >= 500".

// Threshold is one parsed condition. Its zero value is not useful: build
// it with ParseThreshold. Safe for concurrent use (it is never changed).
type Threshold struct {
	Expr    string  // the expression as written, trimmed
	Subject string  // what it reads, e.g. "first_event.p99"
	Op      string  // one of < <= > >= == !=
	Bound   float64 // in the subject's unit (see Unit)
	Unit    string  // UnitMS (latency in ms), UnitRatio (0..1) or UnitCount

	kind     subjectKind
	metric   string  // kindMetric
	agg      string  // kindMetric: count, min, mean, max, or "p" for a percentile
	quantile float64 // kindMetric with agg "p": percent, e.g. 99.9
	counter  string  // kindCounter, kindRate: the Counters JSON name; kindEnds: the class; kindEventName: the name
	table    string  // kindEventName: eventTableType or eventTableField
}

// Units of a threshold's bound and value.
const (
	UnitMS    = "ms"
	UnitRatio = "ratio"
	UnitCount = "count"
	// UnitPerSecond is a throughput over the whole run (tokens_per_s).
	UnitPerSecond = "per_s"
)

type subjectKind uint8

const (
	kindMetric subjectKind = iota + 1
	kindCounter
	kindRate
	kindEnds
	kindGoodput
	kindPerSecond
	kindEventName
)

// The per-name event tables a threshold can read (events.TABLE.NAME).
const (
	eventTableType  = "type"
	eventTableField = "field"
)

// thresholdMetrics are the latency metrics a threshold can name: those of
// both modes.
var thresholdMetrics = func() []string {
	out := slices.Clone(MetricNames)
	for _, n := range RequestMetricNames {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}()

// perSecondFields maps the throughput subjects to the counter they divide
// by the run's duration.
var perSecondFields = map[string]func(c *Counters) int64{
	"tokens_per_s": func(c *Counters) int64 { return c.Tokens },
}

// goodputSubject is the share of requests that were good.
const goodputSubject = "goodput"

// ThresholdOps lists the comparison operators, longest first so that
// "<=" is never read as "<".
var ThresholdOps = []string{"<=", ">=", "==", "!=", "<", ">"}

// counterFields maps the counters a threshold can name to their values.
var counterFields = map[string]func(c *Counters) int64{
	"streams_opened":    func(c *Counters) int64 { return c.StreamsOpened },
	"streams_failed":    func(c *Counters) int64 { return c.StreamsFailed },
	"events":            func(c *Counters) int64 { return c.Events },
	"comments":          func(c *Counters) int64 { return c.Comments },
	"bytes":             func(c *Counters) int64 { return c.Bytes },
	"reconnects":        func(c *Counters) int64 { return c.Reconnects },
	"events_lost":       func(c *Counters) int64 { return c.EventsLost },
	"events_duplicated": func(c *Counters) int64 { return c.EventsDuplicated },
	"publishes":         func(c *Counters) int64 { return c.Publishes },
	"publish_errors":    func(c *Counters) int64 { return c.PublishErrors },
	"clock_skew":        func(c *Counters) int64 { return c.ClockSkew },
	"unstamped":         func(c *Counters) int64 { return c.Unstamped },
	"redirects":         func(c *Counters) int64 { return c.Redirects },
	"requests":          func(c *Counters) int64 { return c.Requests },
	"requests_ok":       func(c *Counters) int64 { return c.RequestsOK },
	"requests_good":     func(c *Counters) int64 { return c.RequestsGood },
	"requests_failed":   func(c *Counters) int64 { return c.Requests - c.RequestsOK },
	"tokens":            func(c *Counters) int64 { return c.Tokens },
	"requests_cut":      func(c *Counters) int64 { return c.RequestsCut },
	"tokens_cut":        func(c *Counters) int64 { return c.TokensCut },
	"tokens_failed":     func(c *Counters) int64 { return c.TokensFailed },
}

// rateFields maps COUNTER.rate to its numerator and denominator.
var rateFields = map[string]func(c *Counters) (num, den int64){
	"streams_failed":    func(c *Counters) (int64, int64) { return c.StreamsFailed, c.StreamsOpened + c.StreamsFailed },
	"publish_errors":    func(c *Counters) (int64, int64) { return c.PublishErrors, c.Publishes + c.PublishErrors },
	"events_lost":       func(c *Counters) (int64, int64) { return c.EventsLost, c.Events + c.EventsLost },
	"events_duplicated": func(c *Counters) (int64, int64) { return c.EventsDuplicated, c.Events },
	"requests_failed":   func(c *Counters) (int64, int64) { return c.Requests - c.RequestsOK, c.Requests },
}

// ParseThreshold parses one expression. The error is one line that quotes
// the expression and says what is wrong with it.
func ParseThreshold(s string) (Threshold, error) {
	expr := strings.TrimSpace(s)
	t := Threshold{Expr: expr}
	bad := func(format string, a ...any) (Threshold, error) {
		return Threshold{}, fmt.Errorf("threshold %q: %s", expr, fmt.Sprintf(format, a...))
	}
	if expr == "" {
		return bad(`empty; write a condition such as "first_event.p99 < 500ms"`)
	}
	i, op := -1, ""
	for j := 0; j < len(expr) && i < 0; j++ {
		for _, o := range ThresholdOps {
			if strings.HasPrefix(expr[j:], o) {
				i, op = j, o
				break
			}
		}
	}
	if i < 0 {
		if strings.Contains(expr, "=") {
			return bad("no comparison: use == (not =), or one of < <= > >= !=")
		}
		return bad("no comparison: want SUBJECT OP VALUE with OP one of < <= > >= == !=, e.g. \"first_event.p99 < 500ms\"")
	}
	t.Op = op
	t.Subject = strings.TrimSpace(expr[:i])
	value := strings.TrimSpace(expr[i+len(op):])
	if t.Subject == "" {
		return bad("nothing before %s: name a metric or counter, e.g. first_event.p99 or events_lost", op)
	}
	if value == "" {
		return bad("no value after %s", op)
	}
	if strings.ContainsAny(value, "<>=!") {
		return bad("more than one comparison: write one condition per threshold")
	}
	if err := t.parseSubject(); err != nil {
		return bad("%v", err)
	}
	if err := t.parseBound(value); err != nil {
		return bad("%v", err)
	}
	return t, nil
}

// ParseThresholds parses every expression. Its error names every bad one,
// on one line (joined by "; "), so a scenario with several bad thresholds
// shows them all at once.
func ParseThresholds(exprs []string) ([]Threshold, error) {
	out := make([]Threshold, 0, len(exprs))
	var errs []error
	for _, e := range exprs {
		t, err := ParseThreshold(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	if len(errs) > 0 {
		return out, multiError(errs)
	}
	return out, nil
}

// multiError is errors.Join on one line.
type multiError []error

func (m multiError) Error() string {
	msgs := make([]string, len(m))
	for i, e := range m {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (m multiError) Unwrap() []error { return m }

func (t *Threshold) parseSubject() error {
	s := t.Subject
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return fmt.Errorf("%q: a subject has no spaces (e.g. first_event.p99)", s)
	}
	if class, ok := strings.CutPrefix(s, "ends."); ok {
		if class == "" || strings.IndexFunc(class, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}) >= 0 {
			return fmt.Errorf("ends.%s: an end class is lower-case letters, digits and _ (e.g. ends.reset, ends.http_503)", class)
		}
		_, sub := LookupEnd(ModeSubscribe, class)
		_, req := LookupEnd(ModeRequest, class)
		if !sub && !req {
			names := append(EndNames(ModeSubscribe), EndNames(ModeRequest)...)
			slices.Sort(names)
			names = slices.Compact(names)
			if near := didyoumean.Closest(class, names); near != "" {
				return fmt.Errorf("unknown end class %q: did you mean ends.%s? (end classes: %s)", class, near, strings.Join(names, ", "))
			}
			return fmt.Errorf("unknown end class %q: a run never ends a stream so (end classes: %s)", class, strings.Join(names, ", "))
		}
		t.kind, t.counter, t.Unit = kindEnds, class, UnitCount
		return nil
	}
	if rest, ok := strings.CutPrefix(s, "events."); ok && strings.Contains(rest, ".") {
		table, name, _ := strings.Cut(rest, ".")
		if table != eventTableType && table != eventTableField {
			near := didyoumean.Closest(table, []string{eventTableType, eventTableField})
			if near == "" {
				near = eventTableType
			}
			return fmt.Errorf("unknown subject %q: did you mean events.%s.%s? (events.type.NAME counts events of an SSE event type, events.field.NAME those with a type_field value)", s, near, name)
		}
		if name == "" {
			return fmt.Errorf("events.%s. names no %s: write e.g. events.%s.%s", table, table, table, map[string]string{eventTableType: "sseEvent", eventTableField: "chat"}[table])
		}
		t.kind, t.table, t.counter, t.Unit = kindEventName, table, name, UnitCount
		return nil
	}
	head, tail, dotted := strings.Cut(s, ".")
	if head == goodputSubject {
		if dotted {
			return fmt.Errorf("goodput is already a share of requests: write goodput >= 95%%, not goodput.%s", tail)
		}
		t.kind, t.Unit = kindGoodput, UnitRatio
		return nil
	}
	if _, ok := perSecondFields[head]; ok {
		if dotted {
			return fmt.Errorf("%s is a throughput over the run: write %s >= 100, not %s", head, head, s)
		}
		t.kind, t.counter, t.Unit = kindPerSecond, head, UnitPerSecond
		return nil
	}
	if slices.Contains(thresholdMetrics, head) {
		if !dotted {
			return fmt.Errorf("%s is a latency metric: add an aggregate, e.g. %s.p99 (count, min, mean, p50, p90, p95, p99, p999, max)", head, head)
		}
		t.kind, t.metric, t.Unit = kindMetric, head, UnitMS
		switch tail {
		case "count":
			t.agg, t.Unit = "count", UnitCount
		case "min", "mean", "max":
			t.agg = tail
		case "avg":
			t.agg = "mean"
		default:
			q, err := parsePercentile(tail)
			if err != nil {
				return fmt.Errorf("%s: %v", s, err)
			}
			t.agg, t.quantile = "p", q
		}
		return nil
	}
	if _, ok := counterFields[head]; ok {
		switch {
		case !dotted:
			t.kind, t.counter, t.Unit = kindCounter, head, UnitCount
		case tail == "rate":
			if _, ok := rateFields[head]; !ok {
				return fmt.Errorf("%s has no .rate (rates: %s)", head, strings.Join(rateNames(), ", "))
			}
			t.kind, t.counter, t.Unit = kindRate, head, UnitRatio
		case tail == "count":
			t.kind, t.counter, t.Unit = kindCounter, head, UnitCount
		default:
			return fmt.Errorf("%s is a counter: use %s or %s.rate, not .%s", head, head, head, tail)
		}
		return nil
	}
	others := append([]string{goodputSubject}, sortedKeys(perSecondFields)...)
	candidates := append(append(slices.Clone(thresholdMetrics), counterNames()...), others...)
	if near := didyoumean.Closest(head, candidates); near != "" && (!dotted || slices.Contains(others, near)) {
		return fmt.Errorf("unknown subject %q: did you mean %s? (metrics: %s; counters: %s; also %s)",
			s, near, strings.Join(thresholdMetrics, ", "), strings.Join(counterNames(), ", "), strings.Join(others, ", "))
	} else if near != "" {
		return fmt.Errorf("unknown subject %q: did you mean %s.%s? (metrics: %s; counters: %s; also %s)",
			s, near, tail, strings.Join(thresholdMetrics, ", "), strings.Join(counterNames(), ", "), strings.Join(others, ", "))
	}
	return fmt.Errorf("unknown subject %q: want METRIC.AGG (metrics: %s), a counter (%s), COUNTER.rate, ends.CLASS, events.type.NAME, events.field.NAME, or one of %s",
		s, strings.Join(thresholdMetrics, ", "), strings.Join(counterNames(), ", "), strings.Join(others, ", "))
}

// Subjects only one mode measures: a threshold on the other mode's
// subject could never fail (a count of 0) or never pass (no samples).
var (
	requestOnlyCounters   = []string{"requests", "requests_ok", "requests_good", "requests_failed", "tokens", "requests_cut", "tokens_cut", "tokens_failed"}
	subscribeOnlyCounters = []string{"reconnects", "events_lost", "events_duplicated", "publishes", "publish_errors", "clock_skew", "unstamped", "redirects"}
)

// CheckMode reports whether a run of the given mode ("" is subscribe) can
// produce the threshold's subject: an error names what it reads and the
// mode that measures it.
func (t Threshold) CheckMode(mode string) error {
	if mode == "" {
		mode = ModeSubscribe
	}
	other := ModeRequest
	names, only := MetricNames, subscribeOnlyCounters
	if mode == ModeRequest {
		other, names, only = ModeSubscribe, RequestMetricNames, requestOnlyCounters
	}
	bad := func(what string) error {
		return fmt.Errorf("threshold %q: %s is measured only in mode %s; this run is mode %s", t.Expr, what, other, mode)
	}
	switch t.kind {
	case kindMetric:
		if !slices.Contains(names, t.metric) {
			return bad(t.metric)
		}
	case kindCounter, kindRate:
		if slices.Contains(only, t.counter) {
			return nil
		}
		otherOnly := requestOnlyCounters
		if mode == ModeRequest {
			otherOnly = subscribeOnlyCounters
		}
		if slices.Contains(otherOnly, t.counter) {
			return bad(t.counter)
		}
	case kindGoodput, kindPerSecond:
		if mode != ModeRequest {
			return bad(t.Subject)
		}
	case kindEnds:
		if _, ok := LookupEnd(mode, t.counter); !ok {
			return fmt.Errorf("threshold %q: a mode %s run never ends with %s (its end classes: %s)", t.Expr, mode, t.counter, strings.Join(EndNames(mode), ", "))
		}
	}
	return nil
}

// ParseThresholdsFor parses every expression (ParseThresholds) and checks
// that a run of the mode can produce each subject (CheckMode).
func ParseThresholdsFor(mode string, exprs []string) ([]Threshold, error) {
	ths, err := ParseThresholds(exprs)
	if err != nil {
		return ths, err
	}
	var errs []error
	for _, t := range ths {
		if err := t.CheckMode(mode); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return ths, multiError(errs)
	}
	return ths, nil
}

// parsePercentile reads "p99", "p999" (99.9), "p99.9", "p50".
func parsePercentile(agg string) (float64, error) {
	digits, ok := strings.CutPrefix(agg, "p")
	if !ok || digits == "" {
		return 0, fmt.Errorf("unknown aggregate %q (count, min, mean, max, or a percentile such as p50, p99, p999)", agg)
	}
	for _, r := range digits {
		if !(r == '.' || r >= '0' && r <= '9') {
			return 0, fmt.Errorf("unknown aggregate %q (count, min, mean, max, or a percentile such as p50, p99, p999)", agg)
		}
	}
	if digits == "100" {
		return 0, fmt.Errorf("percentile %q: use max for the largest value", agg)
	}
	text := digits
	if !strings.Contains(digits, ".") && len(digits) > 2 {
		// p999 is 99.9 and p9999 99.99; any other run of digits is ambiguous.
		if !strings.HasPrefix(digits, "99") {
			return 0, fmt.Errorf("percentile %q: write p50, p95, p99.5, p999 (99.9) or p9999 (99.99)", agg)
		}
		text = digits[:2] + "." + digits[2:]
	}
	q, err := strconv.ParseFloat(text, 64)
	if err != nil || q <= 0 || q >= 100 {
		return 0, fmt.Errorf("percentile %q is not between p0 and p100 (use max for the largest value)", agg)
	}
	return q, nil
}

func (t *Threshold) parseBound(v string) error {
	switch t.Unit {
	case UnitMS:
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return fmt.Errorf("%s is a latency: give %s a unit, e.g. %sms or %ss", t.Subject, v, trimFloat(n), trimFloat(n))
		}
		d, err := time.ParseDuration(strings.ReplaceAll(v, " ", ""))
		if err != nil {
			return fmt.Errorf("%s is a latency: %q is not a duration (e.g. 500ms, 1.5s, 750us, 2m)", t.Subject, v)
		}
		if d < 0 {
			return fmt.Errorf("negative latency %s", v)
		}
		t.Bound = float64(d) / float64(time.Millisecond)
	case UnitRatio:
		pct := strings.HasSuffix(v, "%")
		n, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, "%")), 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return fmt.Errorf("%s is a share: %q is not a percentage (0.1%%) or a fraction (0.001)", t.Subject, v)
		}
		if pct {
			n /= 100
		} else if n > 1 {
			return fmt.Errorf("%s is a share from 0 to 1: %s is more than 1 (write %s%% for a percentage)", t.Subject, v, v)
		}
		if n < 0 || n > 1 {
			return fmt.Errorf("%s is a share: %s is not between 0%% and 100%%", t.Subject, v)
		}
		t.Bound = n
	case UnitPerSecond:
		text := strings.TrimSpace(strings.TrimSuffix(v, "/s"))
		n, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
			return fmt.Errorf("%s is a rate per second: %q is not a number (e.g. 500 or 500/s)", t.Subject, v)
		}
		t.Bound = n
	default:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			if strings.HasSuffix(v, "%") {
				return fmt.Errorf("%s is a count: %% only applies to a .rate (e.g. streams_failed.rate < 1%%)", t.Subject)
			}
			if _, derr := time.ParseDuration(v); derr == nil {
				return fmt.Errorf("%s is a count, not a latency: drop the unit from %q", t.Subject, v)
			}
			return fmt.Errorf("%s is a count: %q is not a number", t.Subject, v)
		}
		t.Bound = n
	}
	return nil
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func counterNames() []string { return sortedKeys(counterFields) }
func rateNames() []string {
	names := sortedKeys(rateFields)
	for i, n := range names {
		names[i] = n + ".rate"
	}
	return names
}

// compare applies the operator.
func (t Threshold) compare(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Bound
	case "<=":
		return v <= t.Bound
	case ">":
		return v > t.Bound
	case ">=":
		return v >= t.Bound
	case "==":
		return v == t.Bound
	case "!=":
		return v != t.Bound
	}
	return false
}

// value reads the subject. ok is false when a latency aggregate has no
// samples: "p99 < 500ms" over nothing measured must not pass a gate.
func (t Threshold) value(metrics map[string]Metric, c *Counters, seconds float64) (v float64, ok bool, err error) {
	switch t.kind {
	case kindCounter:
		return float64(counterFields[t.counter](c)), true, nil
	case kindRate:
		num, den := rateFields[t.counter](c)
		if den == 0 {
			// Nothing to divide by (no stream attempted, say): no data,
			// which fails the gate rather than reading as a 0% rate.
			return 0, false, nil
		}
		return float64(num) / float64(den), true, nil
	case kindEnds:
		return float64(c.Ends[t.counter]), true, nil
	case kindEventName:
		return float64(t.eventCounts(c)[t.counter].Count), true, nil
	case kindGoodput:
		// No request means no goodput to speak of: fail the gate rather
		// than pass "goodput >= 95%" on nothing.
		if c.Requests == 0 {
			return 0, false, nil
		}
		return float64(c.RequestsGood) / float64(c.Requests), true, nil
	case kindPerSecond:
		if seconds <= 0 {
			return 0, false, nil
		}
		return float64(perSecondFields[t.counter](c)) / seconds, true, nil
	}
	m := metrics[t.metric]
	if t.agg == "count" {
		return float64(m.Count), true, nil
	}
	if m.Count == 0 {
		return 0, false, nil
	}
	switch t.agg {
	case "min":
		return m.MinMS, true, nil
	case "mean":
		return m.MeanMS, true, nil
	case "max":
		return m.MaxMS, true, nil
	}
	switch t.quantile {
	case 50:
		return m.P50MS, true, nil
	case 90:
		return m.P90MS, true, nil
	case 99:
		return m.P99MS, true, nil
	case 99.9:
		return m.P999MS, true, nil
	}
	if m.HDR == "" {
		return 0, false, fmt.Errorf("threshold %q: %s has no histogram in this result, so only p50, p90, p99 and p999 can be read", t.Expr, t.metric)
	}
	h, err := m.Hist()
	if err != nil {
		return 0, false, fmt.Errorf("threshold %q: %s: %w", t.Expr, t.metric, err)
	}
	return Quantile(h, t.quantile), true, nil
}

// eventCounts is the per-name table the threshold reads.
func (t Threshold) eventCounts(c *Counters) map[string]EventCount {
	if t.table == eventTableField {
		return c.EventsByField
	}
	return c.EventsByType
}

// eventNameNote says, for a failed threshold on a name no event had,
// which names the run did see (the likely one first): a misspelt type
// reads as a count of 0, which alone would not say why.
func (t Threshold) eventNameNote(c *Counters) string {
	counts := t.eventCounts(c)
	if _, ok := counts[t.counter]; ok || len(counts) == 0 {
		return ""
	}
	what := "event type"
	if t.table == eventTableField {
		what = "type_field value"
	}
	names := TopEventNames(counts)
	note := fmt.Sprintf("0: no event had %s %q", what, t.counter)
	if near := didyoumean.Closest(t.counter, names); near != "" {
		note += fmt.Sprintf("; did you mean events.%s.%s?", t.table, near)
	}
	if len(names) > 5 {
		names = append(names[:5:5], fmt.Sprintf("+%d more", len(names)-5))
	}
	return note + " (seen: " + strings.Join(names, ", ") + ")"
}

// Evaluate checks the threshold against a run's metrics and counters.
// A throughput (tokens_per_s) needs the run's length:
// use EvaluateOver for those; here they fail with a note.
func (t Threshold) Evaluate(metrics map[string]Metric, c Counters) (ThresholdResult, error) {
	return t.EvaluateOver(metrics, c, 0)
}

// EvaluateOver is Evaluate for a run (or window) of the given length in
// seconds, which throughputs divide by.
func (t Threshold) EvaluateOver(metrics map[string]Metric, c Counters, seconds float64) (ThresholdResult, error) {
	v, ok, err := t.value(metrics, &c, seconds)
	if err != nil {
		return ThresholdResult{}, err
	}
	r := ThresholdResult{Expr: t.Expr, Value: v, Unit: t.Unit, Passed: ok && t.compare(v)}
	if t.kind == kindEventName && !r.Passed {
		r.Note = t.eventNameNote(&c)
	}
	if !ok {
		switch t.kind {
		case kindGoodput:
			r.Note = "no request was sent"
		case kindPerSecond:
			r.Note = "the run's duration is unknown"
		case kindRate:
			r.Note = "no data: " + t.counter + ".rate has a zero denominator"
		default:
			r.Note = "no " + t.metric + " samples were measured"
		}
	}
	return r, nil
}

// FailedForGood reports whether a failed live evaluation can no longer
// pass by the end of the run. Counters, counts and maxima only grow (and
// minima only shrink), so "events_lost == 0" that fails now fails at the
// end, while "streams_opened >= 1000" failing during the ramp may still
// pass. Percentiles, means and rates can move either way; like k6, a live
// failure of one of those counts (it is what abort_on_fail asks for).
// A latency with no samples yet has not failed at all.
func (t Threshold) FailedForGood(r ThresholdResult) bool {
	if r.Passed || r.Note != "" {
		return false
	}
	grows := t.kind == kindCounter || t.kind == kindEnds || t.kind == kindEventName || t.kind == kindMetric && (t.agg == "count" || t.agg == "max")
	shrinks := t.kind == kindMetric && t.agg == "min"
	switch {
	case grows:
		return t.Op == "<" || t.Op == "<=" || t.Op == "==" && r.Value > t.Bound
	case shrinks:
		return t.Op == ">" || t.Op == ">=" || t.Op == "==" && r.Value < t.Bound
	}
	return true
}

// EvaluateThresholds parses and evaluates exprs against a finished result.
// An expression that does not parse is an error (it should have been
// caught before the run with ParseThresholds).
func EvaluateThresholds(res *Result, exprs []string) ([]ThresholdResult, error) {
	ths, err := ParseThresholdsFor(modeOf(res), exprs)
	if err != nil {
		return nil, err
	}
	out := make([]ThresholdResult, 0, len(ths))
	for _, t := range ths {
		r, err := t.EvaluateOver(res.Metrics, res.Counters, res.DurationS)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// LiveGate evaluates thresholds while a run is going, for abort_on_fail.
// Not safe for concurrent use; the aggregator calls it from one goroutine.
type LiveGate struct {
	ths []Threshold
}

// NewLiveGate parses exprs for live evaluation in a run of the mode
// (ParseThresholdsFor): the check before any load is sent.
func NewLiveGate(mode string, exprs []string) (*LiveGate, error) {
	ths, err := ParseThresholdsFor(mode, exprs)
	if err != nil {
		return nil, err
	}
	return &LiveGate{ths: ths}, nil
}

// Check returns an error naming the first threshold that has failed for
// good (see FailedForGood) on the run's totals so far, or nil.
//
// In request mode, requests still in flight have neither failed nor been
// good yet, so goodput and requests_failed.rate are read over the
// requests that have ended (the sum of Ends) rather than every request
// sent: otherwise "goodput >= 95%" would abort every run in its first
// second. Throughputs (tokens_per_s) are not checked live.
func (g *LiveGate) Check(metrics map[string]Metric, c Counters) error {
	if ended := sumCounts(c.Ends); c.Requests > 0 && ended < c.Requests {
		c.Requests = ended
	}
	for _, t := range g.ths {
		r, err := t.Evaluate(metrics, c)
		if err != nil {
			continue // only p75-style percentiles without a histogram; the final evaluation reports it
		}
		if t.FailedForGood(r) {
			return fmt.Errorf("threshold failed: %s (was %s)", t.Expr, ShownValue(r))
		}
	}
	return nil
}

// FailedThresholds lists the failed expressions with their values, for an
// error message: `first_event.p99 < 500ms (was 812ms)`.
func FailedThresholds(rs []ThresholdResult) []string {
	var out []string
	for _, r := range rs {
		if r.Passed {
			continue
		}
		was := ShownValue(r)
		if r.Note != "" {
			was = r.Note
		}
		out = append(out, fmt.Sprintf("%s (was %s)", r.Expr, was))
	}
	return out
}

// ShownValue renders a threshold's measured value as FormatValue does,
// with more digits when that would read as the bound itself although it
// is not: "500.4ms" for 500.4 against "< 500ms", never "500ms", so a
// failed (or passed) threshold shows why.
func ShownValue(r ThresholdResult) string {
	s := FormatValue(r.Value, r.Unit)
	t, err := ParseThreshold(r.Expr)
	if err != nil || r.Value == t.Bound || s != FormatValue(t.Bound, r.Unit) {
		return s
	}
	for prec := 1; prec <= 9; prec++ {
		if a := formatPrec(r.Value, r.Unit, prec); a != formatPrec(t.Bound, r.Unit, prec) {
			return a
		}
	}
	return s
}

// formatPrec renders v in its unit with prec more decimals than the
// unit's usual form.
func formatPrec(v float64, unit string, prec int) string {
	f := func(x float64, p int, suffix string) string { return strconv.FormatFloat(x, 'f', p, 64) + suffix }
	switch unit {
	case UnitMS:
		switch {
		case v >= 10000:
			return f(v/1000, 1+prec, "s")
		case v < 1:
			return f(v*1000, prec, "µs")
		}
		return f(v, prec, "ms")
	case UnitRatio:
		return f(v*100, 1+prec, "%")
	case UnitPerSecond:
		return f(v, prec, "/s")
	}
	return f(v, prec, "")
}

// FormatValue renders a threshold value in its unit.
func FormatValue(v float64, unit string) string {
	switch unit {
	case UnitMS:
		return FormatMS(v)
	case UnitRatio:
		return fmtPercent(v)
	case UnitPerSecond:
		return fmtRate(v) + "/s"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// fmtPercent renders a 0..1 share with enough digits to tell 0.01% from 0.
func fmtPercent(f float64) string {
	p := f * 100
	switch {
	case p == 0:
		return "0%"
	case p < 0.01:
		return strconv.FormatFloat(p, 'g', 2, 64) + "%"
	case p < 10:
		return strconv.FormatFloat(p, 'f', 2, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// fmtRate renders a per-second figure: whole numbers from 100 up, three
// significant digits below.
func fmtRate(v float64) string {
	if math.Abs(v) >= 100 || v == math.Trunc(v) {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// goodputMetrics are the per-request metrics whose thresholds define what
// a good request is. ITL is left out: it is one value per token gap, not
// per request, and its tail is what TPOT already averages per request.
var goodputMetrics = []string{MetricTTFT, MetricTPOT, MetricE2E}

// GoodputSLOs returns the per-request bounds that goodput counts against:
// each threshold on ttft, tpot or e2e (any statistic: "ttft.p99 < 1s"
// and "ttft.max <= 1s" both mean a request is good only if its own TTFT is
// at most 1s) gives its bound. When several thresholds name one metric,
// the loosest bound is kept: "ttft.p50 < 200ms" and "ttft.p99 < 1s"
// together say a request within 1s is acceptable, with most well under.
// Thresholds that are not upper bounds on those metrics (ttft.min > 1ms,
// ttft.count >= 10, anything else) say nothing about one request and are
// ignored. The error is ParseThresholds' for a bad expression. No bound
// at all gives an empty map: every request that ended normally is good.
//
// A request is good when it ended normally (sentinel, end event or clean
// close) and each of its metrics named here is within its bound.
func GoodputSLOs(thresholds []string) (map[string]time.Duration, error) {
	ths, err := ParseThresholds(thresholds)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Duration{}
	for _, t := range ths {
		if t.kind != kindMetric || t.Unit != UnitMS || !slices.Contains(goodputMetrics, t.metric) || (t.Op != "<" && t.Op != "<=") {
			continue
		}
		d := time.Duration(math.Round(t.Bound * float64(time.Millisecond)))
		if cur, ok := out[t.metric]; !ok || d > cur {
			out[t.metric] = d
		}
	}
	return out, nil
}
