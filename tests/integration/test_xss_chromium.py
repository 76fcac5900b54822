"""XSS corpus in headless Chromium: every payload in ../shared/corpora/xss/ is sanitized by
`agentgate sanitize`, wrapped in its own page and loaded in Chromium with no blocking CSP, so the
sanitizer alone is measured. Three detectors, all reporting to the loopback origin:
  - a test hook (the page's only trusted script, nonce'd) replaces alert/confirm/prompt/print
    and counts every call;
  - a Content-Security-Policy-Report-Only header (script-src 'nonce-...'; it blocks nothing)
    reports any other script that runs: inline handlers, javascript: URLs, eval;
  - after load, the hook fires common events on every element and audits the DOM as the browser
    built it (event-handler attributes, javascript:/vbscript:/data: URLs, script, iframe, object,
    embed, base elements, also inside shadow roots and templates) and reports what it found.
Pages are loaded 80 at a time as same-origin frames of a trusted driver page (one Chromium start
per batch), so one payload cannot affect another. A control batch sanitized with --mode off
must show executions, proving the detectors work.

The page source is one function, page_html(): a through-the-proxy variant only has to serve the
raw payload and fetch it through agentgate instead."""

import json
import os
import subprocess
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agtest  # noqa: E402
from agtest import check, test  # noqa: E402

CORPORA = os.environ.get("AG_CORPORA_DIR") or os.path.join(
    os.environ.get("AG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
    "..", "shared", "corpora")
FILES = ["dompurify-payloads.json", "h5sc-payloads.json", "payloadsallthethings-xss.json"]
NONCE = "agtestnonce"
BATCH = 80

HOOK = r"""
(function () {
  var id = %(id)d;
  function beacon(kind, what) {
    try {
      var x = new XMLHttpRequest();
      x.open('GET', '/' + kind + '?id=' + id + '&what=' + encodeURIComponent(String(what).slice(0, 200)), false);
      x.send();
    } catch (e) {}
  }
  ['alert', 'confirm', 'prompt', 'print'].forEach(function (f) {
    window[f] = function (v) { beacon('exec', f + ':' + v); };
  });
  var URLS = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'srcdoc',
              'background', 'codebase', 'to', 'values', 'from'];
  function audit(root, bad) {
    var els = root.querySelectorAll('*');
    for (var i = 0; i < els.length; i++) {
      var el = els[i], tag = el.localName;
      if (el === HOOK_SCRIPT) continue;
      if (/^(script|iframe|frame|object|embed|applet|base|portal)$/.test(tag)) bad.push('element:' + tag);
      for (var k = 0; k < el.attributes.length; k++) {
        var a = el.attributes[k], n = a.name.toLowerCase();
        if (n.indexOf('on') === 0) bad.push('handler:' + tag + '.' + n);
        if (URLS.indexOf(n) >= 0) {
          var v = a.value.replace(/[\u0000-\u0020]/g, '').toLowerCase();
          if (/^(javascript|vbscript):/.test(v) || (/^data:/.test(v) && !/^data:image\//.test(v)))
            bad.push('url:' + tag + '.' + n);
        }
      }
      if (el.shadowRoot) audit(el.shadowRoot, bad);
      if (tag === 'template' && el.content) audit(el.content, bad);
    }
  }
  var HOOK_SCRIPT = document.currentScript;
  window.addEventListener('load', function () {
    setTimeout(function () {
      var events = ['mouseover', 'mouseenter', 'focus', 'focusin', 'blur', 'mousedown', 'mouseup',
                    'keydown', 'input', 'change', 'toggle', 'animationstart', 'transitionend',
                    'pointerover', 'wheel', 'scroll', 'error', 'load'];
      var els = document.querySelectorAll('body *');
      for (var i = 0; i < els.length && i < 2000; i++)
        for (var e = 0; e < events.length; e++)
          try { els[i].dispatchEvent(new Event(events[e])); } catch (x) {}
      var bad = [];
      audit(document, bad);
      beacon('audit', bad.join(' '));
    }, 50);
  });
})();
"""


def load_payloads():
    out = []
    for f in FILES:
        with open(os.path.join(CORPORA, "xss", f), encoding="utf-8") as fh:
            for i, p in enumerate(json.load(fh)):
                out.append(("%s#%d" % (f, i), p))
    return out


def sanitize(t, payload, mode):
    r = t.agentgate("sanitize", "--mode", mode, input=payload.encode("utf-8"), timeout=30)
    check(r.rc == 0, "sanitize failed", r)
    return r.stdout


def page_html(pid, body):
    head = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><script nonce=\"%s\">%s</script>"
            "</head><body>" % (NONCE, HOOK % {"id": pid})).encode()
    return head + body


class Collector:
    """The loopback origin's view: pages by id, and what the detectors reported."""

    def __init__(self):
        self.pages = {}
        self.execs = []
        self.csp = []
        self.audits = {}
        self.lock = threading.Lock()

    def route(self, handler, body):
        u = urllib.parse.urlsplit(handler.path)
        q = urllib.parse.parse_qs(u.query)
        pid = int(q.get("id", ["-1"])[0])
        what = q.get("what", [""])[0]
        if u.path == "/page":
            csp = ("script-src 'nonce-%s'; object-src 'none'; report-uri /csp" % NONCE)
            return 200, {"Content-Type": "text/html; charset=utf-8",
                         "Content-Security-Policy-Report-Only": csp}, self.pages.get(pid, b"")
        if u.path == "/driver":
            ids = [int(x) for x in q.get("ids", [""])[0].split(",") if x]
            frames = "".join('<iframe src="/page?id=%d" width=50 height=50></iframe>' % i
                             for i in ids)
            return 200, {"Content-Type": "text/html"}, ("<!DOCTYPE html><body>%s</body>" % frames).encode()
        with self.lock:
            if u.path == "/exec":
                self.execs.append((pid, what))
            elif u.path == "/audit":
                self.audits[pid] = what
            elif u.path == "/csp":
                self.csp.append(body[:300])
        return 204, {}, b""


def run_batches(t, origin, ids):
    for k in range(0, len(ids), BATCH):
        chunk = ids[k:k + BATCH]
        url = "http://127.0.0.1:%d/driver?ids=%s" % (origin.port, ",".join(map(str, chunk)))
        r = t.chromium(url, extra=["--virtual-time-budget=4000"], timeout=120)
        check(r.rc == 0, "chromium failed", r)


def serve(t, col):
    return t.origin({"*": col.route})


@test
def xss_corpus_runs_no_script(t):
    payloads = load_payloads()
    check(len(payloads) > 1000, "xss corpus missing or small:", len(payloads))
    col = Collector()
    for pid, (_, p) in enumerate(payloads):
        col.pages[pid] = page_html(pid, sanitize(t, p, "scripts"))
    origin = serve(t, col)
    run_batches(t, origin, list(col.pages))
    names = {pid: payloads[pid][0] for pid in col.pages}
    bad_audits = {pid: a for pid, a in col.audits.items() if a.strip()}
    missing = [pid for pid in col.pages if pid not in col.audits]
    print("xss: %d payloads, %d executions, %d CSP reports, %d pages with dangerous DOM, "
          "%d pages without an audit" % (len(payloads), len(col.execs), len(col.csp),
                                          len(bad_audits), len(missing)))
    for pid, what in col.execs[:10]:
        print("  exec", names.get(pid), what)
    for c in col.csp[:5]:
        print("  csp", c)
    for pid, a in list(bad_audits.items())[:10]:
        print("  dom", names.get(pid), a)
    check(not col.execs, "payloads executed script:", len(col.execs))
    check(not col.csp, "CSP report-only saw script:", len(col.csp))
    check(not bad_audits, "dangerous DOM after sanitizing:", len(bad_audits))
    check(len(missing) <= len(payloads) // 100, "pages that never reported:", len(missing))


@test
def control_unsanitized_payloads_do_run(t):
    """The same detectors on payloads re-serialized with --mode off must fire."""
    control = ["<img src=x onerror=alert(1)>", "<svg onload=alert(2)>",
               "<script>alert(3)</script>", "<body onload=print()>",
               "<details open ontoggle=confirm(5)>", "<iframe srcdoc='<script>parent.alert(6)</script>'>",
               "<a href=javascript:alert(7)>x</a>", "<input autofocus onfocus=alert(8)>"]
    col = Collector()
    for pid, p in enumerate(control):
        col.pages[pid] = page_html(pid, sanitize(t, p, "off"))
    origin = serve(t, col)
    run_batches(t, origin, list(col.pages))
    flagged = {pid for pid, _ in col.execs} | {pid for pid, a in col.audits.items() if a.strip()}
    print("control: %d executions, %d CSP reports, %d/%d pages flagged" %
          (len(col.execs), len(col.csp), len(flagged), len(control)))
    check(len(col.execs) >= 3, "the hooks did not see unsanitized payloads run:", col.execs)
    check(len(flagged) == len(control), "not every unsanitized payload was flagged:", flagged)


agtest.main()
