"""TLS interception end to end: curl trusting agentgate's CA through the proxy to loopback
HTTPS origins whose own test CA is agentgate's tls.upstream_ca_file (GET, POST with a body,
keep-alive, chunked, ALPN); upstream certificates that are expired, from an unknown issuer or
for the wrong name (502 with the reason, never re-signed); passthrough with a matching,
mismatched and missing SNI; domain fronting inside the tunnel; and headless Chromium trusting
the CA only through --ignore-certificate-errors-spki-list."""

import base64
import hashlib
import os
import socket
import ssl
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
import tlsfixtures  # noqa: E402
from agtest import check, test  # noqa: E402

SECRET = "mitm-secret"
PAGE = b"<!doctype html><html><head><title>secure page</title></head><body><p id=x>intercepted ok</p></body></html>"


def policy(ports, agent_secret=True):
    """ports: name -> (port, tls mode)."""
    lines = ["version: 1", "agents:", "  - name: bot"]
    if agent_secret:
        lines.append("    secret_sha256: %s" % agtest.hash_secret(SECRET))
    lines.append("    allow:")
    for name, (port, mode) in ports.items():
        lines += ["      - host: %s" % name, "        ports: [%d]" % port,
                  "        tls: %s" % mode]
    lines.append("    private_exceptions:")
    for name in ports:
        lines.append("      - host: %s" % name)
    return "\n".join(lines) + "\n"


class Setup:
    """A test PKI, origins and a running agentgate. origins: name -> (cert kind, tls mode)."""

    def __init__(self, t, origins, routes=None, listener_agent=None):
        self.t = t
        self.pki = tlsfixtures.TestPKI(t.tmpdir)
        routes = routes or {"/": (200, {"Content-Type": "text/html"}, PAGE)}
        self.origins = {}
        ports = {}
        for name, (kind, mode) in origins.items():
            cert, key = {
                "good": lambda n: self.pki.cert(n),
                "expired": lambda n: self.pki.expired(n),
                "unknown": lambda n: self.pki.unknown_issuer(n),
                "wrong": lambda n: self.pki.wrong_name(n),
            }[kind](name)
            o = tlsfixtures.HttpsOrigin(cert, key, routes)
            t._origins.append(o)
            self.origins[name] = o
            ports[name] = (o.port, mode)
        listeners = None
        if listener_agent:
            listeners = [("127.0.0.1", agtest.free_port(), listener_agent)]
        self.proxy = t.proxy(policy=policy(ports, agent_secret=not listener_agent),
                             hosts={n: "127.0.0.1" for n in origins}, listeners=listeners,
                             config_extra="tls:\n  upstream_ca_file: %s\n" % self.pki.ca_pem)
        self.ca_pem = t.path("data", "ca", "ca.pem")

    def url(self, name, path="/"):
        return "https://%s:%d%s" % (name, self.origins[name].port, path)

    def curl(self, *args):
        return self.t.curl("-x", self.proxy.url, "--proxy-user", "bot:" + SECRET,
                           "--cacert", self.ca_pem, *args)

    def connect(self, name, port=None):
        """A raw socket on which CONNECT name:port succeeded (returns (sock, head))."""
        port = port or self.origins[name].port
        s = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=10)
        cred = base64.b64encode(("bot:" + SECRET).encode()).decode()
        s.sendall(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\nProxy-Authorization: Basic %s\r\n\r\n"
                   % (name, port, name, port, cred)).encode())
        return s, read_head(s)


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        try:
            b = s.recv(4096)
        except OSError:
            break
        if not b:
            break
        data += b
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1") + "\r\n\r\n" + rest.decode("latin-1")


def dechunk(data):
    """The payload of a complete chunked body, or None if it is not complete yet."""
    out, pos = b"", 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            return None
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return out if data[end:] == b"\r\n\r\n" else None
        if len(data) < end + 2 + size + 2:
            return None
        out += data[end + 2:end + 2 + size]
        pos = end + 2 + size + 2


def read_response(sock, limit=1 << 20):
    """One response with a Content-Length body, read without waiting for the close."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        b = sock.recv(65536)
        if not b:
            return data
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
        if k.strip().lower() == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
    if chunked:
        while not (body.endswith(b"0\r\n\r\n") and dechunk(body) is not None) and len(body) < limit:
            b = sock.recv(65536)
            if not b:
                break
            body += b
        return head + b"\r\n\r\n" + (dechunk(body) or b"")
    while len(body) < min(length, limit):
        b = sock.recv(65536)
        if not b:
            break
        body += b
    return head + b"\r\n\r\n" + body


def status_of(head):
    parts = head.split(" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


@test
def get_post_keepalive_chunked_through_mitm(t):
    def echo(handler, body):
        return 200, {"Content-Type": "text/plain"}, b"got %d bytes sha256=%s" % (
            len(body), hashlib.sha256(body).hexdigest().encode())
    routes = {
        "/": (200, {"Content-Type": "text/plain"}, b"plain body over mitm\n"),
        "/post": echo,
        "/chunked": (200, {"Content-Type": "text/plain"}, [b"first-", b"second-", b"third\n"]),
    }
    s = Setup(t, {"secure.test": ("good", "mitm")}, routes=routes)
    o = s.origins["secure.test"]

    r = s.curl(s.url("secure.test"))
    check(r.rc == 0 and r.status == 200 and r.body == b"plain body over mitm\n", r)
    check(mode_of(t.path("data", "ca", "ca.key")) == 0o600, "run created the CA key 0600")

    body = os.urandom(200000)
    t.write("body.bin", "")
    with open(t.path("body.bin"), "wb") as f:
        f.write(body)
    r = s.curl("--data-binary", "@" + t.path("body.bin"), "-H", "Content-Type: application/octet-stream",
               s.url("secure.test", "/post"))
    want = b"got %d bytes sha256=%s" % (len(body), hashlib.sha256(body).hexdigest().encode())
    check(r.rc == 0 and r.status == 200 and r.body == want, r)
    check(o.requests[-1][0] == "POST" and o.requests[-1][3] == body, "origin got the body")

    r = s.curl(s.url("secure.test", "/chunked"))
    check(r.rc == 0 and r.status == 200 and r.body == b"first-second-third\n", r)

    before = o.count()
    r = s.curl("-v", s.url("secure.test"), s.url("secure.test", "/chunked"))
    check(r.rc == 0 and r.body.endswith(b"first-second-third\n"), r)
    check(b"plain body over mitm" in r.stdout, r)
    check(b"Re-using existing connection" in r.stderr or b"Reusing existing connection" in r.stderr,
          "keep-alive inside the tunnel", r.stderr[-800:])
    check(o.count() == before + 2, o.requests)
    check(all(req[4] == "secure.test" for req in o.requests), "SNI sent upstream",
          [req[4] for req in o.requests])


@test
def ip_literal_connect_gets_an_ip_leaf(t):
    pki = tlsfixtures.TestPKI(t.tmpdir)
    cert, key = pki.cert("127.0.0.1", ips=["127.0.0.1"])
    o = tlsfixtures.HttpsOrigin(cert, key, {"/": (200, {"Content-Type": "text/html"}, PAGE)})
    t._origins.append(o)
    text = ("version: 1\nagents:\n  - name: bot\n    secret_sha256: %s\n    allow:\n"
            "      - host: 127.0.0.1\n        ports: [%d]\n    private_exceptions:\n"
            "      - cidr: 127.0.0.1/32\n" % (agtest.hash_secret(SECRET), o.port))
    proxy = t.proxy(policy=text, config_extra="tls:\n  upstream_ca_file: %s\n" % pki.ca_pem)
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:" + SECRET, "--cacert",
               t.path("data", "ca", "ca.pem"), "https://127.0.0.1:%d/" % o.port)
    check(r.rc == 0 and r.status == 200 and b"intercepted ok" in r.body, r)


@test
def alpn_offering_h2_gets_http11(t):
    s = Setup(t, {"secure.test": ("good", "mitm")})
    r = s.curl("--http2", "-w", "\nversion=%{http_version}", s.url("secure.test"))
    check(r.rc == 0 and r.status == 200, r)
    check(r.body.endswith(b"version=1.1"), "h2 offered, http/1.1 chosen", r)


@test
def leaf_is_minted_for_the_connect_host_and_pinned_by_spki(t):
    s = Setup(t, {"secure.test": ("good", "mitm")})
    sock, head = s.connect("secure.test")
    check(status_of(head) == 200, head)
    ctx = ssl.create_default_context(cafile=s.ca_pem)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with ctx.wrap_socket(sock, server_hostname="secure.test") as tls:
        check(tls.selected_alpn_protocol() == "http/1.1", tls.selected_alpn_protocol())
        cert = tls.getpeercert()
        check(("DNS", "secure.test") in cert["subjectAltName"], cert)
        issuer = dict(x[0] for x in cert["issuer"])
        check(issuer.get("organizationName") == "agentgate", cert)
        tls.sendall(b"GET / HTTP/1.1\r\nHost: secure.test:%d\r\n\r\n"
                    % s.origins["secure.test"].port)
        data = read_response(tls)
        check(data.startswith(b"HTTP/1.1 200") and b"intercepted ok" in data, data[:300])


def refused_upstream(t, kind, reasons):
    s = Setup(t, {"bad.test": (kind, "mitm")})
    sock, head = s.connect("bad.test")
    sock.close()
    check(status_of(head) == 502, kind, head)
    low = head.lower()
    check(any(r in low for r in reasons), kind, "reason missing:", head)
    check(s.origins["bad.test"].count() == 0, "no request reached the origin")
    r = s.curl(s.url("bad.test"))
    check(r.rc != 0 and b"intercepted ok" not in r.stdout, "never re-signed", r)


@test
def expired_upstream_is_a_502(t):
    refused_upstream(t, "expired", ["expired"])


@test
def unknown_issuer_upstream_is_a_502(t):
    refused_upstream(t, "unknown", ["unable to get local issuer", "unknown issuer",
                                    "self-signed", "self signed"])


@test
def wrong_name_upstream_is_a_502(t):
    refused_upstream(t, "wrong", ["hostname mismatch", "name mismatch"])


@test
def domain_fronting_inside_the_tunnel_is_refused(t):
    s = Setup(t, {"secure.test": ("good", "mitm"), "other.test": ("good", "mitm")})
    sock, head = s.connect("secure.test")
    check(status_of(head) == 200, head)
    ctx = ssl.create_default_context(cafile=s.ca_pem)
    with ctx.wrap_socket(sock, server_hostname="secure.test") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: other.test:%d\r\n\r\n" % s.origins["other.test"].port)
        resp = read_head(tls)
    check(status_of(resp) == 403, resp)
    check("fronting" in resp.lower() or "does not match" in resp.lower(), resp)
    check(s.origins["other.test"].count() == 0 and s.origins["secure.test"].count() == 0,
          "nothing forwarded")


def passthrough_hello(s, name, sni):
    """CONNECT name, then a TLS handshake with the given SNI (None: no SNI) trusting the
    origin's test CA. Returns the HTTP response bytes, or the exception raised."""
    sock, head = s.connect(name)
    if status_of(head) != 200:
        sock.close()
        return head
    ctx = ssl.create_default_context(cafile=s.pki.ca_pem)
    ctx.check_hostname = False
    try:
        with ctx.wrap_socket(sock, server_hostname=sni) as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % name.encode())
            data = b""
            while True:
                b = tls.recv(65536)
                if not b:
                    break
                data += b
            return data
    except (ssl.SSLError, OSError) as e:
        return e


@test
def passthrough_requires_the_sni_to_match(t):
    s = Setup(t, {"pass.test": ("good", "passthrough"), "secure.test": ("good", "mitm")})
    o = s.origins["pass.test"]
    r = s.curl("--cacert", s.pki.ca_pem, s.url("pass.test"))
    check(r.rc == 0 and r.status == 200 and b"intercepted ok" in r.body, "matching SNI", r)
    check(o.snis == ["pass.test"], "spliced, origin saw the client's own hello", o.snis)

    got = passthrough_hello(s, "pass.test", "pass.test")
    check(isinstance(got, bytes) and b"intercepted ok" in got, got)
    n = o.count()
    for sni in ("secure.test", "evil.example", None):
        got = passthrough_hello(s, "pass.test", sni)
        check(not (isinstance(got, bytes) and b"intercepted ok" in got), "SNI", sni, got)
    check(o.count() == n, "no request with a wrong or missing SNI reached the origin")
    check(o.snis.count("pass.test") == 2 and len(o.snis) == 2, o.snis)


def count_accepts(server):
    """Wraps a socketserver's accept so every TCP connection it takes is counted."""
    accepts = []
    accept = server.get_request

    def counting():
        conn = accept()
        accepts.append(conn[1])
        return conn
    server.get_request = counting
    return accepts


def closed_within(sock, timeout):
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


@test
def refused_passthrough_never_connects_to_the_origin(t):
    s = Setup(t, {"pass.test": ("good", "passthrough"), "secure.test": ("good", "mitm")})
    accepts = count_accepts(s.origins["pass.test"].server)
    for sni in ("secure.test", None):
        got = passthrough_hello(s, "pass.test", sni)
        check(not isinstance(got, bytes) or b"intercepted ok" not in got, "SNI", sni, got)
    sock, head = s.connect("pass.test")
    check(status_of(head) == 200, head)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: pass.test\r\n\r\n")
    check(closed_within(sock, 5), "a tunnel without a ClientHello is closed")
    sock.close()
    log = s.proxy.log()
    for why in ("SNI secure.test does not match the CONNECT host", "ClientHello without SNI",
                "not a TLS handshake"):
        check("passthrough refused: " + why in log, why, log[-2000:])
    check(accepts == [], "refused tunnels opened TCP connections to the origin", accepts)
    got = passthrough_hello(s, "pass.test", "pass.test")
    check(isinstance(got, bytes) and b"intercepted ok" in got, got)
    check(len(accepts) == 1, "the matching tunnel connects once", accepts)


@test
def chromium_with_spki_pin_loads_https_and_denied_host_fails(t):
    s = Setup(t, {"secure.test": ("good", "mitm")}, listener_agent="bot")
    pin = t.agentgate("ca", "spki", "--dir", t.path("data", "ca"), check_rc=0).stdout.decode().strip()
    check(pin == tlsfixtures.spki_pin(s.ca_pem), pin)
    proxy = "http://127.0.0.1:%d" % s.proxy.port
    flag = "--ignore-certificate-errors-spki-list=" + pin
    r = t.chromium(s.url("secure.test"), proxy=proxy, extra=[flag])
    check(b"intercepted ok" in r.stdout, "page loaded through MITM", r)
    check(s.origins["secure.test"].count() >= 1)

    r = t.chromium("https://denied.test:%d/" % s.origins["secure.test"].port, proxy=proxy,
                   extra=[flag])
    check(b"intercepted ok" not in r.stdout, "denied host must not load", r)
    check("denied.test" in s.proxy.log() and "status=403" in s.proxy.log(), s.proxy.log()[-2000:])

    r = t.chromium(s.url("secure.test"), proxy=proxy)  # no pin: our CA is not trusted
    check(b"intercepted ok" not in r.stdout, "without the pin the interception is not trusted", r)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


if __name__ == "__main__":
    agtest.main()
