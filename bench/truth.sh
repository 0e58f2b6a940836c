#!/usr/bin/env bash
# Truth at scale: the cases of truth_test.go at 10,000 streams (N=...),
# each against a fresh truth server process (fixtures/truth/cmd) on
# loopback, printing what the server did beside what ssebench reported.
#
#   bench/truth.sh                 # all cases, N=10000
#   N=2000 bench/truth.sh delivery counts
#
# Needs go, curl and jq. Takes about three minutes at N=10000.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
# Open streams at most 2,500 a second: a burst past the listen backlog
# (somaxconn) turns into SYN retries, a loopback limit, not a finding.
RAMP=$(((N + 2499) / 2500))s
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((N + 1000)) ]; then
	echo "open-file limit $(ulimit -n) is too low for N=$N" >&2
	exit 2
fi

tmp=$(mktemp -d)
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
	[ -n "${KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/ssebench" .
go build -o "$tmp/truth" ./fixtures/truth/cmd

fails=0
printf '%-10s %-34s %18s %18s  %s\n' case figure truth reported ok
printf '%-10s %-34s %18s %18s  %s\n' ---- ------ ----- -------- --

# row CASE FIGURE TRUTH REPORTED CONDITION: CONDITION is an awk expression
# over t (truth) and r (reported).
row() {
	local ok=ok
	if ! awk -v t="$3" -v r="$4" "BEGIN { exit !($5) }"; then
		ok=FAIL
		fails=$((fails + 1))
	fi
	printf '%-10s %-34s %18s %18s  %s\n' "$1" "$2" "$3" "$4" "$ok"
}

# serve CONFIG: start a truth server with server-wide CONFIG; sets $base.
serve() {
	"$tmp/truth" -config "$1" >"$tmp/url" &
	srv_pid=$!
	for _ in $(seq 50); do
		[ -s "$tmp/url" ] && break
		sleep 0.1
	done
	base=$(cat "$tmp/url")
}

# bench PATH?QUERY ARGS...: run ssebench against the server, then read what
# the server did into $tmp/truth.json and what ssebench reported into
# $tmp/r.json; sets $code.
bench() {
	local url=$1
	shift
	code=0
	env ${run_env:-} "$tmp/ssebench" run --url "$base$url" --connections "$N" --quiet --out "$tmp/r.json" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
	if [ ! -s "$tmp/r.json" ]; then
		echo "ssebench wrote no result (exit $code):" >&2
		cat "$tmp/err" >&2
		exit 1
	fi
	local before=
	if [ -n "${end_after:-}" ]; then
		# the run's end: its start plus the duration, less 200 ms
		local ns
		ns=$(($(date -u -d "$(jq -r .start "$tmp/r.json")" +%s%N) + end_after * 1000000000 - 200000000))
		before=$(date -u -d "@${ns:0:-9}.${ns: -9}" +%Y-%m-%dT%H:%M:%S.%NZ)
	fi
	curl -fsS "$base/truth?settle=5s${before:+&before=$before}" >"$tmp/truth.json"
	kill "$srv_pid"
	wait "$srv_pid" 2>/dev/null || true
	srv_pid=
}

T() { jq -r "$1" "$tmp/truth.json"; }
R() { jq -r "$1" "$tmp/r.json"; }

want() { [ $# -eq 0 ] || [[ " $* " == *" $case "* ]]; }
cases=("$@")

case=delivery
if want "${cases[@]}"; then
	serve ""
	bench "/events?period=1s&hold=20ms&slow=300ms&slow_every=50" --ramp $RAMP --duration 9s --reconnect never --latency-field ts:unix_ns
	row $case "delivery p50 ms (±2ms+2%)" "$(T .delay_p50_ms)" "$(R .metrics.delivery.p50_ms)" "r-t <= 2+0.02*t && t-r <= 2+0.02*t"
	row $case "delivery p99 ms (±2ms+2%)" "$(T .delay_p99_ms)" "$(R .metrics.delivery.p99_ms)" "r-t <= 2+0.02*t && t-r <= 2+0.02*t"
	row $case "events (≥ 90% of written)" "$(T .events)" "$(R .counters.events)" "r >= 0.9*t && r <= t"
fi

case=stall
if want "${cases[@]}"; then
	serve "stall=2s&stall_at=5s&stall_every=10s"
	bench "/events?period=500ms" --ramp $RAMP --duration 9s --reconnect never --latency-field ts:unix_ns
	row $case "delivery p99 ms (≥ 1800)" "$(T .delay_p99_ms)" "$(R .metrics.delivery.p99_ms)" "r >= 1800 && r-t <= 2+0.02*t && t-r <= 2+0.02*t"
fi

case=late
if want "${cases[@]}"; then
	serve ""
	bench "/events?late=15&late_by=200ms" --ramp $RAMP --duration 6s --reconnect never
	share=$(jq -r '100*.late/.requests' "$tmp/truth.json")
	row $case "late share % → headers p90 ms" "$share" "$(R .metrics.headers.p90_ms)" "r >= 200"
	row $case "headers p50 ms (small)" "0" "$(R .metrics.headers.p50_ms)" "r < 50"
	row $case "headers count" "$(T .requests)" "$(R .metrics.headers.count)" "r == t"
fi

case=hang
if want "${cases[@]}"; then
	serve ""
	bench "/events?hang=10&mute=10&period=100ms" --ramp $RAMP --duration 6s --reconnect never --threshold 'first_event.p99 < 500ms'
	row $case "ends.no_headers = hung" "$(T .hung)" "$(R '.counters.ends.no_headers // 0')" "r == t"
	row $case "ends.no_first_event = muted" "$(T .muted)" "$(R '.counters.ends.no_first_event // 0')" "r == t"
	row $case "streams_failed ≥ hung+muted" "$(T '.hung+.muted')" "$(R .counters.streams_failed)" "r >= t"
	row $case "exit (first_event.p99 < 500ms)" 1 "$code" "r == t"
fi

for c in "counts::" "skip3:&skip=3:3" "replay2:&replay=2:2"; do
	case=${c%%:*}
	rest=${c#*:}
	extra=${rest%%:*}
	k=${rest#*:}
	want "${cases[@]}" || continue
	serve ""
	# a connection lasts 2 s (churn the server's accept queue keeps up with),
	# three or more per stream
	bench "/events?period=200ms&per_conn=10&last=30&retry=20$extra" --ramp $RAMP --duration 14s --sequence
	row $case events "$(T .events)" "$(R .counters.events)" "r == t"
	row $case bytes "$(T .bytes)" "$(R .counters.bytes)" "r == t"
	row $case "events_lost = skipped" "$(T .skipped)" "$(R .counters.events_lost)" "r == t"
	row $case "events_duplicated = replayed" "$(T .replayed)" "$(R .counters.events_duplicated)" "r == t"
	row $case "reconnects = resumes" "$(T .resumes)" "$(R .counters.reconnects)" "r == t"
	if [ -n "$k" ]; then
		row $case "K×resumes with events" "$(T "($k)*(.resumes-.no_content)")" "$(R ".counters.events_lost+.counters.events_duplicated")" "r == t"
	fi
done

case=idless
if want "${cases[@]}"; then
	serve ""
	bench "/events?period=200ms&per_conn=10&retry=20&ids=first" --ramp $RAMP --duration 8s --sequence
	row $case "events_lost (ids=first)" 0 "$(R .counters.events_lost)" "r == t"
	row $case "events_duplicated (ids=first)" 0 "$(R .counters.events_duplicated)" "r == t"
fi

case=outage
if want "${cases[@]}"; then
	serve "outage_at=6s&outage_for=10s"
	end_after=19
	bench "/events?period=100ms" --ramp $RAMP --duration 19s --reconnect always --backoff-base 50ms --backoff-max 1s
	end_after=
	# A stream's reconnect runs from the server ending it to its first event
	# after the outage: at least the gap from its end to the outage's end,
	# at most one backoff (1s) more. A stream ended late (its handler woke
	# late, 10,000 at once) has a gap shorter than the outage. Below the gap
	# by more than 2 ms + 2%: the client noticed the end late (saturated).
	row $case "reconnect p50 ms in [gap,gap+1s]" "$(T .outage_gap_p50_ms)" "$(R .metrics.reconnect.p50_ms)" "r >= t-2-0.02*t && r <= t+1000"
	row $case "reconnect min ms ≥ gap min" "$(T .outage_gap_min_ms)" "$(R .metrics.reconnect.min_ms)" "r >= t-2-0.02*t"
	# Every stream the outage ended and that came back resumed (with
	# Last-Event-ID); a stream not yet open when it began is a first stream.
	# The server answers some resumes only as the run ends, or after the
	# client left (still counted in resumes): those are the client's
	# no_headers, not reconnects. Every stream whose first event was
	# written 200 ms before the end reconnected.
	row $case "reconnects ≥ resumed ≤200ms before end" "$(T .resumed_before)" "$(R .metrics.reconnect.count)" "r >= t"
	row $case "reconnects ≤ resumes" "$(T .resumes)" "$(R .metrics.reconnect.count)" "r <= t"
	out_ms=$(jq -r '((.outage_end|sub("\\.[0-9]+";"")|fromdate) - (.outage_start|sub("\\.[0-9]+";"")|fromdate))*1000' "$tmp/truth.json")
	printf '%-10s outage %s ms ended %s of %s streams (%s not open yet); %s resumed, %s of them in the last 200 ms or after the end; client ends %s\n' $case \
		"$out_ms" "$(T .outage_ended)" "$N" "$(T "$N-.outage_ended")" "$(T .resumes)" "$(T '.resumes-.resumed_before')" "$(jq -c .counters.ends "$tmp/r.json")"
	# A generator busy with the 503 retries reads a stream's end late, so
	# its reconnect runs short of the server's gap: the result must say so.
	printf '%-10s generator saturated: %s (%s)\n' $case "$(R .generator.saturated)" "$(jq -r '.generator.saturated_reason // ""' "$tmp/r.json")"
fi

case=retry
if want "${cases[@]}"; then
	serve ""
	bench "/events?period=10ms&per_conn=1&retry=99999999999999999" --ramp $RAMP --duration 6s
	row $case "resumes the server saw (0)" 0 "$(T .resumes)" "r == t"
	row $case "reconnects ≤ streams" "$N" "$(R .counters.reconnects)" "r <= t"
fi

case=redirect
if want "${cases[@]}"; then
	serve ""
	bench "/redirect?period=200ms&per_conn=10&last=20&retry=20" --ramp $RAMP --duration 12s --sequence
	row $case "events" "$(T .events)" "$(R .counters.events)" "r == t"
	row $case "streams_failed" 0 "$(R .counters.streams_failed)" "r == t"
	row $case "events_lost+duplicated" 0 "$(R '.counters.events_lost+.counters.events_duplicated')" "r == t"
	row $case "reconnects = resumes" "$(T .resumes)" "$(R .counters.reconnects)" "r == t"
	# a redirect is followed on the connection it came on: one per stream
	row $case "connections = requests-redirects" "$(T '.requests-.redirects')" "$(T .connections)" "r == t"
fi

case=inflight
if want "${cases[@]}"; then
	serve ""
	end_after=7
	bench "/events?period=100ms" --ramp $RAMP --duration 7s --reconnect never
	end_after=
	row $case "events written ≤200ms before end" "$(T .written_before)" "$(R .counters.events)" "r >= t"
	row $case "events written (≥ counted)" "$(T .events)" "$(R .counters.events)" "r <= t"
fi

case=unstamped
if want "${cases[@]}"; then
	serve ""
	bench "/events?period=100ms&hold=5ms&last=30&retry=20&missing=10&garbage=10&future=10" --ramp $RAMP --duration 9s --latency-field ts:unix_ns
	row $case "unstamped = missing+garbage" "$(T '.missing+.garbage')" "$(R '.counters.unstamped // "absent"')" "r == t"
	row $case "clock_skew = future" "$(T .future)" "$(R .counters.clock_skew)" "r == t"
	row $case "delivery count = stamped" "$(T '.events-.missing-.garbage-.future')" "$(R .metrics.delivery.count)" "r == t"
	row $case "delivery min ms ≥ hold-1" 4 "$(R .metrics.delivery.min_ms)" "r >= t"
fi

case=saturated
if want "${cases[@]}"; then
	for procs in 1 2; do
		serve ""
		run_env=GOMAXPROCS=1 bench "/events?period=10ms&batch=50" --ramp $RAMP --duration 6s --reconnect never --procs $procs
		row $case "saturated (GOMAXPROCS=1, procs $procs)" true "$(R .generator.saturated)" 'r == t'
	done
fi

echo
if [ "$fails" -gt 0 ]; then
	echo "$fails figure(s) differ from the truth"
	exit 1
fi
echo "every figure matches the truth"
