package main

import (
	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/conformance"
	"github.com/ssebench/ssebench/report"
)

func init() {
	commands = append(commands, func() *cli.Command {
		return &cli.Command{
			Name:  "diagnose",
			Usage: "find what a proxy or load balancer does to a stream: compare it direct and through the proxy",
			Description: `Runs the streaming probes on the same stream straight from the origin and
through the proxy, at the same time, and attributes each difference to the
proxy: buffering, compression, rewritten headers, idle cuts and lifetime
caps. Each finding names the likely setting (e.g. nginx proxy_buffering,
proxy_read_timeout) and prints a fix snippet for nginx and others.

--hold holds streams open through both (a silent one and, against ssebench's
reference server, one kept alive by heartbeats) to see which cut comes from
the proxy and whether heartbeats avoid it.

Exit codes: 0 the stream through the proxy passes every error-severity
check, 1 it does not, 2 bad usage, 3 origin or proxy unreachable.

Examples:
   # From the repository: serve on :8080 as the origin, and in front of it on
   # :8081 the buffering nginx of fixtures/proxies/conf/nginx (correct.conf is the fix)
   ssebench serve &
   mkdir -p /tmp/ssebench-nginx
   nginx -p /tmp/ssebench-nginx -e stderr -c "$PWD/fixtures/proxies/conf/nginx/buffered.conf" &
   ssebench diagnose --origin http://127.0.0.1:8080/events --via http://127.0.0.1:8081/events
   ssebench diagnose --hold 2m --origin http://10.0.0.5:8080/stream --via https://api.example.com/stream -H 'Authorization: Bearer ${TOKEN}'
   ssebench diagnose --json diag.json --html diag.html --origin URL --via URL`,
			Flags: append(probeFlags(),
				// Required, but checked in the action: urfave/cli answers a
				// missing required flag with the whole help page.
				&cli.StringFlag{Name: "origin", Usage: "the stream straight from the origin (`URL`; required)"},
				&cli.StringFlag{Name: "via", Usage: "the same stream through the proxy (`URL`; required)"},
				&cli.StringFlag{Name: "publish", Usage: "`URL` to POST to so the stream emits an event (for quiet streams)"},
			),
			Action: func(c *cli.Context) error {
				if err := checkOutputs(c, "json", "junit", "html"); err != nil {
					return err
				}
				if c.NArg() > 0 {
					return report.Usagef("diagnose takes no arguments (use --origin and --via), got %q", c.Args().First())
				}
				for _, name := range []string{"origin", "via"} {
					if !c.IsSet(name) {
						return report.Usagef("--%s is required: diagnose compares the stream from the origin (--origin URL) with the same stream through the proxy (--via URL)", name)
					}
				}
				origin, err := streamURL("--origin", c.String("origin"))
				if err != nil {
					return report.Usage(err)
				}
				via, err := streamURL("--via", c.String("via"))
				if err != nil {
					return report.Usage(err)
				}
				o, err := readProbeFlags(c)
				if err != nil {
					return report.Usage(err)
				}
				rep, err := conformance.Diagnose(c.Context, conformance.DiagnoseConfig{
					Origin: origin, Via: via, Method: o.method, Body: o.body, Header: o.header,
					Publish: c.String("publish"), Insecure: o.insecure, Hold: o.hold, Window: o.window, MaxSize: o.maxSize,
				})
				return finishCheck(c, rep, err)
			},
		}
	})
}
