package main

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises -parallel (default: GOMAXPROCS, 2 here) to 8 with
// -short (the fast tier) unless it was given; the full suite keeps go
// test's default. This package's parallel tests each wait on a short real
// run (a second or two of loopback streams) and check outputs, not
// figures; the figure tests (truth, capacity, demo) are not parallel and
// run on their own, before them.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if testing.Short() && !given {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
