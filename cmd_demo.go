package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// demoThresholds show the gate at work; they are loose enough for a busy
// laptop, since the server and the generator share it.
var demoThresholds = []string{
	"first_event.p99 < 2s", "delivery.p99 < 1s", "streams_failed.rate < 1%", "events_lost == 0",
}

func init() {
	commands = append(commands, &cli.Command{
		Name:  "demo",
		Usage: "see ssebench work end to end: embedded server, a short load run, the summary and result",
		Description: `Starts the reference server (as 'ssebench serve' would) on a free loopback
port, ramps to --connections streams (1 event/s each, with sequence
checking) over half of --duration and holds them, while a publisher sends 5
events/s to measure publish-to-delivery latency. Then prints the summary,
gates the run on a few thresholds (--threshold replaces them), writes the
result JSON and an HTML report (report.html next to the result, or --html),
and prints the report's absolute path to open in a browser. Nothing outside
this machine is contacted.

Examples:
   ssebench demo
   ssebench demo --connections 200 --duration 10s --out /tmp/demo.json
   ssebench demo --threshold 'delivery.p99 < 50ms' --html /tmp/demo.html`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "connections", Value: 1000, Usage: "streams to ramp to"},
			&cli.DurationFlag{Name: "duration", Value: 20 * time.Second, Usage: "whole run (ramp is half of it)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "ssebench-result.json", Usage: "write the result JSON here"},
			&cli.StringFlag{Name: "html", Usage: "write the HTML report to `FILE` (default: report.html next to --out)"},
			&cli.StringFlag{Name: "junit", Usage: "also write JUnit XML to `FILE`"},
			&cli.StringSliceFlag{Name: "threshold", Value: cli.NewStringSlice(demoThresholds...),
				Usage: "pass/fail condition `EXPR` (repeatable; replaces the defaults)"},
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
			if _, err := report.ParseThresholds(c.StringSlice("threshold")); err != nil {
				return report.Usage(err)
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
			s.Thresholds = c.StringSlice("threshold")
			s.AbortOnFail = false
			if err := s.Validate(); err != nil {
				return report.Usage(err)
			}
			s.Normalize()
			out := loadOutputs{JSON: c.String("out"), HTML: c.String("html"), JUnit: c.String("junit")}
			if out.HTML == "" {
				out.HTML = filepath.Join(filepath.Dir(out.JSON), "report.html")
			}
			before := modTime(out.HTML)
			err = runLoad(c, s, out, c.Bool("quiet"))
			if after := modTime(out.HTML); !after.IsZero() && !after.Equal(before) {
				abs, aerr := filepath.Abs(out.HTML)
				if aerr != nil {
					abs = out.HTML
				}
				fmt.Fprintf(c.App.Writer, "\nOpen the report in a browser: %s\n", abs)
			}
			return err
		},
	})
}

// modTime is the file's modification time, zero when it does not exist.
func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
