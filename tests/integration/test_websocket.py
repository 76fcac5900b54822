"""WebSocket upgrades through agentgate (RFC 6455): an echo origin reached over plain http://
and inside an intercepted (MITM) tunnel, a refused host, an origin that answers 200 instead of
101, an h2c upgrade that must still be stripped, the relay ending when either side closes or
half-closes, the tunnel idle timeout, the record in provenance, and headless Chromium opening a
wss:// socket from a page it loaded through the interception.

The origin below is a small threaded socket server written for this test: it parses the
handshake, answers with Sec-WebSocket-Accept (SHA-1 + base64 of the key and the RFC's GUID)
and echoes frames. Every wait is bounded."""

import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
import tlsfixtures  # noqa: E402
from agtest import check, test  # noqa: E402

SECRET = "ws-secret"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WAIT = 8.0  # seconds: the bound on every wait for a close or a frame


def accept_of(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


# --------------------------------------------------------------------------- frames

def apply_mask(key, data):
    n = len(data)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def encode_frame(payload, opcode=1, mask=True):
    """One final frame; clients mask (RFC 6455 5.3), servers do not."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + apply_mask(key, payload)


class Reader:
    """Exact reads from a socket with a deadline; EOFError on a close."""

    def __init__(self, sock, pending=b""):
        self.sock, self.buf = sock, pending

    def exact(self, n, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("read timed out")
            self.sock.settimeout(left)
            b = self.sock.recv(65536)
            if not b:
                raise EOFError("connection closed")
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536 or time.monotonic() > deadline:
                raise TimeoutError("no head")
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            b = self.sock.recv(65536)
            if not b:
                raise EOFError("closed before a head: %r" % self.buf[:200])
            self.buf += b
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return head.decode("latin-1")

    def frame(self, timeout=WAIT):
        b0, b1 = self.exact(2, timeout)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.exact(2, timeout))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.exact(8, timeout))[0]
        key = self.exact(4, timeout) if b1 & 0x80 else None
        data = self.exact(n, timeout)
        if key:
            data = apply_mask(key, data)
        return b0 & 0x0F, data

    def closed_within(self, timeout=WAIT):
        """True when the peer closes (EOF or reset) within timeout, ignoring data."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if not self.sock.recv(65536):
                    return True
            except socket.timeout:
                return False
            except (ConnectionError, ssl.SSLError, OSError):
                return True
        return False


def parse_head(text):
    lines = text.split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    return lines[0], headers


def status_of(text):
    parts = text.split(" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


# --------------------------------------------------------------------------- the origin

class WsOrigin:
    """An origin on 127.0.0.1 (TLS when cert is given). Paths:
    /echo         WebSocket echo; a text frame "close-now" makes it close the TCP connection
    /first-frame  101 and a first frame "welcome" in the same write, then echo
    /no-upgrade   a normal 200 even to an upgrade request (keep-alive)
    /rogue-101    101 Switching Protocols to any request
    anything else a route (status, headers, body) from routes, or 404.
    .accepts counts TCP connections accepted; .requests holds (method, path, headers);
    .events records ("eof", path) when a WebSocket peer closed, ("closed", path) when the
    origin closed first."""

    def __init__(self, routes=None, cert=None, key=None):
        self.routes = routes or {}
        self.accepts, self.requests, self.events = 0, [], []
        self.lock = threading.Lock()
        self.ctx = None
        if cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.accepts += 1
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def event(self, *what):
        with self.lock:
            self.events.append(what)

    def wait_event(self, what, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if what in self.events:
                    return True
            time.sleep(0.02)
        return False

    def _serve(self, c):
        try:
            c.settimeout(30)
            if self.ctx:
                c = self.ctx.wrap_socket(c, server_side=True)
            r = Reader(c)
            while True:
                head = r.head(timeout=30)
                line, headers = parse_head(head)
                method, path = line.split(" ")[0], line.split(" ")[1]
                with self.lock:
                    self.requests.append((method, path, headers))
                if path in ("/echo", "/first-frame") and \
                        headers.get("upgrade", "").lower() == "websocket" and \
                        "upgrade" in headers.get("connection", "").lower():
                    self._websocket(c, r, path, headers)
                    return
                if path == "/rogue-101":
                    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              b"Connection: Upgrade\r\n\r\n")
                    return
                status, hdrs, body = self.routes.get(path, (404, {}, b"not found\n"))
                if path == "/no-upgrade":
                    status, hdrs, body = 200, {"Content-Type": "text/plain"}, b"no upgrade here\n"
                if callable(body):
                    body = body()
                out = "HTTP/1.1 %d X\r\nContent-Length: %d\r\n" % (status, len(body))
                out += "".join("%s: %s\r\n" % kv for kv in hdrs.items())
                c.sendall(out.encode() + b"\r\n" + body)
        except (EOFError, TimeoutError, OSError, ValueError, IndexError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _websocket(self, c, r, path, headers):
        resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: %s\r\n\r\n" % accept_of(headers.get("sec-websocket-key", "")))
        data = resp.encode()
        if path == "/first-frame":
            data += encode_frame(b"welcome", mask=False)
        c.sendall(data)
        while True:
            try:
                op, payload = r.frame(timeout=60)
            except (EOFError, OSError):
                self.event("eof", path)
                return
            if op == 8:  # close: answer it and close
                c.sendall(encode_frame(payload[:2], opcode=8, mask=False))
                self.event("eof", path)
                return
            if op == 1 and payload == b"close-now":
                self.event("closed", path)
                c.shutdown(socket.SHUT_RDWR)
                return
            if op in (1, 2):
                c.sendall(encode_frame(payload, opcode=op, mask=False))

    def close(self):
        self.stopping = True
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass
        self.thread.join(2)


# --------------------------------------------------------------------------- setup

def policy(hosts, sanitize=None):
    """hosts: name -> port; every agent rule uses the default tls mode (mitm)."""
    lines = ["version: 1", "agents:", "  - name: bot", "    secret_sha256: %s" % agtest.hash_secret(SECRET)]
    if sanitize:
        lines.append("    sanitize: %s" % sanitize)
    lines.append("    allow:")
    for name, port in hosts.items():
        lines += ["      - host: %s" % name, "        ports: [%d]" % port]
    lines.append("    private_exceptions:")
    for name in hosts:
        lines.append("      - host: %s" % name)
    return "\n".join(lines) + "\n"


def cred_header():
    return "Proxy-Authorization: Basic %s\r\n" % base64.b64encode(("bot:" + SECRET).encode()).decode()


def start_plain(t, config_extra=""):
    origin = WsOrigin()
    t._origins.append(origin)
    proxy = t.proxy(policy=policy({"ws.test": origin.port}),
                    hosts={"ws.test": "127.0.0.1", "denied.test": "127.0.0.1"},
                    config_extra=config_extra)
    return origin, proxy


def upgrade_request(target, host, extra=""):
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n" % (target, host, key, extra))
    return req.encode(), key


def open_plain(proxy, origin, path="/echo"):
    """A WebSocket through the proxy to http://ws.test; returns (sock, reader, head, key)."""
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT)
    req, key = upgrade_request("http://ws.test:%d%s" % (origin.port, path), "ws.test:%d" % origin.port,
                               cred_header())
    s.sendall(req)
    r = Reader(s)
    return s, r, r.head(), key


def check_switched(head, key):
    line, headers = parse_head(head)
    check(status_of(line) == 101, "expected a 101:", head)
    check(headers.get("upgrade", "").lower() == "websocket", head)
    check("upgrade" in headers.get("connection", "").lower(), head)
    check(headers.get("sec-websocket-accept") == accept_of(key), "accept key relayed", head)


def echo_roundtrips(sock, r):
    for payload, op in ((b"hello through agentgate", 1), (os.urandom(70000), 2), (b"", 1)):
        sock.sendall(encode_frame(payload, opcode=op))
        got = r.frame()
        check(got == (op, payload), "echo of %d bytes" % len(payload), got[0], len(got[1]))


def wait_log(proxy, needle, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in proxy.log():
            return True
        time.sleep(0.05)
    return False


def exchange_lines(proxy):
    return [ln for ln in proxy.log().splitlines() if "event=exchange" in ln]


# --------------------------------------------------------------------------- tests

@test
def websocket_echo_through_plain_http(t):
    origin, proxy = start_plain(t)
    s, r, head, key = open_plain(proxy, origin)
    check_switched(head, key)
    echo_roundtrips(s, r)
    method, path, headers = origin.requests[-1]
    check(path == "/echo" and headers.get("upgrade") == "websocket", "upgrade forwarded", headers)
    check("upgrade" in headers.get("connection", "").lower(), headers)
    check("proxy-authorization" not in headers, "credentials not forwarded", headers)
    s.sendall(encode_frame(b"\x03\xe8", opcode=8))
    check(r.frame() == (8, b"\x03\xe8"), "close frame answered")
    check(r.closed_within(), "relay ends after the origin closes")
    s.close()
    check(wait_log(proxy, "status=101"), proxy.log()[-1500:])
    line = [ln for ln in exchange_lines(proxy) if "status=101" in ln][0]
    check("method=GET" in line and "host=ws.test" in line and "path=/echo" in line and
          "decision=allow" in line, line)
    check(" bytes_in=" in line and "bytes_in=0 " not in line, "relayed bytes counted", line)
    check(proxy.stop() == 0, "exit code")
    r = t.agentgate("history", "--data-dir", t.path("data"), "--format", "jsonl", "--limit", "10")
    check(r.rc == 0, r)
    recs = [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]
    ws = [x for x in recs if x.get("status") == 101]
    check(len(ws) == 1, "one record with status 101", recs)
    check(ws[0]["url"] == "http://ws.test:%d/echo" % origin.port and ws[0]["decision"] == "allow" and
          ws[0]["method"] == "GET" and ws[0]["agent"] == "bot", ws[0])


@test
def first_frame_sent_with_the_101_is_relayed(t):
    origin, proxy = start_plain(t)
    s, r, head, key = open_plain(proxy, origin, "/first-frame")
    check_switched(head, key)
    check(r.frame() == (1, b"welcome"), "frame that came with the 101 head")
    echo_roundtrips(s, r)
    s.close()


@test
def refused_host_gets_403_and_origin_sees_nothing(t):
    origin, proxy = start_plain(t)
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT)
    req, _ = upgrade_request("http://denied.test:%d/echo" % origin.port, "denied.test", cred_header())
    s.sendall(req)
    head = Reader(s).head()
    s.close()
    check(status_of(head) == 403, head)
    check("X-Agentgate-Reason: host not in allowlist" in head, head)
    time.sleep(0.3)
    check(origin.accepts == 0, "the refused origin saw a connection")


@test
def origin_answering_200_is_a_normal_response(t):
    origin, proxy = start_plain(t)
    s, r, head, key = open_plain(proxy, origin, "/no-upgrade")
    check(status_of(head) == 200, head)
    _, headers = parse_head(head)
    check("upgrade" not in headers, head)
    check(r.exact(int(headers["content-length"])) == b"no upgrade here\n")
    # the connection is still an HTTP connection
    s.sendall(("GET http://ws.test:%d/no-upgrade HTTP/1.1\r\nHost: ws.test\r\n%s\r\n"
               % (origin.port, cred_header())).encode())
    head = r.head()
    check(status_of(head) == 200, "keep-alive after a refused upgrade", head)
    s.close()


@test
def rogue_101_without_an_upgrade_request_is_a_502(t):
    origin, proxy = start_plain(t)
    resp = agtest.raw_request(proxy.port, ("GET http://ws.test:%d/rogue-101 HTTP/1.1\r\nHost: ws.test\r\n"
                                           "%s\r\n" % (origin.port, cred_header())).encode())
    check(resp.startswith(b"HTTP/1.1 502"), resp[:300])
    check(b"switched protocols without an upgrade request" in resp, resp[:400])


@test
def h2c_upgrade_is_still_stripped(t):
    origin, proxy = start_plain(t)
    origin.routes["/plain"] = (200, {"Content-Type": "text/plain"}, b"plain http/1.1\n")
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT)
    s.sendall(("GET http://ws.test:%d/plain HTTP/1.1\r\nHost: ws.test\r\n"
               "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n"
               "%s\r\n" % (origin.port, cred_header())).encode())
    r = Reader(s)
    head = r.head()
    check(status_of(head) == 200 and r.exact(15) == b"plain http/1.1\n", head)
    s.close()
    _, _, headers = origin.requests[-1]
    check("upgrade" not in headers and "http2-settings" not in headers and "connection" not in headers,
          "h2c upgrade forwarded", headers)


@test
def closing_either_side_ends_the_relay(t):
    origin, proxy = start_plain(t)
    # the client closes its TCP connection without a close frame
    s, r, head, key = open_plain(proxy, origin)
    check_switched(head, key)
    echo_roundtrips(s, r)
    s.close()
    check(origin.wait_event(("eof", "/echo")), "origin saw the client's close", origin.events)

    # the origin closes first
    with origin.lock:
        origin.events.clear()
    s, r, head, key = open_plain(proxy, origin)
    check_switched(head, key)
    s.sendall(encode_frame(b"close-now"))
    check(origin.wait_event(("closed", "/echo")), origin.events)
    check(r.closed_within(), "client saw the origin's close")
    s.close()
    with origin.lock:
        origin.events.clear()

    # the client half-closes: the relay ends, both sides are closed
    s, r, head, key = open_plain(proxy, origin)
    check_switched(head, key)
    s.sendall(encode_frame(b"last words"))
    check(r.frame() == (1, b"last words"))
    s.shutdown(socket.SHUT_WR)
    check(origin.wait_event(("eof", "/echo")), "origin saw the half-close", origin.events)
    check(r.closed_within(), "half-closed relay closed")
    s.close()
    check(wait_log(proxy, "status=101"), proxy.log()[-1500:])
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and \
            len([ln for ln in exchange_lines(proxy) if "status=101" in ln]) < 3:
        time.sleep(0.05)
    check(len([ln for ln in exchange_lines(proxy) if "status=101" in ln]) == 3,
          "one log line per relay", exchange_lines(proxy))


@test
def tunnel_idle_timeout_applies(t):
    origin, proxy = start_plain(t, config_extra="timeouts:\n  tunnel_idle: 2\n")
    s, r, head, key = open_plain(proxy, origin)
    check_switched(head, key)
    echo_roundtrips(s, r)
    start = time.monotonic()
    check(r.closed_within(8), "idle relay was not closed")
    waited = time.monotonic() - start
    check(1.5 <= waited <= 6, "closed after %.1fs, tunnel_idle is 2s" % waited)
    check(origin.wait_event(("eof", "/echo")), origin.events)
    s.close()
    check(wait_log(proxy, "tunnel idle for 2s"), proxy.log()[-1500:])


class MitmSetup:
    """An HTTPS WebSocket origin for secure.test (its own test CA is agentgate's
    tls.upstream_ca_file) and agentgate intercepting it."""

    def __init__(self, t, routes=None, listener_agent=None):
        self.pki = tlsfixtures.TestPKI(t.tmpdir)
        cert, key = self.pki.cert("secure.test")
        self.origin = WsOrigin(routes, cert, key)
        t._origins.append(self.origin)
        listeners = None
        if listener_agent:
            listeners = [("127.0.0.1", agtest.free_port(), listener_agent)]
        self.proxy = t.proxy(policy=policy({"secure.test": self.origin.port}, sanitize="off"),
                             hosts={"secure.test": "127.0.0.1", "denied.test": "127.0.0.1"},
                             listeners=listeners,
                             config_extra="tls:\n  upstream_ca_file: %s\n" % self.pki.ca_pem)
        self.ca_pem = t.path("data", "ca", "ca.pem")

    def tunnel(self):
        s = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=WAIT)
        port = self.origin.port
        s.sendall(("CONNECT secure.test:%d HTTP/1.1\r\nHost: secure.test:%d\r\n%s\r\n"
                   % (port, port, cred_header())).encode())
        head = Reader(s).head()
        check(status_of(head) == 200, head)
        ctx = ssl.create_default_context(cafile=self.ca_pem)
        return ctx.wrap_socket(s, server_hostname="secure.test")


@test
def wss_echo_through_mitm(t):
    m = MitmSetup(t)
    tls = m.tunnel()
    req, key = upgrade_request("/echo", "secure.test:%d" % m.origin.port)
    tls.sendall(req)
    r = Reader(tls)
    check_switched(r.head(), key)
    echo_roundtrips(tls, r)
    big = os.urandom(3 << 20)  # larger than the relay's buffers: backpressure both ways
    tls.sendall(encode_frame(big, opcode=2))
    check(r.frame(timeout=30) == (2, big), "3 MiB echo through the intercepted relay")
    method, path, headers = m.origin.requests[-1]
    check(headers.get("upgrade") == "websocket" and "sec-websocket-key" in headers, headers)
    tls.sendall(encode_frame(b"close-now"))
    check(r.closed_within(), "relay inside the tunnel ends with the origin's close")
    tls.close()
    check(wait_log(m.proxy, "status=101"), m.proxy.log()[-1500:])
    line = [ln for ln in exchange_lines(m.proxy) if "status=101" in ln][0]
    check("host=secure.test" in line and "path=/echo" in line and "decision=allow" in line, line)
    check(m.proxy.stop() == 0, "exit code")
    r = t.agentgate("history", "--data-dir", t.path("data"), "--format", "jsonl", "--limit", "10")
    recs = [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]
    ws = [x for x in recs if x.get("status") == 101]
    check(len(ws) == 1 and ws[0]["url"] == "https://secure.test:%d/echo" % m.origin.port and
          ws[0]["method"] == "GET" and ws[0]["decision"] == "allow", recs)


@test
def wss_first_request_then_upgrade_on_a_kept_alive_tunnel(t):
    m = MitmSetup(t, routes={"/page": (200, {"Content-Type": "text/plain"}, b"page first\n")})
    tls = m.tunnel()
    r = Reader(tls)
    tls.sendall(b"GET /page HTTP/1.1\r\nHost: secure.test:%d\r\n\r\n" % m.origin.port)
    head = r.head()
    check(status_of(head) == 200 and r.exact(11) == b"page first\n", head)
    req, key = upgrade_request("/first-frame", "secure.test:%d" % m.origin.port)
    tls.sendall(req)
    check_switched(r.head(), key)
    check(r.frame() == (1, b"welcome"))
    echo_roundtrips(tls, r)
    tls.close()
    check(m.origin.wait_event(("eof", "/first-frame")), m.origin.events)


@test
def wss_domain_fronting_is_refused(t):
    m = MitmSetup(t)
    tls = m.tunnel()
    req, _ = upgrade_request("/echo", "denied.test:%d" % m.origin.port)
    tls.sendall(req)
    head = Reader(tls).head()
    tls.close()
    check(status_of(head) == 403 and "does not match" in head, head)
    check(len(m.origin.requests) == 0, m.origin.requests)


CHROMIUM_PAGE = b"""<!doctype html><html><head><title>ws</title></head><body>
<p id=out>waiting</p><img src="/until-echoed" alt="">
<script>
const out = document.getElementById("out");
const ws = new WebSocket("wss://" + location.host + "/echo");
ws.onopen = () => ws.send("echo through agentgate");
ws.onmessage = (e) => { out.textContent = "received: " + e.data; ws.close(); };
ws.onerror = () => { out.textContent = "websocket error"; };
</script></body></html>"""


@test
def chromium_opens_wss_through_mitm(t):
    echoed = threading.Event()

    def until_echoed():
        # Holds the page's load event (and so --dump-dom) until the origin has echoed.
        echoed.wait(15)
        time.sleep(0.5)
        return b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"

    m = MitmSetup(t, routes={"/": (200, {"Content-Type": "text/html"}, CHROMIUM_PAGE),
                             "/until-echoed": (200, {"Content-Type": "image/gif"}, until_echoed),
                             "/favicon.ico": (404, {}, b"")},
                  listener_agent="bot")
    # the page got its echo shortly after the origin accepted the WebSocket
    def watch():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with m.origin.lock:
                if any(p == "/echo" for _, p, _ in m.origin.requests):
                    break
            time.sleep(0.05)
        time.sleep(0.5)
        echoed.set()
    threading.Thread(target=watch, daemon=True).start()

    pin = t.agentgate("ca", "spki", "--dir", t.path("data", "ca"), check_rc=0).stdout.decode().strip()
    r = t.chromium("https://secure.test:%d/" % m.origin.port, proxy="http://127.0.0.1:%d" % m.proxy.port,
                   extra=["--ignore-certificate-errors-spki-list=" + pin], timeout=90)
    check(b"received: echo through agentgate" in r.stdout, "echo not in the DOM", r)
    check(wait_log(m.proxy, "status=101"), m.proxy.log()[-1500:])


agtest.main()
