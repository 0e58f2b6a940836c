package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/report"
)

func init() {
	commands = append(commands, func() *cli.Command {
		return &cli.Command{
			Name:      "report",
			Usage:     "re-render saved results as HTML, JUnit or a summary; merge the results of several generators",
			ArgsUsage: "RESULT.json...",
			Description: `Reads result JSON written by run, demo, check, diagnose or capacity (told
apart by their schema) and renders it again: the summary on stdout, and --html,
--junit and --json files. Several load results (the shards of one test, or
the same test run from several machines) are merged exactly: every latency
histogram is merged (so p99 is the p99 of all streams, not an average of
p99s), counters are summed, and time series are aligned by wall clock.

Thresholds are evaluated again on what is rendered: those recorded in the
result's scenario, or --threshold (repeatable), which replaces them. A
failed threshold, or a failed check report, is exit 1, so a CI job can
gate on merged shards. A capacity result's JUnit has one case for the
answer (failed when the search found none or was cut short) and one per step.

Threshold grammar: SUBJECT OP VALUE, OP one of < <= > >= == !=.
  METRIC.AGG     metric: connect, headers, first_byte, first_event, inter_event,
                 delivery, publish_delivery, reconnect, lifetime, schedule_lag;
                 AGG: count, min, mean, max, p50, p90, p95, p99, p999 (p99.9)
                 e.g. first_event.p99 < 500ms, delivery.p999 <= 2s
  COUNTER        streams_opened, streams_failed, events, comments, bytes,
                 reconnects, events_lost, events_duplicated, publishes,
                 publish_errors, clock_skew; e.g. events_lost == 0
  COUNTER.rate   streams_failed.rate, publish_errors.rate, events_lost.rate,
                 events_duplicated.rate; e.g. streams_failed.rate < 0.1%
  ends.CLASS     streams that ended so, e.g. ends.reset < 10, ends.http_503 < 5
                 (an end class the run cannot produce is an error)
Request mode (run --mode request) adds:
  METRIC.AGG     metric: ttft, ttft_sent, itl, tpot, e2e, e2e_sent (with
                 connect, headers, first_byte, schedule_lag); ttft and e2e from
                 the scheduled time, ttft_sent and e2e_sent from the send;
                 e.g. ttft.p99 < 1s, ttft_sent.p99 < 800ms, tpot.p50 < 50ms
  COUNTER        requests (every arrival, skipped ones included), requests_ok,
                 requests_good, requests_failed (requests - requests_ok),
                 requests_cut (max_duration or cancelled), tokens (of answers
                 that ended normally), tokens_cut, tokens_failed
  COUNTER.rate   requests_failed.rate (1 - requests_ok/requests);
                 e.g. requests_failed.rate < 1%
  goodput        share of requests that ended normally and met every
                 per-request SLO (the ttft, tpot and e2e thresholds);
                 e.g. goodput >= 95%
  tokens_per_s   output tokens of answers that ended normally per second over
                 the run; tokens_per_s >= 500
  Latencies need a unit (us, ms, s, m); rates and goodput take a percentage
  or a fraction (0.1% = 0.001; .rate < 0.1 is 10%); counts and tokens_per_s
  are plain numbers.

Examples:
   ssebench report --html report.html ssebench-result.json
   ssebench report --json merged.json --html merged.html --junit junit.xml shard-*.json
   ssebench report --threshold 'delivery.p99 < 250ms' merged.json
   ssebench report --threshold 'ttft.p99 < 1s' --threshold 'goodput >= 95%' llm.json
   ssebench report --junit check.xml check.json
   ssebench report --html capacity.html --junit capacity.xml ssebench-capacity.json`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "json", Usage: "write the (merged) result JSON to `FILE` ('-' for stdout; the summary then goes to stderr)"},
				&cli.StringFlag{Name: "html", Usage: "write a self-contained HTML report to `FILE` ('-' for stdout)"},
				&cli.StringFlag{Name: "junit", Usage: "write JUnit XML to `FILE` ('-' for stdout)"},
				&cli.StringSliceFlag{Name: "threshold", Usage: "pass/fail condition `EXPR` (repeatable; replaces the result's own)"},
				&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no summary on stdout"},
			},
			Action: reportAction,
		}
	})
}

func reportAction(c *cli.Context) error {
	if err := checkOutputs(c, "json", "html", "junit"); err != nil {
		return err
	}
	paths := c.Args().Slice()
	if len(paths) == 0 {
		return report.Usagef("give one or more RESULT.json files (see 'ssebench report --help')")
	}
	var loads []*report.Result
	var checks []*report.CheckReport
	for _, p := range paths {
		saved, err := report.Read(p)
		if err != nil {
			return report.Usage(oneLineErr(err))
		}
		switch {
		case saved.Capacity != nil:
			return renderCapacity(c, paths, p, saved.Capacity)
		case saved.Result != nil:
			loads = append(loads, saved.Result)
		default:
			checks = append(checks, saved.Check)
		}
	}
	switch {
	case len(loads) > 0 && len(checks) > 0:
		return report.Usagef("%d load results and %d check reports given: render them separately", len(loads), len(checks))
	case len(checks) > 1:
		return report.Usagef("%d check reports given: check reports are rendered one at a time", len(checks))
	case len(checks) == 1:
		if len(c.StringSlice("threshold")) > 0 {
			return report.Usagef("--threshold applies to load results, not to a check report")
		}
		return renderCheck(c, checks[0])
	}
	return renderLoad(c, loads)
}

func renderLoad(c *cli.Context, loads []*report.Result) error {
	exprs := c.StringSlice("threshold")
	if _, err := report.ParseThresholds(exprs); err != nil {
		return report.Usage(err)
	}
	res := loads[0]
	if len(loads) > 1 {
		var err error
		if res, err = report.Merge(loads...); err != nil {
			return report.Usage(err)
		}
	}
	if len(exprs) == 0 {
		exprs = res.ScenarioThresholds()
	}
	if len(exprs) > 0 || len(loads) > 1 {
		ths, err := report.EvaluateThresholds(res, exprs)
		if err != nil {
			return report.Usage(err)
		}
		res.Thresholds = ths
	}
	if !c.Bool("quiet") {
		if err := report.WriteSummary(reportHuman(c), res); err != nil {
			return report.CannotRun(err)
		}
		fmt.Fprintln(reportHuman(c))
	}
	if err := writeRendered(c, res, func(w io.Writer) error { return report.WriteHTML(w, res) },
		func(w io.Writer) error { return report.WriteJUnit(w, res) }); err != nil {
		return err
	}
	if failed := report.FailedThresholds(res.Thresholds); len(failed) > 0 {
		return report.GateFailed(fmt.Errorf("%d of %d thresholds failed: %s", len(failed), len(res.Thresholds), strings.Join(failed, "; ")))
	}
	return nil
}

// renderCapacity re-renders one capacity result: the steps and verdict on
// stdout, --html, --junit and --json files. Its exit code is 0: the verdict was
// decided when the search ran.
func renderCapacity(c *cli.Context, paths []string, path string, r *report.CapacityResult) error {
	switch {
	case len(paths) > 1:
		return report.Usagef("%s is a capacity result: render it alone (%d files given)", path, len(paths))
	case len(c.StringSlice("threshold")) > 0:
		return report.Usagef("--threshold applies to load results; a capacity result's SLOs were judged per step when it ran")
	}
	if !c.Bool("quiet") {
		if err := report.WriteCapacitySummary(reportHuman(c), r); err != nil {
			return report.CannotRun(err)
		}
		fmt.Fprintln(reportHuman(c))
	}
	return writeRendered(c, r, func(w io.Writer) error { return report.WriteCapacityHTML(w, r) },
		func(w io.Writer) error { return report.WriteCapacityJUnit(w, r) })
}

func renderCheck(c *cli.Context, r *report.CheckReport) error {
	if !c.Bool("quiet") {
		if err := report.WriteCheckSummary(reportHuman(c), r); err != nil {
			return report.CannotRun(err)
		}
		fmt.Fprintln(reportHuman(c))
	}
	if err := writeRendered(c, r, func(w io.Writer) error { return report.WriteCheckHTML(w, r) },
		func(w io.Writer) error { return report.WriteCheckJUnit(w, r) }); err != nil {
		return err
	}
	if !r.Passed {
		return report.GateFailed(errors.New("the check report records a failed gate"))
	}
	return nil
}

// reportHuman is where report prints its summary and the paths it wrote.
func reportHuman(c *cli.Context) io.Writer {
	return humanOut(c, c.String("json"), c.String("html"), c.String("junit"))
}

// writeRendered writes the --json, --html and --junit reports that were
// asked for.
func writeRendered(c *cli.Context, v any, html, junit func(io.Writer) error) error {
	outs := []output{
		{flag: "json", path: c.String("json"), render: report.RenderJSON(v)},
		{flag: "html", path: c.String("html"), render: html},
		{flag: "junit", path: c.String("junit"), render: junit},
	}
	if err := writeOutputs(c, outs...); err != nil {
		return err
	}
	printOutputs(reportHuman(c), outs...)
	return nil
}

// oneLineErr keeps a usage error on one line (a JSON syntax error can
// quote a multi-line fragment).
func oneLineErr(err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
