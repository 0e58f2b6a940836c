#!/usr/bin/env bash
# serve50k.sh: the scale proof of `ssebench serve --procs`, in full.
#
# Builds ssebench and the test client ssehold (fixtures/internal/ssehold),
# starts `ssebench serve --procs 4` on a loopback port, opens 50,000 SSE
# streams from 4 ssehold processes (12,500 each, from 127.0.0.2 to
# 127.0.0.5: one process holds at most its open-file limit of sockets, one
# source address about 28,000 ephemeral ports), checks that /stats counts
# them all with every worker holding a share, publishes one message and
# waits until every stream has it, then kills a worker and checks that the
# supervisor reports it and stops. It prints the figures: time to connect
# all, time for the publish to reach all, streams and RSS per worker.
#
# It is TestServeProcs of the fixtures package with SSEBENCH_SCALE=1; the
# CI run (./test.sh) does the same with 12,000 streams.
#
# Environment:
#   SSEBENCH_SCALE_STREAMS   streams to open (default 50000)
#   SSEBENCH_SCALE_HOLD      how long to hold them (default 20s)
#   SSEBENCH_SCALE_RATE      generated events per second per stream (default 1; 0 = idle)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
echo "open files per process: $(ulimit -n) (soft), $(ulimit -Hn) (hard); cores: $(nproc)"
SSEBENCH_SCALE=1 go test -count=1 -timeout 10m -run 'TestServeProcs$' -v ./fixtures/ 2>&1 |
	grep -E 'procs_scale_test|^(---|ok|FAIL|PASS)|panic' 
