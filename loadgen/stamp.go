package loadgen

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// extractStamp finds the server's send time in an event's data. A plain
// top-level key is found by a scan without decoding the JSON (this runs for
// every event); a dotted path falls back to a full decode.
func extractStamp(data []byte, field, format string) (time.Time, bool) {
	if strings.Contains(field, ".") {
		return stampFromPath(data, field, format)
	}
	raw, ok := scanValue(data, field)
	if !ok {
		return time.Time{}, false
	}
	return parseStamp(raw, format)
}

// scanValue returns the raw JSON value after "field": (a number, or a
// string without its quotes).
func scanValue(data []byte, field string) ([]byte, bool) {
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], []byte(field))
		if i < 0 {
			return nil, false
		}
		i += off
		off = i + len(field)
		if i == 0 || data[i-1] != '"' || off >= len(data) || data[off] != '"' {
			continue
		}
		j := off + 1
		for j < len(data) && (data[j] == ' ' || data[j] == '\t') {
			j++
		}
		if j >= len(data) || data[j] != ':' {
			continue
		}
		j++
		for j < len(data) && (data[j] == ' ' || data[j] == '\t') {
			j++
		}
		if j >= len(data) {
			return nil, false
		}
		if data[j] == '"' {
			k := bytes.IndexByte(data[j+1:], '"')
			if k < 0 {
				return nil, false
			}
			return data[j+1 : j+1+k], true
		}
		k := j
		for k < len(data) && (data[k] == '-' || data[k] == '.' || data[k] == 'e' || data[k] == 'E' || data[k] == '+' || (data[k] >= '0' && data[k] <= '9')) {
			k++
		}
		return data[j:k], k > j
	}
	return nil, false
}

func stampFromPath(data []byte, path, format string) (time.Time, bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // nanosecond stamps do not fit a float64
	if dec.Decode(&v) != nil {
		return time.Time{}, false
	}
	for _, key := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			v = node[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return time.Time{}, false
			}
			v = node[i]
		default:
			return time.Time{}, false
		}
	}
	switch x := v.(type) {
	case json.Number:
		return parseStamp([]byte(x), format)
	case string:
		return parseStamp([]byte(x), format)
	}
	return time.Time{}, false
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
