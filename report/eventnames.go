package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Bounds on the per-name event counts (Counters.EventsByType and
// EventsByField): the names come from the server, and a hostile or buggy
// one must not grow the generator's memory or the result without bound.
const (
	// MaxEventNames is how many distinct names one table keeps; the
	// events of any further name are counted together (EventsOther).
	MaxEventNames = 100
	// MaxEventNameLen is the longest name kept, in bytes; a longer one
	// is cut there (at a character boundary) and ends in "…".
	MaxEventNameLen = 64
)

// EventCount is one name's share of a run's events: how many, and their
// delivery latency (server send time → parsed here) when they were
// stamped.
type EventCount struct {
	Count    int64   `json:"count"`
	Delivery *Metric `json:"delivery,omitempty"`
}

// EventsOther counts the events the bound on distinct names
// (MaxEventNames per table) left out of EventsByType and EventsByField.
type EventsOther struct {
	Limit int         `json:"limit"`           // distinct names each table keeps
	Type  *EventCount `json:"type,omitempty"`  // events whose event: type came after Limit others
	Field *EventCount `json:"field,omitempty"` // events whose type_field value came after Limit others
}

// ClipEventName bounds a name from the server to MaxEventNameLen bytes.
func ClipEventName(name string) string {
	if len(name) <= MaxEventNameLen {
		return name
	}
	cut := MaxEventNameLen
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "…"
}

// EventTally adds up per-name event counts and delivery histograms
// exactly, keeping at most MaxEventNames names (the rest go to Other).
// The zero value is empty and ready. Not safe for concurrent use.
type EventTally struct {
	names map[string]*tallyEntry
	other *tallyEntry
}

type tallyEntry struct {
	n   int64
	del *hdrhistogram.Histogram // nil until a delivery sample
}

func (e *tallyEntry) hist() *hdrhistogram.Histogram {
	if e.del == nil {
		e.del = NewHist()
	}
	return e.del
}

// entry is name's entry, or Other's once the table is full.
func (t *EventTally) entry(name string) *tallyEntry {
	if e, ok := t.names[name]; ok {
		return e
	}
	if len(t.names) >= MaxEventNames {
		if t.other == nil {
			t.other = &tallyEntry{}
		}
		return t.other
	}
	if t.names == nil {
		t.names = map[string]*tallyEntry{}
	}
	e := &tallyEntry{}
	t.names[name] = e
	return e
}

// Reset empties the tally, keeping its names' histograms for reuse (an
// interval's tally, emptied every second).
func (t *EventTally) Reset() {
	for _, e := range t.names {
		e.reset()
	}
	if t.other != nil {
		t.other.reset()
	}
}

func (e *tallyEntry) reset() {
	e.n = 0
	if e.del != nil {
		e.del.Reset()
	}
}

// Add counts n events of name and records their delivery samples (µs,
// as RecordDuration records them).
func (t *EventTally) Add(name string, n int64, deliveryUS []int64) {
	t.addTo(t.entry(name), n, deliveryUS)
}

// AddOther counts n events that were past the bound where they were
// counted (a shard's own Other).
func (t *EventTally) AddOther(n int64, deliveryUS []int64) {
	if t.other == nil {
		t.other = &tallyEntry{}
	}
	t.addTo(t.other, n, deliveryUS)
}

func (t *EventTally) addTo(e *tallyEntry, n int64, deliveryUS []int64) {
	e.n += n
	if len(deliveryUS) > 0 {
		h := e.hist()
		for _, us := range deliveryUS {
			_ = h.RecordValue(min(max(us, HistLowest), HistHighest))
		}
	}
}

// Merge adds counts in result form (a shard's snapshot, a saved
// result), merging their histograms exactly; other is the input's own
// Other (nil for none).
func (t *EventTally) Merge(counts map[string]EventCount, other *EventCount) error {
	for _, name := range sortedKeys(counts) {
		if err := t.mergeInto(t.entry(name), name, counts[name]); err != nil {
			return err
		}
	}
	if other != nil {
		if t.other == nil {
			t.other = &tallyEntry{}
		}
		return t.mergeInto(t.other, "(other)", *other)
	}
	return nil
}

func (t *EventTally) mergeInto(e *tallyEntry, name string, c EventCount) error {
	e.n += c.Count
	if c.Delivery == nil || c.Delivery.Count == 0 {
		return nil
	}
	if c.Delivery.HDR == "" {
		return fmt.Errorf("the delivery of %q events has %d samples but no histogram: it cannot be merged exactly", name, c.Delivery.Count)
	}
	h, err := c.Delivery.Hist()
	if err != nil {
		return fmt.Errorf("the delivery of %q events: %w", name, err)
	}
	return MergeInto(e.hist(), h)
}

// Counts is the tally in result form: per name, and the Other bucket
// (nil when nothing was left out). With delivery false the histograms are
// left out (a live total, read once a second, needs only the counts).
func (t *EventTally) Counts(delivery bool) (map[string]EventCount, *EventCount) {
	var out map[string]EventCount
	if len(t.names) > 0 {
		out = make(map[string]EventCount, len(t.names))
		for name, e := range t.names {
			if e.n > 0 {
				out[name] = e.result(delivery)
			}
		}
	}
	if t.other == nil || t.other.n == 0 {
		return out, nil
	}
	o := t.other.result(delivery)
	return out, &o
}

func (e *tallyEntry) result(delivery bool) EventCount {
	c := EventCount{Count: e.n}
	if delivery && e.del != nil && e.del.TotalCount() > 0 {
		m := Summarize(e.del)
		c.Delivery = &m
	}
	return c
}

// EventTallies are a run's two tables: per event: type and per
// type_field value.
type EventTallies struct{ Type, Field EventTally }

// Merge adds c's per-name counts (and their Other).
func (ts *EventTallies) Merge(c *Counters) error {
	var ot, of *EventCount
	if c.EventsOther != nil {
		ot, of = c.EventsOther.Type, c.EventsOther.Field
	}
	if err := ts.Type.Merge(c.EventsByType, ot); err != nil {
		return err
	}
	return ts.Field.Merge(c.EventsByField, of)
}

// Fill sets c's per-name fields from the tallies.
func (ts *EventTallies) Fill(c *Counters, delivery bool) {
	var ot, of *EventCount
	c.EventsByType, ot = ts.Type.Counts(delivery)
	c.EventsByField, of = ts.Field.Counts(delivery)
	c.EventsOther = nil
	if ot != nil || of != nil {
		c.EventsOther = &EventsOther{Limit: MaxEventNames, Type: ot, Field: of}
	}
}

// TopEventNames is the names of counts, most frequent first (ties by
// name): the order the summary and the HTML report list them in.
func TopEventNames(counts map[string]EventCount) []string {
	names := sortedKeys(counts)
	slices.SortStableFunc(names, func(a, b string) int {
		switch ca, cb := counts[a].Count, counts[b].Count; {
		case ca > cb:
			return -1
		case ca < cb:
			return 1
		}
		return 0
	})
	return names
}

// typeFieldOf is the type_field of a result's scenario ("field" when
// unknown).
func typeFieldOf(raw json.RawMessage) string {
	var s struct {
		Expect struct {
			TypeField string `json:"type_field"`
		} `json:"expect"`
	}
	if json.Unmarshal(raw, &s) != nil || s.Expect.TypeField == "" {
		return "field"
	}
	return s.Expect.TypeField
}
