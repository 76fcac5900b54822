"""Integration tests for `agentgate ca init|spki|show`: files and modes, the refusal to
overwrite, the refusal of a group/world-readable or mismatched key, the SPKI pin against the
openssl pipeline, the default directory, and usage errors."""

import os
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
import tlsfixtures  # noqa: E402
from agtest import check, test  # noqa: E402


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def init(t, d, rc=0):
    return t.agentgate("ca", "init", "--dir", d, check_rc=rc)


@test
def init_writes_the_ca_with_safe_modes_and_prints_the_pin(t):
    d = t.path("ca")
    r = init(t, d)
    out = r.stdout.decode()
    check(mode(d) == 0o700, "dir mode %o" % mode(d))
    check(mode(os.path.join(d, "ca.key")) == 0o600, "key mode")
    check(mode(os.path.join(d, "ca.pem")) == 0o644, "cert mode")
    pin = tlsfixtures.spki_pin(os.path.join(d, "ca.pem"))
    check(os.path.join(d, "ca.pem") in out and pin in out, out)
    text = subprocess.run(["openssl", "x509", "-in", os.path.join(d, "ca.pem"), "-noout",
                           "-text"], capture_output=True, check=True).stdout.decode()
    check("CA:TRUE, pathlen:0" in text, text)
    check("Certificate Sign, CRL Sign" in text, text)
    check("agentgate interception CA (" in text and "O = agentgate" in text, text)
    check("ASN1 OID: prime256v1" in text, text)


@test
def spki_equals_the_openssl_pipeline(t):
    d = t.path("ca")
    init(t, d)
    r = t.agentgate("ca", "spki", "--dir", d, check_rc=0)
    lines = r.stdout.decode().splitlines()
    check(len(lines) == 1, lines)
    check(lines[0] == tlsfixtures.spki_pin(os.path.join(d, "ca.pem")), lines)


@test
def show_prints_subject_validity_fingerprint_pin_and_key_mode(t):
    d = t.path("ca")
    init(t, d)
    out = t.agentgate("ca", "show", "--dir=" + d, check_rc=0).stdout.decode()
    pem = os.path.join(d, "ca.pem")
    fp = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint", "-sha256"],
                        capture_output=True, check=True).stdout.decode().strip().split("=", 1)[1]
    serial = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-serial"],
                            capture_output=True, check=True).stdout.decode().strip().split("=")[1]
    for want in ("subject:", "CN=agentgate interception CA (", "issuer:", "not before:",
                 "not after:", fp, serial, tlsfixtures.spki_pin(pem), "mode 0600"):
        check(want in out, "missing %r in" % want, out)


@test
def init_refuses_to_overwrite_an_existing_ca(t):
    d = t.path("ca")
    init(t, d)
    with open(os.path.join(d, "ca.pem"), "rb") as f:
        before = f.read()
    r = init(t, d, rc=1)
    check(os.path.join(d, "ca.pem") in r.stderr.decode(), r)
    with open(os.path.join(d, "ca.pem"), "rb") as f:
        check(f.read() == before, "ca.pem changed")


@test
def a_key_readable_by_others_is_refused(t):
    d = t.path("ca")
    init(t, d)
    key = os.path.join(d, "ca.key")
    for m in (0o644, 0o640, 0o604):
        os.chmod(key, m)
        r = t.agentgate("ca", "spki", "--dir", d, check_rc=1)
        err = r.stderr.decode()
        check(key in err and "%04o" % m in err and "chmod 600" in err, err)
        check(r.stdout == b"", "no pin printed", r)
        r = t.agentgate("ca", "show", "--dir", d, check_rc=1)
        check("UNSAFE" in r.stdout.decode() and "chmod 600" in r.stderr.decode(), r)
    os.chmod(key, 0o600)
    t.agentgate("ca", "spki", "--dir", d, check_rc=0)


@test
def a_mismatched_key_is_refused(t):
    a, b = t.path("a"), t.path("b")
    init(t, a)
    init(t, b)
    shutil.copy2(os.path.join(b, "ca.key"), os.path.join(a, "ca.key"))
    r = t.agentgate("ca", "spki", "--dir", a, check_rc=1)
    check("does not match" in r.stderr.decode() and a in r.stderr.decode(), r)


@test
def missing_files_are_named(t):
    d = t.path("nothing-here")
    r = t.agentgate("ca", "spki", "--dir", d, check_rc=1)
    check(os.path.join(d, "ca.pem") in r.stderr.decode(), r)
    r = t.agentgate("ca", "show", "--dir", d, check_rc=1)
    check(os.path.join(d, "ca.pem") in r.stderr.decode(), r)


@test
def default_dir_is_the_data_dir(t):
    data = t.path("data")
    env = dict(os.environ, AGENTGATE_DATA_DIR=data)
    r = subprocess.run([agtest.BIN, "ca", "init"], env=env, capture_output=True, timeout=60)
    check(r.returncode == 0, r)
    check(os.path.exists(os.path.join(data, "ca", "ca.key")), os.listdir(data))
    r = subprocess.run([agtest.BIN, "ca", "spki"], env=env, capture_output=True, timeout=60)
    check(r.returncode == 0, r)
    check(r.stdout.decode().strip() == tlsfixtures.spki_pin(os.path.join(data, "ca", "ca.pem")))


@test
def help_and_usage_errors(t):
    for args in (("ca", "--help"), ("ca", "init", "--help"), ("ca", "spki", "-h"),
                 ("ca", "show", "--help")):
        r = t.agentgate(*args, check_rc=0)
        check(b"usage: agentgate ca" in r.stdout, r)
    for args in (("ca",), ("ca", "frobnicate"), ("ca", "init", "--dir"),
                 ("ca", "spki", "--bogus"), ("ca", "show", "extra")):
        r = t.agentgate(*args, check_rc=2)
        check(b"usage" in r.stderr, r)


agtest.main()
