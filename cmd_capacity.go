package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// capacityScenarioCategories are the scenario flags capacity takes: what
// to connect to and how streams behave. The load shape and the gates are
// its own (the staircase and --slo).
var capacityScenarioCategories = []string{"Target", "Stream behaviour", "Publisher"}

func init() {
	var flags []cli.Flag
	for _, f := range scenarios.Flags() {
		if capacityPassThrough(f) {
			flags = append(flags, f)
		}
	}
	limit := loadgen.FDStreamsPerProcess()
	flags = append(flags,
		&cli.StringFlag{Name: "scenario", Usage: "read target, headers, timeouts and stream behaviour from scenario `FILE` (its load shape is ignored; its thresholds are the SLOs unless --slo is given)"},
		&cli.IntFlag{Name: "start", Value: loadgen.DefaultCapacityStart, Usage: "streams at the first step"},
		&cli.IntFlag{Name: "step", DefaultText: "--start", Usage: "streams added per step"},
		&cli.Float64Flag{Name: "factor", DefaultText: "off", Usage: "multiply the streams by `F` per step instead of --step (e.g. 1.5)"},
		&cli.IntFlag{Name: "max", Value: limit, Usage: "last step: stop here if every SLO still holds (at most what one process holds: its open-file limit)"},
		&cli.DurationFlag{Name: "hold", Value: loadgen.DefaultCapacityHold, Usage: "how long each step is held and judged (whole seconds)"},
		&cli.DurationFlag{Name: "ramp", Value: loadgen.DefaultCapacityRamp, Usage: "how long each step's new streams take to open, not judged (whole seconds)"},
		&cli.StringSliceFlag{Name: "slo", Usage: "SLO `EXPR` each step must meet (repeatable, threshold grammar; default '" + strings.Join(loadgen.DefaultCapacitySLOs, "' and '") + "')"},
		&cli.IntFlag{Name: "refine", Value: loadgen.DefaultCapacityRefine, Usage: "steps a second run tries between the last good and the first bad step (0: none)"},
		&cli.IntFlag{Name: "server-pid", DefaultText: "none", Usage: "observe the local server process `PID` (/proc: memory, CPU, open files, threads)"},
		&cli.StringFlag{Name: "server-metrics", Usage: "observe the server through its Prometheus text `URL` (process_resident_memory_bytes, process_cpu_seconds_total, ...)"},
		&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "ssebench-capacity.json", Usage: "write the capacity result JSON here"},
		&cli.StringFlag{Name: "html", DefaultText: "capacity.html next to --out", Usage: "write the HTML report to `FILE` (none: no HTML)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress (step lines and the verdict still print)"},
		&cli.BoolFlag{Name: "force", Usage: "run even when pre-flight finds a problem"},
	)
	commands = append(commands, &cli.Command{
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
   ssebench report --html cap.html cap.json      # render a saved result again`,
		Flags:  flags,
		Action: capacityAction,
	})
}

// capacityPassThrough reports whether a scenario flag applies to capacity.
func capacityPassThrough(f cli.Flag) bool {
	cf, ok := f.(cli.CategorizableFlag)
	if !ok || !slices.Contains(capacityScenarioCategories, cf.GetCategory()) {
		return false
	}
	return f.Names()[0] != "mode"
}

func capacityAction(c *cli.Context) error {
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
	cfg := loadgen.CapacityConfig{
		Start: c.Int("start"), Step: c.Int("step"), Factor: c.Float64("factor"), Max: c.Int("max"),
		Hold: c.Duration("hold"), Ramp: c.Duration("ramp"), Refine: c.Int("refine"),
		SLOs: c.StringSlice("slo"), Version: version,
	}
	if cfg.Step == 0 && cfg.Factor == 0 {
		cfg.Step = cfg.Start
	}
	if len(cfg.SLOs) == 0 {
		cfg.SLOs = s.Thresholds
	}
	if len(cfg.SLOs) == 0 {
		cfg.SLOs = loadgen.DefaultCapacitySLOs
	}
	if limit := loadgen.MaxCapacityStreams(s); cfg.Max > limit {
		return report.Usagef("--max %d: above what one process holds here (about %d streams, from its open-file limit); capacity runs in one process, so lower --max or raise ulimit -n", cfg.Max, limit)
	}
	if err := cfg.Validate(); err != nil {
		return report.Usage(err)
	}
	pid, metrics := c.Int("server-pid"), c.String("server-metrics")
	switch {
	case pid != 0 && metrics != "":
		return report.Usagef("--server-pid and --server-metrics: give one or the other")
	case pid != 0:
		o, err := loadgen.NewProcObserver(pid)
		if err != nil {
			return report.Usagef("--server-pid %d: %v", pid, err)
		}
		cfg.Observer, cfg.ServerPID = o, pid
	case metrics != "":
		u, err := url.Parse(metrics)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return report.Usagef("--server-metrics %q: want an http:// or https:// URL of a Prometheus text endpoint", metrics)
		}
		cfg.Observer, cfg.ServerMetrics = loadgen.NewPromObserver(metrics), redactMetricsURL(u)
	}
	out := c.String("out")
	html := c.String("html")
	switch {
	case html == "none":
		html = ""
	case !c.IsSet("html"):
		html = filepath.Join(filepath.Dir(out), "capacity.html")
	}

	// Pre-flight on the peak the search may reach.
	peak := *s
	peak.Stages = []scenarios.Stage{{Duration: scenarios.Duration(cfg.Hold), Target: cfg.Max}}
	peak.Profile = scenarios.ProfileCustom
	problem := false
	for _, is := range loadgen.Preflight(&peak, loadgen.Shard{}, 1, loadgen.ReadSystem()) {
		fmt.Fprintf(c.App.ErrWriter, "pre-flight %s\n", is)
		problem = problem || is.Problem
	}
	if problem && !c.Bool("force") {
		return report.CannotRun(errors.New("pre-flight found a problem (above); fix it or run with --force"))
	}

	scrub := scrubberFor(s)
	mscrub := report.NewScrubber(nil, map[string]string{metrics: cfg.ServerMetrics})
	stairs := cfg.Staircase()
	w := c.App.Writer
	fmt.Fprintf(w, "capacity: %d steps from %s to %s streams, each opened over %v and held %v; SLOs: %s\n",
		len(stairs), groupInt(stairs[0]), groupInt(stairs[len(stairs)-1]), cfg.Ramp, cfg.Hold, strings.Join(cfg.SLOs, "; "))
	if cfg.Observer != nil {
		fmt.Fprintf(w, "observing the server: %s\n", mscrub.String(cfg.Observer.Source()))
	}
	var pp *loadgen.ProgressPrinter
	if !c.Bool("quiet") {
		pp = loadgen.NewProgressPrinter(c.App.ErrWriter)
		if pp.TTY {
			cfg.Progress = pp.Print
		}
	}
	cfg.OnStep = func(st report.CapacityStep) {
		if pp != nil && pp.TTY {
			fmt.Fprint(c.App.ErrWriter, "\r\033[K")
		}
		fmt.Fprintln(w, scrub.String(report.StepLine(st, cfg.SLOs)))
	}
	res, err := loadgen.Capacity(c.Context, s, cfg)
	if pp != nil && pp.TTY {
		fmt.Fprint(c.App.ErrWriter, "\r\033[K")
	}
	if err != nil {
		return report.Usage(scrub.Error(err))
	}
	res.Command = c.Command.Name
	scrubCapacity(scrub, res)
	if metrics != "" {
		scrubCapacity(mscrub, res)
		if res.ServerCost != nil {
			res.ServerCost.Source = cfg.ServerMetrics
		}
	}

	if err := report.WriteJSON(out, res); err != nil {
		return report.CannotRun(fmt.Errorf("write result: %w", err))
	}
	if html != "" {
		if err := report.WriteFile(html, func(w io.Writer) error { return report.WriteCapacityHTML(w, res) }); err != nil {
			return report.CannotRun(fmt.Errorf("write HTML report: %w", err))
		}
	}
	fmt.Fprintln(w)
	if err := report.WriteCapacitySummary(w, res); err != nil {
		return report.CannotRun(err)
	}
	fmt.Fprintf(w, "\nresult: %s\n", out)
	if html != "" {
		fmt.Fprintf(w, "html:   %s\n", html)
	}
	return capacityExit(res)
}

// capacityExit: 0 when there is an answer, 3 when there is none, 130
// when interrupted.
func capacityExit(res *report.CapacityResult) error {
	v := res.Verdict
	switch {
	case res.Partial:
		return &report.ExitError{Code: report.ExitInterrupted}
	case v.Found || v.HeldMax:
		return nil
	}
	return report.CannotRun(fmt.Errorf("no capacity answer: %s", v.Reason))
}

// capacityScenario builds the base scenario from the pass-through flags
// and --scenario, with scenarios.FromCLI on a flag set of its own (the
// load shape is replaced by a placeholder stage: capacity makes its own).
func capacityScenario(c *cli.Context) (*scenarios.Scenario, error) {
	fs := flag.NewFlagSet("capacity", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sflags := scenarios.Flags()
	for _, f := range sflags {
		if err := f.Apply(fs); err != nil {
			return nil, err
		}
	}
	args := []string{"--stage=1s:1"}
	for _, f := range sflags {
		name := f.Names()[0]
		if !capacityPassThrough(f) || !c.IsSet(name) {
			continue
		}
		switch f.(type) {
		case *cli.BoolFlag:
			args = append(args, "--"+name+"="+strconv.FormatBool(c.Bool(name)))
		case *cli.StringFlag:
			args = append(args, "--"+name+"="+c.String(name))
		default:
			ser, ok := c.Generic(name).(cli.Serializer)
			if !ok {
				return nil, fmt.Errorf("--%s: cannot pass this flag on", name)
			}
			args = append(args, "--"+name+"="+ser.Serialize())
		}
	}
	if file := c.String("scenario"); file != "" {
		args = append(args, "--", file)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cc := cli.NewContext(c.App, fs, nil)
	cc.Context = c.Context
	s, err := scenarios.FromCLI(cc)
	if err != nil {
		return nil, err
	}
	if s.Mode == scenarios.ModeRequest {
		return nil, fmt.Errorf("mode request: capacity measures concurrent subscribe streams; use run for request mode")
	}
	return s, nil
}

// redactMetricsURL hides credentials in a metrics URL before it is recorded.
func redactMetricsURL(u *url.URL) string {
	v := *u
	if v.User != nil {
		v.User = url.User("[redacted]")
	}
	if v.RawQuery != "" {
		v.RawQuery = "[redacted]"
	}
	return v.String()
}

// scrubCapacity blots secrets out of every text in a capacity result that
// may echo a request or an error.
func scrubCapacity(s *report.Scrubber, r *report.CapacityResult) {
	for i := range r.Notes {
		r.Notes[i] = s.String(r.Notes[i])
	}
	r.PartialReason = s.String(r.PartialReason)
	r.Verdict.Reason = s.String(r.Verdict.Reason)
	r.Verdict.Sentence = s.String(r.Verdict.Sentence)
	for i := range r.Steps {
		r.Steps[i].Reason = s.String(r.Steps[i].Reason)
	}
	for i := range r.Runs {
		r.Runs[i].StoppedReason = s.String(r.Runs[i].StoppedReason)
	}
}

func groupInt(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
