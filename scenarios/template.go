package scenarios

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

// Limits on a dataset: real ones (a few thousand prompts) are far below.
const (
	maxDatasetSize = 256 << 20
	maxDatasetLine = 16 << 20
)

// Bodies renders request bodies: the body template filled per request.
//
// In mode request the scenario's Body is a Go text/template. Its data is
// the dataset row's fields at the top level ({{.prompt}}) and {{.n}}, the
// request number (a row field named "n" is hidden by it). Functions:
//
//	json V          V encoded as JSON: {"content": {{json .prompt}}} stays
//	                valid JSON whatever quotes or newlines the prompt holds
//	uuid            a random version 4 UUID
//	randInt LO HI   a random whole number in [LO, HI], both included
//	pick A B ...    one of its arguments, at random
//	env NAME        the environment variable's value (an error if unset)
//
// A missing field is an error, never "<no value>". In mode subscribe the
// body is sent as written.
//
// Bodies is safe for concurrent use.
type Bodies struct {
	tmpl   *template.Template // nil when static
	static []byte
	rows   []map[string]any
	lines  []int  // rows[i] is on line lines[i] of the dataset
	file   string // the dataset as opened, "" without one
	random bool
	errorf func(format string, a ...any) error // positioned at the body
}

// Bodies loads the dataset (request.dataset, see DatasetPath), compiles
// the body template and renders it once for every dataset row, so a row
// without a field the template reads, a dataset line that is not a JSON
// object, or an unset env variable is an error now, naming the body or
// the dataset's file and line, rather than a failed request later.
func (s *Scenario) Bodies() (*Bodies, error) {
	b := &Bodies{errorf: func(format string, a ...any) error { return s.fieldError("body", format, a...) }}
	if s.Mode != ModeRequest {
		b.static = []byte(s.Body)
		return b, nil
	}
	tmpl, err := parseBody(s.Body)
	if err != nil {
		return nil, b.errorf("%s", templateError(err))
	}
	b.random = s.Request.Order == "random"
	b.rows, b.lines = []map[string]any{{}}, []int{0}
	if s.Request.Dataset != "" {
		b.file = s.DatasetPath()
		if b.rows, b.lines, err = loadDataset(b.file); err != nil {
			fe := s.fieldError("request.dataset", "%v", err)
			fe.cause = err
			return nil, fe
		}
	}
	if isStatic(tmpl) {
		var out bytes.Buffer
		if err := tmpl.Execute(&out, map[string]any{"n": int64(0)}); err != nil {
			return nil, b.errorf("%s", templateError(err))
		}
		b.static = out.Bytes()
		return b, nil
	}
	b.tmpl = tmpl
	var scratch []byte
	for i := range b.rows {
		if scratch, err = b.render(i, int64(i), scratch[:0]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// DatasetPath is request.dataset as it is opened: relative to the
// scenario file's directory when the file named it, relative to the
// working directory when a flag did or the scenario has no file (built in
// Go, decoded from JSON).
func (s *Scenario) DatasetPath() string {
	p := s.Request.Dataset
	o := s.origin
	if p == "" || filepath.IsAbs(p) || o == nil || o.file == "" {
		return p
	}
	if _, byFlag := o.flags["request.dataset"]; byFlag {
		return p
	}
	return filepath.Join(filepath.Dir(o.file), p)
}

// Static reports whether every request gets the same body (the template
// has no actions), so a caller can build it once.
func (b *Bodies) Static() bool { return b.tmpl == nil }

// Render appends the body of request n (0-based) to dst. Sequential order
// uses dataset row n modulo the number of rows; random order a row picked
// uniformly.
func (b *Bodies) Render(n int64, dst []byte) ([]byte, error) {
	if b.tmpl == nil {
		return append(dst, b.static...), nil
	}
	var row int
	if b.random {
		row = rand.IntN(len(b.rows))
	} else {
		row = int(n % int64(len(b.rows)))
		if row < 0 {
			row += len(b.rows)
		}
	}
	return b.render(row, n, dst)
}

func (b *Bodies) render(row int, n int64, dst []byte) ([]byte, error) {
	data := make(map[string]any, len(b.rows[row])+1)
	for k, v := range b.rows[row] {
		data[k] = v
	}
	data["n"] = n
	w := appendWriter{b: dst}
	if err := b.tmpl.Execute(&w, data); err != nil {
		where := fmt.Sprintf("request %d", n)
		if b.file != "" {
			where += fmt.Sprintf(" (dataset %s:%d)", b.file, b.lines[row])
		}
		return dst, b.errorf("%s: %s", where, templateError(err))
	}
	return w.b, nil
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// bodyFuncs are the body template's functions; each is safe for
// concurrent use.
var bodyFuncs = template.FuncMap{
	"json":    jsonString,
	"uuid":    newUUID,
	"randInt": randInt,
	"pick":    pick,
	"env":     envValue,
}

var bodyFuncNames = []string{"json", "uuid", "randInt", "pick", "env"}

// parseBody compiles a request-mode body.
func parseBody(body string) (*template.Template, error) {
	return template.New("body").Option("missingkey=error").Funcs(bodyFuncs).Parse(body)
}

// checkBody is Validate's look at the body: it compiles, and without a
// dataset (whose rows only Bodies reads) it renders.
func checkBody(body string, withDataset bool) error {
	tmpl, err := parseBody(body)
	if err != nil || withDataset {
		return err
	}
	return tmpl.Execute(io.Discard, map[string]any{"n": int64(0)})
}

// isStatic reports whether a template is plain text.
func isStatic(t *template.Template) bool {
	if t.Tree == nil || t.Tree.Root == nil {
		return true
	}
	for _, n := range t.Tree.Root.Nodes {
		if _, ok := n.(*parse.TextNode); !ok {
			return false
		}
	}
	return true
}

var (
	undefinedFuncRE = regexp.MustCompile(`function "([^"]*)" not defined`)
	executingRE     = regexp.MustCompile(`executing "body" at `)
)

// templateError turns text/template's "template: body:1:9: executing
// "body" at <.x>: ..." into "template line 1:9: at <.x>: ...", with a
// suggestion for a misspelt function.
func templateError(err error) string {
	msg := err.Error()
	msg = strings.Replace(msg, "template: body:", "template line ", 1)
	msg = executingRE.ReplaceAllString(msg, "at ")
	if m := undefinedFuncRE.FindStringSubmatch(msg); m != nil {
		msg += suggest(m[1], bodyFuncNames)
	}
	return msg
}

func jsonString(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// A prompt with < or & is sent as written, not as \u003c.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func newUUID() string {
	var u [16]byte
	a, b := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		u[i], u[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	return string(out[:])
}

// toInt accepts the whole numbers a template can hold: literals, dataset
// numbers (json.Number) and digit strings.
func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
	case json.Number:
		return x.Int64()
	case string:
		return strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	}
	return 0, fmt.Errorf("%v is not a whole number", v)
}

func randInt(lo, hi any) (int64, error) {
	l, err := toInt(lo)
	if err != nil {
		return 0, err
	}
	h, err := toInt(hi)
	if err != nil {
		return 0, err
	}
	if h < l {
		return 0, fmt.Errorf("hi %d is below lo %d", h, l)
	}
	span := uint64(h-l) + 1
	if span == 0 { // the whole int64 range
		return int64(rand.Uint64()), nil
	}
	return l + int64(rand.Uint64N(span)), nil
}

func pick(items ...any) (any, error) {
	if len(items) == 0 {
		return nil, errors.New("pick needs at least one value")
	}
	return items[rand.IntN(len(items))], nil
}

func envValue(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	return v, nil
}

// loadDataset reads a JSONL file: one JSON object per line, blank lines
// skipped. Numbers keep their text (json.Number), so {{.max_tokens}}
// renders 256, not 256.0 or 2.56e+02. Errors name the file and line.
func loadDataset(path string) ([]map[string]any, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	tooBig := fmt.Errorf("%s: larger than %d MiB; too big for a dataset held in memory", path, maxDatasetSize>>20)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > maxDatasetSize {
		return nil, nil, tooBig
	}
	r := io.LimitReader(f, maxDatasetSize+1)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxDatasetLine)
	var (
		rows  []map[string]any
		lines []int
		read  int64
	)
	for line := 1; sc.Scan(); line++ {
		read += int64(len(sc.Bytes())) + 1
		text := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
		}
		if len(text) == 0 {
			continue
		}
		row, err := parseRow(text)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		rows = append(rows, row)
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, fmt.Errorf("%s:%d: a line longer than %d MiB", path, len(lines)+1, maxDatasetLine>>20)
		}
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if read > maxDatasetSize { // a pipe or a file that grew
		return nil, nil, tooBig
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("%s: no rows (a dataset is JSONL: one JSON object per line, e.g. {\"prompt\": \"...\"})", path)
	}
	return rows, lines, nil
}

func parseRow(text []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value on the line (JSONL: one object per line)")
	}
	row, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a row is a JSON object ({\"prompt\": \"...\"}), got %s", jsonKind(v))
	}
	return row, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
