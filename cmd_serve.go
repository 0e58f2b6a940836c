package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
)

func init() {
	commands = append(commands, func() *cli.Command {
		return &cli.Command{
			Name:  "serve",
			Usage: "run the reference SSE server (known-good origin, with fault injection)",
			Description: `Serves a correct event stream at /events, publishing at /publish, counters
at /stats and a health check at /healthz, until Ctrl-C.

GET /events query parameters: rate (events/s per stream, decimals allowed,
default 1), size (data bytes per event), count (end after N events),
heartbeat (comment interval, 0 = off), retry (ms, sent once), topic (named
channel), lastEventId (resume; the Last-Event-ID header wins), fault (see
below). Every event has "id: N" (the topic's sequence number) and data
{"seq":N,"ts":<unix ns at send>,"pad":"..."}.

POST /publish?topic=T[&event=TYPE] sends the body to every stream of T as
{"seq":N,"ts":...,"msg":"<body>"} and answers
{"topic":"T","id":N,"ts":...,"subscribers":K}.

HTTP: the plain listener speaks HTTP/1.1 and HTTP/2 in cleartext with prior
knowledge (h2c); --tls serves HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with a
self-signed ECDSA certificate for 127.0.0.1, ::1 and localhost made at start
(its SHA-256 fingerprint is printed), or --tls-cert/--tls-key. One HTTP/2
connection carries up to --h2-max-streams streams.

Scale: one process holds about as many streams as its open-file limit
(ulimit -n). --procs N runs N processes sharing the port (SO_REUSEPORT: the
kernel spreads connections by a hash of their addresses). Each topic has an
owner process that numbers its events and forwards them to the others, so
ids, history and Last-Event-ID resumption are the same on every process; a
publish to any process reaches the streams of all; /stats adds them up.

POST /v1/chat/completions imitates an OpenAI-compatible inference server
(fixtures/LLM.md): with "stream": true it answers chat.completion.chunk
events, the first {"role":"assistant","content":""}, then the tokens, the
last with finish_reason "stop" (or "length" when max_tokens cut it), a
usage chunk when stream_options.include_usage asks (or --llm-usage), then
data: [DONE]. Token i is the word "tok<i>" and a space, so counting words
counts tokens exactly. The first chunk comes --llm-ttft after the request
gets a slot, the next every tokens-per-chunk/token-rate. --llm-concurrency
limits the answers generated at once: later requests get their headers, wait
in a FIFO queue (up to --llm-queue, then 429), and the wait shows in their
time to first token, as on a busy vLLM or TGI server. Query parameters
override the answer settings per request: ttft, tokens_per_s, tokens (N or
MIN-MAX), tokens_per_chunk, usage=1. Without "stream": true the answer is
one chat.completion JSON, sent when the last chunk would have been. Bad JSON
or parameters get 400 with a one-line OpenAI-style error.

GET or POST /progress is a finite stream: --progress-steps "event: progress"
events with data {"step":i,"of":N,"pct":P}, one every --progress-interval,
then an "event: close" (--progress-end-event) with data {"status":"done"},
then the response ends. Query parameters: steps, interval, end_event.

Faults imitate real proxies and servers (fixtures/FAULTS.md): pass
?fault=a,b=v per stream, or --fault for every stream (a stream's fault=
adds to them; fault=none clears them). Known faults:
   ` + faultList() + `

Examples:
   ssebench serve
   ssebench serve --addr 127.0.0.1:9000 --heartbeat 5s --history 100000
   ssebench serve --fault buffer                   # behave like nginx with proxy_buffering on
   ssebench serve --fault cut=60s --fault idle     # like an ALB idle timeout on a quiet stream
   ssebench serve --procs 4                        # 4 processes on one port: 50,000+ streams
   ssebench serve --tls --addr 127.0.0.1:8443      # HTTPS, HTTP/2 by ALPN
   curl -sN --http2-prior-knowledge 'http://127.0.0.1:8080/events?rate=5'
   curl -skN 'https://127.0.0.1:8443/events?rate=5' # -k: the certificate is self-signed
   curl -sN 'http://127.0.0.1:8080/events?rate=5&count=10'
   curl -sN 'http://127.0.0.1:8080/events?fault=line-endings=crlf' | od -c | head
   curl -s -d 'hello' 'http://127.0.0.1:8080/publish?topic=default'
   ssebench tap 'http://127.0.0.1:8080/events?rate=5'
   ssebench serve --llm-ttft 300ms --llm-token-rate 40 --llm-tokens 50-300 --llm-concurrency 8
   curl -sN http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \
     -d '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}'
   curl -sN 'http://127.0.0.1:8080/v1/chat/completions?ttft=50ms&tokens=8&tokens_per_chunk=4' \
     -d '{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}'
   curl -sN 'http://127.0.0.1:8080/progress?steps=5&interval=200ms&end_event=done'`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "addr", Value: fixtures.DefaultAddr, Usage: "listen on `HOST:PORT`"},
				&cli.IntFlag{Name: "history", Value: fixtures.DefaultHistory, Usage: "`N` events kept per topic for Last-Event-ID resumption"},
				&cli.Int64Flag{Name: "history-bytes", Value: fixtures.DefaultHistoryBytes, Usage: "`BYTES` kept per topic for resumption (the oldest go first)"},
				&cli.IntFlag{Name: "queue", Value: fixtures.DefaultQueue, Usage: "`N` events queued per stream before it is dropped as a slow client"},
				&cli.StringSliceFlag{Name: "fault", Usage: "fault applied to every stream, `NAME` or NAME=VALUE (repeatable)"},
				&cli.DurationFlag{Name: "heartbeat", Value: fixtures.DefaultHeartbeat, Usage: "comment every `DURATION` on streams without ?heartbeat= (0 = none)"},
				&cli.Float64Flag{Name: "max-rate", Value: fixtures.DefaultMaxRate, Usage: "highest ?rate= accepted, a `RATE` (events/s per stream)"},
				&cli.IntFlag{Name: "max-size", Value: fixtures.DefaultMaxSize, Usage: "highest ?size= accepted, `BYTES`"},
				&cli.Int64Flag{Name: "max-publish", Value: fixtures.DefaultMaxPublish, Usage: "largest POST /publish body, `BYTES`"},
				&cli.IntFlag{Name: "max-topics", Value: fixtures.DefaultMaxTopics, Usage: "at most `N` topics; streams on new ones get 503 past it"},
				&cli.IntFlag{Name: "procs", Value: 1, Usage: "`N` processes sharing the port (SO_REUSEPORT); each holds up to its open-file limit of streams"},
				&cli.BoolFlag{Name: "tls", Usage: "serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with a self-signed certificate made at start"},
				&cli.StringFlag{Name: "tls-cert", Usage: "PEM certificate `FILE` for --tls instead of a self-signed one (needs --tls-key)"},
				&cli.StringFlag{Name: "tls-key", Usage: "PEM private key `FILE` for --tls-cert"},
				&cli.IntFlag{Name: "h2-max-streams", Value: fixtures.DefaultH2MaxStreams, Usage: "at most `N` concurrent streams on one HTTP/2 connection"},
				&cli.IntFlag{Name: "max-streams", Usage: "at most `N` /events streams open at once; more get 503 with Retry-After (0 = no cap): a knee for capacity tests"},
				&cli.DurationFlag{Name: "event-cost", Usage: "`DURATION` the fan-out spends (asleep) per stream per event, so delivery latency grows with streams: a knee for capacity tests"},
				&cli.DurationFlag{Name: "llm-ttft", Value: fixtures.DefaultLLMTTFT, Usage: "chat completions: time to first token, a `DURATION` counted from getting a slot (0 = none)"},
				&cli.Float64Flag{Name: "llm-token-rate", Value: fixtures.DefaultLLMTokenRate, Usage: "chat completions: `RATE` of tokens per second of one answer"},
				&cli.StringFlag{Name: "llm-tokens", Value: fixtures.DefaultLLMTokens, Usage: "chat completions: answer length in tokens, `N` or MIN-MAX (uniform); max_tokens caps it"},
				&cli.IntFlag{Name: "llm-tokens-per-chunk", Value: fixtures.DefaultLLMTokensPerChunk, Usage: "chat completions: `N` tokens per chunk (event)"},
				&cli.IntFlag{Name: "llm-concurrency", Usage: "chat completions: `N` answers generated at once, per process; later requests queue and their TTFT grows (0 = no limit)"},
				&cli.IntFlag{Name: "llm-queue", Value: fixtures.DefaultLLMQueue, Usage: "chat completions: `N` requests waiting for a slot before 429 (0 = none wait)"},
				&cli.BoolFlag{Name: "llm-usage", Usage: "chat completions: end every stream with a usage chunk, not only when stream_options.include_usage asks"},
				&cli.IntFlag{Name: "progress-steps", Value: fixtures.DefaultProgressSteps, Usage: "/progress: `N` progress events before the end event"},
				&cli.DurationFlag{Name: "progress-interval", Value: fixtures.DefaultProgressInterval, Usage: "/progress: `DURATION` between progress events"},
				&cli.StringFlag{Name: "progress-end-event", Value: fixtures.DefaultProgressEndEvent, Usage: "/progress: `TYPE` of the final event"},
				// Set by --procs on the processes it starts.
				&cli.StringFlag{Name: "worker", Hidden: true, Usage: "run as worker I/N of a --procs group"},
				&cli.StringFlag{Name: "worker-dir", Hidden: true, Usage: "the --procs group's control directory"},
				&cli.StringFlag{Name: "worker-config", Hidden: true, Usage: "the --procs group's server config, a JSON `FILE`"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return report.Usagef("serve takes no arguments, got %q", c.Args().First())
				}
				if w := c.String("worker"); w != "" {
					return serveWorker(c, w)
				}
				cfg, err := fixtures.Config{
					Addr:         c.String("addr"),
					History:      c.Int("history"),
					HistoryBytes: c.Int64("history-bytes"),
					Queue:        c.Int("queue"),
					Faults:       c.StringSlice("fault"),
					Heartbeat:    c.Duration("heartbeat"),
					MaxRate:      c.Float64("max-rate"),
					MaxSize:      c.Int("max-size"),
					MaxPublish:   c.Int64("max-publish"),
					MaxTopics:    c.Int("max-topics"),
					TLS:          c.Bool("tls"),
					TLSCertFile:  c.String("tls-cert"),
					TLSKeyFile:   c.String("tls-key"),
					H2MaxStreams: c.Int("h2-max-streams"),
					MaxStreams:   c.Int("max-streams"),
					EventCost:    c.Duration("event-cost"),
					LLM: fixtures.LLMConfig{
						TTFT:           c.Duration("llm-ttft"),
						TokenRate:      c.Float64("llm-token-rate"),
						Tokens:         c.String("llm-tokens"),
						TokensPerChunk: c.Int("llm-tokens-per-chunk"),
						Concurrency:    c.Int("llm-concurrency"),
						Queue:          c.Int("llm-queue"),
						Usage:          c.Bool("llm-usage"),
					},
					Progress: fixtures.ProgressConfig{
						Steps:    c.Int("progress-steps"),
						Interval: c.Duration("progress-interval"),
						EndEvent: c.String("progress-end-event"),
					},
				}.FromFlags()
				if err != nil {
					return report.Usage(err)
				}
				if procs := c.Int("procs"); procs < 1 || procs > fixtures.MaxProcs {
					return report.Usagef("--procs %d: want a number of processes from 1 to %d", procs, fixtures.MaxProcs)
				}
				if err := cfg.Validate(); err != nil {
					return report.Usagef("serve: %v", err)
				}
				if procs := c.Int("procs"); procs > 1 {
					return serveProcs(c, cfg, procs)
				}
				var srv *fixtures.Server
				cfg.Ready = func(addr net.Addr) {
					printServeBanner(c, scheme(cfg)+addr.String(), srv.TLSFingerprint(), "")
				}
				srv, err = fixtures.New(cfg)
				if err != nil {
					return report.Usagef("serve: %v", err)
				}
				defer srv.Close()
				err = srv.ListenAndServe(c.Context)
				var opErr *net.OpError
				if errors.As(err, &opErr) && opErr.Op == "listen" {
					return report.CannotRun(fmt.Errorf("serve: %w", err))
				}
				if err != nil {
					return report.CannotRun(err)
				}
				st := srv.Stats()
				fmt.Fprintf(c.App.ErrWriter, "ssebench serve: stopped after %d streams, %d events, %d bytes written, %d slow clients dropped\n",
					st.StreamsTotal, st.EventsWritten, st.BytesWritten, st.SlowDropped)
				return nil
			},
		}
	})
}

func scheme(cfg fixtures.Config) string {
	if cfg.TLS || cfg.TLSCertFile != "" {
		return "https://"
	}
	return "http://"
}

// serveProcs supervises a --procs group of this program's own processes.
func serveProcs(c *cli.Context, cfg fixtures.Config, procs int) error {
	exe, err := os.Executable()
	if err != nil {
		return report.CannotRun(fmt.Errorf("serve --procs: finding this program to start workers: %w", err))
	}
	err = fixtures.Supervise(c.Context, cfg, fixtures.SupervisorConfig{
		Procs: procs,
		Command: func(w fixtures.WorkerSpec) (*exec.Cmd, error) {
			cmd := exec.Command(exe, "serve", fmt.Sprintf("--worker=%d/%d", w.Index, w.Procs),
				"--worker-dir="+w.Dir, "--worker-config="+w.ConfigFile)
			cmd.Stderr = c.App.ErrWriter
			return cmd, nil
		},
		Ready: func(g fixtures.GroupInfo) {
			pids := make([]string, len(g.PIDs))
			for i, p := range g.PIDs {
				pids[i] = strconv.Itoa(p)
			}
			printServeBanner(c, scheme(cfg)+g.Addr.String(), g.TLSFingerprint,
				fmt.Sprintf("%d processes sharing the port (SO_REUSEPORT), pids %s", procs, strings.Join(pids, " ")))
		},
		Log: c.App.ErrWriter,
	})
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr) && opErr.Op == "listen":
		return report.CannotRun(fmt.Errorf("serve: %w", err))
	case err != nil:
		return report.CannotRun(fmt.Errorf("serve --procs %d: %w", procs, err))
	}
	fmt.Fprintf(c.App.ErrWriter, "ssebench serve: stopped %d processes\n", procs)
	return nil
}

// serveWorker runs this process as one worker of a --procs group, with
// the config its supervisor wrote: its stdin and stdout are pipes to the
// supervisor.
func serveWorker(c *cli.Context, spec string) error {
	var w fixtures.WorkerConfig
	if _, err := fmt.Sscanf(spec, "%d/%d", &w.Index, &w.Procs); err != nil {
		return report.Usagef("--worker %q: want INDEX/PROCS", spec)
	}
	cfg, err := fixtures.ReadConfigFile(c.String("worker-config"))
	if err != nil {
		return report.Usage(err)
	}
	w.Dir, w.Parent, w.Notify = c.String("worker-dir"), os.Stdin, os.Stdout
	if err := fixtures.ServeWorker(c.Context, cfg, w); err != nil {
		return report.CannotRun(err)
	}
	return nil
}

func printServeBanner(c *cli.Context, base, fingerprint, procs string) {
	w := c.App.ErrWriter
	fmt.Fprintf(w, "ssebench serve: listening on %s (Ctrl-C to stop)\n", base)
	if procs != "" {
		fmt.Fprintf(w, "  %s\n", procs)
	}
	if fingerprint != "" {
		fmt.Fprintf(w, "  TLS certificate SHA-256 fingerprint %s\n", fingerprint)
	}
	if faults := c.StringSlice("fault"); len(faults) > 0 {
		fmt.Fprintf(w, "  faults on every stream: %s\n", strings.Join(faults, ","))
	}
	hb := c.Duration("heartbeat")
	hbText := hb.String()
	if hb == 0 {
		hbText = "off"
	}
	fmt.Fprintf(w, "  history %d events per topic, queue %d per stream, heartbeat %s\n", c.Int("history"), c.Int("queue"), hbText)
	curl := "curl"
	if strings.HasPrefix(base, "https:") {
		curl = "curl -k" // self-signed
	}
	fmt.Fprintf(w, "try:\n")
	fmt.Fprintf(w, "  ssebench tap '%s/events?rate=5'\n", base)
	fmt.Fprintf(w, "  %s -sN '%s/events?rate=2&count=5'\n", curl, base)
	fmt.Fprintf(w, "  %s -s -d 'hello' '%s/publish?topic=default'\n", curl, base)
	fmt.Fprintf(w, "  %s -sN '%s/events?fault=buffer'     # faults: %s/\n", curl, base, base)
	fmt.Fprintf(w, "  %s -sN %s/v1/chat/completions -d '{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'\n", curl, base)
	fmt.Fprintf(w, "  %s -sN '%s/progress?steps=5'\n", curl, base)
	fmt.Fprintf(w, "  %s -s %s/stats\n", curl, base)
}

// faultList is the known faults with their values, for the help text.
func faultList() string {
	var names []string
	for _, f := range fixtures.Faults {
		names = append(names, f.Name+f.Value)
	}
	var b strings.Builder
	line := 0
	for i, n := range names {
		switch {
		case i == 0:
		case line+2+len(n) > 72:
			b.WriteString(",\n   ")
			line = 0
		default:
			b.WriteString(", ")
			line += 2
		}
		b.WriteString(n)
		line += len(n)
	}
	return b.String()
}
