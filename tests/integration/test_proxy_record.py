"""Provenance records written by the proxy: one per exchange (allowed, denied, 407, upstream
error, tunnel), checked field by field through `agentgate history --format jsonl`."""

import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
import tlsfixtures  # noqa: E402
from agtest import check, test  # noqa: E402

SECRET = "rec-secret"


def history(t, proxy):
    r = t.agentgate("history", "--data-dir", t.path("data"), "--format", "jsonl", "--limit", "100")
    check(r.rc == 0, r)
    return [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]


@test
def every_exchange_is_recorded(t):
    page = b"<p>recorded page</p>"
    origin = t.origin({"/page": (200, {"Content-Type": "text/plain"}, page)})
    pki = tlsfixtures.TestPKI(t.tmpdir)
    cert, key = pki.cert("pass.test")
    tls_origin = tlsfixtures.HttpsOrigin(cert, key, {"/page": (200, {"Content-Type": "text/plain"}, page)})
    policy = """version: 1
agents:
  - name: bot
    secret_sha256: %s
    allow:
      - host: docs.test
        ports: [%d]
      - host: nxdomain.test
        ports: [%d]
      - host: pass.test
        ports: [%d]
        tls: passthrough
    private_exceptions:
      - host: docs.test
      - host: pass.test
""" % (agtest.hash_secret(SECRET), origin.port, origin.port, tls_origin.port)
    proxy = t.proxy(policy=policy, hosts={"docs.test": "127.0.0.1", "pass.test": "127.0.0.1"})
    base = "http://docs.test:%d" % origin.port
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:" + SECRET, "-H", "Referer: http://from.test/",
               base + "/page")
    check(r.status == 200, r)
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:" + SECRET, "http://denied.test/")
    check(r.status == 403, r)
    r = t.curl("-x", proxy.url, base + "/page")
    check(r.status == 407, r)
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:" + SECRET, "http://nxdomain.test:%d/" % origin.port)
    check(r.status == 502, r)
    # a passthrough tunnel to an HTTPS origin
    r = t.curl("-x", proxy.url, "--proxy-user", "bot:" + SECRET, "--cacert", pki.ca_pem,
               "https://pass.test:%d/page" % tls_origin.port)
    check(r.status == 200 and r.body == page, r)
    tls_origin.close()
    check(proxy.stop() == 0, "exit code")
    recs = history(t, proxy)
    check(len(recs) == 5, "expected 5 records", recs)
    by_status = {rec.get("status"): rec for rec in recs}

    ok = by_status[200] if by_status.get(200, {}).get("method") == "GET" else \
        [r for r in recs if r.get("method") == "GET"][0]
    check(ok["agent"] == "bot" and ok["decision"] == "allow", ok)
    check(ok["url"] == base + "/page", ok)
    check(ok["host"] == "docs.test" and ok["referer"] == "http://from.test/", ok)
    check(ok["content_type"] == "text/plain" and ok["upstream_addr"] == "127.0.0.1:%d" % origin.port, ok)
    check(ok["body_sha256_received"] == hashlib.sha256(page).hexdigest(), ok)
    check(ok["body_sha256_delivered"] == ok["body_sha256_received"], ok)
    check(ok["rule"].startswith("agents.bot.allow[0]") and ok["bytes_out"] > len(page), ok)
    check(ok["request_id"] and ok["listener"] == "127.0.0.1:%d" % proxy.port, ok)

    denied = by_status[403]
    check(denied["decision"] == "deny" and "not in allowlist" in denied["reason"], denied)
    auth = by_status[407]
    check(auth["decision"] == "deny" and "agent" not in auth, auth)
    err = by_status[502]
    check(err["decision"] == "error" and "DNS lookup" in err["reason"], err)
    tunnel = [r for r in recs if r.get("method") == "CONNECT"][0]
    check(tunnel["url"] == "pass.test:%d" % tls_origin.port and tunnel["status"] == 200, tunnel)
    check(tunnel["bytes_out"] > len(page) and tunnel["bytes_in"] > 0, tunnel)
    check(SECRET not in json.dumps(recs), "secret recorded")
    r = t.agentgate("history", "verify", "--data-dir", t.path("data"))
    check(r.rc == 0, r)


@test
def provenance_can_be_disabled(t):
    origin = t.origin({"/": (200, {}, b"x")})
    policy = "version: 1\nagents:\n  - name: bot\n    allow: [\"docs.test:%d\"]\n    private_exceptions: [{host: docs.test}]\n" % origin.port
    port = agtest.free_port()
    proxy = t.proxy(policy=policy, hosts={"docs.test": "127.0.0.1"}, listeners=[("127.0.0.1", port, "bot")],
                    config_extra="provenance: { enabled: false }\n")
    r = t.curl("-x", proxy.url, "http://docs.test:%d/" % origin.port)
    check(r.status == 200, r)
    proxy.stop()
    check(not os.path.exists(t.path("data", "provenance")), os.listdir(t.path("data")) if os.path.exists(t.path("data")) else None)


agtest.main()
