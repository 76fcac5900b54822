/* sanitizer (private): judges CSS for the filter. Style attributes are parsed as declaration
 * lists and style blocks as rule lists (CSS Syntax Level 3 parsing over css_lexer tokens);
 * a declaration list "hides" when the cascade of its own declarations (last wins, !important
 * beats normal) leaves a property that makes the text invisible to a person, and a style
 * sheet's rules hide an element unless a rule (or its style attribute) that wins over them in
 * the cascade sets a property of the same group again. Selectors are compounds of tag, id,
 * classes, attribute conditions and a few positional pseudo-classes, joined by descendant,
 * child and sibling combinators, matched against the element and the elements open around it
 * (css_path) as the filter's stack holds them; :is() and :where()
 * lists are read as one selector per item. Danger is judged
 * on tokens: an expression() function, a javascript:/vbscript: URL in url()/image functions,
 * behavior/-moz-binding declarations and @import. What cannot be understood is ignored: an
 * unknown value never counts as hiding, so visible text is not removed on a guess. */
#include "sanitizer/css.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/css_lexer.h"

#define VALUE_TOKENS_MAX 24
#define VALUE_TEXT_MAX 32
#define FN_STACK_MAX 32
#define PRELUDE_TOKENS_MAX 96
#define SELECTOR_CLASSES_MAX 4
#define SELECTOR_ATTRS_MAX 2
#define SELECTOR_NOT_MAX 4
#define NAME_MAX_LEN 64
#define AT_RULE_NEST_MAX 64 /* at-rule blocks are read by recursion: a stack frame per level */

/* ---- token stream with danger checks ---------------------------------------------------- */

typedef struct css_ctx {
    css_lexer lx;
    unsigned flags;
    css_text_fn text_fn; /* given the strings of `content` declarations (NULL: not asked) */
    void *text_ctx;
    struct css_sheet *sheet; /* notes the attributes `content: attr(...)` shows */
    /* which rules a sheet keeps: those that hide, and those that undo in the groups of
     * `want` (see css_sheet_keep_shows) */
    int keep_hiding;
    unsigned want;
    int fn_depth;
    unsigned char fn_is_url[FN_STACK_MAX]; /* per open ( [ { or function: 1 for url-like */
    css_token_type prev_type;
    size_t prev_start; /* the previous token's offset: its text is lexed again when needed */
    /* Scratch for every rule of the sheet, allocated on first use (ctx_done frees it): a
     * prelude is complete before the block after it is parsed, and declaration blocks do not
     * nest, so one of each serves all rules. */
    struct prelude *prelude;
    struct decl_state *decls;
} css_ctx;

static inline int ascii_tolower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static inline int css_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static void ascii_lower(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++) {
        char c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    dst[i] = '\0';
}

/* Token text lower-cased into dst and truncated to cap - 1 bytes, as ascii_lower() would copy
 * it (token text holds no NUL byte), without looking for the end of the text. */
static void token_text_lower(char *dst, size_t cap, const css_token *t)
{
    size_t n = t->text_len < cap - 1 ? t->text_len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        char c = t->text[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    dst[n] = '\0';
}

static int url_prefix_dangerous(const char *prefix)
{
    return strncmp(prefix, "javascript:", 11) == 0 || strncmp(prefix, "vbscript:", 9) == 0;
}

static int is_url_function(const css_token *t)
{
    return css_token_is(t, "url") || css_token_is(t, "src") || css_token_is(t, "image") ||
           css_token_is(t, "image-set") || css_token_is(t, "-webkit-image-set") ||
           css_token_is(t, "cross-fade") || css_token_is(t, "-webkit-cross-fade");
}

static void fn_push(css_ctx *c, int is_url)
{
    if (c->fn_depth < FN_STACK_MAX) c->fn_is_url[c->fn_depth] = (unsigned char)is_url;
    c->fn_depth++;
}

static void fn_pop(css_ctx *c)
{
    if (c->fn_depth > 0) c->fn_depth--;
}

static int fn_top_is_url(const css_ctx *c)
{
    return c->fn_depth > 0 && c->fn_depth <= FN_STACK_MAX && c->fn_is_url[c->fn_depth - 1];
}

/* Next token, with the token-level danger checks applied. */
static void next_tok(css_ctx *c, css_token *t)
{
    css_lexer_next(&c->lx, t);
    switch (t->type) {
    case CT_FUNCTION: {
        if (css_token_is(t, "expression")) c->flags |= CSS_DANGEROUS;
        /* Old engines read a name split by a comment ("exp", comment, "ression(") as one. This
         * is rare, so the name before is not kept for every token but read again here. */
        if (t->after_comment && c->prev_type == CT_IDENT) {
            char joined[2 * CSS_TOKEN_TEXT_MAX];
            css_lexer again = c->lx;
            css_token prev;
            again.pos = c->prev_start;
            css_lexer_next(&again, &prev);
            snprintf(joined, sizeof joined, "%s%s", prev.text, t->text);
            ascii_lower(joined, joined, sizeof joined);
            if (strcmp(joined, "expression") == 0) c->flags |= CSS_DANGEROUS;
        }
        fn_push(c, is_url_function(t));
        break;
    }
    case CT_LPAREN:
    case CT_LBRACKET:
    case CT_LBRACE:
        fn_push(c, 0);
        break;
    case CT_RPAREN:
    case CT_RBRACKET:
    case CT_RBRACE:
        fn_pop(c);
        break;
    case CT_URL:
    case CT_BAD_URL:
        if (url_prefix_dangerous(t->url_prefix)) c->flags |= CSS_DANGEROUS;
        break;
    case CT_STRING:
    case CT_BAD_STRING:
        if (fn_top_is_url(c) && url_prefix_dangerous(t->url_prefix)) c->flags |= CSS_DANGEROUS;
        break;
    default:
        break;
    }
    c->prev_type = t->type;
    c->prev_start = t->start;
}

static void ctx_init(css_ctx *c, const char *s, size_t len)
{
    memset(c, 0, sizeof *c);
    css_lexer_init(&c->lx, s, len);
    c->prev_type = CT_EOF;
}

static void ctx_done(css_ctx *c)
{
    free(c->prelude);
    free(c->decls);
}

/* ---- declaration values ------------------------------------------------------------------ */

typedef struct value_token {
    css_token_type type;
    double number;
    uint32_t delim;
    char text[VALUE_TEXT_MAX]; /* lower-cased */
} value_token;

typedef struct prop_value {
    value_token tok[VALUE_TOKENS_MAX];
    int n;
    int set, important;
    int seq; /* the declaration's place in its list: `font` and `font-size` both set the size */
} prop_value;

typedef enum {
    P_DISPLAY, P_VISIBILITY, P_OPACITY, P_FONT_SIZE, P_COLOR, P_CLIP, P_CLIP_PATH,
    P_WIDTH, P_HEIGHT, P_MAX_WIDTH, P_MAX_HEIGHT, P_OVERFLOW, P_OVERFLOW_X, P_OVERFLOW_Y,
    P_POSITION, P_LEFT, P_TOP, P_TEXT_INDENT, P_TRANSFORM, P_SCALE, P_BACKGROUND,
    P_BACKGROUND_COLOR, P_FILTER, P_CONTENT_VISIBILITY, P_RIGHT, P_BOTTOM, P_MARGIN,
    P_MARGIN_LEFT, P_MARGIN_TOP, P_FONT, P_TEXT_FILL, P_BACKGROUND_CLIP, P_WEBKIT_BACKGROUND_CLIP,
    P_ZOOM, P_TEXT_SHADOW, P_PADDING, P_PADDING_TOP, P_PADDING_RIGHT, P_PADDING_BOTTOM,
    P_PADDING_LEFT, P_ANIMATION, P_ANIMATION_NAME, P_ANIMATION_DURATION, P_ANIMATION_DELAY,
    P_ANIMATION_FILL_MODE, P_ANIMATION_DIRECTION, P_ANIMATION_ITERATION_COUNT,
    P_ANIMATION_PLAY_STATE, P_COUNT
} prop_id;

static const char *const prop_names[P_COUNT] = {
    "display", "visibility", "opacity", "font-size", "color", "clip", "clip-path",
    "width", "height", "max-width", "max-height", "overflow", "overflow-x", "overflow-y",
    "position", "left", "top", "text-indent", "transform", "scale", "background",
    "background-color", "filter", "content-visibility", "right", "bottom", "margin",
    "margin-left", "margin-top", "font", "-webkit-text-fill-color", "background-clip",
    "-webkit-background-clip", "zoom", "text-shadow", "padding", "padding-top", "padding-right",
    "padding-bottom", "padding-left", "animation", "animation-name", "animation-duration",
    "animation-delay", "animation-fill-mode", "animation-direction", "animation-iteration-count",
    "animation-play-state",
};

_Static_assert(P_COUNT <= 64, "decl_state.set_mask has a bit per property");

typedef struct decl_state {
    prop_value prop[P_COUNT];
    uint64_t set_mask; /* bit i: prop[i].set */
} decl_state;

/* The context's declaration state, emptied. Only the per-property `set` flags are cleared:
 * every reader checks `set` and reads tok[0 .. n), and the structure is large (clearing all of
 * it per style rule cost more than parsing the rule). NULL on allocation failure. */
static decl_state *ctx_decls(css_ctx *c)
{
    if (!c->decls) {
        c->decls = malloc(sizeof *c->decls);
        if (!c->decls) return NULL;
        for (int i = 0; i < P_COUNT; i++) c->decls->prop[i].set = 0;
        c->decls->set_mask = 0;
    }
    for (uint64_t m = c->decls->set_mask; m; m &= m - 1)
        c->decls->prop[__builtin_ctzll(m)].set = 0;
    c->decls->set_mask = 0;
    return c->decls;
}

/* The one of ids[0, n) whose name is lower_name; -1 for none. */
static int prop_among(const char *lower_name, const prop_id *ids, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(prop_names[ids[i]], lower_name) == 0) return (int)ids[i];
    return -1;
}

/* Every declaration of every rule is looked up: the first byte leaves a few names to compare. */
static int prop_lookup(const char *lower_name)
{
#define AMONG(...) \
    prop_among(lower_name, (const prop_id[]){__VA_ARGS__}, \
               (int)(sizeof((const prop_id[]){__VA_ARGS__}) / sizeof(prop_id)))
    switch (lower_name[0]) {
    case '-': return AMONG(P_TEXT_FILL, P_WEBKIT_BACKGROUND_CLIP);
    case 'a': /* align-*, aspect-ratio...: one compare rules them out */
        if (strncmp(lower_name, "animation", 9) != 0) return -1;
        return AMONG(P_ANIMATION, P_ANIMATION_NAME, P_ANIMATION_DURATION, P_ANIMATION_DELAY,
                     P_ANIMATION_FILL_MODE, P_ANIMATION_DIRECTION, P_ANIMATION_ITERATION_COUNT,
                     P_ANIMATION_PLAY_STATE);
    case 'b': return AMONG(P_BACKGROUND, P_BACKGROUND_COLOR, P_BOTTOM, P_BACKGROUND_CLIP);
    case 'c': return AMONG(P_COLOR, P_CLIP, P_CLIP_PATH, P_CONTENT_VISIBILITY);
    case 'd': return AMONG(P_DISPLAY);
    case 'f': return AMONG(P_FONT_SIZE, P_FILTER, P_FONT);
    case 'h': return AMONG(P_HEIGHT);
    case 'l': return AMONG(P_LEFT);
    case 'm': return AMONG(P_MAX_WIDTH, P_MAX_HEIGHT, P_MARGIN, P_MARGIN_LEFT, P_MARGIN_TOP);
    case 'o': return AMONG(P_OPACITY, P_OVERFLOW, P_OVERFLOW_X, P_OVERFLOW_Y);
    case 'p': return AMONG(P_POSITION, P_PADDING, P_PADDING_TOP, P_PADDING_RIGHT, P_PADDING_BOTTOM,
                           P_PADDING_LEFT);
    case 'r': return AMONG(P_RIGHT);
    case 's': return AMONG(P_SCALE);
    case 't': return AMONG(P_TOP, P_TEXT_INDENT, P_TRANSFORM, P_TEXT_SHADOW);
    case 'v': return AMONG(P_VISIBILITY);
    case 'w': return AMONG(P_WIDTH);
    case 'z': return AMONG(P_ZOOM);
    default: return -1;
    }
#undef AMONG
}

static int declaration_name_dangerous(const char *lower_name)
{
    if (lower_name[0] != 'b' && lower_name[0] != '-') return 0;
    return strcmp(lower_name, "behavior") == 0 || strcmp(lower_name, "-ms-behavior") == 0 ||
           strcmp(lower_name, "-moz-binding") == 0;
}

typedef enum { VALUE_END_NONE, VALUE_END_SEMI, VALUE_END_EOF, VALUE_END_BLOCK } value_end;

/* Where a declaration value ends: VALUE_END_NONE while token t (at bracket depth *depth,
 * updated) is still part of it. */
static value_end value_step(const css_token *t, int *depth, int in_block)
{
    switch (t->type) {
    case CT_EOF:
        return VALUE_END_EOF;
    case CT_SEMICOLON:
        if (*depth == 0) return VALUE_END_SEMI;
        break;
    case CT_FUNCTION:
    case CT_LPAREN:
    case CT_LBRACKET:
    case CT_LBRACE:
        ++*depth;
        break;
    case CT_RPAREN:
    case CT_RBRACKET:
        if (*depth > 0) --*depth;
        break;
    case CT_RBRACE:
        if (*depth == 0 && in_block) return VALUE_END_BLOCK;
        if (*depth > 0) --*depth;
        break;
    default:
        break;
    }
    return VALUE_END_NONE;
}

/* Consumes a declaration value up to ';' (or the end of the list), keeping the first tokens. */
static value_end consume_value(css_ctx *c, int in_block, prop_value *out, int *overflow)
{
    css_token t;
    int depth = 0;
    out->n = 0;
    *overflow = 0;
    for (;;) {
        next_tok(c, &t);
        value_end end = value_step(&t, &depth, in_block);
        if (end != VALUE_END_NONE) return end;
        if (t.type == CT_WHITESPACE) continue;
        if (out->n == VALUE_TOKENS_MAX) {
            *overflow = 1;
            continue;
        }
        value_token *v = &out->tok[out->n++];
        v->type = t.type;
        v->number = t.number;
        v->delim = t.delim;
        token_text_lower(v->text, sizeof v->text, &t);
    }
}

static void strip_important(prop_value *v)
{
    if (v->n >= 2 && v->tok[v->n - 2].type == CT_DELIM && v->tok[v->n - 2].delim == '!' &&
        v->tok[v->n - 1].type == CT_IDENT && strcmp(v->tok[v->n - 1].text, "important") == 0) {
        v->n -= 2;
        v->important = 1;
    }
}

/* Skips the rest of a bad declaration up to ';' or the end of the list. */
static value_end skip_declaration(css_ctx *c, int in_block)
{
    prop_value scratch;
    int overflow;
    return consume_value(c, in_block, &scratch, &overflow);
}

static int sheet_note_shown_attr(struct css_sheet *s, const char *name);

/* The value of a `content` declaration: each string is generated text a person sees, handed
 * whole (escapes decoded) to the text callback; CSS_TEXT_CUT when it asks for removal. */
static value_end consume_content(css_ctx *c, int in_block)
{
    css_token t;
    int depth = 0, attr_fn = 0;
    for (;;) {
        next_tok(c, &t);
        value_end end = value_step(&t, &depth, in_block);
        if (end != VALUE_END_NONE) return end;
        if (t.type == CT_WHITESPACE) continue;
        /* attr(name): the element's attribute becomes generated text */
        if (attr_fn && t.type == CT_IDENT && c->sheet && sheet_note_shown_attr(c->sheet, t.text))
            c->flags |= CSS_LATE_ATTR;
        attr_fn = t.type == CT_FUNCTION && css_token_is(&t, "attr");
        if (t.type != CT_STRING && t.type != CT_BAD_STRING) continue;
        size_t n = c->lx.pos - t.start;
        char *text = malloc(4 * n + 1);
        if (!text) { /* cannot be read: not passed on as if it had been */
            c->flags |= CSS_TEXT_CUT;
            continue;
        }
        size_t tl = css_string_decode((const char *)c->lx.s + t.start, n, text);
        if (tl > 0 && c->text_fn(c->text_ctx, text, tl)) c->flags |= CSS_TEXT_CUT;
        free(text);
    }
}

/* Parses a declaration list (style attribute, or a block after its '{'). */
static void parse_declarations(css_ctx *c, int in_block, decl_state *st)
{
    css_token t;
    int seq = 0;
    for (;;) {
        next_tok(c, &t);
        if (t.type == CT_EOF) return;
        if (t.type == CT_RBRACE && in_block) return;
        if (t.type == CT_WHITESPACE || t.type == CT_SEMICOLON) continue;
        if (t.type != CT_IDENT) {
            if (skip_declaration(c, in_block) != VALUE_END_SEMI) return;
            continue;
        }
        char name[NAME_MAX_LEN];
        token_text_lower(name, sizeof name, &t);
        do next_tok(c, &t); while (t.type == CT_WHITESPACE);
        if (t.type == CT_EOF) return;
        if (t.type == CT_RBRACE && in_block) return;
        if (t.type == CT_SEMICOLON) continue;
        if (t.type != CT_COLON) {
            if (skip_declaration(c, in_block) != VALUE_END_SEMI) return;
            continue;
        }
        if (declaration_name_dangerous(name)) c->flags |= CSS_DANGEROUS;
        if (c->text_fn && strcmp(name, "content") == 0) {
            if (consume_content(c, in_block) != VALUE_END_SEMI) return;
            continue;
        }
        prop_value v;
        int overflow;
        v.set = v.important = 0;
        value_end end = consume_value(c, in_block, &v, &overflow);
        strip_important(&v);
        int id = prop_lookup(name);
        if (id >= 0 && st && !overflow && v.n > 0) {
            prop_value *cur = &st->prop[id];
            if (!(cur->set && cur->important && !v.important)) {
                cur->n = v.n;
                cur->important = v.important;
                memcpy(cur->tok, v.tok, (size_t)v.n * sizeof v.tok[0]);
                cur->set = 1;
                cur->seq = ++seq;
                st->set_mask |= (uint64_t)1 << id;
            }
        }
        if (end != VALUE_END_SEMI) return;
    }
}

/* ---- the hiding judgement ----------------------------------------------------------------- */

static const value_token *first_tok(const decl_state *st, prop_id id)
{
    const prop_value *v = &st->prop[id];
    return (v->set && v->n > 0) ? &v->tok[0] : NULL;
}

static int tok_ident_is(const value_token *v, const char *lower)
{
    return v && v->type == CT_IDENT && strcmp(v->text, lower) == 0;
}

/* A length in CSS px (16px font assumed for font-relative units). Unitless numbers count as px,
 * as quirks-mode documents read them. Returns 0 when v is not a length. */
static int length_px(const value_token *v, double *px)
{
    static const struct { const char *unit; double px; } units[] = {
        {"px", 1}, {"pt", 96.0 / 72}, {"pc", 16}, {"in", 96}, {"cm", 96 / 2.54},
        {"mm", 96 / 25.4}, {"q", 96 / 101.6}, {"em", 16}, {"rem", 16}, {"ex", 8},
        {"ch", 8}, {"vw", 10}, {"vh", 8}, {"vmin", 8}, {"vmax", 10},
    };
    if (!v) return 0;
    if (v->type == CT_NUMBER) {
        *px = v->number;
        return 1;
    }
    if (v->type != CT_DIMENSION) return 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(v->text, units[i].unit) == 0) {
            *px = v->number * units[i].px;
            return 1;
        }
    }
    return 0;
}

/* Numeric arguments (numbers, percentages, dimensions) of the function starting at index fn. */
static int function_args(const prop_value *v, int fn, const value_token **args, int max)
{
    int n = 0;
    for (int i = fn + 1; i < v->n; i++) {
        const value_token *a = &v->tok[i];
        if (a->type == CT_RPAREN) break;
        if (a->type == CT_COMMA || (a->type == CT_DELIM && a->delim == '/')) continue;
        if (n < max) args[n++] = a;
    }
    return n;
}

static int alpha_is_zero(const value_token *a)
{
    if (a->type == CT_NUMBER) return a->number <= 0.01;
    if (a->type == CT_PERCENTAGE) return a->number <= 1;
    return 0;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Token i of v is a colour with no alpha (0 when it is not a colour this reads). */
static int colour_token_transparent(const prop_value *v, int i)
{
    const value_token *f = &v->tok[i];
    if (tok_ident_is(f, "transparent")) return 1;
    if (f->type == CT_HASH) {
        size_t n = strlen(f->text);
        if (n == 4) return hex_nibble(f->text[3]) == 0;
        if (n == 8) return hex_nibble(f->text[6]) == 0 && hex_nibble(f->text[7]) == 0;
        return 0;
    }
    if (f->type == CT_FUNCTION &&
        (strcmp(f->text, "rgba") == 0 || strcmp(f->text, "rgb") == 0 ||
         strcmp(f->text, "hsla") == 0 || strcmp(f->text, "hsl") == 0 ||
         strcmp(f->text, "hwb") == 0)) {
        const value_token *args[4];
        if (function_args(v, i, args, 4) == 4) return alpha_is_zero(args[3]);
    }
    return 0;
}

static int colour_transparent(const prop_value *v)
{
    return v->set && v->n > 0 && colour_token_transparent(v, 0);
}

/* Named colours a page would use to match its background; others are not judged. */
static const struct { const char *name; uint8_t rgb[3]; } named_colours[] = {
    {"white", {255, 255, 255}}, {"black", {0, 0, 0}}, {"snow", {255, 250, 250}},
    {"ivory", {255, 255, 240}}, {"whitesmoke", {245, 245, 245}}, {"ghostwhite", {248, 248, 255}},
    {"floralwhite", {255, 250, 240}}, {"linen", {250, 240, 230}}, {"azure", {240, 255, 255}},
    {"mintcream", {245, 255, 250}}, {"seashell", {255, 245, 238}}, {"honeydew", {240, 255, 240}},
    {"aliceblue", {240, 248, 255}}, {"oldlace", {253, 245, 230}}, {"beige", {245, 245, 220}},
    {"gainsboro", {220, 220, 220}}, {"lightgray", {211, 211, 211}},
    {"lightgrey", {211, 211, 211}}, {"silver", {192, 192, 192}}, {"gray", {128, 128, 128}},
    {"grey", {128, 128, 128}}, {"dimgray", {105, 105, 105}}, {"dimgrey", {105, 105, 105}},
    {"red", {255, 0, 0}}, {"maroon", {128, 0, 0}}, {"yellow", {255, 255, 0}},
    {"olive", {128, 128, 0}}, {"lime", {0, 255, 0}}, {"green", {0, 128, 0}},
    {"aqua", {0, 255, 255}}, {"cyan", {0, 255, 255}}, {"teal", {0, 128, 128}},
    {"blue", {0, 0, 255}}, {"navy", {0, 0, 128}}, {"fuchsia", {255, 0, 255}},
    {"magenta", {255, 0, 255}}, {"purple", {128, 0, 128}}, {"orange", {255, 165, 0}},
};

/* The opaque colour token i of v stands for, into rgb; 0 when it is not one this judges
 * (a transparent or translucent colour, hsl(), a keyword such as currentcolor). */
static int opaque_colour(const prop_value *v, int i, uint8_t rgb[3])
{
    const value_token *f = &v->tok[i];
    if (f->type == CT_IDENT) {
        for (size_t k = 0; k < sizeof named_colours / sizeof named_colours[0]; k++)
            if (strcmp(f->text, named_colours[k].name) == 0) {
                memcpy(rgb, named_colours[k].rgb, 3);
                return 1;
            }
        return 0;
    }
    if (f->type == CT_HASH) {
        size_t n = strlen(f->text);
        int d[8];
        for (size_t k = 0; k < n && k < 8; k++)
            if ((d[k] = hex_nibble(f->text[k])) < 0) return 0;
        if (n == 3 || n == 4) {
            if (n == 4 && d[3] != 15) return 0;
            for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)(d[k] * 17);
            return 1;
        }
        if (n == 6 || n == 8) {
            if (n == 8 && (d[6] != 15 || d[7] != 15)) return 0;
            for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)(d[2 * k] * 16 + d[2 * k + 1]);
            return 1;
        }
        return 0;
    }
    if (f->type == CT_FUNCTION && (strcmp(f->text, "rgb") == 0 || strcmp(f->text, "rgba") == 0)) {
        const value_token *args[4];
        int n = function_args(v, i, args, 4);
        if (n != 3 && n != 4) return 0;
        if (n == 4 && !(args[3]->type == CT_NUMBER ? args[3]->number >= 1
                                                  : args[3]->type == CT_PERCENTAGE &&
                                                        args[3]->number >= 100))
            return 0;
        for (int k = 0; k < 3; k++) {
            double x;
            if (args[k]->type == CT_NUMBER) x = args[k]->number;
            else if (args[k]->type == CT_PERCENTAGE) x = args[k]->number * 2.55;
            else return 0;
            rgb[k] = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x + 0.5);
        }
        return 1;
    }
    return 0;
}

/* The colour a value that is nothing but one colour stands for (a function's arguments are
 * its tokens up to the closing parenthesis). */
static int value_colour(const prop_value *v, uint8_t rgb[3])
{
    if (!v->set || v->n == 0) return 0;
    if (v->tok[0].type == CT_FUNCTION) {
        int close = 1;
        while (close < v->n && v->tok[close].type != CT_RPAREN) close++;
        if (close + 1 < v->n) return 0;
    } else if (v->n != 1) {
        return 0;
    }
    return opaque_colour(v, 0, rgb);
}

/* The background colour a declaration block paints, from background-color or a background
 * shorthand made of nothing but a colour; 0 when there is none or an image may show. */
static int background_colour(const decl_state *st, uint8_t rgb[3])
{
    const prop_value *v = &st->prop[P_BACKGROUND_COLOR];
    if (v->set) return value_colour(v, rgb);
    v = &st->prop[P_BACKGROUND];
    if (!v->set || v->n == 0) return 0;
    int found = 0;
    for (int i = 0; i < v->n; i++) {
        const value_token *t = &v->tok[i];
        uint8_t c[3];
        int colour = opaque_colour(v, i, c);
        if ((t->type == CT_FUNCTION && !colour) || t->type == CT_URL || t->type == CT_BAD_URL)
            return 0; /* url(), a gradient: an image may show */
        if (colour && !found) {
            memcpy(rgb, c, 3);
            found = 1;
        }
    }
    return found;
}

/* Text painted in (nearly) the colour of its own background: white on white. Each channel
 * within 12 of 255 counts, which a reader cannot tell apart. */
static int colour_matches_background(const decl_state *st)
{
    uint8_t fg[3], bg[3];
    if (!st->prop[P_BACKGROUND].set && !st->prop[P_BACKGROUND_COLOR].set) return 0; /* common */
    if (!background_colour(st, bg) || !value_colour(&st->prop[P_COLOR], fg)) return 0;
    for (int k = 0; k < 3; k++)
        if (abs((int)fg[k] - (int)bg[k]) > 12) return 0;
    return 1;
}

/* filter: opacity(0) (or under 1%) anywhere in the filter list. */
static int filter_transparent(const decl_state *st)
{
    const prop_value *v = &st->prop[P_FILTER];
    for (int i = 0; v->set && i < v->n; i++) {
        const value_token *args[1];
        if (v->tok[i].type == CT_FUNCTION && strcmp(v->tok[i].text, "opacity") == 0 &&
            function_args(v, i, args, 1) == 1 && alpha_is_zero(args[0]))
            return 1;
    }
    return 0;
}

static int ident_among(const value_token *v, const char *const *names, size_t n)
{
    for (size_t i = 0; v && v->type == CT_IDENT && i < n; i++)
        if (strcmp(v->text, names[i]) == 0) return 1;
    return 0;
}

static const char *const size_keywords[] = {"xx-small", "x-small", "small", "medium", "large",
                                            "x-large", "xx-large", "xxx-large", "initial"};
#define SIZE_KEYWORDS_N (sizeof size_keywords / sizeof size_keywords[0])

/* The font size a block sets: font-size, or the size in a `font` shorthand, whichever comes
 * later. In "italic bold 0/0 a" the size is the first length, percentage, bare 0 or size
 * keyword before the '/'; a system font (`font: menu`) has a readable size of its own, which
 * *system says (the result is then NULL). */
static const value_token *font_size_token(const decl_state *st, int *system)
{
    static const char *const system_fonts[] = {"caption", "icon", "menu", "message-box",
                                               "small-caption", "status-bar"};
    const prop_value *fs = &st->prop[P_FONT_SIZE], *font = &st->prop[P_FONT];
    *system = 0;
    if (!font->set || (fs->set && fs->seq > font->seq)) return first_tok(st, P_FONT_SIZE);
    for (int i = 0; i < font->n; i++) {
        const value_token *v = &font->tok[i];
        if (v->type == CT_DELIM && v->delim == '/') break;
        if (v->type == CT_DIMENSION || v->type == CT_PERCENTAGE ||
            (v->type == CT_NUMBER && v->number == 0) ||
            ident_among(v, size_keywords, SIZE_KEYWORDS_N))
            return v;
        if (i == 0 && ident_among(v, system_fonts, sizeof system_fonts / sizeof system_fonts[0])) {
            *system = 1;
            return NULL;
        }
    }
    return NULL;
}

static int font_size_tiny(const decl_state *st)
{
    int system;
    const value_token *f = font_size_token(st, &system);
    double px;
    if (!f) return 0;
    if (f->type == CT_PERCENTAGE) return f->number < 12.5;
    return length_px(f, &px) && px < 2;
}

/* clip applies to absolutely positioned boxes only: a block that places the box in the flow
 * clips nothing (one that says nothing of position may rely on another rule for it). */
static int clip_hides(const decl_state *st)
{
    const prop_value *v = &st->prop[P_CLIP];
    const value_token *pos = first_tok(st, P_POSITION);
    if (!v->set || v->n == 0 || v->tok[0].type != CT_FUNCTION || strcmp(v->tok[0].text, "rect"))
        return 0;
    if (tok_ident_is(pos, "static") || tok_ident_is(pos, "relative") || tok_ident_is(pos, "sticky"))
        return 0;
    const value_token *args[4];
    double px[4];
    if (function_args(v, 0, args, 4) != 4) return 0;
    for (int i = 0; i < 4; i++)
        if (!length_px(args[i], &px[i])) return 0;
    /* rect(top, right, bottom, left): nothing shows when the box has no height or width. */
    return px[2] <= px[0] || px[1] <= px[3];
}

static int clip_path_hides(const decl_state *st)
{
    const prop_value *v = &st->prop[P_CLIP_PATH];
    if (!v->set || v->n == 0 || v->tok[0].type != CT_FUNCTION) return 0;
    const value_token *args[4];
    int n = function_args(v, 0, args, 4);
    const char *fn = v->tok[0].text;
    if (strcmp(fn, "inset") == 0) {
        if (n == 0) return 0;
        for (int i = 0; i < n; i++)
            if (args[i]->type != CT_PERCENTAGE || args[i]->number < 50) return 0;
        return 1;
    }
    if (strcmp(fn, "circle") == 0 || strcmp(fn, "ellipse") == 0) {
        int radii = strcmp(fn, "circle") == 0 ? 1 : 2;
        if (n < radii) return 0;
        for (int i = 0; i < radii; i++) {
            double px;
            int zero = (args[i]->type == CT_PERCENTAGE && args[i]->number == 0) ||
                       (length_px(args[i], &px) && px == 0);
            if (!zero) return 0;
        }
        return 1;
    }
    return 0;
}

static int overflow_hidden(const decl_state *st)
{
    static const prop_id ids[] = {P_OVERFLOW, P_OVERFLOW_X, P_OVERFLOW_Y};
    for (size_t i = 0; i < 3; i++) {
        const value_token *f = first_tok(st, ids[i]);
        if (tok_ident_is(f, "hidden") || tok_ident_is(f, "clip")) return 1;
    }
    return 0;
}

/* A padding that gives the box room: more than 1px, or any percentage (of a width not known
 * here). */
static int padding_opens(const value_token *v)
{
    double px;
    if (v && v->type == CT_PERCENTAGE) return v->number > 0;
    return v && (!length_px(v, &px) || px > 1); /* calc(), var(): not judged, room assumed */
}

/* Padding on one side (0 top, 1 right, 2 bottom, 3 left): the longhand, or the shorthand's
 * value for that side (1 to 4 values), whichever the block gives later. */
static const value_token *padding_side(const decl_state *st, int side)
{
    static const prop_id longhand[4] = {P_PADDING_TOP, P_PADDING_RIGHT, P_PADDING_BOTTOM,
                                        P_PADDING_LEFT};
    static const int of_n[5][4] = {{0}, {0, 0, 0, 0}, {0, 1, 0, 1}, {0, 1, 2, 1}, {0, 1, 2, 3}};
    const prop_value *l = &st->prop[longhand[side]], *sh = &st->prop[P_PADDING];
    int short_ok = sh->set && sh->n >= 1 && sh->n <= 4;
    if (l->set && l->n > 0 && (!short_ok || l->seq > sh->seq)) return &l->tok[0];
    return short_ok ? &sh->tok[of_n[sh->n][side]] : NULL;
}

/* Padding across the width (horizontal) or the height: a box of height 0 with a padding
 * below it is the aspect-ratio box of every responsive video embed, and shows what it holds. */
static int padding_axis_opens(const decl_state *st, int horizontal)
{
    return padding_opens(padding_side(st, horizontal ? 1 : 0)) ||
           padding_opens(padding_side(st, horizontal ? 3 : 2));
}

static int box_collapsed(const decl_state *st)
{
    double px;
    if (!overflow_hidden(st)) return 0;
    for (int horizontal = 0; horizontal <= 1; horizontal++) {
        prop_id size = horizontal ? P_WIDTH : P_HEIGHT, max = horizontal ? P_MAX_WIDTH : P_MAX_HEIGHT;
        if (((length_px(first_tok(st, size), &px) && px <= 1) ||
             (length_px(first_tok(st, max), &px) && px <= 1)) &&
            !padding_axis_opens(st, horizontal))
            return 1;
    }
    return 0;
}

static int far_negative(const value_token *v)
{
    double px;
    return length_px(v, &px) && px <= -1000;
}

/* Moved a long way off the page: positioned past its left, top, right or bottom edge, or
 * pulled out by a margin (margin: top right bottom left, 1 to 4 values). */
static int off_screen(const decl_state *st)
{
    const value_token *pos = first_tok(st, P_POSITION);
    const value_token *left = first_tok(st, P_LEFT), *top = first_tok(st, P_TOP);
    const value_token *right = first_tok(st, P_RIGHT), *bottom = first_tok(st, P_BOTTOM);
    double px;
    if ((tok_ident_is(pos, "absolute") || tok_ident_is(pos, "fixed")) &&
        (far_negative(left) || far_negative(top) || far_negative(right) || far_negative(bottom)))
        return 1;
    /* a relative box is moved from its place: left or top far back, right or bottom far on
     * (each counted only when its opposite is not given, which would win) */
    if (tok_ident_is(pos, "relative") &&
        (far_negative(left) || far_negative(top) ||
         (!left && length_px(right, &px) && px >= 1000) ||
         (!top && length_px(bottom, &px) && px >= 1000)))
        return 1;
    if (far_negative(first_tok(st, P_MARGIN_LEFT)) || far_negative(first_tok(st, P_MARGIN_TOP)))
        return 1;
    const prop_value *m = &st->prop[P_MARGIN];
    if (m->set && m->n >= 1 && m->n <= 4) {
        static const int left_of[5] = {0, 0, 1, 1, 3};
        if (far_negative(&m->tok[0]) || far_negative(&m->tok[left_of[m->n]])) return 1;
    }
    return 0;
}

/* Scaled to (almost) nothing, or translated a long way off the page. */
static int transform_hides(const decl_state *st)
{
    const prop_value *v = &st->prop[P_TRANSFORM];
    for (int i = 0; v->set && i < v->n; i++) {
        const value_token *f = &v->tok[i];
        if (f->type != CT_FUNCTION) continue;
        const value_token *args[3];
        int n = function_args(v, i, args, 3);
        int axes = 0;
        if (strcmp(f->text, "scale") == 0) axes = n;
        else if (strcmp(f->text, "scalex") == 0 || strcmp(f->text, "scaley") == 0) axes = 1;
        else if (strcmp(f->text, "scale3d") == 0) axes = n < 2 ? n : 2;
        for (int a = 0; a < axes && a < n; a++)
            if (args[a]->type == CT_NUMBER && fabs(args[a]->number) < 0.05) return 1;
        if (strncmp(f->text, "translate", 9) == 0)
            for (int a = 0; a < n && a < 2; a++)
                if (far_negative(args[a])) return 1;
    }
    const prop_value *s = &st->prop[P_SCALE];
    for (int i = 0; s->set && i < s->n && i < 2; i++)
        if ((s->tok[i].type == CT_NUMBER && fabs(s->tok[i].number) < 0.05) ||
            (s->tok[i].type == CT_PERCENTAGE && fabs(s->tok[i].number) < 5))
            return 1;
    return 0;
}

/* A text-shadow that draws the text where it stands, in a colour of its own that shows: a
 * shadow without a colour takes the text's (as transparent as the text), one moved or blurred
 * by more than SHADOW_NEAR_PX is not read as the text. Any colour token counts (hex, a colour
 * function, a name) unless it is transparent. */
#define SHADOW_NEAR_PX 50
static int text_shadow_paints(const decl_state *st)
{
    const prop_value *v = &st->prop[P_TEXT_SHADOW];
    static const char *const not_colours[] = {"none", "currentcolor", "inherit", "initial",
                                              "unset", "revert", "revert-layer"};
    if (!v->set) return 0;
    int near = 1, shows = 0, depth = 0;
    for (int i = 0; i <= v->n; i++) {
        if (i == v->n || (depth == 0 && v->tok[i].type == CT_COMMA)) { /* one shadow ends */
            if (near && shows) return 1;
            near = 1;
            shows = 0;
            continue;
        }
        const value_token *t = &v->tok[i];
        double px;
        if (t->type == CT_RPAREN && depth > 0) depth--;
        if (depth > 0) continue;
        if (t->type == CT_FUNCTION) depth++;
        if (length_px(t, &px)) {
            near &= fabs(px) <= SHADOW_NEAR_PX;
        } else if (t->type == CT_HASH || t->type == CT_FUNCTION ||
                   (t->type == CT_IDENT &&
                    !ident_among(t, not_colours, sizeof not_colours / sizeof not_colours[0]))) {
            if (t->type == CT_FUNCTION && (!strcmp(t->text, "calc") || !strcmp(t->text, "var")))
                near = 0; /* a length or colour not known here */
            else if (!colour_token_transparent(v, i))
                shows = 1;
        }
    }
    return 0;
}

/* The text's shapes painted by something other than its colour: a background clipped to them
 * (gradient text), or a shadow of a colour that shows (`color: transparent; text-shadow: 0 0
 * 0 red` recolours emoji). The text shows whatever colour it has. */
static int background_clips_text(const decl_state *st)
{
    return tok_ident_is(first_tok(st, P_BACKGROUND_CLIP), "text") ||
           tok_ident_is(first_tok(st, P_WEBKIT_BACKGROUND_CLIP), "text") ||
           text_shadow_paints(st);
}

/* The text painted invisibly: transparent, or in its own background's colour. A
 * -webkit-text-fill-color paints instead of color when set. */
static int text_paint_hidden(const decl_state *st)
{
    const prop_value *fill = &st->prop[P_TEXT_FILL];
    if (background_clips_text(st)) return 0;
    if (fill->set && fill->n > 0 && !tok_ident_is(&fill->tok[0], "currentcolor"))
        return colour_transparent(fill);
    return colour_transparent(&st->prop[P_COLOR]) || colour_matches_background(st);
}

/* zoom under 5% (0 is read as 100%). */
static int zoom_tiny(const decl_state *st)
{
    const value_token *z = first_tok(st, P_ZOOM);
    if (!z) return 0;
    if (z->type == CT_NUMBER) return z->number > 0 && z->number < 0.05;
    return z->type == CT_PERCENTAGE && z->number > 0 && z->number < 5;
}

/* A font size that does not depend on the parent's: an absolute length, rem, or a keyword. */
static int font_size_readable(const decl_state *st)
{
    int system;
    const value_token *f = font_size_token(st, &system);
    double px;
    if (!f) return system;
    if (f->type == CT_IDENT) return ident_among(f, size_keywords, SIZE_KEYWORDS_N);
    if (f->type != CT_DIMENSION || !strcmp(f->text, "em") || !strcmp(f->text, "ex") ||
        !strcmp(f->text, "ch"))
        return 0; /* relative to a parent whose size may be 0 */
    return length_px(f, &px) && px >= 2;
}

/* A colour of its own, not taken from the parent (any colour that is not transparent: whether
 * it reads against the background is not known here). */
static int colour_given(const prop_value *v)
{
    static const char *const from_parent[] = {"currentcolor", "inherit", "unset", "revert",
                                              "revert-layer"};
    if (!v->set || v->n == 0) return 0;
    const value_token *f = &v->tok[0];
    if (f->type == CT_HASH || f->type == CT_FUNCTION) return 1;
    if (f->type != CT_IDENT) return 0;
    return !ident_among(f, from_parent, sizeof from_parent / sizeof from_parent[0]);
}

/* ---- what hides, by the properties that can undo it ------------------------------------------
 * A block's hiding is sorted into groups of properties: a rule that wins over it in the cascade
 * and sets a property of the same group to a value that does not hide undoes it for the
 * elements both match (Tailwind's `hidden md:flex`, Bootstrap's `d-none d-md-block`,
 * `sr-only md:not-sr-only`, gradient text's `text-transparent bg-clip-text`). */
enum {
    G_DISPLAY = 1u << 0, G_OPACITY = 1u << 1, G_CLIP = 1u << 2, G_BOX = 1u << 3,
    G_OFFSCREEN = 1u << 4, G_TRANSFORM = 1u << 5, G_FILTER = 1u << 6, G_CONTENT_VIS = 1u << 7,
    G_INDENT = 1u << 8,
    /* the inherited ones, in the order of the CSS_SOFT_* and CSS_SHOW_* bits */
    G_FONT = 1u << 9, G_VISIBILITY = 1u << 10, G_COLOUR = 1u << 11,
    /* not a group of its own: a background clipped to the text, or a shadow drawn in place,
     * paints it whatever the colour and whichever rule sets which (different properties, both
     * apply) */
    G_TEXT_CLIP = 1u << 12,
};
#define G_COUNT 12
#define G_SOFT_SHIFT 9
#define G_SOFT (G_FONT | G_VISIBILITY | G_COLOUR)

_Static_assert(CSS_SOFT_FONT == 1u << CSS_SOFT_SHIFT && CSS_SHOW_FONT == 1u << CSS_SHOW_SHIFT &&
                   CSS_SHOW_COLOUR == CSS_SOFT_COLOUR << (CSS_SHOW_SHIFT - CSS_SOFT_SHIFT) &&
                   G_COLOUR == G_FONT << 2 && G_SOFT >> G_SOFT_SHIFT == 7,
               "soft and show flags are two three-bit masks in the order of the soft groups");

/* The groups each property belongs to (its !important makes the group's hiding or undoing
 * important). */
static const uint16_t prop_groups[P_COUNT] = {
    [P_DISPLAY] = G_DISPLAY, [P_VISIBILITY] = G_VISIBILITY, [P_OPACITY] = G_OPACITY,
    [P_FONT_SIZE] = G_FONT, [P_FONT] = G_FONT, [P_COLOR] = G_COLOUR, [P_TEXT_FILL] = G_COLOUR,
    [P_BACKGROUND] = G_COLOUR, [P_BACKGROUND_COLOR] = G_COLOUR,
    [P_BACKGROUND_CLIP] = G_COLOUR, [P_WEBKIT_BACKGROUND_CLIP] = G_COLOUR,
    [P_TEXT_SHADOW] = G_COLOUR,
    [P_CLIP] = G_CLIP, [P_CLIP_PATH] = G_CLIP, [P_POSITION] = G_CLIP | G_OFFSCREEN,
    [P_WIDTH] = G_BOX, [P_HEIGHT] = G_BOX, [P_MAX_WIDTH] = G_BOX, [P_MAX_HEIGHT] = G_BOX,
    [P_OVERFLOW] = G_BOX, [P_OVERFLOW_X] = G_BOX, [P_OVERFLOW_Y] = G_BOX,
    [P_PADDING] = G_BOX, [P_PADDING_TOP] = G_BOX, [P_PADDING_RIGHT] = G_BOX,
    [P_PADDING_BOTTOM] = G_BOX, [P_PADDING_LEFT] = G_BOX,
    [P_LEFT] = G_OFFSCREEN, [P_TOP] = G_OFFSCREEN, [P_RIGHT] = G_OFFSCREEN,
    [P_BOTTOM] = G_OFFSCREEN, [P_MARGIN] = G_OFFSCREEN, [P_MARGIN_LEFT] = G_OFFSCREEN,
    [P_MARGIN_TOP] = G_OFFSCREEN, [P_TRANSFORM] = G_TRANSFORM, [P_SCALE] = G_TRANSFORM,
    [P_ZOOM] = G_TRANSFORM, [P_FILTER] = G_FILTER, [P_CONTENT_VISIBILITY] = G_CONTENT_VIS,
    [P_TEXT_INDENT] = G_INDENT,
};

static int prop_given(const decl_state *st, prop_id id)
{
    return st->prop[id].set && st->prop[id].n > 0;
}

/* The groups in which a block hides its element. */
static unsigned declarations_causes(const decl_state *st)
{
    unsigned g = 0;
    double px;
    const value_token *op = first_tok(st, P_OPACITY), *v = first_tok(st, P_VISIBILITY);
    if (tok_ident_is(first_tok(st, P_DISPLAY), "none")) g |= G_DISPLAY;
    if (op && alpha_is_zero(op)) g |= G_OPACITY;
    if (clip_hides(st) || clip_path_hides(st)) g |= G_CLIP;
    if (box_collapsed(st)) g |= G_BOX;
    if (off_screen(st)) g |= G_OFFSCREEN;
    if (transform_hides(st) || zoom_tiny(st)) g |= G_TRANSFORM;
    if (filter_transparent(st)) g |= G_FILTER;
    if (tok_ident_is(first_tok(st, P_CONTENT_VISIBILITY), "hidden")) g |= G_CONTENT_VIS;
    if (length_px(first_tok(st, P_TEXT_INDENT), &px) && px <= -1000) g |= G_INDENT;
    if (font_size_tiny(st)) g |= G_FONT;
    if (tok_ident_is(v, "hidden") || tok_ident_is(v, "collapse")) g |= G_VISIBILITY;
    if (text_paint_hidden(st)) g |= G_COLOUR;
    return g;
}

/* A width or height that leaves the box room to show its text. */
static int dimension_open(const decl_state *st, prop_id id)
{
    double px;
    return prop_given(st, id) && !(length_px(first_tok(st, id), &px) && px <= 1);
}

/* The groups in which a block sets a property again to a value that does not hide (a value
 * nothing here judges counts: an undoing missed would lose text a person sees). */
static unsigned declarations_cancels(const decl_state *st, unsigned causes)
{
    unsigned g = 0;
    const value_token *pos = first_tok(st, P_POSITION);
    int in_flow = tok_ident_is(pos, "static") || tok_ident_is(pos, "relative") ||
                  tok_ident_is(pos, "sticky");
    if (prop_given(st, P_DISPLAY)) g |= G_DISPLAY;
    if (prop_given(st, P_OPACITY)) g |= G_OPACITY;
    if (prop_given(st, P_CLIP) || prop_given(st, P_CLIP_PATH) || in_flow) g |= G_CLIP;
    if (((prop_given(st, P_OVERFLOW) || prop_given(st, P_OVERFLOW_X) ||
          prop_given(st, P_OVERFLOW_Y)) && !overflow_hidden(st)) ||
        (dimension_open(st, P_WIDTH) && dimension_open(st, P_HEIGHT)) ||
        padding_axis_opens(st, 0) || padding_axis_opens(st, 1))
        g |= G_BOX;
    if (in_flow || prop_given(st, P_LEFT) || prop_given(st, P_TOP) || prop_given(st, P_RIGHT) ||
        prop_given(st, P_BOTTOM) || prop_given(st, P_MARGIN) || prop_given(st, P_MARGIN_LEFT) ||
        prop_given(st, P_MARGIN_TOP))
        g |= G_OFFSCREEN;
    if (prop_given(st, P_TRANSFORM) || prop_given(st, P_SCALE) || prop_given(st, P_ZOOM))
        g |= G_TRANSFORM;
    if (prop_given(st, P_FILTER)) g |= G_FILTER;
    if (prop_given(st, P_CONTENT_VISIBILITY)) g |= G_CONTENT_VIS;
    if (prop_given(st, P_TEXT_INDENT)) g |= G_INDENT;
    if (prop_given(st, P_FONT_SIZE) || prop_given(st, P_FONT)) g |= G_FONT;
    if (tok_ident_is(first_tok(st, P_VISIBILITY), "visible")) g |= G_VISIBILITY;
    if (prop_given(st, P_COLOR) || prop_given(st, P_TEXT_FILL) || background_clips_text(st))
        g |= G_COLOUR;
    if (background_clips_text(st)) g |= G_TEXT_CLIP;
    return g & ~causes;
}

/* For a descendant of softly hidden content, the inherited properties set again to something
 * readable there (CSS_SHOW_*): stricter than undoing, since a relative size of a parent whose
 * size is 0 is still 0. */
static unsigned declarations_shows(const decl_state *st, unsigned causes)
{
    unsigned f = 0;
    if (!(causes & G_FONT) && font_size_readable(st)) f |= CSS_SHOW_FONT;
    if (!(causes & G_VISIBILITY) && tok_ident_is(first_tok(st, P_VISIBILITY), "visible"))
        f |= CSS_SHOW_VISIBILITY;
    if (!(causes & G_COLOUR) && (colour_given(&st->prop[P_COLOR]) ||
                                 colour_given(&st->prop[P_TEXT_FILL]) || background_clips_text(st)))
        f |= CSS_SHOW_COLOUR;
    return f;
}

static unsigned declarations_important(const decl_state *st)
{
    unsigned g = 0;
    for (uint64_t m = st->set_mask; m; m &= m - 1) {
        int i = __builtin_ctzll(m);
        if (st->prop[i].important) g |= prop_groups[i];
    }
    return g;
}

/* ---- animations that end showing -----------------------------------------------------------
 * `opacity:0; animation: fade-in 1s forwards` is how landing pages fade their text in: a
 * person sees it a moment later, as the last keyframe has it. Such an animation undoes its own
 * block's hiding (an animation's values override normal declarations) when it ends within
 * ANIM_SECONDS_MAX, keeps its last frame (fill-mode forwards or both), runs forwards a whole
 * number of times and is not paused. Which groups the last frame shows is up to its
 * @keyframes, looked up when an element is judged (they may come later in the sheet). */
#define ANIM_SECONDS_MAX 10.0

typedef struct anim_item {
    const value_token *name; /* NULL: none */
    double duration, delay, count;
    int keeps_end, forwards, paused;
} anim_item;

static uint64_t name_hash(const char *p, size_t n);

/* The tokens [*a, *b) of the i-th comma-separated item of v (a list shorter than i repeats,
 * as CSS repeats the lists of animation longhands); 0 when v is empty. */
static int list_item(const prop_value *v, int i, int *a, int *b)
{
    int items = 1, depth = 0;
    for (int k = 0; k < v->n; k++) {
        if (v->tok[k].type == CT_FUNCTION) depth++;
        else if (v->tok[k].type == CT_RPAREN && depth > 0) depth--;
        else if (v->tok[k].type == CT_COMMA && depth == 0) items++;
    }
    if (v->n == 0) return 0;
    i %= items;
    *a = 0;
    depth = 0;
    for (int k = 0; k <= v->n; k++) {
        if (k == v->n || (v->tok[k].type == CT_COMMA && depth == 0)) {
            if (i-- == 0) {
                *b = k;
                return 1;
            }
            *a = k + 1;
        } else if (v->tok[k].type == CT_FUNCTION) {
            depth++;
        } else if (v->tok[k].type == CT_RPAREN && depth > 0) {
            depth--;
        }
    }
    return 0;
}

static int time_seconds(const value_token *t, double *sec)
{
    if (t->type != CT_DIMENSION) return 0;
    if (strcmp(t->text, "s") == 0) *sec = t->number;
    else if (strcmp(t->text, "ms") == 0) *sec = t->number / 1000;
    else return 0;
    return 1;
}

/* Reads one keyword or value of an animation into it; prop is the longhand it is for, or
 * P_ANIMATION for the shorthand (where a time is the duration, then the delay). */
static void anim_read(anim_item *it, const value_token *t, prop_id prop, int *times)
{
    /* keywords of the shorthand that are not names (timing functions, play state) */
    static const char *const keywords[] = {"linear", "ease", "ease-in", "ease-out", "ease-in-out",
                                           "step-start", "step-end", "running"};
    double sec;
    if (time_seconds(t, &sec)) {
        if (prop == P_ANIMATION_DELAY || (prop == P_ANIMATION && (*times)++ == 1)) it->delay = sec;
        else it->duration = sec;
    } else if (t->type == CT_NUMBER) {
        it->count = t->number;
    } else if (t->type == CT_STRING) {
        it->name = t;
    } else if (t->type == CT_IDENT) {
        if (strcmp(t->text, "infinite") == 0) it->count = INFINITY;
        else if (strcmp(t->text, "forwards") == 0 || strcmp(t->text, "both") == 0) it->keeps_end = 1;
        else if (strcmp(t->text, "backwards") == 0) it->keeps_end = 0;
        else if (strcmp(t->text, "paused") == 0) it->paused = 1;
        else if (strcmp(t->text, "normal") == 0) it->forwards = 1;
        else if (strcmp(t->text, "reverse") == 0 || strcmp(t->text, "alternate") == 0 ||
                 strcmp(t->text, "alternate-reverse") == 0)
            it->forwards = 0;
        else if (strcmp(t->text, "none") == 0) {
            if (prop == P_ANIMATION_FILL_MODE) it->keeps_end = 0;
            else if (prop == P_ANIMATION_NAME || prop == P_ANIMATION) it->name = NULL;
        } else if (!ident_among(t, keywords, sizeof keywords / sizeof keywords[0]) &&
                   (prop == P_ANIMATION_NAME || (prop == P_ANIMATION && !it->name)))
            it->name = t;
    }
}

/* Item i of the block's animations: the shorthand's, then each longhand given after it. */
static void anim_item_of(const decl_state *st, int i, anim_item *it)
{
    static const prop_id longhands[] = {P_ANIMATION_NAME, P_ANIMATION_DURATION,
                                        P_ANIMATION_DELAY, P_ANIMATION_FILL_MODE,
                                        P_ANIMATION_DIRECTION, P_ANIMATION_ITERATION_COUNT,
                                        P_ANIMATION_PLAY_STATE};
    const prop_value *sh = &st->prop[P_ANIMATION];
    int a, b, times = 0;
    *it = (anim_item){.count = 1, .forwards = 1};
    if (sh->set && list_item(sh, i, &a, &b))
        for (int k = a; k < b; k++) {
            if (sh->tok[k].type == CT_FUNCTION) { /* cubic-bezier(), steps(): not read */
                while (k < b && sh->tok[k].type != CT_RPAREN) k++;
                continue;
            }
            anim_read(it, &sh->tok[k], P_ANIMATION, &times);
        }
    for (size_t l = 0; l < sizeof longhands / sizeof longhands[0]; l++) {
        const prop_value *v = &st->prop[longhands[l]];
        if (!v->set || (sh->set && sh->seq > v->seq) || !list_item(v, i, &a, &b) || b - a != 1)
            continue;
        if (longhands[l] == P_ANIMATION_NAME) it->name = NULL;
        anim_read(it, &v->tok[a], longhands[l], &times);
    }
}

/* The names (hashed) of the block's animations that end soon showing their last frame. */
static int block_animations(const decl_state *st, uint64_t out[CSS_ANIM_MAX])
{
    const prop_value *names = st->prop[P_ANIMATION_NAME].set &&
                                      (!st->prop[P_ANIMATION].set ||
                                       st->prop[P_ANIMATION_NAME].seq > st->prop[P_ANIMATION].seq)
                                  ? &st->prop[P_ANIMATION_NAME]
                                  : &st->prop[P_ANIMATION];
    int n = 0, a, b;
    if (!names->set) return 0;
    for (int i = 0; n < CSS_ANIM_MAX && list_item(names, i, &a, &b); i++) {
        anim_item it;
        anim_item_of(st, i, &it);
        if (it.name && it.keeps_end && it.forwards && !it.paused && isfinite(it.count) &&
            it.count >= 1 && it.count <= 1e6 && it.count == (double)(long)it.count &&
            it.duration >= 0 &&
            it.duration * it.count + (it.delay > 0 ? it.delay : 0) <= ANIM_SECONDS_MAX)
            out[n++] = name_hash(it.name->text, strlen(it.name->text));
        if (b == names->n) break; /* the last item */
    }
    return n;
}

/* A block judged: the groups it hides and undoes, which are !important, and its flags. */
typedef struct judgement {
    unsigned causes, cancels, important;
    unsigned flags; /* CSS_HIDES, or the CSS_SOFT_* and CSS_SHOW_* */
    uint64_t anim[CSS_ANIM_MAX]; /* where it hides: block_animations() */
    int nanim;
} judgement;

/* undoing is asked only when some_undo: most blocks of a sheet are judged for hiding only */
static void declarations_judge(const decl_state *st, judgement *j, int some_undo)
{
    if (!st->set_mask) {
        memset(j, 0, sizeof *j);
        return;
    }
    j->causes = declarations_causes(st);
    j->cancels = j->causes || some_undo ? declarations_cancels(st, j->causes) : 0;
    j->important = declarations_important(st);
    j->nanim = j->causes ? block_animations(st, j->anim) : 0;
    if (j->causes & ~G_SOFT)
        j->flags = CSS_HIDES;
    else
        j->flags = ((j->causes >> G_SOFT_SHIFT) << CSS_SOFT_SHIFT) |
                   declarations_shows(st, j->causes);
}

unsigned css_declarations_flags(const char *decls, size_t len)
{
    return css_declarations_flags_text(decls, len, NULL, NULL);
}

unsigned css_declarations_flags_text(const char *decls, size_t len, css_text_fn fn, void *ctx)
{
    css_ctx c;
    decl_state *st;
    unsigned flags;
    ctx_init(&c, decls, len);
    st = ctx_decls(&c);
    c.text_fn = fn;
    c.text_ctx = ctx;
    parse_declarations(&c, 0, st);
    flags = c.flags;
    if (st) {
        judgement j;
        declarations_judge(st, &j, 1);
        flags |= j.flags;
    }
    ctx_done(&c);
    return flags;
}

void css_style_judge(const char *decls, size_t len, css_style *out)
{
    css_ctx c;
    decl_state *st;
    memset(out, 0, sizeof *out);
    ctx_init(&c, decls, len);
    st = ctx_decls(&c);
    parse_declarations(&c, 0, st);
    if (st) {
        judgement j;
        declarations_judge(st, &j, 1);
        out->flags = j.flags;
        out->causes = j.causes;
        out->cancels = j.cancels;
        out->important = j.important;
        for (int i = 0; i < j.nanim; i++) out->anim[i] = j.anim[i];
        out->nanim = (unsigned)j.nanim;
    }
    ctx_done(&c);
}

/* ---- style sheets -------------------------------------------------------------------------- */

/* Where a rule stands in the cascade: !important, then specificity, then order of appearance
 * (a style attribute above every normal rule, an important one above all). */
#define KEY_IMPORTANT(level) ((uint64_t)(level) << 62)
#define SPEC_PART_MAX 1023u

/* An attribute condition of a hiding rule's subject: [name], [name=value], ~=, |=, ^=, $=, *=,
 * with the `i` flag for a value compared without ASCII case. */
typedef enum { AC_EXISTS, AC_EQ, AC_WORD, AC_DASH, AC_PREFIX, AC_SUFFIX, AC_SUBSTR } attr_op;
typedef struct attr_cond {
    char name[32]; /* lower case: HTML attribute names are */
    char value[NAME_MAX_LEN];
    uint8_t op, icase;
} attr_cond;

/* A :not() of a hiding rule's subject: one simple selector (a list is one per item). */
typedef enum { NOT_TAG, NOT_ID, NOT_CLASS, NOT_ATTR } not_kind;
typedef struct not_cond {
    uint8_t kind;
    char name[NAME_MAX_LEN]; /* the tag (lower case), id or class */
    attr_cond attr;          /* NOT_ATTR */
} not_cond;

typedef struct sheet_rule {
    unsigned flags;        /* the judgement's flags: CSS_HIDES or CSS_SOFT_*, and CSS_SHOW_* */
    uint16_t causes, cancels, important; /* groups (see declarations_causes) */
    uint32_t spec, order;  /* specificity (ids, classes, tag: 10 bits each) and place */
    char tag[32];
    char id[NAME_MAX_LEN];
    char cls[SELECTOR_CLASSES_MAX][NAME_MAX_LEN];
    int ncls;
    attr_cond attr[SELECTOR_ATTRS_MAX];
    int nattr;
    not_cond neg[SELECTOR_NOT_MAX];
    int nneg;
    uint8_t first_child; /* :first-child */
    uint8_t has_nth;     /* :nth-child(an+b) */
    int32_t nth_a, nth_b;
    uint8_t has_nth_type; /* :nth-of-type(an+b), :first-of-type */
    int32_t type_a, type_b;
    int8_t sib;          /* a sibling before it (`x + it`, `x ~ it`): the sheet's sib[sib]; -1 */
    uint8_t sib_next;    /* '+': the sibling just before; else any before */
    uint64_t anim[CSS_ANIM_MAX]; /* animations that may show it again (judgement.anim) */
    int nanim;
    uint32_t anc;          /* its ancestor compounds: the sheet's anc[anc .. anc + nanc) */
    uint8_t nanc;
    uint8_t rooted;        /* `body > ...`: the first compound is a child of body */
} sheet_rule;

/* A rule that only undoes (sets a property again without hiding), kept compact: there may be
 * many (every `display:block` of a framework). Names are kept as 64-bit hashes (0: none). */
typedef struct undo_rule {
    uint64_t tag, id, cls[SELECTOR_CLASSES_MAX];
    uint32_t spec, order;
    uint16_t cancels, important, shows; /* shows: CSS_SHOW_* */
    uint8_t ncls, nanc, rooted, nattr, first_child, nneg, sib_next, has_nth, has_nth_type;
    int32_t nth_a, nth_b, type_a, type_b;
    int8_t sib;    /* as sheet_rule's */
    uint32_t anc;  /* as sheet_rule's */
    uint32_t attr; /* its attribute conditions: the sheet's uattr[attr .. attr + nattr) */
    uint32_t neg;  /* its :not()s: the sheet's uneg[neg .. neg + nneg) */
} undo_rule;
#define UATTR_MAX 1024 /* attribute conditions of a document's undoing rules */
#define UNEG_MAX 1024  /* and their :not()s */
#define SIBLINGS_MAX 64 /* sibling compounds of a document's rules: one bit each */

/* A compound a selector names before its subject (`.a` and `div` in `.a > div p`), its names
 * NUL-terminated in the sheet's anc_text (offset 0: none; the ncls classes one after another).
 * child: joined to the compound after it by '>', else by a descendant combinator. */
typedef struct anc_compound {
    uint32_t tag, id, cls;
    uint8_t ncls, child;
    uint16_t cond; /* its other conditions: the sheet's anc_cond[cond - 1]; 0: none */
} anc_compound;
#define ANC_MAX 4096             /* ancestor compounds a document's rules keep */
#define ANC_COND_MAX 64          /* of them with conditions beyond names (1 KiB or so each) */
#define ANC_TEXT_MAX (64 * 1024) /* bytes of their names */

/* An @keyframes: the groups its last frame sets to values that do not hide, and the CSS_SHOW_*
 * flags of that frame. The last of a name counts, as in CSS. */
typedef struct keyframes {
    uint64_t name;
    uint16_t cancels, shows;
} keyframes;
#define KEYFRAMES_MAX 64 /* a document's; past it, animations show nothing again */

#define SHOWN_ATTRS_MAX 16
#define PAST_BLOCKS_MAX 32
#define PAST_BYTES_MAX (64 * 1024)
struct css_sheet {
    sheet_rule *rules; /* rules that hide, hard or soft */
    size_t n, max, rules_cap;
    undo_rule *undo;   /* rules that only undo, up to max_undo */
    size_t nundo, undo_cap, max_undo, undo_before_block; /* nundo when the last block began */
    unsigned want;      /* groups whose undoing rules are kept (some kept rule hides by them) */
    unsigned block_causes; /* groups the current block's kept hiding rules hide by */
    unsigned undo_lost; /* groups with an undoing rule not kept (past max_undo) */
    keyframes kf[KEYFRAMES_MAX];
    size_t nkf, nkf_before_block;
    uint32_t order_base; /* order of the current block's first byte */
    int counts_types;    /* a kept rule asks for :nth-of-type() */
    /* Earlier blocks, kept (up to PAST_BLOCKS_MAX, PAST_BYTES_MAX bytes) to be read again for
     * the undoing rules of a group first wanted later; blocks past the bound are not. */
    struct past_block { uint32_t off, len, base; } past[PAST_BLOCKS_MAX];
    size_t npast;
    char *past_text;
    size_t past_len, past_cap;
    int past_last; /* the last block was kept there (css_sheet_truncate forgets it) */
    /* attribute names `content: attr(name)` shows as text; past SHOWN_ATTRS_MAX, every one */
    char shown[SHOWN_ATTRS_MAX][NAME_MAX_LEN];
    size_t nshown;
    int shown_all;
    int shown_frozen; /* css_sheet_freeze_shown_attrs(): a new name drops its block */
    /* the ancestor compounds of kept rules (anc_compound), and their counts when the last
     * block began: a dropped block's go with its rules */
    anc_compound *anc;
    size_t nanc, anc_cap, nanc_before_block;
    /* the conditions of ancestor compounds that have more than names (`li:first-child`,
     * `div:not(.x)`, `[data-k]`, `h2 ~ div`), as compounds of their own */
    struct sheet_rule *anc_cond;
    size_t nanc_cond, nanc_cond_before_block;
    int anc_attrs; /* some rule puts an attribute condition on an ancestor */
    attr_cond *uattr; /* the undoing rules' attribute conditions (UATTR_MAX) */
    size_t nuattr, uattr_cap, nuattr_before_block;
    not_cond *uneg;   /* and their :not()s (UNEG_MAX) */
    size_t nuneg, uneg_cap, nuneg_before_block;
    /* compounds a rule names as an element's sibling before it (`.a + .b`: .a), one bit each
     * in the marks the filter keeps per parent (css_sheet_sibling_marks) */
    sheet_rule *sib;
    size_t nsib, nsib_before_block;
    char *anc_text;
    size_t anc_text_len, anc_text_cap, anc_text_before_block;
};

typedef struct prelude_token {
    css_token_type type;
    uint32_t delim;
    int hash_is_id;
    char text[NAME_MAX_LEN]; /* case kept: ids and classes are case-sensitive */
    int truncated;
    uint32_t start, end; /* in the block's source */
} prelude_token;

typedef struct prelude {
    prelude_token tok[PRELUDE_TOKENS_MAX];
    int n;
    int overflow;
    const unsigned char *src; /* the block's source (an+b arguments are read from it) */
} prelude;

/* The context's prelude, emptied (tokens past n are never read, so they are not cleared);
 * NULL on allocation failure. */
static prelude *ctx_prelude(css_ctx *c)
{
    if (!c->prelude) c->prelude = malloc(sizeof *c->prelude);
    if (c->prelude) {
        c->prelude->n = 0;
        c->prelude->overflow = 0;
    }
    return c->prelude;
}

static void prelude_push(prelude *p, const css_token *t)
{
    if (p->n == PRELUDE_TOKENS_MAX) {
        p->overflow = 1;
        return;
    }
    prelude_token *d = &p->tok[p->n++];
    d->type = t->type;
    d->delim = t->delim;
    d->hash_is_id = t->hash_is_id;
    d->truncated = t->text_len >= sizeof d->text;
    /* token text holds no NUL byte (the lexer writes U+FFFD for one) */
    size_t n = d->truncated ? sizeof d->text - 1 : t->text_len;
    memcpy(d->text, t->text, n);
    d->text[n] = '\0';
    d->start = (uint32_t)t->start;
}

static int is_combinator(const prelude_token *t)
{
    return t->type == CT_WHITESPACE ||
           (t->type == CT_DELIM && (t->delim == '>' || t->delim == '+' || t->delim == '~'));
}

/* An attribute condition from tokens [i, b), i at its '[': the index of its ']', or -1 when it
 * is not one read here (a namespace, a bound, a malformed one). */
static int attr_cond_parse(const prelude *p, int i, int b, attr_cond *c)
{
    static const char ops[] = "~|^$*";
    static const attr_op op_of[] = {AC_WORD, AC_DASH, AC_PREFIX, AC_SUFFIX, AC_SUBSTR};
    memset(c, 0, sizeof *c);
    i++;
#define SKIP_WS() while (i < b && p->tok[i].type == CT_WHITESPACE) i++
    SKIP_WS();
    if (i >= b || p->tok[i].type != CT_IDENT || p->tok[i].truncated ||
        strlen(p->tok[i].text) >= sizeof c->name)
        return -1;
    ascii_lower(c->name, p->tok[i].text, sizeof c->name);
    i++;
    SKIP_WS();
    if (i < b && p->tok[i].type == CT_RBRACKET) return i; /* [name] */
    if (i < b && p->tok[i].type == CT_DELIM && p->tok[i].delim < 128 && p->tok[i].delim &&
        strchr(ops, (int)p->tok[i].delim)) {
        c->op = (uint8_t)op_of[strchr(ops, (int)p->tok[i].delim) - ops];
        i++;
    } else {
        c->op = AC_EQ;
    }
    if (i >= b || p->tok[i].type != CT_DELIM || p->tok[i].delim != '=') return -1;
    i++;
    SKIP_WS();
    if (i >= b || (p->tok[i].type != CT_IDENT && p->tok[i].type != CT_STRING) ||
        p->tok[i].truncated)
        return -1;
    snprintf(c->value, sizeof c->value, "%s", p->tok[i].text);
    i++;
    SKIP_WS();
    if (i < b && p->tok[i].type == CT_IDENT && (strcmp(p->tok[i].text, "i") == 0 ||
                                                strcmp(p->tok[i].text, "I") == 0 ||
                                                strcmp(p->tok[i].text, "s") == 0 ||
                                                strcmp(p->tok[i].text, "S") == 0)) {
        c->icase = p->tok[i].text[0] == 'i' || p->tok[i].text[0] == 'I';
        i++;
        SKIP_WS();
    }
#undef SKIP_WS
    return i < b && p->tok[i].type == CT_RBRACKET ? i : -1;
}

/* Digits at *s (at most 6, none is 0 digits): their value, *s moved past them. */
static int32_t digits_read(const char **s, int *count)
{
    int32_t v = 0;
    *count = 0;
    while (**s >= '0' && **s <= '9') {
        if (++*count > 6) return 0;
        v = v * 10 + (**s - '0');
        (*s)++;
    }
    return v;
}

/* The an+b of :nth-child() from its argument's source text (n bytes): `odd`, `even`, `b`,
 * `an`, `an+b` with optional signs, spaces only around the sign before b. 0 when not one. */
static int nth_read(const char *src, size_t n, int32_t *a, int32_t *b)
{
    char t[48];
    while (n && css_space(*src)) src++, n--;
    while (n && css_space(src[n - 1])) n--;
    if (n == 0 || n >= sizeof t) return 0;
    for (size_t i = 0; i < n; i++) t[i] = (char)ascii_tolower((unsigned char)src[i]);
    t[n] = '\0';
    if (strcmp(t, "odd") == 0) return *a = 2, *b = 1, 1;
    if (strcmp(t, "even") == 0) return *a = 2, *b = 0, 1;
    const char *s = t;
    int sign = 1, count;
    if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
    int32_t v = digits_read(&s, &count);
    if (*s != 'n') { /* b alone */
        if (count == 0 || *s) return 0;
        return *a = 0, *b = sign * v, 1;
    }
    *a = sign * (count ? v : 1);
    s++;
    while (css_space(*s)) s++;
    if (!*s) return *b = 0, 1;
    if (*s != '+' && *s != '-') return 0;
    sign = *s++ == '-' ? -1 : 1;
    while (css_space(*s)) s++;
    v = digits_read(&s, &count);
    if (count == 0 || *s) return 0;
    *b = sign * v;
    return 1;
}

/* Whether a place (from 1) is an+b for some n >= 0. */
static int nth_matches(int32_t a, int32_t b, uint32_t index)
{
    int64_t d = (int64_t)index - b;
    if (a == 0) return d == 0;
    return d % a == 0 && d / a >= 0;
}

/* 1 when t is of the given type and its name, in any case, is one of names[0..n). */
static int token_named(const prelude_token *t, css_token_type type, const char *const *names,
                       size_t n)
{
    char w[16];
    if (t->type != type) return 0;
    ascii_lower(w, t->text, sizeof w);
    for (size_t k = 0; k < n; k++)
        if (strcmp(w, names[k]) == 0) return 1;
    return 0;
}

/* The token closing the function, parenthesis or bracket opened at i (b when none does). */
static int block_close(const prelude *p, int i, int b)
{
    int depth = 0;
    for (; i < b; i++) {
        css_token_type t = p->tok[i].type;
        if (t == CT_FUNCTION || t == CT_LPAREN || t == CT_LBRACKET) depth++;
        else if ((t == CT_RPAREN || t == CT_RBRACKET) && --depth == 0) return i;
    }
    return b;
}

typedef struct spec_parts {
    unsigned ids, classes, tags;
} spec_parts;

static uint32_t spec_pack(spec_parts c)
{
    return (c.ids < SPEC_PART_MAX ? c.ids : SPEC_PART_MAX) << 20 |
           (c.classes < SPEC_PART_MAX ? c.classes : SPEC_PART_MAX) << 10 |
           (c.tags < SPEC_PART_MAX ? c.tags : SPEC_PART_MAX);
}

static uint32_t selector_list_spec(const prelude *p, int a, int b, int nest);

/* Adds the specificity of the pseudo-class or pseudo-element at the colon i to c; returns the
 * index of its last token. :not(), :is() and :has() count as the most specific selector of
 * their argument and :where() as nothing (Selectors 4, section 17); any other pseudo-class
 * counts as a class, a pseudo-element (and the four legacy ones written with one colon) as a
 * type. */
static int pseudo_spec(const prelude *p, int i, int b, spec_parts *c, int nest)
{
    static const char *const legacy_elements[] = {"before", "after", "first-line",
                                                  "first-letter"};
    static const char *const by_argument[] = {"not", "is", "matches", "has", "-webkit-any"};
    static const char *const nothing[] = {"where"};
    int element = i + 1 < b && p->tok[i + 1].type == CT_COLON;
    if (element) i++;
    if (i + 1 >= b) return i;
    const prelude_token *n = &p->tok[i + 1];
    element |= token_named(n, CT_IDENT, legacy_elements, 4);
    int end = n->type == CT_FUNCTION ? block_close(p, i + 1, b) : i + 1;
    if (element) {
        c->tags++;
    } else if (nest < 8 && token_named(n, CT_FUNCTION, by_argument, 5)) {
        uint32_t s = selector_list_spec(p, i + 2, end, nest + 1);
        c->ids += s >> 20;
        c->classes += (s >> 10) & SPEC_PART_MAX;
        c->tags += s & SPEC_PART_MAX;
    } else if (!token_named(n, CT_FUNCTION, nothing, 1)) {
        c->classes++;
    }
    return end;
}

/* The specificity (ids << 20 | classes << 10 | tags) of the selector list in tokens [a, b):
 * the largest of its selectors', each counting all its compounds. */
static uint32_t selector_list_spec(const prelude *p, int a, int b, int nest)
{
    uint32_t best = 0;
    spec_parts c = {0, 0, 0};
    for (int i = a; i <= b; i++) {
        if (i == b || p->tok[i].type == CT_COMMA) {
            uint32_t s = spec_pack(c);
            if (s > best) best = s;
            c = (spec_parts){0, 0, 0};
            continue;
        }
        const prelude_token *t = &p->tok[i];
        if (t->type == CT_HASH && t->hash_is_id) c.ids++;
        else if (t->type == CT_DELIM && t->delim == '.') c.classes++, i++;
        else if (t->type == CT_LBRACKET) c.classes++, i = block_close(p, i, b);
        else if (t->type == CT_IDENT) c.tags++;
        else if (t->type == CT_COLON) i = pseudo_spec(p, i, b, &c, nest);
        else if (t->type == CT_FUNCTION || t->type == CT_LPAREN) i = block_close(p, i, b);
    }
    return best;
}

/* One simple selector of a :not() argument at token k (type, #id, .class or [attribute]) into
 * c: the index of its last token, or -1 when it is not one. */
static int not_item_parse(const prelude *p, int k, int b, not_cond *c)
{
    memset(c, 0, sizeof *c);
    const prelude_token *t = &p->tok[k];
    if (t->type == CT_IDENT) {
        c->kind = NOT_TAG;
        ascii_lower(c->name, t->text, sizeof c->name);
    } else if (t->type == CT_HASH && t->hash_is_id) {
        c->kind = NOT_ID;
        snprintf(c->name, sizeof c->name, "%s", t->text);
    } else if (t->type == CT_DELIM && t->delim == '.' && k + 1 < b &&
               p->tok[k + 1].type == CT_IDENT && !p->tok[k + 1].truncated) {
        c->kind = NOT_CLASS;
        snprintf(c->name, sizeof c->name, "%s", p->tok[++k].text);
    } else if (t->type == CT_LBRACKET) {
        c->kind = NOT_ATTR;
        k = attr_cond_parse(p, k, b, &c->attr);
    } else {
        return -1;
    }
    return k;
}

/* The an+b argument of the :nth-child() or :nth-of-type() at the colon i, read from its
 * source text: the index of its ')', or -1 when it is not one read here (`of S`). */
static int nth_argument(const prelude *p, int i, int b, int32_t *a, int32_t *nb)
{
    int k = i + 2;
    if (!p->src) return -1;
    while (k < b && p->tok[k].type != CT_RPAREN) {
        if (p->tok[k].type == CT_FUNCTION || p->tok[k].type == CT_LPAREN) return -1;
        k++;
    }
    const prelude_token *n = &p->tok[i + 1];
    if (k >= b || !nth_read((const char *)p->src + n->end, p->tok[k].start - n->end, a, nb))
        return -1;
    return k;
}

/* A pseudo-class of a hiding rule's subject from tokens [i, b), i at its ':': :first-child,
 * :nth-child(an+b), :first-of-type, :nth-of-type(an+b), or :not() of simple selectors (a
 * tag, #id, .class or [attribute]). The index of its last token, or -1 for any other (not
 * judged). */
static int pseudo_class_parse(const prelude *p, int i, int b, sheet_rule *r)
{
    if (i + 1 >= b) return -1;
    const prelude_token *n = &p->tok[i + 1];
    char w[16];
    ascii_lower(w, n->text, sizeof w);
    if (n->type == CT_IDENT && strcmp(w, "first-child") == 0) {
        r->first_child = 1;
        return i + 1;
    }
    if (n->type == CT_IDENT && strcmp(w, "first-of-type") == 0 && !r->has_nth_type) {
        r->has_nth_type = 1;
        r->type_a = 0;
        r->type_b = 1;
        return i + 1;
    }
    if (n->type == CT_FUNCTION && strcmp(w, "nth-child") == 0 && !r->has_nth) {
        int k = nth_argument(p, i, b, &r->nth_a, &r->nth_b);
        r->has_nth = k >= 0;
        return k;
    }
    if (n->type == CT_FUNCTION && strcmp(w, "nth-of-type") == 0 && !r->has_nth_type) {
        int k = nth_argument(p, i, b, &r->type_a, &r->type_b);
        r->has_nth_type = k >= 0;
        return k;
    }
    if (n->type != CT_FUNCTION || strcmp(w, "not") != 0) return -1;
    /* :not(A, B) is :not(A):not(B): each item one condition, up to SELECTOR_NOT_MAX in all */
    int first = r->nneg, k = i + 2;
    for (;;) {
        while (k < b && p->tok[k].type == CT_WHITESPACE) k++;
        if (k >= b || p->tok[k].truncated || r->nneg == SELECTOR_NOT_MAX ||
            (k = not_item_parse(p, k, b, &r->neg[r->nneg])) < 0)
            break;
        r->nneg++;
        for (k++; k < b && p->tok[k].type == CT_WHITESPACE; k++) continue;
        if (k < b && p->tok[k].type == CT_RPAREN) return k;
        if (k >= b || p->tok[k].type != CT_COMMA) break;
        k++;
    }
    r->nneg = first;
    return -1;
}

/* Whether an id selector can join the compound: its first, or the same again (`#m#m`, written
 * to raise the specificity, and what :is(#m) gives after #m). A second, other id matches no
 * element: the compound is then not read. */
static int same_or_first_id(const sheet_rule *r, const prelude_token *t)
{
    return !r->id[0] || strcmp(r->id, t->text) == 0;
}

/* One compound selector from tokens [a, b): tag? (#id | .class | [attribute] | pseudo-class)*
 * with the pseudo-classes pseudo_class_parse reads; anything else -> 0. An ancestor may be `*`
 * alone, or html or body; a subject may not be html or body (they hide the whole page from a
 * person too: such rules are left alone). */
static int compound_parse(const prelude *p, int a, int b, sheet_rule *r, int ancestor)
{
    memset(r, 0, sizeof *r);
    r->sib = -1;
    while (a < b && p->tok[a].type == CT_WHITESPACE) a++;
    while (b > a && p->tok[b - 1].type == CT_WHITESPACE) b--;
    if (a >= b) return 0;
    int parts = 0;
    for (int i = a; i < b; i++) {
        const prelude_token *t = &p->tok[i];
        if (t->truncated) return 0;
        if (i == a && t->type == CT_IDENT) {
            ascii_lower(r->tag, t->text, sizeof r->tag);
            parts++;
        } else if (i == a && t->type == CT_DELIM && t->delim == '*') {
            continue;
        } else if (t->type == CT_HASH && t->hash_is_id && same_or_first_id(r, t)) {
            snprintf(r->id, sizeof r->id, "%s", t->text);
            parts++;
        } else if (t->type == CT_DELIM && t->delim == '.' && i + 1 < b &&
                   p->tok[i + 1].type == CT_IDENT && !p->tok[i + 1].truncated) {
            if (r->ncls == SELECTOR_CLASSES_MAX) return 0;
            snprintf(r->cls[r->ncls++], sizeof r->cls[0], "%s", p->tok[i + 1].text);
            parts++;
            i++;
        } else if (t->type == CT_LBRACKET && r->nattr < SELECTOR_ATTRS_MAX) {
            int end = attr_cond_parse(p, i, b, &r->attr[r->nattr]);
            if (end < 0) return 0;
            r->nattr++;
            parts++;
            i = end;
        } else if (t->type == CT_COLON) {
            int end = pseudo_class_parse(p, i, b, r);
            if (end < 0) return 0;
            parts++;
            i = end;
        } else {
            return 0; /* combinators, other pseudo-classes: not judged */
        }
    }
    if (!ancestor && r->tag[0] && (strcmp(r->tag, "html") == 0 || strcmp(r->tag, "body") == 0))
        return 0;
    r->spec = selector_list_spec(p, a, b, 0);
    return parts > 0 || ancestor;
}

/* Splits tokens [a, b) at their top-level combinators into compounds: range[i] for each, and
 * child[i] the combinator joining compound i to the next: JOIN_DESCENDANT, JOIN_CHILD ('>'),
 * JOIN_NEXT ('+') or JOIN_LATER ('~'). The number of compounds, or -1 for an empty compound
 * or more than max. */
enum { JOIN_DESCENDANT, JOIN_CHILD, JOIN_NEXT, JOIN_LATER };
static int selector_split(const prelude *p, int a, int b, int range[][2], uint8_t *child,
                          int max)
{
    while (a < b && p->tok[a].type == CT_WHITESPACE) a++;
    while (b > a && p->tok[b - 1].type == CT_WHITESPACE) b--;
    if (a >= b) return -1;
    int n = 0, depth = 0, start = a;
    for (int i = a; i <= b; i++) {
        const prelude_token *t = i < b ? &p->tok[i] : NULL;
        if (t && (t->type == CT_FUNCTION || t->type == CT_LPAREN || t->type == CT_LBRACKET)) depth++;
        else if (t && (t->type == CT_RPAREN || t->type == CT_RBRACKET) && depth > 0) depth--;
        if (t && (depth > 0 || !is_combinator(t))) continue;
        if (i == start || n == max) return -1;
        range[n][0] = start;
        range[n][1] = i;
        child[n] = 0;
        n++;
        if (!t) break;
        for (; i < b && is_combinator(&p->tok[i]); i++) { /* one combinator, spaces around */
            if (p->tok[i].type != CT_DELIM) continue;
            if (child[n - 1]) return -1; /* "a > > b" */
            child[n - 1] = p->tok[i].delim == '>' ? JOIN_CHILD
                           : p->tok[i].delim == '+' ? JOIN_NEXT : JOIN_LATER;
        }
        start = i--;
    }
    return n;
}

/* Whether a compound asks more of an element than its names. */
static int compound_has_conditions(const sheet_rule *c)
{
    return c->nattr || c->nneg || c->first_child || c->has_nth || c->has_nth_type || c->sib >= 0;
}

/* Appends a name to the sheet's anc_text: its offset, 0 when past the bound. */
static uint32_t anc_text_put(css_sheet *s, const char *name)
{
    size_t n = strlen(name) + 1;
    if (s->anc_text_len == 0) n++; /* offset 0 stands for "none": a NUL byte first */
    if (n > ANC_TEXT_MAX - s->anc_text_len) return 0;
    if (s->anc_text_len + n > s->anc_text_cap) {
        size_t cap = s->anc_text_cap ? s->anc_text_cap * 2 : 1024;
        while (cap < s->anc_text_len + n) cap *= 2;
        char *t = realloc(s->anc_text, cap);
        if (!t) return 0;
        s->anc_text = t;
        s->anc_text_cap = cap;
    }
    if (s->anc_text_len == 0) s->anc_text[s->anc_text_len++] = '\0';
    uint32_t off = (uint32_t)s->anc_text_len;
    memcpy(s->anc_text + off, name, strlen(name) + 1);
    s->anc_text_len += strlen(name) + 1;
    return off;
}

/* Keeps the n compounds c (child as selector_split gives them) in the pool for a rule: 0 when
 * a bound is reached (the rule is then not kept). */
static int anc_store(css_sheet *s, const sheet_rule *c, const uint8_t *child, int n,
                     uint32_t *first, uint8_t *count)
{
    *first = (uint32_t)s->nanc;
    *count = (uint8_t)n;
    if (n == 0) return 1;
    if ((size_t)n > ANC_MAX - s->nanc) return 0;
    size_t cond0 = s->nanc_cond; /* a rule not kept leaves no conditions behind */
    if (s->nanc + (size_t)n > s->anc_cap) {
        size_t cap = s->anc_cap ? s->anc_cap * 2 : 64;
        while (cap < s->nanc + (size_t)n) cap *= 2;
        anc_compound *a = realloc(s->anc, cap * sizeof *a);
        if (!a) return 0;
        s->anc = a;
        s->anc_cap = cap;
    }
    for (int i = 0; i < n; i++) {
        anc_compound *a = &s->anc[s->nanc + (size_t)i];
        memset(a, 0, sizeof *a);
        a->child = child[i];
        if ((c[i].tag[0] && !(a->tag = anc_text_put(s, c[i].tag))) ||
            (c[i].id[0] && !(a->id = anc_text_put(s, c[i].id))))
            goto fail;
        for (int k = 0; k < c[i].ncls; k++) {
            uint32_t off = anc_text_put(s, c[i].cls[k]);
            if (!off) goto fail;
            if (k == 0) a->cls = off;
        }
        a->ncls = (uint8_t)c[i].ncls;
        if (compound_has_conditions(&c[i])) {
            if (s->nanc_cond == ANC_COND_MAX) goto fail;
            if (!s->anc_cond && !(s->anc_cond = malloc(ANC_COND_MAX * sizeof *s->anc_cond)))
                goto fail;
            s->anc_cond[s->nanc_cond++] = c[i];
            a->cond = (uint16_t)s->nanc_cond;
            s->counts_types |= c[i].has_nth_type;
            s->anc_attrs |= c[i].nattr > 0;
            for (int k = 0; k < c[i].nneg; k++) s->anc_attrs |= c[i].neg[k].kind == NOT_ATTR;
        }
    }
    s->nanc += (size_t)n;
    return 1;
fail:
    s->nanc_cond = cond0;
    return 0;
}

/* A sibling compound (`.a` in `.a + .b`, `.a ~ .b`) kept as one of the sheet's, whose marks the
 * filter keeps per parent: its index, or -1 past the bound or for one that names no element a
 * person sees among siblings (html, head, body). One with a sibling of its own (a chain,
 * `a + b + c`) is kept for a hiding rule only: its mark is set only where the siblings before
 * are known, which would keep an undoing rule from matching on a doubt. */
static int sibling_keep(css_sheet *s, const sheet_rule *c, int hiding)
{
    if ((c->sib >= 0 && !hiding) || strcmp(c->tag, "html") == 0 ||
        strcmp(c->tag, "head") == 0 || strcmp(c->tag, "body") == 0)
        return -1;
    if (!s->sib && !(s->sib = malloc(SIBLINGS_MAX * sizeof *s->sib))) return -1;
    if (s->nsib == SIBLINGS_MAX) return -1;
    s->counts_types |= c->has_nth_type; /* its marks need places by type */
    s->sib[s->nsib] = *c;
    return (int)s->nsib++;
}

/* The compounds before a selector's subject, tokens [range[0][0], range[n-1][1]) split as
 * selector_split gave them: kept in the pool for r, their specificity added to r's. A compound
 * joined to the next by '+' or '~' becomes that one's condition (`h2 ~ div p`: a div after an
 * h2; the last one the subject's, r->sib). Leading `html`, `body` and `*` joined to the rest by
 * a descendant combinator (and
 * `html > body`) are left out: every element a person sees is inside html and body, which the
 * sanitizer does not keep open; `body > x` keeps x to the top (r->rooted). Conditions on html
 * or body (`body.home`) are not known: a hiding rule with them is not judged, an undoing one
 * reads them as met. 0 when one is not a compound compound_parse reads, `html > x` names no
 * element a person sees, or more than CSS_ANCESTORS_MAX are left. */
static int ancestors_read(css_sheet *s, const prelude *p, int range[][2], const uint8_t *child,
                          int n, sheet_rule *r, int hiding)
{
    sheet_rule c[CSS_ANCESTORS_MAX + 2];
    uint8_t join[CSS_ANCESTORS_MAX + 2];
    if (n > CSS_ANCESTORS_MAX + 2) return 0;
    uint32_t spec = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!compound_parse(p, range[i][0], range[i][1], &c[m], 1)) return 0;
        spec += c[m].spec;
        join[m] = child[i];
        if (m > 0 && join[m - 1] >= JOIN_NEXT) { /* the one before is this one's sibling */
            int k = sibling_keep(s, &c[m - 1], hiding);
            if (k < 0) return 0;
            c[m].sib = (int8_t)k;
            c[m].sib_next = join[m - 1] == JOIN_NEXT;
            c[m - 1] = c[m];
            join[m - 1] = join[m];
            continue;
        }
        m++;
    }
    if (m > 0 && join[m - 1] >= JOIN_NEXT) { /* the last is the subject's sibling */
        int k = sibling_keep(s, &c[m - 1], hiding);
        if (k < 0) return 0;
        r->sib = (int8_t)k;
        r->sib_next = join[m - 1] == JOIN_NEXT;
        m--;
    }
    int first = 0;
    r->rooted = 0;
    for (; first < m && !r->rooted; first++) {
        sheet_rule *k = &c[first];
        int html = strcmp(k->tag, "html") == 0, body = strcmp(k->tag, "body") == 0;
        int any = !k->tag[0] && !k->id[0] && k->ncls == 0 && !compound_has_conditions(k);
        if (!html && !body && !any) break;
        if ((html || body) && (k->id[0] || k->ncls || compound_has_conditions(k)) && hiding)
            return 0;
        if (!join[first]) continue;
        if (html && first + 1 < m && strcmp(c[first + 1].tag, "body") == 0) continue;
        if (!body) return 0;
        r->rooted = 1;
    }
    if (m - first > CSS_ANCESTORS_MAX) return 0;
    r->spec += spec;
    return anc_store(s, c + first, join + first, m - first, &r->anc, &r->nanc);
}

static int ancestors_parse(css_sheet *s, const prelude *p, int range[][2], const uint8_t *child,
                           int n, sheet_rule *r, int hiding)
{
    size_t nsib = s->nsib; /* a rule not kept leaves no sibling compounds behind */
    if (ancestors_read(s, p, range, child, n, r, hiding)) return 1;
    s->nsib = nsib;
    return 0;
}

static int hiding_selector(css_sheet *s, const prelude *p, int a, int b, sheet_rule *r)
{
    int range[CSS_ANCESTORS_MAX + 3][2];
    uint8_t child[CSS_ANCESTORS_MAX + 3];
    int n = selector_split(p, a, b, range, child, CSS_ANCESTORS_MAX + 3);
    if (n <= 0 || !compound_parse(p, range[n - 1][0], range[n - 1][1], r, 0)) return 0;
    return ancestors_parse(s, p, range, child, n - 1, r, 1);
}

/* A pseudo-class a person's action or the page's state turns on. */
static int state_pseudo_class(const prelude_token *t)
{
    static const char *const names[] = {"hover", "focus", "focus-within", "focus-visible",
                                         "active", "checked", "target", "open", "popover-open"};
    return token_named(t, CT_IDENT, names, sizeof names / sizeof names[0]);
}

/* The element an undoing rule's selector (tokens [a, b)) applies to, as a compound that may
 * match more elements than the selector does: its pseudo-classes and attribute conditions
 * left out, and, when the selector depends on a state a person turns on (a checked tab, a
 * hover, a target), the compounds before the last one too (`#tab1:checked ~ .panel1`,
 * `.menu:hover .sub`): content a person's action shows counts as shown, as a closed details
 * element's does. Other complex selectors (`.navbar-expand .offcanvas`, `nav > .menu`) keep
 * their compounds before the last as ancestors, judged on the open elements like a hiding
 * rule's, when those are compounds the hiding rules judge; when they are not, they are left
 * out as a state's are (the rule undoes for every element its last compound names). The
 * specificity counts the whole selector (`*` and :where() count nothing). 0 for a
 * pseudo-element (which does not show its element) or what cannot be read. */
static int subject_selector(css_sheet *s, const prelude *p, int a, int b, sheet_rule *r)
{
    static const char *const pseudo_elements[] = {"before", "after", "first-line",
                                                  "first-letter", "marker", "placeholder",
                                                  "selection", "backdrop"};
    int depth = 0, subject = a, prev_colon = 0, state = 0;
    while (a < b && p->tok[a].type == CT_WHITESPACE) a++;
    while (b > a && p->tok[b - 1].type == CT_WHITESPACE) b--;
    if (a >= b) return 0;
    for (int i = a; i < b; i++) { /* the subject starts after the last top-level combinator */
        const prelude_token *t = &p->tok[i];
        if (t->type == CT_FUNCTION || t->type == CT_LPAREN || t->type == CT_LBRACKET) depth++;
        else if ((t->type == CT_RPAREN || t->type == CT_RBRACKET) && depth > 0) depth--;
        else if (depth == 0 && is_combinator(t)) subject = i + 1;
        if (depth > 1 || (depth == 1 && t->type != CT_FUNCTION && t->type != CT_LBRACKET &&
                          t->type != CT_LPAREN))
            continue;
        if (t->type == CT_COLON && prev_colon) return 0; /* a pseudo-element: "::" */
        if (prev_colon && state_pseudo_class(t)) state = 1;
        prev_colon = t->type == CT_COLON;
    }
    memset(r, 0, sizeof *r);
    for (int i = subject; i < b; i++) {
        const prelude_token *t = &p->tok[i];
        if (t->truncated) return 0;
        if (t->type == CT_COLON && i + 1 < b) {
            const prelude_token *n = &p->tok[i + 1];
            char w[16];
            ascii_lower(w, n->text, sizeof w);
            for (size_t k = 0; k < sizeof pseudo_elements / sizeof pseudo_elements[0]; k++)
                if (n->type == CT_IDENT && strcmp(w, pseudo_elements[k]) == 0) return 0;
            int end = pseudo_class_parse(p, i, b, r); /* :first-child, :not(): judged */
            if (end >= 0) {
                i = end;
                continue;
            }
            int nest = 0; /* skip the pseudo-class, with its arguments */
            for (i++; i < b; i++) {
                if (p->tok[i].type == CT_FUNCTION || p->tok[i].type == CT_LPAREN) nest++;
                else if (p->tok[i].type == CT_RPAREN && --nest <= 0) break;
                if (nest == 0) break;
            }
        } else if (t->type == CT_LBRACKET) {
            /* a condition read here is judged (the element's attributes are known); one not
             * read, or past the bound, is left out */
            int end = r->nattr < SELECTOR_ATTRS_MAX ? attr_cond_parse(p, i, b, &r->attr[r->nattr])
                                                    : -1;
            if (end >= 0) {
                r->nattr++;
                i = end;
            } else {
                while (i < b && p->tok[i].type != CT_RBRACKET) i++;
            }
        } else if (i == subject && t->type == CT_IDENT) {
            ascii_lower(r->tag, t->text, sizeof r->tag);
        } else if (t->type == CT_HASH && t->hash_is_id && same_or_first_id(r, t)) {
            snprintf(r->id, sizeof r->id, "%s", t->text);
        } else if (t->type == CT_DELIM && t->delim == '.' && i + 1 < b &&
                   p->tok[i + 1].type == CT_IDENT && !p->tok[i + 1].truncated) {
            if (r->ncls < SELECTOR_CLASSES_MAX)
                snprintf(r->cls[r->ncls++], sizeof r->cls[0], "%s", p->tok[i + 1].text);
            i++; /* past the bound: fewer classes, a rule that may apply to more elements */
        } else if (!(t->type == CT_DELIM && t->delim == '*')) {
            return 0;
        }
    }
    r->spec = selector_list_spec(p, a, b, 0);
    r->sib = -1;
    if (subject > a && !state) { /* ancestors that are not about a state: judged on the path */
        int range[CSS_ANCESTORS_MAX + 3][2];
        uint8_t child[CSS_ANCESTORS_MAX + 3];
        uint32_t spec = r->spec;
        int n = selector_split(p, a, b, range, child, CSS_ANCESTORS_MAX + 3);
        if (n < 2 || !ancestors_parse(s, p, range, child, n - 1, r, 0)) {
            /* compounds before the subject that are not judged: it undoes for every element
             * its subject names (an undoing missed would lose visible text) */
            r->anc = 0;
            r->nanc = 0;
            r->rooted = 0;
            r->sib = -1;
            r->sib_next = 0;
        }
        r->spec = spec;
    }
    return 1;
}

/* FNV-1a, never 0 (0 stands for "no such part"). */
static uint64_t name_hash(const char *p, size_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 0x100000001B3ull;
    return h ? h : 1;
}

/* Appends n items of `size` bytes to a pool (*n of them, *cap allocated, at most max): 1 and
 * where they start in *at, or 0 (none, past the bound or out of memory). */
static int pool_put(void **pool, size_t *n, size_t *cap, size_t max, size_t size,
                    const void *items, size_t count, size_t *at)
{
    if (count == 0 || count > max - *n) return 0;
    if (*n + count > *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        while (c < *n + count) c *= 2;
        void *p = realloc(*pool, c * size);
        if (!p) return 0;
        *pool = p;
        *cap = c;
    }
    memcpy((char *)*pool + *n * size, items, count * size);
    *at = *n;
    *n += count;
    return 1;
}

static int undo_push(css_sheet *s, const sheet_rule *r, unsigned cancels)
{
    if (s->nundo == s->undo_cap) {
        if (s->undo_cap == s->max_undo) return -1;
        size_t cap = s->undo_cap ? s->undo_cap * 2 : 64;
        if (cap > s->max_undo) cap = s->max_undo;
        undo_rule *u = realloc(s->undo, cap * sizeof *u);
        if (!u) return -1;
        s->undo = u;
        s->undo_cap = cap;
    }
    undo_rule *u = &s->undo[s->nundo++];
    memset(u, 0, sizeof *u);
    u->tag = r->tag[0] ? name_hash(r->tag, strlen(r->tag)) : 0;
    u->id = r->id[0] ? name_hash(r->id, strlen(r->id)) : 0;
    for (int k = 0; k < r->ncls; k++) u->cls[k] = name_hash(r->cls[k], strlen(r->cls[k]));
    u->ncls = (uint8_t)r->ncls;
    u->anc = r->anc;
    u->nanc = r->nanc;
    u->rooted = r->rooted;
    u->first_child = r->first_child;
    u->has_nth = r->has_nth;
    u->has_nth_type = r->has_nth_type;
    u->type_a = r->type_a;
    u->type_b = r->type_b;
    s->counts_types |= r->has_nth_type;
    u->nth_a = r->nth_a;
    u->nth_b = r->nth_b;
    u->sib = r->sib;
    u->sib_next = r->sib_next;
    /* past the bounds its conditions are left out: it undoes for more elements, as an
     * undoing rule with conditions not read does */
    size_t at;
    if (pool_put((void **)&s->uattr, &s->nuattr, &s->uattr_cap, UATTR_MAX, sizeof *r->attr,
                 r->attr, (size_t)r->nattr, &at)) {
        u->attr = (uint32_t)at;
        u->nattr = (uint8_t)r->nattr;
    }
    if (pool_put((void **)&s->uneg, &s->nuneg, &s->uneg_cap, UNEG_MAX, sizeof *r->neg, r->neg,
                 (size_t)r->nneg, &at)) {
        u->neg = (uint32_t)at;
        u->nneg = (uint8_t)r->nneg;
    }
    u->spec = r->spec;
    u->order = r->order;
    u->cancels = (uint16_t)cancels;
    u->important = (uint16_t)r->important;
    u->shows = (uint16_t)(r->flags & CSS_SHOWS);
    return 0;
}

/* Room for one more hiding rule, up to max (about 1 KiB each: allocated as they come, most
 * documents keep none). */
static int rules_reserve(css_sheet *s)
{
    if (s->n < s->rules_cap) return 1;
    if (s->n >= s->max) return 0;
    size_t cap = s->rules_cap ? s->rules_cap * 2 : 8;
    if (cap > s->max) cap = s->max;
    sheet_rule *r = realloc(s->rules, cap * sizeof *r);
    if (!r) return 0;
    s->rules = r;
    s->rules_cap = cap;
    return 1;
}

/* Keeps one selector, tokens [a, b): as a hiding rule (hides), or as an undoing rule for the
 * groups of `cancels`. spec, when not UINT32_MAX, is its specificity (that of the selector it
 * was expanded from). */
static void sheet_add_selector(css_sheet *s, const prelude *p, int a, int b, const judgement *j,
                               uint32_t order, int hides, unsigned cancels, uint32_t spec)
{
    sheet_rule r;
    if (!(hides ? hiding_selector(s, p, a, b, &r) : subject_selector(s, p, a, b, &r))) return;
    if (spec != UINT32_MAX) r.spec = spec;
    r.flags = j->flags;
    r.causes = (uint16_t)j->causes;
    r.cancels = (uint16_t)j->cancels;
    r.important = (uint16_t)j->important;
    r.order = order;
    r.nanim = j->nanim;
    for (int k = 0; k < j->nanim; k++) r.anim[k] = j->anim[k];
    if (!hides) {
        if (undo_push(s, &r, cancels) != 0) s->undo_lost |= cancels;
    } else if (rules_reserve(s)) {
        s->rules[s->n++] = r;
        s->block_causes |= j->causes;
        s->counts_types |= r.has_nth_type;
    }
}

static int is_list_function(const prelude_token *t)
{
    static const char *const names[] = {"is", "where", "matches", "-webkit-any"};
    return token_named(t, CT_FUNCTION, names, sizeof names / sizeof names[0]);
}

/* The first :is() or :where() in tokens [a, b) that can stand for one compound per item: its
 * function token's index (its ')' in *close, its items' bounds in item[]: *n of them, at most
 * IS_ITEMS_MAX), or -1. Each item must be a compound (no combinator inside, no :is()). */
#define IS_ITEMS_MAX 8
static int is_list_find(const prelude *p, int a, int b, int *close, int item[][2], int *n)
{
    for (int f = a; f < b; f++) {
        if (p->tok[f].type == CT_LBRACKET) {
            f = block_close(p, f, b);
            continue;
        }
        if (p->tok[f].type == CT_COLON && f + 1 < b && p->tok[f + 1].type == CT_FUNCTION &&
            !is_list_function(&p->tok[f + 1]))
            f = block_close(p, f + 1, b);
        if (!(p->tok[f].type == CT_COLON && f + 1 < b && is_list_function(&p->tok[f + 1])))
            continue;
        int end = block_close(p, f + 1, b), k = f + 2, ok = end < b;
        *n = 0;
        while (ok && k <= end) {
            int i0 = k, depth = 0;
            while (k < end && (depth > 0 || p->tok[k].type != CT_COMMA)) {
                css_token_type t = p->tok[k].type;
                if (t == CT_FUNCTION || t == CT_LPAREN || t == CT_LBRACKET) depth++;
                else if ((t == CT_RPAREN || t == CT_RBRACKET) && depth > 0) depth--;
                k++;
            }
            int i1 = k;
            while (i0 < i1 && p->tok[i0].type == CT_WHITESPACE) i0++;
            while (i1 > i0 && p->tok[i1 - 1].type == CT_WHITESPACE) i1--;
            for (int q = i0, d = 0; q < i1 && ok; q++) { /* a compound, no :is() in it */
                css_token_type t = p->tok[q].type;
                ok = !(d == 0 && is_combinator(&p->tok[q])) && !is_list_function(&p->tok[q]);
                if (t == CT_FUNCTION || t == CT_LPAREN || t == CT_LBRACKET) d++;
                else if ((t == CT_RPAREN || t == CT_RBRACKET) && d > 0) d--;
            }
            ok = ok && i0 < i1 && *n < IS_ITEMS_MAX;
            if (ok) {
                item[*n][0] = i0;
                item[(*n)++][1] = i1;
            }
            k++; /* past the comma, or the ')' */
        }
        if (!ok || *n == 0) return -1;
        *close = end;
        return f;
    }
    return -1;
}

/* Keeps the selector [a, b); one with :is(A, B) or :where(A, B) in it as one selector per item
 * (two such lists expanded, the third left as it is), each with the whole selector's
 * specificity (spec; UINT32_MAX: compute it). */
#define IS_LISTS_MAX 2
static void sheet_add_complex(css_sheet *s, const prelude *p, int a, int b, const judgement *j,
                              uint32_t order, int hides, unsigned cancels, uint32_t spec,
                              int lists)
{
    int item[IS_ITEMS_MAX][2], n = 0, close = 0;
    int f = lists < IS_LISTS_MAX ? is_list_find(p, a, b, &close, item, &n) : -1;
    if (f < 0) {
        sheet_add_selector(s, p, a, b, j, order, hides, cancels, spec);
        return;
    }
    prelude *q = malloc(sizeof *q); /* about 10 KiB: for the few selectors that need it */
    if (!q) return;
    if (spec == UINT32_MAX) spec = selector_list_spec(p, a, b, 0);
    for (int k = 0; k < n; k++) {
        q->n = 0;
        q->overflow = 0;
        q->src = p->src;
        /* the item takes the function's place; a type selector it starts with goes to the
         * start of the compound (`.t:is(h1, h2)` is `h1.t` or `h2.t`) */
        int cs = f, i0 = item[k][0];
        while (cs > a && !is_combinator(&p->tok[cs - 1])) cs--;
        const prelude_token *first = &p->tok[i0], *own = &p->tok[cs];
        int star = first->type == CT_DELIM && first->delim == '*';
        int own_star = own->type == CT_DELIM && own->delim == '*';
        int from = cs + (own_star && first->type == CT_IDENT); /* `*:is(p)` is `p` */
        if (star) {
            i0++; /* `.t:is(*)` is `.t` */
        } else if (first->type == CT_IDENT && own->type == CT_IDENT && cs < f) {
            char x[NAME_MAX_LEN], y[NAME_MAX_LEN];
            ascii_lower(x, first->text, sizeof x);
            ascii_lower(y, own->text, sizeof y);
            if (strcmp(x, y) != 0) continue; /* `div:is(span)` matches nothing */
            i0++;                            /* `div:is(div)` is `div` */
        }
        int typed = i0 < item[k][1] && p->tok[i0].type == CT_IDENT && i0 == item[k][0];
        for (int t = a; t < cs; t++) q->tok[q->n++] = p->tok[t];
        if (typed) q->tok[q->n++] = p->tok[i0++];
        for (int t = from; t < f; t++) q->tok[q->n++] = p->tok[t];
        for (int t = i0; t < item[k][1]; t++) q->tok[q->n++] = p->tok[t];
        for (int t = close + 1; t < b; t++) q->tok[q->n++] = p->tok[t];
        sheet_add_complex(s, q, 0, q->n, j, order, hides, cancels, spec, lists + 1);
    }
    free(q);
}

/* Keeps the rule's selectors: as hiding rules (hides), or as undoing rules for the groups of
 * `cancels`. */
static void sheet_add_selectors(css_sheet *s, const prelude *p, const judgement *j,
                                uint32_t order, int hides, unsigned cancels)
{
    if (p->overflow) return;
    int start = 0, depth = 0;
    for (int i = 0; i <= p->n; i++) { /* the list's commas, not those of :is(.a, .b) */
        if (i < p->n) {
            css_token_type t = p->tok[i].type;
            if (t == CT_FUNCTION || t == CT_LPAREN || t == CT_LBRACKET) depth++;
            else if ((t == CT_RPAREN || t == CT_RBRACKET) && depth > 0) depth--;
            if (t != CT_COMMA || depth > 0) continue;
        }
        sheet_add_complex(s, p, start, i, j, order, hides, cancels, UINT32_MAX, 0);
        start = i + 1;
    }
}

/* Media queries a screen may match: any but those of only print or speech ones. */
static int media_may_apply_to_screen(const prelude *p)
{
    int query_ok = 1, first = 1;
    for (int i = 0; i <= p->n; i++) {
        if (i == p->n || p->tok[i].type == CT_COMMA) {
            if (query_ok) return 1;
            query_ok = first = 1;
            continue;
        }
        const prelude_token *t = &p->tok[i];
        if (t->type == CT_WHITESPACE) continue;
        if (first && t->type == CT_IDENT) {
            char w[16];
            ascii_lower(w, t->text, sizeof w);
            if (strcmp(w, "only") == 0) continue;
            if (strcmp(w, "print") == 0 || strcmp(w, "speech") == 0) query_ok = 0;
        }
        first = 0;
    }
    return 0;
}

/* Media queries under which the rules apply on a screen: none, "all", "screen". */
static int media_applies_to_screen(const prelude *p)
{
    int ok = 1;
    for (int i = 0; i < p->n; i++) {
        const prelude_token *t = &p->tok[i];
        if (t->type == CT_WHITESPACE) continue;
        if (t->type != CT_IDENT) return 0;
        char w[16];
        ascii_lower(w, t->text, sizeof w);
        if (strcmp(w, "all") && strcmp(w, "screen") && strcmp(w, "only")) ok = 0;
    }
    return ok;
}

static void parse_rule_list(css_ctx *c, int in_block, int hide_ok, css_sheet *s, int depth);

/* Appended, not replaced: the last of a name is found first, and a block dropped afterwards
 * takes its own away by the count alone. Past the bound, a name defined again shows nothing
 * any more (its last definition, not kept, might not). */
static void keyframes_put(css_sheet *s, uint64_t name, unsigned cancels, unsigned shows)
{
    if (s->nkf < KEYFRAMES_MAX) {
        s->kf[s->nkf++] = (keyframes){name, (uint16_t)cancels, (uint16_t)shows};
        return;
    }
    for (size_t i = 0; i < s->nkf; i++)
        if (s->kf[i].name == name) s->kf[i].cancels = s->kf[i].shows = 0;
}

/* The block of `@keyframes <name>` (its prelude p): frames `from`, `50%`, `to`, whose
 * declarations are judged for the last one (`to`, `100%`). */
static void parse_keyframes(css_ctx *c, css_sheet *s, const prelude *p)
{
    char lower[NAME_MAX_LEN];
    int named = 0;
    uint64_t name = 0;
    for (int i = 0; i < p->n; i++) {
        if (p->tok[i].type == CT_WHITESPACE) continue;
        if ((p->tok[i].type == CT_IDENT || p->tok[i].type == CT_STRING) && !named) {
            ascii_lower(lower, p->tok[i].text, sizeof lower);
            name = name_hash(lower, strlen(lower));
            named = 1;
        } else {
            named = 0; /* not one name: not a keyframes rule a browser keeps */
            break;
        }
    }
    unsigned cancels = 0, shows = 0;
    int last = 0;
    css_token t;
    for (;;) {
        next_tok(c, &t);
        if (t.type == CT_EOF || t.type == CT_RBRACE) break;
        if (t.type == CT_WHITESPACE) continue;
        if (t.type == CT_IDENT && t.text_len == 2 && (t.text[0] | 0x20) == 't' &&
            (t.text[1] | 0x20) == 'o')
            last = 1;
        if (t.type == CT_PERCENTAGE && t.number == 100) last = 1;
        if (t.type != CT_LBRACE) continue;
        decl_state *st = ctx_decls(c);
        parse_declarations(c, 1, st);
        if (last && st) {
            unsigned causes = declarations_causes(st);
            cancels = (cancels | declarations_cancels(st, causes)) & ~causes;
            unsigned hidden = (causes >> G_SOFT_SHIFT << CSS_SHOW_SHIFT) & CSS_SHOWS;
            shows = (shows | declarations_shows(st, causes)) & ~hidden;
        }
        last = 0;
    }
    if (named) keyframes_put(s, name, cancels, shows);
}

static void parse_at_rule(css_ctx *c, const css_token *at, int hide_ok, css_sheet *s, int depth,
                          int *parent_ended)
{
    char name[NAME_MAX_LEN];
    /* the shared prelude: it is read only before the block, which may hold rules of its own */
    prelude *p = ctx_prelude(c);
    css_token t;
    int nest = 0;
    ascii_lower(name, at->text, sizeof name);
    if (strcmp(name, "import") == 0) c->flags |= CSS_DANGEROUS;
    for (;;) {
        next_tok(c, &t);
        if (t.type == CT_EOF) break;
        if (nest == 0 && t.type == CT_SEMICOLON) break;
        if (nest == 0 && t.type == CT_RBRACE) {
            *parent_ended = 1;
            break;
        }
        if (nest == 0 && t.type == CT_LBRACE) {
            int screen = p && media_applies_to_screen(p);
            if (depth >= AT_RULE_NEST_MAX) {
                /* No real sheet nests this deep, and reading on would overflow the stack. What
                 * is not read is not judged safe: the sheet is dropped. */
                c->flags |= CSS_DANGEROUS;
                c->lx.pos = c->lx.len;
            } else if (depth >= 8) {
                parse_rule_list(c, 1, 0, NULL, depth + 1);
            } else if (strcmp(name, "media") == 0) {
                /* hiding rules count where they always apply; undoing ones wherever a screen
                 * may match (a wide window, a dark scheme): visible there, so kept */
                int may = p && media_may_apply_to_screen(p);
                parse_rule_list(c, 1, hide_ok && screen, may ? s : NULL, depth + 1);
            } else if (strcmp(name, "font-face") == 0 || strcmp(name, "page") == 0 ||
                       strcmp(name, "counter-style") == 0 || strcmp(name, "property") == 0) {
                parse_declarations(c, 1, NULL);
            } else if (strstr(name, "keyframes")) { /* "from", "50%": not selectors */
                if (s && c->keep_hiding && p) parse_keyframes(c, s, p);
                else parse_rule_list(c, 1, 0, NULL, depth + 1);
            } else {
                /* supports, layer, container, document...: what they hold may apply, so its
                 * undoing rules count; its hiding rules are not judged. */
                parse_rule_list(c, 1, 0, s, depth + 1);
            }
            break;
        }
        if (t.type == CT_FUNCTION || t.type == CT_LPAREN || t.type == CT_LBRACKET) nest++;
        if ((t.type == CT_RPAREN || t.type == CT_RBRACKET) && nest > 0) nest--;
        if (p) prelude_push(p, &t);
    }
}

/* The prelude of the sheet's tokens that start in [start, end), lexed again (tokens depend
 * only on where they start); NULL on allocation failure. */
static prelude *ctx_prelude_between(css_ctx *c, size_t start, size_t end)
{
    prelude *p = ctx_prelude(c);
    css_lexer lx = c->lx;
    css_token t;
    lx.pos = start;
    if (p) p->src = lx.s;
    while (p) {
        css_lexer_next(&lx, &t);
        if (t.type == CT_EOF || t.start >= end) break;
        prelude_push(p, &t);
        if (!p->overflow) p->tok[p->n - 1].end = (uint32_t)lx.pos;
    }
    return p;
}

/* A qualified rule whose first token is *t; t is then the slot the rest are read into. Its
 * selectors matter only when its declarations hide, which few do: the prelude is not kept
 * while it is read but lexed again then. */
static void parse_qualified_rule(css_ctx *c, css_token *t, int hide_ok, css_sheet *s,
                                 int *parent_ended, int in_block)
{
    size_t prelude_start = t->start;
    int nest = 0;
    for (;;) {
        if (t->type == CT_EOF) break;
        if (nest == 0 && t->type == CT_RBRACE && in_block) {
            *parent_ended = 1;
            break;
        }
        if (nest == 0 && t->type == CT_LBRACE) {
            size_t prelude_end = t->start;
            decl_state *st = ctx_decls(c);
            parse_declarations(c, 1, st);
            if (!st || !s) break;
            judgement j;
            declarations_judge(st, &j, c->want != 0);
            int hides = hide_ok && j.causes;
            /* most rules set a colour, a size or a display: those that only undo are kept
             * only for the groups some kept rule hides by */
            unsigned want = c->want | (c->want & G_COLOUR ? G_TEXT_CLIP : 0);
            unsigned cancels = hides ? 0 : j.cancels & want;
            if ((hides && c->keep_hiding) || cancels) {
                prelude *p = ctx_prelude_between(c, prelude_start, prelude_end);
                /* order counts from 1: a rule of specificity 0 (`*`, :where()) at the
                 * sheet's first byte must still have a cascade key above "none" */
                if (p)
                    sheet_add_selectors(s, p, &j, s->order_base + (uint32_t)prelude_start + 1,
                                        hides, cancels);
            }
            break;
        }
        if (t->type == CT_FUNCTION || t->type == CT_LPAREN || t->type == CT_LBRACKET) nest++;
        if ((t->type == CT_RPAREN || t->type == CT_RBRACKET) && nest > 0) nest--;
        next_tok(c, t);
    }
}

static void parse_rule_list(css_ctx *c, int in_block, int hide_ok, css_sheet *s, int depth)
{
    css_token t;
    for (;;) {
        int ended = 0;
        next_tok(c, &t);
        switch (t.type) {
        case CT_EOF:
            return;
        case CT_RBRACE:
            if (in_block) return;
            break; /* a stray '}' at top level starts a (bad) qualified rule */
        case CT_WHITESPACE:
        case CT_CDO:
        case CT_CDC:
            continue;
        case CT_AT_KEYWORD:
            parse_at_rule(c, &t, hide_ok, s, depth, &ended);
            if (ended) return;
            continue;
        default:
            break;
        }
        parse_qualified_rule(c, &t, hide_ok, s, &ended, in_block);
        if (ended) return;
    }
}

unsigned css_sheet_text_flags(const char *css, size_t len)
{
    css_ctx c;
    ctx_init(&c, css, len);
    parse_rule_list(&c, 0, 0, NULL, 0);
    ctx_done(&c);
    return c.flags & CSS_DANGEROUS;
}

/* Notes a shown attribute; 1 when the name is new and the list was frozen. */
static int sheet_note_shown_attr(struct css_sheet *s, const char *name)
{
    char lower[NAME_MAX_LEN];
    ascii_lower(lower, name, sizeof lower);
    if (s->shown_all) return 0;
    for (size_t i = 0; i < s->nshown; i++)
        if (strcmp(s->shown[i], lower) == 0) return 0;
    if (s->shown_frozen) return 1;
    if (s->nshown == SHOWN_ATTRS_MAX) {
        s->shown_all = 1;
        return 0;
    }
    memcpy(s->shown[s->nshown++], lower, sizeof lower);
    return 0;
}

void css_sheet_freeze_shown_attrs(css_sheet *s)
{
    if (s) s->shown_frozen = 1;
}

int css_sheet_shows_attr(const css_sheet *s, const char *name, size_t len)
{
    if (!s) return 0;
    if (s->shown_all) return 1;
    for (size_t i = 0; i < s->nshown; i++) {
        size_t k = 0;
        while (k < len && s->shown[i][k] &&
               s->shown[i][k] == ((name[k] >= 'A' && name[k] <= 'Z') ? name[k] + 32 : name[k]))
            k++;
        if (k == len && s->shown[i][k] == '\0') return 1;
    }
    return 0;
}

css_sheet *css_sheet_new(size_t max_rules)
{
    css_sheet *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->max = max_rules ? max_rules : 256;
    s->max_undo = 8 * s->max; /* 96 bytes each, allocated as they come */
    return s;
}

void css_sheet_free(css_sheet *s)
{
    if (!s) return;
    free(s->rules);
    free(s->undo);
    free(s->past_text);
    free(s->anc);
    free(s->anc_cond);
    free(s->uattr);
    free(s->uneg);
    free(s->sib);
    free(s->anc_text);
    free(s);
}

/* Where the next block's undoing rules, keyframes and ancestor compounds begin. */
static void sheet_block_begin(css_sheet *s)
{
    s->undo_before_block = s->nundo;
    s->nkf_before_block = s->nkf;
    s->nanc_before_block = s->nanc;
    s->nanc_cond_before_block = s->nanc_cond;
    s->nuattr_before_block = s->nuattr;
    s->nuneg_before_block = s->nuneg;
    s->nsib_before_block = s->nsib;
    s->anc_text_before_block = s->anc_text_len;
    s->block_causes = 0;
}

/* Forgets what the last block added but its hiding rules (the caller truncates those). */
static void sheet_block_forget(css_sheet *s)
{
    s->nundo = s->undo_before_block;
    s->nkf = s->nkf_before_block;
    s->nanc = s->nanc_before_block;
    s->nanc_cond = s->nanc_cond_before_block;
    s->nuattr = s->nuattr_before_block;
    s->nuneg = s->nuneg_before_block;
    s->nsib = s->nsib_before_block;
    s->anc_text_len = s->anc_text_before_block;
}

/* One parse of a block: its flags, and into s the rules of the kinds asked for. */
static unsigned sheet_parse(css_sheet *s, const char *css, size_t len, css_text_fn fn, void *ctx,
                            int keep_hiding, unsigned want)
{
    css_ctx c;
    ctx_init(&c, css, len);
    c.text_fn = fn;
    c.text_ctx = ctx;
    c.sheet = keep_hiding ? s : NULL; /* a second read notes nothing again */
    c.keep_hiding = keep_hiding;
    c.want = want;
    parse_rule_list(&c, 0, s != NULL, s, 0);
    ctx_done(&c);
    return c.flags;
}

/* After a block's first read: when it hid in groups not wanted before, reads it again for
 * its undoing rules of those groups (they may come before the rule that hides; rules after it
 * are in this block too). Only the rules are taken: the flags and the generated text were the
 * first parse's. The next block's rules come after this one's. */
static void sheet_want(css_sheet *s, unsigned groups)
{
    unsigned fresh = groups & ~s->want;
    if (!fresh) return;
    s->want |= fresh;
    uint32_t base = s->order_base;
    for (size_t k = 0; k < s->npast; k++) { /* earlier blocks, in their own places */
        s->order_base = s->past[k].base;
        sheet_parse(s, s->past_text + s->past[k].off, s->past[k].len, NULL, NULL, 0, fresh);
    }
    s->order_base = base;
}

/* Keeps a copy of a block for sheet_want(), within the bounds. */
static void sheet_keep_past(css_sheet *s, const char *css, size_t len)
{
    s->past_last = 0;
    if (len == 0 || s->npast == PAST_BLOCKS_MAX || len > PAST_BYTES_MAX - s->past_len) return;
    if (s->past_len + len > s->past_cap) {
        size_t cap = s->past_cap ? s->past_cap : 4096;
        while (cap < s->past_len + len) cap *= 2;
        char *t = realloc(s->past_text, cap);
        if (!t) return;
        s->past_text = t;
        s->past_cap = cap;
    }
    memcpy(s->past_text + s->past_len, css, len);
    s->past[s->npast++] = (struct past_block){(uint32_t)s->past_len, (uint32_t)len, s->order_base};
    s->past_len += len;
    s->past_last = 1;
}

static void sheet_block_done(css_sheet *s, const char *css, size_t len)
{
    unsigned fresh = s->block_causes & ~s->want;
    s->block_causes = 0;
    if (fresh) {
        sheet_want(s, fresh); /* the blocks before */
        sheet_parse(s, css, len, NULL, NULL, 0, fresh); /* and this one */
    }
    sheet_keep_past(s, css, len);
    s->order_base += (uint32_t)len + 1;
}

void css_sheet_keep_shows(css_sheet *s)
{
    if (s) sheet_want(s, G_SOFT);
}

void css_sheet_keep_undoing(css_sheet *s, const css_style *style)
{
    if (s && style->causes) sheet_want(s, style->causes);
}

size_t css_sheet_undo_count(const css_sheet *s)
{
    return s ? s->nundo : 0;
}

void css_sheet_add(css_sheet *s, const char *css, size_t len)
{
    if (!s) return;
    sheet_block_begin(s);
    sheet_parse(s, css, len, NULL, NULL, 1, s->want);
    sheet_block_done(s, css, len);
}

/* A string of n bytes reads, as a C string would, only up to a NUL byte. */
static size_t span_len(const char *p, size_t n)
{
    const char *nul = p ? memchr(p, '\0', n) : NULL;
    return nul ? (size_t)(nul - p) : n;
}

static int span_is(const char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return l == n && memcmp(p, lit, n) == 0;
}

/* HTML spaces: ' ', '\t', '\n', '\f', '\r' (one test: every element's classes are split) */
static inline int is_html_space(char c)
{
    const uint64_t space = 1ull << ' ' | 1ull << '\t' | 1ull << '\n' | 1ull << '\f' | 1ull << '\r';
    return (unsigned char)c <= ' ' && ((space >> (unsigned char)c) & 1);
}

/* The next class name of a class attribute from *i on: its start in *start and its length;
 * 0 at the end. */
static inline size_t class_next(const char *c, size_t len, size_t *i, size_t *start)
{
    size_t k = *i;
    while (k < len && is_html_space(c[k])) k++;
    *start = k;
    while (k < len && !is_html_space(c[k])) k++;
    *i = k;
    return k - *start;
}

static int class_list_has(const char *class_attr, size_t len, const char *cls)
{
    size_t n = strlen(cls), i = 0, st, l;
    while ((l = class_next(class_attr, len, &i, &st)) > 0)
        if (l == n && memcmp(class_attr + st, cls, n) == 0) return 1;
    return 0;
}

static int bytes_eq(const char *a, const char *b, size_t n, int icase)
{
    if (!icase) return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_tolower((unsigned char)a[i]) != ascii_tolower((unsigned char)b[i])) return 0;
    return 1;
}

/* Whether the value v (n bytes) meets the condition, as Selectors Level 4 says: an empty
 * string matches no ^=, $= or *=, and ~= needs a word without whitespace. */
static int attr_value_matches(const attr_cond *c, const char *v, size_t n)
{
    size_t k = strlen(c->value);
    switch ((attr_op)c->op) {
    case AC_EXISTS: return 1;
    case AC_EQ: return n == k && bytes_eq(v, c->value, k, c->icase);
    case AC_DASH:
        return n >= k && bytes_eq(v, c->value, k, c->icase) && (n == k || v[k] == '-');
    case AC_PREFIX: return k && n >= k && bytes_eq(v, c->value, k, c->icase);
    case AC_SUFFIX: return k && n >= k && bytes_eq(v + n - k, c->value, k, c->icase);
    case AC_SUBSTR:
        for (size_t i = 0; k && i + k <= n; i++)
            if (bytes_eq(v + i, c->value, k, c->icase)) return 1;
        return 0;
    case AC_WORD: {
        if (!k || strpbrk(c->value, " \t\n\f\r")) return 0;
        size_t i = 0, st, l;
        while ((l = class_next(v, n, &i, &st)) > 0)
            if (l == k && bytes_eq(v + st, c->value, k, c->icase)) return 1;
        return 0;
    }
    }
    return 0;
}

/* Whether the element meets the n conditions c. When its attributes are not known, an
 * undoing rule's are met and a hiding rule's are not: on that doubt no text is removed. */
static int attrs_match(const attr_cond *c, int n, const css_elem *el, int unknown_meets)
{
    if (n && !el->attr) return unknown_meets;
    for (int i = 0; i < n; i++) {
        const char *v;
        size_t len;
        if (!el->attr(el->attr_ctx, c[i].name, &v, &len) ||
            !attr_value_matches(&c[i], v, len))
            return 0;
    }
    return 1;
}

/* Whether an element before el among its siblings (just before it, when next) matched the
 * sheet's sibling compound k; when the siblings are not known, unknown_meets. */
static int sibling_before(const css_elem *el, int k, int next, int unknown_meets)
{
    if (!el->siblings_known || (((next ? el->prev_next_unknown : el->prev_any_unknown) >> k) & 1))
        return unknown_meets;
    return (int)(((next ? el->prev_next : el->prev_any) >> k) & 1);
}

/* Whether the element is what a :not() names. When its attributes are not known, it is for a
 * hiding rule (which then does not match) and is not for an undoing one (which then does). */
static int not_names(const not_cond *c, const css_elem *el, const char *tag, size_t tag_len,
                     const char *id, size_t id_len, const char *cls, size_t cls_len, int hiding)
{
    switch ((not_kind)c->kind) {
    case NOT_TAG: return span_is(tag, tag_len, c->name);
    case NOT_ID: return id && span_is(id, id_len, c->name);
    case NOT_CLASS: return cls && class_list_has(cls, cls_len, c->name);
    case NOT_ATTR: return el->attr ? attrs_match(&c->attr, 1, el, 0) : hiding;
    }
    return hiding;
}

static int nots_name(const not_cond *c, int n, const css_elem *el, const char *tag,
                     size_t tag_len, const char *id, size_t id_len, const char *cls,
                     size_t cls_len, int hiding)
{
    for (int i = 0; i < n; i++)
        if (not_names(&c[i], el, tag, tag_len, id, id_len, cls, cls_len, hiding)) return 1;
    return 0;
}

/* An open element's place, as a condition asks for it: what is not known (0) meets an undoing
 * rule's condition and not a hiding rule's. */
static int place_meets(uint32_t index, int32_t a, int32_t b, int hiding)
{
    return index ? nth_matches(a, b, index) : !hiding;
}

/* A compound's conditions beyond its names (places, siblings, :not(), attributes), for the
 * element e whose names are given as they are compared: what is not known about e meets them
 * for an undoing rule and not for a hiding one. */
static int conditions_meet(const sheet_rule *c, const css_elem *e, const char *tag,
                           size_t tag_len, const char *id, size_t id_len, const char *cls,
                           size_t cls_len, int hiding)
{
    if (c->first_child && !place_meets(e->index, 0, 1, hiding)) return 0;
    if (c->has_nth && !place_meets(e->index, c->nth_a, c->nth_b, hiding)) return 0;
    if (c->has_nth_type && !place_meets(e->type_index, c->type_a, c->type_b, hiding)) return 0;
    if (c->sib >= 0 && !sibling_before(e, c->sib, c->sib_next, !hiding)) return 0;
    if (nots_name(c->neg, c->nneg, e, tag, tag_len, id, id_len, cls, cls_len, hiding)) return 0;
    return attrs_match(c->attr, c->nattr, e, !hiding);
}

static int rule_matches(const sheet_rule *r, const css_elem *el, const char *tag, size_t tag_len,
                        const char *id, size_t id_len, const char *cls, size_t cls_len)
{
    if (r->tag[0] && !span_is(tag, tag_len, r->tag)) return 0;
    if (r->id[0] && (!id || !span_is(id, id_len, r->id))) return 0;
    for (int i = 0; i < r->ncls; i++)
        if (!cls || !class_list_has(cls, cls_len, r->cls[i])) return 0;
    return conditions_meet(r, el, tag, tag_len, id, id_len, cls, cls_len, 1);
}

/* An element's names hashed as undo_rule keeps them. */
#define ELEMENT_CLASSES_MAX 64
typedef struct element_names {
    uint64_t tag, id, cls[ELEMENT_CLASSES_MAX];
    size_t ncls;
    int more; /* classes past ELEMENT_CLASSES_MAX */
} element_names;

static void element_names_hash(element_names *e, const char *tag, size_t tag_len, const char *id,
                               size_t id_len, const char *cls, size_t cls_len)
{
    e->tag = name_hash(tag, tag_len);
    e->id = id ? name_hash(id, id_len) : 0;
    e->ncls = 0;
    e->more = 0;
    size_t i = 0, b, l;
    while (cls && (l = class_next(cls, cls_len, &i, &b)) > 0) {
        if (e->ncls == ELEMENT_CLASSES_MAX) {
            e->more = 1;
            break;
        }
        e->cls[e->ncls++] = name_hash(cls + b, l);
    }
}

/* Past the classes kept, an undoing rule that names classes may match: it counts (an undoing
 * missed would lose visible text). */
static int undo_matches(const undo_rule *u, const element_names *e)
{
    if (u->tag && u->tag != e->tag) return 0;
    if (u->id && u->id != e->id) return 0;
    for (int k = 0; k < u->ncls; k++) {
        size_t i = 0;
        while (i < e->ncls && e->cls[i] != u->cls[k]) i++;
        if (i == e->ncls && !e->more) return 0;
    }
    return 1;
}

/* The strongest hiding and undoing per group, as cascade keys (0: none). */
typedef struct cascade {
    uint64_t hide[G_COUNT], undo[G_COUNT];
    unsigned undo_shows[G_COUNT]; /* the CSS_SHOW_* of the strongest undoing */
    int text_clip;                /* some matching declaration clips a background to the text */
} cascade;

static void cascade_note(cascade *k, unsigned causes, unsigned cancels, unsigned important,
                         unsigned shows, uint64_t normal, uint64_t imp)
{
    if (cancels & G_TEXT_CLIP) k->text_clip = 1;
    for (unsigned g = 0; g < G_COUNT; g++) {
        unsigned bit = 1u << g;
        uint64_t key = important & bit ? imp : normal;
        if ((causes & bit) && key > k->hide[g]) k->hide[g] = key;
        if ((cancels & bit) && key > k->undo[g]) {
            k->undo[g] = key;
            k->undo_shows[g] = shows;
        }
    }
}

static uint64_t rule_key(int important, uint32_t spec, uint32_t order)
{
    return KEY_IMPORTANT(important ? 2 : 0) | (uint64_t)spec << 32 | order;
}

/* Animations override every normal declaration, the style attribute's too, and no important
 * one. */
#define ANIM_KEY (KEY_IMPORTANT(1) | 2)

/* A hiding block's animations (block_animations), by their @keyframes known by now: the
 * groups the last frame shows are undone. */
static void cascade_animations(cascade *k, const css_sheet *s, const uint64_t *anim, int n)
{
    for (int i = 0; i < n; i++)
        for (size_t f = s->nkf; f-- > 0;)
            if (s->kf[f].name == anim[i]) {
                cascade_note(k, 0, s->kf[f].cancels, 0, s->kf[f].shows, ANIM_KEY, ANIM_KEY);
                break;
            }
}

static int anc_matches(const css_sheet *s, const anc_compound *a, const css_elem *e, int hiding)
{
    if (a->tag && !span_is(e->tag, e->tag_len, s->anc_text + a->tag)) return 0;
    if (a->id && (!e->id || !span_is(e->id, e->id_len, s->anc_text + a->id))) return 0;
    const char *c = s->anc_text + a->cls;
    for (int k = 0; k < a->ncls; k++, c += strlen(c) + 1)
        if (!e->cls || !class_list_has(e->cls, e->cls_len, c)) return 0;
    return !a->cond || conditions_meet(&s->anc_cond[a->cond - 1], e, e->tag, e->tag_len, e->id,
                                       e->id_len, e->cls, e->cls_len, hiding);
}

/* Whether the compounds anc[first .. first + n) match the open elements of path, the last
 * joined to the element judged. ok[p] says whether the compounds up to the current one match
 * with that one at path element p; a child combinator asks the element just above p, a
 * descendant one any element above it: one pass per compound, O(n x depth). */
static int ancestors_match(const css_sheet *s, uint32_t first, uint8_t n, int rooted,
                           const css_path *path, int hiding)
{
    uint8_t ok[CSS_PATH_MAX];
    if (!path || path->n == 0 || path->n > CSS_PATH_MAX || n == 0) return 0;
    size_t depth = path->n;
    css_elem e;
    for (uint8_t i = 0; i < n; i++) {
        const anc_compound *a = &s->anc[first + i];
        int any = 0, prev = 0, found = 0; /* any: ok[q] for some q < p; prev: ok[p - 1] */
        for (size_t p = 0; p < depth; p++) {
            int was = ok[p];
            int reach = i == 0 ? !rooted || p == 0 : s->anc[first + i - 1].child ? prev : any;
            ok[p] = 0;
            if (reach) {
                if (path->budget && (*path->budget)-- == 0) {
                    *path->budget = 0;
                    return !hiding; /* not judged: see css_path */
                }
                path->get(path->ctx, p, &e);
                ok[p] = (uint8_t)anc_matches(s, a, &e, hiding);
                found |= ok[p];
            }
            if (i > 0) {
                any |= was;
                prev = was;
            }
        }
        if (!found) return 0;
    }
    if (s->anc[first + n - 1].child) return ok[depth - 1];
    return 1; /* some element matched the last compound, and all of them are above */
}

/* A rule's ancestors, where it names some (rooted: the element is a child of body); hiding:
 * whether it is a hiding rule's (see conditions_meet). */
static int context_matches(const css_sheet *s, uint32_t anc, uint8_t nanc, int rooted,
                           const css_path *path, int hiding)
{
    if (nanc == 0) return !rooted || (path && path->n == 0);
    return ancestors_match(s, anc, nanc, rooted, path, hiding);
}

unsigned css_sheet_element_flags(const css_sheet *s, const char *tag, size_t tag_len,
                                 const char *id, size_t id_len, const char *class_attr,
                                 size_t class_len, const css_style *style, int with_shows)
{
    css_elem e = {tag, id, class_attr, tag_len, id_len, class_len, NULL, NULL, 0, 0, 0, 0, 0, 0, 0};
    return css_sheet_judge_element(s, &e, NULL, style, with_shows);
}

unsigned css_sheet_judge_element(const css_sheet *s, const css_elem *el, const css_path *path,
                                 const css_style *style, int with_shows)
{
    cascade k;
    int matched = 0; /* some hiding rule matches */
    const char *tag = el->tag, *id = el->id, *class_attr = el->cls;
    size_t tag_len = el->tag_len, id_len = el->id_len, class_len = el->cls_len;
    if (s) {
        tag_len = span_len(tag, tag_len);
        id_len = span_len(id, id_len);
        class_len = span_len(class_attr, class_len);
    }
    if (!style && !with_shows) { /* the common case, every element: no rule matches */
        size_t i = 0;
        while (s && i < s->n && !rule_matches(&s->rules[i], el, tag, tag_len, id, id_len,
                                              class_attr, class_len))
            i++;
        if (!s || i == s->n) return 0;
    }
    memset(&k, 0, sizeof k);
    if (style) /* above every normal rule; an important one above all */
        cascade_note(&k, style->causes, style->cancels, style->important,
                     style->flags & CSS_SHOWS, KEY_IMPORTANT(1) | 1, KEY_IMPORTANT(3) | 1);
    if (style && s) cascade_animations(&k, s, style->anim, (int)style->nanim);
    if (s) {
        for (size_t i = 0; i < s->n; i++) {
            const sheet_rule *r = &s->rules[i];
            if (!rule_matches(r, el, tag, tag_len, id, id_len, class_attr, class_len) ||
                !context_matches(s, r->anc, r->nanc, r->rooted, path, 1))
                continue;
            cascade_note(&k, r->causes, r->cancels, r->important, r->flags & CSS_SHOWS,
                         rule_key(0, r->spec, r->order), rule_key(1, r->spec, r->order));
            cascade_animations(&k, s, r->anim, r->nanim);
            matched = 1;
        }
        /* undoing rules matter where something hides this element or its parent's text */
        if (s->nundo && (matched || with_shows || (style && style->causes))) {
            element_names e;
            element_names_hash(&e, tag, tag_len, id, id_len, class_attr, class_len);
            for (size_t i = 0; i < s->nundo; i++) {
                const undo_rule *u = &s->undo[i];
                if (undo_matches(u, &e) && (!u->nattr || attrs_match(s->uattr + u->attr, u->nattr, el, 1)) &&
                    (!u->first_child || el->index <= 1) && /* 0: not known, it may be */
                    (!u->has_nth || el->index == 0 || nth_matches(u->nth_a, u->nth_b, el->index)) &&
                    (!u->has_nth_type || el->type_index == 0 ||
                     nth_matches(u->type_a, u->type_b, el->type_index)) &&
                    (u->sib < 0 || sibling_before(el, u->sib, u->sib_next, 1)) &&
                    (!u->nneg || !nots_name(s->uneg + u->neg, u->nneg, el, tag, tag_len, id,
                                            id_len, class_attr, class_len, 0)) &&
                    context_matches(s, u->anc, u->nanc, u->rooted, path, 0))
                    cascade_note(&k, 0, u->cancels, u->important, u->shows,
                                 rule_key(0, u->spec, u->order), rule_key(1, u->spec, u->order));
            }
        }
    }
    unsigned f = 0;
    const uint64_t inline_keys[2] = {KEY_IMPORTANT(1) | 1, KEY_IMPORTANT(3) | 1};
    for (unsigned g = 0; g < G_COUNT; g++) {
        unsigned bit = 1u << g;
        /* past the bound on undoing rules, a rule's hiding in that group may have been undone
         * by one not kept: visible text is not removed on that doubt */
        int doubt = (s && (s->undo_lost & bit) && k.hide[g] != inline_keys[0] &&
                     k.hide[g] != inline_keys[1]) ||
                    (bit == G_COLOUR && k.text_clip);
        if (k.hide[g] > k.undo[g] && !doubt) {
            if (!(bit & G_SOFT)) return CSS_HIDES;
            f |= (bit >> G_SOFT_SHIFT) << CSS_SOFT_SHIFT;
        } else if (k.undo[g] && (bit & G_SOFT)) {
            f |= k.undo_shows[g] & ((bit >> G_SOFT_SHIFT) << CSS_SHOW_SHIFT);
        }
    }
    return f;
}

unsigned css_sheet_hides_n(const css_sheet *s, const char *tag, size_t tag_len, const char *id,
                           size_t id_len, const char *class_attr, size_t class_len,
                           int with_shows)
{
    return css_sheet_element_flags(s, tag, tag_len, id, id_len, class_attr, class_len, NULL,
                                   with_shows);
}

unsigned css_sheet_hides(const css_sheet *s, const char *tag, const char *id,
                         const char *class_attr)
{
    return css_sheet_hides_n(s, tag ? tag : "", tag ? strlen(tag) : 0, id, id ? strlen(id) : 0,
                             class_attr, class_attr ? strlen(class_attr) : 0, 0);
}

unsigned css_sheet_add_judged(css_sheet *s, const char *css, size_t len)
{
    return css_sheet_add_judged_text(s, css, len, NULL, NULL);
}

unsigned css_sheet_add_judged_text(css_sheet *s, const char *css, size_t len, css_text_fn fn,
                                   void *ctx)
{
    size_t before = s ? s->n : 0, shown = s ? s->nshown : 0;
    int shown_all = s ? s->shown_all : 0;
    if (s) {
        sheet_block_begin(s);
    }
    unsigned flags = sheet_parse(s, css, len, fn, ctx, 1, s ? s->want : 0);
    unsigned drop = flags & (CSS_DANGEROUS | CSS_TEXT_CUT | CSS_LATE_ATTR);
    if (s && drop) { /* a dropped block hides and undoes nothing */
        s->n = before;
        sheet_block_forget(s);
        s->block_causes = 0;
        s->nshown = shown;
        s->shown_all = shown_all;
        s->order_base += (uint32_t)len + 1;
        s->past_last = 0;
    } else if (s) {
        sheet_block_done(s, css, len);
    }
    return drop;
}

/* The n < 8 bytes at p as the low bytes of a word, byte i at bits 8i (on a little-endian
 * host; elsewhere in another order, which a hash may use as well). Two loads that overlap
 * instead of a loop over the bytes: the bytes both hold land on the same bits. */
static uint64_t load_short(const char *p, size_t n)
{
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return lo | (uint64_t)hi << (8 * (n - 4));
    }
    if (n >= 2) {
        uint16_t lo, hi;
        memcpy(&lo, p, 2);
        memcpy(&hi, p + n - 2, 2);
        return lo | (uint64_t)hi << (8 * (n - 2));
    }
    return n ? (unsigned char)p[0] : 0;
}

/* Bloom filter of names: two bits of 4096 per name. A name is hashed by its length and first
 * eight bytes only (every element is noted, so this must be cheap; longer names that share
 * those collide, which errs towards "may match"). Case is kept, as rule_matches() keeps it. */
static uint32_t seen_hash(char kind, const char *p, size_t n)
{
    uint64_t x;
    if (n >= 8)
        memcpy(&x, p, 8); /* one load */
    else
        x = load_short(p, n);
    x ^= (uint64_t)n * 0x100000001B3ull + (uint64_t)(unsigned char)kind * 0xC2B2AE3D27D4EB4Full;
    x *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

static void seen_set(css_seen *w, uint32_t h)
{
    w->bits[(h & 4095) / 64] |= (uint64_t)1 << (h & 63);
    w->bits[((h >> 12) & 4095) / 64] |= (uint64_t)1 << ((h >> 12) & 63);
}

static int seen_has(const css_seen *w, char kind, const char *p, size_t n)
{
    uint32_t h = seen_hash(kind, p, n);
    return ((w->bits[(h & 4095) / 64] >> (h & 63)) & 1) &&
           ((w->bits[((h >> 12) & 4095) / 64] >> ((h >> 12) & 63)) & 1);
}

void css_seen_add_element(css_seen *w, const char *tag, size_t tag_len, const char *id,
                          size_t id_len, const char *class_attr, size_t class_len)
{
    w->any = 1;
    seen_set(w, seen_hash('t', tag, tag_len));
    if (id && id_len) seen_set(w, seen_hash('i', id, id_len));
    size_t i = 0, b, l;
    while (class_attr && (l = class_next(class_attr, class_len, &i, &b)) > 0)
        seen_set(w, seen_hash('c', class_attr + b, l));
}

static int anc_may_be_seen(const css_sheet *s, const anc_compound *a, const css_seen *w)
{
    const char *t = s->anc_text;
    if (a->tag && !seen_has(w, 't', t + a->tag, strlen(t + a->tag))) return 0;
    if (a->id && !seen_has(w, 'i', t + a->id, strlen(t + a->id))) return 0;
    if (a->ncls == 0) return 1;
    const char *c = t + a->cls;
    for (int k = 0; k < a->ncls; k++, c += strlen(c) + 1)
        if (!seen_has(w, 'c', c, strlen(c))) return 0;
    return 1;
}

void css_seen_add_attr(css_seen *w, const char *name, size_t len)
{
    seen_set(w, seen_hash('a', name, len));
}

int css_sheet_rules_may_match(const css_sheet *s, size_t from, const css_seen *w)
{
    if (!s || !w->any) return 0;
    for (size_t i = from; i < s->n; i++) {
        const sheet_rule *r = &s->rules[i];
        int may = (!r->tag[0] || seen_has(w, 't', r->tag, strlen(r->tag))) &&
                  (!r->id[0] || seen_has(w, 'i', r->id, strlen(r->id)));
        for (int k = 0; may && k < r->ncls; k++) may = seen_has(w, 'c', r->cls[k], strlen(r->cls[k]));
        for (int k = 0; may && k < r->nattr; k++) /* the attribute's name, whatever its value */
            may = seen_has(w, 'a', r->attr[k].name, strlen(r->attr[k].name));
        for (uint8_t a = 0; may && a < r->nanc; a++) /* its ancestors were written too */
            may = anc_may_be_seen(s, &s->anc[r->anc + a], w);
        if (may) return 1;
    }
    return 0;
}

void css_sheet_truncate(css_sheet *s, size_t n)
{
    if (!s) return;
    if (n < s->n) s->n = n;
    sheet_block_forget(s);
    if (s->past_last) { /* the block is not read again either */
        s->npast--;
        s->past_len = s->past[s->npast].off;
        s->past_last = 0;
    }
}

int css_sheet_counts_types(const css_sheet *s)
{
    return s ? s->counts_types : 0;
}

int css_sheet_asks_ancestor_attrs(const css_sheet *s)
{
    return s ? s->anc_attrs : 0;
}

size_t css_sheet_sibling_count(const css_sheet *s)
{
    return s ? s->nsib : 0;
}

uint64_t css_sheet_sibling_marks(const css_sheet *s, const css_elem *el)
{
    uint64_t m = 0;
    if (!s) return 0;
    size_t tag_len = span_len(el->tag, el->tag_len), id_len = span_len(el->id, el->id_len),
           cls_len = span_len(el->cls, el->cls_len);
    for (size_t k = 0; k < s->nsib; k++)
        if (rule_matches(&s->sib[k], el, el->tag, tag_len, el->id, id_len, el->cls, cls_len))
            m |= (uint64_t)1 << k;
    return m;
}

size_t css_sheet_keyframes_count(const css_sheet *s)
{
    return s ? s->nkf : 0;
}

size_t css_sheet_rule_count(const css_sheet *s)
{
    return s ? s->n : 0;
}
