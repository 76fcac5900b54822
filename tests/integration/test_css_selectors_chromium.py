"""Strict mode reads style sheets as Chromium does: random documents (bench/css_selector_audit.py
generates them from fixed seeds: nested elements with classes, ids and data attributes, and
style rules whose selectors join compounds with descendant, child and sibling combinators,
with attribute conditions, :first-child, :nth-child(), :nth-of-type() and :not() anywhere and
:is()/:where() of compounds, hiding or showing again) are rendered by headless Chromium directly, which
lists the words a person sees, and loaded through agentgate (strict) by headless Chromium,
whose DOM is what an agent reads. No word a person sees may be missing from the agent's DOM,
and no word hidden from a person may be in it. Fixed pages check the same way the cascade's
specificity of :not(), :is(), :where() and :has(), selectors with :is()/:where() lists, and
conditions on ancestors (places, :not(), siblings before them, attributes)."""

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
# :not(), :is() and :has() as their most specific argument, :where() as nothing; an id
# written twice counts twice. Each rule
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
    ".k17{display:none} #k17#k17{display:block}",
    "#k18#k18{visibility:hidden} div.k18{visibility:visible}",
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


# Rules whose conditions are on an ancestor: hiding ones (a1-a5, a12) and undoing ones
# (k6-k11). k10's :last-child is not judged (it undoes on that doubt); k11's sibling began
# before the sheet did.
ANCESTOR_RULES = """li:first-child .a1{display:none}
[data-h~=on] > .a12{display:none}
section:nth-of-type(2) .a2{visibility:hidden}
div:not(.z) > .a3{display:none}
h2 ~ div .a4{display:none}
h3 + div .a5{opacity:0}
.k6{display:none} [data-x] .k6{display:block}
.k7{display:none} div:not([data-y]) .k7{display:block}
.k8{display:none} p:nth-child(2) .k8{display:block}
.k9{display:none} body.home .k9{display:block}
.k10{display:none} div:last-child .k10{display:block}"""

ANCESTOR_BODY = (
    "<ul><li><b class=a1>w1x</b><li><b class=a1>w2x</b></ul>"
    "<section><i class=a2>w3x</i></section><section><i class=a2>w4x</i></section>"
    "<div class=z><i class=a3>w5x</i></div><div><i class=a3>w6x</i></div>"
    "<div><u class=a4>w9x</u></div><h2>w7x</h2><div><u class=a4>w8x</u></div>"
    "<h3>w10x</h3><div><s class=a5>w11x</s></div><div><s class=a5>w12x</s></div>"
    "<div data-x><b class=k6>w13x</b></div><div><b class=k7>w14x</b></div>"
    "<div><i>w15x</i><p><b class=k8>w16x</b></p></div><div><p><b class=k8>w17x</b></p></div>"
    "<div><b class=k9>w18x</b></div><article><div><b class=k10>w19x</b></div></article>"
    "<article><div class=a11></div><style>.k11{display:none} .a11 ~ .k11{display:block}</style>"
    "<p class=k11>w20x</p></article>"
    "<div data-h='x on'><b class=a12>w21x</b></div><div data-h=off><b class=a12>w22x</b></div>")


@test
def conditions_on_ancestors_as_chromium_does(t):
    doc = ("<!doctype html><html><head><meta charset=utf-8><style>%s</style></head>"
           "<body class=home><p>w0x</p>%s</body></html>" % (ANCESTOR_RULES, ANCESTOR_BODY))
    compare_with_chromium(t, [doc.encode()])


agtest.main()
