package main

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/loadgen"
	"github.com/ssebench/ssebench/metrics"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// metricsFlags are the live-metrics flags of run and capacity.
func metricsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "metrics-addr", Category: "Live metrics", Usage: "serve the run's figures live for Prometheus at http://`HOST:PORT`/metrics (e.g. :9464)"},
		&cli.StringFlag{Name: "metrics-run", Category: "Live metrics", Usage: "`NAME` of the run label on every series (default: the scenario's name, else its file's base name, else \"run\")"},
		&cli.DurationFlag{Name: "metrics-linger", Category: "Live metrics", Usage: "keep serving the final figures for `DURATION` after the run ends, so the last scrape sees them (e.g. 2× the scrape interval)"},
	}
}

// liveMetrics is a run's /metrics endpoint; the zero value (no
// --metrics-addr) does nothing.
type liveMetrics struct {
	exp    *metrics.Exporter
	srv    *metrics.Server
	linger time.Duration
}

// startMetrics starts the endpoint when --metrics-addr is given.
func startMetrics(c *cli.Context, s *scenarios.Scenario, shard string) (*liveMetrics, error) {
	addr := c.String("metrics-addr")
	if addr == "" {
		return &liveMetrics{}, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, report.Usagef("--metrics-addr %q: want HOST:PORT (e.g. :9464 or 127.0.0.1:9464)", addr)
	}
	if d := c.Duration("metrics-linger"); d < 0 {
		return nil, report.Usagef("--metrics-linger %v: want 0 or more", d)
	}
	if shard == "" {
		shard = "0/1"
	}
	l := metrics.Labels{Run: c.String("metrics-run"), Shard: shard}
	if l.Run == "" {
		l.Run = s.Name
	}
	if l.Run == "" && c.Args().Len() == 1 {
		l.Run = strings.TrimSuffix(filepath.Base(c.Args().First()), filepath.Ext(c.Args().First()))
	}
	if l.Run == "" {
		l.Run = "run"
	}
	if len(s.URLs) > 0 {
		if u, err := url.Parse(s.URLs[0]); err == nil {
			l.Target = u.Host
		}
	}
	exp := metrics.New(l, s.Mode)
	srv, err := metrics.Serve(addr, exp)
	if err != nil {
		return nil, report.Usage(err)
	}
	fmt.Fprintf(c.App.ErrWriter, "metrics: http://%s/metrics\n", srv.Addr)
	return &liveMetrics{exp: exp, srv: srv, linger: c.Duration("metrics-linger")}, nil
}

// live is the exporter's feed for loadgen.Options.Live and
// capacity.Options.Live (nil without --metrics-addr).
func (m *liveMetrics) live() func(loadgen.Progress) {
	if m.exp == nil {
		return nil
	}
	return m.exp.Update
}

// stop serves the final figures (res's, or with final the last second's)
// for --metrics-linger, then closes the endpoint.
func (m *liveMetrics) stop(c *cli.Context, res *report.Result, final bool) {
	if m.srv == nil {
		return
	}
	switch {
	case res != nil:
		m.exp.Final(res)
	case final:
		m.exp.Done()
	}
	if res != nil || final {
		if m.linger > 0 {
			select {
			case <-time.After(m.linger):
			case <-c.Context.Done():
			}
		}
	}
	m.srv.Close()
}
