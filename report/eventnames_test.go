package report

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// eventResult is a result whose events_by_type holds the given counts,
// each type's delivery samples spread from 1ms up; union gets the same
// samples per type.
func eventResult(t *testing.T, counts map[string]int64, union *EventTally) *Result {
	t.Helper()
	var tally EventTally
	for name, n := range counts {
		us := make([]int64, n)
		for i := range us {
			us[i] = int64(1000 * (i + 1))
		}
		tally.Add(name, n, us)
		union.Add(name, n, us)
	}
	r := &Result{Schema: ResultSchema, Start: time.Unix(1000, 0), End: time.Unix(1003, 0), Metrics: map[string]Metric{},
		Counters: Counters{Ends: map[string]int64{}, TypeFieldMissing: 2}}
	r.Counters.EventsByType, _ = tally.Counts(true)
	return r
}

// Merging results sums per-type counts and merges their delivery
// histograms exactly: the merged percentiles are those of the union.
func TestMergeEventTypesExact(t *testing.T) {
	var union EventTally
	a := eventResult(t, map[string]int64{"sseEvent": 300, "close": 1}, &union)
	b := eventResult(t, map[string]int64{"sseEvent": 700, "progress": 5}, &union)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := union.Counts(true)
	got := m.Counters.EventsByType
	if len(got) != 3 {
		t.Fatalf("merged types %v", got)
	}
	for name, w := range want {
		g := got[name]
		if g.Count != w.Count || g.Delivery == nil || *g.Delivery != *w.Delivery {
			t.Errorf("%s: merged %+v %+v, want the union's %+v %+v", name, g, g.Delivery, w, w.Delivery)
		}
	}
	if m.Counters.TypeFieldMissing != 4 {
		t.Errorf("type_field_missing %d, want 2+2", m.Counters.TypeFieldMissing)
	}
	// A delivery summary without its histogram cannot be merged exactly.
	bad := eventResult(t, map[string]int64{"x": 3}, &EventTally{})
	d := *bad.Counters.EventsByType["x"].Delivery
	d.HDR = ""
	bad.Counters.EventsByType["x"] = EventCount{Count: 3, Delivery: &d}
	if _, err := Merge(a, bad); err == nil || !strings.Contains(err.Error(), "cannot be merged exactly") {
		t.Errorf("merge of a histogram-less delivery: %v", err)
	}
}

// The bound on names holds across merges: names past MaxEventNames go to
// the Other bucket, and no event is lost from the total.
func TestEventTallyBound(t *testing.T) {
	var a, b EventTally
	for i := range MaxEventNames {
		a.Add(fmt.Sprintf("a%03d", i), 1, nil)
		b.Add(fmt.Sprintf("b%03d", i), 2, []int64{5})
	}
	b.AddOther(7, nil)
	ca, _ := a.Counts(true)
	cb, ob := b.Counts(true)
	var m EventTally
	if err := m.Merge(ca, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Merge(cb, ob); err != nil {
		t.Fatal(err)
	}
	got, other := m.Counts(true)
	if len(got) != MaxEventNames || got["a000"].Count != 1 || got["b000"].Count != 0 {
		t.Errorf("%d names kept (a000 %d, b000 %d): want the first %d", len(got), got["a000"].Count, got["b000"].Count, MaxEventNames)
	}
	if other == nil || other.Count != 2*MaxEventNames+7 || other.Delivery == nil || other.Delivery.Count != MaxEventNames {
		t.Errorf("other %+v: want b's %d events and their %d samples, plus b's own 7 others", other, 2*MaxEventNames+7, MaxEventNames)
	}
	if s := ClipEventName(strings.Repeat("é", 40)); len(s) > MaxEventNameLen+len("…") || !strings.HasSuffix(s, "é…") {
		t.Errorf("clipped %q (%d bytes): want whole characters and …", s, len(s))
	}
}

func TestEventTypeThresholds(t *testing.T) {
	c := Counters{
		EventsByType:  map[string]EventCount{"sseEvent": {Count: 12}, "user.created": {Count: 3}},
		EventsByField: map[string]EventCount{"chat": {Count: 4}},
		Ends:          map[string]int64{},
	}
	for _, tc := range []struct {
		expr   string
		passed bool
		note   string
	}{
		{"events.type.sseEvent > 0", true, ""},
		{"events.type.sseEvent == 12", true, ""},
		{"events.type.close == 0", true, ""},
		{"events.type.close > 0", false, `no event had event type "close"`},
		{"events.type.sseEvnt > 0", false, "did you mean events.type.sseEvent?"},
		{"events.type.user.created >= 3", true, ""},
		{"events.field.chat == 4", true, ""},
		{"events.field.chta > 0", false, "did you mean events.field.chat?"},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if th.Unit != UnitCount {
			t.Errorf("%s: unit %s", tc.expr, th.Unit)
		}
		r, err := th.Evaluate(nil, c)
		if err != nil || r.Passed != tc.passed || !strings.Contains(r.Note, tc.note) {
			t.Errorf("%s: passed %v note %q err %v; want passed %v, note with %q", tc.expr, r.Passed, r.Note, err, tc.passed, tc.note)
		}
		if err := th.CheckMode(ModeRequest); err != nil {
			t.Errorf("%s: %v (request mode counts types too)", tc.expr, err)
		}
	}
	for _, tc := range []struct{ expr, want string }{
		{"events.typ.sseEvent > 0", "did you mean events.type.sseEvent?"},
		{"events.fields.chat > 0", "did you mean events.field.chat?"},
		{"events.type. > 0", "names no type"},
		{"events.type.close > 1ms", "is a count"},
	} {
		if _, err := ParseThreshold(tc.expr); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.expr, err, tc.want)
		}
	}
	// A count that grows: "== 0" failing live has failed for good.
	th, _ := ParseThreshold("events.type.sseEvent == 0")
	if r, _ := th.Evaluate(nil, c); !th.FailedForGood(r) {
		t.Error("events.type.sseEvent == 0 failing is not final")
	}
	if err := (&LiveGate{ths: []Threshold{th}}).Check(nil, c); err == nil {
		t.Error("the live gate does not stop on events.type.sseEvent == 0")
	}
}

// The summary lists the five most frequent types and how many more; a
// run of unnamed events only has no type line.
func TestSummaryEventTypes(t *testing.T) {
	counts := map[string]EventCount{}
	for i := range 8 {
		counts[fmt.Sprintf("t%d", i)] = EventCount{Count: int64(10 - i)}
	}
	r := &Result{Schema: ResultSchema, Metrics: map[string]Metric{}, Scenario: []byte(`{"expect":{"type_field":"messageType"}}`),
		Counters: Counters{Ends: map[string]int64{}, EventsByType: counts,
			EventsByField: map[string]EventCount{"chat": {Count: 4}}, TypeFieldMissing: 1,
			EventsOther: &EventsOther{Limit: MaxEventNames, Type: &EventCount{Count: 9}}}}
	var b strings.Builder
	if err := WriteSummary(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  types    t0 10  t1 9  t2 8  t3 7  t4 6  +3 more  (other names, past 100: 9 events)\n",
		"  by messageType  chat 4  (without the field 1)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	r.Counters.EventsByType = map[string]EventCount{"message": {Count: 5}}
	r.Counters.EventsByField, r.Counters.TypeFieldMissing, r.Counters.EventsOther = nil, 0, nil
	b.Reset()
	_ = WriteSummary(&b, r)
	if strings.Contains(b.String(), "types") || strings.Contains(b.String(), "by messageType") {
		t.Errorf("a run of plain message events shows type lines:\n%s", b.String())
	}
	// The HTML report has a table per table of names.
	r.Counters.EventsByType = counts
	var h strings.Builder
	if err := WriteHTML(&h, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.String(), "<h3>Events by type</h3>") || !strings.Contains(h.String(), `<span class="mono">t7</span>`) {
		t.Error("the HTML report has no events-by-type table listing every type")
	}
}
