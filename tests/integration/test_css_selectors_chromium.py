"""Strict mode reads style sheets as Chromium does: random documents (bench/css_selector_audit.py
generates them from fixed seeds: nested elements with classes, ids and data attributes, and
style rules whose selectors join compounds with descendant and child combinators and a
sibling combinator before the element, with attribute conditions, :first-child and :not() on
the element itself, hiding or showing again) are rendered by headless Chromium directly, which
lists the words a person sees, and loaded through agentgate (strict) by headless Chromium,
whose DOM is what an agent reads. No word a person sees may be missing from the agent's DOM,
and no word hidden from a person may be in it."""

import os
import random
import re
import sys

import agtest
from agtest import check, test

sys.path.insert(0, os.path.join(agtest.SOURCE_DIR, "bench"))
from css_selector_audit import WORD, Doc  # noqa: E402
from visible_text_audit import PROBE  # noqa: E402

DOCS = 16

HTML = {"Content-Type": "text/html; charset=utf-8"}


@test
def style_rules_hide_what_chromium_hides(t):
    docs = [Doc(random.Random("ci-%d" % n), False).html().encode() for n in range(DOCS)]
    routes = {"/favicon.ico": (404, {}, b"")}
    for n, d in enumerate(docs):
        routes["/direct/%d" % n] = (200, HTML, d + PROBE)
        routes["/doc/%d" % n] = (200, HTML, d)
    origin = t.origin(routes)
    proxy = t.strict_reader(origin)
    size = ("--window-size=1280,900",)
    lost, kept, words = {}, {}, 0
    for n, d in enumerate(docs):
        r = t.chromium("http://127.0.0.1:%d/direct/%d" % (origin.port, n), extra=size)
        m = re.search(r'<pre id="__vt">(.*?)</pre>', r.stdout.decode("utf-8", "replace"), re.S)
        check(m, "Chromium printed no list of visible words for document %d:" % n, r)
        seen = set(WORD.findall(m.group(1)))
        r = t.chromium("http://pages.test:%d/doc/%d" % (origin.port, n),
                       proxy=proxy, extra=size)
        dom = r.stdout.decode("utf-8", "replace")
        check("<body" in dom, "the page did not load through agentgate:", r)
        present = set(WORD.findall(dom))
        every = set(WORD.findall(d.decode()))
        check(seen, "document %d shows no word at all" % n)
        words += len(every)
        if seen - present:
            lost[n] = sorted(seen - present)
        if (every - seen) & present:
            kept[n] = sorted((every - seen) & present)
    check(words > 1000, "too few words to judge:", words)
    check(not lost, "visible words lost (document: words):", lost, docs[min(lost)].decode() if lost else "")
    check(not kept, "hidden words kept (document: words):", kept, docs[min(kept)].decode() if kept else "")


agtest.main()
