# peers-agentgate.sh: agentgate's definitions for the shared peer harness
# (../shared/bench-peers/run.sh, sourced through EXTRA_PROXIES; see bench/run-peers.sh).
# Two targets: `agentgate` (plain forwarding and CONNECT tunnels: the bench agent's rules use
# tls: passthrough) and `agentgate_mitm` (TLS interception with agentgate's own CA).
AGENTGATE_BIN=${AGENTGATE_BIN:?set by bench/run-peers.sh}

agentgate_config() { # DIR LISTEN TLSMODE
    cat > "$1/policy.yaml" <<EOF2
version: 1
private_exceptions:
  - cidr: 127.0.0.1/32
agents:
  - name: bench
    sanitize: off
    allow:
      - cidr: 127.0.0.1/32
        ports: [$ORIGIN_HTTP_PORT, $ORIGIN_HTTPS_PORT]
        tls: $3
EOF2
    cat > "$1/agentgate.yaml" <<EOF2
listeners:
  - address: "$2"
    agent: bench
policy: $1/policy.yaml
data_dir: $1/data
tls:
  upstream_ca_file: $ORIGIN_CA
  ca_dir: $1/data/ca
limits:
  max_connections: 20000
EOF2
}

proxy_agentgate_start() {
    local d; d=$(proxy_dir agentgate)
    agentgate_config "$d" "$1" passthrough
    "$AGENTGATE_BIN" run --config "$d/agentgate.yaml" > "$d/stdout.log" 2>&1 &
    PROXY_PID=$!
}
proxy_agentgate_version() { echo "agentgate $(git -C "$(dirname "$AGENTGATE_BIN")/.." rev-parse --short HEAD 2>/dev/null)"; }

proxy_agentgate_mitm_start() {
    local d; d=$(proxy_dir agentgate_mitm)
    agentgate_config "$d" "$1" mitm
    "$AGENTGATE_BIN" ca init --dir "$d/data/ca" >/dev/null 2>&1 || true
    "$AGENTGATE_BIN" run --config "$d/agentgate.yaml" > "$d/stdout.log" 2>&1 &
    PROXY_PID=$!
}
proxy_agentgate_mitm_ca() { echo "$(proxy_dir agentgate_mitm)/data/ca/ca.pem"; }
PROXY_TESTS_agentgate_mitm="tls-ka-1k tls-ka-1m tls-new-1k lat-tls-new-1k"
# A passthrough tunnel must carry TLS whose SNI matches the CONNECT host: the harness's tunnel-*
# tests (plain HTTP inside CONNECT) are refused by design.
PROXY_TESTS_agentgate="http-1k http-64k tls-ka-1k tls-ka-1m tls-new-1k lat-http-1k lat-tls-new-1k"
