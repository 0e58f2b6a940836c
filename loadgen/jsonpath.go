package loadgen

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonPath is a dotted path into JSON data ("choices.0.delta.content"): a
// segment is an object key or, in an array, a decimal index. It is
// evaluated by scanning the raw bytes, skipping everything off the path,
// so a token event costs no map or allocation.
type jsonPath struct {
	segs []pathSeg
}

type pathSeg struct {
	key   string
	index int // -1 when the segment is not a number
}

func parseJSONPath(p string) (*jsonPath, error) {
	if p == "" {
		return nil, nil
	}
	jp := &jsonPath{}
	for _, s := range strings.Split(p, ".") {
		if s == "" {
			return nil, fmt.Errorf("%q: empty segment", p)
		}
		idx := -1
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			idx = n
		}
		jp.segs = append(jp.segs, pathSeg{key: s, index: idx})
	}
	return jp, nil
}

// find returns the raw JSON value at the path (a string with its quotes).
func (jp *jsonPath) find(data []byte) ([]byte, bool) {
	i := skipWS(data, 0)
	for _, seg := range jp.segs {
		if i >= len(data) {
			return nil, false
		}
		switch data[i] {
		case '{':
			j, ok := objectField(data, i, seg.key)
			if !ok {
				return nil, false
			}
			i = j
		case '[':
			if seg.index < 0 {
				return nil, false
			}
			j, ok := arrayElem(data, i, seg.index)
			if !ok {
				return nil, false
			}
			i = j
		default:
			return nil, false
		}
	}
	end, ok := skipValue(data, i)
	if !ok {
		return nil, false
	}
	return data[i:end], true
}

// str is the string at the path, unescaped (into scratch when it has
// escapes); nil when absent, null or not a string. It returns scratch for
// reuse.
func (jp *jsonPath) str(data, scratch []byte) ([]byte, []byte) {
	raw, ok := jp.find(data)
	if !ok || len(raw) < 2 || raw[0] != '"' {
		return nil, scratch
	}
	raw = raw[1 : len(raw)-1]
	for _, c := range raw {
		if c == '\\' {
			scratch = unescapeJSON(scratch[:0], raw)
			return scratch, scratch
		}
	}
	return raw, scratch
}

// number is the non-negative integer at the path (a JSON number, or a
// string holding one); fractions are rounded.
func (jp *jsonPath) number(data []byte) (int64, bool) {
	raw, ok := jp.find(data)
	if !ok {
		return 0, false
	}
	if len(raw) >= 2 && raw[0] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	if n, ok := atoi(raw); ok {
		return n, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f > 1<<62 {
		return 0, false
	}
	return int64(f + 0.5), true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index after the value starting at b[i]. Nested
// containers are skipped by depth without validation: the data is only
// searched, never trusted.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, ok := skipString(b, j)
				if !ok {
					return 0, false
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j, j > i
}

// objectField returns the index of key's value in the object at b[i].
func objectField(b []byte, i int, key string) (int, bool) {
	i = skipWS(b, i+1)
	for i < len(b) && b[i] != '}' {
		if b[i] != '"' {
			return 0, false
		}
		end, ok := skipString(b, i)
		if !ok {
			return 0, false
		}
		k := b[i+1 : end-1]
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = skipWS(b, i+1)
		if keyEqual(k, key) {
			return i, i < len(b)
		}
		if i, ok = skipValue(b, i); !ok {
			return 0, false
		}
		i = skipWS(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return 0, false
}

// arrayElem returns the index of element n of the array at b[i].
func arrayElem(b []byte, i, n int) (int, bool) {
	i = skipWS(b, i+1)
	for k := 0; i < len(b) && b[i] != ']'; k++ {
		if k == n {
			return i, true
		}
		var ok bool
		if i, ok = skipValue(b, i); !ok {
			return 0, false
		}
		i = skipWS(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return 0, false
}

func keyEqual(raw []byte, key string) bool {
	for _, c := range raw {
		if c == '\\' {
			return string(unescapeJSON(nil, raw)) == key
		}
	}
	return string(raw) == key
}

// unescapeJSON appends the JSON string body raw (without quotes) to dst
// with its escapes resolved; invalid escapes become U+FFFD.
func unescapeJSON(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			dst = append(dst, c)
			continue
		}
		i++
		switch raw[i] {
		case 'n':
			dst = append(dst, '\n')
		case 't':
			dst = append(dst, '\t')
		case 'r':
			dst = append(dst, '\r')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'u':
			r, n := hex4(raw[i+1:])
			if n == 0 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
				continue
			}
			i += n
			if utf16.IsSurrogate(r) {
				if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2, n2 := hex4(raw[i+3:]); n2 > 0 {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							dst = utf8.AppendRune(dst, d)
							i += 2 + n2
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // \" \\ \/ and anything unknown: the character itself
			dst = append(dst, raw[i])
		}
	}
	return dst
}

// hex4 reads four hex digits; n is 4, or 0 when they are not there.
func hex4(b []byte) (r rune, n int) {
	if len(b) < 4 {
		return 0, 0
	}
	for _, c := range b[:4] {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, 0
		}
		r = r<<4 | rune(v)
	}
	return r, 4
}
