#!/usr/bin/env bash
# run-peers.sh: puts agentgate in the shared peer harness's table (same origin, same loads, same
# run as squid, tinyproxy and mitmproxy). Needs a release build in build/ and the harness's
# packages (see ../shared/bench-peers/README.md). Knobs are the harness's (REPS, DURATION,
# TARGETS, TESTS); results land in bench/results/<timestamp>/.
#
#   bench/run-peers.sh                                  # the default set below
#   REPS=1 DURATION=3 bench/run-peers.sh                # a smoke run
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
peers=${AG_BENCH_PEERS:-$here/../../shared/bench-peers}
[ -x "$peers/run.sh" ] || { echo "run-peers.sh: no harness at $peers (set AG_BENCH_PEERS)" >&2; exit 2; }
export AGENTGATE_BIN=${AGENTGATE_BIN:-$here/../build/agentgate}
[ -x "$AGENTGATE_BIN" ] || { echo "run-peers.sh: build first: cmake --build build (no $AGENTGATE_BIN)" >&2; exit 2; }
export EXTRA_PROXIES="$here/peers-agentgate.sh${AG_EXTRA_PROXIES:+ $AG_EXTRA_PROXIES}" # more targets: AG_EXTRA_PROXIES
export TARGETS=${TARGETS:-"direct agentgate squid tinyproxy mitmproxy agentgate_mitm"}
export TESTS=${TESTS:-"http-1k http-64k tls-ka-1k tls-ka-1m lat-http-1k lat-tls-new-1k"}
export RESULTS_DIR=${RESULTS_DIR:-$here/results/$(date +%Y%m%d-%H%M%S)}
# The harness builds its load generator in its own folder; work on a copy (shared/ is read-only).
copy=${WORK:-/tmp/bench-peers}/harness
mkdir -p "$copy" && cp -r "$peers"/. "$copy"/
cd "$copy"
exec ./run.sh "$@"
