// Command ssebench load-tests and checks Server-Sent Events endpoints.
//
// main only builds the command-line app and hands each command to the
// package that owns it; the cmd_*.go files hold one command each.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/cliargs"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// commands is filled by the init functions of the cmd_*.go files: each
// builds its command afresh, so every app (a test's runCLI, in parallel)
// has flags and commands of its own (urfave/cli writes to them while
// parsing).
var commands []func() *cli.Command

func buildCommands() []*cli.Command {
	cmds := make([]*cli.Command, len(commands))
	for i, build := range commands {
		cmds[i] = build()
		cmds[i].HideHelpCommand = true // as the app's: no shared help command
	}
	return cmds
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "ssebench",
		Usage:   "load-test and check Server-Sent Events (text/event-stream) endpoints",
		Version: version,
		Description: `ssebench opens many concurrent SSE streams and measures them, checks an
endpoint against the WHATWG event-stream rules and the proxy pitfalls that
break streams, and tells a buffering or idle-cutting proxy from the origin.

Exit codes: 0 ok, 1 a gate failed, 2 bad input or usage, 3 could not run
(e.g. target unreachable).

Examples:
   ssebench demo                                  # embedded server, a 20 s load run, the summary
   ssebench serve --addr 127.0.0.1:8080           # the reference server, for the lines below
   ssebench run --url 'http://127.0.0.1:8080/events?rate=1' --connections 500 --duration 30s
   ssebench check 'http://127.0.0.1:8080/events'  # conformance, a CI gate
   ssebench tap 'http://127.0.0.1:8080/events?rate=5'
   curl -sN http://127.0.0.1:8080/events | ssebench decode -

Run 'ssebench COMMAND --help' for a command's flags and more examples.`,
		Commands: buildCommands(),
		// 'ssebench help [COMMAND]' is answered by Action below: urfave's
		// help command is one shared value that every app would set up.
		HideHelpCommand:      true,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		// Errors come back to main; nothing inside Run calls os.Exit, so
		// deferred flushes and partial results are always written.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return report.Usage(flagError(err, nil))
		},
		// Without a command: the help; with an unknown one: one line.
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			if c.Args().First() == "help" {
				if c.NArg() == 1 {
					return cli.ShowAppHelp(c)
				}
				if c.App.Command(c.Args().Get(1)) == nil {
					return unknownCommand(c.App, c.Args().Get(1))
				}
				return cli.ShowCommandHelp(c, c.Args().Get(1))
			}
			return unknownCommand(c.App, c.Args().First())
		},
	}
	for _, cmd := range app.Commands {
		// A bad flag is one line and exit 2, not a page of help.
		cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return report.Usagef("%v (see 'ssebench %s --help')", flagError(err, cmd.Flags), cmd.Name)
		}
	}
	return app
}

// unknownCommand is the one-line error for a command that does not exist.
func unknownCommand(app *cli.App, name string) error {
	var names []string
	for _, c := range app.Commands {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	if best := scenarios.Closest(name, names); best != "" {
		return report.Usagef("unknown command %q: did you mean %q? (see 'ssebench --help')", name, best)
	}
	return report.Usagef("unknown command %q (see 'ssebench --help' for the commands)", name)
}

// parserFlag finds the flag a Go flag-package error names, written with
// one dash ("flag provided but not defined: -conections").
var parserFlag = regexp.MustCompile(`(flag provided but not defined: |flag needs an argument: |for flag )-{1,2}([^\s:=]+)`)

// flagError rewrites a flag parser error the way flags are written: two
// dashes (one for a one-letter name), and for an unknown flag the likely
// one it was a typo of among flags.
func flagError(err error, flags []cli.Flag) error {
	msg := err.Error()
	m := parserFlag.FindStringSubmatch(msg)
	if m == nil {
		return err
	}
	name := m[2]
	if m[1] == "flag provided but not defined: " {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		if best := scenarios.Closest(name, names); best != "" {
			return fmt.Errorf("unknown flag %s: did you mean %s?", dashed(name), dashed(best))
		}
		return fmt.Errorf("unknown flag %s", dashed(name))
	}
	return errors.New(strings.Replace(msg, m[0], m[1]+dashed(name), 1))
}

// dashed writes a flag name as it is typed: --name, or -H for one letter.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// startProfiles writes CPU and heap profiles when SSEBENCH_CPUPROFILE or
// SSEBENCH_MEMPROFILE name files: a way to see what the generator itself
// costs. The returned function finishes them.
func startProfiles(stderr io.Writer) func() {
	var done []func()
	if path := os.Getenv("SSEBENCH_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err != nil {
			fmt.Fprintf(stderr, "ssebench: SSEBENCH_CPUPROFILE: %v\n", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "ssebench: SSEBENCH_CPUPROFILE: %v\n", err)
			f.Close()
		} else {
			done = append(done, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv("SSEBENCH_MEMPROFILE"); path != "" {
		done = append(done, func() {
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintf(stderr, "ssebench: SSEBENCH_MEMPROFILE: %v\n", err)
				return
			}
			defer f.Close()
			pprof.Lookup("heap").WriteTo(f, 0)
		})
	}
	return func() {
		for _, f := range done {
			f()
		}
	}
}

// runApp runs a command line: its flags are read wherever they stand
// (cliargs.Order), then the app parses and runs it.
func runApp(ctx context.Context, app *cli.App, args []string) error {
	return app.RunContext(ctx, cliargs.OrderApp(app, args))
}

// run executes the app and maps its error to an exit code.
func run(args []string, stdout, stderr io.Writer) int {
	// The first SIGINT or SIGTERM stops the command (it still writes what
	// it measured); which one it was is the exit code: 130 or 143, 128 +
	// the signal, as shells report a process killed by it.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var got atomic.Value // the first signal
	go func() {
		select {
		case sig := <-sigs:
			got.Store(sig)
			cancel(fmt.Errorf("%v", sig))
		case <-ctx.Done():
			return // a normal return: nothing to watch
		}
		// A second signal exits at once.
		sig := <-sigs
		fmt.Fprintln(stderr, "ssebench: interrupted twice, exiting now")
		os.Exit(signalExit(sig))
	}()
	stopProfiles := startProfiles(stderr)
	err := runApp(ctx, newApp(stdout, stderr), args)
	stopProfiles()
	var ee *report.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.Err != nil) {
		fmt.Fprintf(stderr, "ssebench: %v\n", err)
	}
	code := report.ExitCode(err)
	if sig, ok := got.Load().(os.Signal); ok && code == report.ExitInterrupted {
		code = signalExit(sig)
	}
	return code
}

// signalExit is the exit code of a command stopped by sig.
func signalExit(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return report.ExitTerminated
	}
	return report.ExitInterrupted
}

// output is one report a command writes: the flag that names it, the path
// given ("-" for stdout, "" for none) and how to render it. Every report
// of every command is written by writeOutputs, through report.WriteOutput
// (a file atomically, or stdout).
type output struct {
	flag, path string
	render     func(io.Writer) error
	label      string // printed before the path; "" for the flag's name
}

// checkOutputs refuses two reports on stdout: call it before any work.
func checkOutputs(c *cli.Context, flags ...string) error {
	var std []string
	for _, f := range flags {
		if c.String(f) == "-" {
			std = append(std, "--"+f)
		}
	}
	if len(std) > 1 {
		return report.Usagef("%s: only one report can go to stdout ('-')", strings.Join(std, " and "))
	}
	return nil
}

// humanOut is where a command prints for people (summary, table, the
// paths it wrote): stdout, or stderr when one of its reports goes to
// stdout ("-"), so stdout holds that report alone.
func humanOut(c *cli.Context, paths ...string) io.Writer {
	if slices.Contains(paths, "-") {
		return c.App.ErrWriter
	}
	return c.App.Writer
}

// writeOutputs writes the reports that have a path.
func writeOutputs(c *cli.Context, outs ...output) error {
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		if err := report.WriteOutput(c.App.Writer, o.path, o.render); err != nil {
			return report.CannotRun(fmt.Errorf("--%s %s: %w", o.flag, o.path, err))
		}
	}
	return nil
}

// printOutputs says where the report files went ("html:   r.html").
func printOutputs(w io.Writer, outs ...output) {
	for _, o := range outs {
		if o.path == "" || o.path == "-" {
			continue
		}
		label := o.label
		if label == "" {
			label = o.flag
		}
		fmt.Fprintf(w, "%-7s %s\n", label+":", o.path)
	}
}
