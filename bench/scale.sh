#!/usr/bin/env bash
# bench/scale.sh: what a stream costs the generator, ssebench beside a
# plain net/http + bufio client under the same load in the same run, the
# server pinned to CPU 1 and each client to CPU 0 (see bench/scale/main.go
# for every figure's definition).
#
#   bench/scale.sh                                   # 10,000 streams x 1 event/s, 10 s ramp, 60 s hold
#   bench/scale.sh -n 100000 -rate 0.1 -ramp 60s -hold 60s
#   bench/scale.sh -n 10000 -metrics                 # also the cost of --metrics-addr, scraped every second
#
# Loopback only; each client's run is bounded by ramp + hold.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec go run ./bench/scale "$@"
