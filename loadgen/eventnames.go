package loadgen

import (
	"bytes"
	"sync"
	"sync/atomic"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// nameTable interns the event names (types, or type_field values) a run
// has met, up to report.MaxEventNames: past that, a new name is "other".
// The names come from the server, so the bound is what keeps a hostile
// one from growing the generator's memory. Safe for concurrent use; a
// known name's lookup takes no lock.
type nameTable struct {
	known atomic.Pointer[map[string]string]
	mu    sync.Mutex
}

// intern is name's interned copy, or ok false when the table is full and
// name is not in it.
func (t *nameTable) intern(name []byte) (string, bool) {
	if m := t.known.Load(); m != nil {
		if s, ok := (*m)[string(name)]; ok { // no allocation: a map lookup
			return s, true
		}
		if len(*m) >= report.MaxEventNames && len(name) <= report.MaxEventNameLen {
			return "", false
		}
	}
	return t.add(string(name))
}

// internString is intern for a string.
func (t *nameTable) internString(name string) (string, bool) {
	if m := t.known.Load(); m != nil {
		if s, ok := (*m)[name]; ok {
			return s, true
		}
		if len(*m) >= report.MaxEventNames && len(name) <= report.MaxEventNameLen {
			return "", false
		}
	}
	return t.add(name)
}

// add interns a name not seen yet, clipped (report.ClipEventName), while
// there is room.
func (t *nameTable) add(name string) (string, bool) {
	key := report.ClipEventName(name)
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.known.Load()
	if old != nil {
		if s, ok := (*old)[key]; ok {
			return s, true
		}
		if len(*old) >= report.MaxEventNames {
			return "", false
		}
	}
	m := make(map[string]string, 1+len(ptrMap(old)))
	for k, v := range ptrMap(old) {
		m[k] = v
	}
	m[key] = key
	t.known.Store(&m)
	return key, true
}

func ptrMap(m *map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	return *m
}

// nameTally is one name's events in a stripe's interval.
type nameTally struct {
	n   int64
	del []int64 // delivery samples, µs
}

func (nt *nameTally) add(deliveryUS int64) {
	nt.n++
	if deliveryUS >= 0 {
		nt.del = append(nt.del, deliveryUS)
	}
}

// stripeNames is one table's interval in a stripe: at most
// report.MaxEventNames names (the recorder's nameTable decides), and the
// rest. Its buffers are kept across intervals.
type stripeNames struct {
	byName map[string]*nameTally
	other  nameTally
}

// add counts one event of name (ok false: past the bound) with its
// delivery sample in µs (-1: none). Called with the stripe's lock held.
func (sn *stripeNames) add(name string, ok bool, deliveryUS int64) {
	if !ok {
		sn.other.add(deliveryUS)
		return
	}
	nt := sn.byName[name]
	if nt == nil {
		if sn.byName == nil {
			sn.byName = map[string]*nameTally{}
		}
		nt = &nameTally{}
		sn.byName[name] = nt
	}
	nt.add(deliveryUS)
}

// drainInto adds the interval to each tally and empties it, keeping its
// buffers. Called with the stripe's lock held.
func (sn *stripeNames) drainInto(tallies ...*report.EventTally) {
	for name, nt := range sn.byName {
		if nt.n == 0 {
			continue
		}
		for _, t := range tallies {
			t.Add(name, nt.n, nt.del)
		}
		nt.n, nt.del = 0, nt.del[:0]
	}
	if sn.other.n > 0 {
		for _, t := range tallies {
			t.AddOther(sn.other.n, sn.other.del)
		}
		sn.other.n, sn.other.del = 0, sn.other.del[:0]
	}
}

// eventNamer is what a run counts events by and closes clients on.
type eventNamer struct {
	field     *jsonPath // type_field; nil: none
	closeType string    // close_on.event; "": none
	closeData *scenarios.DataMatch
	closePath *jsonPath // closeData's JSON path form
	closeSub  []byte    // closeData's substring form
}

func newEventNamer(s *scenarios.Scenario) (*eventNamer, error) {
	n := &eventNamer{closeType: s.CloseOn.Event}
	var err error
	if n.field, err = parseJSONPath(s.Expect.TypeField); err != nil {
		return nil, err
	}
	if d := s.CloseOn.Data; d != "" {
		m, err := scenarios.ParseDataMatch(d)
		if err != nil {
			return nil, err
		}
		n.closeData = &m
		n.closeSub = []byte(m.Contains)
		if m.Path != "" {
			if n.closePath, err = parseJSONPath(m.Path); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

// scalar is the JSON value at jp in data as text: a string unescaped (in
// scratch when it has escapes), a number, true, false or null as written;
// ok false when absent, an object or an array. It returns scratch for
// reuse.
func scalar(jp *jsonPath, data, scratch []byte) (v []byte, ok bool, _ []byte) {
	raw, found := jp.find(data)
	if !found || len(raw) == 0 {
		return nil, false, scratch
	}
	switch raw[0] {
	case '{', '[':
		return nil, false, scratch
	case '"':
		s, scratch := jp.str(data, scratch)
		return s, s != nil, scratch
	}
	return raw, true, scratch
}

// closes reports whether an event of type typ with data ends the client
// (close_on).
func (n *eventNamer) closes(typ string, data, scratch []byte) (bool, []byte) {
	if n.closeType != "" && typ == n.closeType {
		return true, scratch
	}
	m := n.closeData
	switch {
	case m == nil:
		return false, scratch
	case m.Path != "":
		v, ok, scratch := scalar(n.closePath, data, scratch)
		return ok && string(v) == m.Value, scratch
	case m.Contains != "":
		return bytes.Contains(data, n.closeSub), scratch
	}
	return string(data) == m.Exact, scratch
}

// closing reports whether any end marker is set (n may be nil: none).
func (n *eventNamer) closing() bool { return n != nil && (n.closeType != "" || n.closeData != nil) }

// typeField is the type_field path, nil for none (n may be nil).
func (n *eventNamer) typeField() *jsonPath {
	if n == nil {
		return nil
	}
	return n.field
}
