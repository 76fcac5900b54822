/* sanitizer: the sanitizing filter between the tokenizer and the serializer, and the public
 * sanitizer_* API. Per token it decides: keep, rewrite (drop attributes), drop the tag, or drop
 * the element with everything inside it. Subtrees are followed on a bounded open-element stack
 * that knows void elements and the implicit closes browsers apply (p, li, dt/dd, option,
 * table cells and rows, headings). Raw text is never written back verbatim (except style
 * sheets with '<' escaped, and everything in "off" mode), so a difference between our state
 * tracking and a browser's cannot turn text into markup.
 *
 * Strict mode adds: hidden subtrees (hidden, aria-hidden=true, template, noscript, inline or
 * <style>-sheet CSS that hides), comments, invisible characters, and instruction-like spans
 * (text of a run is held back, bounded, until the matcher says it is stable). */
#include <assert.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/css.h"
#include "sanitizer/instr.h"
#include "sanitizer/sanitizer.h"
#include "sanitizer/serializer.h"
#include "sanitizer/tokenizer.h"
#include "sanitizer/unicode_text.h"

#define DEFAULT_MAX_STREAM (256 * 1024)
#define STACK_MAX 512
#define NAMES_MAX (32 * 1024) /* bytes of the open elements' ids and classes (strict) */
#define TYPES_MAX 2048          /* children's tags counted for :nth-of-type(), all parents */
#define TYPES_PER_PARENT_MAX 32 /* distinct tags counted among one element's children */
#define TYPES_UNKNOWN UINT32_MAX
#define ATTRS_MAX (64 * 1024)  /* bytes of the open elements' attributes (strict, on demand) */
#define ATTRS_ELEM_MAX 2048    /* of one element's: past it, its attributes are not known */
#define ATTRS_NONE UINT16_MAX
/* Comparisons of style rules' ancestor compounds with open elements a stream may make: this
 * many, and as many more per input byte (css_path.budget). A page never comes near it unless
 * built to (256 rules naming ancestors over 500 nested elements took 24 s for 240 KB). */
#define ANC_BUDGET_BASE (1u << 20)
#define ANC_BUDGET_PER_BYTE 8
#define NAMES_NONE UINT16_MAX
#define ID_KEPT_MAX 127       /* an id or class value is judged by its first bytes */
#define CLASS_KEPT_MAX 511
#define OUT_BUF_BYTES 16384
#define DETAIL_NAMES_MAX 128
#define DETAIL_CUTS_MAX 64
#define MARKER "[agentgate: removed instruction-like text]"

typedef struct detail_name {
    uint8_t cat;
    char name[40];
    uint64_t count;
} detail_name;

typedef struct detail_cut {
    char rule_id[64];
    char excerpt[201 * 4];
} detail_cut;

struct sanitizer_report_detail {
    detail_name names[DETAIL_NAMES_MAX];
    size_t nnames;
    detail_cut cuts[DETAIL_CUTS_MAX];
    size_t ncuts;
    uint64_t cuts_dropped;
};

typedef struct open_elem {
    char name[24];
    uint8_t len, ns;
    uint32_t kind; /* K_* bits of an HTML element, 0 for foreign ones */
    uint32_t sig;  /* kind_sig() of the name: end tags compare it before the bytes */
    uint8_t soft;  /* its content softly hidden: CSS_SOFT_* bits >> CSS_SOFT_SHIFT (strict) */
    /* strict: its id and class values (NAMES_NONE: none, or not kept), in that order in the
     * sanitizer's names from offset `names`, for the style rules that name ancestors */
    uint32_t names;
    uint16_t id_len, cls_len;
    uint32_t children; /* element children started so far (for :first-child) */
    uint64_t sib_any, sib_next; /* their sibling marks: of all, of the last (css.h) */
    /* strict: its own place among its siblings, by type, and the marks of the siblings before
     * it, for the style rules that put conditions on ancestors (`li:first-child a`,
     * `h2 ~ div p`); 0 and siblings_known 0 where not known */
    uint32_t index, type_index;
    uint64_t prev_any, prev_next;
    uint8_t siblings_known;
    uint8_t prev_any_n, prev_next_n; /* bits of prev_any/prev_next known: those under n */
    /* strict, once a rule asks for an ancestor's attributes: its own, as stack_keep_attrs
     * writes them in the sanitizer's attrs from offset `attrs` (ATTRS_NONE: not known) */
    uint32_t attrs;
    uint16_t attrs_len;
    /* the sheet's sibling compounds when its first and its last child began: its children's
     * marks are complete for those (a later sheet's compounds were not asked of the first) */
    uint8_t sib_first_n, sib_last_n;
    uint32_t types; /* its children's tags and counts: the sanitizer's types from here (to
                       the top: its children are closed when one more starts); TYPES_UNKNOWN
                       when it was open before counting began */
} open_elem;

/* One tag among an element's children, and how many of them have started (:nth-of-type()). */
typedef struct type_count {
    uint64_t hash; /* of the tag name */
    uint32_t n;
} type_count;

#define SOFT_OF(flags) ((uint8_t)(((flags) & CSS_SOFT_HIDES) >> CSS_SOFT_SHIFT))
#define SHOW_OF(flags) ((uint8_t)(((flags) & CSS_SHOWS) >> CSS_SHOW_SHIFT))

/* How the content of a raw-text element (set by its start tag) is handled. */
typedef enum {
    RAW_NONE,
    RAW_DROP,    /* removed element: drop the text and the end tag */
    RAW_TEXT,    /* title/textarea/noscript/xmp: written as escaped text */
    RAW_STYLE,   /* style sheet: collected, judged, then written */
    RAW_VERBATIM /* off mode */
} raw_mode;

/* Pending output while instruction matching holds text back. */
typedef struct pend_seg {
    size_t off, len;   /* in pend */
    uint64_t run_off;  /* text: offset of its first byte in the run */
    bool text;
    bool muted;        /* text that came while the output was muted: never written (markup is
                          muted as it is written, before it is held) */
} pend_seg;

struct sanitizer {
    sanitizer_options opt;
    size_t max_stream;
    tokenizer *tok;
    out_buf out;
    sanitizer_report rep;
    struct sanitizer_report_detail *detail; /* allocated at the first removal */
    ag_error *err;
    bool failed;

    /* What a browser sees in the output, by the same simulation the tokenizer runs on the
     * input: after each tag the two must agree on the namespace context (ns_reconcile). While
     * the output cannot follow the input into foreign content, out.muted is set. */
    tree_sim out_sim;
    const tree_sim *in_sim; /* the tokenizer's */

    size_t depth, depth_lost;
    uint32_t tag_kind; /* kind_of() the current tag's name, computed once per tag */
    uint32_t tag_sig;  /* its kind_sig() (0 for names over 32 bytes): open elements keep it */
    size_t open_p; /* open <p> elements on the stack (most start tags ask) */
    size_t skip_depth; /* nonzero: dropping everything until the stack is shallower */
    uint8_t elem_soft; /* the current start tag's content softly hidden (open_elem.soft) */
    uint8_t raw_soft;  /* the same for the raw-text element being read */

    raw_mode raw;
    char raw_name[24];
    size_t raw_name_len;
    char *style; /* a style element: start tag and body, until its end tag */
    size_t style_len, style_cap, style_tag_len;
    bool style_overflow;

    css_sheet *sheet;
    css_seen seen; /* elements written (strict): a late sheet must not hide them */
    char *names;   /* the open elements' ids and classes, a stack like theirs (open_elem) */
    size_t names_len, names_cap;
    char *attrs;   /* and their attributes, once the sheet asks for them (keeping_attrs) */
    size_t attrs_len, attrs_cap;
    bool keeping_attrs;
    uint64_t anc_budget; /* see ANC_BUDGET_BASE */
    const tok_attr *tag_id, *tag_class; /* the start tag's, once write_start_tag found them */
    bool tag_names;
    uint32_t tag_index; /* the start tag's place among its parent's element children (0: not
                         * known: in the head, or under elements past STACK_MAX) */
    uint32_t body_children; /* body's (never an open element here): counted once in the body */
    uint64_t body_sib_any, body_sib_next;
    uint8_t body_sib_first_n, body_sib_last_n; /* as open_elem's */
    bool in_body;
    uint64_t tag_prev_any, tag_prev_next; /* the start tag's siblings' marks, when known */
    uint8_t tag_prev_any_n, tag_prev_next_n; /* their bits known: those under n */
    bool tag_siblings_known;
    /* strict, from the first rule that names :nth-of-type(): each open element's children
     * counted by tag (open_elem.types), the body's from types[0] while nothing is open */
    bool counting_types, body_types_known;
    type_count *types;
    size_t types_len, types_cap;
    uint32_t tag_type_index; /* the start tag's place among its siblings of its type (0: not
                              * known) */
    instr_matcher *im;
    instr_matcher *attr_im; /* for attribute values agents read (alt, title, ...) */
    uint64_t run_off; /* run bytes held (the matcher has seen all but `unfed`) */
    size_t run_out;   /* bytes the run has written, text and markup (see run_bound) */
    char *unfed;      /* visible text not yet given to the matcher: it is fed in batches */
    size_t unfed_len, unfed_cap;
    uint64_t emitted; /* run bytes written or cut */
    instr_cut cut;
    bool have_cut, cut_marked;
    char *pend;
    size_t pend_len, pend_cap;
    pend_seg *segs;
    size_t nsegs, segs_cap, seg_head;

    char utf8_carry[4];
    size_t carry_len;
    uint32_t text_last; /* the last character of text written (joiners after it may stay) */
    char *scratch;
    size_t scratch_cap;

    /* Last, and not cleared at creation: entries are written by stack_push before they are
     * read (below depth), and clearing the whole stack for every document cost more than
     * most documents' use of it. */
    open_elem stack[STACK_MAX];
};

/* ---- small helpers --------------------------------------------------------------------- */

/* Always inlined: with a literal, the length folds to a constant and the compare to a load. */
static inline __attribute__((always_inline)) bool eq(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && memcmp(s, lit, l) == 0;
}

static bool in_set(const char *s, size_t n, const char *const *set)
{
    for (; *set; set++)
        if (eq(s, n, *set))
            return true;
    return false;
}

static inline __attribute__((always_inline)) bool starts_ci(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n < l)
        return false;
    for (size_t i = 0; i < l; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lit[i])
            return false;
    }
    return true;
}

/* Value with surrounding ASCII whitespace removed, compared case-insensitively. */
static inline __attribute__((always_inline)) bool value_is(const char *s, size_t n, const char *lit)
{
    while (n && (unsigned char)*s <= ' ') {
        s++;
        n--;
    }
    while (n && (unsigned char)s[n - 1] <= ' ')
        n--;
    return n == strlen(lit) && starts_ci(s, n, lit);
}

static inline __attribute__((always_inline)) const tok_attr *attr_get(const html_token *t,
                                                                    const char *name)
{
    for (size_t i = 0; i < t->nattrs; i++)
        if (eq(t->attrs[i].name, t->attrs[i].name_len, name))
            return &t->attrs[i];
    return NULL;
}

/* Whitespace-separated token list contains tok (case-insensitive). */
static bool list_has(const char *s, size_t n, const char *tokname)
{
    size_t i = 0, l = strlen(tokname);
    while (i < n) {
        while (i < n && (unsigned char)s[i] <= ' ')
            i++;
        size_t st = i;
        while (i < n && (unsigned char)s[i] > ' ')
            i++;
        if (i - st == l && starts_ci(s + st, l, tokname))
            return true;
    }
    return false;
}

/* ---- report ---------------------------------------------------------------------------- */

/* The detail is large (mostly cut excerpts) and most documents fill little of it: only the
 * counts are cleared, and entries are read up to them. */
static struct sanitizer_report_detail *detail_new(void)
{
    struct sanitizer_report_detail *d = malloc(sizeof *d);
    if (d) {
        d->nnames = 0;
        d->ncuts = 0;
        d->cuts_dropped = 0;
    }
    return d;
}

static void note(sanitizer *s, int cat, const char *name, size_t len)
{
    s->rep.counts[cat]++;
    if (!name)
        return;
    if (!s->detail && !(s->rep.detail = s->detail = detail_new()))
        return;
    if (len >= sizeof s->detail->names[0].name)
        len = sizeof s->detail->names[0].name - 1;
    for (size_t i = 0; i < s->detail->nnames; i++) {
        detail_name *d = &s->detail->names[i];
        if (d->cat == cat && strlen(d->name) == len && memcmp(d->name, name, len) == 0) {
            d->count++;
            return;
        }
    }
    if (s->detail->nnames == DETAIL_NAMES_MAX)
        return;
    detail_name *d = &s->detail->names[s->detail->nnames++];
    d->cat = (uint8_t)cat;
    memcpy(d->name, name, len);
    d->name[len] = '\0';
    d->count = 1;
}

static void fail(sanitizer *s, const char *msg)
{
    if (!s->failed) {
        s->failed = true;
        snprintf(s->rep.error, sizeof s->rep.error, "%s", msg);
    }
}

/* ---- URL rules ------------------------------------------------------------------------- */

static const char *const URL_ATTRS[] = {
    "href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite",
    "longdesc", "usemap", "ping", "manifest", "codebase", "data", "lowsrc", "dynsrc", "archive",
    "classid", "profile", "icon", "itemtype", "xml:base", "xmlns:xlink", "folder", "datasrc",
    "imagesrc", "src-set", NULL};

/* A URL as a browser resolves it: leading/trailing C0 controls and spaces stripped, tabs and
 * newlines (and, stricter than browsers, every C0 control) removed anywhere, then the scheme
 * (if any) judged. Allowed: relative URLs, http(s),
 * ftp, mailto, tel, sms and a few other non-script schemes, and data: images (SVG data images
 * only where an image is being loaded). */
static bool url_is_safe(const char *v, size_t n, bool image_load)
{
    while (n && (unsigned char)*v <= ' ') {
        v++;
        n--;
    }
    while (n && (unsigned char)v[n - 1] <= ' ')
        n--;
    char scheme[24];
    size_t sl = 0, i = 0;
    for (; i < n; i++) {
        char c = v[i];
        /* browsers drop tab and newlines; other C0 controls make the scheme invalid today, but
         * older engines ignored them too, so they are not allowed to hide a scheme either */
        if ((unsigned char)c < 0x20 || c == 0x7f)
            continue;
        if (c == ':')
            break;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (sl > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
        if (!ok)
            return true; /* no scheme: a relative URL */
        if (sl + 1 >= sizeof scheme)
            return false; /* an implausibly long scheme: refuse rather than guess */
        scheme[sl++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    if (i == n || sl == 0)
        return true;
    scheme[sl] = '\0';
    static const char *const allowed[] = {"http", "https", "ftp", "mailto", "tel", "sms", "news",
                                          "irc", "ircs", "magnet", "geo", "xmpp", "webcal",
                                          "about", "blob", NULL};
    if (in_set(scheme, sl, allowed))
        return true;
    if (strcmp(scheme, "data") != 0)
        return false;
    /* data:[<mediatype>][;base64],...: only images */
    char mt[32];
    size_t ml = 0;
    for (i++; i < n && ml + 1 < sizeof mt; i++) {
        char c = v[i];
        if (c == '\t' || c == '\n' || c == '\r' || c == ' ')
            continue;
        if (c == ';' || c == ',')
            break;
        mt[ml++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    mt[ml] = '\0';
    if (strncmp(mt, "image/", 6) != 0)
        return false;
    return strcmp(mt, "image/svg+xml") != 0 || image_load;
}

static bool srcset_is_safe(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && ((unsigned char)v[i] <= ' ' || v[i] == ','))
            i++;
        size_t st = i;
        while (i < n && (unsigned char)v[i] > ' ')
            i++;
        size_t ul = i - st;
        if (ul && v[st + ul - 1] == ',')
            ul--;
        if (ul && !url_is_safe(v + st, ul, true))
            return false;
        while (i < n && v[i] != ',')
            i++;
    }
    return true;
}

/* ---- element classes ------------------------------------------------------------------- */

static const char *const VOID_ELEMS[] = {"area", "base", "br", "col", "embed", "hr", "img",
                                         "input", "link", "meta", "source", "track", "wbr",
                                         "param", "keygen", "frame", "basefont", "bgsound",
                                         "image", NULL};

static const char *const SPECIAL[] = {
    "address", "applet", "area", "article", "aside", "base", "basefont", "bgsound",
    "blockquote", "body", "br", "button", "caption", "center", "col", "colgroup", "dd",
    "details", "dir", "div", "dl", "dt", "embed", "fieldset", "figcaption", "figure", "footer",
    "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup",
    "hr", "html", "iframe", "img", "input", "keygen", "li", "link", "listing", "main",
    "marquee", "menu", "meta", "nav", "noembed", "noframes", "noscript", "object", "ol", "p",
    "param", "plaintext", "pre", "script", "search", "section", "select", "source", "style",
    "summary", "table", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "title",
    "tr", "track", "ul", "wbr", "xmp", NULL};

static const char *const CLOSES_P[] = {
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div",
    "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "main", "menu",
    "nav", "ol", "p", "search", "section", "summary", "ul", "h1", "h2", "h3", "h4", "h5", "h6",
    "pre", "listing", "form", "plaintext", "table", "hr", "xmp", "li", "dd", "dt", NULL};

/* These elements end a run for instruction matching: the HTML elements a browser lays out as
 * blocks, list items, table parts or options of their own by default, i.e. those that close a
 * <p> (CLOSES_P) and these. Text across any other element (phrasing elements, form controls,
 * unknown and custom elements, SVG and MathML) reads as one run, as it reads on one line: an
 * order with one word wrapped in <foo> or <button> is still one sentence. */
static const char *const RUN_BREAKS[] = {
    "body", "caption", "col", "colgroup", "frameset", "head", "html", "legend", "optgroup",
    "option", "select", "tbody", "td", "textarea", "tfoot", "th", "thead", "title", "tr", NULL};

int sanitizer_element_breaks_run(const char *name, size_t len)
{
    return in_set(name, len, CLOSES_P) || in_set(name, len, RUN_BREAKS);
}

/* Removed with everything inside them (in every mode but off). */
static const char *const REMOVED_ELEMS[] = {"script", "iframe", "frame", "frameset", "object",
                                            "embed", "applet", "base", "portal", "fencedframe",
                                            "noembed", "noframes", "handler", "listener", NULL};

static const char *const HEADINGS[] = {"h1", "h2", "h3", "h4", "h5", "h6", NULL};

/* Attributes a person sees or an agent reads as the element's text: alternative text, tool
 * tips, accessible names and descriptions, placeholders, labels and form values. */
static const char *const TEXT_ATTRS[] = {"alt", "title", "aria-label", "aria-description",
                                         "aria-roledescription", "aria-placeholder",
                                         "aria-valuetext", "placeholder", "label", "value", NULL};

/* Start tags that close other open elements by name (beyond the bits above), and attribute
 * names with a check of their own in write_start_tag: most tags and attributes have none, and
 * the bit spares them the chain of name compares. */
static const char *const IMPLIES_CLOSE[] = {"li", "dd", "dt", "option", "optgroup", "td", "th",
                                            "tr", "tbody", "thead", "tfoot", "button", NULL};
static const char *const CHECKED_ATTRS[] = {"srcdoc", "fscommand", "srcset", "imagesrcset",
                                            "style", "charset", "value", "content", NULL};

/* Elements a page never shows (the document's head): their attributes are no generated text. */
static const char *const HEAD_ONLY[] = {"html", "head", "meta", "link", "base", "title",
                                        "style", NULL};

/* Element and attribute names are classified once through a small hash table (one bit per
 * list above), so a tag costs a hash and one compare instead of scanning the lists. */
enum {
    K_SPECIAL = 1 << 0, K_CLOSES_P = 1 << 1, K_RUN_BREAK = 1 << 2, K_REMOVED = 1 << 3,
    K_VOID = 1 << 4, K_HEADING = 1 << 5, K_BUTTON_SCOPE = 1 << 6, K_DEFAULT_SCOPE = 1 << 7,
    K_TABLE_SCOPE = 1 << 8, K_TABLE_PART = 1 << 9, K_URL_ATTR = 1 << 10, K_ANIM = 1 << 11,
    K_IMG = 1 << 12, K_HEAD_ONLY = 1 << 13, K_TEXT_ATTR = 1 << 14, K_IMPLIES_CLOSE = 1 << 15,
    K_ATTR_CHECKED = 1 << 16
};

#define KIND_SLOTS 512

/* Eight bytes a slot, the names apart: the table (4 KiB) stays in cache between tags, which
 * the sanitizer's other tables would otherwise push out. */
typedef struct kind_slot {
    uint32_t sig; /* kind_sig() of the name; 0: the slot is free */
    uint32_t mask;
} kind_slot;

static kind_slot kind_table[KIND_SLOTS];
static const char *kind_name[KIND_SLOTS];
static pthread_once_t kind_once = PTHREAD_ONCE_INIT;

/* Length, first two and last byte in one word (1 <= n <= 32): it spreads the ~200 names over
 * the table, decides a name of up to three bytes alone, and leaves only the middle bytes of
 * longer names to compare. */
static uint32_t kind_sig(const char *s, size_t n)
{
    return (uint32_t)n | (uint32_t)(unsigned char)s[0] << 8 |
           (uint32_t)(unsigned char)s[n > 1 ? 1 : 0] << 16 | (uint32_t)(unsigned char)s[n - 1] << 24;
}

static unsigned kind_slot_of(uint32_t sig)
{
    return (sig * 0x9E3779B1u) >> 23; /* the top 9 bits: KIND_SLOTS == 512 */
}

/* Every name added must pass safe_tag_name() and safe_attr_name(): a name found in the table
 * skips those checks. */
static void kind_add(const char *const *list, uint32_t bit)
{
    for (; *list; list++) {
        size_t n = strlen(*list);
        assert(safe_tag_name(*list, n) && safe_attr_name(*list, n));
        uint32_t sig = kind_sig(*list, n);
        unsigned h = kind_slot_of(sig);
        while (kind_table[h].sig && strcmp(kind_name[h], *list) != 0)
            h = (h + 1) % KIND_SLOTS;
        kind_name[h] = *list;
        kind_table[h].sig = sig;
        kind_table[h].mask |= bit;
    }
}

static const char *const BUTTON_SCOPE[] = {"applet", "caption", "html", "table", "td", "th",
                                           "marquee", "object", "template", "button", NULL};
static const char *const TABLE_SCOPE[] = {"html", "table", "template", NULL};
static const char *const DEFAULT_SCOPE[] = {"applet", "caption", "html", "table", "td", "th",
                                            "marquee", "object", "template", NULL};
static const char *const TABLE_PARTS[] = {"table", "tbody", "thead", "tfoot", "tr", NULL};
static const char *const ANIMATIONS[] = {"animate", "set", "animatetransform", "animatemotion",
                                         "animatecolor", NULL};
static const char *const IMAGE_ELEMS[] = {"img", "image", "source", "picture", "input", "video",
                                          "feimage", NULL};

static void kind_init(void)
{
    kind_add(SPECIAL, K_SPECIAL);
    kind_add(CLOSES_P, K_CLOSES_P | K_RUN_BREAK);
    kind_add(RUN_BREAKS, K_RUN_BREAK);
    kind_add(REMOVED_ELEMS, K_REMOVED);
    kind_add(VOID_ELEMS, K_VOID);
    kind_add(HEADINGS, K_HEADING);
    kind_add(BUTTON_SCOPE, K_BUTTON_SCOPE);
    kind_add(DEFAULT_SCOPE, K_DEFAULT_SCOPE);
    kind_add(TABLE_SCOPE, K_TABLE_SCOPE);
    kind_add(TABLE_PARTS, K_TABLE_PART);
    kind_add(URL_ATTRS, K_URL_ATTR);
    kind_add(ANIMATIONS, K_ANIM);
    kind_add(IMAGE_ELEMS, K_IMG);
    kind_add(HEAD_ONLY, K_HEAD_ONLY);
    kind_add(TEXT_ATTRS, K_TEXT_ATTR);
    kind_add(IMPLIES_CLOSE, K_IMPLIES_CLOSE);
    kind_add(CHECKED_ATTRS, K_ATTR_CHECKED);
}

/* Short names: a byte loop beats a call to memcmp. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* The kind of name s[0, n), sig being kind_sig(s, n) and 1 <= n <= 32. */
static uint32_t kind_lookup(uint32_t sig, const char *s, size_t n)
{
    for (unsigned h = kind_slot_of(sig); kind_table[h].sig; h = (h + 1) % KIND_SLOTS) {
        const kind_slot *k = &kind_table[h];
        if (k->sig == sig && (n <= 3 || same_bytes(kind_name[h] + 2, s + 2, n - 3)))
            return k->mask;
    }
    return 0;
}

/* kind_sig() of a name the table may hold, 0 for names it cannot (empty or over 32 bytes). */
static uint32_t name_sig(const char *s, size_t n)
{
    return n == 0 || n > 32 ? 0 : kind_sig(s, n);
}

static uint32_t kind_of(const char *s, size_t n)
{
    uint32_t sig = name_sig(s, n);
    return sig ? kind_lookup(sig, s, n) : 0;
}

/* ---- open-element stack ---------------------------------------------------------------- */

static bool elem_is(const open_elem *e, const char *lit)
{
    return e->ns == NS_HTML && eq(e->name, e->len, lit);
}

/* Makes room for `need` bytes in the byte buffer *p of capacity *cap (doubling, from `first`);
 * false when out of memory (the buffer is then as it was). */
static bool bytes_reserve(char **p, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    char *np = realloc(*p, c);
    if (!np)
        return false;
    *p = np;
    *cap = c;
    return true;
}

static bool names_put(sanitizer *s, const tok_attr *a, size_t max, uint16_t *len)
{
    size_t n = a->value_len < max ? a->value_len : max;
    *len = 0;
    if (n == 0) /* an empty value: nothing to keep (and no buffer needed) */
        return true;
    if (n > NAMES_MAX - s->names_len ||
        !bytes_reserve(&s->names, &s->names_cap, s->names_len + n, 1024))
        return false;
    memcpy(s->names + s->names_len, a->value, n);
    s->names_len += n;
    *len = (uint16_t)n;
    return true;
}

/* Keeps the element's id and class values (as write_start_tag found them, else looked up) for
 * the style rules that name ancestors; past NAMES_MAX an element has none. */
static void stack_keep_names(sanitizer *s, open_elem *e, const html_token *t)
{
    const tok_attr *id = s->tag_id, *cls = s->tag_class;
    if (!s->tag_names) {
        id = attr_get(t, "id");
        cls = attr_get(t, "class");
    }
    if (id && !names_put(s, id, ID_KEPT_MAX, &e->id_len))
        return;
    if (cls && !names_put(s, cls, CLASS_KEPT_MAX, &e->cls_len))
        e->id_len = NAMES_NONE, s->names_len = e->names;
}

/* Keeps the element's attributes for the style rules that put conditions on ancestors: a
 * block of a 16-bit length, then per attribute its name's length (8 bits), its name, its
 * value's length (16 bits) and its value. Past ATTRS_ELEM_MAX or ATTRS_MAX, none is known. */
static void stack_keep_attrs(sanitizer *s, open_elem *e, const html_token *t)
{
    size_t need = 2;
    for (size_t i = 0; i < t->nattrs; i++) {
        if (t->attrs[i].name_len > UINT8_MAX)
            return;
        need += 3 + t->attrs[i].name_len + t->attrs[i].value_len;
    }
    if (need > ATTRS_ELEM_MAX || need > ATTRS_MAX - s->attrs_len ||
        !bytes_reserve(&s->attrs, &s->attrs_cap, s->attrs_len + need, 4096))
        return;
    unsigned char *w = (unsigned char *)s->attrs + s->attrs_len;
    w[0] = (unsigned char)(need & 0xff);
    w[1] = (unsigned char)(need >> 8);
    w += 2;
    for (size_t i = 0; i < t->nattrs; i++) {
        const tok_attr *a = &t->attrs[i];
        *w++ = (unsigned char)a->name_len;
        memcpy(w, a->name, a->name_len);
        w += a->name_len;
        *w++ = (unsigned char)(a->value_len & 0xff);
        *w++ = (unsigned char)(a->value_len >> 8);
        memcpy(w, a->value, a->value_len);
        w += a->value_len;
    }
    e->attrs_len = (uint16_t)need;
    s->attrs_len += need;
}

static void stack_push(sanitizer *s, const html_token *t)
{
    if (s->depth == STACK_MAX) {
        s->depth_lost++;
        return;
    }
    open_elem *e = &s->stack[s->depth++];
    size_t n = t->name_len < sizeof e->name ? t->name_len : sizeof e->name - 1;
    memcpy(e->name, t->name, n);
    e->len = (uint8_t)(t->name_len < sizeof e->name ? n : 0xff);
    e->ns = (uint8_t)t->ns;
    e->kind = t->ns == NS_HTML ? s->tag_kind : 0;
    e->sig = s->tag_sig;
    e->soft = s->elem_soft;
    e->names = (uint32_t)s->names_len;
    e->id_len = e->cls_len = NAMES_NONE;
    e->children = 0;
    e->sib_any = e->sib_next = 0;
    bool judged = s->opt.mode == SANITIZE_STRICT && !s->skip_depth;
    e->index = judged ? s->tag_index : 0;
    e->type_index = judged ? s->tag_type_index : 0;
    e->siblings_known = judged && s->tag_siblings_known;
    e->prev_any = e->siblings_known ? s->tag_prev_any : 0;
    e->prev_next = e->siblings_known ? s->tag_prev_next : 0;
    e->prev_any_n = s->tag_prev_any_n;
    e->prev_next_n = s->tag_prev_next_n;
    e->types = s->counting_types ? (uint32_t)s->types_len : TYPES_UNKNOWN;
    e->attrs = (uint32_t)s->attrs_len;
    e->attrs_len = ATTRS_NONE;
    if (s->opt.mode == SANITIZE_STRICT && !s->skip_depth) {
        stack_keep_names(s, e, t);
        if (s->keeping_attrs)
            stack_keep_attrs(s, e, t);
    }
    if (elem_is(e, "p"))
        s->open_p++;
}




static void stack_pop_to(sanitizer *s, size_t index)
{
    for (size_t i = index; i < s->depth; i++)
        if (elem_is(&s->stack[i], "p"))
            s->open_p--;
    if (index < s->depth) {
        s->names_len = s->stack[index].names;
        s->attrs_len = s->stack[index].attrs;
    }
    for (size_t i = index; i < s->depth; i++) /* the first known list starts lowest */
        if (s->stack[i].types != TYPES_UNKNOWN) {
            s->types_len = s->stack[i].types;
            break;
        }
    s->depth = index;
    if (s->skip_depth && s->depth < s->skip_depth)
        s->skip_depth = 0;
}

/* Pops through the nearest open element named `name` unless a boundary comes first. */
static void close_in_scope(sanitizer *s, const char *name, uint32_t boundaries)
{
    for (size_t i = s->depth; i-- > 0;) {
        const open_elem *e = &s->stack[i];
        if (elem_is(e, name)) {
            stack_pop_to(s, i);
            return;
        }
        if (e->ns != NS_HTML || (e->kind & boundaries))
            return;
    }
}

/* The implicit end tags a start tag causes. */
static void implicit_closes(sanitizer *s, const html_token *t)
{
    if (t->ns != NS_HTML || s->depth == 0)
        return;
    const char *n = t->name;
    size_t l = t->name_len;
    uint32_t kind = s->tag_kind;
    if ((kind & K_IMPLIES_CLOSE) && (eq(n, l, "li") || eq(n, l, "dd") || eq(n, l, "dt"))) {
        for (size_t i = s->depth; i-- > 0;) {
            const open_elem *e = &s->stack[i];
            bool match = eq(n, l, "li") ? elem_is(e, "li") : (elem_is(e, "dd") || elem_is(e, "dt"));
            if (match) {
                stack_pop_to(s, i);
                break;
            }
            if (e->ns != NS_HTML || ((e->kind & K_SPECIAL) && !elem_is(e, "address") &&
                                     !elem_is(e, "div") && !elem_is(e, "p")))
                break;
        }
    }
    if ((kind & K_CLOSES_P) && s->open_p > 0)
        close_in_scope(s, "p", K_BUTTON_SCOPE);
    if (s->depth == 0)
        return;
    const open_elem *top = &s->stack[s->depth - 1];
    if ((kind & K_HEADING) && (top->kind & K_HEADING))
        stack_pop_to(s, s->depth - 1);
    if (!(kind & K_IMPLIES_CLOSE))
        return;
    if ((eq(n, l, "option") || eq(n, l, "optgroup")) && elem_is(top, "option"))
        stack_pop_to(s, s->depth - 1);
    if (eq(n, l, "optgroup") && s->depth && elem_is(&s->stack[s->depth - 1], "optgroup"))
        stack_pop_to(s, s->depth - 1);
    if (eq(n, l, "td") || eq(n, l, "th") || eq(n, l, "tr") || eq(n, l, "tbody") ||
        eq(n, l, "thead") || eq(n, l, "tfoot")) {
        close_in_scope(s, "td", K_TABLE_SCOPE);
        close_in_scope(s, "th", K_TABLE_SCOPE);
    }
    if (eq(n, l, "tr") || eq(n, l, "tbody") || eq(n, l, "thead") || eq(n, l, "tfoot"))
        close_in_scope(s, "tr", K_TABLE_SCOPE);
    if (eq(n, l, "tbody") || eq(n, l, "thead") || eq(n, l, "tfoot")) {
        close_in_scope(s, "tbody", K_TABLE_SCOPE);
        close_in_scope(s, "thead", K_TABLE_SCOPE);
        close_in_scope(s, "tfoot", K_TABLE_SCOPE);
    }
    if (eq(n, l, "button"))
        close_in_scope(s, "button", K_BUTTON_SCOPE);
}

/* An end tag closes the nearest open element of that name. End tags of "special" elements
 * (div, ul, table, ...) look through other elements up to a scope boundary, closing them
 * implicitly; other end tags (b, span, ...) stop at the first special element, as in the
 * "any other end tag" rule. */
static void end_tag_pops(sanitizer *s, const html_token *t)
{
    if (s->depth_lost > 0) {
        s->depth_lost--;
        return;
    }
    const char *n = t->name;
    size_t l = t->name_len;
    if (t->ns == NS_HTML && (eq(n, l, "body") || eq(n, l, "html") || eq(n, l, "br")))
        return;
    uint32_t kind = t->ns == NS_HTML ? s->tag_kind : 0;
    bool special = kind & K_SPECIAL;
    uint32_t scope = (kind & K_TABLE_PART) ? K_TABLE_SCOPE : K_DEFAULT_SCOPE;
    for (size_t i = s->depth; i-- > 0;) {
        const open_elem *e = &s->stack[i];
        /* a name too long to keep (len 0xff) matches no end tag: its bytes are not all here */
        if (e->sig == s->tag_sig && e->len == l && l < sizeof e->name &&
            memcmp(e->name, n, l) == 0) {
            stack_pop_to(s, i);
            return;
        }
        if (special) {
            if (e->ns != NS_HTML || (e->kind & scope))
                return;
        } else if (e->kind & K_SPECIAL) {
            return;
        }
    }
}

static bool is_void(const sanitizer *s, const html_token *t)
{
    if (t->ns != NS_HTML)
        return t->self_closing;
    return (s->tag_kind & K_VOID) ||
           eq(t->name, t->name_len, "html") || eq(t->name, t->name_len, "head") ||
           eq(t->name, t->name_len, "body");
}

/* ---- output with instruction hold-back ------------------------------------------------- */

static bool matching(const sanitizer *s)
{
    return s->im != NULL;
}

static int pend_append(sanitizer *s, const char *p, size_t n, bool text)
{
    if (!bytes_reserve(&s->pend, &s->pend_cap, s->pend_len + n, 4096))
        return AG_ERR;
    bool muted = text && s->out.muted;
    /* text after text, or markup after markup (tags with nothing between): one segment */
    if (s->nsegs > s->seg_head && s->segs[s->nsegs - 1].text == text &&
        s->segs[s->nsegs - 1].muted == muted &&
        s->segs[s->nsegs - 1].off + s->segs[s->nsegs - 1].len == s->pend_len) {
        memcpy(s->pend + s->pend_len, p, n);
        s->pend_len += n;
        s->segs[s->nsegs - 1].len += n;
        return AG_OK;
    }
    if (s->nsegs == s->segs_cap) {
        size_t cap = s->segs_cap ? s->segs_cap * 2 : 64;
        pend_seg *ns = realloc(s->segs, cap * sizeof *ns);
        if (!ns)
            return AG_ERR;
        s->segs = ns;
        s->segs_cap = cap;
    }
    memcpy(s->pend + s->pend_len, p, n);
    s->segs[s->nsegs++] = (pend_seg){s->pend_len, n, s->run_off, text, muted};
    s->pend_len += n;
    return AG_OK;
}

static void record_cut(sanitizer *s, const instr_cut *c)
{
    note(s, SAN_CAT_INSTRUCTION, c->rule_id, strlen(c->rule_id));
    if (!s->detail)
        return;
    if (s->detail->ncuts == DETAIL_CUTS_MAX) {
        s->detail->cuts_dropped++;
        return;
    }
    detail_cut *d = &s->detail->cuts[s->detail->ncuts++];
    snprintf(d->rule_id, sizeof d->rule_id, "%s", c->rule_id);
    snprintf(d->excerpt, sizeof d->excerpt, "%s", c->excerpt);
}

static bool next_cut(sanitizer *s)
{
    if (s->have_cut)
        return true;
    if (instr_next_cut(s->im, &s->cut)) {
        s->have_cut = true;
        s->cut_marked = false;
        record_cut(s, &s->cut);
    }
    return s->have_cut;
}

/* Writes held-back text up to run offset `upto`, leaving out cut ranges. */
static void emit_text_until(sanitizer *s, const char *p, uint64_t from, uint64_t upto)
{
    while (from < upto) {
        if (next_cut(s) && s->cut.start <= from) {
            if (!s->cut_marked) {
                out_raw(&s->out, MARKER, sizeof MARKER - 1);
                s->cut_marked = true;
            }
            if (s->cut.end > from) {
                uint64_t e = s->cut.end < upto ? s->cut.end : upto;
                p += e - from;
                from = e;
                continue;
            }
            s->have_cut = false;
            continue;
        }
        uint64_t e = upto;
        if (s->have_cut && s->cut.start < e)
            e = s->cut.start;
        out_text(&s->out, p, (size_t)(e - from));
        p += e - from;
        from = e;
    }
}

/* Writes pending segments while their text is stable. The matcher is not fed while this
 * runs, so when the first text written finds no cut pending, none turns up for the rest: the
 * text is then written without looking again (almost every run has no cut). */
static void pend_drain(sanitizer *s, bool all)
{
    uint64_t stable = all ? UINT64_MAX : instr_stable(s->im);
    enum { CUTS_UNKNOWN, CUTS_NONE, CUTS_SOME } cuts = CUTS_UNKNOWN;
    const int muted = s->out.muted;
    while (s->seg_head < s->nsegs) {
        pend_seg *g = &s->segs[s->seg_head];
        if (!g->text) {
            out_raw(&s->out, s->pend + g->off, g->len);
        } else {
            /* text is written (or not) as the output stood when it came: a run goes on across
             * tags after which the output may have left, or entered, foreign content */
            s->out.muted = g->muted;
            uint64_t end = g->run_off + g->len;
            uint64_t upto = end < stable ? end : stable;
            if (upto > g->run_off) {
                if (cuts == CUTS_UNKNOWN)
                    cuts = next_cut(s) ? CUTS_SOME : CUTS_NONE;
                if (cuts == CUTS_NONE)
                    out_text(&s->out, s->pend + g->off, (size_t)(upto - g->run_off));
                else
                    emit_text_until(s, s->pend + g->off, g->run_off, upto);
                size_t k = (size_t)(upto - g->run_off);
                g->off += k;
                g->len -= k;
                g->run_off = upto;
            }
            s->out.muted = muted;
            if (g->len > 0)
                break;
        }
        s->seg_head++;
    }
    if (s->seg_head == s->nsegs) {
        s->seg_head = s->nsegs = 0;
        s->pend_len = 0;
    } else if (s->seg_head > 32 && s->segs[s->seg_head].off > s->pend_cap / 2) {
        size_t base = s->segs[s->seg_head].off;
        memmove(s->pend, s->pend + base, s->pend_len - base);
        s->pend_len -= base;
        size_t n = s->nsegs - s->seg_head;
        memmove(s->segs, s->segs + s->seg_head, n * sizeof *s->segs);
        for (size_t i = 0; i < n; i++)
            s->segs[i].off -= base;
        s->nsegs = n;
        s->seg_head = 0;
    }
}

#define FEED_BATCH 4096

/* Gives the matcher the batched text; each call searches every rule, so small text tokens
 * (whitespace between tags) are not fed one by one. */
static int feed_matcher(sanitizer *s)
{
    if (s->unfed_len == 0)
        return AG_OK;
    int rc = instr_feed(s->im, s->unfed, s->unfed_len);
    s->unfed_len = 0;
    if (rc != AG_OK)
        fail(s, "instruction matcher failed");
    return rc;
}

/* Ends the current text run: all of it becomes stable and is written. */
static void run_end(sanitizer *s)
{
    if (!matching(s) || s->run_off == 0)
        return;
    if (feed_matcher(s) != AG_OK)
        return;
    instr_end_run(s->im);
    pend_drain(s, true);
    while (next_cut(s)) {
        if (!s->cut_marked && s->cut.end > s->cut.start)
            out_raw(&s->out, MARKER, sizeof MARKER - 1);
        s->have_cut = false;
    }
    s->run_off = 0;
    s->run_out = 0;
}

/* What a run may write while text is held: everything written since its first text byte may
 * wait in the pending queue, so past max_stream / 2 bytes the run ends. The run's own bytes
 * decide, not the queue's length (which depends on when the matcher was last fed, so on how
 * the input was split): the run ends after the tag that crosses the bound, or inside the text
 * that does, at the character where it does. */
static size_t run_bound(const sanitizer *s)
{
    return s->max_stream / 2;
}

/* Markup goes straight out unless text is held back before it. */
static void emit_markup_begin(sanitizer *s, size_t *mark)
{
    s->out.hold = 1;
    *mark = s->out.n;
}

/* Markup written to s->out since mark counts toward the open run's bound (run_bound), and is
 * moved into the pending queue when text is held. */
static void emit_markup_end(sanitizer *s, size_t mark)
{
    s->out.hold = 0;
    if (!matching(s) || s->run_off == 0)
        return;
    size_t n = mark <= s->out.n ? s->out.n - mark : 0;
    s->run_out += n;
    if (n > 0 && s->seg_head != s->nsegs) {
        if (pend_append(s, s->out.p + mark, n, false) != AG_OK)
            fail(s, "out of memory holding back text");
        s->out.n = mark;
    }
    if (s->run_out > run_bound(s))
        run_end(s);
}

static int unfed_append(sanitizer *s, const char *p, size_t n)
{
    if (!bytes_reserve(&s->unfed, &s->unfed_cap, s->unfed_len + n, 2 * FEED_BATCH))
        return AG_ERR;
    memcpy(s->unfed + s->unfed_len, p, n);
    s->unfed_len += n;
    return AG_OK;
}

/* Strips one piece of text (with the carried UTF-8 bytes before it) and sets *text to the
 * result: the piece itself when nothing in it changes, which is almost all text (every
 * invisible character and invalid byte is non-ASCII, and most pieces are clean), otherwise a
 * stripped copy in scratch. An incomplete sequence at the end is carried to the next piece.
 * Returns the length of *text, or SIZE_MAX when memory ran out. */
/* The last character of n > 0 bytes of valid UTF-8, or last when n is 0. */
static uint32_t last_char(const char *p, size_t n, uint32_t last)
{
    if (n == 0)
        return last;
    if ((unsigned char)p[n - 1] < 0x80)
        return (unsigned char)p[n - 1];
    size_t k = n - 1;
    while (k > 0 && n - k < 4 && ((unsigned char)p[k] & 0xC0) == 0x80)
        k--;
    uint32_t cp;
    return utf8_decode((const unsigned char *)p + k, n - k, &cp) > 0 ? cp : 0;
}

static size_t strip_piece(sanitizer *s, const char *p, size_t take, const char **text)
{
    if (s->carry_len == 0) {
        size_t clean = invisible_clean_prefix_after(s->text_last, p, take);
        uint32_t cp;
        if (clean == take) {
            *text = p;
            s->text_last = last_char(p, clean, s->text_last);
            return clean;
        }
        if (utf8_decode((const unsigned char *)p + clean, take - clean, &cp) == 0) {
            memcpy(s->utf8_carry, p + clean, take - clean);
            s->carry_len = take - clean;
            *text = p;
            s->text_last = last_char(p, clean, s->text_last);
            return clean;
        }
    }
    size_t need = s->carry_len + take;
    if (s->scratch_cap < need * 2) {
        char *ns = realloc(s->scratch, need * 2);
        if (!ns)
            return SIZE_MAX;
        s->scratch = ns;
        s->scratch_cap = need * 2;
    }
    char *in = s->scratch, *outp = s->scratch + need;
    memcpy(in, s->utf8_carry, s->carry_len);
    memcpy(in + s->carry_len, p, take);
    uint64_t removed = 0;
    size_t consumed;
    size_t o = invisible_strip_after(&s->text_last, in, need, outp, &removed, &consumed);
    s->rep.counts[SAN_CAT_INVISIBLE] += removed;
    size_t left = need - consumed; /* an incomplete sequence: at most 3 bytes */
    memcpy(s->utf8_carry, in + consumed, left);
    s->carry_len = left;
    *text = outp;
    return o;
}

/* Bytes of HTML whitespace (space, tab, line feed, form feed, carriage return) at p. */
static size_t html_space_prefix(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r' || p[i] == '\f'))
        i++;
    return i;
}

/* Text written as it is, not held for the matcher (held only behind text that is). */
static void emit_unmatched_text(sanitizer *s, const char *text, size_t n)
{
    size_t mark;
    emit_markup_begin(s, &mark);
    out_text(&s->out, text, n);
    emit_markup_end(s, mark);
}

/* Text of a run (stripped, valid UTF-8) held for the matcher, up to the run's bound: returns
 * the bytes taken. A run starts at its first character that is not whitespace (see below). */
static size_t run_text(sanitizer *s, const char *text, size_t o)
{
    size_t lead = 0;
    if (s->run_off == 0) {
        lead = html_space_prefix(text, o);
        if (lead > 0)
            emit_unmatched_text(s, text, lead);
        text += lead;
        o -= lead;
        if (o == 0)
            return lead;
    }
    size_t room = run_bound(s) > s->run_out ? run_bound(s) - s->run_out : 0, take = o;
    if (take > room) { /* the bound falls in this text: the run ends at that character */
        take = room;
        while (take > 0 && ((unsigned char)text[take] & 0xC0) == 0x80)
            take--;
        if (take == 0 && s->run_off == 0) /* a bound below one character: it goes whole */
            take = o;
    }
    if (take > 0) {
        if (pend_append(s, text, take, true) != AG_OK || unfed_append(s, text, take) != AG_OK) {
            fail(s, "out of memory holding back text");
            return lead + o;
        }
        s->run_off += take;
        s->run_out += take;
        if (s->unfed_len >= FEED_BATCH) {
            if (feed_matcher(s) != AG_OK)
                return lead + o;
            pend_drain(s, false);
        }
    }
    if (take < o)
        run_end(s);
    return lead + take;
}

/* Visible text: invisible characters stripped (strict), fed to the matcher and held
 * back. A run starts at its first character that is not whitespace: the whitespace before it
 * holds no instruction (normalised, it would be one leading space), and it is most of the
 * text pieces of a page (the line breaks between block tags), each of which would otherwise
 * open, search and close a run of its own. */
static void emit_visible_text(sanitizer *s, const char *p, size_t n)
{
    if (s->opt.mode != SANITIZE_STRICT) {
        out_text(&s->out, p, n);
        return;
    }
    while (n > 0) {
        /* strip in pieces, keeping an incomplete UTF-8 sequence for the next piece */
        size_t take = n < 4096 ? n : 4096;
        const char *text;
        size_t o = strip_piece(s, p, take, &text);
        if (o == SIZE_MAX) {
            fail(s, "out of memory");
            return;
        }
        p += take;
        n -= take;
        if (!matching(s)) {
            if (o > 0)
                emit_unmatched_text(s, text, o);
            continue;
        }
        while (o > 0 && !s->failed) {
            size_t k = run_text(s, text, o);
            text += k;
            o -= k;
        }
    }
}

/* A tag or other non-text token interrupts text: an unfinished UTF-8 sequence is invalid. */
static void drop_carry(sanitizer *s)
{
    if (s->carry_len) {
        s->rep.counts[SAN_CAT_INVISIBLE]++;
        s->carry_len = 0;
    }
}

/* ---- start tags ------------------------------------------------------------------------ */

typedef enum { KEEP, DROP_TAG, DROP_SUBTREE } verdict;

/* Meta and link elements that navigate, run or import code. */
static bool meta_link_dangerous(const html_token *t)
{
    if (eq(t->name, t->name_len, "meta")) {
        const tok_attr *he = attr_get(t, "http-equiv");
        return he && (value_is(he->value, he->value_len, "refresh") ||
                      value_is(he->value, he->value_len, "set-cookie") ||
                      value_is(he->value, he->value_len, "content-type") ||
                      value_is(he->value, he->value_len, "x-ua-compatible"));
    }
    const tok_attr *rel = attr_get(t, "rel");
    if (!rel)
        return false;
    const char *v = rel->value;
    size_t n = rel->value_len;
    if (list_has(v, n, "import") || list_has(v, n, "modulepreload") ||
        list_has(v, n, "prerender") || list_has(v, n, "serviceworker"))
        return true;
    if (list_has(v, n, "preload") || list_has(v, n, "prefetch")) {
        const tok_attr *as = attr_get(t, "as");
        return !as || value_is(as->value, as->value_len, "script") ||
               value_is(as->value, as->value_len, "worker") ||
               value_is(as->value, as->value_len, "sharedworker") ||
               value_is(as->value, as->value_len, "serviceworker") ||
               value_is(as->value, as->value_len, "document") ||
               value_is(as->value, as->value_len, "") ||
               value_is(as->value, as->value_len, "embed") ||
               value_is(as->value, as->value_len, "object");
    }
    return false;
}

/* SVG animation that writes a URL or handler attribute (e.g. <set attributeName=href
 * to=javascript:...>). */
static bool animation_dangerous(const sanitizer *s, const html_token *t)
{
    if (t->ns != NS_SVG || !(s->tag_kind & K_ANIM))
        return false;
    const tok_attr *an = attr_get(t, "attributename");
    if (an) {
        const char *v = an->value;
        size_t n = an->value_len;
        while (n && (unsigned char)*v <= ' ') {
            v++;
            n--;
        }
        if (starts_ci(v, n, "on") || value_is(v, n, "href") || value_is(v, n, "xlink:href") ||
            value_is(v, n, "style") || value_is(v, n, "src"))
            return true;
    }
    static const char *const vals[] = {"from", "to", "values", "by", NULL};
    for (const char *const *k = vals; *k; k++) {
        const tok_attr *a = attr_get(t, *k);
        if (a && !url_is_safe(a->value, a->value_len, false))
            return true;
        if (a && memmem(a->value, a->value_len, "script:", 7))
            return true;
    }
    return false;
}

/* The content softly hidden where the current element's content starts (see open_elem). */
static uint8_t soft_now(const sanitizer *s)
{
    return s->depth ? s->stack[s->depth - 1].soft : 0;
}

/* How strict mode hides an element: CSS_HIDES for the whole subtree, else the CSS_SOFT_* and
 * CSS_SHOW_* flags of its inline style and of the sheet rules that match it (rules that only
 * show are looked at inside softly hidden content only). */
/* SVG's presentation attributes hide as the CSS properties of the same names do (a style
 * sheet can set those again, which is not judged: the attribute is read as it stands). */
static unsigned svg_presentation_hiding(const html_token *t)
{
    const tok_attr *a;
    if ((a = attr_get(t, "display")) && value_is(a->value, a->value_len, "none"))
        return CSS_HIDES;
    if ((a = attr_get(t, "opacity")) && (value_is(a->value, a->value_len, "0") ||
                                         value_is(a->value, a->value_len, "0%")))
        return CSS_HIDES;
    unsigned f = 0;
    if ((a = attr_get(t, "visibility")) && (value_is(a->value, a->value_len, "hidden") ||
                                            value_is(a->value, a->value_len, "collapse")))
        f |= CSS_SOFT_VISIBILITY;
    if ((a = attr_get(t, "font-size")) && (value_is(a->value, a->value_len, "0") ||
                                           value_is(a->value, a->value_len, "0px")))
        f |= CSS_SOFT_FONT;
    return f;
}

/* css_elem's reader of the start tag's attributes. */
static int token_attr_value(const void *ctx, const char *name, const char **value, size_t *len)
{
    const tok_attr *a = attr_get(ctx, name);
    if (!a)
        return 0;
    *value = a->value;
    *len = a->value_len;
    return 1;
}

/* The mark bits from n up (n of the sheet's sibling compounds known: 64 or more, all). */
static uint64_t bits_from(unsigned n)
{
    return n >= 64 ? 0 : ~(uint64_t)0 << n;
}

/* The start tag as the sheet's rules see it (css_elem): its names, attributes, place and
 * siblings' marks. */
static css_elem elem_view(const sanitizer *s, const html_token *t)
{
    const tok_attr *ida = attr_get(t, "id"), *ca = attr_get(t, "class");
    css_elem e = {t->name, ida ? ida->value : NULL, ca ? ca->value : NULL,
                  t->name_len < 31 ? t->name_len : 31,
                  ida ? (ida->value_len < ID_KEPT_MAX ? ida->value_len : ID_KEPT_MAX) : 0,
                  ca ? (ca->value_len < CLASS_KEPT_MAX ? ca->value_len : CLASS_KEPT_MAX) : 0,
                  token_attr_value, t, s->tag_index, s->tag_prev_any, s->tag_prev_next,
                  s->tag_siblings_known, s->tag_type_index, bits_from(s->tag_prev_any_n),
                  bits_from(s->tag_prev_next_n)};
    return e;
}

/* css_elem.attr of an open element whose attributes were kept: ctx is its block
 * (stack_keep_attrs); the first attribute of the name counts, as for a start tag. */
static int kept_attr_value(const void *ctx, const char *name, const char **value, size_t *len)
{
    const unsigned char *b = ctx;
    size_t n = (size_t)b[0] | (size_t)b[1] << 8, at = 2, nl = strlen(name);
    while (at < n) {
        size_t l = b[at], vl = (size_t)b[at + 1 + l] | (size_t)b[at + 2 + l] << 8;
        if (l == nl && memcmp(b + at + 1, name, l) == 0) {
            *value = (const char *)b + at + 3 + l;
            *len = vl;
            return 1;
        }
        at += 3 + l + vl;
    }
    return 0;
}

/* css_path's reader of the open elements. */
static void open_elem_names(const void *ctx, size_t i, css_elem *out)
{
    const sanitizer *s = ctx;
    const open_elem *e = &s->stack[i];
    out->tag = e->name;
    out->tag_len = e->len == 0xff ? 0 : e->len; /* a name too long to keep matches no tag */
    out->id = out->cls = NULL;
    out->id_len = out->cls_len = 0;
    out->attr = NULL; /* not kept: conditions on them are not known */
    out->attr_ctx = NULL;
    if (e->attrs_len != ATTRS_NONE) {
        out->attr = kept_attr_value;
        out->attr_ctx = s->attrs + e->attrs;
    }
    out->index = e->index;
    out->type_index = e->type_index;
    out->prev_any = e->prev_any;
    out->prev_next = e->prev_next;
    out->siblings_known = e->siblings_known;
    out->prev_any_unknown = bits_from(e->prev_any_n);
    out->prev_next_unknown = bits_from(e->prev_next_n);
    /* values are read up to a NUL byte, as the element's own are (css_sheet_judge_element);
     * empty ones were not stored (names may still be NULL) */
    const char *at = s->names ? s->names + e->names : "";
    if (e->id_len != NAMES_NONE) {
        out->id = at;
        out->id_len = strnlen(at, e->id_len);
    }
    if (e->cls_len != NAMES_NONE) {
        out->cls = at + (e->id_len != NAMES_NONE ? e->id_len : 0);
        out->cls_len = strnlen(out->cls, e->cls_len);
    }
}

static unsigned strict_hiding(sanitizer *s, const html_token *t)
{
    const char *n = t->name;
    size_t l = t->name_len;
    if (t->ns == NS_HTML && eq(n, l, "noscript"))
        return CSS_HIDES;
    /* a template's content is not rendered, unless it declares a shadow root: that content
     * is the element's shadow tree, which a person sees (server-rendered web components) */
    if (t->ns == NS_HTML && eq(n, l, "template")) {
        const tok_attr *m = attr_get(t, "shadowrootmode");
        bool shadow = m && ((m->value_len == 4 && starts_ci(m->value, 4, "open")) ||
                            (m->value_len == 6 && starts_ci(m->value, 6, "closed")));
        if (!shadow) /* an enumerated value: exact, in any case */
            return CSS_HIDES;
    }
    /* a dialog is not rendered until opened, which only a script could do here */
    if (t->ns == NS_HTML && eq(n, l, "dialog") && !attr_get(t, "open"))
        return CSS_HIDES;
    if (attr_get(t, "hidden") && !(t->ns == NS_HTML && eq(n, l, "input")))
        return CSS_HIDES;
    const tok_attr *ah = attr_get(t, "aria-hidden");
    if (ah && value_is(ah->value, ah->value_len, "true"))
        return CSS_HIDES;
    unsigned svg = t->ns == NS_SVG ? svg_presentation_hiding(t) : 0;
    if (svg & CSS_HIDES)
        return CSS_HIDES;
    const tok_attr *st = attr_get(t, "style");
    css_style style = {0};
    if (st)
        css_style_judge(st->value, st->value_len, &style);
    if (style.flags & CSS_SOFT_HIDES)
        css_sheet_keep_shows(s->sheet); /* later sheets may show what this hides */
    if (style.causes) /* an !important rule of a sheet undoes the attribute */
        css_sheet_keep_undoing(s->sheet, &style);
    bool shows = soft_now(s) != 0;
    unsigned f = style.flags;
    if (s->sheet && (css_sheet_rule_count(s->sheet) > 0 || shows ||
                     (style.causes && css_sheet_undo_count(s->sheet)) ||
                     (style.nanim && css_sheet_keyframes_count(s->sheet)))) {
        /* the cascade of the sheet's rules and the style attribute: a later or more specific
         * declaration undoes a hiding */
        css_elem e = elem_view(s, t);
        css_path path = {s->depth, open_elem_names, s, &s->anc_budget};
        f = css_sheet_judge_element(s->sheet, &e, &path, st ? &style : NULL, shows);
        if (s->anc_budget == 0)
            s->rep.css_bound_reached = 1;
    }
    if (f & CSS_HIDES)
        return CSS_HIDES;
    return (f | svg) & (CSS_SOFT_HIDES | CSS_SHOWS);
}

static verdict judge_start(sanitizer *s, const html_token *t)
{
    const char *n = t->name;
    size_t l = t->name_len;
    if (t->truncated) {
        note(s, SAN_CAT_OVERSIZE, n, l);
        return is_void(s, t) ? DROP_TAG : DROP_SUBTREE;
    }
    if (s->tag_kind & K_REMOVED) {
        note(s, eq(n, l, "script") ? SAN_CAT_SCRIPT : SAN_CAT_ELEMENT, n, l);
        return DROP_SUBTREE;
    }
    if (t->ns == NS_HTML && (eq(n, l, "meta") || eq(n, l, "link")) && meta_link_dangerous(t)) {
        note(s, SAN_CAT_META, n, l);
        return DROP_SUBTREE;
    }
    if (animation_dangerous(s, t)) {
        note(s, SAN_CAT_ELEMENT, n, l);
        return DROP_SUBTREE;
    }
    if (s->opt.mode == SANITIZE_STRICT) {
        unsigned f = strict_hiding(s, t);
        if (f & CSS_HIDES) {
            note(s, SAN_CAT_HIDDEN, n, l);
            return DROP_SUBTREE;
        }
        /* font size, visibility and colour are inherited: a descendant that sets one again
         * shows its own text, so the element stays and only text still hidden is dropped */
        uint8_t parent = soft_now(s);
        s->elem_soft = (uint8_t)((parent & ~SHOW_OF(f)) | SOFT_OF(f));
        if (s->elem_soft && !parent)
            note(s, SAN_CAT_HIDDEN, n, l);
    }
    if (!s->tag_kind && !safe_tag_name(n, l)) /* every name with a kind is a safe one */
        return DROP_TAG;
    return KEEP;
}

static bool image_load_attr(const sanitizer *s, const html_token *t, const char *an, size_t al)
{
    return (s->tag_kind & K_IMG) &&
           (eq(an, al, "src") || eq(an, al, "poster") || eq(an, al, "href") ||
            eq(an, al, "xlink:href"));
}

/* Runs the matcher for attribute values over one value (a run of its own); its cuts are then
 * read with instr_next_cut(). */
static int attr_search(sanitizer *s, const char *v, size_t vl)
{
    if (!s->attr_im)
        s->attr_im = instr_matcher_new(s->opt.rules ? s->opt.rules : sanitizer_rules_default(),
                                       4096);
    if (!s->attr_im || instr_feed(s->attr_im, v, vl) != AG_OK)
        return AG_ERR;
    instr_end_run(s->attr_im);
    return AG_OK;
}

/* The text of a CSS `content` declaration (css_text_fn): shown on the page like an element's
 * text, so searched like one; nonzero (remove the CSS) when a rule matched or the text could
 * not be searched. */
static int generated_text_cut(void *ctx, const char *text, size_t len)
{
    sanitizer *s = ctx;
    if (attr_search(s, text, len) != AG_OK)
        return 1;
    instr_cut c;
    int cut = 0;
    while (instr_next_cut(s->attr_im, &c)) {
        record_cut(s, &c);
        cut = 1;
    }
    return cut;
}

/* Writes an attribute value with instruction-like spans replaced by the marker. */
static void write_attr_cut(sanitizer *s, const char *an, size_t al, const char *v, size_t vl)
{
    /* a value that cannot be searched is not passed on unsearched */
    if (attr_search(s, v, vl) != AG_OK) {
        fail(s, "out of memory");
        return;
    }
    instr_cut c;
    if (!instr_next_cut(s->attr_im, &c)) { /* the common case: nothing to cut */
        out_attr(&s->out, an, al, v, vl);
        return;
    }
    size_t cap = vl + sizeof MARKER, on = 0, at = 0;
    char *o = malloc(cap);
    if (!o) {
        fail(s, "out of memory");
        return;
    }
    do {
        if (c.start < at || c.end > vl || c.end < c.start)
            continue; /* the matcher's cuts are ordered and inside the value */
        record_cut(s, &c);
        size_t need = on + (size_t)(c.start - at) + (sizeof MARKER - 1) + (vl - (size_t)c.end);
        if (need > cap) {
            char *g = realloc(o, need + sizeof MARKER);
            if (!g) {
                free(o);
                fail(s, "out of memory");
                return;
            }
            o = g;
            cap = need + sizeof MARKER;
        }
        memcpy(o + on, v + at, (size_t)(c.start - at));
        on += (size_t)(c.start - at);
        memcpy(o + on, MARKER, sizeof MARKER - 1);
        on += sizeof MARKER - 1;
        at = (size_t)c.end;
    } while (instr_next_cut(s->attr_im, &c));
    memcpy(o + on, v + at, vl - at);
    on += vl - at;
    out_attr(&s->out, an, al, o, on);
    free(o);
}

/* meta description, og:* and twitter:* content is read by agents like text */
static bool meta_text_content(const html_token *t)
{
    const tok_attr *n = attr_get(t, "name"), *p = attr_get(t, "property");
    return (n && (value_is(n->value, n->value_len, "description") ||
                  starts_ci(n->value, n->value_len, "twitter:") ||
                  starts_ci(n->value, n->value_len, "og:"))) ||
           (p && starts_ci(p->value, p->value_len, "og:"));
}

/* Writes a kept start tag with its attributes judged one by one. */
static void write_start_tag(sanitizer *s, const html_token *t, const char *name, size_t name_len)
{
    bool strict = s->opt.mode == SANITIZE_STRICT;
    bool is_meta = t->ns == NS_HTML && eq(t->name, t->name_len, "meta");
    const tok_attr *type = NULL;
    bool hidden_input = t->ns == NS_HTML && eq(t->name, t->name_len, "input") &&
                        (type = attr_get(t, "type")) && value_is(type->value, type->value_len, "hidden");
    const tok_attr *id_attr = NULL, *class_attr = NULL; /* for the written-elements filter */
    out_tag_open(&s->out, name, name_len);
    for (size_t i = 0; i < t->nattrs; i++) {
        const tok_attr *a = &t->attrs[i];
        const char *an = a->name;
        size_t al = a->name_len;
        const char *v = a->value;
        size_t vl = a->value_len;
        if (al == 2 && an[0] == 'i' && an[1] == 'd' && !id_attr)
            id_attr = a;
        else if (al == 5 && memcmp(an, "class", 5) == 0 && !class_attr)
            class_attr = a;
        uint32_t ak = kind_of(an, al);
        if (!ak && !safe_attr_name(an, al)) /* every name with a kind is a safe one */
            continue;
        if (al >= 2 && an[0] == 'o' && an[1] == 'n') {
            note(s, SAN_CAT_HANDLER, an, al);
            continue;
        }
        bool checked = ak & K_ATTR_CHECKED;
        if (checked && (eq(an, al, "srcdoc") || eq(an, al, "fscommand"))) {
            note(s, SAN_CAT_URL, an, al);
            continue;
        }
        if (ak & K_URL_ATTR) {
            bool bad = !url_is_safe(v, vl, image_load_attr(s, t, an, al));
            if (!bad && eq(t->name, t->name_len, "use") && t->ns == NS_SVG &&
                (eq(an, al, "href") || eq(an, al, "xlink:href"))) {
                size_t k = 0;
                while (k < vl && (unsigned char)v[k] <= ' ')
                    k++;
                bad = k == vl || v[k] != '#'; /* <use> of an external document */
            }
            if (bad || eq(an, al, "xml:base")) {
                note(s, SAN_CAT_URL, an, al);
                continue;
            }
        }
        if (checked && (eq(an, al, "srcset") || eq(an, al, "imagesrcset")) &&
            !srcset_is_safe(v, vl)) {
            note(s, SAN_CAT_URL, an, al);
            continue;
        }
        if (checked && eq(an, al, "style")) {
            unsigned f = matching(s) ? css_declarations_flags_text(v, vl, generated_text_cut, s)
                                     : css_declarations_flags(v, vl);
            if (f & CSS_DANGEROUS) {
                note(s, SAN_CAT_CSS, an, al);
                continue;
            }
            if (f & CSS_TEXT_CUT)
                continue; /* generated text a rule matched: the cuts are in the report */
        }
        if (checked && is_meta && eq(an, al, "charset")) {
            out_attr(&s->out, "charset", 7, "utf-8", 5); /* the output is always UTF-8 */
            continue;
        }
        if (checked && strict && hidden_input && eq(an, al, "value")) {
            note(s, SAN_CAT_HIDDEN, "input[type=hidden] value", 24);
            continue;
        }
        bool meta_content = checked && is_meta && eq(an, al, "content");
        bool read_as_text = (ak & K_TEXT_ATTR) || (meta_content && meta_text_content(t)) ||
                            (strict && css_sheet_shows_attr(s->sheet, an, al));
        if (strict && read_as_text && s->elem_soft)
            continue; /* text of softly hidden content: dropped with it */
        if (strict && (read_as_text || meta_content)) {
            /* most values have nothing to strip: they are used as they are */
            char *tmp = NULL;
            size_t o = vl;
            if (invisible_clean_prefix(v, vl) != vl) {
                if (!(tmp = malloc(vl + 1))) {
                    fail(s, "out of memory");
                    return;
                }
                o = invisible_strip(v, vl, tmp, &s->rep.counts[SAN_CAT_INVISIBLE]);
                v = tmp;
            }
            if (read_as_text && s->im)
                write_attr_cut(s, an, al, v, o);
            else
                out_attr(&s->out, an, al, v, o);
            free(tmp);
            continue;
        }
        out_attr(&s->out, an, al, v, vl);
    }
    out_tag_close(&s->out, t->self_closing && t->ns != NS_HTML);
    s->tag_id = id_attr;
    s->tag_class = class_attr;
    s->tag_names = true;
    /* the document's head elements are never shown; of the others, a later sheet may neither
     * hide one (css_seen) nor show one of its attributes as text, unsearched (freeze) */
    if (strict && !(s->tag_kind & K_HEAD_ONLY)) {
        css_seen_add_element(&s->seen, name, name_len, id_attr ? id_attr->value : NULL,
                             id_attr ? id_attr->value_len : 0,
                             class_attr ? class_attr->value : NULL,
                             class_attr ? class_attr->value_len : 0);
        for (size_t i = 0; i < t->nattrs; i++)
            css_seen_add_attr(&s->seen, t->attrs[i].name, t->attrs[i].name_len);
        if (t->nattrs > 0)
            css_sheet_freeze_shown_attrs(s->sheet);
    }
}

static void begin_skip(sanitizer *s, const html_token *t)
{
    if (is_void(s, t) && t->next_state == TS_DATA)
        return;
    if (t->next_state != TS_DATA) {
        /* raw text: the tokenizer ends it at the matching end tag */
        s->raw = RAW_DROP;
        return;
    }
    stack_push(s, t);
    if (s->depth_lost == 0)
        s->skip_depth = s->depth;
}

static void remember_raw_name(sanitizer *s, const char *n, size_t l)
{
    s->raw_name_len = l < sizeof s->raw_name ? l : 0;
    memcpy(s->raw_name, n, s->raw_name_len);
}

static void style_append(sanitizer *s, const char *p, size_t n);

static void style_start(sanitizer *s, const html_token *t)
{
    s->raw = RAW_STYLE;
    s->style_len = 0;
    s->style_overflow = false;
    /* the start tag is serialized first and kept with the sheet: both are written at the end
     * tag, or neither */
    s->out.hold = 1;
    size_t mark = s->out.n;
    write_start_tag(s, t, "style", 5);
    s->out.hold = 0;
    size_t n = s->out.n - mark;
    s->style_tag_len = 0;
    style_append(s, s->out.p + mark, n);
    s->style_tag_len = s->style_len;
    s->out.n = mark;
}

static void style_append(sanitizer *s, const char *p, size_t n)
{
    if (s->style_overflow || n == 0)
        return; /* nothing to add: the buffer may not exist yet */
    if (s->style_len + n > s->max_stream) {
        s->style_overflow = true;
        return;
    }
    if (!bytes_reserve(&s->style, &s->style_cap, s->style_len + n, 4096)) {
        s->style_overflow = true;
        return;
    }
    memcpy(s->style + s->style_len, p, n);
    s->style_len += n;
}

/* The sheet is judged as it will be written ('<' escaped), since that is what a browser parses. */
static void style_end(sanitizer *s)
{
    if (s->style_overflow) {
        note(s, SAN_CAT_OVERSIZE, "style", 5);
        return;
    }
    if (s->style_tag_len == 0)
        return; /* the output was muted at the start tag: the sheet goes with it */
    const char *css = s->style + s->style_tag_len;
    size_t css_len = s->style_len - s->style_tag_len;
    out_buf w;
    if (out_init(&w, NULL, NULL, css_len * 4 + 16, css_len * 4 + 16) != AG_OK) {
        fail(s, "out of memory");
        return;
    }
    w.hold = 1;
    out_style_text(&w, css, css_len);
    /* one parse: the block's danger, its generated text and, when it is kept, its hiding
     * rules */
    size_t rules_before = css_sheet_rule_count(s->sheet);
    unsigned f = matching(s) ? css_sheet_add_judged_text(s->sheet, w.p, w.n, generated_text_cut, s)
                             : css_sheet_add_judged(s->sheet, w.p, w.n);
    bool dropped = f & (CSS_DANGEROUS | CSS_TEXT_CUT | CSS_LATE_ATTR);
    /* a block that would hide elements already written (text the agent has read) goes too,
     * with its rules: a person is to see what the agent saw */
    bool hides_written = !dropped && css_sheet_rules_may_match(s->sheet, rules_before, &s->seen);
    if (hides_written)
        css_sheet_truncate(s->sheet, rules_before);
    if (f & CSS_DANGEROUS)
        note(s, SAN_CAT_CSS, "style", 5);
    else if (f & CSS_LATE_ATTR) /* it would show attributes written before it unsearched */
        note(s, SAN_CAT_CSS, "style content:attr() after the elements", 39);
    else if (hides_written)
        note(s, SAN_CAT_CSS, "style hiding elements before it", 32);
    if (dropped || hides_written) { /* text cuts are in the report already */
        out_free(&w);
        return;
    }
    size_t mark;
    emit_markup_begin(s, &mark);
    out_raw(&s->out, s->style, s->style_tag_len);
    out_raw(&s->out, w.p, w.n);
    out_end_tag(&s->out, "style", 5);
    emit_markup_end(s, mark);
    out_free(&w);
}

/* ---- namespace agreement between input and output ---------------------------------------- */

/* Each written tag also goes through the output's tree simulation. */
static void written_start(sanitizer *s, const html_token *t, const char *name, size_t len)
{
    if (s->out.muted)
        return;
    if (s->out_sim.depth == 0 && t->ns == NS_HTML) {
        /* what tree_sim_start_tag would do: an HTML tag with the text state the tokenizer
         * computed for the same name (a renamed tag, xmp or plaintext as pre, is not raw text) */
        s->out_sim.in_text_element = name == t->name && t->next_state != TS_DATA;
        return;
    }
    html_token w; /* the fields tree_sim_start_tag reads */
    w.type = TOK_START_TAG;
    w.name = name;
    w.name_len = len;
    w.attrs = t->attrs;
    w.nattrs = t->nattrs;
    w.self_closing = t->self_closing;
    tree_sim_start_tag(&s->out_sim, &w);
#ifdef AG_SANITIZER_VERIFY
    if (w.ns != t->ns)
        abort(); /* a browser would put this tag in another namespace than it was judged in */
#endif
}

static void written_end(sanitizer *s, const char *name, size_t len)
{
    if (s->out.muted)
        return;
    if (s->out_sim.depth == 0) {
        s->out_sim.in_text_element = false; /* what tree_sim_end_tag would do */
        return;
    }
    html_token w; /* the fields tree_sim_end_tag reads */
    w.type = TOK_END_TAG;
    w.name = name;
    w.name_len = len;
    tree_sim_end_tag(&s->out_sim, &w);
}

/* <span></span> breaks out of SVG/MathML (up to the nearest integration point) the way any
 * removed or unwritten breakout tag or end tag did in the input, and shows nothing. */
static void write_breakout_stand_in(sanitizer *s)
{
    static const html_token span = {.type = TOK_START_TAG, .name = "span", .name_len = 4};
    size_t mark;
    emit_markup_begin(s, &mark);
    out_tag_open(&s->out, "span", 4);
    out_tag_close(&s->out, false);
    out_end_tag(&s->out, "span", 4);
    emit_markup_end(s, mark);
    written_start(s, &span, "span", 4);
    written_end(s, "span", 4);
}

static bool write_end_of_top(sanitizer *s)
{
    const foreign_node *top = &s->out_sim.stack[s->out_sim.depth - 1];
    if (top->name_len == 0xff || !safe_tag_name(top->name, top->name_len))
        return false;
    char name[sizeof top->name];
    size_t len = top->name_len;
    memcpy(name, top->name, len);
    size_t mark;
    emit_markup_begin(s, &mark);
    out_end_tag(&s->out, name, len);
    emit_markup_end(s, mark);
    written_end(s, name, len);
    return true;
}

/* After every tag: a tag the filter removed, or left unwritten (inside a removed subtree, or a
 * stray end tag), may have moved the input into or out of foreign content while the output
 * stayed. Where the output is in deeper or other foreign content, it is closed (a breakout
 * stand-in, or the end tag of an integration point) until both agree; where the input is in
 * foreign content the output never entered, nothing is written until the input leaves it.
 * So every written token is parsed in the namespace the filter judged it in, whatever was
 * removed before it. */
static inline void ns_reconcile(sanitizer *s)
{
    const tree_sim *in = s->in_sim, *out = &s->out_sim;
    if (in->depth == out->depth && !s->out.muted &&
        (in->depth == 0 ||
         (in->depth_overflow == out->depth_overflow &&
          in->stack[in->depth - 1].ns == out->stack[out->depth - 1].ns &&
          in->stack[in->depth - 1].ip == out->stack[out->depth - 1].ip)))
        return; /* the common case: same depth, same kind of element at the top */
    tree_context ci = tree_sim_context(in);
    s->out.muted = 0;
    for (size_t guard = 0; guard <= FOREIGN_MAX + 1 && !s->out.failed; guard++) {
        tree_context co = tree_sim_context(&s->out_sim);
        if (co == ci)
            return;
        if (s->out_sim.depth == 0)
            break;
        if (co == CTX_HTML || co == CTX_MATHML_TEXT) {
            if (!write_end_of_top(s))
                break;
        } else {
            write_breakout_stand_in(s);
        }
    }
    s->out.muted = 1;
}

/* The start tag's place among its parent's element children, after implicit closes. The
 * body's children are counted from its start tag, or from the first element the head cannot
 * hold, which opens it; html, head and body are not children of the body. */
static uint32_t tag_place(sanitizer *s, const html_token *t)
{
    if (s->depth_lost)
        return 0;
    if (s->depth)
        return ++s->stack[s->depth - 1].children;
    bool html = t->ns == NS_HTML;
    if (html && eq(t->name, t->name_len, "body")) {
        s->in_body = true;
        s->body_children = 0;
        s->types_len = 0;
        s->body_types_known = s->counting_types;
        s->body_sib_any = s->body_sib_next = 0;
        return 0;
    }
    if (html && (eq(t->name, t->name_len, "html") || eq(t->name, t->name_len, "head")))
        return 0;
    /* what the head holds: its own elements, scripts and templates */
    bool head = html && ((s->tag_kind & K_HEAD_ONLY) || eq(t->name, t->name_len, "script") ||
                         eq(t->name, t->name_len, "noscript") ||
                         eq(t->name, t->name_len, "template"));
    if (!s->in_body && !head)
        s->in_body = true;
    return s->in_body ? ++s->body_children : 0;
}

/* Counting by tag begins: the lists of elements already open (and of the body, once it has
 * children) are not complete, so their children's places by type stay unknown. */
static void types_begin(sanitizer *s)
{
    s->counting_types = true;
    for (size_t i = 0; i < s->depth; i++)
        s->stack[i].types = TYPES_UNKNOWN;
    s->body_types_known = s->depth == 0 && s->body_children == 0;
    s->types_len = 0;
}

/* The start tag's place among its parent's children of the same tag, after tag_place: 0 when
 * not known (not counting, its place unknown, its parent's list incomplete or full). */
static uint32_t tag_type_place(sanitizer *s, const html_token *t)
{
    if (!s->counting_types || s->tag_index == 0)
        return 0;
    uint32_t start = s->depth ? s->stack[s->depth - 1].types : 0;
    if (start == TYPES_UNKNOWN || (!s->depth && !s->body_types_known))
        return 0;
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */
    for (size_t i = 0; i < t->name_len; i++)
        h = (h ^ (unsigned char)t->name[i]) * 0x100000001B3ull;
    for (size_t i = start; i < s->types_len; i++)
        if (s->types[i].hash == h)
            return ++s->types[i].n;
    if (s->types_len - start >= TYPES_PER_PARENT_MAX || s->types_len >= TYPES_MAX)
        return 0;
    if (s->types_len == s->types_cap) {
        size_t cap = s->types_cap ? s->types_cap * 2 : 64;
        type_count *nt = realloc(s->types, cap * sizeof *nt);
        if (!nt)
            return 0;
        s->types = nt;
        s->types_cap = cap;
    }
    s->types[s->types_len++] = (type_count){h, 1};
    return 1;
}

/* The parent's marks of the siblings before this start tag (for rules like `.a + .b`), and
 * this element's own added to them for the siblings after it. Known wherever its place is. */
static void sibling_marks_note(sanitizer *s, const html_token *t)
{
    s->tag_siblings_known = s->tag_index != 0;
    s->tag_prev_any = s->tag_prev_next = 0;
    s->tag_prev_any_n = s->tag_prev_next_n = 64;
    if (!s->tag_siblings_known)
        return;
    open_elem *parent = s->depth ? &s->stack[s->depth - 1] : NULL;
    uint64_t *any = parent ? &parent->sib_any : &s->body_sib_any;
    uint64_t *next = parent ? &parent->sib_next : &s->body_sib_next;
    uint8_t *first_n = parent ? &parent->sib_first_n : &s->body_sib_first_n;
    uint8_t *last_n = parent ? &parent->sib_last_n : &s->body_sib_last_n;
    s->tag_prev_any = *any;
    s->tag_prev_next = *next;
    /* a sibling before began when the sheet had fewer sibling compounds: its marks lack the
     * later ones' bits, which are then not known (a rule added since matches on that doubt
     * when it undoes, and not when it hides) */
    uint8_t n = (uint8_t)css_sheet_sibling_count(s->sheet);
    if (s->tag_index > 1) {
        s->tag_prev_any_n = *first_n;
        s->tag_prev_next_n = *last_n;
    } else {
        *first_n = n;
    }
    *last_n = n;
    uint64_t m = 0;
    if (css_sheet_sibling_count(s->sheet)) {
        css_elem e = elem_view(s, t);
        m = css_sheet_sibling_marks(s->sheet, &e);
    }
    *any |= m;
    *next = m;
}

static void on_start_tag(sanitizer *s, const html_token *t)
{
    const char *n = t->name;
    size_t l = t->name_len;
    bool breaks_run = t->ns == NS_HTML && (s->tag_kind & K_RUN_BREAK);
    bool skipping = s->skip_depth != 0;
    s->tag_names = false;
    implicit_closes(s, t);
    bool strict = s->opt.mode == SANITIZE_STRICT;
    if (strict && !s->counting_types && css_sheet_counts_types(s->sheet))
        types_begin(s); /* before tag_place: the body's first child may be this one */
    if (strict && !s->keeping_attrs && css_sheet_asks_ancestor_attrs(s->sheet))
        s->keeping_attrs = true; /* the elements open before keep none */
    s->tag_index = tag_place(s, t);
    s->tag_type_index = strict ? tag_type_place(s, t) : 0;
    if (s->opt.mode == SANITIZE_STRICT && !s->skip_depth)
        sibling_marks_note(s, t);
    /* A removed subtree that this tag closes (an HTML tag: only those close implicitly) may
     * have broken the input out of foreign content where the output stayed in it
     * (`<math><p hidden><dialog>`): the output follows before the tag is written. The input's
     * context is already past this tag, which for an HTML tag is where it goes. */
    if (skipping && !s->skip_depth)
        ns_reconcile(s);
    s->elem_soft = soft_now(s); /* inherited unless judge_start says otherwise */
    if (s->skip_depth) {
        if (!is_void(s, t))
            stack_push(s, t);
        return;
    }
    if (breaks_run)
        run_end(s);
    if (s->opt.mode == SANITIZE_OFF) {
        size_t mark;
        emit_markup_begin(s, &mark);
        out_tag_open(&s->out, n, l);
        for (size_t i = 0; i < t->nattrs; i++)
            if (safe_attr_name(t->attrs[i].name, t->attrs[i].name_len))
                out_attr(&s->out, t->attrs[i].name, t->attrs[i].name_len, t->attrs[i].value,
                         t->attrs[i].value_len);
        out_tag_close(&s->out, t->self_closing && t->ns != NS_HTML);
        emit_markup_end(s, mark);
        written_start(s, t, n, l);
        if (t->next_state != TS_DATA)
            s->raw = RAW_VERBATIM;
        else if (!is_void(s, t))
            stack_push(s, t);
        remember_raw_name(s, n, l);
        return;
    }
    verdict v = judge_start(s, t);
    if (v == DROP_SUBTREE) {
        begin_skip(s, t);
        return;
    }
    s->raw_soft = s->elem_soft;
    if (v == DROP_TAG) {
        if (t->next_state != TS_DATA)
            s->raw = RAW_TEXT; /* the text is still escaped and written */
        else if (!is_void(s, t))
            stack_push(s, t);
        s->raw_name_len = 0;
        return;
    }
    if (t->ns == NS_HTML && eq(n, l, "style") && t->next_state == TS_RAWTEXT) {
        style_start(s, t);
        return;
    }
    /* xmp and plaintext would show their text raw: write them as <pre> with escaped text */
    const char *wname = n;
    size_t wl = l;
    if (t->ns == NS_HTML && (eq(n, l, "xmp") || eq(n, l, "plaintext"))) {
        wname = "pre";
        wl = 3;
    } else if (t->ns == NS_HTML && eq(n, l, "image")) {
        wname = "img";
        wl = 3;
    }
    size_t mark;
    emit_markup_begin(s, &mark);
    write_start_tag(s, t, wname, wl);
    emit_markup_end(s, mark);
    written_start(s, t, wname, wl);
    if (t->next_state != TS_DATA) {
        s->raw = RAW_TEXT;
        remember_raw_name(s, wname, wl);
    } else if (!is_void(s, t)) {
        stack_push(s, t);
    }
}

static void on_end_tag(sanitizer *s, const html_token *t)
{
    if (s->raw != RAW_NONE) {
        raw_mode r = s->raw;
        s->raw = RAW_NONE;
        if (r == RAW_TEXT)
            run_end(s); /* the element's text is a run of its own */
        if (r == RAW_STYLE) {
            style_end(s);
        } else if ((r == RAW_TEXT || r == RAW_VERBATIM) && s->raw_name_len) {
            size_t mark;
            emit_markup_begin(s, &mark);
            out_end_tag(&s->out, s->raw_name, s->raw_name_len);
            emit_markup_end(s, mark);
            written_end(s, s->raw_name, s->raw_name_len);
        }
        return;
    }
    bool breaks_run = t->ns == NS_HTML && (s->tag_kind & K_RUN_BREAK);
    if (s->skip_depth) {
        size_t hidden = s->skip_depth - 1; /* the removed element's place */
        end_tag_pops(s, t);
        /* an end tag that closes written elements around the removed one as well (`</ul>`
         * after a hidden last <li>) is theirs: written, or what follows would be inside them */
        if (s->skip_depth || s->depth >= hidden)
            return;
        if (breaks_run)
            run_end(s);
    } else {
        if (breaks_run)
            run_end(s);
        size_t before = s->depth;
        end_tag_pops(s, t);
        bool closes = s->depth < before ||
                      (t->ns == NS_HTML &&
                       (eq(t->name, t->name_len, "p") || eq(t->name, t->name_len, "br") ||
                        eq(t->name, t->name_len, "body") || eq(t->name, t->name_len, "html")));
        if (!closes)
            return; /* a stray end tag: the browser ignores it, and so does the output */
    }
    if (!s->tag_kind && !safe_tag_name(t->name, t->name_len))
        return;
    size_t mark;
    emit_markup_begin(s, &mark);
    out_end_tag(&s->out, t->name, t->name_len);
    emit_markup_end(s, mark);
    written_end(s, t->name, t->name_len);
}

static void on_chars(sanitizer *s, const html_token *t)
{
    switch (s->raw) {
    case RAW_DROP:
        return;
    case RAW_STYLE:
        style_append(s, t->data, t->data_len);
        return;
    case RAW_VERBATIM:
        out_raw(&s->out, t->data, t->data_len);
        return;
    case RAW_TEXT: /* a title or a text area is read like any text */
        if (!s->raw_soft)
            emit_visible_text(s, t->data, t->data_len);
        return;
    case RAW_NONE:
        break;
    }
    if (s->skip_depth || soft_now(s))
        return;
    if (s->opt.mode == SANITIZE_OFF)
        out_text(&s->out, t->data, t->data_len);
    else
        emit_visible_text(s, t->data, t->data_len);
}

static int on_token(void *ctx, const html_token *t)
{
    sanitizer *s = ctx;
    if (t->type != TOK_CHARS)
        drop_carry(s);
    if (t->type == TOK_START_TAG || t->type == TOK_END_TAG) {
        s->tag_sig = name_sig(t->name, t->name_len);
        s->tag_kind = s->tag_sig ? kind_lookup(s->tag_sig, t->name, t->name_len) : 0;
    }
    switch (t->type) {
    case TOK_CHARS:
        on_chars(s, t);
        break;
    case TOK_START_TAG:
        on_start_tag(s, t);
        if (!s->skip_depth)
            ns_reconcile(s);
        break;
    case TOK_END_TAG:
        on_end_tag(s, t);
        if (!s->skip_depth)
            ns_reconcile(s);
        break;
    case TOK_COMMENT:
        if (s->skip_depth)
            break;
        if (s->opt.mode == SANITIZE_STRICT) {
            note(s, SAN_CAT_COMMENT, NULL, 0);
        } else {
            size_t mark;
            emit_markup_begin(s, &mark);
            out_comment(&s->out, t->data, t->data_len);
            emit_markup_end(s, mark);
        }
        break;
    case TOK_DOCTYPE:
        if (!s->skip_depth) {
            size_t mark;
            emit_markup_begin(s, &mark);
            out_doctype(&s->out, t);
            emit_markup_end(s, mark);
        }
        break;
    }
    return (s->failed || s->out.failed) ? 1 : 0;
}

/* ---- public API ------------------------------------------------------------------------ */

sanitizer *sanitizer_new(const sanitizer_options *opt, sanitizer_sink sink, void *ctx)
{
    pthread_once(&kind_once, kind_init);
    sanitizer *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    memset(s, 0, offsetof(sanitizer, stack));
    if (opt)
        s->opt = *opt;
    s->anc_budget = ANC_BUDGET_BASE;
    s->max_stream = s->opt.max_stream_bytes ? s->opt.max_stream_bytes : DEFAULT_MAX_STREAM;
    tokenizer_options to = {.max_token_bytes = s->max_stream / 2, .tree_sim = true};
    s->tok = tokenizer_new(&to, on_token, s);
    if (s->tok)
        s->in_sim = tokenizer_tree_sim(s->tok);
    if (!s->tok || out_init(&s->out, sink, ctx, OUT_BUF_BYTES, 4 * s->max_stream) != AG_OK) {
        sanitizer_free(s);
        return NULL;
    }
    if (s->opt.mode == SANITIZE_STRICT) {
        s->sheet = css_sheet_new(256);
        const sanitizer_rules *rules = s->opt.rules ? s->opt.rules : sanitizer_rules_default();
        if (rules)
            s->im = instr_matcher_new(rules, s->max_stream / 64 > 4096 ? s->max_stream / 64 : 4096);
        if (!s->sheet || !rules || !s->im) {
            sanitizer_free(s);
            return NULL;
        }
    }
    return s;
}

static void update_memory(sanitizer *s)
{
    size_t m = sizeof *s + tokenizer_memory_peak(s->tok) + s->out.cap + s->style_cap +
               s->pend_cap + s->segs_cap * sizeof(pend_seg) + s->scratch_cap + s->unfed_cap +
               s->names_cap + s->attrs_cap + s->types_cap * sizeof *s->types +
               (s->im ? instr_holdback_bytes(s->im) * 2 : 0);
    if (m > s->rep.peak_memory)
        s->rep.peak_memory = m;
}

static int finish_feed(sanitizer *s, int rc, ag_error *err)
{
    update_memory(s);
    if (s->out.failed)
        fail(s, "output sink refused the data");
    if (!s->failed && tokenizer_oversize_count(s->tok) > s->rep.counts[SAN_CAT_OVERSIZE])
        s->rep.counts[SAN_CAT_OVERSIZE] = tokenizer_oversize_count(s->tok);
    if (rc != 0 || s->failed) {
        if (!s->failed)
            fail(s, "stream aborted");
        return ag_errorf(err, "sanitizer: %s", s->rep.error);
    }
    if (out_flush(&s->out) != AG_OK) {
        fail(s, "output sink refused the data");
        return ag_errorf(err, "sanitizer: %s", s->rep.error);
    }
    s->rep.bytes_out = s->out.total;
    return AG_OK;
}

int sanitizer_feed(sanitizer *s, const char *data, size_t len, ag_error *err)
{
    if (s->failed)
        return ag_errorf(err, "sanitizer: %s", s->rep.error);
    s->rep.bytes_in += len;
    if (s->anc_budget < UINT64_MAX / 2)
        s->anc_budget += (uint64_t)len * ANC_BUDGET_PER_BYTE;
    int rc = tokenizer_feed(s->tok, data, len);
    return finish_feed(s, rc, err);
}

int sanitizer_finish(sanitizer *s, ag_error *err)
{
    if (s->failed)
        return ag_errorf(err, "sanitizer: %s", s->rep.error);
    int rc = tokenizer_finish(s->tok);
    if (rc == 0 && !s->failed) {
        if (s->raw == RAW_STYLE)
            s->raw = RAW_NONE; /* an unterminated style sheet is dropped */
        drop_carry(s);
        run_end(s);
    }
    return finish_feed(s, rc, err);
}

const sanitizer_report *sanitizer_get_report(const sanitizer *s)
{
    return &s->rep;
}

uint64_t sanitizer_report_removed(const sanitizer_report *r)
{
    uint64_t n = 0;
    for (int i = 0; i < SAN_CAT_COUNT; i++)
        n += r->counts[i];
    return n;
}

void sanitizer_free(sanitizer *s)
{
    if (!s)
        return;
    tokenizer_free(s->tok);
    out_free(&s->out);
    free(s->style);
    if (s->sheet)
        css_sheet_free(s->sheet);
    if (s->im)
        instr_matcher_free(s->im);
    if (s->attr_im)
        instr_matcher_free(s->attr_im);
    free(s->detail);
    free(s->pend);
    free(s->unfed);
    free(s->names);
    free(s->attrs);
    free(s->types);
    free(s->segs);
    free(s->scratch);
    free(s);
}

/* Length of the longest prefix that is valid UTF-8 (excerpts may be cut inside a character). */
static size_t valid_utf8_prefix(const char *p)
{
    size_t n = strlen(p), i = 0;
    while (i < n) {
        uint32_t cp;
        int k = utf8_decode((const unsigned char *)p + i, n - i, &cp);
        if (k <= 0)
            break;
        i += (size_t)k;
    }
    return i;
}

static const char *const CATEGORY_NAMES[SAN_CAT_COUNT] = {
    "script", "handler", "url", "element", "css", "meta", "hidden", "comment", "invisible",
    "instruction", "oversize"};

char *sanitizer_report_json(const sanitizer_report *r)
{
    json_t *root = json_object();
    json_t *counts = json_object();
    for (int i = 0; i < SAN_CAT_COUNT; i++)
        json_object_set_new(counts, CATEGORY_NAMES[i], json_integer((json_int_t)r->counts[i]));
    json_object_set_new(root, "counts", counts);
    json_object_set_new(root, "removed", json_integer((json_int_t)sanitizer_report_removed(r)));
    json_object_set_new(root, "bytes_in", json_integer((json_int_t)r->bytes_in));
    json_object_set_new(root, "bytes_out", json_integer((json_int_t)r->bytes_out));
    json_object_set_new(root, "peak_memory", json_integer((json_int_t)r->peak_memory));
    if (r->error[0])
        json_object_set_new(root, "error", json_string(r->error));
    if (r->css_bound_reached)
        json_object_set_new(root, "css_bound_reached", json_true());
    const struct sanitizer_report_detail *d = r->detail;
    if (d) {
        json_t *names = json_object();
        for (size_t i = 0; i < d->nnames; i++) {
            const char *cat = CATEGORY_NAMES[d->names[i].cat];
            json_t *per = json_object_get(names, cat);
            if (!per) {
                per = json_object();
                json_object_set_new(names, cat, per);
            }
            json_object_set_new(per, d->names[i].name, json_integer((json_int_t)d->names[i].count));
        }
        json_object_set_new(root, "names", names);
        json_t *cuts = json_array();
        for (size_t i = 0; i < d->ncuts; i++) {
            json_t *c = json_object();
            json_object_set_new(c, "rule", json_string(d->cuts[i].rule_id));
            /* excerpts are cut at 200 characters and may end inside a character */
            json_object_set_new(c, "excerpt", json_stringn(d->cuts[i].excerpt,
                                                           valid_utf8_prefix(d->cuts[i].excerpt)));
            json_array_append_new(cuts, c);
        }
        json_object_set_new(root, "instruction_cuts", cuts);
        if (d->cuts_dropped)
            json_object_set_new(root, "instruction_cuts_not_listed",
                                json_integer((json_int_t)d->cuts_dropped));
    }
    char *out = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(root);
    return out;
}
