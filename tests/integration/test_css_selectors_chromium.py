"""Strict mode reads style sheets as Chromium does: random documents (bench/css_selector_audit.py
generates them from fixed seeds: nested elements with classes, ids and data attributes, and
style rules whose selectors join compounds with descendant and child combinators and a
sibling combinator before the element, with attribute conditions, :first-child, :nth-child()
and :not() on the element itself and :is()/:where() of compounds, hiding or showing again) are rendered by headless Chromium directly, which
lists the words a person sees, and loaded through agentgate (strict) by headless Chromium,
whose DOM is what an agent reads. No word a person sees may be missing from the agent's DOM,
and no word hidden from a person may be in it. A fixed page checks the same way the cascade's
specificity of :not(), :is(), :where() and :has(), and selectors with :is()/:where() lists."""

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


def compare_with_chromium(t, docs):
    """Loads each document in Chromium directly and through agentgate (strict); fails on a
    word a person sees missing from the agent's DOM, or a word hidden from a person in it.
    Returns the number of words judged."""
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
    check(not lost, "visible words lost (document: words):", lost, docs[min(lost)].decode() if lost else "")
    check(not kept, "hidden words kept (document: words):", kept, docs[min(kept)].decode() if kept else "")
    return words


@test
def style_rules_hide_what_chromium_hides(t):
    docs = [Doc(random.Random("ci-%d" % n), False).html().encode() for n in range(DOCS)]
    words = compare_with_chromium(t, docs)
    check(words > 1000, "too few words to judge:", words)


# Which of two rules wins, by specificity as Selectors 4 counts functional pseudo-classes:
# :not(), :is() and :has() as their most specific argument, :where() as nothing. Each rule
# pair names its own class; the element of case N carries class kN and id kN.
CASCADE = [
    ".k1:not(p){visibility:visible} div.k1{visibility:hidden}",
    ":is(#k2){visibility:visible} .k2{visibility:hidden}",
    ":where(#k3){visibility:visible} .k3{visibility:hidden}",
    ".k4{visibility:hidden} :where(.k4){visibility:visible !important}",
    ":not(#zz).k5{visibility:visible} div.k5.k5{visibility:hidden}",
    ":is(.k6, #zz){display:block} .k6{display:none}",
    "div:has(> b).k7{visibility:visible} div.k7{visibility:hidden}",
    ".k8:not(.q, .k8b){display:none}",
    ".k9:not(.q, .r){display:none} div.k9.k9{display:block}",
    ".k10{display:none} .k10:not(p, span){display:block}",
    ".k11{visibility:hidden} .k11:not(.q):not(#zz){visibility:visible}",
    ":where(.q, #k12){display:none}",
    ".k13:is(p, div){display:none} :where(.k13){display:block}",
    ".k14{display:none} :is(#zz, .k14){display:block}",
    ":is(.q, .k15) > :where(b, i){display:none}",
    ".k16{display:none} :where(.k99){display:block !important}",
]


def cascade_doc():
    rules, body = [], []
    for n, rule in enumerate(CASCADE, 1):
        rules.append(rule)
        body.append('<div class="k%d" id="k%d"><b>w%dx</b> w%dx </div>' % (n, n, n, 100 + n))
    body.append('<div class="k8 k8b">w200x</div><div class="k8 q">w201x</div>')
    return ("<!doctype html><html><head><meta charset=utf-8><style>%s</style></head><body>"
            "<p>w0x visible</p>%s</body></html>" % ("\n".join(rules), "".join(body))).encode()


@test
def cascade_counts_functional_pseudo_classes_as_chromium_does(t):
    compare_with_chromium(t, [cascade_doc()])


agtest.main()
