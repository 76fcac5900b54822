#!/usr/bin/env python3
"""idle_tunnels.py: RSS per idle CONNECT tunnel. Starts agentgate (release build) with a bound
listener, opens N tunnels through it to a loopback TCP origin that accepts and holds them, and
prints agentgate's RSS before and after, per tunnel, as a table. Bounded: N (default 10000)
tunnels, each step with a timeout; everything started here is stopped by PID.

    bench/idle_tunnels.py [N]        # needs root to raise RLIMIT_NOFILE above 20000
"""
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("AGENTGATE_BIN", os.path.join(HERE, "..", "build", "agentgate"))


def raise_nofile(n):
    fds = 4 * n + 1024
    resource.setrlimit(resource.RLIMIT_NOFILE, (fds, fds))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def origin_main(port, n):
    """Child process: accept up to n connections and hold them until killed."""
    raise_nofile(n)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(4096)
    held = []
    while len(held) < n:
        c, _ = srv.accept()
        held.append(c)
    signal.pause()


def main(N):
    raise_nofile(N)
    tmp = tempfile.mkdtemp(prefix="idle-tunnels-")
    oport, pport = free_port(), free_port()
    with open(os.path.join(tmp, "policy.yaml"), "w") as f:
        f.write("version: 1\nprivate_exceptions:\n  - cidr: 127.0.0.1/32\nagents:\n"
                "  - name: bench\n    allow:\n      - cidr: 127.0.0.1/32\n"
                "        ports: [%d]\n        tls: passthrough\n" % oport)
    with open(os.path.join(tmp, "agentgate.yaml"), "w") as f:
        f.write("listeners:\n  - address: 127.0.0.1:%d\n    agent: bench\n"
                "policy: %s/policy.yaml\ndata_dir: %s/data\nworkers: 2\n"
                "limits:\n  max_connections: %d\ntimeouts:\n  tunnel_idle: 600\n"
                "provenance:\n  enabled: false\n" % (pport, tmp, tmp, 2 * N + 100))
    origin = subprocess.Popen([sys.executable, __file__, "--origin", str(oport), str(N)])
    log = open(os.path.join(tmp, "agentgate.log"), "wb")
    proxy = subprocess.Popen([BIN, "run", "--config", os.path.join(tmp, "agentgate.yaml")],
                             stdout=log, stderr=log, preexec_fn=lambda: raise_nofile(N))
    socks = []
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", pport), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
        base = rss_kb(proxy.pid)
        req = b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (oport, oport)
        start = time.monotonic()
        for i in range(N):
            s = socket.create_connection(("127.0.0.1", pport), timeout=10)
            s.sendall(req)
            socks.append(s)
            if len(socks) % 500 == 0:   # collect the 200s in batches
                for t in socks[-500:]:
                    head = t.recv(4096)
                    if not head.startswith(b"HTTP/1.1 200"):
                        raise SystemExit("tunnel %d refused: %r" % (i, head[:200]))
                print("  %d tunnels open" % len(socks), file=sys.stderr, flush=True)
            if time.monotonic() - start > 300:
                raise SystemExit("gave up after 300 s at %d tunnels" % len(socks))
        for t in socks[len(socks) - len(socks) % 500:]:
            t.recv(4096)
        time.sleep(1.0)
        after = rss_kb(proxy.pid)
        per = (after - base) * 1024 / N
        print("| idle tunnels | agentgate RSS before | RSS after | per tunnel |")
        print("|---:|---:|---:|---:|")
        print("| %d | %.1f MiB | %.1f MiB | %.1f KiB |" % (N, base / 1024, after / 1024, per / 1024))
    finally:
        for s in socks:
            s.close()
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(20)
        except subprocess.TimeoutExpired:
            proxy.kill()
        origin.kill()
        origin.wait()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--origin":
        origin_main(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
