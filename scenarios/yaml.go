package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

const (
	// maxFileSize bounds a scenario file; real ones are a few KiB.
	maxFileSize = 4 << 20
	// maxNodes bounds the walk, so anchors aliased into each other (the
	// "billion laughs" shape) cannot make loading explode.
	maxNodes = 100_000
	// maxErrors bounds the problems reported for one file: past that, the
	// file is probably not a scenario at all.
	maxErrors = 20
)

// extensionPrefix marks top-level keys that are not scenario fields but a
// place to define YAML anchors ("x-common: &common {...}"), as in Compose
// files. They are skipped.
const extensionPrefix = "x-"

// readFile reads a file of at most maxFileSize bytes; what names it in the
// error.
func readFile(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB; too big for a %s", path, maxFileSize>>20, what)
	}
	return data, nil
}

// parseRaw decodes without validating or normalizing, so FromCLI can lay
// flags over the file's values first.
func parseRaw(data []byte, name string) (*Scenario, error) {
	if len(data) > maxFileSize {
		return nil, &FieldError{Pos: name, Msg: fmt.Sprintf("larger than %d MiB; not a scenario file", maxFileSize>>20)}
	}
	s := &Scenario{origin: &origin{file: name, lines: map[string]int{}}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(name, err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, &FieldError{Pos: name, Msg: "empty scenario (it needs at least a url)"}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &FieldError{Pos: linePos(name, extra.Line), Msg: "a second YAML document; a scenario file holds one"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(name, err)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FieldError{Pos: linePos(name, root.Line),
			Msg: fmt.Sprintf("a scenario is a mapping of keys (url, connections, duration, ...), got %s", got(root))}
	}
	d := &decoder{file: name, lines: s.origin.lines}
	d.decode(root, reflect.ValueOf(s).Elem(), "")
	if len(d.errs) > 0 {
		sortByLine(d.errs)
		return nil, errors.Join(d.errs...)
	}
	if s.Name == "" && name != "" {
		base := filepath.Base(name)
		s.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	return s, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns the YAML parser's "yaml: line 3: ..." into "name:3: ...".
func syntaxError(name string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{Pos: linePos(name, line), Msg: "YAML syntax: " + m[2]}
	}
	return &FieldError{Pos: name, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

// sortByLine orders problems as they appear in the file.
func sortByLine(errs []error) {
	line := func(err error) int {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fe.line
		}
		return 0
	}
	slices.SortStableFunc(errs, func(a, b error) int { return line(a) - line(b) })
}

// unmarshalStandalone decodes one value strictly, for the UnmarshalYAML
// methods (used when a caller runs yaml.Unmarshal on these types itself).
func unmarshalStandalone(n *yaml.Node, v any) error {
	d := &decoder{lines: map[string]int{}}
	d.decode(n, reflect.ValueOf(v).Elem(), "")
	return errors.Join(d.errs...)
}

// decoder walks a yaml.Node tree into a value by reflection, strictly, and
// records the line of every key it sets. It is its own walker rather than
// yaml's KnownFields mode so that every message can name the key path and
// suggest the key that was meant.
type decoder struct {
	file  string
	lines map[string]int
	errs  []error
	nodes int
	spent bool
	seen  map[string]bool
}

func (d *decoder) errorf(n *yaml.Node, path, format string, a ...any) {
	if len(d.errs) == maxErrors {
		d.errs = append(d.errs, &FieldError{Pos: linePos(d.file, n.Line), Msg: "too many problems; stopping here", line: math.MaxInt})
	}
	if len(d.errs) > maxErrors {
		return
	}
	e := &FieldError{Pos: linePos(d.file, n.Line), Field: path, Msg: fmt.Sprintf(format, a...), line: n.Line}
	// An alias used many times repeats its problems; say each once.
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if d.seen[e.Error()] {
		return
	}
	d.seen[e.Error()] = true
	d.errs = append(d.errs, e)
}

var (
	durationType = reflect.TypeFor[Duration]()
	lifetimeType = reflect.TypeFor[Lifetime]()
	latencyType  = reflect.TypeFor[LatencyField]()
	dropType     = reflect.TypeFor[Drop]()
	stageType    = reflect.TypeFor[Stage]()
)

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n, 1) {
		return
	}
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind == yaml.ScalarNode && v.CanAddr() {
		if tp, ok := v.Addr().Interface().(textParser); ok {
			if err := tp.parseText(n.Value); err != nil {
				d.errorf(n, path, "%v", err)
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		before := len(d.errs)
		d.decode(n, nv.Elem(), path)
		if len(d.errs) == before {
			v.Set(nv)
		}
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Map:
		d.stringMap(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.typeError(n, v.Type(), path)
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.typeError(n, v.Type(), path)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.typeError(n, v.Type(), path)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			d.typeError(n, v.Type(), path)
			return
		}
		v.SetFloat(f)
	default:
		// Only reachable if scenario.go gains a field of a new kind.
		d.errorf(n, path, "cannot decode into %s", v.Type())
	}
}

// spend takes cost from the walk's node budget, reporting once when it
// runs out.
func (d *decoder) spend(n *yaml.Node, cost int) bool {
	d.nodes += cost
	if d.nodes <= maxNodes {
		return true
	}
	if !d.spent {
		d.spent = true
		d.errorf(n, "", "more than %d YAML nodes (aliases expanding into each other?)", maxNodes)
	}
	return false
}

func (d *decoder) typeError(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.ScalarNode {
		d.errorf(n, path, "%q is not %s", n.Value, describe(t))
		return
	}
	d.errorf(n, path, "expected %s, got %s", describe(t), got(n))
}

// describe names what a value of type t looks like in YAML.
func describe(t reflect.Type) string {
	switch t {
	case durationType:
		return "a duration " + durationHint
	case lifetimeType:
		return "a lifetime (30s, 10s-60s or {min, max})"
	case latencyType:
		return "a latency field (ts, ts:unix_ms, none or {field, format})"
	case dropType:
		return "a drop setting (5%/10s or {percent, every})"
	case stageType:
		return "a stage ({duration, target, rate} or DURATION:TARGET[:RATE])"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describe(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "a string or a list of strings"
		}
		return "a list of " + strings.TrimPrefix(describe(t.Elem()), "a ")
	case reflect.Map:
		return "a mapping of names to values"
	case reflect.Struct:
		return "a mapping (keys: " + strings.Join(fieldNames(t), ", ") + ")"
	}
	return t.String()
}

// got names what a node holds, for "expected X, got Y".
func got(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// pair is one key/value of a mapping; merged pairs come from a "<<" merge
// key and lose to keys written in the mapping itself.
type pair struct {
	key, value *yaml.Node
	merged     bool
}

// pairs lists a mapping's entries with "<<: *anchor" merges expanded.
func (d *decoder) pairs(n *yaml.Node, path string, merged bool, depth int) []pair {
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			if depth >= 10 {
				d.errorf(k, path, "<< merges nested more than 10 deep")
				continue
			}
			var sources []*yaml.Node
			switch v.Kind {
			case yaml.MappingNode:
				sources = []*yaml.Node{v}
			case yaml.SequenceNode:
				for _, s := range v.Content {
					sources = append(sources, resolve(s))
				}
			}
			for _, s := range sources {
				// Merges can fan out (<<: [*a, *a, ...] at every level):
				// they count against the same budget as the walk.
				if !d.spend(k, 1+len(s.Content)/2) {
					return out
				}
				if s.Kind != yaml.MappingNode {
					d.errorf(k, path, "<< merges a mapping, got %s", got(s))
					continue
				}
				out = append(out, d.pairs(s, path, true, depth+1)...)
			}
			continue
		}
		out = append(out, pair{key: k, value: n.Content[i+1], merged: merged})
	}
	return out
}

// keyOf returns a mapping key's text, or reports it.
func (d *decoder) keyOf(k *yaml.Node, path string) (string, bool) {
	k = resolve(k)
	if k.Kind != yaml.ScalarNode || isNull(k) {
		d.errorf(k, path, "a key must be a plain name, got %s", got(k))
		return "", false
	}
	return k.Value, true
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeError(n, v.Type(), path)
		return
	}
	fields := structFields(v.Type())
	ps := d.pairs(n, path, false, 0)
	explicit := map[string]int{}
	for _, p := range ps {
		if !p.merged && resolve(p.key).Kind == yaml.ScalarNode {
			if line, dup := explicit[p.key.Value]; dup {
				d.errorf(p.key, path, "duplicate key %q (first at line %d)", p.key.Value, line)
				continue
			}
			explicit[p.key.Value] = p.key.Line
		}
	}
	done := map[string]bool{}
	for _, p := range ps {
		key, ok := d.keyOf(p.key, path)
		if !ok || done[key] || (p.merged && explicit[key] != 0) {
			continue
		}
		done[key] = true
		if path == "" && strings.HasPrefix(key, extensionPrefix) {
			continue
		}
		f, ok := fields.byName[key]
		if !ok {
			d.errorf(p.key, path, "unknown key %q%s", key, suggestKey(key, path, fields.names))
			continue
		}
		child := joinPath(path, key)
		d.lines[child] = p.key.Line
		d.decode(p.value, v.FieldByIndex(f), child)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	et := v.Type().Elem()
	if n.Kind == yaml.ScalarNode && et.Kind() == reflect.String {
		// url: http://... is the common case of a one-element list.
		v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), reflect.ValueOf(n.Value).Convert(et)))
		d.lines[path+"[0]"] = n.Line
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, v.Type(), path)
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		child := fmt.Sprintf("%s[%d]", path, i)
		d.lines[child] = item.Line
		d.decode(item, out.Index(i), child)
	}
	v.Set(out)
}

// stringMap decodes headers: names to scalar values. Header names are
// case-insensitive, so two spellings of one name are a duplicate.
func (d *decoder) stringMap(n *yaml.Node, v reflect.Value, path string) {
	if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.String {
		d.errorf(n, path, "cannot decode into %s", v.Type())
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeError(n, v.Type(), path)
		return
	}
	m := reflect.MakeMap(v.Type())
	seen := map[string]int{}
	ps := d.pairs(n, path, false, 0)
	// Keys written in the mapping itself first, so they win over merged ones.
	for _, merged := range []bool{false, true} {
		for _, p := range ps {
			if p.merged != merged {
				continue
			}
			key, ok := d.keyOf(p.key, path)
			if !ok {
				continue
			}
			fold := strings.ToLower(key)
			if line, dup := seen[fold]; dup {
				if !merged {
					d.errorf(p.key, path, "duplicate key %q (first at line %d)", key, line)
				}
				continue
			}
			seen[fold] = p.key.Line
			val := resolve(p.value)
			child := joinPath(path, key)
			d.lines[child] = p.key.Line
			var text string
			switch {
			case isNull(val):
			case val.Kind == yaml.ScalarNode:
				text = val.Value
			default:
				d.errorf(val, child, "expected a string, got %s", got(val))
				continue
			}
			m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), reflect.ValueOf(text).Convert(v.Type().Elem()))
		}
	}
	v.Set(m)
}

// structInfo is a struct's YAML keys, inline fields flattened.
type structInfo struct {
	byName map[string][]int
	names  []string
}

var structCache sync.Map // reflect.Type -> *structInfo

func structFields(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string][]int{}}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			if name == "-" {
				continue
			}
			if opts == "inline" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			si.byName[name] = idx
			si.names = append(si.names, name)
		}
	}
	walk(t, nil)
	structCache.Store(t, si)
	return si
}

func fieldNames(t reflect.Type) []string { return structFields(t).names }

// keyAliases maps keys other load tools use to ours.
var keyAliases = map[string]string{
	"urls": "url", "target": "url", "targets": "url", "endpoint": "url",
	"users": "connections", "vus": "connections", "clients": "connections", "concurrency": "connections",
	"conns": "connections", "streams": "connections",
	"verb": "method", "data": "body", "header": "headers",
	"rampup": "ramp", "ramp_up": "ramp", "warmup": "ramp",
	"time": "duration", "length": "duration",
	"rate": "arrival_rate", "arrival": "arrival_rate",
	"threshold": "thresholds", "publish": "publisher", "retry": "reconnect", "reconnects": "reconnect",
	"timeouts": "timeout", "latency": "latency_field", "seq": "sequence",
}

// allKeys lists every key path of a Scenario (lists as "stages[]"), for
// suggesting a key written at the wrong level.
var allKeys = sync.OnceValue(func() []string {
	var out []string
	var walk func(t reflect.Type, prefix string, depth int)
	walk = func(t reflect.Type, prefix string, depth int) {
		si := structFields(t)
		for _, name := range si.names {
			p := joinPath(prefix, name)
			out = append(out, p)
			ft := t.FieldByIndex(si.byName[name]).Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				if ft.Kind() == reflect.Slice {
					p += "[]"
				}
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && depth < 5 {
				walk(ft, p, depth+1)
			}
		}
	}
	walk(reflect.TypeFor[Scenario](), "", 0)
	return out
})

// suggestKey finds the key that was probably meant: a close spelling at
// this level, a known alias, or the same name at another level.
func suggestKey(key, path string, names []string) string {
	if s := suggest(key, names); s != "" {
		return s
	}
	if path == "" {
		if a, ok := keyAliases[strings.ToLower(key)]; ok {
			// rate, concurrency, arrival: also request mode's own keys.
			if slices.Contains(allKeys(), "request."+strings.ToLower(key)) {
				return fmt.Sprintf(" (did you mean %q? in mode request it belongs under \"request\")", a)
			}
			return fmt.Sprintf(" (did you mean %q?)", a)
		}
	}
	var elsewhere []string
	for _, p := range allKeys() {
		leaf := p[strings.LastIndexByte(p, '.')+1:]
		if strings.EqualFold(leaf, key) && parentPath(strings.ReplaceAll(p, "[]", "")) != path {
			elsewhere = append(elsewhere, p)
		}
	}
	if len(elsewhere) == 1 {
		return fmt.Sprintf(" (it belongs under %q)", parentPath(elsewhere[0]))
	}
	return ""
}
