package conformance

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises -parallel (default: GOMAXPROCS, 2 here) to 8 with
// -short (the fast tier) unless it was given; the full suite (with -race,
// several times slower) keeps go test's default. Every test here is
// parallel and mostly waits: on a server's timed events, a timeout to
// pass, or a probe window of a second or more.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if testing.Short() && !given {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
