#!/usr/bin/env python3
"""Seeds for fuzz_http: request and response streams the proxy reads (absolute-form, CONNECT,
bodies by length and chunked with extensions and a trailer, WebSocket upgrades, a response
read until close, messages pipelined on one connection), each with a few piece sizes, and a
real TLS ClientHello captured from OpenSSL on loopback. Usage: seeds_http.py DIR"""
import os
import socket
import subprocess
import sys
import threading

MESSAGES = [
    (0, b"GET http://example.test/a?b=c HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n"),
    (0, b"POST http://example.test:8080/form HTTP/1.1\r\nHost: example.test:8080\r\n"
        b"Content-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world"),
    (0, b"POST http://example.test/up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked"
        b"\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"),
    (0, b"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n"
        b"Proxy-Authorization: Basic Ym90OnNlY3JldA==\r\n\r\n"),
    (0, b"GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: keep-alive, x-c\r\n"
        b"X-C: drop\r\nUpgrade: websocket\r\n\r\n"),
    (1, b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello"),
    (1, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=b\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    (1, b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nbody until close"),
    (1, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
    # pipelined on one connection
    (0, b"GET http://a.test/1 HTTP/1.1\r\nHost: a.test\r\n\r\nPOST http://a.test/2 HTTP/1.1\r\n"
        b"Host: a.test\r\nContent-Length: 3\r\n\r\nabcGET http://a.test/3 HTTP/1.1\r\nHost: a.test\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"),
    (1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"),
]


def client_hello():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)
    got = []

    def accept():
        try:
            c, _ = srv.accept()
        except OSError:
            return
        c.settimeout(5)
        data = b""
        try:
            while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
                d = c.recv(65536)
                if not d:
                    break
                data += d
        except OSError:
            pass
        got.append(data)
        c.close()

    t = threading.Thread(target=accept)
    t.start()
    try:
        subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.getsockname()[1],
                        "-servername", "docs.example.test"], input=b"", capture_output=True,
                       timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        pass
    t.join()
    srv.close()
    return got[0] if got else b""


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for i, (kind, msg) in enumerate(MESSAGES):
        for piece in (0, 3, 40):
            with open(os.path.join(out, "h%02d_%d" % (i, piece)), "wb") as f:
                f.write(bytes([kind | piece << 1]) + msg)
    hello = client_hello()
    if hello:
        with open(os.path.join(out, "tls_hello"), "wb") as f:
            f.write(b"\x00" + hello)


if __name__ == "__main__":
    main()
