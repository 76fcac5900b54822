"""Request smuggling and malformed requests: each is answered 400 with the reason, the
connection is closed, and nothing reaches the origin (which counts every request it sees)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
from agtest import check, test  # noqa: E402


def setup(t):
    origin = t.origin({"*": (200, {"Content-Type": "text/plain"}, b"origin")})
    policy = """version: 1
agents:
  - name: bot
    allow:
      - host: docs.test
        ports: [%d]
    private_exceptions:
      - host: docs.test
""" % origin.port
    port = agtest.free_port()
    proxy = t.proxy(policy=policy, hosts={"docs.test": "127.0.0.1"},
                    listeners=[("127.0.0.1", port, "bot")])
    return origin, proxy


def target(origin):
    return b"http://docs.test:%d/" % origin.port


CASES = [
    ("cl_and_te", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nContent-Length: 6\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", "both Content-Length and Transfer-Encoding"),
    ("te_and_cl", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 6\r\n\r\n0\r\n\r\nG", "both Content-Length and Transfer-Encoding"),
    ("duplicate_cl", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nContent-Length: 3\r\n"
     b"Content-Length: 3\r\n\r\nabc", "duplicate Content-Length"),
    ("differing_cl", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nContent-Length: 3\r\n"
     b"Content-Length: 30\r\n\r\nabc", "differing Content-Length"),
    ("cl_list", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nContent-Length: 3, 3\r\n\r\nabc",
     "invalid Content-Length"),
    ("cl_negative", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nContent-Length: -3\r\n\r\nabc",
     "invalid Content-Length"),
    ("te_gzip", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nTransfer-Encoding: gzip\r\n\r\nabc",
     "unsupported Transfer-Encoding"),
    ("te_xchunked", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
     "unsupported Transfer-Encoding"),
    ("te_twice", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nTransfer-Encoding: chunked\r\n"
     b"Transfer-Encoding: identity\r\n\r\n0\r\n\r\n", "more than one Transfer-Encoding"),
    ("te_space_before_colon", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nTransfer-Encoding : chunked\r\n\r\n"
     b"0\r\n\r\n", "invalid character in header name"),
    ("te_obs_fold", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
     b"0\r\n\r\n", "Transfer-Encoding"),
    # a name http_parser reads as Transfer-Encoding, behind an upgrade that is not forwarded
    ("te_prefix_upgrade", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nConnection: Upgrade\r\n"
     b"Upgrade: foo\r\nTransfer-Encodingx: chunked\r\n\r\n0\r\n\r\n", "Transfer-Encoding other than chunked"),
    ("websocket_with_body", b"GET %s HTTP/1.1\r\nHost: docs.test\r\nConnection:,Upgrade\r\n"
     b"Upgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "WebSocket upgrade"),
    ("obs_fold", b"GET %s HTTP/1.1\r\nHost: docs.test\r\nX-A: a\r\n\tb\r\n\r\n", "obs-fold"),
    ("bare_cr", b"GET %s HTTP/1.1\r\nHost: docs.test\rX-A: b\r\n\r\n", "bare CR"),
    ("bare_lf", b"GET %s HTTP/1.1\nHost: docs.test\n\n", "bare LF"),
    ("nul", b"GET %s HTTP/1.1\r\nHost: docs.test\r\nX-A: a\x00b\r\n\r\n", "NUL"),
    ("bad_chunk_size", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nabc\r\n0\r\n\r\n", "chunk"),
    ("chunk_size_overflow", b"POST %s HTTP/1.1\r\nHost: docs.test\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"fffffffffffffffffffff\r\nabc\r\n0\r\n\r\n", "chunk"),
    ("oversized_head", b"GET %s HTTP/1.1\r\nHost: docs.test\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n",
     "larger than 32768 bytes"),
    ("too_many_headers", b"GET %s HTTP/1.1\r\nHost: docs.test\r\n"
     + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n", "too many header fields"),
    ("http09_garbage", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"%s", "control character"),
]


def make_case(name, raw, why):
    def run(t):
        origin, proxy = setup(t)
        data = raw % target(origin) if b"%s" in raw else raw
        resp = agtest.raw_request(proxy.port, data, timeout=5)
        head = resp.partition(b"\r\n\r\n")[0].decode("latin-1")
        check(head.startswith("HTTP/1.1 400 "), name, repr(resp[:300]))
        reason = [l for l in head.split("\r\n") if l.lower().startswith("x-agentgate-reason:")]
        check(reason and why in reason[0], name, "reason", reason, "lacks", why)
        check("Connection: close" in head, name, head)
        check("X-Agentgate-Request-Id:" in head, name, head)
        time.sleep(0.2)
        check(origin.count() == 0, name, "reached the origin", origin.requests)
    run.__name__ = "smuggling_" + name
    return run


for _name, _raw, _why in CASES:
    test(make_case(_name, _raw, _why))


@test
def body_that_looks_like_a_request_stays_a_body(t):
    origin, proxy = setup(t)
    inner = b"GET http://docs.test/admin HTTP/1.1\r\nHost: docs.test\r\n\r\n"
    data = (b"POST %s HTTP/1.1\r\nHost: docs.test\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (target(origin), len(inner)) + inner)
    resp = agtest.raw_request(proxy.port, data, timeout=5)
    check(resp.startswith(b"HTTP/1.1 200"), resp[:200])
    time.sleep(0.2)
    check(origin.count() == 1 and origin.requests[0][3] == inner, origin.requests)


@test
def valid_chunked_request_is_reframed(t):
    origin, proxy = setup(t)
    data = (b"POST %s HTTP/1.1\r\nHost: docs.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"4;name=value\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: dropped\r\n\r\n" % target(origin))
    resp = agtest.raw_request(proxy.port, data, timeout=5)
    check(resp.startswith(b"HTTP/1.1 200"), resp[:200])
    check(origin.count() == 1 and origin.requests[0][3] == b"abcdefg", origin.requests)


agtest.main()
