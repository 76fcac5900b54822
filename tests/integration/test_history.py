"""Integration tests for `agentgate history`: the CLI over stores filled with known records by
bench_provenance --load (the real writer thread, prov_open/prov_submit/prov_close): every
filter, every output format, show/top/export/verify/prune/follow, errors and exit codes, and
reading while another process is writing."""

import csv
import io
import json
import os
import select
import signal
import subprocess
import time

import agtest
from agtest import check, test

BIN = agtest.BIN
LOADER = os.path.join(os.path.dirname(os.path.abspath(BIN)), "bench", "bench_provenance")
T0 = 1790000000000000  # 2026-09-21T14:13:20Z
AGENTS = ["alice", "bob", "carol"]
HOSTS = ["docs.test", "api.example.com", "cdn.example.com"]


def make_records(n, t0=T0):
    """n records, one second apart; every field present on some of them."""
    recs = []
    for i in range(n):
        deny = i % 4 == 3
        r = {
            "request_id": "req-%d" % i,
            "start_us": t0 + i * 1000000,
            "duration_us": 1000 + i,
            "agent": AGENTS[i % 3],
            "client_addr": "127.0.0.1:%d" % (40000 + i),
            "listener": "127.0.0.1:3128",
            "method": "GET" if i % 2 == 0 else "POST",
            "url": "http://%s/page/%d?q=a,b" % (HOSTS[i % 3], i),
            "host": HOSTS[i % 3],
            "decision": "deny" if deny else ("error" if i % 7 == 6 else "allow"),
            "rule": "default-deny" if deny else "docs.allow[%d]" % (i % 2),
            "status": 403 if deny else 200,
            "bytes_in": 100 + i,
            "bytes_out": 2000 + i,
        }
        if i % 5 == 0:
            r["referer"] = "http://start.test/"
            r["reason"] = "matched"
            r["upstream_addr"] = "10.0.0.1:443"
            r["tls_fingerprint"] = "ab:cd"
            r["tls_protocol"] = "TLSv1.3"
            r["tls_cipher"] = "TLS_AES_128_GCM_SHA256"
            r["content_type"] = "text/html"
            r["body_sha256_received"] = "%064x" % i
            r["body_sha256_delivered"] = "%064x" % (i + 1)
            r["sanitizer_report"] = {"counts": {"script": 1, "hidden": i % 3}}
        recs.append(r)
    return recs


def load(t, data_dir, recs):
    check(os.access(LOADER, os.X_OK), "record loader missing:", LOADER)
    text = "".join(json.dumps(r) + "\n" for r in recs).encode()
    t.run(LOADER, "--load", data_dir, input=text, check_rc=0)


def history(t, data_dir, *args, rc=0):
    return t.agentgate("history", *args, "--data-dir", data_dir, check_rc=rc)


def jsonl(res):
    return [json.loads(line) for line in res.stdout.decode().splitlines() if line.strip()]


def seqs(res):
    return [r["seq"] for r in jsonl(res)]


def store(t, n=40):
    d = t.path("data")
    recs = make_records(n)
    load(t, d, recs)
    return d, recs


def newest_first(recs, pred):
    return [i + 1 for i in range(len(recs) - 1, -1, -1) if pred(recs[i])]


@test
def jsonl_round_trips_every_field(t):
    d, recs = store(t)
    got = jsonl(history(t, d, "--format", "jsonl", "--limit", "0"))
    check(len(got) == len(recs), len(got))
    for g in got:
        r = recs[g["seq"] - 1]
        for k, v in r.items():
            if k == "sanitizer_report":
                check(g[k] == v, k, g.get(k), v)
            else:
                check(g.get(k) == v, "seq", g["seq"], k, g.get(k), "!=", v)
        check(g["sanitizer_removed"] == (sum(r["sanitizer_report"]["counts"].values())
                                         if "sanitizer_report" in r else 0), g)
        check(len(g["hash"]) == 64, g)
        check(g["time"].startswith("2026-09-21T"), g["time"])


@test
def table_is_aligned_newest_first_with_default_limit(t):
    d, recs = store(t, 130)
    out = history(t, d).stdout.decode().splitlines()
    check(out[0].split() == ["TIME", "SEQ", "AGENT", "DECISION", "STATUS", "METHOD",
                             "REMOVED", "URL"], out[0])
    check(len(out) == 101, "default limit 100:", len(out))
    url_col = out[0].index("URL")
    for line in out[1:]:
        check(line[url_col:].startswith("http://"), line)
    check(out[1].split()[1] == "130" and out[-1].split()[1] == "31", out[1], out[-1])


@test
def csv_parses_with_header(t):
    d, recs = store(t, 10)
    rows = list(csv.DictReader(io.StringIO(history(t, d, "--format", "csv").stdout.decode())))
    check(len(rows) == 10, len(rows))
    for row in rows:
        r = recs[int(row["seq"]) - 1]
        check(row["url"] == r["url"] and row["agent"] == r["agent"], row)
        check(row["status"] == str(r["status"]) and row["decision"] == r["decision"], row)


@test
def csv_neutralises_spreadsheet_formulas(t):
    d = t.path("data")
    rec = make_records(1)[0]
    rec["content_type"] = "=HYPERLINK(\"http://evil.test\",\"x\")"
    rec["reason"] = "@SUM(1)"
    load(t, d, [rec])
    rows = list(csv.DictReader(io.StringIO(history(t, d, "--format", "csv").stdout.decode())))
    check(rows[0]["content_type"] == "'" + rec["content_type"], rows[0])
    check(rows[0]["reason"] == "'@SUM(1)", rows[0])
    check(jsonl(history(t, d, "--format", "jsonl"))[0]["content_type"] == rec["content_type"])


@test
def every_filter(t):
    d, recs = store(t)
    cases = [
        (["--agent", "bob"], lambda r: r["agent"] == "bob"),
        (["--host", "*.example.com"], lambda r: r["host"].endswith(".example.com")),
        (["--host", "docs.test"], lambda r: r["host"] == "docs.test"),
        (["--url", "/page/1"], lambda r: "/page/1" in r["url"]),
        (["--decision", "deny"], lambda r: r["decision"] == "deny"),
        (["--decision", "error"], lambda r: r["decision"] == "error"),
        (["--status", "403"], lambda r: r["status"] == 403),
        (["--rule", "allow[1]"], lambda r: "allow[1]" in r["rule"]),
        (["--sanitized"], lambda r: "sanitizer_report" in r),
        (["--since", "2026-09-21T14:13:30Z", "--until", "2026-09-21T14:13:40Z"],
         lambda r: T0 + 10000000 <= r["start_us"] < T0 + 20000000),
        (["--since", "2026-09-21T16:13:30+02:00"], lambda r: r["start_us"] >= T0 + 10000000),
        (["--agent", "alice", "--decision", "allow", "--since", "2026-09-21T14:13:25Z"],
         lambda r: r["agent"] == "alice" and r["decision"] == "allow"
         and r["start_us"] >= T0 + 5000000),
    ]
    for args, pred in cases:
        got = seqs(history(t, d, "--format", "jsonl", *args))
        want = newest_first(recs, pred)
        check(want, "test set has no match for", args)
        check(got == want, args, got, want)
    got = seqs(history(t, d, "--format", "jsonl", "--agent", "bob", "--limit", "3"))
    check(got == newest_first(recs, lambda r: r["agent"] == "bob")[:3], got)


@test
def relative_since(t):
    d = t.path("data")
    now = int(time.time() * 1e6)
    recs = make_records(5, t0=now - 3 * 3600 * 1000000) + make_records(3, t0=now - 60 * 1000000)
    load(t, d, recs)
    check(len(seqs(history(t, d, "--format", "jsonl", "--since", "2h"))) == 3)
    check(len(seqs(history(t, d, "--format", "jsonl", "--since", "1d"))) == 8)
    check(len(seqs(history(t, d, "--format", "jsonl", "--until", "30m"))) == 5)


@test
def show_by_seq_and_request_id(t):
    d, recs = store(t, 12)
    out = history(t, d, "show", "11").stdout.decode()
    check("req-10" in out and recs[10]["url"] in out and "tls_cipher" in out, out)
    one = jsonl(history(t, d, "show", "req-5", "--format", "jsonl"))
    check(len(one) == 1 and one[0]["seq"] == 6 and one[0]["url"] == recs[5]["url"], one)
    r = history(t, d, "show", "req-999", rc=1)
    check(b"req-999" in r.stderr, r)
    history(t, d, "show", rc=2)


@test
def top_counts(t):
    d, recs = store(t, 30)
    for by, key in (("host", "host"), ("agent", "agent"), ("rule", "rule")):
        rows = jsonl(history(t, d, "top", "--by", by, "--format", "jsonl"))
        want = {}
        for r in recs:
            want[r[key]] = want.get(r[key], 0) + 1
        check({row[by]: row["count"] for row in rows} == want, by, rows, want)
        counts = [row["count"] for row in rows]
        check(counts == sorted(counts, reverse=True), counts)
    rows = jsonl(history(t, d, "top", "--by", "agent", "--decision", "deny", "--format", "jsonl"))
    check(sum(r["count"] for r in rows) == sum(1 for r in recs if r["decision"] == "deny"), rows)
    table = history(t, d, "top", "--by", "host").stdout.decode().splitlines()
    check(table[0].split() == ["COUNT", "HOST"] and len(table) == 4, table)
    history(t, d, "top", rc=2)


@test
def export_is_complete_and_resumable(t):
    d, recs = store(t, 25)
    all_rows = jsonl(history(t, d, "export"))
    check([r["seq"] for r in all_rows] == list(range(1, 26)), all_rows[:2])
    first = jsonl(history(t, d, "export", "--limit", "10"))
    rest = jsonl(history(t, d, "export", "--from-seq", str(first[-1]["seq"] + 1)))
    check(first + rest == all_rows, len(first), len(rest))
    check(all_rows[0]["sanitizer_report"] == recs[0]["sanitizer_report"], all_rows[0])


@test
def verify_and_a_forged_checkpoint(t):
    d, recs = store(t, 20)
    load(t, d, make_records(5, t0=T0 + 100 * 1000000))
    r = history(t, d, "verify")
    check(b"ok: 25 records" in r.stdout and b"2 signed checkpoints" in r.stdout, r)
    cp = os.path.join(d, "provenance", "checkpoints")
    with open(cp) as f:
        lines = f.readlines()
    parts = lines[-1].split(" ")
    parts[0] = "24"  # claim a different head seq under the old signature
    with open(cp, "w") as f:
        f.writelines(lines[:-1] + [" ".join(parts)])
    r = history(t, d, "verify", rc=1)
    check(b"BROKEN at seq" in r.stdout and b"bad signature" in r.stdout, r)


@test
def prune_then_verify(t):
    d, recs = store(t, 20)
    r = history(t, d, "prune", "--before", "2026-09-21T14:13:30Z")
    check(b"pruned 10 records" in r.stdout, r)
    check(seqs(history(t, d, "--format", "jsonl", "--limit", "0")) == list(range(20, 10, -1)))
    r = history(t, d, "verify")
    check(b"ok: 10 records (seq 11..20) chained from anchor 10" in r.stdout, r)
    history(t, d, "prune", rc=2)


@test
def errors_and_exit_codes(t):
    r = t.agentgate("history", "--data-dir", t.path("nothing"), check_rc=1)
    check(b"no provenance store at " + t.path("nothing").encode() + b"/provenance" in r.stderr, r)
    check(not os.path.exists(t.path("nothing")), "history must not create a store")
    d, _ = store(t, 3)
    for args, flag in ((["--bogus"], b"--bogus"), (["--since", "yesterday"], b"--since"),
                       (["--decision", "maybe"], b"--decision"), (["--format", "xml"], b"--format"),
                       (["--status", "abc"], b"--status"), (["--limit", "-1"], b"--limit"),
                       (["verify", "--agent", "x"], b"--agent"), (["top", "--by", "url"], b"--by"),
                       (["--agent"], b"--agent")):
        r = history(t, d, *args, rc=2)
        check(flag in r.stderr, args, r)
    for sub in ([], ["show"], ["top"], ["export"], ["verify"], ["prune"]):
        r = t.agentgate("history", *sub, "--help", check_rc=0)
        check(b"usage: agentgate history" in r.stdout, sub, r)


@test
def reads_while_another_process_writes_and_follow(t):
    d = t.path("data")
    load(t, d, make_records(3))
    # csv: follow prints its header once it has read where the history ends, so the records
    # written after that are the ones it must print (jsonl prints nothing to wait for)
    follow = t.spawn(BIN, "history", "--follow", "--format", "csv", "--data-dir", d,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    header = read_line(follow, time.monotonic() + 30)
    check(header is not None and header.startswith(b"seq,"), "follow printed no header:", header)
    writer = t.spawn(LOADER, "--load", d, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    more = make_records(10, t0=T0 + 50 * 1000000)
    for r in more[:5]:
        writer.stdin.write((json.dumps(r) + "\n").encode())
    writer.stdin.flush()
    # the writer is still running: its batches are visible to a read-only reader
    deadline = time.monotonic() + 10
    got = []
    while time.monotonic() < deadline and len(got) < 8:
        got = seqs(history(t, d, "--format", "jsonl", "--limit", "0"))
        time.sleep(0.1)
    check(sorted(got) == list(range(1, 9)), got)
    for r in more[5:]:
        writer.stdin.write((json.dumps(r) + "\n").encode())
    writer.stdin.close()
    check(writer.wait(20) == 0, "writer failed")
    text = header
    deadline = time.monotonic() + 15
    while text.count(b"\n") < 11:
        line = read_line(follow, deadline)
        if not line:
            break
        text += line
    follow.send_signal(signal.SIGTERM)
    check(follow.wait(10) == 0, "follow did not stop on SIGTERM")
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    check([int(r["seq"]) for r in rows] == list(range(4, 14)), [r["seq"] for r in rows])
    check(rows[0]["url"] == more[0]["url"], rows[0])
    check(b"ok: 13 records" in history(t, d, "verify").stdout)


def read_line(proc, deadline):
    """One line of proc's (unbuffered) stdout, or None when none comes before deadline: a
    record follow fails to print makes the test fail, not hang."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            return proc.stdout.readline()

agtest.main()
