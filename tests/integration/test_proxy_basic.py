"""agentgate proxy core through curl and raw sockets: allowed, denied, 407 then success, bound
listeners, the address guard and its policy exception, origin-form requests, upstream failures
(502/504), keep-alive and pipelining, HEAD/204/304 framing, hop-by-hop headers, streaming of
large bodies in both directions, and SIGTERM."""

import hashlib
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
from agtest import check, test  # noqa: E402

SECRET = "bot-secret"


def policy_for(port, extra_allow="", private="docs.test"):
    return """version: 1
agents:
  - name: bot
    secret_sha256: %s
    allow:
      - host: docs.test
        ports: [%d]
      - host: guarded.test
        ports: [%d]
      - host: nxdomain.test
        ports: [%d]
      - host: closed.test
        ports: [1]
%s    private_exceptions:
      - host: %s
      - host: closed.test
""" % (agtest.hash_secret(SECRET), port, port, port, extra_allow, private)


HOSTS = {"docs.test": "127.0.0.1", "guarded.test": "127.0.0.1", "closed.test": "127.0.0.1"}


def start(t, routes, **kw):
    origin = t.origin(routes)
    proxy = t.proxy(policy=policy_for(origin.port), hosts=HOSTS, **kw)
    return origin, proxy


def auth():
    return ("--proxy-user", "bot:" + SECRET)


def read_responses(sock, n, timeout=10.0):
    """Reads n Content-Length-framed responses from sock; returns [(status, headers, body)]."""
    sock.settimeout(timeout)
    buf = b""
    out = []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return out
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        while len(buf) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        out.append((int(lines[0].split()[1]), headers, buf[:length]))
        buf = buf[length:]
    return out


def log_when(proxy, text, timeout=5.0):
    """The proxy log once it contains text: an exchange is logged right after its last byte is
    handed to the client, so a client can finish first."""
    deadline = time.monotonic() + timeout
    while text not in proxy.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proxy.log()


def basic_header():
    import base64
    return "Proxy-Authorization: Basic %s\r\n" % base64.b64encode(("bot:" + SECRET).encode()).decode()


@test
def allowed_request_is_forwarded(t):
    origin, proxy = start(t, {"/": (200, {"Content-Type": "text/plain"}, b"hello\n")})
    r = t.curl("-x", proxy.url, *auth(), "http://docs.test:%d/?q=1" % origin.port)
    check(r.status == 200 and r.body == b"hello\n", r)
    method, path, headers, _ = origin.requests[-1]
    check(path == "/?q=1", path)
    lower = {k.lower(): v for k, v in headers.items()}
    check("proxy-authorization" not in lower, "Proxy-Authorization forwarded", headers)
    check(lower.get("host") == "docs.test:%d" % origin.port, headers)
    log = log_when(proxy, "status=200")
    check("event=exchange" in log and "agent=bot" in log and "status=200" in log, log)
    check(SECRET not in log, "secret in log")


@test
def denied_host_gets_403_with_reason(t):
    origin, proxy = start(t, {"/": (200, {}, b"x")})
    r = t.curl("-x", proxy.url, *auth(), "http://other.test:%d/" % origin.port)
    check(r.status == 403, r)
    check("not in allowlist" in r.headers.get("x-agentgate-reason", ""), r)
    check(r.headers.get("x-agentgate-request-id"), r)
    check(r.headers.get("content-type", "").startswith("text/plain"), r)
    check(origin.count() == 0, "origin reached")
    # A denied port on an allowed host is a 403 too, never a 407.
    r = t.curl("-x", proxy.url, *auth(), "http://docs.test:1/")
    check(r.status == 403, r)


@test
def missing_or_wrong_credentials_get_407_then_success(t):
    origin, proxy = start(t, {"/": (200, {}, b"ok")})
    r = t.curl("-x", proxy.url, "http://docs.test:%d/" % origin.port)
    check(r.status == 407, r)
    check(r.headers.get("proxy-authenticate") == 'Basic realm="agentgate"', r)
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:wrong", "http://docs.test:%d/" % origin.port)
    check(r.status == 407, r)
    r = t.curl("-x", proxy.url, "--proxy-user", "nobody:x", "http://docs.test:%d/" % origin.port)
    check(r.status == 407, r)
    check(origin.count() == 0, "origin reached without credentials")
    # The connection stays open after a 407: the retry with credentials uses it.
    with socket.create_connection(("127.0.0.1", proxy.port)) as s:
        req = "GET http://docs.test:%d/ HTTP/1.1\r\nHost: docs.test\r\n\r\n" % origin.port
        s.sendall(req.encode())
        first = read_responses(s, 1)
        check(first and first[0][0] == 407, first)
        s.sendall(req.replace("\r\n\r\n", "\r\n" + basic_header() + "\r\n").encode())
        second = read_responses(s, 1)
        check(second and second[0][0] == 200 and second[0][2] == b"ok", second)


@test
def bound_listener_needs_no_credentials(t):
    origin = t.origin({"/": (200, {}, b"bound")})
    port2 = agtest.free_port()
    proxy = t.proxy(policy=policy_for(origin.port), hosts=HOSTS,
                    listeners=[("127.0.0.1", agtest.free_port(), None), ("127.0.0.1", port2, "bot")])
    r = t.curl("-x", "http://127.0.0.1:%d" % port2, "http://docs.test:%d/" % origin.port)
    check(r.status == 200 and r.body == b"bound", r)


@test
def ipv6_listener(t):
    origin = t.origin({"/": (200, {}, b"v6")})
    port = agtest.free_port(socket.AF_INET6)
    proxy = t.proxy(policy=policy_for(origin.port), hosts=HOSTS, listeners=[("::1", port, "bot")])
    r = t.curl("-x", "http://[::1]:%d" % port, "http://docs.test:%d/" % origin.port)
    check(r.status == 200 and r.body == b"v6", r)
    check("address=[::1]:%d" % port in proxy.log(), proxy.log())


@test
def guard_refuses_loopback_unless_policy_names_it(t):
    origin, proxy = start(t, {"/": (200, {}, b"x")})
    r = t.curl("-x", proxy.url, *auth(), "http://guarded.test:%d/" % origin.port)
    check(r.status == 403, r)
    check(r.headers.get("x-agentgate-reason") == "address 127.0.0.1 of guarded.test is loopback", r)
    check(origin.count() == 0, "origin reached")
    # IP literals go through the same guard.
    r = t.curl("-x", proxy.url, *auth(), "http://127.0.0.1:%d/" % origin.port)
    check(r.status == 403, r)
    # docs.test resolves to 127.0.0.1 too, but the policy's private exception names it.
    r = t.curl("-x", proxy.url, *auth(), "http://docs.test:%d/" % origin.port)
    check(r.status == 200, r)


@test
def origin_form_request_is_told_to_use_a_proxy(t):
    origin, proxy = start(t, {"/": (200, {}, b"x")})
    r = t.curl("http://127.0.0.1:%d/" % proxy.port)
    check(r.status == 400, r)
    check(b"configure it as your HTTP proxy" in r.body, r)
    check(r.headers.get("connection") == "close", r)


@test
def upstream_failures_are_named(t):
    origin, proxy = start(t, {"/": (200, {}, b"x")})
    r = t.curl("-x", proxy.url, *auth(), "http://nxdomain.test:%d/" % origin.port)
    check(r.status == 502, r)
    check("DNS lookup of nxdomain.test failed" in r.headers.get("x-agentgate-reason", ""), r)
    r = t.curl("-x", proxy.url, *auth(), "http://closed.test:1/")
    check(r.status == 502, r)
    check("Connection refused" in r.headers.get("x-agentgate-reason", ""), r)


@test
def response_timeout_is_504(t):
    def slow(handler, body):
        time.sleep(4)
        return 200, {}, b"late"
    origin = t.origin({"/slow": slow})
    proxy = t.proxy(policy=policy_for(origin.port), hosts=HOSTS,
                    config_extra="timeouts: { response: 1 }\n")
    r = t.curl("-x", proxy.url, *auth(), "http://docs.test:%d/slow" % origin.port)
    check(r.status == 504, r)
    check("did not respond within 1s" in r.headers.get("x-agentgate-reason", ""), r)


@test
def keep_alive_and_pipelining_answer_in_order(t):
    routes = {"/%d" % i: (200, {"Content-Type": "text/plain"}, b"body-%d" % i) for i in range(5)}
    origin, proxy = start(t, routes)
    with socket.create_connection(("127.0.0.1", proxy.port)) as s:
        reqs = "".join("GET http://docs.test:%d/%d HTTP/1.1\r\nHost: docs.test\r\n%s\r\n"
                       % (origin.port, i, basic_header()) for i in range(5))
        s.sendall(reqs.encode())
        got = read_responses(s, 5)
        check([b for _, _, b in got] == [b"body-%d" % i for i in range(5)], got)
        # and the connection is still usable afterwards
        s.sendall(("GET http://docs.test:%d/0 HTTP/1.1\r\nHost: docs.test\r\n%s\r\n"
                   % (origin.port, basic_header())).encode())
        check(read_responses(s, 1)[0][2] == b"body-0")
    # curl reuses the client connection for several URLs
    r = t.curl("-x", proxy.url, *auth(), "http://docs.test:%d/1" % origin.port,
               "http://docs.test:%d/2" % origin.port, "-w", "%{num_connects}")
    check(r.rc == 0 and r.body.endswith(b"body-2" + b"0"), r)


@test
def head_204_304_and_chunked_framing(t):
    routes = {
        "/head": (200, {"Content-Type": "text/plain", "Content-Length": "1234"}, b""),
        "/nocontent": (204, {}, b""),
        "/notmod": (304, {"ETag": "\"x\""}, b""),
        "/chunked": (200, {"Content-Type": "text/plain"}, [b"part1-", b"part2-", b"part3"]),
    }
    origin, proxy = start(t, routes)
    with socket.create_connection(("127.0.0.1", proxy.port)) as s:
        s.settimeout(5)
        hdr = "Host: docs.test\r\n" + basic_header()
        s.sendall(("HEAD http://docs.test:%d/head HTTP/1.1\r\n%s\r\n"
                   "GET http://docs.test:%d/nocontent HTTP/1.1\r\n%s\r\n"
                   "GET http://docs.test:%d/notmod HTTP/1.1\r\n%s\r\n"
                   "GET http://docs.test:%d/head HTTP/1.1\r\n%s\r\n"
                   % (origin.port, hdr, origin.port, hdr, origin.port, hdr, origin.port, hdr)).encode())
        buf = b""
        deadline = time.monotonic() + 5
        while buf.count(b"HTTP/1.1 ") < 4 and time.monotonic() < deadline:
            buf += s.recv(65536)
        heads = buf.split(b"HTTP/1.1 ")[1:]
        check(len(heads) == 4, buf)
        check(heads[0].startswith(b"200") and b"Content-Length: 1234" in heads[0], heads[0])
        check(heads[1].startswith(b"204") and heads[1].endswith(b"\r\n\r\n"), heads[1])
        check(heads[2].startswith(b"304"), heads[2])
        check(heads[3].startswith(b"200"), heads[3])
    r = t.curl("-x", proxy.url, *auth(), "http://docs.test:%d/chunked" % origin.port)
    check(r.status == 200 and r.body == b"part1-part2-part3", r)
    check(r.headers.get("transfer-encoding") == "chunked", r)


@test
def hop_by_hop_headers_are_not_forwarded(t):
    origin, proxy = start(t, {"/": (200, {"Connection": "X-Private", "X-Private": "p",
                                          "X-Public": "ok"}, b"x")})
    r = t.curl("-x", proxy.url, *auth(), "-H", "Connection: X-Hop", "-H", "X-Hop: secret",
               "-H", "Keep-Alive: 10", "-H", "Upgrade: h2c", "-H", "X-End: e",
               "http://docs.test:%d/" % origin.port)
    check(r.status == 200, r)
    lower = {k.lower(): v for k, v in origin.requests[-1][2].items()}
    for h in ("x-hop", "keep-alive", "upgrade", "proxy-authorization", "proxy-connection"):
        check(h not in lower, "forwarded", h, lower)
    check(lower.get("x-end") == "e", lower)
    check("x-private" not in r.headers and r.headers.get("x-public") == "ok", r)


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


@test
def large_bodies_are_streamed_both_ways(t):
    size = 48 * 1024 * 1024
    payload = os.urandom(1024 * 1024) * 48
    digest = hashlib.sha256(payload).hexdigest()

    def upload(handler, body):
        return 200, {"Content-Type": "text/plain"}, hashlib.sha256(body).hexdigest().encode()
    # ASan's quarantine keeps freed memory resident; shrink it so RSS shows what is retained.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1").lstrip(":")
    origin = t.origin({"/big": (200, {"Content-Type": "application/octet-stream"}, payload),
                       "/upload": upload})
    proxy = t.proxy(policy=policy_for(origin.port), hosts=HOSTS, env=env)
    # Warm up, then measure the peak RSS growth while 48 MiB go each way.
    t.curl("-x", proxy.url, *auth(), "http://docs.test:%d/upload" % origin.port, "-d", "x")
    before = vm_hwm_kb(proxy.proc.pid)
    out = t.path("down.bin")
    r = t.curl("-x", proxy.url, *auth(), "-o", out, "http://docs.test:%d/big" % origin.port,
               timeout=120)
    check(r.rc == 0, r)
    with open(out, "rb") as f:
        body = f.read().partition(b"\r\n\r\n")[2]  # agtest's curl runs with -i
        check(hashlib.sha256(body).hexdigest() == digest, "download corrupted", len(body))
    src = t.path("up.bin")
    with open(src, "wb") as f:
        f.write(payload)
    r = t.curl("-x", proxy.url, *auth(), "--data-binary", "@" + src,
               "http://docs.test:%d/upload" % origin.port, timeout=120)
    check(r.status == 200 and r.body.decode() == digest, r)
    # chunked (4 MiB: the test origin de-chunks slowly)
    with open(src, "wb") as f:
        f.write(payload[:4 * 1024 * 1024])
    r = t.curl("-x", proxy.url, *auth(), "-H", "Transfer-Encoding: chunked", "--data-binary",
               "@" + src, "http://docs.test:%d/upload" % origin.port, timeout=120)
    check(r.status == 200 and r.body.decode() == hashlib.sha256(payload[:4 << 20]).hexdigest(),
          "chunked upload", r)
    growth = vm_hwm_kb(proxy.proc.pid) - before
    check(growth < size // 1024 // 2, "peak RSS grew by %d KiB: bodies were buffered" % growth)


@test
def sigterm_lets_inflight_exchange_finish(t):
    def slow(handler, body):
        time.sleep(1.5)
        return 200, {}, b"finished"
    origin = t.origin({"/slow": slow})
    proxy = t.proxy(policy=policy_for(origin.port), hosts=HOSTS)
    result = {}

    def fetch():
        result["r"] = t.curl("-x", proxy.url, *auth(), "http://docs.test:%d/slow" % origin.port)
    th = threading.Thread(target=fetch)
    th.start()
    time.sleep(0.5)
    proxy.signal(signal.SIGTERM)
    th.join(20)
    check(result["r"].status == 200 and result["r"].body == b"finished", result["r"])
    check(proxy.proc.wait(15) == 0, "exit code", proxy.proc.returncode)
    check(not agtest.wait_port("127.0.0.1", proxy.port, timeout=0.5), "still accepting")


@test
def slow_request_head_gets_408(t):
    origin = t.origin({"/": (200, {}, b"x")})
    proxy = t.proxy(policy=policy_for(origin.port), hosts=HOSTS,
                    config_extra="timeouts: { header: 1 }\n")
    start = time.monotonic()
    resp = agtest.raw_request(proxy.port, b"GET http://docs.test:%d/ HTTP/1.1\r\nHost: do" % origin.port,
                              timeout=5)
    check(resp.startswith(b"HTTP/1.1 408"), resp)
    check(time.monotonic() - start < 4, "took too long")
    # an idle connection without any byte is closed silently
    check(agtest.raw_request(proxy.port, b"", timeout=5) == b"")


@test
def connections_beyond_the_limit_get_503(t):
    origin = t.origin({"/": (200, {}, b"x")})
    proxy = t.proxy(policy=policy_for(origin.port), hosts=HOSTS,
                    config_extra="limits: { max_connections: 2 }\n")
    held = [socket.create_connection(("127.0.0.1", proxy.port)) for _ in range(2)]
    try:
        time.sleep(0.3)
        resp = agtest.raw_request(proxy.port, b"", timeout=3)
        check(resp.startswith(b"HTTP/1.1 503"), resp)
        check(b"too many connections" in resp, resp)
    finally:
        for s in held:
            s.close()
    time.sleep(0.3)
    r = t.curl("-x", proxy.url, *auth(), "http://docs.test:%d/" % origin.port)
    check(r.status == 200, "not accepting after connections closed", r)


@test
def report_only_agent_is_logged_not_refused(t):
    origin = t.origin({"/": (200, {}, b"watched")})
    policy = """version: 1
agents:
  - name: watcher
    mode: report-only
    allow:
      - host: allowed.test
    private_exceptions:
      - host: docs.test
"""
    port = agtest.free_port()
    proxy = t.proxy(policy=policy, hosts=HOSTS, listeners=[("127.0.0.1", port, "watcher")])
    r = t.curl("-x", proxy.url, "http://docs.test:%d/" % origin.port)
    check(r.status == 200 and r.body == b"watched", r)
    line = [l for l in log_when(proxy, "event=exchange").splitlines() if "event=exchange" in l][-1]
    check("decision=report-only-deny" in line and "report-only:" in line, line)


@test
def kept_alive_upstream_closed_under_a_request_is_retried(t):
    """The origin answers the first request of a connection, then closes the connection when the
    second request arrives: a GET is sent again on a new connection, never a 502."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    port = ls.getsockname()[1]
    served = []

    def serve():
        while True:
            try:
                conn, _ = ls.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    b = conn.recv(4096)
                    if not b:
                        break
                    buf += b
                if not buf:
                    continue
                served.append(buf.split(b" ")[1])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                conn.recv(4096)  # the next request on this connection: closed unanswered
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        proxy = t.proxy(policy=policy_for(port), hosts=HOSTS)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
            for i in range(3):
                s.sendall(("GET http://docs.test:%d/%d HTTP/1.1\r\nHost: docs.test\r\n%s\r\n"
                           % (port, i, basic_header())).encode())
                got = read_responses(s, 1)
                check(got and got[0][0] == 200 and got[0][2] == b"ok", i, got)
        check(served == [b"/0", b"/1", b"/2"], served)
    finally:
        ls.close()


agtest.main()
