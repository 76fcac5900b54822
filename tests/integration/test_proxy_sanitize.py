"""In-flight sanitizing: HTML responses (plain, gzip, Latin-1, inside TLS interception) reach
the agent without scripts, chunked, declared UTF-8, with a CSP header; other content types and
agents with `sanitize: off` pass unchanged; the provenance record carries the report."""

import gzip
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
import tlsfixtures  # noqa: E402
from agtest import check, test  # noqa: E402

PAGE = (b"<!doctype html><html><head><title>t</title><script>alert(1)</script></head>"
        b"<body><p onclick=\"steal()\">hello</p><a href=\"javascript:alert(2)\">x</a></body></html>")

ROUTES = {
    "/page": (200, {"Content-Type": "text/html"}, PAGE),
    "/gz": (200, {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
            gzip.compress(PAGE)),
    "/latin1": (200, {"Content-Type": "text/html; charset=ISO-8859-1"},
                b"<p>caf\xe9</p><script>bad()</script>"),
    # no charset from the server: the page's own <meta> declares it (EUC-KR), as legacy pages do
    "/euckr": (200, {"Content-Type": "text/html"},
               b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
               b"charset=EUC-KR\"></head><body><p>\xbe\xc8\xb3\xe7 hello</p></body></html>"),
    # no charset anywhere and not UTF-8: windows-1252, as a browser reads such a page
    "/cp1252-undeclared": (200, {"Content-Type": "text/html"},
                b"<html><body><p>" + b"ASCII first. " * 100 + b"Le caf\xe9 \x93menu\x94 \x80 5</p>"
                b"</body></html>"),
    "/xhtml": (200, {"Content-Type": "application/xhtml+xml"}, PAGE),
    "/chunked": (200, {"Content-Type": "text/html"}, [PAGE[:40], PAGE[40:90], PAGE[90:]]),
    "/json": (200, {"Content-Type": "application/json"}, b"{\"a\": \"<script>x</script>\"}"),
}


def setup(t, sanitize="strict", extra="", config_extra=""):
    origin = t.origin(ROUTES)
    policy = """version: 1
agents:
  - name: bot
    sanitize: %s
    allow:
      - host: docs.test
        ports: [%d]
%s    private_exceptions:
      - host: docs.test
      - host: secure.test
""" % (sanitize, origin.port, extra)
    port = agtest.free_port()
    proxy = t.proxy(policy=policy, hosts={"docs.test": "127.0.0.1", "secure.test": "127.0.0.1"},
                    listeners=[("127.0.0.1", port, "bot")], config_extra=config_extra)
    return origin, proxy


def fetch(t, proxy, origin, path, *extra):
    return t.curl("-x", proxy.url, *extra, "http://docs.test:%d%s" % (origin.port, path))


def check_sanitized(r, what):
    check(r.status == 200, what, r)
    check(b"<script" not in r.body.lower() and b"alert" not in r.body, what, "script kept", r.body)
    check(b"onclick" not in r.body and b"javascript:" not in r.body, what, r.body)
    check(b"hello" in r.body or b"caf" in r.body, what, "text lost", r.body)
    check(r.headers.get("content-security-policy") == "script-src 'none'; object-src 'none'", what, r)
    check("content-length" not in r.headers and "content-encoding" not in r.headers, what, r)
    check(r.headers.get("transfer-encoding") == "chunked", what, r)
    check("charset=utf-8" in r.headers.get("content-type", ""), what, r)


@test
def html_is_sanitized_in_flight(t):
    origin, proxy = setup(t)
    check_sanitized(fetch(t, proxy, origin, "/page"), "plain")
    check_sanitized(fetch(t, proxy, origin, "/gz"), "gzip")
    check_sanitized(fetch(t, proxy, origin, "/chunked"), "chunked")
    r = fetch(t, proxy, origin, "/xhtml")
    check_sanitized(r, "xhtml")
    check(r.headers["content-type"].startswith("application/xhtml+xml"), r)
    r = fetch(t, proxy, origin, "/latin1")
    check_sanitized(r, "latin1")
    check("café".encode() in r.body, "not transcoded to UTF-8", r.body)
    r = fetch(t, proxy, origin, "/euckr")
    check_sanitized(r, "euc-kr declared in the page")
    check("안녕 hello".encode() in r.body, "the page's <meta> charset was not used", r.body)
    r = fetch(t, proxy, origin, "/cp1252-undeclared")
    check_sanitized(r, "undeclared windows-1252")
    check("Le café “menu” € 5".encode() in r.body, "an undeclared legacy page lost text", r.body)
    # HEAD keeps its framing
    r = t.curl("-x", proxy.url, "-I", "http://docs.test:%d/page" % origin.port)
    check(r.status == 200, r)


@test
def other_content_and_sanitize_off_pass_unchanged(t):
    origin, proxy = setup(t)
    r = fetch(t, proxy, origin, "/json")
    check(r.body == ROUTES["/json"][2] and "content-security-policy" not in r.headers, r)
    t2 = agtest.Context("sanitize_off")
    try:
        origin2, proxy2 = setup(t2, sanitize="off")
        r = fetch(t2, proxy2, origin2, "/page")
        check(r.body == PAGE and "content-security-policy" not in r.headers, r)
    finally:
        t2.close()


@test
def sanitizer_report_is_recorded(t):
    origin, proxy = setup(t)
    r = fetch(t, proxy, origin, "/page")
    check(r.status == 200, r)
    proxy.stop()
    h = t.agentgate("history", "--data-dir", t.path("data"), "--format", "jsonl")
    recs = [json.loads(l) for l in h.stdout.decode().splitlines() if l.strip()]
    check(len(recs) == 1, recs)
    rec = recs[0]
    check(rec.get("sanitizer_removed", 0) >= 3, rec)
    check(rec.get("sanitizer_report"), rec)
    check(rec["body_sha256_received"] != rec["body_sha256_delivered"], rec)


@test
def html_inside_interception_is_sanitized(t):
    pki = tlsfixtures.TestPKI(t.tmpdir)
    cert, key = pki.cert("secure.test")
    tls_origin = tlsfixtures.HttpsOrigin(cert, key, ROUTES)
    try:
        origin, proxy = setup(t, extra="      - host: secure.test\n        ports: [%d]\n" % tls_origin.port,
                              config_extra="tls: { upstream_ca_file: %s }\n" % pki.ca_pem)
        r = t.curl("-x", proxy.url, "--cacert", t.path("data", "ca", "ca.pem"),
                   "https://secure.test:%d/page" % tls_origin.port)
        check_sanitized(r, "mitm")
    finally:
        tls_origin.close()


agtest.main()
