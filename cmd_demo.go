package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ssebench/ssebench/fixtures"
	"github.com/ssebench/ssebench/report"
	"github.com/ssebench/ssebench/scenarios"
)

// demoThresholds show the gate at work; they are loose enough for a busy
// laptop, since the server and the generator share it.
var demoThresholds = []string{
	"first_event.p99 < 2s", "delivery.p99 < 1s", "streams_failed.rate < 1%", "events_lost == 0",
}

func init() {
	commands = append(commands, func() *cli.Command {
		return &cli.Command{
			Name:  "demo",
			Usage: "see ssebench work end to end: embedded server, a short load run (or an LLM run with --llm), the summary and result",
			Description: `Starts the reference server (as 'ssebench serve' would) on a free loopback
port, ramps to --connections streams (1 event/s each, with sequence
checking) over half of --duration and holds them, while a publisher sends 5
events/s to measure publish-to-delivery latency. Then prints the summary
(with a line on what each metric group and end class means), gates the run on a few thresholds (--threshold replaces them), writes the
result JSON and an HTML report (report.html next to the result, or --html),
and prints the report's absolute path to open in a browser. Nothing outside
this machine is contacted.

With --llm, the server simulates an OpenAI-compatible inference server
(POST /v1/chat/completions: --llm-ttft to the first token, then
--llm-token-rate tokens per second, --llm-tokens per answer) and the run is
in mode request: --rate chat completions per second with Poisson arrivals,
each a streamed answer timed for TTFT, ITL, TPOT and end-to-end latency,
with goodput against the ttft/tpot/e2e thresholds. The server's settings
are printed first with the figures they should produce, and again in the
final summary, so you can check the report against them. --llm-concurrency limits the answers generated
at once: the queue then shows in TTFT, as on a real inference server.

Examples:
   ssebench demo
   ssebench demo --connections 200 --duration 10s --out /tmp/demo.json
   ssebench demo --threshold 'delivery.p99 < 50ms' --html /tmp/demo.html
   ssebench demo --llm
   ssebench demo --llm --rate 10 --llm-ttft 500ms --llm-token-rate 100 --llm-tokens 32-128
   ssebench demo --llm --rate 8 --llm-concurrency 4   # queueing shows in TTFT`,
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "connections", Value: 1000, Usage: "`N` streams to ramp to"},
				&cli.DurationFlag{Name: "duration", Value: 20 * time.Second, Usage: "`DURATION` of the whole run (ramp is half of it)"},
				&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "ssebench-result.json", Usage: "write the result JSON to `FILE`"},
				&cli.StringFlag{Name: "html", Usage: "write the HTML report to `FILE` (default: report.html next to --out)"},
				&cli.StringFlag{Name: "junit", Usage: "also write JUnit XML to `FILE`"},
				&cli.StringSliceFlag{Name: "threshold", Value: cli.NewStringSlice(demoThresholds...),
					Usage: "pass/fail condition `EXPR` (repeatable; replaces the defaults)"},
				&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress"},
				&cli.BoolFlag{Name: "llm", Usage: "demo mode request against a simulated OpenAI-compatible chat completions endpoint"},
				&cli.Float64Flag{Name: "rate", Value: 5, Usage: "with --llm: `RATE` chat completions per second (Poisson arrivals)"},
				&cli.DurationFlag{Name: "llm-ttft", Value: fixtures.DefaultLLMTTFT, Usage: "with --llm: the server's time to first token, a `DURATION`"},
				&cli.Float64Flag{Name: "llm-token-rate", Value: fixtures.DefaultLLMTokenRate, Usage: "with --llm: the server's `RATE` of tokens per second of one answer"},
				&cli.StringFlag{Name: "llm-tokens", Value: fixtures.DefaultLLMTokens, Usage: "with --llm: answer length in tokens, `N` or MIN-MAX (uniform)"},
				&cli.IntFlag{Name: "llm-tokens-per-chunk", Value: fixtures.DefaultLLMTokensPerChunk, Usage: "with --llm: `N` tokens per chunk (event)"},
				&cli.IntFlag{Name: "llm-concurrency", Usage: "with --llm: `N` answers the server generates at once; later requests queue (0 = no limit)"},
			},
			Action: func(c *cli.Context) error {
				if c.Bool("llm") {
					return demoLLM(c)
				}
				for _, f := range []string{"rate", "llm-ttft", "llm-token-rate", "llm-tokens", "llm-tokens-per-chunk", "llm-concurrency"} {
					if c.IsSet(f) {
						return report.Usagef("--%s only applies with --llm", f)
					}
				}
				n, d := c.Int("connections"), c.Duration("duration")
				if n <= 0 || n > 15000 {
					return report.Usagef("--connections %d: want 1 to 15000 (use run with serve for more)", n)
				}
				if d < 2*time.Second {
					return report.Usagef("--duration %v: want at least 2s", d)
				}
				if _, err := report.ParseThresholds(c.StringSlice("threshold")); err != nil {
					return report.Usage(err)
				}
				base, stop, err := startDemoServer(fixtures.Config{})
				if err != nil {
					return err
				}
				defer stop()
				fmt.Fprintf(c.App.ErrWriter, "demo: reference server on %s; %d streams for %v\n", base, n, d)
				s := &scenarios.Scenario{
					Name:        "demo",
					URLs:        []string{base + "/events?rate=1&topic=demo"},
					Connections: n,
					Ramp:        scenarios.Duration(d / 2),
					Duration:    scenarios.Duration(d),
					Publisher:   &scenarios.Publisher{URL: base + "/publish?topic=demo", Rate: 5},
				}
				s.Expect.Sequence = true
				s.Thresholds = c.StringSlice("threshold")
				s.AbortOnFail = false
				if err := s.Validate(); err != nil {
					return report.Usage(err)
				}
				s.Normalize()
				return runDemo(c, s, nil)
			},
		}
	})
}

// runDemo runs the demo scenario, writes its outputs and points at the
// HTML report. Its summary explains the figures, and repeats what the
// run should show (expect) before the thresholds.
func runDemo(c *cli.Context, s *scenarios.Scenario, expect []string) error {
	out := loadOutputs{JSON: c.String("out"), HTML: c.String("html"), JUnit: c.String("junit"),
		Summary: report.SummaryOptions{Legend: true, Expect: expect}}
	if out.HTML == "" {
		out.HTML = filepath.Join(filepath.Dir(out.JSON), "report.html")
	}
	before := modTime(out.HTML)
	err := runLoad(c, s, out, c.Bool("quiet"))
	if after := modTime(out.HTML); !after.IsZero() && !after.Equal(before) {
		abs, aerr := filepath.Abs(out.HTML)
		if aerr != nil {
			abs = out.HTML
		}
		fmt.Fprintf(c.App.Writer, "\nOpen the report in a browser: %s\n", abs)
	}
	return err
}

// demoLLMThresholds gate demo --llm: loose enough for a busy laptop (the
// simulator answers in 200ms and 20ms per token by default), and the
// ttft and tpot bounds are also what goodput counts against.
var demoLLMThresholds = []string{
	"ttft.p99 < 1s", "tpot.p99 < 100ms", "goodput >= 95%", "requests_failed.rate < 1%",
}

// demoPrompts are the built-in prompts demo --llm picks from. The
// simulator's answer does not depend on them; they make the bodies look
// like what a chat client sends.
var demoPrompts = []string{
	"Say hello in three languages.",
	"Explain Server-Sent Events in one sentence.",
	"Write a haiku about latency.",
	"List three uses of a load tester.",
	"What does time to first token measure?",
	"Summarise HTTP/2 multiplexing for a new engineer.",
}

// demoLLMBody is the chat completion request: a random built-in prompt,
// streamed, with the usage chunk so the token count is the server's own.
func demoLLMBody() string {
	quoted := make([]string, len(demoPrompts))
	for i, p := range demoPrompts {
		quoted[i] = strconv.Quote(p)
	}
	return `{"model": "ssebench-sim", "messages": [{"role": "user", "content": {{json (pick ` + strings.Join(quoted, " ") +
		`)}}}], "stream": true, "stream_options": {"include_usage": true}}`
}

// demoLLM is demo --llm: the simulated inference server and a request-mode
// run against it.
func demoLLM(c *cli.Context) error {
	d, rate := c.Duration("duration"), c.Float64("rate")
	if c.IsSet("connections") {
		return report.Usagef("--connections does not apply with --llm: requests arrive at --rate per second")
	}
	if d < 2*time.Second {
		return report.Usagef("--duration %v: want at least 2s", d)
	}
	if !(rate > 0 && rate <= 1000) {
		return report.Usagef("--rate %v: want 0 < requests per second <= 1000 (use run with serve for more)", rate)
	}
	thresholds := demoLLMThresholds
	if c.IsSet("threshold") {
		thresholds = c.StringSlice("threshold")
	}
	if _, err := report.ParseThresholds(thresholds); err != nil {
		return report.Usage(err)
	}
	llm, err := fixtures.LLMConfig{
		TTFT:           c.Duration("llm-ttft"),
		TokenRate:      c.Float64("llm-token-rate"),
		Tokens:         c.String("llm-tokens"),
		TokensPerChunk: c.Int("llm-tokens-per-chunk"),
		Concurrency:    c.Int("llm-concurrency"),
		Queue:          fixtures.DefaultLLMQueue, // demo has no --llm-queue
	}.FromFlags()
	if err != nil {
		return report.Usage(err)
	}
	base, stop, err := startDemoServer(fixtures.Config{LLM: llm})
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(c.App.ErrWriter, "demo: simulated inference server on %s; %g chat completions/s (Poisson) for %v\n", base, rate, d)
	expect, err := demoLLMExpectations(llm, rate)
	if err != nil {
		return report.Usage(err)
	}
	fmt.Fprint(c.App.ErrWriter, expect)

	s := &scenarios.Scenario{
		Name:     "demo-llm",
		Mode:     scenarios.ModeRequest,
		URLs:     []string{base + "/v1/chat/completions"},
		Method:   "POST",
		Headers:  map[string]string{"Content-Type": "application/json"},
		Body:     demoLLMBody(),
		Duration: scenarios.Duration(d),
		Request: scenarios.Request{
			Rate:    rate,
			Arrival: "poisson",
			Tokens: scenarios.Tokens{
				DeltaPath: "choices.0.delta.content",
				UsagePath: "usage.completion_tokens",
			},
		},
		Thresholds: thresholds,
	}
	if err := s.Validate(); err != nil {
		return report.Usage(err)
	}
	s.Normalize()
	return runDemo(c, s, strings.Split(strings.TrimSpace(expect), "\n"))
}

// demoLLMExpectations says what the server was set to and the figures
// that setting should produce (fixtures.LLMConfig.Timing), so the summary
// can be checked against it.
func demoLLMExpectations(llm fixtures.LLMConfig, rate float64) (string, error) {
	t, err := llm.Timing()
	if err != nil {
		return "", err
	}
	length := strconv.Itoa(t.MinTokens)
	if t.MaxTokens > t.MinTokens {
		length = fmt.Sprintf("%d-%d (uniform)", t.MinTokens, t.MaxTokens)
	}
	limit := "no concurrency limit"
	if llm.Concurrency > 0 {
		limit = fmt.Sprintf("%d answers at once (the queue adds to TTFT)", llm.Concurrency)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server: TTFT %v, %g tokens/s per answer, %s tokens per answer, %d per chunk, %s\n",
		t.TTFT, llm.TokenRate, length, llm.TokensPerChunk, limit)
	fmt.Fprintf(&b, "expect: TTFT ≈ %v, ITL ≈ %v, TPOT ≈ %v, e2e ≈ %v, ≈ %.0f output tokens/s at %g req/s\n",
		t.TTFT, t.ITL.Round(10*time.Microsecond), t.TPOT.Round(10*time.Microsecond), t.E2E.Round(time.Millisecond), t.MeanTokens*rate, rate)
	return b.String(), nil
}

// modTime is the file's modification time, zero when it does not exist.
func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// startDemoServer runs the reference server with cfg on a free loopback
// port until stop is called. A cfg the server refuses is bad input (the
// demo's flags made it); a port that cannot be opened means it cannot run.
func startDemoServer(cfg fixtures.Config) (base string, stop func(), err error) {
	srv, err := fixtures.New(cfg)
	if err != nil {
		return "", nil, report.Usage(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, report.CannotRun(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Serve(ctx, ln)
	return "http://" + ln.Addr().String(), func() { cancel(); srv.Close() }, nil
}
