package scenarios

import (
	"fmt"
	"github.com/ssebench/ssebench/internal/didyoumean"
	"sort"
	"strings"
)

// FieldError is one problem with one scenario field. Its text is one line:
//
//	scenario.yaml:7: reconnect.policy: "sometimes" is not one of browser, always, never
//	--connections: "lots" is not a whole number
//	url: required (an http:// or https:// URL)
//
// Load, Parse, FromCLI and Validate join several of them with errors.Join
// when there are several problems; use errors.As to get at the first.
type FieldError struct {
	// Pos is where the value came from: "FILE:LINE" for a YAML file,
	// "--flag" for a command-line flag, "" when unknown (e.g. built in Go).
	Pos string
	// Field is the YAML path of the field, e.g. "stages[1].duration",
	// "headers.Authorization"; "" for the document as a whole.
	Field string
	// Msg says what is wrong, quoting the offending value.
	Msg string

	// flagExact: Pos is the flag that sets exactly Field, so naming the
	// field again would only repeat it.
	flagExact bool
	// line orders a file's problems.
	line int
	// cause is the error behind Msg, if any (a dataset that cannot be
	// opened: errors.Is(err, fs.ErrNotExist)).
	cause error
}

// Unwrap returns the error behind the message, if any.
func (e *FieldError) Unwrap() error { return e.cause }

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Pos != "" {
		b.WriteString(e.Pos)
		b.WriteString(": ")
	}
	if e.Field != "" && !e.flagExact {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// origin records where a scenario's fields came from.
type origin struct {
	file  string            // the name given to Parse/Load; "" for none
	lines map[string]int    // YAML path -> line of its key
	flags map[string]string // YAML path -> the flag that set it last
}

// fieldError builds the error for path, locating it by the longest prefix
// of path that has a recorded position.
func (s *Scenario) fieldError(path, format string, a ...any) *FieldError {
	e := &FieldError{Field: path, Msg: fmt.Sprintf(format, a...)}
	o := s.origin
	if o == nil {
		return e
	}
	for p := path; p != ""; p = parentPath(p) {
		if f, ok := o.flags[p]; ok {
			e.Pos, e.flagExact = f, p == path
			return e
		}
		if l, ok := o.lines[p]; ok {
			e.Pos = linePos(o.file, l)
			return e
		}
	}
	if o.file != "" {
		e.Pos = o.file
	}
	return e
}

// linePos formats a YAML position the way compilers do ("file:7"), or
// "line 7" when the YAML has no file name.
func linePos(file string, line int) string {
	if file == "" {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// byFlag reports whether a flag set path.
func (s *Scenario) byFlag(path string) bool {
	if s.origin == nil {
		return false
	}
	_, ok := s.origin.flags[path]
	return ok
}

// setByFlag records that flag now sets path, forgetting the file's lines
// for it and everything under it.
func (s *Scenario) setByFlag(path, flag string) {
	if s.origin == nil {
		s.origin = &origin{}
	}
	o := s.origin
	if o.flags == nil {
		o.flags = map[string]string{}
	}
	for p := range o.lines {
		if p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			delete(o.lines, p)
		}
	}
	for p := range o.flags {
		if strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			delete(o.flags, p)
		}
	}
	o.flags[path] = flag
}

// parentPath strips the last ".key" or "[i]" from a YAML path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// joinPath appends a key to a YAML path.
func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to s,
// or "" when none is close enough to be a likely typo.
func suggest(s string, candidates []string) string {
	if best := Closest(s, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// Closest is didyoumean.Closest, the one did-you-mean of scenario keys,
// values, commands, flags and threshold subjects.
func Closest(s string, candidates []string) string { return didyoumean.Closest(s, candidates) }

// oneOf describes a value that is not in its set.
func oneOf(v string, set []string) string {
	return fmt.Sprintf("%q is not one of %s%s", v, strings.Join(set, ", "), suggest(v, set))
}

// sortedKeys returns a map's keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
