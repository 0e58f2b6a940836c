package scenarios

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
)

// Redaction is what Redacted writes in place of a secret.
const Redaction = "[redacted]"

// envRefs lists the ${NAME} references in a header value. Only the braced
// form is special, so a literal "$" needs no escaping; "$${" writes a
// literal "${".
func envRefs(v string) ([]string, error) {
	var names []string
	for i := 0; i < len(v); i++ {
		if v[i] != '$' {
			continue
		}
		if strings.HasPrefix(v[i:], "$${") {
			i += 2
			continue
		}
		if !strings.HasPrefix(v[i:], "${") {
			continue
		}
		end := strings.IndexByte(v[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: ${ without a closing }", v)
		}
		name := v[i+2 : i+end]
		if !validEnvName(name) {
			return nil, fmt.Errorf("%q: ${%s} is not an environment variable reference (${NAME}, NAME of letters, digits and _)", v, name)
		}
		names = append(names, name)
		i += end
	}
	return names, nil
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// expandEnv replaces each ${NAME} with the variable's value, or names the
// first unset one.
func expandEnv(v string) (string, error) {
	if !strings.Contains(v, "${") {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case strings.HasPrefix(v[i:], "$${"):
			b.WriteString("${")
			i += 2
		case strings.HasPrefix(v[i:], "${"):
			end := strings.IndexByte(v[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("%q: ${ without a closing }", v)
			}
			name := v[i+2 : i+end]
			val, ok := os.LookupEnv(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			b.WriteString(val)
			i += end
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String(), nil
}

// ExpandedHeaders returns the request headers with every ${NAME} replaced
// by the environment variable's value, read now (at run time, so the
// Scenario and every report built from it keep only "${NAME}"). An unset
// variable is an error naming it and the header. Safe for concurrent use.
func (s *Scenario) ExpandedHeaders() (http.Header, error) {
	return s.expandHeaders("headers", s.Headers)
}

// ExpandedHeaders is Scenario.ExpandedHeaders for the publisher's requests.
// The *Scenario version names the YAML line; this one cannot.
func (p *Publisher) ExpandedHeaders() (http.Header, error) {
	return (&Scenario{}).expandHeaders("publisher.headers", p.Headers)
}

// PublisherHeaders is the publisher's ExpandedHeaders with errors that
// name the YAML line. Nil headers when there is no publisher.
func (s *Scenario) PublisherHeaders() (http.Header, error) {
	if s.Publisher == nil {
		return nil, nil
	}
	return s.expandHeaders("publisher.headers", s.Publisher.Headers)
}

func (s *Scenario) expandHeaders(path string, h map[string]string) (http.Header, error) {
	out := make(http.Header, len(h))
	var errs []error
	for _, name := range sortedKeys(h) {
		val, err := expandEnv(h[name])
		if err != nil {
			errs = append(errs, s.fieldError(joinPath(path, name), "%v", err))
			continue
		}
		if !validHeaderValue(val) {
			// The value is a secret more often than not: never print it.
			errs = append(errs, s.fieldError(joinPath(path, name), "after expanding ${...}, the value holds a line break or control character"))
			continue
		}
		out.Set(name, val)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// secretWords are the words of a header or query parameter name that mark
// its value as a credential.
var secretWords = []string{
	"authorization", "auth", "cookie", "token", "key", "apikey", "secret", "password", "passwd", "pwd",
	"session", "sessionid", "sid", "credential", "credentials", "signature", "sig", "jwt", "bearer", "csrf", "xsrf",
}

// IsSecretHeader reports whether a header (or query parameter) name
// usually carries a credential: Authorization, Proxy-Authorization,
// Cookie, X-Api-Key, X-Auth-Token, and any *-Key, *-Token, *-Secret...
func IsSecretHeader(name string) bool {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return r == '-' || r == '_' || r == '.'
	})
	for _, w := range words {
		if slices.Contains(secretWords, w) {
			return true
		}
	}
	return false
}

// redactHeaders replaces secret values and anything that references the
// environment.
func redactHeaders(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if IsSecretHeader(k) || strings.Contains(v, "${") {
			v = Redaction
		}
		out[k] = v
	}
	return out
}

// RedactURL hides a URL's credentials: the password of its user info (the
// whole user info when it is a bare token, as in https://TOKEN@host) and
// the values of query parameters named like credentials (?token=,
// ?api_key=). It is the one URL redaction every output uses.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	const mark = "REDACTEDxSSEBENCH"
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), mark)
		} else {
			u.User = url.User(mark)
		}
		changed = true
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, hasVal := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if hasVal && IsSecretHeader(name) {
				parts[i] = k + "=" + mark
				changed = true
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if !changed {
		return raw
	}
	return strings.ReplaceAll(u.String(), mark, Redaction)
}

// Redacted returns a deep copy fit for reports and logs: values of
// credential headers (Authorization, Cookie, X-Api-Key, *-Token, ...) and
// of any header that references ${...} become "[redacted]", as do URL
// passwords and credential query parameters, for the subscriber and the
// publisher. s itself is not changed.
func (s *Scenario) Redacted() *Scenario {
	c := s.clone()
	c.Headers = redactHeaders(c.Headers)
	for i, u := range c.URLs {
		c.URLs[i] = RedactURL(u)
	}
	if c.Publisher != nil {
		c.Publisher.Headers = redactHeaders(c.Publisher.Headers)
		c.Publisher.URL = RedactURL(c.Publisher.URL)
	}
	c.Capacity.ServerMetrics = RedactURL(c.Capacity.ServerMetrics)
	return c
}

// clone is a deep copy (the origin is shared: it is never changed after
// the scenario is built).
func (s *Scenario) clone() *Scenario {
	c := *s
	c.URLs = slices.Clone(s.URLs)
	c.Headers = maps.Clone(s.Headers)
	c.Stages = slices.Clone(s.Stages)
	c.Thresholds = slices.Clone(s.Thresholds)
	if s.Publisher != nil {
		p := *s.Publisher
		p.Headers = maps.Clone(s.Publisher.Headers)
		c.Publisher = &p
	}
	if s.Chaos.Drop != nil {
		d := *s.Chaos.Drop
		c.Chaos.Drop = &d
	}
	if s.Capacity.Ramp != nil {
		r := *s.Capacity.Ramp
		c.Capacity.Ramp = &r
	}
	if s.Capacity.Refine != nil {
		n := *s.Capacity.Refine
		c.Capacity.Refine = &n
	}
	return &c
}
