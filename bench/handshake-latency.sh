#!/usr/bin/env bash
# handshake-latency.sh: the time TLS interception adds to setting up an HTTPS connection, with
# the leaf certificate already cached. One client at a time (tlsload -m new -c 1) opens N fresh
# connections, each a TCP connect + full TLS handshake (no resumption by the client): straight to
# the harness's TLS origin (baseline), and through agentgate as CONNECT + interception. The
# handshake time is measured by tlsload from the TCP connect to the finished handshake, so the
# proxied figure includes the CONNECT exchange, agentgate's own connection and TLS handshake to
# the origin, and the handshake with the minted leaf. Repeated REPS times, alternating; the table
# gives the medians over the repetitions of each run's p50 and p99, the added time (agentgate
# minus direct, per percentile) and the ratio.
#
#   bench/handshake-latency.sh                 # REPS=3 N=400
#   REPS=5 N=1000 bench/handshake-latency.sh
#
# Needs a release build in build/ (or AGENTGATE_BIN) and the harness's packages (nginx, a C
# compiler, libssl-dev; see ../shared/bench-peers/README.md). Everything listens on 127.0.0.1
# ports of its own (BASE_PORT, default 27000..27003); every load is bounded by N and by time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
peers=${AG_BENCH_PEERS:-$here/../../shared/bench-peers}
bin=${AGENTGATE_BIN:-$here/../build/agentgate}
REPS=${REPS:-3}
N=${N:-400}
BASE_PORT=${BASE_PORT:-27000}
work=${WORK:-/tmp/ag-handshake-bench}
[ -x "$peers/run.sh" ] || { echo "handshake-latency.sh: no harness at $peers (set AG_BENCH_PEERS)" >&2; exit 2; }
[ -x "$bin" ] || { echo "handshake-latency.sh: build first (no $bin)" >&2; exit 2; }
[[ $REPS =~ ^[0-9]+$ && $REPS -ge 1 && $REPS -le 20 ]] || { echo "REPS must be 1..20" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ && $N -ge 10 && $N -le 100000 ]] || { echo "N must be 10..100000" >&2; exit 2; }

http_port=$BASE_PORT https_port=$((BASE_PORT + 1)) proxy_port=$((BASE_PORT + 2))
mkdir -p "$work"
rm -rf "$work/harness" "$work/ag"
cp -r "$peers" "$work/harness"
make -C "$work/harness" -s tlsload >/dev/null
tlsload=$work/harness/tlsload

pids=()
origin_pgid=
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    # The origin runs in its own session (setsid): its shell sleeps in the foreground, so it is
    # stopped as a group (the shell, its sleep and nginx) for its exit trap to run at once.
    [ -z "$origin_pgid" ] || kill -- "-$origin_pgid" 2>/dev/null || true
}
trap cleanup EXIT

# The origin: the harness's nginx (http + https with its test CA), kept up by its serve mode.
WORK=$work/peers ORIGIN_HTTP_PORT=$http_port ORIGIN_HTTPS_PORT=$https_port SERVE_SECS=3600 \
    setsid "$work/harness/run.sh" serve > "$work/origin.log" 2>&1 &
origin_pgid=$!
for _ in $(seq 100); do
    [ -s "$work/peers/pki/ca.pem" ] && (exec 3<>"/dev/tcp/127.0.0.1/$https_port") 2>/dev/null && break
    sleep 0.1
done
origin_ca=$work/peers/pki/ca.pem

d=$work/ag
mkdir -p "$d"
cat > "$d/policy.yaml" <<EOF
version: 1
private_exceptions:
  - cidr: 127.0.0.1/32
agents:
  - name: bench
    sanitize: off
    allow:
      - cidr: 127.0.0.1/32
        ports: [$https_port]
        tls: mitm
EOF
cat > "$d/agentgate.yaml" <<EOF
listeners:
  - address: "127.0.0.1:$proxy_port"
    agent: bench
policy: $d/policy.yaml
data_dir: $d/data
tls:
  upstream_ca_file: $origin_ca
  ca_dir: $d/data/ca
EOF
"$bin" ca init --dir "$d/data/ca" >/dev/null
"$bin" run --config "$d/agentgate.yaml" 2> "$d/stderr.log" &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$proxy_port") 2>/dev/null && break; sleep 0.1; done

# hs NAME ARGS...: one run of N handshakes; prints "p50 p99" in ms.
hs() {
    local out
    out=$("$tlsload" "$@" -t "127.0.0.1:$https_port" -m new -c 1 -T 1 -d 120 -n "$N" -u /1k.html -q 2>&1 | grep '^RESULT' || true)
    [[ $out == *" errors=0"* ]] || { echo "handshake-latency.sh: run failed: $* -> $out" >&2; exit 1; }
    sed -n 's/.* hs_p50_ms=\([0-9.]*\) hs_p99_ms=\([0-9.]*\).*/\1 \2/p' <<<"$out"
}
# Warm-up: the leaf for 127.0.0.1 is minted and cached here, not in the measured runs.
"$tlsload" -x "127.0.0.1:$proxy_port" -t "127.0.0.1:$https_port" -C "$d/data/ca/ca.pem" -m new -c 1 -n 20 -d 30 -q >/dev/null

rows=()
for ((r = 1; r <= REPS; r++)); do
    read -r dp50 dp99 < <(hs -C "$origin_ca")
    read -r ap50 ap99 < <(hs -x "127.0.0.1:$proxy_port" -C "$d/data/ca/ca.pem")
    rows+=("$dp50 $dp99 $ap50 $ap99")
    echo "rep $r: direct p50 $dp50 ms p99 $dp99 ms; agentgate p50 $ap50 ms p99 $ap99 ms" >&2
done

printf '%s\n' "${rows[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
med = lambda i: statistics.median(r[i] for r in rows)
add50 = statistics.median(r[2] - r[0] for r in rows)
add99 = statistics.median(r[3] - r[1] for r in rows)
n, reps = sys.argv[1], len(rows)
print(f"Full TLS handshakes, one at a time, {n} per run, {reps} runs (medians of the runs):")
print()
print("| path | handshake p50 | handshake p99 | p50 × direct |")
print("| --- | ---: | ---: | ---: |")
print(f"| direct to the TLS origin (baseline) | {med(0):.3f} ms | {med(1):.3f} ms | 1.00 |")
print(f"| CONNECT + agentgate interception, cached leaf | {med(2):.3f} ms | {med(3):.3f} ms | {med(2) / med(0):.2f} |")
print(f"| added by agentgate (same run, per percentile) | {add50:.3f} ms | {add99:.3f} ms | |")
' "$N"
