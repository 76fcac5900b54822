"""Headless Chromium through agentgate on a listener bound to an agent: an allowed http:// page
loads, a denied host never reaches its origin, and a policy refusal is 403 (never a 407 login
prompt). Test origins use names (docs.test, blocked.test) that agentgate resolves through the
test hosts file; Chromium is told not to bypass the proxy for loopback."""

import agtest
from agtest import check, test

POLICY = """
version: 1
private_exceptions:
  - cidr: 127.0.0.1/32
agents:
  - name: browser-bot
    sanitize: off
    allow:
      - host: docs.test
        ports: [%(port)d]
"""

PAGE = b"<!doctype html><title>docs</title><p id=marker>allowed page content</p>"


def start(t):
    origin = t.origin({"/": (200, {"Content-Type": "text/html"}, PAGE),
                       "/favicon.ico": (404, {}, b"")})
    bound = agtest.free_port()
    proxy = t.proxy(POLICY % {"port": origin.port},
                    hosts={"docs.test": "127.0.0.1", "blocked.test": "127.0.0.1"},
                    listeners=[("127.0.0.1", agtest.free_port(), None),
                               ("127.0.0.1", bound, "browser-bot")])
    return origin, proxy, "127.0.0.1:%d" % bound


@test
def allowed_page_loads(t):
    origin, proxy, bound = start(t)
    r = t.chromium("http://docs.test:%d/" % origin.port, proxy=bound)
    check(b"allowed page content" in r.stdout, "allowed page did not load:", r)
    check(any(req[1] == "/" for req in origin.requests), "origin never saw the request")


@test
def denied_host_fails(t):
    origin, proxy, bound = start(t)
    r = t.chromium("http://blocked.test:%d/" % origin.port, proxy=bound)
    check(b"allowed page content" not in r.stdout, "denied page loaded:", r)
    check(origin.count() == 0, "denied request reached the origin")
    check("status=403" in proxy.log(), "no 403 logged:", proxy.log()[-2000:])
    check("status=407" not in proxy.log(), "policy refusal answered with 407")


agtest.main()
