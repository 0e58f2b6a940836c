package loadgen

import (
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/scenarios"
)

func TestPreflight(t *testing.T) {
	t.Parallel()
	sys := System{StreamsPerProcess: 19000, PortLow: 32768, PortHigh: 60999, Somaxconn: 4096, MemAvailable: 24 << 30}
	cases := []struct {
		name  string
		n     int
		procs int
		edit  func(*scenarios.Scenario)
		want  []string // substrings of the issues, in order; nil: none
	}{
		{name: "fits", n: 10000, procs: 1},
		{name: "too many per process", n: 50000, procs: 1,
			want: []string{"problem: 50000 connections in 1 process(es)", "use --procs 3"}},
		{name: "procs fix it", n: 50000, procs: 3},
		{name: "ports per source", n: 90000, procs: 5, edit: func(s *scenarios.Scenario) { s.SourceAddrs = []string{"127.0.0.1-127.0.0.2"} },
			want: []string{"45000 connections per source address and target exceed the 28232 ephemeral ports", "--source-addrs 127.0.0.1-127.0.0.4"}},
		{name: "auto pool covers ports", n: 90000, procs: 5},
		{name: "h2 needs fewer sockets", n: 200000, procs: 1, edit: func(s *scenarios.Scenario) { s.HTTP2 = true; s.StreamsPerConn = 100 }},
		{name: "burst over somaxconn", n: 10000, procs: 1, edit: func(s *scenarios.Scenario) { s.Ramp = scenarios.Duration(time.Second) },
			want: []string{"warning: up to 10000 connection attempts per second", "net.core.somaxconn=4096"}},
		{name: "arrival cap tames the burst", n: 10000, procs: 1, edit: func(s *scenarios.Scenario) {
			s.Ramp = scenarios.Duration(time.Second)
			s.ArrivalRate = 2000
		}},
		{name: "memory", n: 700000, procs: 40, want: []string{"problem: 700000 streams need about 27343 MiB"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &scenarios.Scenario{URLs: []string{"http://127.0.0.1:8080/events"}, Connections: tc.n,
				Ramp: scenarios.Duration(30 * time.Second), Duration: scenarios.Duration(time.Minute)}
			if tc.edit != nil {
				tc.edit(s)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			s.Normalize()
			issues := Preflight(s, Shard{}, tc.procs, sys)
			var text []string
			for _, i := range issues {
				text = append(text, i.String())
			}
			all := strings.Join(text, "\n")
			if len(tc.want) == 0 && len(issues) > 0 {
				t.Fatalf("unexpected issues:\n%s", all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Fatalf("issues lack %q:\n%s", w, all)
				}
			}
		})
	}
}
