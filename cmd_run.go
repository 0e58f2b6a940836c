package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

func init() {
	flags := append(scenarios.Flags(),
		&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "ssebench-result.json", Usage: "write the result JSON here"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress"},
	)
	commands = append(commands, &cli.Command{
		Name:      "run",
		Usage:     "load-test an SSE endpoint with many concurrent streams",
		ArgsUsage: "[scenario.yaml]",
		Description: `Opens concurrent streams on an open-loop schedule (stages, or the
--connections/--ramp/--duration shorthand), reconnects them like browsers do,
and measures connect, headers, first byte, first event, inter-event gap,
delivery (from the server's send timestamp), publish-to-delivery, reconnect
time and stream lifetime in HdrHistograms. Progress prints once a second;
the result JSON (--out) is the source of truth for every report. Every
scenario key has a flag here; a flag overrides the file.

Ctrl-C stops the run and still writes the result, marked partial (a second
Ctrl-C exits at once). Exit 3 when no stream could be opened at all.

Examples:
   ssebench run --url 'http://127.0.0.1:8080/events?rate=1' --connections 2000 --ramp 10s --duration 60s
   ssebench run scenarios/examples/serve-local.yaml --connections 500
   ssebench run --url https://api.example.com/stream -H 'Authorization: Bearer ${TOKEN}' \
       --reconnect always --chaos-drop 5%/10s --sequence --duration 5m`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			s, err := scenarios.FromCLI(c)
			if err != nil {
				return report.Usage(err)
			}
			return runLoad(c, s, c.String("out"), c.Bool("quiet"))
		},
	})
}

// runLoad runs a scenario, writes its result and prints the summary.
func runLoad(c *cli.Context, s *scenarios.Scenario, out string, quiet bool) error {
	opts := loadgen.Options{Version: version}
	var pp *loadgen.ProgressPrinter
	if !quiet {
		pp = loadgen.NewProgressPrinter(c.App.ErrWriter)
		opts.Progress = pp.Print
	}
	res, err := loadgen.Run(c.Context, s, opts)
	if pp != nil {
		pp.Done()
	}
	if err != nil {
		return report.Usage(err)
	}
	res.Command = "run"
	if err := report.WriteSummary(c.App.Writer, res); err != nil {
		return report.CannotRun(err)
	}
	if err := report.WriteJSON(out, res); err != nil {
		return report.CannotRun(fmt.Errorf("write result: %w", err))
	}
	fmt.Fprintf(c.App.Writer, "\nresult: %s\n", out)
	switch {
	case res.Partial:
		return &report.ExitError{Code: report.ExitInterrupted}
	case res.Counters.StreamsOpened == 0 && res.Counters.StreamsFailed > 0:
		return report.CannotRun(fmt.Errorf("no stream could be opened (%s); is the target up?", topEnd(res.Counters.Ends)))
	}
	return nil
}

// topEnd names the most frequent end class.
func topEnd(ends map[string]int64) string {
	best, n := "", int64(-1)
	for k, v := range ends {
		if v > n || (v == n && k < best) {
			best, n = k, v
		}
	}
	return fmt.Sprintf("%s ×%d", best, n)
}
