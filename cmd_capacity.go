package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/capacity"
	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/observe"
	"github.com/ssebench/ssebench/progress"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// capacityScenarioCategories are the scenario flags capacity takes: what
// to connect to, how streams behave, and the search itself (with --ramp:
// the scenario flags of mode capacity, one definition for both commands).
// The gates are its own (--slo).
var capacityScenarioCategories = []string{"Target", "Stream behaviour", "Publisher", "Capacity mode (--mode capacity)"}

func init() {
	commands = append(commands, func() *cli.Command {
		limit := capacity.MaxStreams(nil)
		var flags []cli.Flag
		for _, f := range scenarios.Flags() {
			if !capacityPassThrough(f) {
				continue
			}
			// Shown as this command's own: no "mode capacity" heading, and
			// the defaults of this machine.
			if sf, ok := f.(*cli.StringFlag); ok && (sf.Category == "Capacity mode (--mode capacity)" || sf.Name == "ramp") {
				sf.Category = ""
				switch sf.Name {
				case "ramp":
					sf.Usage = "open each step's new streams over `DURATION`, not judged (whole seconds)"
					sf.Value = scenarios.Duration(scenarios.DefaultCapacityRamp).String()
				case "max":
					sf.Usage = "last step, `N` streams: stop here if every SLO still holds (at most what one process holds: its open-file limit)"
					sf.Value = strconv.Itoa(limit)
				}
			}
			flags = append(flags, f)
		}
		flags = append(flags,
			&cli.StringFlag{Name: "scenario", Usage: "read target, headers, timeouts, stream behaviour and the capacity block from scenario `FILE` (flags override it; the load shape of a file of another mode is ignored; its thresholds are the SLOs unless --slo is given)"},
			&cli.StringSliceFlag{Name: "slo", Usage: "SLO `EXPR` each step must meet (repeatable, threshold grammar; default '" + strings.Join(scenarios.DefaultCapacitySLOs, "' and '") + "')"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o", "json"}, Value: "ssebench-capacity.json", Usage: "write the capacity result JSON to `FILE` ('-' for stdout; the step lines and verdict then go to stderr)"},
			&cli.StringFlag{Name: "html", DefaultText: "capacity.html; NAME.html with --out NAME.json", Usage: "write the HTML report to `FILE` ('-' for stdout; none: no HTML)"},
			&cli.StringFlag{Name: "junit", Usage: "also write JUnit XML (a testcase for the answer and one per step) to `FILE` ('-' for stdout)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress (step lines and the verdict still print)"},
			&cli.BoolFlag{Name: "force", Usage: "run even when pre-flight finds a problem"},
		)
		flags = append(flags, metricsFlags()...)
		return &cli.Command{
			Name:  "capacity",
			Usage: "find how many concurrent streams a server holds within its SLOs, and what each stream costs it",
			Description: `Raises concurrent streams in steps in one continuous run: each step opens
its new streams over --ramp, then holds them for --hold (and one second
more, so the next step's connections never fall in the measured hold) and
is judged on the SLOs over the hold alone (latencies from the histograms
of the hold; failures over the whole step, ramp included). The search stops at the
first step that breaks an SLO, or at --max; then (--refine) a second run
ramps straight to the last good step and climbs a finer staircase to the
first bad one. The answer: the most streams that met every SLO, the first
step that broke one and which SLO broke it.

A step where the generator itself was saturated (CPU at 95% or more of its
cores for most of the hold, its timer over 100ms late for most of it or
once over 1s, or saturation detected during the step) is inconclusive,
never the server's limit: give the generator more cores, keep it off the
server's cores (taskset), or run it from another machine.

Server cost: --server-pid PID (a local process, from /proc) or
--server-metrics URL (a Prometheus text endpoint) samples the server every
second; each step gets its mean memory, CPU per second and CPU per 1,000
events, and a least-squares fit across steps gives the memory per open
stream and the CPU per 1,000 events (with R²), to extrapolate from.

SLOs use the threshold grammar of 'ssebench report --help', e.g.
'delivery.p99 < 250ms', 'first_event.p99 < 1s', 'streams_failed.rate < 0.1%'.
The events must carry a send timestamp for delivery latency (the reference
server's do; see --latency-field).

Capacity runs in one process, so --max is at most what one process holds
(its open-file limit). Ctrl-C stops the search and still writes what was
measured, marked partial.

Exit codes: 0 the answer was found (a knee, or every step up to --max
held); 2 bad input; 3 no answer (the generator saturated, the target did
not answer, or nothing was measured); 130 interrupted.

Examples:
   ssebench serve &     # or your server
   ssebench capacity --url 'http://127.0.0.1:8080/events?rate=1' --slo 'delivery.p99 < 200ms' \
       --server-pid $(pgrep -n -f 'ssebench serve')
   ssebench capacity --url 'http://127.0.0.1:8080/events?rate=1' --start 500 --factor 1.5 --max 16000 \
       --hold 20s --server-metrics http://127.0.0.1:9090/metrics
   ssebench capacity --scenario scenarios/examples/serve-local.yaml --start 2000 --step 2000 --max 18000 \
       --slo 'first_event.p99 < 1s' --slo 'streams_failed.rate < 0.1%' --out cap.json --html cap.html
   ssebench capacity --scenario scenarios/examples/capacity.yaml --max 4000   # a mode: capacity file
   ssebench capacity --url 'http://127.0.0.1:8080/events?rate=1' --max 4000 --junit capacity.xml   # a CI gate
   ssebench report --html cap.html cap.json      # render a saved result again

The same search runs from a scenario with mode: capacity (its capacity:
block holds these settings, its thresholds the SLOs):
   ssebench run scenarios/examples/capacity.yaml
   ssebench run --mode capacity --url 'http://127.0.0.1:8080/events?rate=1' --start 1000 --step 1000`,
			Flags:  flags,
			Action: capacityAction,
		}
	})
}

// capacityPassThrough reports whether a scenario flag applies to capacity.
func capacityPassThrough(f cli.Flag) bool {
	name := f.Names()[0]
	if name == "ramp" {
		return true // each step's ramp in mode capacity
	}
	cf, ok := f.(cli.CategorizableFlag)
	if !ok || !slices.Contains(capacityScenarioCategories, cf.GetCategory()) {
		return false
	}
	return name != "mode"
}

func capacityAction(c *cli.Context) error {
	if err := checkOutputs(c, "out", "html", "junit"); err != nil {
		return err
	}
	if c.NArg() > 0 {
		return report.Usagef("capacity takes no arguments, got %q (a scenario file goes in --scenario)", c.Args().First())
	}
	s, err := capacityScenario(c)
	if err != nil {
		if errors.Is(err, scenarios.ErrNoTarget) {
			return report.Usagef("capacity needs --url or --scenario FILE")
		}
		return report.Usage(err)
	}
	out, html := capacityFiles(c)
	return runCapacity(c, s, capacityRun{SLOs: c.StringSlice("slo"), Out: out, HTML: html, JUnit: c.String("junit"), Quiet: c.Bool("quiet"), Force: c.Bool("force")})
}

// capacityFiles are where a capacity search writes: --out (default
// ssebench-capacity.json, also under `run`) and --html (default
// capacity.html; with --out NAME.json, NAME.html beside it, so two
// searches with their own --out do not overwrite one HTML; none: no HTML).
func capacityFiles(c *cli.Context) (out, html string) {
	out = "ssebench-capacity.json"
	if c.IsSet("out") {
		out = c.String("out")
	}
	html = c.String("html")
	switch {
	case html == "none":
		html = ""
	case c.IsSet("html"):
	case c.IsSet("out") && out != "-":
		html = strings.TrimSuffix(out, filepath.Ext(out)) + ".html"
		if html == out {
			html += ".html" // --out NAME.html: the JSON already has that name
		}
	default:
		html = filepath.Join(filepath.Dir(out), "capacity.html")
	}
	return out, html
}

// capacityRun is what a capacity search takes besides its scenario.
type capacityRun struct {
	SLOs             []string // --slo; empty: the scenario's thresholds, else the defaults
	Out, HTML, JUnit string   // HTML and JUnit "" write none
	Quiet            bool
	Force            bool
}

// runCapacity runs a mode capacity scenario (normalized): the search,
// its step lines and verdict, the JSON and HTML, and the exit code. Both
// `capacity` and `run` with mode capacity end here. The settings, their
// defaults and validation are the scenario's; capacity.Resolve adds this
// machine's limit and the default SLOs.
func runCapacity(c *cli.Context, s *scenarios.Scenario, r capacityRun) error {
	if len(r.SLOs) > 0 {
		s.Thresholds = r.SLOs
	}
	if err := capacity.Resolve(s); err != nil {
		return report.Usage(err)
	}
	cp := s.Capacity
	opt := capacity.Options{Version: version}
	switch {
	case cp.ServerPID != 0:
		o, err := observe.NewProcObserver(cp.ServerPID)
		if err != nil {
			return report.Usagef("--server-pid %d: %v", cp.ServerPID, err)
		}
		opt.Observer = o
	case cp.ServerMetrics != "":
		opt.Observer = observe.NewPromObserver(cp.ServerMetrics)
	}
	out, html := r.Out, r.HTML

	// Pre-flight on the peak the search may reach.
	peak := *s
	peak.Mode, peak.Capacity = scenarios.DefaultMode, scenarios.Capacity{}
	peak.Stages = []scenarios.Stage{{Duration: cp.Hold, Target: cp.Max}}
	peak.Profile = scenarios.ProfileCustom
	if err := loadgen.PreflightGate(c.App.ErrWriter, &peak, loadgen.Shard{}, 1, r.Force); err != nil {
		return report.Usage(err) // a plan this machine cannot run is bad input, as a bad flag is
	}

	scrub := scrubber(s.Secrets())
	w := humanOut(c, out, html, r.JUnit)
	fmt.Fprintln(w, scrub.String(report.CapacityPlan(cp.Staircase(), cp.Ramp.D(), cp.Hold.D(), s.Thresholds)))
	if opt.Observer != nil {
		fmt.Fprintf(w, "observing the server: %s\n", scrub.String(opt.Observer.Source()))
	}
	var pp *progress.Printer
	if !r.Quiet {
		pp = progress.NewPrinter(c.App.ErrWriter)
		if pp.TTY {
			opt.Progress = pp.Print
		}
	}
	opt.OnStep = func(st report.CapacityStep) {
		if pp != nil && pp.TTY {
			fmt.Fprint(c.App.ErrWriter, "\r\033[K")
		}
		fmt.Fprintln(w, scrub.String(report.StepLine(st, s.Thresholds)))
	}
	live, err := startMetrics(c, s, "")
	if err != nil {
		return err
	}
	opt.Live = live.live()
	res, err := capacity.Search(c.Context, s, opt)
	defer live.stop(c, nil, err == nil)
	if pp != nil && pp.TTY {
		fmt.Fprint(c.App.ErrWriter, "\r\033[K")
	}
	if err != nil {
		return report.Usage(scrub.Error(err))
	}
	res.Command = c.Command.Name
	scrub.CapacityResult(res)

	outs := []output{
		{flag: "out", label: "result", path: out, render: report.RenderJSON(res)},
		{flag: "html", path: html, render: func(w io.Writer) error { return report.WriteCapacityHTML(w, res) }},
		{flag: "junit", path: r.JUnit, render: func(w io.Writer) error { return report.WriteCapacityJUnit(w, res) }},
	}
	if err := writeOutputs(c, outs...); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := report.WriteCapacitySummary(w, res); err != nil {
		return report.CannotRun(err)
	}
	fmt.Fprintln(w)
	printOutputs(w, outs...)
	return capacityExit(res)
}

// capacityExit: 0 when there is an answer (report's Answered, which the
// JUnit case reads too), 3 when there is none, 130 when interrupted.
func capacityExit(res *report.CapacityResult) error {
	switch {
	case res.Partial:
		return &report.ExitError{Code: report.ExitInterrupted}
	case res.Answered():
		return nil
	}
	return report.CannotRun(fmt.Errorf("no capacity answer: %s", res.Verdict.Reason))
}

// capacityScenario builds the mode capacity scenario from the command's
// flags and --scenario FILE.
func capacityScenario(c *cli.Context) (*scenarios.Scenario, error) {
	return scenarios.CapacityFromCLI(c, c.String("scenario"))
}
