package main

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:  "serve",
		Usage: "run the reference SSE server (known-good origin, with fault injection)",
		Description: `Serves a correct event stream at /events, publishing at /publish, counters
at /stats and a health check at /healthz, until Ctrl-C.

GET /events query parameters: rate (events/s per stream, decimals allowed,
default 1), size (data bytes per event), count (end after N events),
heartbeat (comment interval, 0 = off), retry (ms, sent once), topic (named
channel), lastEventId (resume; the Last-Event-ID header wins), fault (see
below). Every event has "id: N" (the topic's sequence number) and data
{"seq":N,"ts":<unix ns at send>,"pad":"..."}.

POST /publish?topic=T[&event=TYPE] sends the body to every stream of T as
{"seq":N,"ts":...,"msg":"<body>"} and answers
{"topic":"T","id":N,"ts":...,"subscribers":K}.

Faults imitate real proxies and servers (fixtures/FAULTS.md): pass
?fault=a,b=v per stream, or --fault for every stream (a stream's fault=
adds to them; fault=none clears them). Known faults:
   ` + faultList() + `

Examples:
   ssebench serve
   ssebench serve --addr 127.0.0.1:9000 --heartbeat 5s --history 100000
   ssebench serve --fault buffer                   # behave like nginx with proxy_buffering on
   ssebench serve --fault cut=60s --fault idle     # like an ALB idle timeout on a quiet stream
   curl -sN 'http://127.0.0.1:8080/events?rate=5&count=10'
   curl -sN 'http://127.0.0.1:8080/events?fault=line-endings=crlf' | od -c | head
   curl -s -d 'hello' 'http://127.0.0.1:8080/publish?topic=default'
   ssebench tap 'http://127.0.0.1:8080/events?rate=5'`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: fixtures.DefaultAddr, Usage: "listen on this host:port"},
			&cli.IntFlag{Name: "history", Value: fixtures.DefaultHistory, Usage: "events kept per topic for Last-Event-ID resumption"},
			&cli.Int64Flag{Name: "history-bytes", Value: fixtures.DefaultHistoryBytes, Usage: "bytes kept per topic for resumption (the oldest go first)"},
			&cli.IntFlag{Name: "queue", Value: fixtures.DefaultQueue, Usage: "events queued per stream before it is dropped as a slow client"},
			&cli.StringSliceFlag{Name: "fault", Usage: "fault applied to every stream (repeatable; NAME or NAME=VALUE)"},
			&cli.DurationFlag{Name: "heartbeat", Value: fixtures.DefaultHeartbeat, Usage: "comment interval for streams without ?heartbeat= (0 = none)"},
			&cli.Float64Flag{Name: "max-rate", Value: fixtures.DefaultMaxRate, Usage: "highest ?rate= accepted (events/s per stream)"},
			&cli.IntFlag{Name: "max-size", Value: fixtures.DefaultMaxSize, Usage: "highest ?size= accepted (bytes)"},
			&cli.Int64Flag{Name: "max-publish", Value: fixtures.DefaultMaxPublish, Usage: "largest POST /publish body (bytes)"},
			&cli.IntFlag{Name: "max-topics", Value: fixtures.DefaultMaxTopics, Usage: "most topics; streams on new ones get 503 past it"},
			// --procs N (SO_REUSEPORT processes), cross-process publish and
			// TLS plug in through fixtures.Config.Listen and .Publish.
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return report.Usagef("serve takes no arguments, got %q", c.Args().First())
			}
			cfg := fixtures.Config{
				Addr:         c.String("addr"),
				History:      c.Int("history"),
				HistoryBytes: c.Int64("history-bytes"),
				Queue:        c.Int("queue"),
				Faults:       c.StringSlice("fault"),
				Heartbeat:    c.Duration("heartbeat"),
				MaxRate:      c.Float64("max-rate"),
				MaxSize:      c.Int("max-size"),
				MaxPublish:   c.Int64("max-publish"),
				MaxTopics:    c.Int("max-topics"),
			}
			if cfg.Heartbeat == 0 {
				cfg.Heartbeat = -1 // the flag's 0 means none; Config's 0 means the default
			}
			for name, v := range map[string]int64{
				"history": int64(cfg.History), "history-bytes": cfg.HistoryBytes, "queue": int64(cfg.Queue),
				"max-size": int64(cfg.MaxSize), "max-publish": cfg.MaxPublish, "max-topics": int64(cfg.MaxTopics),
			} {
				if v <= 0 {
					return report.Usagef("--%s %d: want a number > 0", name, v)
				}
			}
			if cfg.MaxRate <= 0 {
				return report.Usagef("--max-rate %g: want events per second > 0", cfg.MaxRate)
			}
			if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
				return report.Usagef("--addr %q: want host:port: %v", cfg.Addr, err)
			}
			cfg.Ready = func(addr net.Addr) { printServeBanner(c, addr) }
			srv, err := fixtures.New(cfg)
			if err != nil {
				return report.Usagef("serve: %v", err)
			}
			defer srv.Close()
			err = srv.ListenAndServe(c.Context)
			var opErr *net.OpError
			if errors.As(err, &opErr) && opErr.Op == "listen" {
				return report.CannotRun(fmt.Errorf("serve: %w", err))
			}
			if err != nil {
				return report.CannotRun(err)
			}
			st := srv.Stats()
			fmt.Fprintf(c.App.ErrWriter, "ssebench serve: stopped after %d streams, %d events, %d bytes written, %d slow clients dropped\n",
				st.StreamsTotal, st.EventsWritten, st.BytesWritten, st.SlowDropped)
			return nil
		},
	})
}

func printServeBanner(c *cli.Context, addr net.Addr) {
	base := "http://" + addr.String()
	w := c.App.ErrWriter
	fmt.Fprintf(w, "ssebench serve: listening on %s (Ctrl-C to stop)\n", base)
	if faults := c.StringSlice("fault"); len(faults) > 0 {
		fmt.Fprintf(w, "  faults on every stream: %s\n", strings.Join(faults, ","))
	}
	hb := c.Duration("heartbeat")
	hbText := hb.String()
	if hb == 0 {
		hbText = "off"
	}
	fmt.Fprintf(w, "  history %d events per topic, queue %d per stream, heartbeat %s\n", c.Int("history"), c.Int("queue"), hbText)
	fmt.Fprintf(w, "try:\n")
	fmt.Fprintf(w, "  ssebench tap '%s/events?rate=5'\n", base)
	fmt.Fprintf(w, "  curl -sN '%s/events?rate=2&count=5'\n", base)
	fmt.Fprintf(w, "  curl -s -d 'hello' '%s/publish?topic=default'\n", base)
	fmt.Fprintf(w, "  curl -sN '%s/events?fault=buffer'     # faults: %s/\n", base, base)
	fmt.Fprintf(w, "  curl -s %s/stats\n", base)
}

// faultList is the known faults with their values, for the help text.
func faultList() string {
	var names []string
	for _, f := range fixtures.Faults {
		names = append(names, f.Name+f.Value)
	}
	var b strings.Builder
	line := 0
	for i, n := range names {
		switch {
		case i == 0:
		case line+2+len(n) > 72:
			b.WriteString(",\n   ")
			line = 0
		default:
			b.WriteString(", ")
			line += 2
		}
		b.WriteString(n)
		line += len(n)
	}
	return b.String()
}
