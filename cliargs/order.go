// Package cliargs owns where flags may stand on a command line: anywhere.
// urfave/cli v2 (like Go's flag package) stops reading flags at the first
// argument, so `ssebench check URL --json out.json` would leave --json
// unread; Order moves a command's flags in front of its arguments before
// the parser sees them. It is the only place that reorders arguments.
package cliargs

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// OptionalValue is a flag whose value may be left out. Order writes such
// a flag as --name=NoValue() unless the argument after it is its value
// (IsValue): tap's --json, a file name today and a bool before, so both
// `--json out.ndjson` and `--json URL` read as meant.
type OptionalValue interface {
	NoValue() string
	IsValue(next string) bool
}

// valueTaker is the part of a cli.Flag that says whether it reads the
// next argument as its value (every flag type of urfave/cli v2 has it).
type valueTaker interface{ TakesValue() bool }

// Order returns a command's arguments (those after its name) with every
// flag, and the value of each flag that takes one, moved before the
// positional arguments, all in their original order. The positional
// arguments follow a "--", so one that starts with a dash stays an
// argument. A "--" in args ends the flags: everything after it is an
// argument. flags says which names take a value ("--json out.json") and
// which do not ("--reconnect URL"); --help and -h never do. An unknown
// flag stays a flag (the parser then names it) and takes no value. Each
// known flag is written in its first name (-H becomes --header). A flag's
// value is taken as given, even when it starts with a dash ("--json -"),
// as the parser does.
func Order(flags []cli.Flag, args []string) []string {
	type known struct {
		primary  string
		takes    bool
		optional OptionalValue
	}
	byName := map[string]known{"help": {primary: "help"}, "h": {primary: "help"}}
	for _, f := range flags {
		k := known{primary: f.Names()[0], takes: true}
		if vt, ok := f.(valueTaker); ok {
			k.takes = vt.TakesValue()
		}
		k.optional, _ = f.(OptionalValue)
		for _, n := range f.Names() {
			byName[n] = k
		}
	}

	var opts, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		k, ok := byName[name]
		if !ok {
			opts = append(opts, a) // unknown: the parser names it
			continue
		}
		// One spelling per flag: urfave/cli v2 refuses a line that uses
		// two forms of one flag (-H and --header).
		flag := "--" + k.primary
		switch {
		case hasVal:
			opts = append(opts, flag+"="+val)
		case !k.takes:
			opts = append(opts, flag)
		case k.optional != nil && (i+1 >= len(args) || !k.optional.IsValue(args[i+1])):
			opts = append(opts, flag+"="+k.optional.NoValue())
		case i+1 < len(args):
			i++
			opts = append(opts, flag, args[i])
		default:
			// A value flag with nothing after it: it goes last, so the
			// parser says it needs an argument rather than reading "--".
			return append(opts, flag)
		}
	}
	if len(pos) == 0 {
		return opts
	}
	return append(append(opts, "--"), pos...)
}

// OrderApp is Order for a whole command line (program name first): the
// flags of the command it names are moved before that command's
// arguments. A line that names no command of app, or that asks for shell
// completion (whose flag must stay last), is returned as it is.
func OrderApp(app *cli.App, args []string) []string {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args
	}
	at := 1
	for at < len(args) && strings.HasPrefix(args[at], "-") && args[at] != "--" {
		at++ // the app's own flags: --help, --version
	}
	if at >= len(args) {
		return args
	}
	cmd := app.Command(args[at])
	if cmd == nil || cmd.SkipFlagParsing || hasSubcommands(cmd) {
		return args
	}
	out := append([]string(nil), args[:at+1]...)
	return append(out, Order(cmd.Flags, args[at+1:])...)
}

// hasSubcommands ignores the help subcommand urfave/cli adds to every
// command it has run.
func hasSubcommands(cmd *cli.Command) bool {
	for _, sc := range cmd.Subcommands {
		if sc.Name != "help" {
			return true
		}
	}
	return false
}
