package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/conformance"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/sse"
)

func init() {
	commands = append(commands, func() *cli.Command {
		return &cli.Command{
			Name:      "check",
			Usage:     "check an SSE endpoint against the event-stream rules and the proxy pitfalls (a CI gate)",
			ArgsUsage: "URL",
			Description: `Opens the stream the way browsers do and runs the check catalogue against it:
the response (status, Content-Type, caching, compression, CORS), the framing
(UTF-8, BOMs, fields, ids, retry), streaming (first event, buffering, end),
resumption (Last-Event-ID) and many clients (50 at once, churn). Each check
has a stable ID, a severity and, on failure, the evidence and a fix.

A default run takes about 11 s. --hold adds the long probes: streams held
open that long show heartbeats and idle timeouts (which proxy or load
balancer cuts quiet streams, and whether heartbeats help).

Exit codes: 0 no error-severity check failed, 1 one did, 2 bad usage
(an unknown --only or --skip ID included), 3 the target was unreachable.

Check IDs: ` + strings.Join(conformance.IDs(), ", ") + `

Examples:
   ssebench check http://127.0.0.1:8080/events
   ssebench check --json check.json --junit check.xml https://api.example.com/stream -H 'Authorization: Bearer ${TOKEN}'
   ssebench check --hold 2m https://example.com/events
   ssebench check --origin https://app.example.com --skip churn,concurrent https://api.example.com/events
   ssebench check --publish 'http://127.0.0.1:8080/publish?topic=t' 'http://127.0.0.1:8080/events?topic=t&rate=0'
   ssebench check -X POST --data @prompt.json --only status,content-type,buffering https://llm.example.com/v1/stream`,
			Flags: append(probeFlags(),
				&cli.StringFlag{Name: "origin", Usage: "check CORS for a page on `ORIGIN` (e.g. https://app.example.com)"},
				&cli.StringFlag{Name: "publish", Usage: "`URL` to POST to so the stream emits an event (the event's data must contain the posted text)"},
				&cli.StringSliceFlag{Name: "only", Usage: "run only these check `IDs` (repeatable or comma-separated)"},
				&cli.StringSliceFlag{Name: "skip", Usage: "leave out these check `IDs` (repeatable or comma-separated)"},
				&cli.IntFlag{Name: "clients", Value: conformance.DefaultClients, Usage: "`N` simultaneous streams in the concurrent check"},
				&cli.IntFlag{Name: "churn", Value: conformance.DefaultChurn, Usage: "`N` open/close cycles in the churn check"},
			),
			Action: func(c *cli.Context) error {
				if err := checkOutputs(c, "json", "junit", "html"); err != nil {
					return err
				}
				if c.NArg() != 1 {
					return report.Usagef("check takes one URL, got %d arguments", c.NArg())
				}
				target, err := streamURL("", c.Args().First())
				if err != nil {
					return report.Usage(err)
				}
				o, err := readProbeFlags(c)
				if err != nil {
					return report.Usage(err)
				}
				cfg := conformance.Config{
					URL: target, Method: o.method, Body: o.body, Header: o.header,
					Origin: c.String("origin"), Publish: c.String("publish"),
					Only: c.StringSlice("only"), Skip: c.StringSlice("skip"),
					Insecure: o.insecure, Hold: o.hold, Window: o.window,
					Clients: c.Int("clients"), Churn: c.Int("churn"), MaxSize: o.maxSize,
				}
				rep, err := conformance.Run(c.Context, cfg)
				return finishCheck(c, rep, err)
			},
		}
	})
}

// requestFlags are the request flags of the one-stream commands (tap,
// check, diagnose): -H by run's rule (scenarios.HeaderFlag), -X, --data
// and -k.
func requestFlags() []cli.Flag {
	return []cli.Flag{
		scenarios.HeaderFlag(),
		&cli.StringFlag{Name: "method", Aliases: []string{"X"}, Value: "GET", Usage: "request `METHOD`"},
		&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Usage: scenarios.BodyUsage + " (sets the method to POST unless -X is given)"},
		&cli.BoolFlag{Name: "insecure", Aliases: []string{"k"}, Usage: "skip TLS certificate verification"},
	}
}

// request is what requestFlags give.
type request struct {
	method   string
	body     []byte
	header   http.Header
	insecure bool
}

// readRequest reads requestFlags with the input policy of run
// (scenarios.RequestHeaders, scenarios.RequestBody).
func readRequest(c *cli.Context) (request, error) {
	header, err := scenarios.RequestHeaders(c)
	if err != nil {
		return request{}, err
	}
	r := request{method: strings.ToUpper(c.String("method")), header: header, insecure: c.Bool("insecure")}
	if data := c.String("data"); data != "" {
		if r.body, err = scenarios.RequestBody("data", data); err != nil {
			return r, err
		}
		if !c.IsSet("method") {
			r.method = http.MethodPost
		}
	}
	return r, nil
}

// streamURL checks a stream URL by the rule of run's --url
// (scenarios.CheckURL); what names the flag ("" for the argument).
func streamURL(what, raw string) (string, error) {
	if err := scenarios.CheckURL(what, raw); err != nil {
		return "", err
	}
	return raw, nil
}

// probeFlags are the flags check and diagnose share.
func probeFlags() []cli.Flag {
	return append(requestFlags(),
		&cli.DurationFlag{Name: "hold", Usage: "hold streams open `DURATION` for the heartbeat and idle-timeout probes (0: off; e.g. 2m)"},
		&cli.DurationFlag{Name: "window", Value: conformance.DefaultWindow, Usage: "read the stream for `DURATION` in the main probes"},
		&cli.IntFlag{Name: "max-size", Value: sse.OneStreamMaxSize, Usage: "largest line or event read, `BYTES`"},
		&cli.StringFlag{Name: "json", Usage: "write the report as JSON (ssebench/check/v1) to `FILE` ('-' for stdout; the table then goes to stderr)"},
		&cli.StringFlag{Name: "junit", Usage: "write the report as JUnit XML to `FILE` ('-' for stdout)"},
		&cli.StringFlag{Name: "html", Usage: "write the report as a self-contained HTML page to `FILE` ('-' for stdout)"},
		&cli.BoolFlag{Name: "no-color", Usage: "no colours in the table (also: NO_COLOR set, or output not a terminal)"},
	)
}

// probeOpts are the parsed shared flags.
type probeOpts struct {
	request
	hold    time.Duration
	window  time.Duration
	maxSize int
}

func readProbeFlags(c *cli.Context) (probeOpts, error) {
	r, err := readRequest(c)
	if err != nil {
		return probeOpts{}, err
	}
	return probeOpts{request: r, hold: c.Duration("hold"), window: c.Duration("window"), maxSize: c.Int("max-size")}, nil
}

// finishCheck writes a check or diagnose report (table, JSON, JUnit,
// HTML) and maps the outcome to the exit code: 1 when an error-severity
// check failed, 2 for bad input, 3 when the target was unreachable.
func finishCheck(c *cli.Context, rep *report.CheckReport, runErr error) error {
	var cfgErr *conformance.ConfigError
	if errors.As(runErr, &cfgErr) {
		return report.Usage(runErr)
	}
	if rep == nil {
		return report.CannotRun(scrubber(scenarios.RequestSecrets(c, c.Args().First(), c.String("origin"), c.String("via"))).Error(runErr))
	}
	rep.Version = version
	// One redaction policy: the request's secrets (scenarios.Secrets) go
	// from the report and the error as from every other command's output;
	// a server's echo in the evidence can carry them.
	scrub := scrubber(scenarios.RequestSecrets(c, c.Args().First(), c.String("origin"), c.String("via"), c.String("publish")))
	scrub.CheckReport(rep)
	runErr = scrub.Error(runErr)
	human := humanOut(c, c.String("json"), c.String("junit"), c.String("html"))
	// An unreachable target has no table to show (stderr says why); the
	// files are still written, for CI to keep.
	if runErr == nil {
		color := !c.Bool("no-color") && os.Getenv("NO_COLOR") == "" && isTerminal(human)
		if err := conformance.WriteTable(human, rep, color); err != nil {
			return report.CannotRun(err)
		}
	}
	outs := []output{
		{flag: "json", path: c.String("json"), render: report.RenderJSON(rep)},
		{flag: "junit", path: c.String("junit"), render: func(w io.Writer) error { return report.WriteCheckJUnit(w, rep) }},
		{flag: "html", path: c.String("html"), render: func(w io.Writer) error { return report.WriteCheckHTML(w, rep) }},
	}
	if err := writeOutputs(c, outs...); err != nil {
		return err
	}
	printOutputs(human, outs...)
	if runErr != nil {
		return report.CannotRun(runErr)
	}
	if err := c.Context.Err(); err != nil {
		return &report.ExitError{Code: report.ExitInterrupted, Err: fmt.Errorf("%s interrupted: the results above are partial", rep.Command)}
	}
	if !rep.Passed {
		// The table (or JSON) already says what failed: exit 1 quietly.
		return &report.ExitError{Code: report.ExitGateFailed}
	}
	return nil
}

// isTerminal reports whether w is a character device (a TTY).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
