package scenarios

import (
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Secrets are what one command must never show in any output: Values
// (credential header values, anything read from the environment, URL
// passwords and credential query values) and Rewrite (each URL with a
// credential, to its redacted form). Every command builds its
// report.Scrubber from them: one redaction policy for run, capacity, tap,
// check and diagnose.
type Secrets struct {
	Values  []string
	Rewrite map[string]string
}

// headers adds the secrets among headers: raw maps a header name to its
// value as written (with ${NAME}), sent to what goes out.
func (s *Secrets) headers(raw map[string]string, sent http.Header) {
	for name, v := range raw {
		if !IsSecretHeader(name) && !strings.Contains(v, "${") {
			continue
		}
		names, _ := envRefs(v)
		for _, n := range names {
			s.Values = append(s.Values, os.Getenv(n))
		}
		if ev := sent.Get(name); ev != "" {
			s.Values = append(s.Values, ev)
			// "Bearer xyz": the token alone can show up too.
			if _, tok, ok := strings.Cut(ev, " "); ok {
				s.Values = append(s.Values, strings.TrimSpace(tok))
			}
		}
	}
}

// urls adds each URL's credentials (user info, credential query values)
// and its redacted form.
func (s *Secrets) urls(raws ...string) {
	if s.Rewrite == nil {
		s.Rewrite = map[string]string{}
	}
	for _, raw := range raws {
		if raw == "" {
			continue
		}
		if red := RedactURL(raw); red != raw {
			s.Rewrite[raw] = red
		}
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		if u.User != nil {
			p, has := u.User.Password()
			if !has {
				p = u.User.Username()
			}
			s.Values = append(s.Values, p, url.QueryEscape(p))
		}
		for k, vs := range u.Query() {
			if IsSecretHeader(k) {
				for _, v := range vs {
					s.Values = append(s.Values, v, url.QueryEscape(v))
				}
			}
		}
	}
}

// Secrets are the scenario's: the subscriber's and the publisher's
// headers and URLs, and the server metrics URL.
func (s *Scenario) Secrets() Secrets {
	var sec Secrets
	if h, err := s.ExpandedHeaders(); err == nil {
		sec.headers(s.Headers, h)
	}
	if s.Publisher != nil {
		if h, err := s.PublisherHeaders(); err == nil {
			sec.headers(s.Publisher.Headers, h)
		}
		sec.urls(s.Publisher.URL)
	}
	sec.urls(s.URLs...)
	sec.urls(s.Capacity.ServerMetrics)
	return sec
}

// RequestSecrets are those of a one-stream command's request: its -H
// lines (read by RequestHeaders' rule) and urls.
func RequestSecrets(c *cli.Context, urls ...string) Secrets {
	var sec Secrets
	raw := map[string]string{}
	if l, ok := c.Generic("header").(*listValue); ok {
		for _, line := range l.vals {
			if name, val, err := headerLine(flagValue{name: "header"}, line); err == nil {
				raw[http.CanonicalHeaderKey(name)] = val
			}
		}
	}
	if sent, err := RequestHeaders(c); err == nil {
		sec.headers(raw, sent)
	}
	sec.urls(urls...)
	return sec
}
