package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/report"
)

// The worker side of `run --procs`: runs one shard and streams its
// snapshots to the parent on stdout.
func init() {
	commands = append(commands, func() *cli.Command {
		return &cli.Command{
			Name:      loadgen.WorkerCommand,
			Hidden:    true,
			Usage:     "run one shard for a parent 'ssebench run --procs' (internal)",
			ArgsUsage: "SCENARIO.json i/n",
			Action: func(c *cli.Context) error {
				if c.NArg() != 2 {
					return report.Usagef("%s takes SCENARIO.json and i/n", loadgen.WorkerCommand)
				}
				s, err := loadgen.ReadWorkerScenario(c.Args().Get(0))
				if err != nil {
					return report.Usage(err)
				}
				sh, err := loadgen.ParseShard(c.Args().Get(1))
				if err != nil {
					return report.Usage(err)
				}
				res, err := loadgen.Run(c.Context, s, loadgen.Options{Version: version, Shard: sh, Snapshots: os.Stdout})
				if err != nil {
					return report.Usage(err)
				}
				if res.Partial {
					return &report.ExitError{Code: report.ExitInterrupted}
				}
				return nil
			},
		}
	})
}
