"""SIGHUP policy reload: under a bounded load loop no request fails; a reload changes
decisions; a broken policy keeps the old snapshot and the log says exactly why."""

import http.client
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
from agtest import check, test  # noqa: E402


def policy_text(port, extra=""):
    return """version: 1
agents:
  - name: bot
    allow:
      - host: docs.test
        ports: [%d]
%s    private_exceptions:
      - host: docs.test
      - host: extra.test
""" % (port, extra)


HOSTS = {"docs.test": "127.0.0.1", "extra.test": "127.0.0.1"}


def setup(t):
    origin = t.origin({"*": (200, {"Content-Type": "text/plain"}, b"ok")})
    port = agtest.free_port()
    proxy = t.proxy(policy=policy_text(origin.port), hosts=HOSTS,
                    listeners=[("127.0.0.1", port, "bot")])
    return origin, proxy


def get(proxy, url, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    c.request("GET", url)
    r = c.getresponse()
    r.read()
    if conn is None:
        c.close()
    return r.status


def write_atomically(t, name, text):
    """Writes then renames, so a reload never reads a half-written file."""
    tmp = t.write(name + ".tmp", text)
    os.replace(tmp, t.path(name))


def wait_log(proxy, text, count, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proxy.log().count(text) >= count:
            return True
        time.sleep(0.05)
    return False


@test
def reload_under_load_fails_no_request(t):
    origin, proxy = setup(t)
    url = "http://docs.test:%d/x" % origin.port
    failures, done = [], []

    def load(worker):
        conn = None
        for i in range(150):  # bounded: 150 requests per thread
            try:
                if conn is None or i % 10 == 0:  # keep-alive, with a new connection now and then
                    if conn:
                        conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
                status = get(proxy, url, conn)
                if status != 200:
                    failures.append((worker, i, status))
            except Exception as e:  # noqa: BLE001 - every failure counts
                failures.append((worker, i, repr(e)))
                conn = None
        if conn:
            conn.close()
        done.append(worker)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for th in threads:
        th.start()
    reloads = 0
    while len(done) < len(threads) and reloads < 20:
        extra = "      - host: extra.test\n" if reloads % 2 else ""
        write_atomically(t, "policy.yaml", policy_text(origin.port, extra))
        proxy.signal(signal.SIGHUP)
        reloads += 1
        time.sleep(0.05)
    for th in threads:
        th.join(60)
    check(not failures, "failed requests during reload", failures[:5])
    check(len(done) == 4, "load threads did not finish")
    # Signals sent in quick succession may coalesce into one reload; none may fail.
    check(wait_log(proxy, "event=policy_reload status=ok", 2), proxy.log()[-2000:])
    check("event=policy_reload status=error" not in proxy.log(), "a reload failed")
    # an exchange is logged once its last byte is handed to the client socket: allow a moment
    check(wait_log(proxy, "event=exchange", 600), "exchanges logged",
          proxy.log().count("event=exchange"))


@test
def reload_changes_decisions(t):
    origin, proxy = setup(t)
    extra_url = "http://extra.test:%d/" % origin.port
    check(get(proxy, extra_url) == 403, "extra.test allowed before reload")
    t.write("policy.yaml", policy_text(origin.port, "      - host: extra.test\n        ports: [%d]\n" % origin.port))
    proxy.signal(signal.SIGHUP)
    check(wait_log(proxy, "event=policy_reload status=ok agents=1", 1), proxy.log())
    check(get(proxy, extra_url) == 200, "extra.test refused after reload")


@test
def broken_policy_keeps_the_old_one(t):
    origin, proxy = setup(t)
    url = "http://docs.test:%d/" % origin.port
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    check(get(proxy, url, conn) == 200)
    t.write("policy.yaml", "version: 1\nagents:\n  - name: bot\n    allow:\n      - host: [broken\n")
    proxy.signal(signal.SIGHUP)
    check(wait_log(proxy, "event=policy_reload status=error", 1), proxy.log())
    line = [l for l in proxy.log().splitlines() if "event=policy_reload" in l][-1]
    check("policy.yaml:" in line and "error=" in line, line)
    # The old snapshot still decides, on the existing connection and on new ones.
    check(get(proxy, url, conn) == 200, "old policy lost")
    check(get(proxy, url) == 200, "old policy lost (new connection)")
    check(get(proxy, "http://other.test/") == 403)
    conn.close()
    # An invalid but well-formed policy is refused too.
    t.write("policy.yaml", "version: 1\nagents:\n  - name: bot\n    allow:\n      - host: docs.test\n        ports: [99999]\n")
    proxy.signal(signal.SIGHUP)
    check(wait_log(proxy, "event=policy_reload status=error", 2), proxy.log())
    check(get(proxy, url) == 200, "old policy lost after invalid policy")


agtest.main()
