// Command figures prints the generator-efficiency figures of ssebench
// result files, one line each: streams held, generator memory in total and
// per stream, CPU per million events, p99 delivery, saturation.
//
//	go run ./bench/figures result.json...
package main

import (
	"fmt"
	"os"

	"github.com/ssebench/ssebench/report"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: figures RESULT.json...")
		os.Exit(2)
	}
	fmt.Printf("%-28s %9s %9s %10s %9s %12s %9s %12s %s\n", "result", "target", "held", "events", "gen RSS", "RSS/stream", "CPU s", "CPU s/Mev", "p99 delivery / saturated")
	for _, path := range os.Args[1:] {
		r, err := report.ReadResult(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var held, target int64
		for _, p := range r.Timeseries {
			held = max(held, p.Open)
			target = max(target, p.Target)
		}
		g := r.Generator
		perStream := 0.0
		if held > 0 {
			perStream = float64(g.PeakRSSBytes-g.BaselineRSSBytes) / float64(held) / 1024
		}
		perM := 0.0
		if r.Counters.Events > 0 {
			perM = g.CPUSeconds / float64(r.Counters.Events) * 1e6
		}
		sat := "no"
		if g.Saturated {
			sat = "YES: " + g.SaturatedReason
		}
		fmt.Printf("%-28s %9d %9d %10d %8.0fM %9.1f KB %9.1f %12.2f %.1f ms / %s\n", path, target, held, r.Counters.Events,
			float64(g.PeakRSSBytes)/(1<<20), perStream, g.CPUSeconds, perM, r.Metrics["delivery"].P99MS, sat)
	}
}
