#!/usr/bin/env bash
# bench/scale.sh: how many streams one machine's generator holds, and what
# each costs. For each count it starts `ssebench serve --procs P` on
# loopback, runs `ssebench run` (sharded and with source addresses chosen
# automatically) with RATE events/s per stream, a ramp and a HOLD, then
# prints: streams held, generator peak RSS in total and per stream
# ((peak - baseline) / streams), generator CPU-seconds per million events,
# p99 delivery latency, and whether the generator marked itself saturated.
#
#   bench/scale.sh                      # 10000 50000 100000, 1 event per 10 s, 60 s hold
#   RATE=1 HOLD=60s bench/scale.sh 10000
#
# Loopback only; every run is bounded by RAMP + HOLD.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-0.1}
HOLD=${HOLD:-60s}
RAMP=${RAMP:-30s}
PORT=${PORT:-18199}
OUT=${OUT:-/tmp/ssebench-scale}
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(10000 50000 100000)
mkdir -p "$OUT"
go build -o "$OUT/ssebench" .
results=()
for n in "${counts[@]}"; do
	procs=$(( (n + 14999) / 15000 ))
	echo "== $n streams: serve --procs $procs, rate $RATE/s, ramp $RAMP, hold $HOLD"
	"$OUT/ssebench" serve --addr "127.0.0.1:$PORT" --procs "$procs" >"$OUT/serve-$n.log" 2>&1 &
	serve=$!
	trap 'kill $serve 2>/dev/null || true' EXIT
	for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
	hold_s=${HOLD%s}; ramp_s=${RAMP%s}
	"$OUT/ssebench" run --url "http://127.0.0.1:$PORT/events?rate=$RATE" --connections "$n" \
		--ramp "$RAMP" --duration "$((ramp_s + hold_s))s" --quiet --out "$OUT/result-$n.json" | tail -n 8
	kill -INT $serve; wait $serve || true
	trap - EXIT
	results+=("$OUT/result-$n.json")
done
echo
go run ./bench/figures "${results[@]}"
