"""`agentgate history` over records the real proxy wrote: filters on allowed, denied, 407 and
upstream-error exchanges, show by request id, reading while the proxy runs, and `kill -9` of
the proxy under a bounded load: the store opens and verifies, and every exchange that completed
comfortably before the kill (one 50 ms batch interval plus 50 ms for the commit itself) is
present. A restarted proxy continues the same chain."""

import http.client
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
from agtest import check, test  # noqa: E402

SECRET = "history-secret"
BATCH_INTERVAL = 0.050
COMMIT_ALLOWANCE = 0.050


def policy_for(port):
    return """version: 1
agents:
  - name: bot
    secret_sha256: %s
    allow:
      - host: docs.test
        ports: [%d]
      - host: nxdomain.test
        ports: [%d]
    private_exceptions:
      - host: docs.test
""" % (agtest.hash_secret(SECRET), port, port)


def history(t, *args, rc=0):
    return t.agentgate("history", "--data-dir", t.path("data"), *args, check_rc=rc)


def jsonl(res):
    return [json.loads(line) for line in res.stdout.decode().splitlines() if line.strip()]


def wait_records(t, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    recs = []
    while time.monotonic() < deadline:
        if os.path.exists(t.path("data", "provenance", "data.mdb")):
            recs = jsonl(history(t, "--format", "jsonl", "--limit", "0"))
            if len(recs) >= n:
                return recs
        time.sleep(0.1)
    return recs


@test
def filters_over_proxy_records_while_it_runs(t):
    origin = t.origin({"/page": (200, {"Content-Type": "text/plain"}, b"hello")})
    proxy = t.proxy(policy=policy_for(origin.port), hosts={"docs.test": "127.0.0.1"})
    base = "http://docs.test:%d" % origin.port
    auth = ("--proxy-user", "bot:" + SECRET)
    check(t.curl("-x", proxy.url, *auth, base + "/page").status == 200)
    check(t.curl("-x", proxy.url, *auth, base + "/page?again").status == 200)
    check(t.curl("-x", proxy.url, *auth, "http://denied.test/").status == 403)
    check(t.curl("-x", proxy.url, base + "/page").status == 407)
    check(t.curl("-x", proxy.url, *auth, "http://nxdomain.test:%d/" % origin.port).status == 502)
    recs = wait_records(t, 5)  # the proxy is still running: read-only readers see its batches
    check(len(recs) == 5, recs)

    allowed = jsonl(history(t, "--format", "jsonl", "--decision", "allow"))
    check(len(allowed) == 2 and all(r["status"] == 200 for r in allowed), allowed)
    check(allowed[0]["url"] == base + "/page?again", "newest first", allowed)
    denied = jsonl(history(t, "--format", "jsonl", "--decision", "deny"))
    check(sorted(r["status"] for r in denied) == [403, 407], denied)
    check([r["status"] for r in jsonl(history(t, "--format", "jsonl", "--status", "407"))] == [407])
    errors = jsonl(history(t, "--format", "jsonl", "--decision", "error"))
    check(len(errors) == 1 and errors[0]["status"] == 502, errors)
    bot = jsonl(history(t, "--format", "jsonl", "--agent", "bot"))
    check(len(bot) == 4, "the 407 has no agent", bot)
    docs = jsonl(history(t, "--format", "jsonl", "--host", "docs.test", "--since", "1h"))
    check(len(docs) == 3, docs)
    check(len(jsonl(history(t, "--format", "jsonl", "--url", "again"))) == 1)
    check(len(jsonl(history(t, "--format", "jsonl", "--rule", "allow[0]"))) == 2)

    shown = jsonl(history(t, "show", allowed[0]["request_id"], "--format", "jsonl"))
    check(shown == [allowed[0]], shown, allowed[0])
    top = jsonl(history(t, "top", "--by", "host", "--format", "jsonl"))
    check(top[0] == {"count": 3, "host": "docs.test"}, top)
    table = history(t).stdout.decode()
    check("docs.test" in table and "deny" in table and "407" in table, table)
    check(SECRET not in table)
    check(proxy.stop() == 0)
    check(b"ok: 5 records" in history(t, "verify").stdout)


def load_loop(proxy_port, origin_port, stop, done, idx, lock):
    """Sequential requests on a keep-alive connection; records (url, completion time)."""
    n = 0
    conn = None
    while not stop.is_set() and n < 5000:
        url = "http://docs.test:%d/page?w=%d&n=%d" % (origin_port, idx, n)
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=5)
            conn.request("GET", url)
            resp = conn.getresponse()
            resp.read()
            finished = time.time()
            if resp.status == 200:
                with lock:
                    done.append((url, finished))
        except (OSError, http.client.HTTPException):
            if conn:
                conn.close()
            conn = None
            if stop.is_set():
                break
            time.sleep(0.01)
        n += 1
    if conn:
        conn.close()


@test
def kill_9_under_load_keeps_every_completed_exchange(t):
    origin = t.origin({"/page": (200, {"Content-Type": "text/plain"}, b"x" * 512)})
    port = agtest.free_port()
    proxy = t.proxy(policy=policy_for(origin.port), hosts={"docs.test": "127.0.0.1"},
                    listeners=[("127.0.0.1", port, "bot")])
    stop, done, lock = threading.Event(), [], threading.Lock()
    threads = [threading.Thread(target=load_loop, args=(port, origin.port, stop, done, i, lock))
               for i in range(4)]
    for th in threads:
        th.start()
    time.sleep(2.0)
    kill_time = time.time()
    proxy.proc.send_signal(signal.SIGKILL)
    proxy.proc.wait(10)
    stop.set()
    for th in threads:
        th.join(15)
    check(len(done) > 50, "the load produced only %d exchanges" % len(done))

    r = history(t, "verify")
    check(b"ok: " in r.stdout, r)
    recs = jsonl(history(t, "export"))
    urls = {rec["url"] for rec in recs}
    margin = BATCH_INTERVAL + COMMIT_ALLOWANCE
    due = [u for u, fin in done if fin < kill_time - margin]
    missing = [u for u in due if u not in urls]
    check(not missing, "%d of %d exchanges completed before the kill are missing, e.g. %s"
          % (len(missing), len(due), missing[:3]))
    check(len(due) > 0.5 * len(done), len(due), len(done))

    # a new proxy on the same store continues the chain
    port2 = agtest.free_port()
    proxy2 = t.proxy(policy=policy_for(origin.port), hosts={"docs.test": "127.0.0.1"},
                     listeners=[("127.0.0.1", port2, "bot")])
    check(agtest.wait_port("127.0.0.1", port2), "the second proxy is not listening")
    r = t.curl("-x", proxy2.url, "http://docs.test:%d/page?after" % origin.port)
    check(r.status == 200, r)
    check(proxy2.stop() == 0, "exit code", proxy2.log()[-2000:])
    r = history(t, "verify")
    check(b"ok: %d records" % (len(recs) + 1) in r.stdout, r, len(recs))
    last = jsonl(history(t, "--format", "jsonl", "--limit", "1"))
    check(last[0]["url"].endswith("/page?after"), last)


agtest.main()
