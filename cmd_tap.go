package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/cliargs"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
	"github.com/ssebench/ssebench/sse"
	"github.com/ssebench/ssebench/tap"
)

func init() {
	commands = append(commands, func() *cli.Command {
		return &cli.Command{
			Name:      "tap",
			Usage:     "watch one live stream, parsed and timed, like a browser's EventSource",
			ArgsUsage: "URL",
			Description: `Connects as EventSource does (Accept: text/event-stream, Cache-Control:
no-cache), prints the status line and the response headers that matter for
SSE, then each event as it arrives: time since connect, gap since the
previous event, type, id and data (comments show as heartbeats). On stop
(Ctrl-C, --count, --duration or the server closing) it prints a summary.

Examples:
   ssebench tap 'http://127.0.0.1:8080/events?rate=5'
   ssebench tap --last-event-id 7 --count 3 http://127.0.0.1:8080/events
   ssebench tap --reconnect 'http://127.0.0.1:8080/events?fault=close-every=5'
   ssebench tap https://api.example.com/stream -H 'Authorization: Bearer ${TOKEN}' --duration 10s --json tap.ndjson
   ssebench tap --json - --count 5 'http://127.0.0.1:8080/events?rate=5' | jq -c .
   ssebench tap -X POST --data @prompt.json https://llm.example.com/v1/chat/completions`,
			Flags: append(requestFlags(),
				&cli.StringFlag{Name: "last-event-id", Usage: "send Last-Event-ID: `ID` on the first request"},
				&cli.IntFlag{Name: "count", Aliases: []string{"n"}, Usage: "stop after `N` events (0: no limit)"},
				&cli.DurationFlag{Name: "duration", Usage: "stop after `DURATION` (0: no limit)"},
				&cli.BoolFlag{Name: "reconnect", Usage: "follow the stream across disconnects like a browser (waits retry or 3s, sends Last-Event-ID, stops on 204)"},
				&tapJSONFlag{&cli.StringFlag{Name: "json", Usage: "write NDJSON records (the same timing fields) to `FILE` instead of the human format on stdout ('-' for stdout; --json with no FILE, as in earlier versions, is '-')"}},
				&cli.IntFlag{Name: "width", Value: 100, Usage: "`N` characters of data shown per event in the human format"},
				&cli.IntFlag{Name: "max-size", Value: sse.OneStreamMaxSize, Usage: "largest line or event accepted, `BYTES`"},
			),
			Action: func(c *cli.Context) error {
				cfg, err := tapConfig(c)
				if err != nil {
					return report.Usage(err)
				}
				path := c.String("json")
				if path == "" {
					return tapDone(c, cfg, runTap(c, cfg, c.App.Writer))
				}
				// NDJSON is a report like the others: a file is written
				// atomically when the tap stops.
				var tapErr error
				err = writeOutputs(c, output{flag: "json", path: path, render: func(w io.Writer) error {
					tapErr = runTap(c, cfg, w)
					return nil
				}})
				if err != nil {
					return err
				}
				if path != "-" {
					printOutputs(c.App.Writer, output{flag: "json", path: path})
				}
				return tapDone(c, cfg, tapErr)
			},
		}
	})
}

// tapJSONFlag is tap's --json FILE, whose FILE may be left out (it was
// a bool once): the argument after it is its FILE unless it is a URL or
// a flag (cliargs.OptionalValue).
type tapJSONFlag struct{ *cli.StringFlag }

var _ cliargs.OptionalValue = (*tapJSONFlag)(nil)

func (*tapJSONFlag) NoValue() string { return "-" }

func (*tapJSONFlag) IsValue(next string) bool {
	return next == "-" || (!strings.HasPrefix(next, "-") && !strings.Contains(next, "://"))
}

func runTap(c *cli.Context, cfg tap.Config, w io.Writer) error {
	_, err := tap.Run(c.Context, cfg, w)
	return err
}

// tapDone maps a tap's error to the exit code: a stream the server ended
// with 204 is a normal stop. The message goes through the command's
// scrubber: it names the URL, and Go's errors quote it.
func tapDone(c *cli.Context, cfg tap.Config, err error) error {
	if err != nil && !errors.Is(err, tap.ErrStopped204) {
		scrub := scrubber(scenarios.RequestSecrets(c, cfg.URL))
		return report.CannotRun(scrub.Error(fmt.Errorf("tap %s: %w", cfg.URL, err)))
	}
	return nil
}

func tapConfig(c *cli.Context) (tap.Config, error) {
	if c.NArg() != 1 {
		return tap.Config{}, fmt.Errorf("tap takes one URL, got %d arguments", c.NArg())
	}
	target, err := streamURL("", c.Args().First())
	if err != nil {
		return tap.Config{}, err
	}
	r, err := readRequest(c)
	if err != nil {
		return tap.Config{}, err
	}
	cfg := tap.Config{
		URL: target, Method: r.method, Body: r.body, Header: r.header,
		LastEventID: c.String("last-event-id"), Insecure: r.insecure,
		Count: c.Int("count"), Duration: c.Duration("duration"), Reconnect: c.Bool("reconnect"),
		JSON: c.String("json") != "", Width: c.Int("width"), MaxSize: c.Int("max-size"),
	}
	if cfg.Count < 0 || cfg.Duration < 0 || cfg.MaxSize <= 0 {
		return cfg, errors.New("--count and --duration must not be negative, --max-size must be positive")
	}
	return cfg, nil
}
