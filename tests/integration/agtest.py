"""agtest: the integration-test harness. Starts loopback origins, writes hosts files and
configs, runs the real agentgate binary (env AGENTGATE_BIN) and real clients (curl, Chromium),
and reports "N passed, N failed". Standard library only.

A test file looks like:

    import agtest
    from agtest import test, check

    @test
    def allowed_request(t):
        origin = t.origin({"/": (200, {"Content-Type": "text/html"}, b"<p>hi</p>")})
        proxy = t.proxy(policy=..., hosts={"docs.test": "127.0.0.1"})
        r = t.curl("-x", proxy.url, "http://docs.test:%d/" % origin.port)
        check(r.status == 200, r)

    agtest.main()

Every process a test starts is stopped by PID when the test ends; every temp dir is removed.
"""

import hashlib
import http.server
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

BIN = os.environ.get("AGENTGATE_BIN") or os.path.join(
    os.environ.get("AG_SOURCE_DIR", "."), "build", "agentgate")
SOURCE_DIR = os.environ.get("AG_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED_DIR = os.environ.get("AG_SHARED_DIR") or os.path.abspath(
    os.path.join(SOURCE_DIR, "..", "shared"))

_tests = []


class CheckFailed(Exception):
    pass


def test(fn):
    """Registers a test function taking one argument, the per-test context."""
    _tests.append(fn)
    return fn


def check(cond, *what):
    if not cond:
        raise CheckFailed(" ".join(str(w) for w in what) or "check failed")


STRICT_READER_POLICY = """
version: 1
private_exceptions:
  - cidr: 127.0.0.1/32
agents:
  - name: reader
    sanitize: strict
    allow:
      - host: pages.test
        ports: [%(port)d]
"""


def hash_secret(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def free_port(family=socket.AF_INET):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1" if family == socket.AF_INET else "::1", 0))
        return s.getsockname()[1]


def wait_port(host, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# --------------------------------------------------------------------------- origins

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def _serve(self):
        origin = self.server.origin
        body = self._read_body()
        with origin.lock:
            origin.requests.append(self._request_record(body))
        path = self.path.split("?", 1)[0]
        route = origin.routes.get(path) or origin.routes.get("*")
        if route is None:
            status, headers, payload = 404, {"Content-Type": "text/plain"}, b"not found\n"
        elif callable(route):
            status, headers, payload = route(self, body)
        else:
            status, headers, payload = route
        self._respond(status, headers, payload)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _request_record(self, body):
        """What .requests keeps of one request; subclasses may add fields."""
        return (self.command, self.path, dict(self.headers.items()), body)

    def _respond(self, status, headers, payload):
        self.send_response(status)
        headers = dict(headers)
        if isinstance(payload, (list, tuple)):  # chunked, one chunk per item
            headers["Transfer-Encoding"] = "chunked"
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            for part in payload:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        if "Content-Length" not in headers and status not in (204, 304):
            headers["Content-Length"] = str(len(payload))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(payload)

    def _read_chunked(self):
        out = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_OPTIONS = do_PATCH = _serve


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Origin:
    """An HTTP(S) origin on 127.0.0.1. routes: path -> (status, headers, body) or
    callable(handler, body) -> (status, headers, body). body may be a list (sent chunked).
    Every request is recorded in .requests as (method, path, headers, body)."""

    def __init__(self, routes, tls_cert=None, tls_key=None):
        self.routes = dict(routes)
        self.requests = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.origin = self
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- the proxy

class Proxy:
    """A running agentgate. Use Context.proxy() to start one."""

    def __init__(self, ctx, config_text, listeners, extra_args, env):
        self.ctx = ctx
        self.dir = ctx.tmpdir
        self.config_path = os.path.join(self.dir, "agentgate.yaml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.log_path = os.path.join(self.dir, "agentgate.log")
        self.listeners = listeners
        self.port = listeners[0][1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "run", "--config", self.config_path] + list(extra_args),
                                     stdout=self._log, stderr=self._log, env=env)
        self.wait_listening()

    def wait_listening(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CheckFailed("agentgate exited with %s:\n%s" % (self.proc.returncode, self.log()))
            if self.log().count("event=listening") >= len(self.listeners):
                return
            time.sleep(0.05)
        raise CheckFailed("agentgate did not start listening:\n" + self.log())

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20.0):
        """SIGTERM, wait; SIGKILL only if it does not exit. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.stdout, self.stderr = rc, out, err
        self.status, self.headers, self.body = None, {}, out
        # curl -i / -D - output: possibly several heads (407 then 200, 100 Continue, CONNECT 200).
        raw = out
        while raw.startswith(b"HTTP/"):
            head, sep, rest = raw.partition(b"\r\n\r\n")
            if not sep:
                break
            lines = head.decode("latin-1").split("\r\n")
            self.status = int(lines[0].split()[1])
            self.headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                self.headers[k.strip().lower()] = v.strip()
            raw = rest
            self.body = rest

    def __repr__(self):
        return "Result(rc=%s status=%s headers=%s body=%r stderr=%r)" % (
            self.rc, self.status, self.headers, self.body[:300], self.stderr[-500:])


class Context:
    """Per-test resources; everything is released in close()."""

    def __init__(self, name):
        self.name = name
        self.tmpdir = tempfile.mkdtemp(prefix="agtest-%s-" % name)
        self._origins, self._proxies, self._procs = [], [], []

    def path(self, *parts):
        return os.path.join(self.tmpdir, *parts)

    def write(self, name, text):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def origin(self, routes, **kw):
        o = Origin(routes, **kw)
        self._origins.append(o)
        return o

    def hosts_file(self, hosts):
        lines = ["%s %s" % (addr, name) for name, addr in hosts.items()]
        return self.write("hosts", "\n".join(lines) + "\n")

    def proxy(self, policy, hosts=None, listeners=None, config_extra="", extra_args=(),
              workers=2, env=None):
        """Starts agentgate with `policy` (YAML text) and a hosts file mapping names to
        addresses. listeners: list of (address, agent-or-None); default one on a free port."""
        if listeners is None:
            listeners = [("127.0.0.1", free_port(), None)]
        policy_path = self.write("policy.yaml", policy)
        hosts_path = self.hosts_file(hosts or {})
        lines = ["listeners:"]
        for host, port, agent in listeners:
            addr = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
            lines.append("  - address: \"%s\"" % addr)
            if agent:
                lines.append("    agent: %s" % agent)
        lines += [
            "policy: %s" % policy_path,
            "data_dir: %s" % self.path("data"),
            "workers: %d" % workers,
            "dns:",
            "  nameservers: []",
            "  hosts_file: %s" % hosts_path,
        ]
        text = "\n".join(lines) + "\n" + config_extra
        p = Proxy(self, text, listeners, extra_args, env or dict(os.environ))
        self._proxies.append(p)
        return p

    def run(self, *argv, input=None, timeout=60, check_rc=None):
        r = subprocess.run(list(argv), input=input, capture_output=True, timeout=timeout)
        res = Result(r.returncode, r.stdout, r.stderr)
        if check_rc is not None:
            check(r.returncode == check_rc, "exit code", r.returncode, "!=", check_rc, res)
        return res

    def agentgate(self, *args, **kw):
        return self.run(BIN, *args, **kw)

    def curl(self, *args, timeout=30):
        """curl -sS -i with the given arguments; returns a Result with status/headers/body of
        the last response head."""
        return self.run("curl", "-sS", "-i", "--max-time", str(timeout - 5), *args,
                        timeout=timeout)

    def chromium(self, url, proxy=None, extra=(), timeout=60):
        """Headless Chromium --dump-dom of url through proxy. Returns a Result (body = DOM)."""
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.tmpdir)
        argv = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--user-data-dir=" + profile]
        if proxy:
            argv += ["--proxy-server=" + proxy, "--proxy-bypass-list=<-loopback>"]
        argv += list(extra) + ["--dump-dom", url]
        return self.run(*argv, timeout=timeout)

    def strict_reader(self, origin):
        """A proxy whose one listener is agent `reader`, allowed to pages.test (the origin, on
        127.0.0.1) with strict sanitizing. Returns its "host:port" for a browser."""
        bound = free_port()
        self.proxy(STRICT_READER_POLICY % {"port": origin.port},
                   hosts={"pages.test": "127.0.0.1"}, listeners=[("127.0.0.1", bound, "reader")])
        return "127.0.0.1:%d" % bound

    def spawn(self, *argv, **kw):
        p = subprocess.Popen(list(argv), **kw)
        self._procs.append(p)
        return p

    def close(self):
        for p in self._proxies:
            p.stop()
        for p in self._procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for o in self._origins:
            o.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def raw_request(port, data, timeout=5.0, host="127.0.0.1"):
    """Sends raw bytes to the proxy and returns everything read until close or timeout."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except socket.timeout:
            pass
        return b"".join(chunks)


def main():
    """Runs the registered tests (or those named on the command line) and exits 1 on failure."""
    if not os.access(BIN, os.X_OK):
        print("agentgate binary not found at %s (set AGENTGATE_BIN)" % BIN)
        sys.exit(1)
    only = set(sys.argv[1:])
    passed = failed = 0
    for fn in _tests:
        if only and fn.__name__ not in only:
            continue
        ctx = Context(fn.__name__)
        start = time.monotonic()
        try:
            fn(ctx)
            passed += 1
            print("PASS %s (%.1fs)" % (fn.__name__, time.monotonic() - start), flush=True)
        except Exception as e:  # noqa: BLE001 - a test harness reports every failure
            failed += 1
            print("FAIL %s (%.1fs): %s" % (fn.__name__, time.monotonic() - start, e), flush=True)
            if not isinstance(e, CheckFailed):
                traceback.print_exc()
            for p in ctx._proxies:
                print("--- agentgate log (last 40 lines) ---")
                print("\n".join(p.log().splitlines()[-40:]))
        finally:
            ctx.close()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
