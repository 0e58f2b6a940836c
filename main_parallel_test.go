package main

import (
	"flag"
	"os"
	"testing"

	"github.com/urfave/cli/v2"
)

// copyOnApply is a shared bool flag applied through a copy of itself.
type copyOnApply struct{ *cli.BoolFlag }

func (f copyOnApply) Apply(set *flag.FlagSet) error {
	c := *f.BoolFlag
	return c.Apply(set)
}

// TestMain raises -parallel (default: GOMAXPROCS, 2 here) to 8 with
// -short (the fast tier) unless it was given; the full suite keeps go
// test's default. This package's parallel tests each wait on a short real
// run (a second or two of loopback streams) and check outputs, not
// figures; the figure tests (truth, capacity, demo) are not parallel and
// run on their own, before them.
func TestMain(m *testing.M) {
	// urfave/cli's --help and --version flags are package globals that
	// every app applies (writing their default into them): with apps
	// running side by side in one process, as here, each applies a copy.
	cli.HelpFlag = copyOnApply{cli.HelpFlag.(*cli.BoolFlag)}
	cli.VersionFlag = copyOnApply{cli.VersionFlag.(*cli.BoolFlag)}
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if testing.Short() && !given {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
