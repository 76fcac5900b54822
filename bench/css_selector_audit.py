#!/usr/bin/env python3
"""Strict mode's reading of style sheets against Chromium's, on random documents.

Each document is generated from a seed: nested elements (block and inline, some closed
implicitly by the HTML parser, lists), each with a few classes from a small pool, sometimes an
id or a data attribute, every text node a word of its own; a <style> of random rules whose
selectors are compounds of a tag, classes and an id (and attribute conditions, :first-child,
:nth-child(), :nth-of-type() and :not() of one or two simple selectors, :is() and :where() of
compounds, anywhere) joined by descendant, child and sibling combinators (no two sibling ones
in a row), and whose declarations hide (display,
visibility, opacity, font size) or set the property again; some style attributes too.
Chromium renders the document (the probe of visible_text_audit.py lists the words a person
sees) and `agentgate sanitize` reads it in strict mode. A word Chromium shows that strict mode
removed is visible text lost; a word Chromium hides that strict mode kept is hidden text
kept. With --unsupported, selectors also use what strict mode does not judge (:last-child,
:last-of-type, :not() of a complex selector, and chains of sibling combinators in undoing
rules), to measure how much hidden text that leaves. With --chains, hiding rules also chain
sibling combinators (`h2 + p ~ .n`), which strict mode judges there (other documents than
without it for the same seed).

usage: bench/css_selector_audit.py [--agentgate PATH] [--docs N] [--seed S] [--unsupported]
                                   [--chains] [--show N]
Exit status 1 when a document lost visible text or (without --unsupported) kept hidden text.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from visible_text_audit import CHROMIUM, PROBE  # noqa: E402

BLOCKS = ["div", "p", "section", "ul", "nav", "article"]
INLINES = ["span", "b", "em", "a"]
CLASSES = ["a", "b", "c", "d"]
IDS = ["i1", "i2", "i3"]
HIDE = ["display:none", "visibility:hidden", "opacity:0", "font-size:0"]
SHOW = ["display:block", "visibility:visible", "opacity:1", "font-size:16px"]
WORD = re.compile(r"\bw\d+x\b")


class Doc:
    def __init__(self, rng, unsupported, chains=False):
        self.rng = rng
        self.unsupported = unsupported
        self.chains = chains
        self.words = 0
        self.ids = list(IDS)

    def word(self):
        self.words += 1
        return "w%dx" % self.words

    def attrs(self):
        r, out = self.rng, []
        cls = r.sample(CLASSES, r.choice([0, 0, 1, 1, 2]))
        if cls:
            out.append('class="%s"' % " ".join(cls))
        if self.ids and r.random() < 0.15:
            out.append('id="%s"' % self.ids.pop(0))
        if r.random() < 0.2:
            out.append('data-k="%s"' % r.choice(["v1", "v2 v3"]))
        if r.random() < 0.08:
            out.append('style="%s"' % r.choice(HIDE + SHOW))
        return (" " + " ".join(out)) if out else ""

    def children(self, depth, inside, count):
        """count siblings at depth; after a <p> left open, the rest are inside it."""
        out = []
        for _ in range(count):
            html, open_p = self.element(depth, inside)
            out.append(html)
            if open_p:
                inside = inside + ("p",)
        return "".join(out)

    def element(self, depth, inside=()):
        """An element (or a word) at depth, inside the given tags, and whether it is a <p> left
        open. Markup the HTML parser rebuilds with its adoption agency or reopens as it
        reconstructs formatting elements (an <a> in an <a>, a block that closes a <p> while a
        <b> inside it is open) is not generated: strict mode follows the parser's stack, not
        that reparenting."""
        r = self.rng
        if depth > 4 or r.random() < 0.25:
            return self.word() + " ", False
        if r.random() < 0.1 and "p" not in inside:
            items = "".join("<li%s>%s" % (self.attrs(), self.children(depth + 1, inside + ("li",), 1))
                            for _ in range(r.randint(1, 3)))
            return "<ul%s>%s</ul>" % (self.attrs(), items), False
        inline_only = "p" in inside  # a block would close the <p> and reopen what it holds
        tags = [t for t in INLINES if t not in inside]
        if not inline_only:
            tags += BLOCKS[:3]
        if depth == 0:
            tags = BLOCKS
        if not tags or (inline_only and r.random() < 0.1):
            tags = ["span"]
        tag = r.choice(tags)
        body = self.word() + " " + self.children(depth + 1, inside + (tag,), r.randint(1, 3))
        # <p> is left open now and then (outside formatting elements): the parent's end tag
        # closes it, as the parser does
        open_p = tag == "p" and not set(inside) & set(INLINES) and r.random() < 0.3
        html = "<%s%s>%s%s" % (tag, self.attrs(), body, "" if open_p else "</%s>" % tag)
        return html, open_p

    def compound(self, first):
        r, parts = self.rng, []
        if r.random() < 0.4:
            parts.append(r.choice(BLOCKS + INLINES + ["li"]))
        for c in r.sample(CLASSES, r.choice([0, 1, 1, 2])):
            parts.append("." + c)
        if r.random() < 0.1:
            parts.append("#" + r.choice(IDS))
        if r.random() < 0.12:
            parts.append(r.choice(["[data-k]", '[data-k="v1"]', "[data-k~=v3]", "[data-k^=v]"]))
        if r.random() < 0.12:
            if not parts:  # a bare :not() would match html and body, left alone
                parts.append(r.choice(BLOCKS + INLINES))
            parts.append(r.choice([":first-child", ":not(.a)", ":not([data-k])", ":not(p)",
                                   ":nth-child(2)", ":nth-child(odd)", ":nth-child(-n+2)",
                                   ":not(.a, .b)", ":not(p, #i1)", ":first-of-type",
                                   ":nth-of-type(2)", ":nth-of-type(odd)"]))
        if r.random() < 0.08:  # a list of compounds: one selector per item
            parts.append(r.choice([":is(.a, .c)", ":where(.b, #i2)", ":is(div, span)",
                                   ":where(p, .d)", ":is(.a.b, li)"]))
        if self.unsupported and r.random() < 0.2:
            parts.append(r.choice([":last-child", ":last-of-type", ":not(.a .b)"]))
        if not parts:
            parts.append(r.choice(BLOCKS + INLINES + [".a", ".b"]))
        return "".join(parts)

    def selector(self, hides=False):
        r = self.rng
        sel = self.compound(True)
        sibling = False
        for k in range(r.choice([0, 0, 1, 1, 2])):
            # a sibling of the element or of an ancestor is judged, a chain of them in hiding
            # rules only (with --chains)
            chain = self.unsupported or (self.chains and hides)
            joins = [" ", " > "] + ([" + ", " ~ "] if not sibling or chain else [])
            join = r.choice(joins)
            sibling = join in (" + ", " ~ ")
            sel = self.compound(False) + join + sel
        return sel

    def sheet(self):
        r, rules = self.rng, []
        for _ in range(r.randint(3, 8)):
            hides = r.random() < 0.6
            decl = r.choice(HIDE) if hides else r.choice(SHOW)
            if r.random() < 0.1:
                decl += " !important"
            rules.append("%s{%s}" % (self.selector(hides), decl))
        return "\n".join(rules)

    def html(self):
        body = self.children(0, (), self.rng.randint(3, 6))
        return ("<!doctype html><html><head><meta charset=utf-8><style>%s</style></head>"
                "<body>%s</body></html>" % (self.sheet(), body))


def chromium_visible(path, profile):
    r = subprocess.run(CHROMIUM + ["--user-data-dir=" + profile, "file://" + path],
                       capture_output=True, timeout=60)
    m = re.search(rb'<pre id="__vt">(.*?)</pre>', r.stdout, re.S)
    if not m:
        raise RuntimeError("chromium printed no probe output for %s: %s" % (path, r.stderr[-300:]))
    return set(WORD.findall(m.group(1).decode()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agentgate", default="build-rel/agentgate")
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--unsupported", action="store_true")
    ap.add_argument("--chains", action="store_true",
                    help="hiding rules also chain sibling combinators (other documents)")
    ap.add_argument("--show", type=int, default=3, help="documents shown in full on a mismatch")
    a = ap.parse_args()
    if not shutil.which(CHROMIUM[0]):
        sys.exit("css_selector_audit: chromium not found")
    work = tempfile.mkdtemp(prefix="css-audit-")
    profile = os.path.join(work, "profile")
    words = lost = kept = bad_docs = shown = 0
    try:
        for n in range(a.docs):
            doc = Doc(random.Random("%d-%d" % (a.seed, n)), a.unsupported, a.chains).html()
            path = os.path.join(work, "d%d.html" % n)
            with open(path, "wb") as f:
                f.write(doc.encode() + PROBE)
            seen = chromium_visible(path, profile)
            out = subprocess.run([a.agentgate, "sanitize", "--mode", "strict"], input=doc.encode(),
                                 capture_output=True, check=True).stdout.decode()
            present = set(WORD.findall(out))
            every = set(WORD.findall(doc))
            doc_lost, doc_kept = seen - present, (every - seen) & present
            words += len(every)
            lost += len(doc_lost)
            kept += len(doc_kept)
            if doc_lost or (doc_kept and not a.unsupported):
                bad_docs += 1
                if shown < a.show:
                    shown += 1
                    print("document %d: lost %s, kept %s\n%s\n" % (n, sorted(doc_lost),
                                                                   sorted(doc_kept), doc))
            if (n + 1) % 25 == 0:
                print("%d/%d documents" % (n + 1, a.docs), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| documents | words | visible words lost | hidden words kept | documents with a "
          "mismatch |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print("| %d | %d | %d | %d | %d |" % (a.docs, words, lost, kept, bad_docs))
    return 1 if bad_docs else 0


if __name__ == "__main__":
    sys.exit(main())
