package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/sse"
)

func init() {
	commands = append(commands, func() *cli.Command {
		return &cli.Command{
			Name:      "decode",
			Usage:     "decode a captured event stream into NDJSON, as a browser would dispatch it",
			ArgsUsage: "[FILE|-]",
			Description: `Reads a raw text/event-stream (a file, or standard input when FILE is - or
absent) and writes one JSON object per line, in stream order:

   {"kind":"event","type":"message","data":"hello","id":"7"}
   {"kind":"retry","ms":3000}
   {"kind":"comment","text":" keep-alive"}

"id" is the last event ID at dispatch. An event cut off by the end of the
input is dropped, as a browser drops it, and reported on stderr.

Examples:
   ssebench decode capture.txt
   curl -sN http://127.0.0.1:8080/events?count=3 | ssebench decode
   printf 'data: a\ndata: b\n\n' | ssebench decode -`,
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "max-size", Value: sse.OneStreamMaxSize, Usage: "largest line or event data accepted, `BYTES`"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() > 1 {
					return report.Usagef("decode takes one FILE (or -), got %d arguments", c.NArg())
				}
				if c.Int("max-size") <= 0 {
					return report.Usagef("--max-size must be positive, got %d", c.Int("max-size"))
				}
				var in io.Reader = os.Stdin
				if name := c.Args().First(); name != "" && name != "-" {
					f, err := os.Open(name)
					if err != nil {
						return report.Usage(err)
					}
					defer f.Close()
					in = f
				}
				err := sse.WriteNDJSON(c.App.Writer, in, sse.Config{MaxSize: c.Int("max-size")})
				switch {
				case err == nil:
					return nil
				case errors.Is(err, io.ErrUnexpectedEOF):
					fmt.Fprintln(c.App.ErrWriter, "ssebench: input ended inside an event; that event was dropped")
					return nil
				case errors.Is(err, sse.ErrTooLarge):
					return report.Usage(err)
				}
				return report.CannotRun(err)
			},
		}
	})
}
