package loadgen

import (
	"strconv"
	"time"
)

// extractStamp finds the server's send time at path in an event's data
// (a JSON number, or a string for RFC 3339). It scans the raw bytes, as
// token deltas are found, so a stamp costs no decode: this runs for every
// event.
func extractStamp(data []byte, path *jsonPath, format string) (time.Time, bool) {
	raw, ok := path.find(data)
	if !ok {
		return time.Time{}, false
	}
	if len(raw) >= 2 && raw[0] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	return parseStamp(raw, format)
}

// parseStamp reads a unix time in the given unit, or RFC 3339.
func parseStamp(raw []byte, format string) (time.Time, bool) {
	if format == "rfc3339" {
		t, err := time.Parse(time.RFC3339Nano, string(raw))
		return t, err == nil
	}
	var unit int64 = 1
	switch format {
	case "unix_us":
		unit = 1e3
	case "unix_ms":
		unit = 1e6
	case "unix_s":
		unit = 1e9
	}
	if n, ok := atoi(raw); ok {
		return time.Unix(0, n*unit), true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(f*float64(unit))), true
}

// atoi parses a non-negative decimal integer without allocating (this runs
// for every event).
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// stampClass is what an event's stamp says about its delivery sample.
type stampClass int

const (
	stampNone    stampClass = iota // no latency field configured
	stampMissing                   // the field is absent or unparsable: "unstamped"
	stampOK                        // a delivery sample
	stampFuture                    // stamped after it arrived: clock skew, no sample
	stampHuge                      // over an hour: a sample, and a warning (wrong unit?)
)

// deliveryWarn is the delivery over which a sample suggests a stamp in the
// wrong unit (seconds read as milliseconds, say) rather than a slow server.
const deliveryWarn = time.Hour

// classifyDelivery sorts one delivery figure (receive time minus stamp).
func classifyDelivery(d time.Duration) stampClass {
	switch {
	case d < 0:
		return stampFuture
	case d > deliveryWarn:
		return stampHuge
	}
	return stampOK
}
