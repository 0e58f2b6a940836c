package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/progress"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

func init() {
	commands = append(commands, func() *cli.Command {
		flags := append(scenarios.Flags(),
			&cli.StringFlag{Name: "out", Aliases: []string{"o", "json"}, Value: "ssebench-result.json", Usage: "write the result JSON to `FILE` ('-' for stdout; the summary then goes to stderr)"},
			&cli.StringFlag{Name: "html", Usage: "also write a self-contained HTML report to `FILE` ('-' for stdout)"},
			&cli.StringFlag{Name: "junit", Usage: "also write JUnit XML (one testcase per threshold) to `FILE` ('-' for stdout)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress"},
			&cli.IntFlag{Name: "procs", Usage: "run as `N` shard processes merged live (0: as many as the open-file limit needs)"},
			&cli.StringFlag{Name: "shard", Usage: "run only share `i/n` of the scenario (0-based), e.g. one machine or pod of a bigger test"},
			&cli.BoolFlag{Name: "force", Usage: "run even when pre-flight finds a problem"},
		)
		flags = append(flags, metricsFlags()...)
		return &cli.Command{
			Name:      "run",
			Usage:     "load-test an SSE endpoint with many concurrent streams",
			ArgsUsage: "[scenario.yaml]",
			Description: `Opens concurrent streams on an open-loop schedule (stages, or the
--connections/--ramp/--duration shorthand), reconnects them like browsers do,
and measures connect, headers, first byte, first event, inter-event gap,
delivery (from the server's send timestamp), publish-to-delivery, reconnect
time and stream lifetime in HdrHistograms. Progress prints once a second;
the result JSON (--out) is the source of truth for every report. Every
scenario key has a flag here; a flag overrides the file. A URL alone runs
100 streams for 30s (the defaults of --connections and --duration; the
summary says which load was a default).

Thresholds (--threshold, repeatable, or the scenario's thresholds: list)
gate the run: "first_event.p99 < 500ms", "delivery.p999 <= 2s",
"streams_failed.rate < 0.1%", "events_lost == 0", "ends.reset < 10". A
share (.rate, goodput) is a percentage or a fraction: .rate < 0.1 is 10%,
.rate < 0.1% a tenth of a percent. A bad expression, or one on something
the run cannot produce (an unknown end class such as ends.cancelld, a
metric of the other mode), is an error before any load is sent (exit 2);
a failed threshold is exit 1. --abort-on-fail stops the run as soon as one fails.
See 'ssebench report --help' for the grammar.

Scale: past what one process can hold (its open-file limit), run starts
shard processes of itself and merges them live (--procs overrides);
--source-addrs spreads sockets over local addresses; --http2 multiplexes
streams. Before any load, pre-flight checks open files, ephemeral ports,
somaxconn and memory, and refuses on a problem unless --force.

Ctrl-C stops the run and still writes the result, marked partial (a second
Ctrl-C exits at once). Exit 3 when no stream could be opened at all; when
every attempt of the first seconds fails with the same connect or TLS error,
the run stops there with exit 3 and that cause (the result is still written,
marked partial and unreachable).

Mode capacity (mode: capacity, or --mode capacity) runs the search of
'ssebench capacity' instead: streams raised in steps (--start, --step or
--factor, --max, --ramp, --hold, --refine; the scenario's capacity: block)
until a step breaks a threshold (the SLOs; default delivery.p99 < 250ms and
streams_failed.rate < 0.1%). It writes a capacity result (--out, default
ssebench-capacity.json; --html, default capacity.html, or NAME.html beside
--out NAME.json; none for no HTML) and exits as capacity does; see 'ssebench capacity --help'.

Examples:
   ssebench run --url 'http://127.0.0.1:8080/events?rate=1'
   ssebench run --url 'http://127.0.0.1:8080/events?rate=1' --connections 2000 --ramp 10s --duration 60s
   ssebench run scenarios/examples/serve-local.yaml --connections 500
   ssebench run --url https://api.example.com/stream -H 'Authorization: Bearer ${TOKEN}' --connections 100 \
       --reconnect always --chaos-drop 5%/10s --sequence --duration 5m
   ssebench run scenario.yaml --threshold 'first_event.p99 < 500ms' --threshold 'events_lost == 0' \
       --html report.html --junit junit.xml
   ssebench run --url 'http://127.0.0.1:8080/events?rate=0.1' --connections 50000 --ramp 30s --duration 60s
   ssebench run scenario.yaml --shard 3/8 --out shard-3.json
   ssebench run scenarios/examples/capacity.yaml --server-pid $(pgrep -n -f 'ssebench serve')`,
			Flags: flags,
			Action: func(c *cli.Context) error {
				if err := checkOutputs(c, "out", "html", "junit"); err != nil {
					return err
				}
				s, err := scenarios.FromCLI(c)
				if err != nil {
					return report.Usage(err)
				}
				if s.Mode == scenarios.ModeCapacity {
					return runCapacityMode(c, s)
				}
				return runLoad(c, s, loadOutputs{JSON: c.String("out"), HTML: c.String("html"), JUnit: c.String("junit")}, c.Bool("quiet"))
			},
		}
	})
}

// runCapacityMode runs a mode capacity scenario the way `ssebench
// capacity` does (its files, output and exit codes): the run flags that
// have no meaning for a one-process search are refused, not ignored.
func runCapacityMode(c *cli.Context, s *scenarios.Scenario) error {
	for _, name := range []string{"shard", "procs"} {
		if c.IsSet(name) {
			return report.Usagef("--%s: not used in mode capacity, which runs in one process", name)
		}
	}
	out, html := capacityFiles(c)
	return runCapacity(c, s, capacityRun{Out: out, HTML: html, JUnit: c.String("junit"), Quiet: c.Bool("quiet"), Force: c.Bool("force")})
}

// loadOutputs are where runLoad writes; HTML and JUnit are optional.
// Summary adds to the terminal summary (the demo explains its figures).
type loadOutputs struct {
	JSON, HTML, JUnit string
	Summary           report.SummaryOptions
}

// runLoad checks the thresholds, runs a scenario, evaluates the
// thresholds, prints the summary and writes the result (and the HTML and
// JUnit reports when asked). Every output is rendered from the redacted
// and scrubbed result, so no secret reaches a file or the terminal.
func runLoad(c *cli.Context, s *scenarios.Scenario, out loadOutputs, quiet bool) error {
	// A bad threshold is bad input: say so before any load is sent.
	gate, err := report.NewLiveGate(s.Mode, s.Thresholds)
	if err != nil {
		return report.Usage(err)
	}
	scrub := scrubber(s.Secrets())
	// Nothing reachable in the first seconds: say why now, not after the
	// whole duration.
	opts := loadgen.Options{Version: version, FailFast: true}
	defaults := s.DefaultsNote() // a URL alone runs the default load: say so before and after
	var pp *progress.Printer
	if !quiet {
		if defaults != "" {
			fmt.Fprintf(c.App.ErrWriter, "load: %s\n", defaults)
		}
		pp = progress.NewPrinter(c.App.ErrWriter)
		opts.Progress = pp.Print
	}
	if s.AbortOnFail && len(s.Thresholds) > 0 {
		opts.Check = func(p loadgen.Progress) error {
			if err := gate.Check(p.Metrics, p.Totals); err != nil {
				return fmt.Errorf("aborted after %v: %w", p.Elapsed.Round(time.Second), err)
			}
			return nil
		}
	}
	live, err := startMetrics(c, s, c.String("shard"))
	if err != nil {
		return err
	}
	opts.Live = live.live()
	res, err := runPlanned(c, s, opts)
	if pp != nil {
		pp.Done()
	}
	defer live.stop(c, res, false)
	if err != nil {
		var ee *report.ExitError
		if errors.As(err, &ee) {
			return &report.ExitError{Code: ee.Code, Err: scrub.Error(ee.Err)}
		}
		return report.Usage(scrub.Error(err))
	}
	res.Command = c.Command.Name
	if defaults != "" {
		res.Notes = append([]string{defaults}, res.Notes...)
	}
	scrub.Result(res)
	if res.Thresholds, err = report.EvaluateThresholds(res, s.Thresholds); err != nil {
		return report.Usage(err)
	}
	// Files first: a closed stdout must not cost the result.
	outs := []output{
		{flag: "out", label: "result", path: out.JSON, render: report.RenderJSON(res)},
		{flag: "html", path: out.HTML, render: func(w io.Writer) error { return report.WriteHTML(w, res) }},
		{flag: "junit", path: out.JUnit, render: func(w io.Writer) error { return report.WriteJUnit(w, res) }},
	}
	if err := writeOutputs(c, outs...); err != nil {
		return err
	}
	human := humanOut(c, out.JSON, out.HTML, out.JUnit)
	if err := report.WriteSummaryWith(human, res, out.Summary); err != nil {
		return report.CannotRun(err)
	}
	fmt.Fprintln(human)
	printOutputs(human, outs...)
	// The exit code is the verdict the summary, HTML and JUnit show.
	return report.Verdict(res).Err()
}

// runPlanned decides how many processes the run needs, checks the machine
// (pre-flight), and runs in-process or as merged shard processes.
func runPlanned(c *cli.Context, s *scenarios.Scenario, opts loadgen.Options) (*report.Result, error) {
	var sh loadgen.Shard
	if v := c.String("shard"); v != "" {
		var err error
		if sh, err = loadgen.ParseShard(v); err != nil {
			return nil, report.Usagef("--shard: %v", err)
		}
	}
	procs := c.Int("procs")
	switch {
	case procs < 0:
		return nil, report.Usagef("--procs %d: want 0 (automatic) or more", procs)
	case procs == 0:
		procs = loadgen.ProcsNeeded(s, sh)
	}
	if err := loadgen.PreflightGate(c.App.ErrWriter, s, sh, procs, c.Bool("force")); err != nil {
		return nil, report.Usage(err) // a plan this machine cannot run is bad input, as a bad flag is
	}
	if procs <= 1 {
		opts.Shard = sh
		res, err := loadgen.Run(c.Context, s, opts)
		if err != nil {
			return nil, report.Usage(err)
		}
		return res, nil
	}
	if !c.Bool("quiet") {
		fmt.Fprintf(c.App.ErrWriter, "running as %d shard processes\n", procs)
	}
	res, err := loadgen.RunProcs(c.Context, s, loadgen.ProcOptions{Procs: procs, Base: sh, Stderr: c.App.ErrWriter}, opts)
	if err != nil {
		return nil, report.CannotRun(err)
	}
	return res, nil
}

// scrubber blots a command's secrets (scenarios.Secrets: the one
// redaction policy) out of everything it writes, as a second line of
// defence behind redacting the scenario: an error text or a server's echo
// can still carry them.
func scrubber(sec scenarios.Secrets) *report.Scrubber {
	return report.NewScrubber(sec.Values, sec.Rewrite)
}
