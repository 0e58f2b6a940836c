package conformance

import (
	"errors"
	"fmt"
	"github.com/ssebench/ssebench/scenarios"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssebench/ssebench/sse"
)

// Defaults for the zero values of Config.
const (
	// DefaultWindow is how long the main probes read the stream. With the
	// churn phase after it, a default run takes about 11 s.
	DefaultWindow = 10 * time.Second
	// DefaultClients is the number of simultaneous streams of the
	// concurrent check.
	DefaultClients = 50
	// DefaultChurn is the number of quick open/close cycles of the churn
	// check.
	DefaultChurn = 200
	// HeadersPrompt is the longest acceptable wait for status and headers.
	HeadersPrompt = time.Second
	// HeartbeatMax is the longest acceptable silence on a stream.
	HeartbeatMax = 30 * time.Second
)

// Config is what `ssebench check` checks and how. Each field maps 1:1 to a
// flag; the zero value of each optional field is its documented default.
type Config struct {
	// URL is the stream to check (the argument).
	URL string
	// Method and Body make the requests (--method, --data); "" is GET.
	Method string
	Body   []byte
	// Header is added to every request (-H), e.g. Authorization.
	Header http.Header
	// Origin, when set, is sent as the Origin of cross-origin requests for
	// the cors and cors-preflight checks (--origin); "" skips them.
	Origin string
	// Publish, when set, is a URL ssebench POSTs to so the stream emits an
	// event (--publish): the request body is a text with a unique token,
	// and the event whose data contains the token is the one timed.
	Publish string
	// Only and Skip select checks by ID (--only, --skip); each entry is an
	// ID or a comma-separated list. Unknown IDs are an error.
	Only, Skip []string
	// Insecure skips TLS certificate verification (--insecure).
	Insecure bool
	// Hold adds the long probes (heartbeat over time, idle-timeout): held
	// streams for this long (--hold). 0 leaves them out.
	Hold time.Duration
	// Window is how long the main probes read the stream (--window).
	// 0 means DefaultWindow.
	Window time.Duration
	// Clients is the number of simultaneous streams of the concurrent
	// check (--clients). 0 means DefaultClients.
	Clients int
	// Churn is the number of open/close cycles of the churn check
	// (--churn). 0 means DefaultChurn.
	Churn int
	// MaxSize bounds one line and one event (--max-size).
	// 0 means sse.OneStreamMaxSize: the spec and browsers set no limit.
	MaxSize int
}

// ConfigError is a bad Config value: bad usage, not a failed check.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ErrUnreachable is wrapped by Run's error when the target could not be
// reached at all (DNS, connection refused, TLS handshake).
var ErrUnreachable = errors.New("target unreachable")

func configErr(format string, a ...any) error { return &ConfigError{fmt.Errorf(format, a...)} }

// withDefaults fills the zero values and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if err := checkURL("URL", c.URL); err != nil {
		return c, err
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	c.Method = strings.ToUpper(c.Method)
	if c.Publish != "" {
		if err := checkURL("--publish", c.Publish); err != nil {
			return c, err
		}
	}
	if c.Origin != "" {
		u, err := url.Parse(c.Origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return c, configErr("--origin %q: want an origin such as https://app.example.com (scheme and host, no path)", c.Origin)
		}
		c.Origin = u.Scheme + "://" + u.Host
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Churn == 0 {
		c.Churn = DefaultChurn
	}
	if c.MaxSize == 0 {
		c.MaxSize = sse.OneStreamMaxSize
	}
	switch {
	case c.Window < time.Second || c.Window > 10*time.Minute:
		return c, configErr("--window %v: want 1s to 10m", c.Window)
	case c.Hold < 0 || c.Hold > 24*time.Hour:
		return c, configErr("--hold %v: want 0 (off) to 24h", c.Hold)
	case c.Hold > 0 && c.Hold < 2*time.Second:
		return c, configErr("--hold %v: want at least 2s (a hold shorter than that shows no timeout)", c.Hold)
	case c.Clients < 1 || c.Clients > 5000:
		return c, configErr("--clients %d: want 1 to 5000", c.Clients)
	case c.Churn < 1 || c.Churn > 10000:
		return c, configErr("--churn %d: want 1 to 10000", c.Churn)
	case c.MaxSize < 1024:
		return c, configErr("--max-size %d: want at least 1024 bytes", c.MaxSize)
	}
	return c, nil
}

// checkURL is run's URL rule (scenarios.CheckURL), as a ConfigError.
func checkURL(what, raw string) error {
	if err := scenarios.CheckURL(what, raw); err != nil {
		return &ConfigError{err}
	}
	return nil
}
