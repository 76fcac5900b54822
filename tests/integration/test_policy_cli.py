"""`agentgate policy check|explain|hash-secret` on the real binary: exit codes, every error as
file:line: field: message, directory merging, the embedded example, and the decision output."""

import os

import agtest
from agtest import check, test

GOOD = """version: 1
deny:
  - host: "*.metadata.google.internal"
agents:
  - name: research-bot
    secret_sha256: %s
    allow:
      - host: "*.wikipedia.org"
      - host: example.com
        ports: [80, 443, 8443]
        tls: passthrough
      - "bücher.example"
      - 93.184.216.0/24
    deny:
      - upload.wikipedia.org
  - name: shadow-bot
    mode: report-only
    sanitize: "off"
    allow:
      - example.com
""" % agtest.hash_secret("research-bot-secret")

BAD = """version: 1
agents:
  - name: research-bot
    secret_sha256: abc
    allow:
      - host: example.com
        ports: [80, 70000]
      - host: "a b.example"
    sanitize: loud
"""


def lines(b):
    return b.decode().strip().splitlines()


def field(out, name):
    for line in lines(out):
        if line.startswith(name + ": "):
            return line[len(name) + 2:]
    return None


@test
def check_valid_file(t):
    path = t.write("good.yaml", GOOD)
    r = t.agentgate("policy", "check", path, check_rc=0)
    check(lines(r.stdout) == ["ok: 2 agents, 7 rules"], r)


@test
def check_reports_every_error(t):
    path = t.write("bad.yaml", BAD)
    r = t.agentgate("policy", "check", path, check_rc=1)
    want = [
        "%s:4: agents[0].secret_sha256: expected 64 hex digits (SHA-256, see `agentgate policy "
        "hash-secret`), got 3 characters" % path,
        "%s:7: agents[0].allow[0].ports: port 70000 out of range" % path,
        "%s:8: agents[0].allow[1].host: invalid character in host name: a b.example" % path,
        "%s:9: agents[0].sanitize: must be strict, scripts or off, not 'loud'" % path,
    ]
    check(lines(r.stderr) == want, r)
    check(r.stdout == b"", "nothing on stdout for an invalid policy", r)


@test
def check_directory(t):
    t.write("policies/10-a.yaml", GOOD)
    t.write("policies/20-b.yml", "version: 1\nagents:\n  - name: docs-bot\n    allow: [docs.test]\n")
    t.write("policies/README.txt", "ignored\n")
    r = t.agentgate("policy", "check", t.path("policies"), check_rc=0)
    check(lines(r.stdout) == ["ok: 3 agents, 8 rules"], r)
    t.write("policies/30-c.yaml", "version: 1\nagents:\n  - name: docs-bot\n")
    r = t.agentgate("policy", "check", t.path("policies"), check_rc=1)
    check(lines(r.stderr) == ["%s:3: agents[0].name: agent docs-bot is already defined at %s:3 "
                              "(agents[0].name)" % (t.path("policies", "30-c.yaml"),
                                                    t.path("policies", "20-b.yml"))], r)


@test
def check_embedded_example_file(t):
    path = os.path.join(agtest.SOURCE_DIR, "allowlists", "examples", "agents.yaml")
    r = t.agentgate("policy", "check", path, check_rc=0)
    check(lines(r.stdout)[0].startswith("ok: 2 agents, "), r)


@test
def usage_errors(t):
    t.agentgate("policy", check_rc=2)
    t.agentgate("policy", "frobnicate", check_rc=2)
    t.agentgate("policy", "check", check_rc=2)
    t.agentgate("policy", "explain", "http://example.com/", check_rc=2)
    t.agentgate("policy", "explain", "--agent", "research-bot", check_rc=2)
    t.agentgate("policy", "explain", "--agent", "research-bot", "ftp://example.com/", check_rc=2)
    t.agentgate("policy", "explain", "--agent", "research-bot", "example.com", check_rc=2)
    t.agentgate("policy", "explain", "--agent", "research-bot", "example.com:0", check_rc=2)
    for sub in ("check", "explain", "hash-secret"):
        r = t.agentgate("policy", sub, "--help", check_rc=0)
        check(r.stdout.startswith(b"usage: agentgate policy " + sub.encode()), r)
    r = t.agentgate("policy", "--help", check_rc=0)
    check(b"hash-secret" in r.stdout, r)


@test
def explain_decisions(t):
    path = t.write("good.yaml", GOOD)

    def explain(agent, url, rc):
        return t.agentgate("policy", "explain", "--agent", agent, "--policy", path, url,
                           check_rc=rc).stdout

    out = explain("research-bot", "https://en.wikipedia.org/wiki/Proxy", 0)
    check(field(out, "decision") == "allow", out)
    check(field(out, "port") == "443", out)
    check(field(out, "rule") == "agents.research-bot.allow[0] *.wikipedia.org (good.yaml:8)", out)
    check(field(out, "reason") == "host allowed for agent research-bot", out)
    check(field(out, "tls") == "mitm", out)
    check(field(out, "sanitize") == "strict", out)
    check("resolves to a loopback" in field(out, "note"), out)

    out = explain("research-bot", "http://upload.wikipedia.org/x", 1)
    check(field(out, "decision") == "deny", out)
    check(field(out, "rule") == "agents.research-bot.deny[0] upload.wikipedia.org (good.yaml:15)", out)

    out = explain("research-bot", "wikipedia.org:443", 1)
    check(field(out, "reason") == "host not in allowlist of agent research-bot", out)

    out = explain("research-bot", "EXAMPLE.com.:8443", 0)
    check(field(out, "tls") == "passthrough", out)
    check(field(out, "host") == "EXAMPLE.com. (compared as example.com)", out)

    out = explain("research-bot", "http://example.com:8080/", 1)
    check(field(out, "reason") == "port 8080 not allowed for this host (agent research-bot)", out)

    out = explain("research-bot", "https://user:pw@bücher.example/", 0)
    check(field(out, "host") == "bücher.example (compared as xn--bcher-kva.example)", out)

    out = explain("research-bot", "http://93.184.216.34/", 0)
    check(field(out, "rule") == "agents.research-bot.allow[3] 93.184.216.0/24 (good.yaml:13)", out)
    check(field(out, "note") is None, "no resolution note for an IP literal", out)

    out = explain("research-bot", "[::ffff:93.184.216.34]:443", 0)
    check(field(out, "decision") == "allow", out)

    out = explain("research-bot", "http://x.metadata.google.internal/", 1)
    check(field(out, "reason") == "host is on the global deny list", out)

    out = explain("shadow-bot", "http://other.example/", 1)
    check(field(out, "sanitize") == "off", out)
    check(field(out, "mode").startswith("report-only"), out)

    out = explain("nobody", "http://example.com/", 1)
    check(field(out, "rule") == "unknown-agent", out)


@test
def explain_uses_embedded_example_by_default(t):
    r = t.agentgate("policy", "explain", "--agent", "research-bot", "http://example.com/",
                    check_rc=0)
    check(field(r.stdout, "decision") == "allow", r)
    r = t.agentgate("policy", "explain", "--agent=research-bot", "http://evil.example/",
                    check_rc=1)
    check(field(r.stdout, "reason") == "host not in allowlist of agent research-bot", r)


@test
def explain_with_invalid_policy(t):
    path = t.write("bad.yaml", BAD)
    r = t.agentgate("policy", "explain", "--agent", "research-bot", "--policy", path,
                    "http://example.com/", check_rc=1)
    check(lines(r.stderr)[0].startswith(path + ":4: agents[0].secret_sha256:"), r)


@test
def hash_secret(t):
    r = t.agentgate("policy", "hash-secret", input=b"research-bot-secret\n", check_rc=0)
    check(lines(r.stdout) == [agtest.hash_secret("research-bot-secret")], r)
    r = t.agentgate("policy", "hash-secret", input=b"research-bot-secret\r\n", check_rc=0)
    check(lines(r.stdout) == [agtest.hash_secret("research-bot-secret")], r)
    r = t.agentgate("policy", "hash-secret", input=b"no-newline", check_rc=0)
    check(lines(r.stdout) == [agtest.hash_secret("no-newline")], r)
    t.agentgate("policy", "hash-secret", input=b"\n", check_rc=1)
    t.agentgate("policy", "hash-secret", input=b"", check_rc=1)
    t.agentgate("policy", "hash-secret", "extra", input=b"x\n", check_rc=2)


if __name__ == "__main__":
    agtest.main()
