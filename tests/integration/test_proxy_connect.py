"""CONNECT tunnels: to an allowed loopback HTTPS origin (its own test CA made with the openssl
CLI; curl verifies it end to end), refused by policy, by the address guard and without
credentials, and a large transfer through the tunnel."""

import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
from agtest import check, test  # noqa: E402

SECRET = "tunnel-secret"


def make_test_ca(t, name):
    """A throwaway CA and a server certificate for name, made with the openssl CLI."""
    def run(*argv):
        subprocess.run(argv, check=True, capture_output=True, cwd=t.tmpdir)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=agentgate test CA")
    run("openssl", "req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=" + name)
    t.write("ext.cnf", "subjectAltName=DNS:%s\n" % name)
    run("openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
    return t.path("ca.pem"), t.path("srv.pem"), t.path("srv.key")


def setup(t, routes):
    ca, cert, key = make_test_ca(t, "secure.test")
    origin = t.origin(routes, tls_cert=cert, tls_key=key)
    policy = """version: 1
agents:
  - name: bot
    secret_sha256: %s
    allow:
      - host: secure.test
        ports: [%d]
        tls: passthrough
      - host: guarded.test
        ports: [%d]
        tls: passthrough
    private_exceptions:
      - host: secure.test
""" % (agtest.hash_secret(SECRET), origin.port, origin.port)
    proxy = t.proxy(policy=policy, hosts={"secure.test": "127.0.0.1", "guarded.test": "127.0.0.1"})
    return ca, origin, proxy


@test
def connect_to_allowed_https_origin(t):
    ca, origin, proxy = setup(t, {"/": (200, {"Content-Type": "text/plain"}, b"over tls\n")})
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:" + SECRET, "--cacert", ca,
               "https://secure.test:%d/" % origin.port, "https://secure.test:%d/" % origin.port)
    check(r.rc == 0 and r.status == 200 and r.body.count(b"over tls\n") == 2, r)
    check(origin.count() == 2, origin.requests)
    # a tunnel is logged when it closes, which may be just after curl exits
    deadline = time.monotonic() + 5
    while "method=CONNECT" not in proxy.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = proxy.log()
    check("method=CONNECT" in log and "status=200" in log, log)


@test
def connect_refusals(t):
    ca, origin, proxy = setup(t, {"/": (200, {}, b"x")})
    cases = [
        ("CONNECT denied.test:%d HTTP/1.1\r\nHost: denied.test\r\n%s\r\n", 403, "not in allowlist"),
        ("CONNECT guarded.test:%d HTTP/1.1\r\nHost: guarded.test\r\n%s\r\n", 403,
         "address 127.0.0.1 of guarded.test is loopback"),
        ("CONNECT secure.test:%d HTTP/1.1\r\nHost: secure.test\r\n\r\n%s", 407, "authentication"),
        ("CONNECT secure.test HTTP/1.1\r\nHost: secure.test\r\n%s\r\n", 400, ""),
    ]
    import base64
    cred = "Proxy-Authorization: Basic %s\r\n" % base64.b64encode(("bot:" + SECRET).encode()).decode()
    for tmpl, status, why in cases:
        req = tmpl % ((origin.port, cred) if tmpl.count("%") == 2 else (cred,))
        resp = agtest.raw_request(proxy.port, req.encode() if status != 407 else
                                  (tmpl % (origin.port, "")).encode(), timeout=1)
        head = resp.partition(b"\r\n\r\n")[0].decode("latin-1")
        check(head.startswith("HTTP/1.1 %d" % status), req, head)
        check(why in head, why, head)
        check("X-Agentgate-Request-Id:" in head, head)
    check(origin.count() == 0, origin.requests)
    # curl sees the refusal of its CONNECT
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:" + SECRET, "--cacert", ca,
               "https://denied.test:%d/" % origin.port)
    check(r.rc != 0 and (r.status == 403 or b"403" in r.stderr), r)


@test
def passthrough_without_a_client_hello_times_out_unconnected(t):
    ca, cert, key = make_test_ca(t, "secure.test")
    origin = t.origin({"/": (200, {}, b"x")}, tls_cert=cert, tls_key=key)
    accepts = []
    accept = origin.server.get_request

    def counting():
        conn = accept()
        accepts.append(conn[1])
        return conn
    origin.server.get_request = counting
    policy = """version: 1
agents:
  - name: bot
    secret_sha256: %s
    allow:
      - host: secure.test
        ports: [%d]
        tls: passthrough
    private_exceptions:
      - host: secure.test
""" % (agtest.hash_secret(SECRET), origin.port)
    proxy = t.proxy(policy=policy, hosts={"secure.test": "127.0.0.1"},
                    config_extra="timeouts:\n  header: 1\n")
    import base64
    import socket
    cred = base64.b64encode(("bot:" + SECRET).encode()).decode()
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    start = time.monotonic()
    s.sendall(("CONNECT secure.test:%d HTTP/1.1\r\nHost: secure.test\r\n"
               "Proxy-Authorization: Basic %s\r\n\r\n" % (origin.port, cred)).encode())
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    waited = time.monotonic() - start
    s.close()
    check(data == b"HTTP/1.1 200 Connection established\r\n\r\n", data)
    check(0.8 <= waited <= 5, "closed after %.1fs with a 1s header timeout" % waited)
    deadline = time.monotonic() + 5
    while "no ClientHello" not in proxy.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    check("passthrough: no ClientHello within 1s" in proxy.log(), proxy.log()[-1500:])
    check(accepts == [], "the origin was connected to before any ClientHello", accepts)
    # the same tunnel with a ClientHello works
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:" + SECRET, "--cacert", ca,
               "https://secure.test:%d/" % origin.port)
    check(r.rc == 0 and r.status == 200 and r.body == b"x", r)
    check(len(accepts) == 1, accepts)


@test
def large_transfer_through_tunnel(t):
    payload = os.urandom(1 << 20) * 16
    ca, origin, proxy = setup(t, {"/big": (200, {"Content-Type": "application/octet-stream"}, payload)})
    out = t.path("big.bin")
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:" + SECRET, "--cacert", ca, "-o", out,
               "https://secure.test:%d/big" % origin.port, timeout=120)
    check(r.rc == 0, r)
    with open(out, "rb") as f:
        body = f.read()
    # agtest's curl runs with -i: the CONNECT and origin heads precede the body
    body = body.split(b"\r\n\r\n", 2)[-1]
    check(hashlib.sha256(body).digest() == hashlib.sha256(payload).digest(), "corrupted", len(body))


agtest.main()
