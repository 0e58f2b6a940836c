package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/sse"
)

func init() {
	commands = append(commands, &cli.Command{
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
   ssebench tap --json --duration 10s https://api.example.com/stream -H 'Authorization: Bearer ${TOKEN}'
   ssebench tap -X POST --data @prompt.json https://llm.example.com/v1/chat/completions`,
		Flags: append(requestFlags(),
			&cli.StringFlag{Name: "last-event-id", Usage: "send Last-Event-ID on the first request"},
			&cli.IntFlag{Name: "count", Aliases: []string{"n"}, Usage: "stop after N events (0: no limit)"},
			&cli.DurationFlag{Name: "duration", Usage: "stop after this long (0: no limit)"},
			&cli.BoolFlag{Name: "reconnect", Usage: "follow the stream across disconnects like a browser (waits retry or 3s, sends Last-Event-ID, stops on 204)"},
			&cli.BoolFlag{Name: "json", Usage: "print NDJSON (same timing fields) instead of the human format"},
			&cli.IntFlag{Name: "width", Value: 100, Usage: "characters of data shown per event in the human format"},
			&cli.IntFlag{Name: "max-size", Value: sse.OneStreamMaxSize, Usage: "largest line or event accepted, in bytes"},
		),
		Action: func(c *cli.Context) error {
			cfg, err := tapConfig(c)
			if err != nil {
				return report.Usage(err)
			}
			_, err = loadgen.Tap(c.Context, cfg, c.App.Writer)
			if err != nil && !errors.Is(err, loadgen.ErrStopped204) {
				return report.CannotRun(fmt.Errorf("tap %s: %w", cfg.URL, err))
			}
			return nil
		},
	})
}

func tapConfig(c *cli.Context) (loadgen.TapConfig, error) {
	if c.NArg() != 1 {
		return loadgen.TapConfig{}, fmt.Errorf("tap takes one URL, got %d arguments", c.NArg())
	}
	target, err := streamURL("", c.Args().First())
	if err != nil {
		return loadgen.TapConfig{}, err
	}
	r, err := readRequest(c)
	if err != nil {
		return loadgen.TapConfig{}, err
	}
	cfg := loadgen.TapConfig{
		URL: target, Method: r.method, Body: r.body, Header: r.header,
		LastEventID: c.String("last-event-id"), Insecure: r.insecure,
		Count: c.Int("count"), Duration: c.Duration("duration"), Reconnect: c.Bool("reconnect"),
		JSON: c.Bool("json"), Width: c.Int("width"), MaxSize: c.Int("max-size"),
	}
	if cfg.Count < 0 || cfg.Duration < 0 || cfg.MaxSize <= 0 {
		return cfg, errors.New("--count and --duration must not be negative, --max-size must be positive")
	}
	return cfg, nil
}
