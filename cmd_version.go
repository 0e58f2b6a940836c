package main

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/report"
)

func init() {
	commands = append(commands, func() *cli.Command {
		return &cli.Command{
			Name:  "version",
			Usage: "print the version of ssebench (also: ssebench --version)",
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return report.Usagef("version takes no arguments, got %q", c.Args().First())
				}
				fmt.Fprintf(c.App.Writer, "ssebench %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return nil
			},
		}
	})
}
