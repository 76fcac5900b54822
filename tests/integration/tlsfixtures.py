"""tlsfixtures: TLS material and HTTPS origins for integration tests. Standard library plus
the `openssl` command only.

    pki = tlsfixtures.TestPKI(tmpdir)              # a test origin CA in tmpdir/pki
    cert, key = pki.cert("docs.test", ips=["127.0.0.1"])
    cert, key = pki.expired("docs.test")           # valid names, validity ended yesterday
    cert, key = pki.unknown_issuer("docs.test")    # signed by a CA nobody trusts
    cert, key = pki.wrong_name("docs.test")        # valid, but for other-than-docs.test
    origin = tlsfixtures.HttpsOrigin(cert, key, {"/": (200, {"Content-Type": "text/html"}, b"hi")})
    ... origin.port, origin.requests ...
    origin.close()

pki.ca_pem is the bundle to give agentgate as `tls.upstream_ca_file`. Routes are as in
agtest.Origin: path -> (status, headers, body) or callable(handler, body) -> same; a body that
is a list is sent chunked, one chunk per item. The TLS handshake runs in the connection's own
thread, so a client that fails it never blocks the origin.
"""

import http.server
import os
import socketserver
import ssl
import subprocess
import threading
import time

import agtest

_OPENSSL_CNF = """\
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
"""


def _run(argv, cwd=None):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), r.returncode,
                                                  r.stderr.decode("utf-8", "replace")))
    return r.stdout


def _asn1_time(epoch):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(epoch))


class _Authority:
    """One CA made with `openssl req -x509` that signs leaves with `openssl ca` (which, unlike
    `openssl x509 -req` in OpenSSL 3.0, can set any start and end date)."""

    def __init__(self, dir, cn):
        self.dir = dir
        os.makedirs(os.path.join(dir, "issued"), exist_ok=True)
        with open(os.path.join(dir, "index.txt"), "w"):
            pass
        with open(os.path.join(dir, "serial"), "w") as f:
            f.write("1000\n")
        self.cnf = os.path.join(dir, "openssl.cnf")
        with open(self.cnf, "w") as f:
            f.write(_OPENSSL_CNF.format(dir=dir))
        self.pem = os.path.join(dir, "ca.pem")
        self.key = os.path.join(dir, "ca.key")
        _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-days", "3650", "-subj", "/CN=%s/O=agentgate tests" % cn,
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign",
              "-keyout", self.key, "-out", self.pem])
        os.chmod(self.key, 0o600)
        self.count = 0

    def issue(self, out_dir, label, cn, dns, ips, not_before, not_after):
        self.count += 1
        base = os.path.join(out_dir, "%s-%d" % (label, self.count))
        key, csr, crt, ext = base + ".key", base + ".csr", base + ".pem", base + ".ext"
        sans = ["DNS:%s" % d for d in dns] + ["IP:%s" % i for i in ips]
        with open(ext, "w") as f:
            f.write("basicConstraints = critical,CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\n"
                    "extendedKeyUsage = serverAuth\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid\n")
            if sans:
                f.write("subjectAltName = %s\n" % ",".join(sans))
        _run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-subj", "/CN=%s" % cn, "-keyout", key, "-out", csr])
        _run(["openssl", "ca", "-batch", "-notext", "-config", self.cnf, "-cert", self.pem,
              "-keyfile", self.key, "-startdate", _asn1_time(not_before),
              "-enddate", _asn1_time(not_after), "-extfile", ext, "-in", csr, "-out", crt])
        os.chmod(key, 0o600)
        return crt, key


class TestPKI:
    """A test origin CA (ca_pem: give it to agentgate as tls.upstream_ca_file) and the
    certificates tests need. Files live under dir/pki; the caller removes dir."""

    def __init__(self, dir):
        self.dir = os.path.join(dir, "pki")
        os.makedirs(self.dir, exist_ok=True)
        self.ca = _Authority(os.path.join(self.dir, "origin-ca"), "agentgate test origin CA")
        self.ca_pem = self.ca.pem
        self._stranger = None

    def cert(self, *dns, ips=(), days=30, cn=None):
        """A valid certificate for the DNS names and IP addresses given (days from now,
        starting an hour back). Returns (cert_path, key_path)."""
        now = int(time.time())
        return self.ca.issue(self.dir, "leaf", cn or (list(dns) + list(ips))[0], list(dns),
                             list(ips), now - 3600, now + days * 86400)

    def expired(self, *dns, ips=()):
        """Right names and issuer, but the validity ended a day ago."""
        now = int(time.time())
        return self.ca.issue(self.dir, "expired", (list(dns) + list(ips))[0], list(dns),
                             list(ips), now - 30 * 86400, now - 86400)

    def not_yet_valid(self, *dns, ips=()):
        now = int(time.time())
        return self.ca.issue(self.dir, "future", (list(dns) + list(ips))[0], list(dns),
                             list(ips), now + 86400, now + 30 * 86400)

    def unknown_issuer(self, *dns, ips=()):
        """Right names and dates, signed by a CA that is in no trust store."""
        if self._stranger is None:
            self._stranger = _Authority(os.path.join(self.dir, "stranger-ca"),
                                        "untrusted stranger CA")
        now = int(time.time())
        return self._stranger.issue(self.dir, "stranger", (list(dns) + list(ips))[0],
                                    list(dns), list(ips), now - 3600, now + 30 * 86400)

    def wrong_name(self, *dns, ips=()):
        """Trusted issuer and valid dates, but for other names: "other-<name>" for each
        DNS name, and no IP addresses."""
        others = ["other-" + d for d in dns] or ["other.invalid"]
        return self.cert(*others)


# --------------------------------------------------------------------------- HTTPS origin

class _Handler(agtest._Handler):
    """agtest's origin handler; each recorded request also carries the SNI the client sent."""

    def _request_record(self, body):
        return super()._request_record(body) + (getattr(self.connection, "sni_seen", None),)


class _TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        # Handshake here, in the connection's thread, not in accept().
        try:
            request.settimeout(15)
            tls = self.origin.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.origin.lock:
                self.origin.handshake_errors.append(str(e))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


class HttpsOrigin:
    """An HTTPS origin on 127.0.0.1 (or host) serving cert/key. .requests holds
    (method, path, headers, body, sni) per request; .handshake_errors the failed handshakes;
    .snis every SNI name received (None when the client sent none)."""

    def __init__(self, cert, key, routes, host="127.0.0.1", alpn=None):
        self.routes = dict(routes)
        self.requests, self.handshake_errors, self.snis = [], [], []
        self.lock = threading.Lock()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        if alpn:
            self.context.set_alpn_protocols(list(alpn))
        self.context.sni_callback = self._sni
        self.server = _TLSServer((host, 0), _Handler)
        self.server.origin = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _sni(self, sslsock, name, ctx):
        sslsock.sni_seen = name
        with self.lock:
            self.snis.append(name)
        return None

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def spki_pin(cert_path):
    """base64(SHA-256(SPKI)) of a PEM certificate, computed with the openssl pipeline."""
    import base64
    pub = _run(["openssl", "x509", "-in", cert_path, "-pubkey", "-noout"])
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         capture_output=True, check=True, timeout=30).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der,
                            capture_output=True, check=True, timeout=30).stdout
    return base64.b64encode(digest).decode()
