package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:  "demo",
		Usage: "see ssebench work end to end: embedded server, a short load run, the summary and result",
		Description: `Starts the reference server (as 'ssebench serve' would) on a free loopback
port, ramps to --connections streams (1 event/s each, with sequence
checking) over half of --duration and holds them, while a publisher sends 5
events/s to measure publish-to-delivery latency. Then prints the summary
and writes the result JSON. Nothing outside this machine is contacted.

Examples:
   ssebench demo
   ssebench demo --connections 200 --duration 10s --out /tmp/demo.json`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "connections", Value: 1000, Usage: "streams to ramp to"},
			&cli.DurationFlag{Name: "duration", Value: 20 * time.Second, Usage: "whole run (ramp is half of it)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "ssebench-result.json", Usage: "write the result JSON here"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress"},
		},
		Action: func(c *cli.Context) error {
			n, d := c.Int("connections"), c.Duration("duration")
			if n <= 0 || n > 15000 {
				return report.Usagef("--connections %d: want 1 to 15000 (use run with serve for more)", n)
			}
			if d < 2*time.Second {
				return report.Usagef("--duration %v: want at least 2s", d)
			}
			srv, err := fixtures.New(fixtures.Config{})
			if err != nil {
				return report.CannotRun(err)
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return report.CannotRun(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			go srv.Serve(ctx, ln)
			base := "http://" + ln.Addr().String()
			fmt.Fprintf(c.App.ErrWriter, "demo: reference server on %s; %d streams for %v\n", base, n, d)
			s := &scenarios.Scenario{
				Name:        "demo",
				URLs:        []string{base + "/events?rate=1&topic=demo"},
				Connections: n,
				Ramp:        scenarios.Duration(d / 2),
				Duration:    scenarios.Duration(d),
				Publisher:   &scenarios.Publisher{URL: base + "/publish?topic=demo", Rate: 5},
			}
			s.Expect.Sequence = true
			if err := s.Validate(); err != nil {
				return report.CannotRun(err)
			}
			s.Normalize()
			return runLoad(c, s, c.String("out"), c.Bool("quiet"))
		},
	})
}
