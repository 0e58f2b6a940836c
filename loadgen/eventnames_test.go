package loadgen

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// The name table keeps at most MaxEventNames names however many a server
// sends, from any number of streams at once, and a stripe's interval has
// no more entries than the table.
func TestNameTableBound(t *testing.T) {
	var tab nameTable
	var sn stripeNames
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10000 {
				name, ok := tab.intern([]byte(fmt.Sprintf("t%d-%d", g, i)))
				mu.Lock()
				sn.add(name, ok, int64(i))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n := len(*tab.known.Load()); n != report.MaxEventNames {
		t.Errorf("%d names interned, want %d", n, report.MaxEventNames)
	}
	if len(sn.byName) != report.MaxEventNames {
		t.Errorf("the stripe holds %d names", len(sn.byName))
	}
	var total int64
	for _, nt := range sn.byName {
		total += nt.n
	}
	if total+sn.other.n != 80000 {
		t.Errorf("%d named + %d other events, want 80000", total, sn.other.n)
	}
	otherN := sn.other.n
	var tally report.EventTally
	sn.drainInto(&tally)
	counts, other := tally.Counts(true)
	if len(counts) != report.MaxEventNames || other == nil || other.Count != otherN || other.Count != 80000-total {
		t.Errorf("drained %d names, other %+v; want %d names and %d others", len(counts), other, report.MaxEventNames, otherN)
	}
	for name, nt := range sn.byName {
		if nt.n != 0 || len(nt.del) != 0 {
			t.Errorf("the stripe's interval still holds %d events of %s", nt.n, name)
		}
	}
	if sn.other.n != 0 || len(sn.other.del) != 0 {
		t.Error("the stripe's other bucket was not emptied")
	}
	// A long name is kept clipped, and found again.
	var tab2 nameTable
	long := strings.Repeat("y", 300)
	a, _ := tab2.internString(long)
	b, _ := tab2.intern([]byte(long))
	if a != b || len(a) != report.MaxEventNameLen+len("…") || len(*tab2.known.Load()) != 1 {
		t.Errorf("long name interned as %q and %q", a, b)
	}
}

func TestCloseOnMatch(t *testing.T) {
	for _, tc := range []struct {
		event, data string // close_on
		typ, got    string // the event
		closes      bool
	}{
		{"close", "", "close", "bye", true},
		{"close", "", "message", "close", false},
		{"", "contDnd", "sseEvent", "contDnd", true},
		{"", "contDnd", "sseEvent", "contDnd ", false},
		{"", "*contDnd*", "sseEvent", `{"state":"contDnd"}`, true},
		{"", "*contDnd*", "sseEvent", "cont", false},
		{"", "$.status=done", "message", `{"status":"done"}`, true},
		{"", "$.status=done", "message", `{"status":"d\u006fne"}`, true},
		{"", "$.status=done", "message", `{"status":"done!"}`, false},
		{"", "$.meta.n=3", "message", `{"meta":{"n":3}}`, true},
		{"", "$.status=done", "message", `status=done`, false},
		{"", "$.status=done", "message", `{"status":{"x":"done"}}`, false},
	} {
		n, err := newEventNamer(&scenarios.Scenario{CloseOn: scenarios.CloseOn{Event: tc.event, Data: tc.data}})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := n.closes(tc.typ, []byte(tc.got), nil); got != tc.closes || !n.closing() {
			t.Errorf("close_on {%q %q}, event %s %q: closes %v, want %v", tc.event, tc.data, tc.typ, tc.got, got, tc.closes)
		}
	}
	if n, _ := newEventNamer(&scenarios.Scenario{}); n.closing() {
		t.Error("no close_on, but the client closes")
	}
}

func TestTypeFieldScalar(t *testing.T) {
	jp, _ := parseJSONPath("messageType")
	for data, want := range map[string]string{
		`{"messageType":"chat"}`:    "chat",
		`{"messageType":"ch\"at"}`:  `ch"at`,
		`{"messageType":42}`:        "42",
		`{"messageType":true}`:      "true",
		`{"messageType":{"a":1}}`:   "",
		`{"messageType":[1]}`:       "",
		`{"other":"x"}`:             "",
		`not json`:                  "",
		`{"a":{"messageType":"x"}}`: "",
	} {
		v, ok, _ := scalar(jp, []byte(data), nil)
		if string(v) != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", data, v, ok, want)
		}
	}
}

// Counting an event by a known name costs no allocation: the hot path is
// one atomic load and a map lookup.
func TestNameTableKnownNameAllocs(t *testing.T) {
	var tab nameTable
	tab.internString("sseEvent")
	tab.intern([]byte("chat"))
	b := []byte("chat")
	if n := testing.AllocsPerRun(1000, func() {
		if _, ok := tab.internString("sseEvent"); !ok {
			t.Fatal("lost")
		}
		if _, ok := tab.intern(b); !ok {
			t.Fatal("lost")
		}
	}); n != 0 {
		t.Errorf("%v allocations per lookup of a known name", n)
	}
}
