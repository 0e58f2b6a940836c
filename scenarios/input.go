package scenarios

import (
	"net/http"
	"strings"

	"github.com/urfave/cli/v2"
)

// The input policy every command that sends a request follows (run,
// capacity, tap, check, diagnose): one header flag and one rule for its
// values, one @FILE reader, one URL check. run and capacity apply it
// through the scenario (FromCLI, Validate, ExpandedHeaders); the one-stream
// commands call it here.

// EnvRule is how every command's help states the ${NAME} rule of header
// values (the rule itself is expandEnv's).
const EnvRule = "${NAME} reads the environment variable NAME, which must be set; $${ is a literal ${"

// BodyUsage is how every command's help starts the text of its request
// body flag (--data, --body): the one @FILE rule of readBody.
const BodyUsage = "request `BODY`, or @FILE to read it from a file"

// headerUsage is the -H help text of the one-stream commands.
const headerUsage = "request header `'Name: value'` (repeatable; " + EnvRule + ")"

// HeaderFlag is the -H/--header flag of a command that sends one request:
// repeatable, and, unlike cli.StringSliceFlag, never split on commas
// ("Accept: a, b" stays whole). Read it with RequestHeaders.
func HeaderFlag() cli.Flag { return listFlag("header", "", headerUsage, "H") }

// RequestHeaders reads the -H/--header lines of c by run's rule: 'Name:
// value', the name a valid token, each ${NAME} replaced by the environment
// variable (an unset one is an error naming it), no line break or control
// character in the result. 'Name:' with nothing after the colon sends no
// such header. Errors name --header and never print an expanded value.
func RequestHeaders(c *cli.Context) (http.Header, error) {
	v := flagValue{name: "header"}
	if l, ok := c.Generic("header").(*listValue); ok {
		v.list = l.vals
	}
	h := http.Header{}
	for _, line := range v.list {
		name, val, err := headerLine(v, line)
		if err != nil {
			return nil, err
		}
		if val == "" {
			continue
		}
		if !validToken(name) {
			return nil, v.errorf("%q is not a valid header name", name)
		}
		exp, err := expandEnv(val)
		if err != nil {
			return nil, v.errorf("%v", err)
		}
		if !validHeaderValue(exp) {
			if exp == val {
				return nil, v.errorf("%s: the value holds a line break or control character", name)
			}
			return nil, v.errorf("%s: after expanding ${...}, the value holds a line break or control character", name)
		}
		h.Add(name, exp)
	}
	return h, nil
}

// headerLine splits one 'Name: value' flag value.
func headerLine(v flagValue, line string) (name, val string, err error) {
	name, val, ok := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", v.errorf("%q is not a header ('Name: value')", line)
	}
	return name, strings.TrimSpace(val), nil
}

// RequestBody reads a body flag as run reads --body: the text itself, or
// with @FILE the file's contents (at most 4 MiB). Errors name the flag.
func RequestBody(flagName, text string) ([]byte, error) {
	b, err := readBody(flagValue{name: flagName, str: text})
	return []byte(b), err
}

// CheckURL is the URL check of --url: an absolute http:// or https://
// URL with a host. The error names what is missing (the scheme, the
// host) and starts with what (e.g. "--origin"), when given.
func CheckURL(what, raw string) error {
	err := checkURL(raw)
	if err == nil || what == "" {
		return err
	}
	return &FieldError{Pos: what, Msg: err.Error()}
}
