package scenarios

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssebench/ssebench/report"
)

// TestRequestShapes: request.rate and request.concurrency become stages
// that RateAt/TargetAt read, the same before and after Normalize.
func TestRequestShapes(t *testing.T) {
	t.Parallel()
	type point struct {
		at     time.Duration
		rate   float64
		target int
	}
	cases := []struct {
		name   string
		r      Request
		dur    time.Duration
		stages []Stage
		total  time.Duration
		open   bool
		points []point
	}{
		{name: "open loop: rate for the duration",
			r: Request{Rate: 20}, dur: time.Minute,
			stages: []Stage{{Duration(time.Minute), 0, 20}}, total: time.Minute, open: true,
			points: []point{{0, 20, 0}, {30 * sec, 20, 0}, {time.Minute, 20, 0}}},
		{name: "closed loop: a step to the concurrency at 0, then a hold",
			r: Request{Concurrency: 8}, dur: 30 * sec,
			stages: []Stage{{0, 8, 0}, {Duration(30 * sec), 8, 0}}, total: 30 * sec,
			points: []point{{0, 0, 8}, {time.Millisecond, 0, 8}, {29 * sec, 0, 8}, {30 * sec, 0, 8}}},
		{name: "open loop count only: arrivals plus one max_duration",
			r:      Request{Rate: 4, Count: 10, End: RequestEnd{MaxDuration: Duration(20 * sec)}},
			stages: []Stage{{Duration(23 * sec), 0, 4}}, total: 23 * sec, open: true},
		{name: "closed loop count only: rounds of max_duration",
			r:      Request{Concurrency: 4, Count: 10},
			stages: []Stage{{0, 4, 0}, {Duration(15 * time.Minute), 4, 0}}, total: 15 * time.Minute},
		{name: "count and duration: the duration bounds",
			r: Request{Rate: 1, Count: 1000}, dur: 5 * sec,
			stages: []Stage{{Duration(5 * sec), 0, 1}}, total: 5 * sec, open: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := Scenario{Mode: ModeRequest, URLs: []string{"http://127.0.0.1:1/"}, Duration: Duration(tc.dur), Request: tc.r}
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			for _, phase := range []string{"raw", "normalized"} {
				if phase == "normalized" {
					s.Normalize()
					if !reflect.DeepEqual(s.Stages, tc.stages) {
						t.Errorf("stages %v, want %v", s.Stages, tc.stages)
					}
				}
				if got := s.TotalDuration(); got != tc.total {
					t.Errorf("%s: TotalDuration = %v, want %v", phase, got, tc.total)
				}
				if s.OpenLoop() != tc.open {
					t.Errorf("%s: OpenLoop = %v", phase, s.OpenLoop())
				}
				for _, p := range tc.points {
					if got := s.RateAt(p.at); got != p.rate {
						t.Errorf("%s: RateAt(%v) = %v, want %v", phase, p.at, got, p.rate)
					}
					if got := s.TargetAt(p.at); got != p.target {
						t.Errorf("%s: TargetAt(%v) = %d, want %d", phase, p.at, got, p.target)
					}
				}
			}
			if err := s.Validate(); err != nil {
				t.Errorf("invalid after Normalize: %v", err)
			}
			before := *s.clone()
			s.Normalize()
			if !reflect.DeepEqual(s, before) {
				t.Errorf("second Normalize changed it:\n%+v\n%+v", s, before)
			}
		})
	}
}

// TestRequestCustomStages: stage.rate is the request rate, stage.target
// the concurrency.
func TestRequestCustomStages(t *testing.T) {
	t.Parallel()
	data := "url: http://127.0.0.1:1/\nmode: request\nstages:\n  - 10s:0:5\n  - 10s:0:50\n  - 0s:0:0\n  - 10s:0:0\n  - 10s:0:10\n"
	s, err := Parse([]byte(data), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !s.OpenLoop() || s.Profile != ProfileCustom || s.TotalDuration() != 40*sec || s.MaxTarget() != 0 {
		t.Errorf("open %v profile %q total %v", s.OpenLoop(), s.Profile, s.TotalDuration())
	}
	for at, want := range map[time.Duration]float64{0: 5, 9 * sec: 5, 10 * sec: 50, 20 * sec: 0, 29 * sec: 0, 30 * sec: 10, time.Hour: 10} {
		if got := s.RateAt(at); got != want {
			t.Errorf("RateAt(%v) = %v, want %v", at, got, want)
		}
	}

	closed, err := Parse([]byte("url: http://127.0.0.1:1/\nmode: request\nstages:\n  - {duration: 10s, target: 10}\n  - {duration: 10s, target: 10}\n  - {duration: 10s, target: 0}\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if closed.OpenLoop() || closed.MaxTarget() != 10 || closed.TotalDuration() != 30*sec {
		t.Errorf("closed: open %v max %d", closed.OpenLoop(), closed.MaxTarget())
	}
	for at, want := range map[time.Duration]int{0: 0, 5 * sec: 5, 15 * sec: 10, 25 * sec: 5, 30 * sec: 0} {
		if got := closed.TargetAt(at); got != want {
			t.Errorf("TargetAt(%v) = %d, want %d", at, got, want)
		}
	}
}

func TestRequestDefaults(t *testing.T) {
	t.Parallel()
	s := Scenario{Mode: ModeRequest, URLs: []string{"http://127.0.0.1:1/"}, Duration: Duration(sec), Request: Request{Rate: 1}}
	s.Normalize()
	want := Request{
		End:  RequestEnd{Data: "[DONE]", MaxDuration: Duration(5 * time.Minute)},
		Rate: 1, Arrival: "constant", MaxInFlight: 10000, Order: "sequential",
		Tokens: Tokens{Count: "words"},
	}
	if !reflect.DeepEqual(s.Request, want) {
		t.Errorf("request\n got %+v\nwant %+v", s.Request, want)
	}
	// GET stays the default: a body does not imply POST.
	if s.Method != "GET" || s.Timeout.Connect.D() != DefaultConnectTimeout {
		t.Errorf("method %q connect timeout %v", s.Method, s.Timeout.Connect)
	}
	// The subscribe-only settings stay unset, so Validate still passes.
	if s.Reconnect != (Reconnect{}) || s.Expect != (Expect{}) || !s.Lifetime.IsZero() || s.Profile != "" {
		t.Errorf("subscribe settings filled: %+v %+v %+v %q", s.Reconnect, s.Expect, s.Lifetime, s.Profile)
	}
	// Written values are kept.
	s = Scenario{Mode: ModeRequest, URLs: []string{"http://127.0.0.1:1/"}, Method: "post", Duration: Duration(sec),
		Request: Request{Concurrency: 2, End: RequestEnd{Data: "none", Event: "close", MaxDuration: Duration(sec)}, Arrival: "poisson", MaxInFlight: 5, Order: "random", Tokens: Tokens{Count: "chars4"}}}
	before := s.Request
	s.Normalize()
	if s.Request != before || s.Method != "POST" {
		t.Errorf("changed: %+v %q", s.Request, s.Method)
	}
}

// TestRequestValidation: each problem is one line naming the file line,
// the key and the value.
func TestRequestValidation(t *testing.T) {
	t.Parallel()
	head := "url: http://127.0.0.1:1/\nmode: request\n"
	cases := []struct{ name, yaml, want string }{
		{"no rate or concurrency", head + "duration: 1m\n",
			`s.yaml: request: mode request needs request.rate (requests per second, open loop) or request.concurrency (requests in flight, closed loop), or stages`},
		{"no duration", head + "request:\n  rate: 5\n",
			`s.yaml: duration: required in mode request: how long requests are sent (e.g. 10s, 1m30s), or give request.count`},
		{"rate and concurrency", head + "duration: 1m\nrequest:\n  rate: 5\n  concurrency: 3\n",
			`s.yaml:6: request.concurrency: given together with request.rate: a run is closed loop (concurrency: requests in flight) or open loop (rate: requests per second), not both`},
		{"negative rate", head + "duration: 1m\nrequest:\n  rate: -5\n",
			`s.yaml:5: request.rate: -5 is not a request rate: requests per second, above 0 and at most 1000000`},
		{"absurd rate", head + "duration: 1m\nrequest:\n  rate: 5e7\n",
			`s.yaml:5: request.rate: 5e+07 is not a request rate: requests per second, above 0 and at most 1000000`},
		{"negative concurrency", head + "duration: 1m\nrequest:\n  concurrency: -1\n",
			`s.yaml:5: request.concurrency: -1 is negative`},
		{"absurd concurrency", head + "duration: 1m\nrequest:\n  concurrency: 20000000\n",
			`s.yaml:5: request.concurrency: 20000000 is more than 10000000 streams; shard the run (--shard) rather than ask one scenario for it`},
		{"negative count", head + "duration: 1m\nrequest:\n  rate: 1\n  count: -3\n",
			`s.yaml:6: request.count: -3 is negative (0: the duration alone decides)`},
		{"max_in_flight", head + "duration: 1m\nrequest:\n  rate: 1\n  max_in_flight: -1\n",
			`s.yaml:6: request.max_in_flight: -1: want 1 to 10000000 requests in flight (0: 10000)`},
		{"arrival", head + "duration: 1m\nrequest:\n  rate: 1\n  arrival: poison\n",
			`s.yaml:6: request.arrival: "poison" is not one of constant, poisson (did you mean "poisson"?)`},
		{"order", head + "duration: 1m\nrequest:\n  rate: 1\n  order: shuffled\n",
			`s.yaml:6: request.order: "shuffled" is not one of sequential, random`},
		{"token count", head + "duration: 1m\nrequest:\n  rate: 1\n  tokens:\n    count: word\n",
			`s.yaml:7: request.tokens.count: "word" is not one of words, chars4, events (did you mean "words"?)`},
		{"delta path", head + "duration: 1m\nrequest:\n  rate: 1\n  tokens:\n    delta_path: choices..content\n",
			`s.yaml:7: request.tokens.delta_path: "choices..content" is not a dotted key path (e.g. choices.0.delta.content)`},
		{"usage path", head + "duration: 1m\nrequest:\n  rate: 1\n  tokens:\n    usage_path: usage.\n",
			`s.yaml:7: request.tokens.usage_path: "usage." is not a dotted key path (e.g. usage.completion_tokens)`},
		{"end event with a line break", head + "duration: 1m\nrequest:\n  rate: 1\n  end:\n    event: \"a\\nb\"\n",
			`s.yaml:7: request.end.event: "a\nb" holds a line break; an event type is one line`},
		{"negative max_duration", head + "duration: 1m\nrequest:\n  rate: 1\n  end:\n    max_duration: -1s\n",
			`s.yaml:7: request.end.max_duration: "-1s" is negative; a duration must be 0 or more`},
		{"misspelt template function", head + "duration: 1m\nrequest:\n  rate: 1\nbody: '{\"p\": {{jsn .prompt}}}'\n",
			`s.yaml:6: body: template line 1: function "jsn" not defined (did you mean "json"?)`},
		{"template syntax", head + "duration: 1m\nrequest:\n  rate: 1\nbody: '{{json .prompt'\n",
			`s.yaml:6: body: template line 1: unclosed action`},
		{"field without a dataset", head + "duration: 1m\nrequest:\n  rate: 1\nbody: '{{json .prompt}}'\n",
			`s.yaml:6: body: template line 1:7: at <.prompt>: map has no entry for key "prompt"`},
		{"stage with rate and target", head + "stages:\n  - 10s:5:3\n",
			`s.yaml:4: stages[0]: sets both rate (open loop: requests per second) and target (closed loop: requests in flight); a stage in mode request sets one of them`},
		{"stages mixing loops", head + "stages:\n  - 10s:0:3\n  - 10s:4\n",
			`s.yaml:3: stages: mixes open-loop stages (a rate, stages[0]) and closed-loop stages (a target, stages[1]); a run is one or the other`},
		{"stages sending nothing", head + "stages:\n  - 10s:0\n",
			`s.yaml:3: stages: every stage has rate 0 and target 0, so no request would be sent`},
		{"stages with duration", head + "duration: 1m\nstages:\n  - 10s:0:3\n",
			`s.yaml:3: duration: given together with stages, which set the run's length; use one or the other`},
		{"stages with rate", head + "duration: 1m\nrequest:\n  rate: 5\nstages:\n  - 10s:0:3\n",
			`s.yaml:6: stages: given together with request.rate, which makes its own stage; use one or the other (a stage's rate is requests per second, its target requests in flight)`},
		{"custom without stages", head + "profile: custom\nrequest:\n  rate: 3\n",
			`s.yaml: stages: required with profile custom (a list of {duration, rate} or {duration, target}); or drop the profile and give request.rate or request.concurrency with duration`},
		{"built-in profile", head + "profile: steady\nduration: 1m\nrequest:\n  rate: 3\n",
			`s.yaml:3: profile: "steady" shapes mode subscribe streams; in mode request give request.rate or request.concurrency with duration, or stages (profile custom)`},
		{"connections", head + "connections: 5\nduration: 1m\nrequest:\n  rate: 3\n",
			`s.yaml:3: connections: not used in mode request; give request.concurrency (requests in flight, closed loop) or request.rate (requests per second, open loop)`},
		{"ramp", head + "ramp: 5s\nduration: 1m\nrequest:\n  rate: 3\n",
			`s.yaml:3: ramp: not used in mode request; write a ramp as stages (each with a rate or a target)`},
		{"arrival_rate", head + "arrival_rate: 5\nduration: 1m\nrequest:\n  rate: 3\n",
			`s.yaml:3: arrival_rate: not used in mode request; use request.rate (requests per second)`},
		{"lifetime", head + "lifetime: 5s\nduration: 1m\nrequest:\n  rate: 3\n",
			`s.yaml:3: lifetime: not used in mode request, where each stream ends with its answer (see request.end)`},
		{"reconnect", head + "duration: 1m\nrequest:\n  rate: 3\nreconnect:\n  max_delay: 1s\n",
			`s.yaml:7: reconnect.max_delay: not used in mode request, where a request is never reconnected`},
		{"chaos", head + "duration: 1m\nrequest:\n  rate: 3\nchaos:\n  drop: 5%/1s\n",
			`s.yaml:7: chaos.drop: not used in mode request, where streams end with their answer`},
		{"publisher", head + "duration: 1m\nrequest:\n  rate: 3\npublisher:\n  rate: 1\n",
			`s.yaml:7: publisher.rate: not used in mode request, which has no subscribers to publish to`},
		{"latency_field", head + "duration: 1m\nrequest:\n  rate: 3\nlatency_field: ts\n",
			`s.yaml:6: latency_field: not used in mode request, where TTFT and ITL are timed from each request's scheduled start (see request.tokens.delta_path)`},
		{"sequence", head + "duration: 1m\nrequest:\n  rate: 3\nsequence: true\n",
			`s.yaml:6: sequence: not used in mode request, where nothing resumes across reconnects`},
		{"request keys in mode subscribe: the first written", "url: http://127.0.0.1:1/\nconnections: 1\nduration: 1m\nrequest:\n  dataset: p.jsonl\n  rate: 5\n",
			`s.yaml:5: request.dataset: only used in mode request, and the mode here is subscribe; add mode: request (--mode request)`},
		{"request key at the top level", "url: http://127.0.0.1:1/\nmode: request\nduration: 1m\nconcurrency: 5\n",
			`s.yaml:4: unknown key "concurrency" (did you mean "connections"? in mode request it belongs under "request")`},
		{"dataset at the top level", "url: http://127.0.0.1:1/\nmode: request\nduration: 1m\ndataset: p.jsonl\n",
			`s.yaml:4: unknown key "dataset" (it belongs under "request")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml), "s.yaml")
			if err == nil {
				t.Fatalf("no error, want %s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

// TestRequestFlags: every request.* key from its flag, and the load
// shape flags replacing each other as --stage and --profile do.
func TestRequestFlags(t *testing.T) {
	t.Parallel()
	u := "--url=http://127.0.0.1:1/v1/chat/completions"
	dataset := writeFile(t, "p.jsonl", `{"prompt":"hi"}`+"\n")
	s, _, err := runCLI(t, u, "--mode", "request", "-X", "post", "--body", `{"p":{{json .prompt}}}`, "--duration", "30s",
		"--request-rate", "12.5", "--arrival", "poisson", "--max-in-flight", "64", "--requests", "1000",
		"--dataset", dataset, "--dataset-order", "random",
		"--end-data", "[END]", "--end-event", "done", "--max-duration", "45s",
		"--delta-path", "choices.0.delta.content", "--token-count", "chars4", "--usage-path", "usage.completion_tokens")
	if err != nil {
		t.Fatal(err)
	}
	want := Request{
		End:  RequestEnd{Data: "[END]", Event: "done", MaxDuration: Duration(45 * sec)},
		Rate: 12.5, Arrival: "poisson", MaxInFlight: 64, Count: 1000, Dataset: dataset, Order: "random",
		Tokens: Tokens{DeltaPath: "choices.0.delta.content", Count: "chars4", UsagePath: "usage.completion_tokens"},
	}
	if s.Request != want || s.Mode != ModeRequest || s.Method != "POST" {
		t.Errorf("\n got %+v\nwant %+v", s.Request, want)
	}
	if !reflect.DeepEqual(s.Stages, []Stage{{Duration(30 * sec), 0, 12.5}}) || s.RateAt(10*sec) != 12.5 {
		t.Errorf("stages %v", s.Stages)
	}
	if out := render(t, mustBodies(t, s), 0); out != `{"p":"hi"}` {
		t.Errorf("body %q", out)
	}

	// Flags over a file: --concurrency replaces the file's rate, --stage
	// replaces both, --request-rate replaces the file's stages.
	rateFile := writeFile(t, "rate.yaml", "url: http://127.0.0.1:1/\nmode: request\nduration: 1m\nrequest:\n  rate: 5\n  max_in_flight: 9\n")
	stagesFile := writeFile(t, "stages.yaml", "url: http://127.0.0.1:1/\nmode: request\nstages: [10s:0:5, 10s:0:6]\n")
	cases := []struct {
		args   []string
		stages []Stage
	}{
		{[]string{rateFile, "--concurrency", "3"}, []Stage{{0, 3, 0}, {Duration(time.Minute), 3, 0}}},
		{[]string{rateFile, "--stage", "10s:4", "--stage", "5s:0"}, []Stage{{Duration(10 * sec), 4, 0}, {Duration(5 * sec), 0, 0}}},
		{[]string{stagesFile, "--request-rate", "2", "--duration", "20s"}, []Stage{{Duration(20 * sec), 0, 2}}},
		{[]string{stagesFile, "--concurrency", "2", "--requests", "4", "--max-duration", "1s"}, []Stage{{0, 2, 0}, {Duration(2 * sec), 2, 0}}},
	}
	for _, c := range cases {
		s, _, err := runCLI(t, c.args...)
		if err != nil {
			t.Errorf("%q: %v", c.args[1:], err)
			continue
		}
		if !reflect.DeepEqual(s.Stages, c.stages) {
			t.Errorf("%q: stages %v, want %v", c.args[1:], s.Stages, c.stages)
		}
	}

	errs := []struct {
		args []string
		want string
	}{
		{[]string{u, "--connections", "1", "--duration", "1m", "--request-rate", "5"},
			`--request-rate: only used in mode request, and the mode here is subscribe; add mode: request (--mode request)`},
		{[]string{u, "--mode", "request", "--duration", "1m", "--request-rate", "fast"}, `--request-rate: "fast" is not a rate (requests per second)`},
		{[]string{u, "--mode", "request", "--duration", "1m", "--concurrency", "2", "--arrival", "poison"},
			`--arrival: "poison" is not one of constant, poisson (did you mean "poisson"?)`},
		{[]string{u, "--mode", "request", "--duration", "1m", "--concurrency", "2", "--requests", "many"}, `--requests: "many" is not a whole number`},
		{[]string{u, "--mode", "request", "--duration", "1m", "--concurrency", "2", "--max-duration", "long"}, `--max-duration: "long" is not a duration (e.g. 10s, 1m30s)`},
		{[]string{u, "--mode", "request", "--duration", "1m", "--concurrency", "2", "--reconnect", "never"},
			`--reconnect: not used in mode request, where a request is never reconnected`},
		{[]string{rateFile, "--mode", "request", "--lifetime", "5s"}, `--lifetime: not used in mode request, where each stream ends with its answer (see request.end)`},
	}
	for _, c := range errs {
		_, _, err := runCLI(t, c.args...)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got  %v\nwant %s", c.args, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("not one line: %q", err)
		}
	}
}

// TestRequestExamples: the LLM and progress examples load from disk,
// render valid bodies from the dataset next to them, keep the API key out
// of reports, and their thresholds parse.
func TestRequestExamples(t *testing.T) {
	s, err := Load(filepath.Join("examples", "llm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Method != "POST" || !s.OpenLoop() || s.RateAt(0) != 5 || s.Request.Arrival != "poisson" || s.TotalDuration() != time.Minute {
		t.Errorf("llm: method %s open %v rate %v arrival %s total %v", s.Method, s.OpenLoop(), s.RateAt(0), s.Request.Arrival, s.TotalDuration())
	}
	if s.Request.Tokens.DeltaPath != "choices.0.delta.content" || s.Request.Tokens.UsagePath != "usage.completion_tokens" || s.Request.End.Data != "[DONE]" {
		t.Errorf("llm: tokens %+v end %+v", s.Request.Tokens, s.Request.End)
	}
	b, err := s.Bodies()
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := loadDataset(filepath.Join("examples", "prompts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 5 {
		t.Errorf("prompts.jsonl has %d rows", len(rows))
	}
	for i, row := range rows {
		out := render(t, b, int64(i))
		var body struct {
			Model         string
			Messages      []struct{ Role, Content string }
			MaxTokens     int  `json:"max_tokens"`
			Stream        bool `json:"stream"`
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if err := json.Unmarshal([]byte(out), &body); err != nil {
			t.Fatalf("row %d: body is not JSON: %v\n%s", i, err, out)
		}
		if len(body.Messages) != 1 || body.Messages[0].Content != row["prompt"] || !body.Stream || !body.StreamOptions.IncludeUsage || body.MaxTokens <= 0 {
			t.Errorf("row %d: %+v", i, body)
		}
	}

	// The key is read at run time, never kept.
	t.Setenv("OPENAI_API_KEY", "sk-test-secret")
	h, err := s.ExpandedHeaders()
	if err != nil || h.Get("Authorization") != "Bearer sk-test-secret" {
		t.Errorf("headers %v, %v", h, err)
	}
	if got := s.Redacted().Headers["Authorization"]; got != Redaction {
		t.Errorf("redacted Authorization = %q", got)
	}
	os.Unsetenv("OPENAI_API_KEY")
	if _, err := s.ExpandedHeaders(); err == nil || !strings.Contains(err.Error(), "environment variable OPENAI_API_KEY is not set") {
		t.Errorf("unset key: %v", err)
	}

	p, err := Load(filepath.Join("examples", "progress.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.OpenLoop() || p.TargetAt(0) != 20 || p.TargetAt(29*sec) != 20 || p.Request.End.Event != "close" || p.Request.End.Data != EndDataNone || p.Method != "POST" {
		t.Errorf("progress: open %v target %d end %+v", p.OpenLoop(), p.TargetAt(0), p.Request.End)
	}
	pb, err := p.Bodies()
	if err != nil {
		t.Fatal(err)
	}
	out := render(t, pb, 3)
	var job struct {
		Job     string
		Attempt int
	}
	if err := json.Unmarshal([]byte(out), &job); err != nil || !uuidRE.MatchString(job.Job) || job.Attempt != 3 {
		t.Errorf("progress body %s: %+v %v", out, job, err)
	}

	// Thresholds use the request metrics: report must accept them.
	for _, sc := range []*Scenario{s, p} {
		if _, err := report.ParseThresholds(sc.Thresholds); err != nil {
			t.Errorf("%s: %v", sc.Name, err)
		}
	}
}

// TestRequestDocTable keeps the request-mode rows of PROFILES.md honest.
func TestRequestDocTable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("PROFILES.md")
	if err != nil {
		t.Fatal(err)
	}
	for label, r := range map[string]Request{
		"`request.rate: 20`, `duration: 1m`":        {Rate: 20},
		"`request.concurrency: 50`, `duration: 1m`": {Concurrency: 50},
	} {
		s := Scenario{Mode: ModeRequest, URLs: []string{"http://127.0.0.1:1/"}, Duration: Duration(time.Minute), Request: r}
		s.Normalize()
		var parts []string
		for _, st := range s.Stages {
			parts = append(parts, "`"+st.String()+"`")
		}
		row := "| " + label + " | " + strings.Join(parts, ", ") + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("PROFILES.md lacks the row starting\n%s", row)
		}
	}
}
