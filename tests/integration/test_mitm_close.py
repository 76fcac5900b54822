"""TLS interception: a request with `Connection: close` inside an intercepted tunnel must
still get its response: the proxy flushes the TLS filter's underlying output before it shuts
the socket down (else curl reports "Empty reply from server")."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agtest  # noqa: E402
from agtest import check, test  # noqa: E402
from test_mitm import Setup  # noqa: E402

del agtest._tests[:]  # run only the test below, not the ones test_mitm registered


@test
def connection_close_inside_the_tunnel_still_delivers_the_response(t):
    s = Setup(t, {"secure.test": ("good", "mitm")})
    r = s.curl("-H", "Connection: close", s.url("secure.test"))
    check(r.rc == 0 and r.status == 200 and b"intercepted ok" in r.body,
          "the response is flushed through TLS before the close", r)


if __name__ == "__main__":
    agtest.main()
