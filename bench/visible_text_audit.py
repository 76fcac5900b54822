#!/usr/bin/env python3
"""Visible text strict mode removes, as Chromium lays the page out.

For a seeded sample of documents from a NUL-separated list (bench/build-benign-corpus.sh writes
html-files.lst0), each document is sanitized twice with `agentgate sanitize`: in scripts mode
(script vectors gone, everything else kept) and in strict mode. Both are written next to the
original, so its relative style sheets and images load as they would, and rendered by headless
Chromium with a small script appended that lists the words of every text node a person sees
(checkVisibility with opacity and visibility, a box of at least 2x2 px that is not entirely
above or left of the page, a font size of at least 2px, an opaque text colour). Words visible in
the scripts-mode rendering and missing from the strict-mode one are visible text strict mode
removed; the table prints them per document, with the share of all visible words.

usage: bench/visible_text_audit.py [--agentgate PATH] [--sample N] [--seed S] LIST0_FILE
"""
import argparse
import collections
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

PROBE = b"""<script>(function () {
var words = [];
var w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (var n = w.nextNode(); n; n = w.nextNode()) {
  var e = n.parentElement, t = n.nodeValue;
  if (!e || !/\\S/.test(t) || e.closest('script,style,noscript,template,pre#__vt')) continue;
  if (!e.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
  var r = document.createRange(); r.selectNodeContents(n);
  var b = r.getBoundingClientRect();
  if (b.width < 2 || b.height < 2 || b.right <= 0 || b.bottom <= 0) continue;
  var cs = getComputedStyle(e);
  if (parseFloat(cs.fontSize) < 2) continue;
  var m = cs.color.match(/rgba?\\(([^)]*)\\)/);
  if (m && m[1].split(',').length == 4 && parseFloat(m[1].split(',')[3]) == 0) continue;
  words.push(t);
}
var p = document.createElement('pre'); p.id = '__vt';
p.textContent = words.join(' '); document.body.appendChild(p);
})();</script>"""

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1280,900", "--virtual-time-budget=3000", "--dump-dom"]


# Characters no one sees (strict mode removes them between letters): not word boundaries.
INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u206f\ufeff]")


def words_of(text):
    return collections.Counter(re.findall(r"\w{2,}", INVISIBLE.sub("", text).lower()))


def rendered_words(path, profile):
    r = subprocess.run(CHROMIUM + ["--user-data-dir=" + profile, "file://" + path],
                       capture_output=True, timeout=60)
    dom = r.stdout.decode("utf-8", "replace")
    m = re.search(r'<pre id="__vt">(.*?)</pre>', dom, re.S)
    if not m:
        return None
    text = re.sub(r"&lt;", "<", re.sub(r"&gt;", ">", re.sub(r"&amp;", "&", m.group(1))))
    return words_of(text)


def sanitize(agentgate, mode, data):
    r = subprocess.run([agentgate, "sanitize", "--mode", mode], input=data, capture_output=True,
                       timeout=60)
    return r.stdout if r.returncode == 0 else None


def with_probe(html):
    i = html.lower().rfind(b"</body>")
    return html[:i] + PROBE + html[i:] if i >= 0 else html + PROBE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agentgate", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                        "agentgate"))
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("list0")
    a = ap.parse_args()
    if not shutil.which(CHROMIUM[0]):
        sys.exit("visible_text_audit: chromium not found")
    with open(a.list0, "rb") as f:
        paths = [p.decode() for p in f.read().split(b"\0") if p]
    if not paths:
        sys.exit("visible_text_audit: %s lists no documents" % a.list0)
    rnd = random.Random(a.seed)
    sample = rnd.sample(paths, min(a.sample, len(paths)))
    profile = tempfile.mkdtemp(prefix="vt-chromium-")
    total_words = total_lost = failed = 0
    rows = []
    try:
        for k, path in enumerate(sample):
            print("visible_text_audit: %d/%d %s" % (k + 1, len(sample), path), file=sys.stderr)
            data = open(path, "rb").read()
            outs = {}
            for mode in ("scripts", "strict"):
                out = sanitize(a.agentgate, mode, data)
                if out is None:
                    break
                dest = path + ".__vt_%s.html" % mode
                with open(dest, "wb") as f:
                    f.write(with_probe(out))
                outs[mode] = dest
            try:
                if len(outs) < 2:
                    failed += 1
                    continue
                seen = rendered_words(outs["scripts"], profile)
                kept = rendered_words(outs["strict"], profile)
                if seen is None or kept is None:
                    failed += 1
                    continue
                lost = seen - kept
                n, m = sum(seen.values()), sum(lost.values())
                total_words += n
                total_lost += m
                if m:
                    rows.append((path, n, m, " ".join(sorted(lost)[:12])))
            finally:
                for dest in outs.values():
                    os.unlink(dest)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    print("| document | visible words | lost in strict mode | some of them |")
    print("| --- | ---: | ---: | --- |")
    for path, n, m, some in rows:
        print("| %s | %d | %d | %s |" % (os.path.relpath(path, os.path.dirname(a.list0)), n, m, some))
    print("| **%d documents** (%d not rendered) | %d | %d | %.4f%% |"
          % (len(sample) - failed, failed, total_words, total_lost,
             100.0 * total_lost / total_words if total_words else 0.0))


if __name__ == "__main__":
    main()
