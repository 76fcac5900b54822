"""TLS interception through curl: agentgate's CA (created in the data directory on first start)
is trusted by curl; the loopback HTTPS origins use a test PKI given to agentgate as
tls.upstream_ca_file. GET, POST, keep-alive and chunked responses inside the tunnel; expired,
unknown-issuer and wrong-name origins are 502 with the reason; domain fronting is 403;
passthrough tunnels check the ClientHello's SNI."""

import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
import tlsfixtures  # noqa: E402
from agtest import check, test  # noqa: E402

NAMES = ["secure.test", "expired.test", "unknown.test", "wrong.test", "pass.test"]


class Setup:
    def __init__(self, t, routes):
        self.pki = tlsfixtures.TestPKI(t.tmpdir)
        certs = {
            "secure.test": self.pki.cert("secure.test"),
            "expired.test": self.pki.expired("expired.test"),
            "unknown.test": self.pki.unknown_issuer("unknown.test"),
            "wrong.test": self.pki.wrong_name("wrong.test"),
            "pass.test": self.pki.cert("pass.test"),
        }
        self.origins = {n: tlsfixtures.HttpsOrigin(c, k, routes) for n, (c, k) in certs.items()}
        rules = "".join("      - host: %s\n        ports: [%d]\n%s" % (
            n, o.port, "        tls: passthrough\n" if n == "pass.test" else "")
            for n, o in self.origins.items())
        rules += "      - cidr: 127.0.0.1/32\n        ports: [%d]\n        tls: passthrough\n" % (
            self.origins["pass.test"].port)
        policy = "version: 1\nagents:\n  - name: bot\n    allow:\n%s    private_exceptions:\n%s" % (
            rules, "".join("      - host: %s\n" % n for n in NAMES) + "      - cidr: 127.0.0.1/32\n")
        port = agtest.free_port()
        self.proxy = t.proxy(policy=policy, hosts={n: "127.0.0.1" for n in NAMES},
                             listeners=[("127.0.0.1", port, "bot")],
                             config_extra="tls: { upstream_ca_file: %s }\n" % self.pki.ca_pem)
        self.ca = t.path("data", "ca", "ca.pem")
        self.t = t

    def url(self, name, path="/"):
        return "https://%s:%d%s" % (name, self.origins[name].port, path)

    def curl(self, *args):
        return self.t.curl("-x", self.proxy.url, "--cacert", self.ca, *args)

    def close(self):
        for o in self.origins.values():
            o.close()


def with_setup(routes):
    def wrap(fn):
        def run(t):
            s = Setup(t, routes)
            try:
                fn(t, s)
            finally:
                s.close()
        run.__name__ = fn.__name__
        return test(run)
    return wrap


def echo(handler, body):
    return 200, {"Content-Type": "text/plain"}, b"got:" + body


ROUTES = {"/": (200, {"Content-Type": "text/plain"}, b"secret page\n"),
          "/echo": echo,
          "/chunked": (200, {"Content-Type": "text/plain"}, [b"one-", b"two-", b"three"])}


@with_setup(ROUTES)
def intercepted_get_post_keepalive_chunked(t, s):
    r = s.curl(s.url("secure.test"))
    check(r.rc == 0 and r.status == 200 and r.body == b"secret page\n", r)
    r = s.curl("--data-binary", "payload", s.url("secure.test", "/echo"))
    check(r.status == 200 and r.body == b"got:payload", r)
    r = s.curl(s.url("secure.test", "/chunked"))
    check(r.status == 200 and r.body == b"one-two-three", r)
    r = s.curl(s.url("secure.test"), s.url("secure.test", "/echo"), "-d", "x", "-w", "%{num_connects}")
    check(r.rc == 0 and r.body.endswith(b"got:x0"), "keep-alive through the tunnel", r)  # 0 new connections
    log = s.proxy.log()
    check("path=/echo" in log and "host=secure.test" in log, log[-1500:])


@with_setup(ROUTES)
def upstream_verification_failures_are_502(t, s):
    for name, why in (("expired.test", "expired"), ("unknown.test", "local issuer"),
                      ("wrong.test", "mismatch")):
        r = s.curl(s.url(name))
        check(r.rc != 0, name, r)
        check(r.status == 502, name, r)
        reason = r.headers.get("x-agentgate-reason", "")
        check("certificate verification failed" in reason and why in reason, name, reason)
        check(s.origins[name].count() == 0, name, "request reached the origin")


@with_setup(ROUTES)
def domain_fronting_is_refused(t, s):
    r = s.curl("-H", "Host: pass.test:%d" % s.origins["secure.test"].port, s.url("secure.test"))
    check(r.status == 403, r)
    check("domain fronting" in r.headers.get("x-agentgate-reason", ""), r)
    check(s.origins["secure.test"].count() == 0, "fronted request forwarded")


def tls_through_connect(s, name, server_hostname, authority=None):
    sock = socket.create_connection(("127.0.0.1", s.proxy.port), timeout=5)
    authority = authority or name
    try:
        sock.sendall(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (
            authority.encode(), s.origins[name].port, authority.encode()))
        head = sock.recv(4096)
        if not head.startswith(b"HTTP/1.1 200"):
            return "connect: " + head.decode("latin-1")
        ctx = ssl.create_default_context(cafile=s.pki.ca_pem)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            tls = ctx.wrap_socket(sock, server_hostname=server_hostname)
            tls.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % name.encode())
            return tls.recv(4096).decode("latin-1")
        except (ssl.SSLError, OSError) as e:
            return "tls error: %r" % e
    finally:
        sock.close()


@with_setup(ROUTES)
def passthrough_checks_sni(t, s):
    r = s.t.curl("-x", s.proxy.url, "--cacert", s.pki.ca_pem, s.url("pass.test"))
    check(r.status == 200 and r.body == b"secret page\n", "matching SNI", r)
    got = tls_through_connect(s, "pass.test", "secure.test")
    check("tls error" in got, "mismatched SNI was spliced", got)
    got = tls_through_connect(s, "pass.test", None)
    check("tls error" in got, "missing SNI was spliced", got)
    check(s.origins["pass.test"].count() == 1, s.origins["pass.test"].requests)
    # an IP-literal CONNECT carries no SNI (RFC 6066): accepted, there is no other name to reach
    got = tls_through_connect(s, "pass.test", None, authority="127.0.0.1")
    check(got.startswith("HTTP/1.1 200"), "IP literal without SNI refused", got)
    got = tls_through_connect(s, "pass.test", "secure.test", authority="127.0.0.1")
    check("tls error" in got, "IP literal with a foreign SNI was spliced", got)
    log = s.proxy.log()
    check("does not match the CONNECT host" in log and "without SNI" in log, log[-2000:])


@with_setup(ROUTES)
def intercepted_exchanges_are_recorded(t, s):
    r = s.curl(s.url("secure.test", "/"))
    check(r.status == 200, r)
    s.proxy.stop()
    h = t.agentgate("history", "--data-dir", t.path("data"), "--format", "jsonl")
    import json
    recs = [json.loads(l) for l in h.stdout.decode().splitlines() if l.strip()]
    inner = [x for x in recs if x.get("method") == "GET"]
    check(inner and inner[0]["url"] == s.url("secure.test", "/"), recs)
    check(inner[0].get("tls_fingerprint") and inner[0].get("tls_protocol", "").startswith("TLS"), inner)
    tunnel = [x for x in recs if x.get("method") == "CONNECT"]
    check(tunnel and tunnel[0]["url"] == "secure.test:%d" % s.origins["secure.test"].port, recs)


agtest.main()
