/* sanitizer (private): a small CSS tokenizer (CSS Syntax Level 3 approach) used to judge
 * inline style attributes and <style> blocks: does a declaration hide its element, does the
 * CSS run or fetch code. Anything not understood safely is ignored (never guessed as visible
 * danger-free: dangerous constructs are judged on the token stream, not substrings). */
#ifndef AG_SANITIZER_CSS_H
#define AG_SANITIZER_CSS_H

#include <stddef.h>
#include <stdint.h>

enum {
    CSS_HIDES = 1u << 0,     /* display:none, visibility:hidden, opacity:0, font-size:0, white
                              * on white, far off the page, ... */
    CSS_DANGEROUS = 1u << 1, /* expression(, javascript: in url(), behavior, -moz-binding, @import of script */
    CSS_TEXT_CUT = 1u << 2,  /* the text callback asked to remove a `content` string */
    CSS_LATE_ATTR = 1u << 3, /* content: attr() of a new name after the list was frozen */
    /* Hiding a descendant can undo by setting the property again (all three are inherited):
     * the element's own text is hidden, a child with a readable font size, visibility:visible
     * or a colour of its own shows again (CSS_SHOW_* for the same property, three bits up). */
    CSS_SOFT_FONT = 1u << 4,       /* font-size under 2px */
    CSS_SOFT_VISIBILITY = 1u << 5, /* visibility: hidden | collapse */
    CSS_SOFT_COLOUR = 1u << 6,     /* transparent text, or text in its own background colour */
    CSS_SHOW_FONT = 1u << 7,       /* an absolute font size of 2px or more, or a size keyword */
    CSS_SHOW_VISIBILITY = 1u << 8, /* visibility: visible */
    CSS_SHOW_COLOUR = 1u << 9      /* an opaque colour */
};
#define CSS_SOFT_HIDES (CSS_SOFT_FONT | CSS_SOFT_VISIBILITY | CSS_SOFT_COLOUR)
#define CSS_SHOWS (CSS_SHOW_FONT | CSS_SHOW_VISIBILITY | CSS_SHOW_COLOUR)
/* Both as three-bit masks of the same properties (font, visibility, colour). */
#define CSS_SOFT_SHIFT 4
#define CSS_SHOW_SHIFT 7

/* Receives each string of a `content` declaration (text the page shows, ::before/::after),
 * whole and with escapes decoded; returns nonzero when that text must not be shown. */
typedef int (*css_text_fn)(void *ctx, const char *text, size_t len);

/* Flags for a declaration list (a style attribute's value): CSS_HIDES for hiding a descendant
 * cannot undo, CSS_SOFT_* and CSS_SHOW_* for the inherited properties. */
unsigned css_declarations_flags(const char *decls, size_t len);
/* The same, handing generated text to fn (NULL: as css_declarations_flags). */
unsigned css_declarations_flags_text(const char *decls, size_t len, css_text_fn fn, void *ctx);
/* A style attribute judged for the cascade with the sheet's rules: its flags (as
 * css_declarations_flags), and, by groups of properties (private to css.c), where it hides,
 * where it sets a property again to a value that does not hide, and which are !important. */
#define CSS_ANIM_MAX 2
typedef struct css_style {
    unsigned flags;
    unsigned causes, cancels, important;
    /* where it hides: the animations that end soon with their last frame kept (names hashed,
     * looked up in the sheet's @keyframes) */
    uint64_t anim[CSS_ANIM_MAX];
    unsigned nanim;
} css_style;
void css_style_judge(const char *decls, size_t len, css_style *out);
/* Flags for a whole style sheet (<style> body): CSS_DANGEROUS only. */
unsigned css_sheet_text_flags(const char *css, size_t len);

/* Hiding rules collected from <style> blocks seen earlier in a document, and the rules that
 * undo them. */
typedef struct css_sheet css_sheet;
css_sheet *css_sheet_new(size_t max_rules);
void css_sheet_free(css_sheet *s);
/* Parses a style block and keeps the rules whose declarations hide (tag, .class, #id,
 * attribute conditions, :first-child, :nth-child(), :first-of-type, :nth-of-type(), :not() of
 * simple selectors and their compounds, :is()/:where() of compounds, joined by descendant and
 * child combinators, up to CSS_ANCESTORS_MAX compounds before the last, and by sibling
 * combinators (a chain of them in hiding rules only); anything else is ignored). */
#define CSS_ANCESTORS_MAX 4
void css_sheet_add(css_sheet *s, const char *css, size_t len);
/* Both in one parse: returns css_sheet_text_flags() of the block and, unless it is dangerous
 * (the caller then drops the block, so its rules hide nothing), keeps its hiding rules as
 * css_sheet_add() does. s may be NULL (flags only). */
unsigned css_sheet_add_judged(css_sheet *s, const char *css, size_t len);
/* The same, handing generated text to fn: the result has CSS_TEXT_CUT when fn asked for a
 * removal (or CSS_LATE_ATTR, see css_sheet_freeze_shown_attrs), and the block's hiding rules
 * are then not kept either (the caller drops it). */
unsigned css_sheet_add_judged_text(css_sheet *s, const char *css, size_t len, css_text_fn fn,
                                   void *ctx);
/* The hiding flags (CSS_HIDES, or the CSS_SOFT_* still hiding, after the cascade, see
 * css_sheet_element_flags) of the kept rules that match an element with this tag
 * (lower-case), id and class attribute; 0 for none. */
unsigned css_sheet_hides(const css_sheet *s, const char *tag, const char *id,
                         const char *class_attr);
/* The same for attribute values as they are: n bytes each (read up to a NUL byte), id or
 * class_attr NULL when the element has no such attribute. with_shows adds the CSS_SHOW_* of
 * rules that set an inherited property again (read inside softly hidden content). */
unsigned css_sheet_hides_n(const css_sheet *s, const char *tag, size_t tag_len, const char *id,
                           size_t id_len, const char *class_attr, size_t class_len,
                           int with_shows);
/* An element as the sheet's selectors see it: the tag (lower-case) and the id and class
 * attribute values as written (NULL: none), and, for attribute conditions, attr(): 1 and the
 * value of the attribute named (lower-case), 0 when the element has none (attr NULL: its
 * attributes are not known, and no condition on them is met). */
typedef struct css_elem {
    const char *tag, *id, *cls;
    size_t tag_len, id_len, cls_len;
    int (*attr)(const void *ctx, const char *name, const char **value, size_t *len);
    const void *attr_ctx;
    uint32_t index; /* its place among its parent's element children from 1 (0: not known) */
    /* the marks (css_sheet_sibling_marks) of the siblings before it: of all, and of the one
     * just before; siblings_known 0 when not kept */
    uint64_t prev_any, prev_next;
    int siblings_known;
    uint32_t type_index; /* its place among its parent's children of its type from 1 (0: not
                          * known; see css_sheet_counts_types) */
    /* bits of prev_any and prev_next that are not known (sibling compounds the sheet did not
     * have yet when a sibling before began): a hiding rule does not match on them, an undoing
     * one does */
    uint64_t prev_any_unknown, prev_next_unknown;
} css_elem;
/* The elements open around the one judged, the root first: n of them (at most CSS_PATH_MAX),
 * read one at a time through get(ctx, i, out). Rules whose selectors name ancestors (`.a .b`,
 * `div > p`) are judged on it; without a path they match nothing. budget, when not NULL, is
 * how many more open elements the caller lets them be compared with (each comparison takes one):
 * once it is spent, a rule's ancestors are not judged (a hiding rule does not match, an undoing
 * one does), so a page of many rules and deep nesting costs time in proportion to its size. */
#define CSS_PATH_MAX 512
typedef struct css_path {
    size_t n;
    void (*get)(const void *ctx, size_t i, css_elem *out);
    const void *ctx;
    uint64_t *budget;
} css_path;
/* As css_sheet_element_flags, for an element inside path (NULL: none known). */
unsigned css_sheet_judge_element(const css_sheet *s, const css_elem *e, const css_path *path,
                                 const css_style *style, int with_shows);
/* The element's flags from the cascade of the matching rules and its style attribute (style,
 * NULL for none): a hiding is undone by a rule (or the attribute) that wins over it and sets a
 * property of the same group again, in any media a screen may match; CSS_HIDES, or the
 * CSS_SOFT_* still hiding and the CSS_SHOW_* of the winning declarations. */
unsigned css_sheet_element_flags(const css_sheet *s, const char *tag, size_t tag_len,
                                 const char *id, size_t id_len, const char *class_attr,
                                 size_t class_len, const css_style *style, int with_shows);
/* 1 when a kept block's `content: attr(name)` shows this attribute (n bytes, any case) as
 * text; blocks are only read for that when parsed with a text callback. */
int css_sheet_shows_attr(const css_sheet *s, const char *name, size_t len);
/* From now on a block whose `content: attr(name)` names an attribute not shown before is
 * dropped (CSS_LATE_ATTR): elements already written were not searched for it. */
void css_sheet_freeze_shown_attrs(css_sheet *s);
/* The tags, ids, classes and attribute names of the elements a document has written so far,
 * as a Bloom filter (a yes may be wrong, a no never is), to tell whether a style block seen
 * late would hide some of them. Zero-initialised. */
typedef struct css_seen {
    uint64_t bits[64];
    int any;
} css_seen;
void css_seen_add_element(css_seen *w, const char *tag, size_t tag_len, const char *id,
                          size_t id_len, const char *class_attr, size_t class_len);
/* Notes an attribute name (lower-case) of an element noted in w. */
void css_seen_add_attr(css_seen *w, const char *name, size_t len);
/* 1 when a hiding rule kept since rule number `from` may match an element noted in w. */
int css_sheet_rules_may_match(const css_sheet *s, size_t from, const css_seen *w);
/* Rules that set a property again without hiding are kept for the groups of properties some
 * kept rule hides by: they can undo a hiding or show a descendant again. When a group is first
 * wanted, the block that hid by it and the earlier blocks (the first 32, up to 64 KiB, kept
 * for this) are read again for them. This wants them for font size, visibility and colour:
 * the document hid softly in a style attribute. */
void css_sheet_keep_shows(css_sheet *s);
/* The same for the groups a style attribute hides by (an !important rule undoes it). */
void css_sheet_keep_undoing(css_sheet *s, const css_style *style);
/* Number of undoing rules kept so far. */
size_t css_sheet_undo_count(const css_sheet *s);
/* Forgets the hiding rules kept after the first n (a block the caller drops after all), and
 * the undoing rules the last block added. */
void css_sheet_truncate(css_sheet *s, size_t n);
/* Number of hiding rules kept so far (bounded by max_rules). */
size_t css_sheet_rule_count(const css_sheet *s);
/* Rules may name a sibling before their element (`.a + .b`, `.a ~ .b`): each such compound
 * is a bit of the marks an element's siblings leave for the next (css_elem.prev_*). The
 * number of them so far (up to 64), and the bits of those the element matches. */
size_t css_sheet_sibling_count(const css_sheet *s);
uint64_t css_sheet_sibling_marks(const css_sheet *s, const css_elem *e);
/* 1 once a kept rule names :nth-of-type() or :first-of-type: the caller then counts each
 * element's place among its siblings of its type (css_elem.type_index) from there on. */
int css_sheet_counts_types(const css_sheet *s);
/* 1 once a kept rule puts an attribute condition on an ancestor (`[data-x] p`): the caller then
 * keeps the attributes of the elements it opens from there on (css_elem.attr of the path). */
int css_sheet_asks_ancestor_attrs(const css_sheet *s);
/* Number of @keyframes kept so far: a style attribute's animation may show what it hides. */
size_t css_sheet_keyframes_count(const css_sheet *s);

#endif
